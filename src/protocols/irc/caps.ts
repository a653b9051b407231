// IRCv3 capabilities the gateway offers. The set is fixed for the life of the process, so
// cap-notify never has a CAP NEW or CAP DEL to send; it is offered because clients ask for it.

import type { IrcOptions } from "./options.ts";

export const CAPS = [
  "account-notify",
  "account-tag",
  "away-notify",
  "batch",
  "cap-notify",
  "draft/account-registration",
  "draft/chathistory",
  "draft/message-redaction",
  "draft/multiline",
  "draft/read-marker",
  "echo-message",
  "extended-join",
  "invite-notify",
  "labeled-response",
  "message-tags",
  "multi-prefix",
  "sasl",
  "server-time",
  "setname",
  "standard-replies",
  "userhost-in-names",
] as const;

export type Cap = (typeof CAPS)[number];

const KNOWN = new Set<string>(CAPS);

/** The capabilities that change how channel content is written (fanout.ts encodes once per set of these). */
export const LINE_CAPS = [
  "server-time",
  "message-tags",
  "account-tag",
  "batch",
  "draft/multiline",
  "draft/message-redaction",
] as const;

/** The line-changing capabilities of a set, as a number: bit i is `LINE_CAPS[i]`. */
export function lineVariant(caps: ReadonlySet<string>): number {
  let v = 0;
  for (let i = 0; i < LINE_CAPS.length; i++) if (caps.has(LINE_CAPS[i]!)) v |= 1 << i;
  return v;
}

/**
 * A client's negotiated capabilities. It keeps its own `lineVariant`, because the fan-out asks
 * for it once per recipient of every channel message and the set changes only on CAP REQ.
 */
export class CapSet extends Set<string> {
  private variant = -1;

  get lineVariant(): number {
    if (this.variant < 0) this.variant = lineVariant(this);
    return this.variant;
  }

  override add(cap: string): this {
    this.variant = -1;
    return super.add(cap);
  }

  override delete(cap: string): boolean {
    this.variant = -1;
    return super.delete(cap);
  }

  override clear(): void {
    this.variant = -1;
    super.clear();
  }
}

export function isCap(name: string): name is Cap {
  return KNOWN.has(name);
}

/** The value each capability shows in CAP LS 302 (none for most). */
export function capValue(cap: Cap, o: IrcOptions): string | null {
  switch (cap) {
    case "sasl":
      return "PLAIN";
    case "draft/multiline":
      return `max-bytes=${o.multilineMaxBytes},max-lines=${o.multilineMaxLines}`;
    case "draft/account-registration":
      return o.registration ? "before-connect" : null;
    default:
      return null;
  }
}

/** Capabilities offered in CAP LS: REGISTER is left out where registration is off. */
export function offeredCaps(o: IrcOptions): Cap[] {
  return CAPS.filter((c) => c !== "draft/account-registration" || o.registration);
}
