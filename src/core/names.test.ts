import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChatError, type ErrorCode } from "./errors.ts";
import {
  checkAccountName,
  checkBody,
  checkEmoji,
  checkPassword,
  checkRoomName,
  checkText,
  directRoomName,
  nameKey,
} from "./names.ts";

function throwsCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (err: unknown) => err instanceof ChatError && err.code === code);
}

describe("checkAccountName", () => {
  it("accepts 1-32 letters, digits, '_' and '-', starting with a letter or digit", () => {
    for (const name of ["a", "alice", "Bob_2", "x-y", "9lives", "Zoë", "名前", "a".repeat(32)]) {
      assert.equal(checkAccountName(name), name);
    }
  });

  it("refuses anything else with INVALID_NAME", () => {
    for (const name of ["", "_alice", "-bob", "a".repeat(33), "a b", "a#b", "a.b", "#chan", "a\n", "🎉", "al:ice", " alice"]) {
      throwsCode(() => checkAccountName(name), "INVALID_NAME");
    }
  });
});

describe("checkRoomName", () => {
  it("takes names with or without '#', returning them without", () => {
    assert.equal(checkRoomName("#general"), "general");
    assert.equal(checkRoomName("general"), "general");
    assert.equal(checkRoomName("#Dev-Team_2"), "Dev-Team_2");
  });

  it("refuses invalid names", () => {
    for (const name of ["#", "", "##general", "#a b", "#-x", `#${"r".repeat(33)}`, "dm:a:b"]) {
      throwsCode(() => checkRoomName(name), "INVALID_NAME");
    }
  });
});

describe("nameKey and directRoomName", () => {
  it("nameKey compares case-insensitively", () => {
    assert.equal(nameKey("Alice"), nameKey("aLICE"));
    assert.notEqual(nameKey("alice"), nameKey("alicia"));
  });

  it("directRoomName is the same from either side", () => {
    assert.equal(directRoomName("b2", "a1"), "dm:a1:b2");
    assert.equal(directRoomName("a1", "b2"), "dm:a1:b2");
    assert.equal(directRoomName("a1", "a1"), "dm:a1:a1");
  });
});

describe("checkPassword", () => {
  it("needs at least 8 characters, counted as code points", () => {
    assert.equal(checkPassword("12345678"), "12345678");
    throwsCode(() => checkPassword("1234567"), "WEAK_PASSWORD");
    throwsCode(() => checkPassword(""), "WEAK_PASSWORD");
    throwsCode(() => checkPassword("🎉".repeat(7)), "WEAK_PASSWORD"); // 14 UTF-16 units, 7 characters
    assert.equal(checkPassword("🎉".repeat(8)), "🎉".repeat(8));
  });

  it("refuses more than 1024 bytes", () => {
    assert.equal(checkPassword("p".repeat(1024)).length, 1024);
    throwsCode(() => checkPassword("p".repeat(1025)), "TOO_LARGE");
    throwsCode(() => checkPassword("é".repeat(513)), "TOO_LARGE"); // 1026 bytes
  });
});

describe("checkBody", () => {
  it("refuses empty and blank bodies", () => {
    throwsCode(() => checkBody("", 100), "BAD_REQUEST");
    throwsCode(() => checkBody("  \n\t ", 100), "BAD_REQUEST");
  });

  it("limits the size in UTF-8 bytes", () => {
    assert.equal(checkBody("x".repeat(10), 10), "x".repeat(10));
    throwsCode(() => checkBody("x".repeat(11), 10), "TOO_LARGE");
    throwsCode(() => checkBody("é".repeat(6), 10), "TOO_LARGE"); // 6 characters, 12 bytes
    assert.equal(checkBody("é".repeat(5), 10), "é".repeat(5));
  });

  it("keeps surrounding whitespace of a real body", () => {
    assert.equal(checkBody("  hi  ", 100), "  hi  ");
  });
});

describe("checkEmoji", () => {
  it("accepts an emoji or a short word", () => {
    for (const e of ["👍", "🎉", "+1", "lol", "👩‍👩‍👧"]) assert.equal(checkEmoji(e), e);
  });

  it("refuses empty, spaced or long reactions", () => {
    for (const e of ["", "a b", " ", "x\ty", "x".repeat(65)]) throwsCode(() => checkEmoji(e), "BAD_REQUEST");
    assert.equal(checkEmoji("x".repeat(64)), "x".repeat(64));
  });
});

describe("checkText", () => {
  it("refuses NUL anywhere, in bodies, topics and reactions alike, so every store can keep the text", () => {
    throwsCode(() => checkText("a\u0000b", "topics"), "BAD_REQUEST");
    throwsCode(() => checkBody("hello\u0000", 4000), "BAD_REQUEST");
    throwsCode(() => checkEmoji("👍\u0000"), "BAD_REQUEST");
    assert.equal(checkText("tab\tand newline\n are fine", "topics"), "tab\tand newline\n are fine");
  });
});
