// Validation of names and bodies: pure functions shared by every protocol.

import { ChatError } from "./errors.ts";

const NAME = /^[\p{L}\p{N}][\p{L}\p{N}_-]{0,31}$/u;

/** Account and guest names: 1–32 letters, digits, '_' or '-', starting with a letter or digit. */
export function checkAccountName(name: string): string {
  if (!NAME.test(name)) throw new ChatError("INVALID_NAME");
  return name;
}

/** Room names, given with or without the IRC-style '#'. Returns the name without it. */
export function checkRoomName(name: string): string {
  const bare = name.startsWith("#") ? name.slice(1) : name;
  if (!NAME.test(bare)) throw new ChatError("INVALID_NAME", "room names are 1-32 letters, digits, '_' or '-'");
  return bare;
}

export function nameKey(name: string): string {
  return name.toLowerCase();
}

export function directRoomName(a: string, b: string): string {
  return a < b ? `dm:${a}:${b}` : `dm:${b}:${a}`;
}

export function checkPassword(password: string): string {
  if ([...password].length < 8) throw new ChatError("WEAK_PASSWORD");
  if (Buffer.byteLength(password) > 1024) throw new ChatError("TOO_LARGE", "passwords are at most 1024 bytes");
  return password;
}

/** NUL cannot be stored by every database (PostgreSQL text refuses it), so no text may carry it. */
export function checkText(text: string, what: string): string {
  if (text.includes("\u0000")) throw new ChatError("BAD_REQUEST", `${what} must not contain NUL characters`);
  return text;
}

export function checkBody(body: string, maxBytes: number): string {
  checkText(body, "messages");
  if (body.trim() === "") throw new ChatError("BAD_REQUEST", "message body is empty");
  if (Buffer.byteLength(body) > maxBytes) throw new ChatError("TOO_LARGE", `messages are at most ${maxBytes} bytes`);
  return body;
}

export function checkEmoji(emoji: string): string {
  checkText(emoji, "reactions");
  if (emoji === "" || /\s/u.test(emoji) || Buffer.byteLength(emoji) > 64) {
    throw new ChatError("BAD_REQUEST", "a reaction is one emoji or short word without spaces");
  }
  return emoji;
}
