// The `ok` reply to a `history` request, written as JSON straight into its WebSocket frame.
//
// It is the same bytes as textFrame(JSON.stringify({ type: "ok", id, result: { messages:
// page.messages.map(messageToWire), more } })) (history-frame.test.ts checks it), without the
// objects on the way: a page of 100 older messages made ~100 compact wire objects (17 KB of JS
// heap) and JSON.stringify ~35 KB more for a 24 KB reply, per request. Those allocations were
// what set the server's scavenges, the tail of history latency (docs/benchmarks.md, "Session 6,
// branch `hist2`"). Here the bytes go into one scratch buffer, reused, and are copied once
// into the frame.
//
// Strings are written byte for byte when they are printable ASCII without `"` or `\` (ids,
// names and most bodies); any other string goes through JSON.stringify, so escapes, non-ASCII
// text and lone surrogates come out exactly as they did. Fields follow messageToWire: those at
// their default are left out, in the same order.
//
// Written naively in JavaScript this costs more CPU than V8's native JSON.stringify. Two things
// make it cheaper (docs/benchmarks.md, "Session 7, branch `hist3`"): numbers are written two
// digits per division, and the strings a page repeats in every message (its room id, its few
// authors' ids and names) are copied from where they were first written in this reply instead
// of being checked byte by byte again.

import type { HistoryPage, Message } from "../../core/types.ts";
import { headerLength, writeHeader } from "./frame.ts";
import type { RequestIdValue } from "./wire.ts";

/** Room for the longest frame header before the JSON. */
const HEADER_ROOM = 10;

/** Grows to the longest reply so far (a page is at most historyPageMax messages of at most maxMessageBytes). */
let scratch = Buffer.allocUnsafe(64 * 1024);
/** Where the next byte goes in `scratch`. */
let at = 0;

function reserve(bytes: number): void {
  if (at + bytes <= scratch.length) return;
  const bigger = Buffer.allocUnsafe(Math.max(2 * scratch.length, at + bytes));
  scratch.copy(bigger, 0, 0, at);
  scratch = bigger;
}

/** Text known to need no escaping (the JSON punctuation and keys below). */
function ascii(s: string): void {
  reserve(s.length);
  const b = scratch;
  let p = at;
  for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
  at = p;
}

/** Any JSON text: UTF-8 is at most 3 bytes per UTF-16 unit. */
function json(s: string): void {
  reserve(3 * s.length);
  at += scratch.write(s, at, "utf8");
}

function string(s: string): void {
  reserve(s.length + 2);
  // Locals, not the module's variables, in the loop that runs once per byte of the reply.
  const b = scratch;
  let p = at;
  b[p++] = 0x22;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
      json(JSON.stringify(s));
      return;
    }
    b[p++] = c;
  }
  b[p++] = 0x22;
  at = p;
}

function number(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    json(JSON.stringify(n));
    return;
  }
  // A timestamp is above 2^31: its digits come in two parts that each fit small-integer
  // arithmetic, the low eight zero-padded. A safe integer has at most 16 digits.
  reserve(16);
  if (n < 1e8) {
    at = digits(n, at + digitCount(n));
  } else {
    const high = Math.floor(n / 1e8);
    at = digits(high, at + digitCount(high));
    at = digits(n - high * 1e8, at + 8);
  }
}

/** The two ASCII digits of 0–99, at 2k and 2k + 1. */
const PAIRS = Uint8Array.from({ length: 200 }, (_, k) => 0x30 + (k & 1 ? (k >> 1) % 10 : ((k >> 1) / 10) | 0));

/** How many decimal digits `n` (below 2^31) has. */
function digitCount(n: number): number {
  let count = 1;
  for (let power = 10; power <= n; power *= 10) count++;
  return count;
}

/** Writes `n` (below 2^31) in decimal ending just before `end`, zero-padded back to `at`; returns `end`. */
function digits(n: number, end: number): number {
  const b = scratch;
  let p = end;
  while (n >= 100) {
    const k = (n % 100) * 2;
    n = (n / 100) | 0;
    b[--p] = PAIRS[k + 1]!;
    b[--p] = PAIRS[k]!;
  }
  if (n >= 10) {
    b[--p] = PAIRS[n * 2 + 1]!;
    b[--p] = PAIRS[n * 2]!;
  } else {
    b[--p] = 0x30 + n;
  }
  while (p > at) b[--p] = 0x30;
  return end;
}

