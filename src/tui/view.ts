// What the screen shows, computed from the view model as rows of styled spans, each row exactly
// as wide as the terminal (measured by display width). app.tsx only paints these rows, so the
// layout is tested without a terminal. Colour is an extra: names are also in <brackets>, the
// open room is in reverse video, errors start with "!!", so everything reads without colour.

import type { Message } from "../core/types.ts";
import { layoutInput } from "./input.ts";
import {
  ACTION,
  type ChatState,
  currentRoom,
  type Item,
  label,
  markerIndex,
  type PendingSend,
  type RoomView,
  roomOrder,
  typingIn,
} from "./model.ts";
import { fit, sanitize, truncate, width, wrap } from "./wrap.ts";

export type Color = "red" | "green" | "yellow" | "blue" | "magenta" | "cyan" | "gray";

export interface Span {
  text: string;
  color?: Color;
  bold?: boolean;
  dim?: boolean;
  inverse?: boolean;
}

export type Row = Span[];

export interface Screen {
  rows: Row[];
  /** Where the terminal cursor goes (in the input line). */
  cursor: { x: number; y: number };
}

export interface Layout {
  cols: number;
  /** Rows drawn: one less than the terminal has (the renderer keeps the last line free). */
  height: number;
  /** Width of the room list (0 when the terminal is too narrow for it). */
  listWidth: number;
  /** Width of the message log. */
  logWidth: number;
  logRows: number;
  inputRows: number;
}

const PROMPT = "> ";
const MAX_INPUT_ROWS = 5;
const MAX_NAME = 16;
const AUTHOR_COLORS: Color[] = ["cyan", "green", "yellow", "blue", "magenta"];

export function layout(s: ChatState): Layout {
  const cols = Math.max(10, s.cols);
  const height = Math.max(3, s.rows - 1);
  const listWidth = cols >= 60 ? Math.max(14, Math.min(24, Math.floor(cols * 0.18))) : 0;
  const logWidth = listWidth > 0 ? cols - listWidth - 2 : cols;
  const inputWidth = cols - width(PROMPT);
  const inputRows = Math.min(MAX_INPUT_ROWS, layoutInput(s.input.text, s.input.cursor, inputWidth).rows.length);
  const logRows = Math.max(1, height - 1 - inputRows);
  return { cols, height, listWidth, logWidth, logRows, inputRows };
}

