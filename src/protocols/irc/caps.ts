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
