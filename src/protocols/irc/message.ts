// IRC lines in and out: bytes → a typed IrcMessage (or a coded ParseError), and back.
// Pure and synchronous: no sockets, no core. The only place inbound IRC text is parsed.
//
// Grammar (Modern IRC, IRCv3 message-tags):
//   line    = [ "@" tags SPACE ] [ ":" source SPACE ] command *( SPACE param ) [ SPACE ":" trailing ]
//   tags    = tag *( ";" tag ),  tag = key [ "=" escaped-value ]
// Limits: the tag section (from "@" to its space) is at most 8191 bytes, the rest of the line at
// most 512 bytes counting the CR LF. Either overflow is ERR_INPUTTOOLONG (417).

import { isUtf8 } from "node:buffer";

export interface IrcMessage {
  /** Tag values unescaped; a tag without a value (or with an empty one) maps to "". */
  tags: Record<string, string>;
  /** The source (prefix) without its ":", or null. */
  source: string | null;
  /** Upper-cased verb, or a three-digit numeric. */
  command: string;
  params: string[];
}

export type ParseErrorCode =
  /** The non-tag part is over `maxBodyBytes` (with the CR LF). */
  | "INPUT_TOO_LONG"
  /** The tag section is over `maxTagBytes`. */
  | "TAGS_TOO_LONG"
  | "INVALID_UTF8"
  /** NUL, CR or LF inside a line. */
  | "FORBIDDEN_CHAR"
  /** Nothing but tags and/or a source: there is no command. */
  | "NO_COMMAND";

/** A line that could not be parsed. Returned, never thrown. */
export class ParseError {
  constructor(
    readonly code: ParseErrorCode,
    readonly detail: string,
    /** The command, when it could be read (for the reply to name it). */
    readonly command: string | null = null,
  ) {}
}

export interface LineLimits {
  /** Bytes of everything after the tags, counting the CR LF (512 in every IRC server). */
  maxBodyBytes: number;
  /** Bytes of the tag section, counting the leading "@" and the space after it. */
  maxTagBytes: number;
}

export const defaultLineLimits: LineLimits = { maxBodyBytes: 512, maxTagBytes: 8191 };

const SPACE = 0x20;
const AT = 0x40;

/**
 * Parses one line, given without its line ending (a trailing CR is tolerated and removed).
 * Returns null for an empty (or all-space) line, which IRC servers silently ignore.
 * Never throws, whatever the input.
 */
export function parseLine(input: string | Uint8Array, limits: LineLimits = defaultLineLimits): IrcMessage | ParseError | null {
  let bytes: Buffer;
  if (typeof input === "string") {
    bytes = Buffer.from(input, "utf8");
  } else {
    bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    if (!isUtf8(bytes)) return new ParseError("INVALID_UTF8", "lines must be UTF-8");
  }
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0d) end--;
  // Lengths are measured in bytes, before decoding.
  let bodyStart = 0;
  if (bytes[0] === AT) {
    const space = bytes.indexOf(SPACE);
    const tagEnd = space === -1 || space > end ? end : space;
    if (tagEnd + 1 > limits.maxTagBytes) return new ParseError("TAGS_TOO_LONG", `tags are at most ${limits.maxTagBytes} bytes`);
    bodyStart = tagEnd;
    while (bodyStart < end && bytes[bodyStart] === SPACE) bodyStart++;
  }
  if (end - bodyStart + 2 > limits.maxBodyBytes) {
    return new ParseError("INPUT_TOO_LONG", `lines are at most ${limits.maxBodyBytes} bytes`, peekCommand(bytes, bodyStart, end));
  }
  const line = bytes.toString("utf8", 0, end);
  if (/[\0\r\n]/.test(line)) return new ParseError("FORBIDDEN_CHAR", "lines may not contain NUL, CR or LF");
  return parseText(line);
}

/** The command of an over-long line, for ERR_INPUTTOOLONG; null when it cannot be told. */
function peekCommand(bytes: Buffer, start: number, end: number): string | null {
  const head = bytes.toString("latin1", start, Math.min(end, start + 600));
  const m = /^(?::\S*\s+)?([A-Za-z]+|\d{3})(?:\s|$)/.exec(head);
  return m ? m[1]!.toUpperCase() : null;
}

function parseText(line: string): IrcMessage | ParseError | null {
  let i = 0;
  const n = line.length;
  const skipSpaces = () => {
    while (i < n && line.charCodeAt(i) === SPACE) i++;
  };
  const word = (): string => {
    const start = i;
    while (i < n && line.charCodeAt(i) !== SPACE) i++;
    return line.slice(start, i);
  };

  skipSpaces();
  if (i === n) return null;
  let tags: Record<string, string> = {};
  if (line[i] === "@") {
    i++;
    tags = parseTags(word());
    skipSpaces();
  }
  let source: string | null = null;
  if (line[i] === ":") {
    i++;
    source = word();
    skipSpaces();
  }
  const command = word().toUpperCase();
  // A command that starts like tags or a source ("@ @", ": :x") would read back as one.
  if (command === "" || command[0] === "@" || command[0] === ":") {
    return new ParseError("NO_COMMAND", "the line has no command");
  }
  const params: string[] = [];
  for (;;) {
    skipSpaces();
    if (i >= n) break;
    if (line[i] === ":") {
      params.push(line.slice(i + 1));
      break;
    }
    params.push(word());
  }
  return { tags, source, command, params };
}