export function clock(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

function day(ms: number): string {
  return new Date(ms).toDateString();
}

/** A colour per author name, the same on every run. */
export function authorColor(name: string): Color {
  let h = 0;
  for (const ch of name.toLowerCase()) h = (h * 31 + ch.codePointAt(0)!) >>> 0;
  return AUTHOR_COLORS[h % AUTHOR_COLORS.length]!;
}

function itemAt(it: Item): number {
  return it.kind === "message" ? it.message.createdAt : it.at;
}

/** HH:MM today, else the date too: search results can be old. */
function when(ms: number, now: number): string {
  if (day(ms) === day(now)) return clock(ms);
  const d = new Date(ms);
  const date = d.toLocaleDateString("en-GB", { day: "numeric", month: "short" });
  return `${d.getFullYear() === new Date(now).getFullYear() ? date : `${date} ${d.getFullYear()}`} ${clock(ms)}`;
}

// ---- lines of the log ----

interface Cached {
  width: number;
  rows: Row[];
}
const cache = new WeakMap<object, Cached>();

function cached(key: object, w: number, make: () => Row[]): Row[] {
  const c = cache.get(key);
  if (c && c.width === w) return c.rows;
  const rows = make();
  cache.set(key, { width: w, rows });
  return rows;
}

/** Header (time, name) followed by the wrapped text, continuation lines indented under the text. */
function block(head: Span[], body: string, bodyStyle: Omit<Span, "text">, w: number): Row[] {
  const headWidth = head.reduce((n, sp) => n + width(sp.text), 0);
  const text = sanitize(body);
  if (w - headWidth >= 12) {
    const lines = wrap(text, w - headWidth);
    return lines.map((line, i) => [...(i === 0 ? head : [{ text: " ".repeat(headWidth) }]), { text: line, ...bodyStyle }]);
  }
  // Too narrow to indent under the name: the text goes below the header, indented by two.
  return [head, ...wrap(text, w - 2).map((line) => [{ text: "  " }, { text: line, ...bodyStyle }])];
}

function nameOf(name: string): string {
  return truncate(sanitize(name, false), MAX_NAME);
}

function messageRows(s: ChatState, room: RoomView, m: Message, w: number): Row[] {
  const mine = m.authorId === s.me?.id;
  const color = authorColor(m.author);
  // The message a /goto brought into view has its time in reverse video (visible without colour).
  const time: Span[] =
    room.highlight === m.id
      ? [{ text: clock(m.createdAt), inverse: true, bold: true }, { text: " " }]
      : [{ text: `${clock(m.createdAt)} `, dim: true }];
  const name = nameOf(m.author);
  if (m.deleted) return block([...time, { text: `<${name}> `, dim: true }], "(message deleted)", { dim: true }, w);
  let body = m.body;
  let head: Span[];
  if (body.startsWith(ACTION)) {
    body = body.slice(ACTION.length);
    head = [...time, { text: "* ", bold: true }, { text: `${name} `, color, bold: mine }];
  } else head = [...time, { text: `<${name}> `, color, bold: mine }];
  if (m.replyTo) {
    const parent = findMessage(room, m.replyTo);
    body = `(re ${parent ? nameOf(parent.author) : "an earlier message"}) ${body}`;
  }
  const extras: string[] = [];
  if (m.editedAt !== null) extras.push("(edited)");
  const reactions = Object.entries(m.reactions).map(([emoji, who]) => `${sanitize(emoji, false)} ${who.length}`);
  if (reactions.length > 0) extras.push(`[${reactions.join(", ")}]`);
  if (extras.length > 0) body = `${body} ${extras.join(" ")}`;
  return block(head, body, {}, w);
}

function findMessage(room: RoomView, id: string): Message | null {
  for (const it of room.items) if (it.kind === "message" && it.message.id === id) return it.message;
  return null;
}

/** A search result: number, room, time, author, and the text with the search terms marked. */
function resultRows(s: ChatState, it: Extract<Item, { kind: "result" }>, w: number): Row[] {
  const m = it.message;
  const head: Span[] = [
    { text: `${it.n}. `, bold: true },
    { text: `${truncate(sanitize(it.where, false), MAX_NAME)} `, color: "cyan" },
    { text: `${when(m.createdAt, s.now)} `, dim: true },
    { text: `<${nameOf(m.author)}> `, color: authorColor(m.author) },
  ];
  const body = m.body.startsWith(ACTION) ? `* ${m.author} ${m.body.slice(ACTION.length)}` : m.body;
  const rows = block(head, body, {}, w);
  // On a narrow log the first row is the header alone; every other row ends with text.
  const wide = rows[0]!.length > head.length;
  return rows.map((row, i) => (wide || i > 0 ? [...row.slice(0, -1), ...highlight(row[row.length - 1]!, it.terms)] : row));
}

/**
 * Splits a span so the search terms in it stand out (reverse video, bold). Terms are matched
 * ignoring case, within one wrapped line.
 */
export function highlight(span: Span, terms: string[]): Span[] {
  const lower = span.text.toLowerCase();
  // Lower-casing changed the length (rare scripts): offsets would not line up, so mark nothing.
  if (lower.length !== span.text.length) return [span];
  const marks: boolean[] = new Array(span.text.length).fill(false);
  for (const term of terms) {
    if (term === "") continue;
    for (let i = lower.indexOf(term); i !== -1; i = lower.indexOf(term, i + term.length)) {
      for (let j = i; j < i + term.length; j++) marks[j] = true;
    }
  }
  const out: Span[] = [];
  let from = 0;
  for (let i = 1; i <= span.text.length; i++) {
    if (i === span.text.length || marks[i] !== marks[from]) {
      const text = span.text.slice(from, i);
      out.push(marks[from] ? { ...span, text, inverse: true, bold: true } : { ...span, text });
      from = i;
    }
  }
  return out.length > 0 ? out : [span];
}

function itemRows(s: ChatState, room: RoomView | null, it: Item, w: number): Row[] {
  return cached(it, w, () => {
    switch (it.kind) {
      case "message":
        return room ? messageRows(s, room, it.message, w) : [];
      case "event":
        return block(
          [
            { text: `${clock(it.at)} `, dim: true },
            { text: "-- ", dim: true },
          ],
          it.text,
          { dim: true },
          w,
        );
      case "result":
        return resultRows(s, it, w);
      case "notice":
        return it.level === "error"
          ? block([{ text: "!! ", color: "red", bold: true }], it.text, { color: "red" }, w)
          : block([{ text: "-- ", color: "cyan" }], it.text, { color: "cyan" }, w);
    }
  });
}

function pendingRows(s: ChatState, p: PendingSend, w: number): Row[] {
  const state = s.conn.state === "online" ? "(sending…)" : "(waiting for the connection)";
  const name = nameOf(s.me?.name ?? "me");
  const time: Span = { text: `${clock(p.at)} `, dim: true };
  if (p.body.startsWith(ACTION)) {
    return block([time, { text: `* ${name} `, dim: true }], `${p.body.slice(ACTION.length)} ${state}`, { dim: true }, w);
  }
  return block([time, { text: `<${name}> `, dim: true }], `${p.body} ${state}`, { dim: true }, w);
}

function rule(text: string, w: number, style: Omit<Span, "text">): Row {
  const t = ` ${text} `;
  const side = Math.max(0, Math.floor((w - width(t)) / 2));
  return [{ text: fit(`${"─".repeat(side)}${t}${"─".repeat(side)}`, w), ...style }];
}

/** Every line of a room's log at width `w`, oldest first; `starts` receives each message's first line. */
export function logLines(s: ChatState, room: RoomView, w: number, starts?: Map<string, number>): Row[] {
  const rows: Row[] = [];
  if (room.history === "complete") rows.push(rule(`beginning of ${label(room)}`, w, { dim: true }));
  else if (room.loadingOlder || room.history === "loading") rows.push(rule("loading history…", w, { dim: true }));
  else if (room.history === "more") rows.push(rule("PageUp for older messages", w, { dim: true }));
  const markerAt = markerIndex(s, room);
  let lastDay = "";
  room.items.forEach((it, i) => {
    const d = day(itemAt(it));
    if (it.kind !== "notice" && it.kind !== "result" && d !== lastDay) {
      lastDay = d;
      rows.push(rule(d, w, { dim: true }));
    }
    if (i === markerAt) rows.push(rule("new messages", w, { color: "red", bold: true }));
    if (it.kind === "message") starts?.set(it.message.id, rows.length);
    rows.push(...itemRows(s, room, it, w));
  });
  for (const p of room.pending) rows.push(...pendingRows(s, p, w));
  return rows;
}

export function logHeight(s: ChatState, room: RoomView): number {
  return logLines(s, room, layout(s).logWidth).length;
}

// ---- the screen ----

function pad(row: Row, w: number): Row {
  let used = 0;
  const out: Row = [];
  for (const sp of row) {
    const sw = width(sp.text);
    if (used + sw <= w) {
      out.push(sp);
      used += sw;
      continue;
    }
    const cut = truncate(sp.text, w - used, "");
    if (cut) out.push({ ...sp, text: cut });
    used += width(cut);
    break;
  }
  if (used < w) out.push({ text: " ".repeat(w - used) });
  return out;
}

function roomListRows(s: ChatState, w: number, n: number): Row[] {
  const rows: Row[] = [[{ text: fit(" Rooms", w), bold: true }]];
  const order = roomOrder(s);
  const cur = order.findIndex((r) => r.id === s.current);
  const room = n - 1;
  const offset = cur >= room ? cur - room + 1 : 0;
  order.slice(offset, offset + room).forEach((r, j) => {
    const i = offset + j;
    const key = i < 9 ? String(i + 1) : i === 9 ? "0" : " ";
    const unread = r.id === s.current || r.unread === 0 ? "" : r.unread >= 1000 ? "1000+" : String(r.unread); // the server counts up to 1000
    const nameWidth = w - 3 - (unread ? width(unread) + 1 : 0);
    const text = `${key} ${fit(truncate(sanitize(label(r), false), nameWidth), nameWidth)}${unread ? ` ${unread}` : ""} `;
    rows.push([{ text: fit(text, w), inverse: r.id === s.current, bold: r.unread > 0 && r.id !== s.current }]);
  });
  while (rows.length < n) rows.push([{ text: " ".repeat(w) }]);
  return rows;
}

function connText(s: ChatState): string {
  const st = s.conn;
  switch (st.state) {
    case "online":
      return "online";
    case "connecting":
      return st.attempt === 0 ? "connecting…" : `reconnecting (try ${st.attempt + 1})…`;
    case "offline": {
      const secs = Math.max(0, Math.ceil((st.retryAt - s.now) / 1000));
      return `offline, retry in ${secs}s`;
    }
    case "closed":
      return "closed";
  }
}

function statusRow(s: ChatState, w: number): Row {
  const room = currentRoom(s);
  const left = [`[${connText(s)}]`];
  if (room) left.push(`${label(room)}${room.muted ? " (muted)" : ""}${room.topic ? `: ${sanitize(room.topic, false)}` : ""}`);
  const right: string[] = [];
  const pending = [...s.rooms.values()].reduce((n, r) => n + r.pending.length, 0);
  if (pending > 0 && s.conn.state !== "online") right.push(`${pending} unsent`);
  if (room && room.scroll > 0) right.push(room.unread > 0 ? `${room.unread} new below, PageDown` : "scrolled up, PageDown");
  if (room) {
    const names = typingIn(s, room.id).map((n) => sanitize(n, false));
    if (names.length === 1) right.push(`${names[0]} is typing…`);
    else if (names.length === 2) right.push(`${names[0]} and ${names[1]} are typing…`);
    else if (names.length > 2) right.push("several people are typing…");
  }
  if (layout(s).listWidth === 0) {
    const others = [...s.rooms.values()].filter((r) => r.id !== s.current && r.unread > 0).length;
    if (others > 0) right.push(`${others} rooms with unread`);
  }
  const r = right.length > 0 ? ` ${right.join(" | ")} ` : "";
  const rw = Math.min(width(r), Math.floor(w / 2));
  return [{ text: fit(` ${left.join(" ")}`, w - rw) + fit(r, rw), inverse: true }];
}

export function render(s: ChatState): Screen {
  const L = layout(s);
  const room = currentRoom(s);
  const lines = room ? logLines(s, room, L.logWidth) : s.notices.flatMap((n) => itemRows(s, null, n, L.logWidth));
  const scroll = room ? Math.min(room.scroll, Math.max(0, lines.length - L.logRows)) : 0;
  const end = lines.length - scroll;
  const visible = lines.slice(Math.max(0, end - L.logRows), end);
  const log: Row[] = [];
  for (let i = visible.length; i < L.logRows; i++) log.push([]);
  log.push(...visible);

  const rows: Row[] = [];
  const list = L.listWidth > 0 ? roomListRows(s, L.listWidth, L.logRows) : null;
  for (let i = 0; i < L.logRows; i++) {
    const body = pad(log[i]!, L.logWidth);
    rows.push(list ? [...list[i]!, { text: "│", dim: true }, { text: " " }, ...body] : body);
  }
  rows.push(statusRow(s, L.cols));

  const inputWidth = L.cols - width(PROMPT);
  const inp = layoutInput(s.input.text, s.input.cursor, inputWidth);
  const first = Math.max(0, Math.min(inp.row - L.inputRows + 1, inp.rows.length - L.inputRows));
  for (let i = first; i < first + L.inputRows; i++) {
    const text = inp.rows[i] ?? "";
    rows.push(pad([{ text: i === 0 ? PROMPT : "  ", bold: true }, { text: sanitize(text, false) }], L.cols));
  }
  return { rows, cursor: { x: width(PROMPT) + inp.col, y: L.logRows + 1 + (inp.row - first) } };
}

/** The screen as plain text, one string per row (for tests and for looking at it). */
export function plain(screen: Screen): string[] {
  return screen.rows.map((r) => r.map((sp) => sp.text).join(""));
}