/** Where a string last went in this reply, so that a repeat is copied from there instead of checked again. */
class Written {
  text = "";
  start = 0;
  end = 0;
}

/** The last room id, author id and author name written (a page's messages share them). */
const lastRoomId = new Written();
const lastAuthorId = new Written();
const lastAuthor = new Written();

/** string(s), copied from this reply's last copy of the field when it is the same text. */
function repeated(s: string, last: Written): void {
  if (last.end !== 0 && s === last.text) {
    const length = last.end - last.start;
    reserve(length);
    const b = scratch;
    let p = at;
    for (let i = last.start; i < last.end; i++) b[p++] = b[i]!;
    at = p;
    return;
  }
  last.text = s;
  last.start = at;
  string(s);
  last.end = at;
}

/** messageToWire(m) as JSON (a history page has no enclosing event, so only defaults are left out). */
function message(m: Message): void {
  ascii('{"id":');
  string(m.id);
  ascii(',"body":');
  string(m.body);
  ascii(',"roomId":');
  repeated(m.roomId, lastRoomId);
  ascii(',"seq":');
  number(m.seq);
  ascii(',"authorId":');
  repeated(m.authorId, lastAuthorId);
  ascii(',"author":');
  repeated(m.author, lastAuthor);
  ascii(',"createdAt":');
  number(m.createdAt);
  if (m.clientId !== null) {
    ascii(',"clientId":');
    string(m.clientId);
  }
  if (m.replyTo !== null) {
    ascii(',"replyTo":');
    string(m.replyTo);
  }
  if (m.editedAt !== null) {
    ascii(',"editedAt":');
    number(m.editedAt);
  }
  if (m.deleted) ascii(',"deleted":true');
  for (const _ in m.reactions) {
    ascii(',"reactions":');
    json(JSON.stringify(m.reactions));
    break;
  }
  ascii("}");
}

/**
 * The last page of frozen messages encoded, and its messages' JSON. A frozen message (with its
 * reactions, as the store freezes them) cannot change, so the same messages give the same bytes: this is the SQLite
 * store's newest page of a room (frozen, shared by every reader until the room changes), the page
 * every client asks for when it opens the room.
 */
let frozen: readonly Message[] = [];
let frozenJson: Buffer = Buffer.alloc(0);

/** The message, its reactions and their lists of names are all frozen. */
function isFrozenMessage(m: Message): boolean {
  if (!Object.isFrozen(m) || !Object.isFrozen(m.reactions)) return false;
  for (const emoji in m.reactions) if (!Object.isFrozen(m.reactions[emoji])) return false;
  return true;
}

function isFrozenPage(messages: readonly Message[]): boolean {
  if (messages.length !== frozen.length) return false;
  for (let i = 0; i < messages.length; i++) if (messages[i] !== frozen[i]) return false;
  return true;
}

function messages(list: readonly Message[]): void {
  if (list.length > 0 && isFrozenPage(list)) {
    reserve(frozenJson.length);
    at += frozenJson.copy(scratch, at);
    return;
  }
  const first = at;
  for (let i = 0; i < list.length; i++) {
    if (i > 0) ascii(",");
    message(list[i]!);
  }
  if (list.length > 0 && list.every(isFrozenMessage)) {
    frozen = list.slice();
    frozenJson = Buffer.from(scratch.subarray(first, at));
  }
}

/** The framed `ok` reply to history request `id` with this page. */
export function historyReplyFrame(id: RequestIdValue | undefined, page: HistoryPage): Buffer {
  at = HEADER_ROOM;
  // Where the last reply put them says nothing about this one's bytes.
  lastRoomId.end = lastAuthorId.end = lastAuthor.end = 0;
  ascii('{"type":"ok",');
  if (id !== undefined) {
    ascii('"id":');
    json(JSON.stringify(id));
    ascii(",");
  }
  ascii('"result":{"messages":[');
  messages(page.messages);
  ascii(page.more ? '],"more":true}}' : '],"more":false}}');
  const length = at - HEADER_ROOM;
  const start = HEADER_ROOM - headerLength(length);
  writeHeader(scratch, start, length);
  // The frame waits in the socket's queue until the next flush: it must not share `scratch`.
  const frame = Buffer.allocUnsafe(at - start);
  scratch.copy(frame, 0, start, at);
  return frame;
}