const TAG_KEY = /^\+?(?:[A-Za-z0-9.-]+\/)?[A-Za-z0-9-]+$/;

/** Parses the text between "@" and the space. Keys that are not well-formed are dropped; a repeated key keeps its last value. */
export function parseTags(text: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const part of text.split(";")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const key = eq === -1 ? part : part.slice(0, eq);
    if (!TAG_KEY.test(key)) continue;
    tags[key] = eq === -1 ? "" : unescapeTagValue(part.slice(eq + 1));
  }
  return tags;
}

export function unescapeTagValue(v: string): string {
  if (!v.includes("\\")) return v;
  let out = "";
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const next = v[++i];
    if (next === undefined) break; // a lone trailing backslash is dropped
    out += next === ":" ? ";" : next === "s" ? " " : next === "r" ? "\r" : next === "n" ? "\n" : next;
  }
  return out;
}

export function escapeTagValue(v: string): string {
  return v.replace(/[\\; \r\n]/g, (c) =>
    c === "\\" ? "\\\\" : c === ";" ? "\\:" : c === " " ? "\\s" : c === "\r" ? "\\r" : "\\n",
  );
}

/** NUL, CR and LF can never be sent inside a line: they would end it (and let text inject commands). */
const FORBIDDEN = /[\0\r\n]/g;

/**
 * Serializes a message, without the line ending. Never throws and never produces more than one
 * line: NUL, CR and LF are replaced by spaces; a middle parameter that is empty, holds a space or
 * starts with ":" is repaired (callers only pass such values by mistake). The last parameter is
 * sent as a trailing one when it must be.
 */
export function serialize(m: IrcMessage): string {
  let out = "";
  const keys = Object.keys(m.tags);
  if (keys.length > 0) {
    out += "@";
    out += keys
      .map((k) => {
        const v = m.tags[k]!;
        return v === "" ? k : `${k}=${escapeTagValue(v)}`;
      })
      .join(";");
    out += " ";
  }
  if (m.source !== null) out += `:${clean(m.source).replace(/ /g, "_")} `;
  out += clean(m.command) || "*";
  const last = m.params.length - 1;
  for (let i = 0; i <= last; i++) {
    const p = clean(m.params[i]!);
    if (i === last) {
      out += p === "" || p.includes(" ") || p.startsWith(":") ? ` :${p}` : ` ${p}`;
    } else {
      out += ` ${p === "" ? "*" : p.replace(/ /g, "_").replace(/^:/, "_")}`;
    }
  }
  return out;
}

function clean(s: string): string {
  return s.replace(FORBIDDEN, " ");
}

/**
 * One line as sent, with its CR LF: the serialized message, its last parameter cut (at a UTF-8
 * boundary) if the line would pass 512 bytes. Long texts (messages) are split before they get
 * here, so this only trims the odd long topic, real name or away message.
 */
export function encodeLine(m: IrcMessage): string {
  const line = serialize(m);
  const bodyStart = line.startsWith("@") ? line.indexOf(" ") + 1 : 0;
  const over = Buffer.byteLength(line) - Buffer.byteLength(line.slice(0, bodyStart)) + 2 - 512;
  if (over <= 0 || m.params.length === 0) return `${line}\r\n`;
  const last = m.params[m.params.length - 1]!;
  const cut = truncateUtf8(last, Math.max(0, Buffer.byteLength(last) - over));
  return `${serialize({ ...m, params: [...m.params.slice(0, -1), cut] })}\r\n`;
}

/** Bytes of the serialized line without tags (what the 512-byte limit counts), plus the CR LF. */
export function bodyBytes(m: IrcMessage): number {
  return Buffer.byteLength(serialize({ ...m, tags: {} })) + 2;
}

/**
 * Splits text into pieces of at most `maxBytes` UTF-8 bytes, never inside a character, and where
 * it can at a space (the space stays at the end of the earlier piece, so joining the pieces gives
 * the text back). A maxBytes below 4 is treated as 4.
 */
export function splitUtf8(text: string, maxBytes: number): string[] {
  const limit = Math.max(4, maxBytes);
  if (Buffer.byteLength(text) <= limit) return [text];
  const pieces: string[] = [];
  let rest = text;
  while (Buffer.byteLength(rest) > limit) {
    // Longest prefix within the limit, by code points.
    let bytes = 0;
    let cut = 0;
    for (const ch of rest) {
      const b = Buffer.byteLength(ch);
      if (bytes + b > limit) break;
      bytes += b;
      cut += ch.length;
    }
    const space = rest.lastIndexOf(" ", cut - 1);
    if (space > cut / 2) cut = space + 1;
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest !== "") pieces.push(rest);
  return pieces;
}

/** A UTF-8-safe prefix of `text` of at most `maxBytes` bytes. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let bytes = 0;
  let cut = 0;
  for (const ch of text) {
    const b = Buffer.byteLength(ch);
    if (bytes + b > maxBytes) break;
    bytes += b;
    cut += ch.length;
  }
  return text.slice(0, cut);
}
