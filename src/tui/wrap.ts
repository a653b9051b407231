// Text measured by display width (terminal columns), not by UTF-16 units or code points:
// Chinese, Japanese and Korean characters and most emoji take two columns, combining marks
// and zero-width joiners none. Everything the terminal client draws goes through here, so a
// line never overflows its column and the panes never break.

import stringWidth from "string-width";

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** Columns `text` takes on a terminal. */
export function width(text: string): number {
  return stringWidth(text);
}

/** The grapheme clusters of `text` (what a user sees as one character). */
export function splitGraphemes(text: string): string[] {
  const out: string[] = [];
  for (const s of graphemes.segment(text)) out.push(s.segment);
  return out;
}

const TAB = "    ";

/**
 * Makes untrusted text (message bodies, topics, names) safe to print: no control characters, so
 * no escape sequences reach the terminal, no carriage returns, no bidirectional overrides. Tabs
 * become spaces; newlines stay when `keepNewlines`.
 */
export function sanitize(text: string, keepNewlines = true): string {
  let out = "";
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (ch === "\n") out += keepNewlines ? "\n" : " ";
    else if (ch === "\t") out += TAB;
    else if (c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0)) out += "\uFFFD";
    else if ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)) continue;
    else out += ch;
  }
  return out;
}

/** Cuts `text` to at most `max` columns, ending with `ellipsis` when something was cut. */
export function truncate(text: string, max: number, ellipsis = "…"): string {
  if (max <= 0) return "";
  if (width(text) <= max) return text;
  const room = max - width(ellipsis);
  if (room < 0) return "";
  let out = "";
  let used = 0;
  for (const g of splitGraphemes(text)) {
    const w = width(g);
    if (used + w > room) break;
    out += g;
    used += w;
  }
  return out + ellipsis;
}

/** Pads `text` with spaces to exactly `cols` columns (cutting it first if it is wider). */
export function fit(text: string, cols: number): string {
  const t = width(text) > cols ? truncate(text, cols, "") : text;
  return t + " ".repeat(Math.max(0, cols - width(t)));
}

/** Pads on the left to `cols` columns. */
export function fitRight(text: string, cols: number): string {
  const t = width(text) > cols ? truncate(text, cols, "") : text;
  return " ".repeat(Math.max(0, cols - width(t))) + t;
}

/**
 * A unit of wrapping: a word (run of narrow non-space characters), one space, or one wide
 * character. Lines may break between any two units; CJK text has no spaces, so each of its
 * characters is a unit of its own.
 */
interface Unit {
  text: string;
  cols: number;
  space: boolean;
}

function units(line: string): Unit[] {
  const out: Unit[] = [];
  let word: Unit | null = null;
  for (const g of splitGraphemes(line)) {
    const cols = width(g);
    if (g === " ") {
      word = null;
      out.push({ text: g, cols, space: true });
    } else if (cols >= 2) {
      word = null;
      out.push({ text: g, cols, space: false });
    } else if (word) {
      word.text += g;
      word.cols += cols;
    } else {
      word = { text: g, cols, space: false };
      out.push(word);
    }
  }
  return out;
}

/**
 * Wraps `text` into lines of at most `cols` columns: at spaces where possible, between any two
 * wide characters, and inside a word only when the word alone is wider than a line. Newlines in
 * the text start new lines. Spaces at a break are dropped. Always returns at least one line.
 */
export function wrap(text: string, cols: number): string[] {
  const limit = Math.max(2, cols);
  const lines: string[] = [];
  for (const para of text.split("\n")) {
    let line = "";
    let used = 0;
    // Spaces where a line was broken are dropped; those that start a paragraph (indentation) stay.
    let broken = false;
    const flush = () => {
      lines.push(line.replace(/ +$/, ""));
      line = "";
      used = 0;
      broken = true;
    };
    for (const u of units(para)) {
      if (u.space) {
        if (used + u.cols > limit) flush();
        else if (used > 0 || !broken) {
          line += u.text;
          used += u.cols;
        }
        continue;
      }
      if (used + u.cols <= limit) {
        line += u.text;
        used += u.cols;
        continue;
      }
      if (u.cols <= limit) {
        flush();
        line = u.text;
        used = u.cols;
        continue;
      }
      // A word wider than a whole line: fill the rest of this line, then hard-break it.
      for (const g of splitGraphemes(u.text)) {
        const w = width(g);
        if (used + w > limit) flush();
        line += g;
        used += w;
      }
    }
    lines.push(line.replace(/ +$/, ""));
  }
  return lines;
}
