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

/** What a set of capabilities is asked: whether it has one. */
export interface CapLookup {
  has(cap: string): boolean;
}

/** The line-changing capabilities of a set, as a number: bit i is `LINE_CAPS[i]`. */
export function lineVariant(caps: CapLookup): number {
  let v = 0;
  for (let i = 0; i < LINE_CAPS.length; i++) if (caps.has(LINE_CAPS[i]!)) v |= 1 << i;
  return v;
}

/** Bit i of a CapSet is `CAPS[i]`. */
const BITS = new Map<string, number>(CAPS.map((cap, i) => [cap, 1 << i]));

/**
 * A client's negotiated capabilities, as the bits of one number: a Set (with the hash table even
 * an empty one has) was ~150 B per connection, and most clients negotiate few capabilities or
 * none. Only the capabilities the gateway offers (CAPS) can be negotiated, so only those are
 * kept. It keeps its own `lineVariant`, because the fan-out asks for it once per recipient of
 * every channel message and the set changes only on CAP REQ.
 */
export class CapSet implements CapLookup, Iterable<Cap> {
  private bits = 0;
  private variant = -1;

  get lineVariant(): number {
    if (this.variant < 0) this.variant = lineVariant(this);
    return this.variant;
  }

  has(cap: string): boolean {
    return (this.bits & (BITS.get(cap) ?? 0)) !== 0;
  }

  add(cap: string): this {
    this.variant = -1;
    this.bits |= BITS.get(cap) ?? 0;
    return this;
  }

  delete(cap: string): boolean {
    const had = this.has(cap);
    this.variant = -1;
    this.bits &= ~(BITS.get(cap) ?? 0);
    return had;
  }

  *[Symbol.iterator](): IterableIterator<Cap> {
    for (const cap of CAPS) if (this.has(cap)) yield cap;
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
