// What a command handler throws to answer with an error, and how the core's ChatError codes
// become IRC numerics or standard replies (FAIL) — once, at dispatch (STYLE.md, practice 10).

import { type ChatError, type ErrorCode, toChatError } from "../../core/errors.ts";
import * as N from "./numerics.ts";

/** Answer with a numeric: `params` follow the client's nick. */
export class NumericReply extends Error {
  constructor(
    readonly numeric: string,
    readonly params: string[],
  ) {
    super(params[params.length - 1] ?? numeric);
  }
}

/** Answer with a standard reply: FAIL <command> <code> [<context>…] :<description>. */
export class FailReply extends Error {
  constructor(
    readonly command: string,
    readonly code: string,
    readonly context: string[],
    description: string,
  ) {
    super(description);
  }
}

/** Close the connection with ERROR :<reason>, after whatever was answered so far. */
export class FatalReply extends Error {}

/** Numerics for the core's error codes that mean the same thing whatever the command. */
const GENERIC: Partial<Record<ErrorCode, (target: string) => [string, string[]]>> = {
  NO_SUCH_ROOM: (t) => [N.ERR_NOSUCHCHANNEL, [t, "No such channel"]],
  NO_SUCH_ACCOUNT: (t) => [N.ERR_NOSUCHNICK, [t, "No such nick"]],
  NOT_MEMBER: (t) => [N.ERR_NOTONCHANNEL, [t, "You're not on that channel"]],
  FORBIDDEN: (t) => [N.ERR_CHANOPRIVSNEEDED, [t, "You're not a channel operator"]],
  INVITE_ONLY: (t) => [N.ERR_INVITEONLYCHAN, [t, "Cannot join channel (+i): it is invite-only"]],
  BANNED: (t) => [N.ERR_BANNEDFROMCHAN, [t, "Cannot join channel (+b): you are banned"]],
  MUTED: (t) => [N.ERR_CANNOTSENDTOCHAN, [t, "Cannot send to channel: you are muted (+q)"]],
  GUEST_FORBIDDEN: (t) => [N.ERR_NEEDREGGEDNICK, [t, "Guests cannot do this; log in to a registered account"]],
  NAME_TAKEN: (t) => [N.ERR_NICKNAMEINUSE, [t, "Nickname is already in use"]],
  INVALID_NAME: (t) => [N.ERR_ERRONEUSNICKNAME, [t, "Erroneous nickname"]],
  LIMIT_REACHED: (t) => [N.ERR_TOOMANYCHANNELS, [t, "You have joined too many channels"]],
};

/** Standard-reply codes for the rest (FAIL <command> <code> …). */
const FAIL_CODES: Partial<Record<ErrorCode, string>> = {
  RATE_LIMITED: "RATE_LIMITED",
  UNAVAILABLE: "TEMPORARILY_UNAVAILABLE",
  TOO_LARGE: "TOO_LONG",
  INVALID_UTF8: "INVALID_UTF8",
  NO_SUCH_MESSAGE: "UNKNOWN_MSGID",
  BAD_REQUEST: "INVALID_PARAMS",
  WEAK_PASSWORD: "WEAK_PASSWORD",
  GUESTS_DISABLED: "ACCOUNT_REQUIRED",
  INVALID_CREDENTIALS: "INVALID_CREDENTIALS",
  ROOM_EXISTS: "ROOM_EXISTS",
  NOT_AUTHENTICATED: "ACCOUNT_REQUIRED",
};

/**
 * The reply for a ChatError raised while handling `command` about `target` (a channel or nick;
 * "*" when there is none). Command-specific mappings go first.
 */
export function chatErrorReply(command: string, err: unknown, target: string): NumericReply | FailReply {
  const e: ChatError = toChatError(err);
  const special = specific(command, e, target);
  if (special) return special;
  const generic = GENERIC[e.code];
  if (generic) {
    const [numeric, params] = generic(target);
    return new NumericReply(numeric, params);
  }
  if (e.code === "INTERNAL") return new NumericReply(N.ERR_UNKNOWNERROR, [command, "Internal error; try again"]);
  const wait = e.retryAfter !== undefined ? ` (retry in ${Math.max(1, Math.ceil(e.retryAfter / 1000))} s)` : "";
  return new FailReply(command, FAIL_CODES[e.code] ?? e.code, target === "*" ? [] : [target], `${e.message}${wait}`);
}

function specific(command: string, e: ChatError, target: string): NumericReply | FailReply | null {
  switch (command) {
    case "PRIVMSG":
    case "NOTICE":
    case "TAGMSG":
      if (e.code === "NOT_MEMBER")
        return new NumericReply(N.ERR_CANNOTSENDTOCHAN, [target, "Cannot send to channel: join it first"]);
      if (e.code === "GUEST_FORBIDDEN")
        return new NumericReply(N.ERR_NEEDREGGEDNICK, [target, "Guests cannot send private messages; log in to an account"]);
      if (e.code === "TOO_LARGE") return new FailReply(command, "MESSAGE_TOO_LONG", [target], e.message);
      return null;
    case "JOIN":
      if (e.code === "INVALID_NAME") return new NumericReply(N.ERR_BADCHANNAME, [target, "Illegal channel name"]);
      if (e.code === "FORBIDDEN") return new NumericReply(N.ERR_NOSUCHCHANNEL, [target, "No such channel"]);
      if (e.code === "GUEST_FORBIDDEN")
        return new NumericReply(N.ERR_NEEDREGGEDNICK, [
          target,
          "Guests join public channels only; log in to create or join this one",
        ]);
      return null;
    case "INVITE":
      if (e.code === "GUEST_FORBIDDEN") return new NumericReply(N.ERR_NEEDREGGEDNICK, [target, "Guests cannot invite"]);
      if (e.code === "FORBIDDEN") return new NumericReply(N.ERR_CHANOPRIVSNEEDED, [target, "You cannot invite to that channel"]);
      return null;
    default:
      return null;
  }
}
