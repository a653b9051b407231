// Every error a client can see has a stable code, documented in docs/protocol.md.
// Protocols translate codes to their idiom (HTTP status, WebSocket error frame, IRC numeric).

export const ErrorCodes = {
  BAD_REQUEST: "malformed or invalid request",
  NOT_FOUND: "no such endpoint",
  METHOD_NOT_ALLOWED: "that method is not allowed on this endpoint",
  UNKNOWN_TYPE: "unknown frame type",
  TOO_LARGE: "frame or message exceeds the size limit",
  INVALID_UTF8: "input is not valid UTF-8",
  NOT_AUTHENTICATED: "this operation needs a session",
  INVALID_CREDENTIALS: "wrong account name or password",
  INVALID_TOKEN: "session token unknown, revoked or expired",
  NAME_TAKEN: "that name belongs to someone else",
  INVALID_NAME: "names are 1-32 letters, digits, '_' or '-', starting with a letter or digit",
  WEAK_PASSWORD: "passwords need at least 8 characters",
  GUESTS_DISABLED: "this server does not allow guests",
  GUEST_FORBIDDEN: "guests cannot do this; register an account",
  NO_SUCH_ROOM: "no such room",
  NO_SUCH_MESSAGE: "no such message",
  NO_SUCH_ACCOUNT: "no such account",
  ROOM_EXISTS: "a room with that name exists",
  NOT_MEMBER: "you are not a member of that room",
  FORBIDDEN: "your role in this room does not allow that",
  INVITE_ONLY: "that room is invite-only",
  MUTED: "you are muted in that room",
  BANNED: "you are banned from that room",
  RATE_LIMITED: "too many requests; slow down",
  LIMIT_REACHED: "a configured maximum was reached",
  UNAVAILABLE: "temporarily unavailable; retry later",
  INTERNAL: "internal error",
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class ChatError extends Error {
  readonly code: ErrorCode;
  /** Milliseconds the client should wait before retrying (RATE_LIMITED, UNAVAILABLE). */
  readonly retryAfter: number | undefined;
  /** The abuse persisted: the connection is to be closed after this error is reported. */
  readonly fatal: boolean;

  constructor(code: ErrorCode, message?: string, opts: { retryAfter?: number; fatal?: boolean } = {}) {
    super(message ?? ErrorCodes[code]);
    this.name = "ChatError";
    this.code = code;
    this.retryAfter = opts.retryAfter;
    this.fatal = opts.fatal ?? false;
  }
}

/** Store adapters throw this when the database cannot be reached; the core maps it to UNAVAILABLE. */
export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super("store unavailable", { cause });
    this.name = "StoreUnavailableError";
  }
}

export function toChatError(err: unknown): ChatError {
  if (err instanceof ChatError) return err;
  if (err instanceof StoreUnavailableError) return new ChatError("UNAVAILABLE", undefined, { retryAfter: 1000 });
  return new ChatError("INTERNAL");
}
