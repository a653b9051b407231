// The input line: text with a cursor, edited by grapheme (so an emoji or a CJK character is
// deleted and stepped over as one), with several lines (Alt+Enter) and a history of what was
// sent (Up/Down). Pure functions over a plain state object.

import { splitGraphemes, width } from "./wrap.ts";

export interface InputState {
  text: string;
  /** Cursor position as an index into `text`, always on a grapheme boundary. */
  cursor: number;
  /** Lines sent before, oldest first. */
  history: string[];
  /** Which history entry is shown, or null for the line being written. */
  historyIndex: number | null;
  /** The line being written, kept while browsing history. */
  draft: string;
}

const HISTORY_MAX = 200;

export function emptyInput(): InputState {
  return { text: "", cursor: 0, history: [], historyIndex: null, draft: "" };
}

/** Grapheme boundaries of `text` as indices, including 0 and text.length. */
function boundaries(text: string): number[] {
  const out = [0];
  let i = 0;
  for (const g of splitGraphemes(text)) {
    i += g.length;
    out.push(i);
  }
  return out;
}

function prevBoundary(text: string, at: number): number {
  let prev = 0;
  for (const b of boundaries(text)) {
    if (b >= at) break;
    prev = b;
  }
  return prev;
}

function nextBoundary(text: string, at: number): number {
  for (const b of boundaries(text)) if (b > at) return b;
  return text.length;
}

function set(s: InputState, text: string, cursor: number): void {
  s.text = text;
  s.cursor = cursor;
  s.historyIndex = null;
}

export function insert(s: InputState, text: string): void {
  set(s, s.text.slice(0, s.cursor) + text + s.text.slice(s.cursor), s.cursor + text.length);
}

export function backspace(s: InputState): void {
  if (s.cursor === 0) return;
  const p = prevBoundary(s.text, s.cursor);
  set(s, s.text.slice(0, p) + s.text.slice(s.cursor), p);
}

export function deleteForward(s: InputState): void {
  if (s.cursor >= s.text.length) return;
  const n = nextBoundary(s.text, s.cursor);
  set(s, s.text.slice(0, s.cursor) + s.text.slice(n), s.cursor);
}

export function left(s: InputState): void {
  s.cursor = prevBoundary(s.text, s.cursor);
}

export function right(s: InputState): void {
  s.cursor = nextBoundary(s.text, s.cursor);
}

export function wordLeft(s: InputState): void {
  let i = s.cursor;
  while (i > 0 && /\s/.test(s.text[i - 1]!)) i--;
  while (i > 0 && !/\s/.test(s.text[i - 1]!)) i--;
  s.cursor = i;
}

export function wordRight(s: InputState): void {
  let i = s.cursor;
  while (i < s.text.length && /\s/.test(s.text[i]!)) i++;
  while (i < s.text.length && !/\s/.test(s.text[i]!)) i++;
  s.cursor = i;
}

function lineStart(s: InputState): number {
  return s.text.lastIndexOf("\n", s.cursor - 1) + 1;
}

function lineEnd(s: InputState): number {
  const i = s.text.indexOf("\n", s.cursor);
  return i === -1 ? s.text.length : i;
}

export function home(s: InputState): void {
  s.cursor = lineStart(s);
}

export function end(s: InputState): void {
  s.cursor = lineEnd(s);
}

export function killStart(s: InputState): void {
  const start = lineStart(s);
  set(s, s.text.slice(0, start) + s.text.slice(s.cursor), start);
}

export function killEnd(s: InputState): void {
  set(s, s.text.slice(0, s.cursor) + s.text.slice(lineEnd(s)), s.cursor);
}

export function killWord(s: InputState): void {
  const to = s.cursor;
  wordLeft(s);
  set(s, s.text.slice(0, s.cursor) + s.text.slice(to), s.cursor);
}

/** Moves the cursor one line up or down inside multi-line input; false when already at the edge. */
function moveLine(s: InputState, dir: -1 | 1): boolean {
  const start = lineStart(s);
  const col = width(s.text.slice(start, s.cursor));
  let target: number;
  if (dir < 0) {
    if (start === 0) return false;
    target = s.text.lastIndexOf("\n", start - 2) + 1;
  } else {
    const e = lineEnd(s);
    if (e >= s.text.length) return false;
    target = e + 1;
  }
  const nl = s.text.indexOf("\n", target);
  const line = s.text.slice(target, nl === -1 ? s.text.length : nl);
  let used = 0;
  let i = 0;
  for (const g of splitGraphemes(line)) {
    if (used + width(g) > col) break;
    used += width(g);
    i += g.length;
  }
  s.cursor = target + i;
  return true;
}

export function up(s: InputState): void {
  if (moveLine(s, -1)) return;
  if (s.history.length === 0) return;
  if (s.historyIndex === null) {
    s.draft = s.text;
    s.historyIndex = s.history.length - 1;
  } else if (s.historyIndex > 0) s.historyIndex--;
  else return;
  s.text = s.history[s.historyIndex]!;
  s.cursor = s.text.length;
}

export function down(s: InputState): void {
  if (moveLine(s, 1)) return;
  if (s.historyIndex === null) return;
  if (s.historyIndex < s.history.length - 1) {
    s.historyIndex++;
    s.text = s.history[s.historyIndex]!;
  } else {
    s.historyIndex = null;
    s.text = s.draft;
  }
  s.cursor = s.text.length;
}

/** Takes the text out for sending, remembers it in the history and empties the line. */
export function take(s: InputState): string {
  const text = s.text;
  if (text.trim() !== "" && s.history[s.history.length - 1] !== text) {
    s.history.push(text);
    if (s.history.length > HISTORY_MAX) s.history.splice(0, s.history.length - HISTORY_MAX);
  }
  s.text = "";
  s.cursor = 0;
  s.historyIndex = null;
  s.draft = "";
  return text;
}

export function replace(s: InputState, text: string): void {
  set(s, text, text.length);
}

/**
 * Lays the input out in rows of `cols` columns (breaking anywhere, by display width, so the
 * cursor maps exactly) and says where the cursor is.
 */
export function layoutInput(text: string, cursor: number, cols: number): { rows: string[]; row: number; col: number } {
  const limit = Math.max(2, cols);
  const rows: string[] = [""];
  let used = 0;
  let row = 0;
  let col = 0;
  let at = 0;
  const place = () => {
    row = rows.length - 1;
    col = used;
    if (col >= limit) {
      rows.push("");
      used = 0;
      row++;
      col = 0;
    }
  };
  for (const g of splitGraphemes(text)) {
    if (at === cursor) place();
    at += g.length;
    if (g === "\n") {
      rows.push("");
      used = 0;
      continue;
    }
    const w = width(g);
    if (used + w > limit) {
      rows.push("");
      used = 0;
    }
    rows[rows.length - 1] += g;
    used += w;
  }
  if (at <= cursor) place();
  return { rows, row, col };
}
