import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fit, sanitize, truncate, width, wrap } from "./wrap.ts";

describe("display width", () => {
  it("counts CJK characters and emoji as two columns, combining marks as none", () => {
    assert.equal(width("abc"), 3);
    assert.equal(width("中文"), 4);
    assert.equal(width("日本語"), 6);
    assert.equal(width("한국어"), 6);
    assert.equal(width("😀"), 2);
    assert.equal(width("👩‍👩‍👧"), 2);
    assert.equal(width("e\u0301"), 1);
  });

  it("truncates and pads by columns, never splitting a wide character", () => {
    assert.equal(truncate("中文字符", 5), "中文…");
    assert.equal(width(truncate("中文字符", 5)), 5);
    assert.equal(truncate("abc", 3), "abc");
    assert.equal(fit("中", 3), "中 ");
    assert.equal(fit("中文", 3), "中 ");
    assert.equal(width(fit("😀😀😀", 5)), 5);
  });
});

describe("wrap", () => {
  const widest = (lines: string[]) => Math.max(...lines.map(width));

  it("breaks at spaces", () => {
    assert.deepEqual(wrap("the quick brown fox jumps", 10), ["the quick", "brown fox", "jumps"]);
  });

  it("hard-breaks a word longer than a line", () => {
    assert.deepEqual(wrap("abcdefghijkl", 5), ["abcde", "fghij", "kl"]);
  });

  it("wraps Chinese text between characters by display width", () => {
    const text = "这是一个很长的中文消息用来测试换行";
    const lines = wrap(text, 10);
    assert.ok(widest(lines) <= 10);
    assert.deepEqual(lines, ["这是一个很", "长的中文消", "息用来测试", "换行"]);
    assert.equal(lines.join(""), text);
  });

  it("never puts a wide character across the edge (odd widths)", () => {
    const lines = wrap("日本語のテキスト", 5);
    for (const l of lines) assert.ok(width(l) <= 5, l);
    assert.deepEqual(lines, ["日本", "語の", "テキ", "スト"]);
  });

  it("mixes latin words, CJK and emoji", () => {
    const text = "hello 世界 this is 한국어 and 😀🎉 emoji";
    for (const cols of [3, 4, 7, 8, 11, 16, 20]) {
      const lines = wrap(text, cols);
      assert.ok(widest(lines) <= cols, `${cols}: ${JSON.stringify(lines)}`);
      assert.equal(lines.join("").replace(/ /g, ""), text.replace(/ /g, ""));
    }
  });

  it("keeps grapheme clusters whole", () => {
    const family = "👩‍👩‍👧";
    const lines = wrap(`${family}${family}${family}`, 4);
    assert.deepEqual(lines, [`${family}${family}`, family]);
  });

  it("keeps indentation at the start of a paragraph, drops spaces at breaks", () => {
    assert.deepEqual(wrap("  indented text here", 10), ["  indented", "text here"]);
    assert.deepEqual(wrap("a\n  b", 10), ["a", "  b"]);
  });

  it("starts a new line at each newline and keeps empty lines", () => {
    assert.deepEqual(wrap("one\n\ntwo", 10), ["one", "", "two"]);
  });
});

describe("sanitize", () => {
  it("removes escape sequences and control characters, keeps newlines", () => {
    assert.equal(sanitize("a\x1b[2Jb\rc\nd\te"), "a\uFFFD[2Jb\uFFFDc\nd    e");
    assert.equal(sanitize("x\u202Ey"), "xy");
    assert.equal(sanitize("a\nb", false), "a b");
  });
});
