import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as ed from "./input.ts";

function typed(text: string): ed.InputState {
  const s = ed.emptyInput();
  ed.insert(s, text);
  return s;
}

describe("input line", () => {
  it("edits by grapheme: an emoji or a CJK character is one step", () => {
    const s = typed("a👩‍👩‍👧中");
    ed.backspace(s);
    assert.equal(s.text, "a👩‍👩‍👧");
    ed.left(s);
    assert.equal(s.cursor, 1);
    ed.insert(s, "b");
    assert.equal(s.text, "ab👩‍👩‍👧");
    ed.deleteForward(s);
    assert.equal(s.text, "ab");
  });

  it("moves by word and kills", () => {
    const s = typed("one two three");
    ed.wordLeft(s);
    assert.equal(s.cursor, 8);
    ed.killWord(s);
    assert.equal(s.text, "one three");
    ed.killEnd(s);
    assert.equal(s.text, "one ");
    ed.killStart(s);
    assert.equal(s.text, "");
  });

  it("Up/Down browse the history and keep the draft", () => {
    const s = typed("first");
    ed.take(s);
    ed.insert(s, "second");
    ed.take(s);
    ed.insert(s, "draft");
    ed.up(s);
    assert.equal(s.text, "second");
    ed.up(s);
    assert.equal(s.text, "first");
    ed.up(s);
    assert.equal(s.text, "first");
    ed.down(s);
    ed.down(s);
    assert.equal(s.text, "draft");
  });

  it("Up/Down move between lines of multi-line input before browsing history", () => {
    const s = typed("old");
    ed.take(s);
    ed.insert(s, "abc\n中文x");
    ed.up(s);
    assert.equal(s.text, "abc\n中文x");
    assert.equal(s.cursor, 3);
    ed.down(s);
    assert.equal(s.cursor, 5, "column 3 of the line below is inside 文: stop before it");
    ed.home(s);
    assert.equal(s.cursor, 4);
  });

  it("lays out rows by display width and finds the cursor", () => {
    const l = ed.layoutInput("中文中文中", 5, 4);
    assert.deepEqual(l.rows, ["中文", "中文", "中"]);
    assert.deepEqual([l.row, l.col], [2, 2]);
    const m = ed.layoutInput("ab\ncd", 1, 10);
    assert.deepEqual(m.rows, ["ab", "cd"]);
    assert.deepEqual([m.row, m.col], [0, 1]);
  });
});
