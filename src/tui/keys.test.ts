import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PASTE_END, PASTE_START, parseKeys } from "./keys.ts";

const kinds = (chunk: string, pasting = false) =>
  parseKeys(chunk, pasting).actions.map((a) => ("text" in a ? `+${a.text}` : a.kind));

describe("parseKeys", () => {
  it("separates typed text from Enter in the same read", () => {
    assert.deepEqual(kinds("hello\r"), ["+hello", "submit"]);
    assert.deepEqual(kinds("a\x7fb"), ["+a", "backspace", "+b"]);
  });

  it("tells Backspace from Delete and reads cursor keys", () => {
    assert.deepEqual(kinds("\x7f"), ["backspace"]);
    assert.deepEqual(kinds("\x1b[3~"), ["delete"]);
    assert.deepEqual(kinds("\x1b[A"), ["up"]);
    assert.deepEqual(kinds("\x1bOB"), ["down"]);
    assert.deepEqual(kinds("\x1b[5~"), ["pageUp"]);
    assert.deepEqual(kinds("\x1b[6~"), ["pageDown"]);
  });

  it("Alt+Enter is a new line, Alt+digit a room, Ctrl+N/P next and previous room", () => {
    assert.deepEqual(kinds("\x1b\r"), ["newline"]);
    assert.deepEqual(parseKeys("\x1b3").actions, [{ kind: "room", index: 2 }]);
    assert.deepEqual(parseKeys("\x1b0").actions, [{ kind: "room", index: 9 }]);
    assert.deepEqual(kinds("\x0e\x10"), ["nextRoom", "prevRoom"]);
  });

  it("a bracketed paste inserts its line breaks instead of sending", () => {
    let r = parseKeys(PASTE_START);
    assert.equal(r.pasting, true);
    r = parseKeys("one\r\ntwo\rthree", r.pasting);
    assert.deepEqual(kinds("one\r\ntwo\rthree", true), ["+one\ntwo\nthree"]);
    assert.equal(parseKeys(PASTE_END, true).pasting, false);
  });

  it("keeps CJK and emoji text whole", () => {
    assert.deepEqual(kinds("你好😀"), ["+你好😀"]);
  });
});
