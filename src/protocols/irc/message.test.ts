import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  escapeTagValue,
  type IrcMessage,
  ParseError,
  parseLine,
  parseTags,
  serialize,
  splitUtf8,
  truncateUtf8,
  unescapeTagValue,
} from "./message.ts";

function parsed(line: string | Uint8Array): IrcMessage {
  const m = parseLine(line);
  if (m === null || m instanceof ParseError)
    throw new Error(`expected a message from ${JSON.stringify(line)}, got ${JSON.stringify(m)}`);
  return m;
}

describe("parseLine", () => {
  it("reads command and params, with a trailing parameter", () => {
    assert.deepEqual(parsed("PRIVMSG #lobby :hello there"), {
      tags: {},
      source: null,
      command: "PRIVMSG",
      params: ["#lobby", "hello there"],
    });
  });

  it("upper-cases the command and reads numerics", () => {
    assert.equal(parsed("privmsg #a b").command, "PRIVMSG");
    assert.deepEqual(parsed(":irc.example 001 ana :Welcome").params, ["ana", "Welcome"]);
  });

  it("reads a source", () => {
    const m = parsed(":ana!ana@host JOIN #lobby");
    assert.equal(m.source, "ana!ana@host");
    assert.deepEqual(m.params, ["#lobby"]);
  });

  it("tolerates repeated spaces and a trailing CR", () => {
    assert.deepEqual(parsed("NICK   ana  \r").params, ["ana"]);
    assert.deepEqual(parsed("USER a 0  *   :Real Name").params, ["a", "0", "*", "Real Name"]);
  });

  it("keeps an empty trailing parameter and a trailing one starting with ':'", () => {
    assert.deepEqual(parsed("TOPIC #a :").params, ["#a", ""]);
    assert.deepEqual(parsed("PRIVMSG #a ::)").params, ["#a", ":)"]);
  });

  it("reads tags with escapes, valueless tags and client tags", () => {
    const m = parsed("@label=abc;+draft/reply=01x;+typing=active;flag;esc=a\\sb\\:c\\\\d\\re\\nf :src TAGMSG #a");
    assert.deepEqual(m.tags, {
      label: "abc",
      "+draft/reply": "01x",
      "+typing": "active",
      flag: "",
      esc: "a b;c\\d\re\nf",
    });
    assert.equal(m.source, "src");
    assert.equal(m.command, "TAGMSG");
  });

  it("drops malformed tag keys and keeps the last of repeated keys", () => {
    assert.deepEqual(parseTags("a=1;a=2;bad key=1;=x;;ok"), { a: "2", ok: "" });
  });

  it("returns null for empty lines", () => {
    assert.equal(parseLine(""), null);
    assert.equal(parseLine("   "), null);
    assert.equal(parseLine("\r"), null);
  });

  it("rejects a line without a command", () => {
    const e = parseLine("@a=b :source");
    assert.ok(e instanceof ParseError);
    assert.equal(e.code, "NO_COMMAND");
  });

  it("limits the body to 512 bytes including CR LF, in bytes not characters", () => {
    const head = "PRIVMSG #a :";
    assert.ok(!(parseLine(head + "x".repeat(510 - head.length)) instanceof ParseError));
    const over = parseLine(head + "x".repeat(511 - head.length));
    assert.ok(over instanceof ParseError);
    assert.equal(over.code, "INPUT_TOO_LONG");
    assert.equal(over.command, "PRIVMSG");
    // 170 three-byte characters are 510 bytes; one more is over.
    assert.ok(!(parseLine(`${head}${"é".repeat(Math.floor((510 - head.length) / 2))}`) instanceof ParseError));
    assert.ok(parseLine(`${head}${"語".repeat(170)}`) instanceof ParseError);
  });

  it("limits tags to 8191 bytes separately from the body", () => {
    const tags = `@+x=${"a".repeat(8191 - 5)}`; // "@+x=" + value + " " = 8191
    assert.equal(Buffer.byteLength(`${tags} `), 8191);
    const ok = parseLine(`${tags} PRIVMSG #a :${"b".repeat(400)}`);
    assert.ok(!(ok instanceof ParseError) && ok !== null);
    const over = parseLine(`${tags}a PRIVMSG #a :hi`);
    assert.ok(over instanceof ParseError);
    assert.equal(over.code, "TAGS_TOO_LONG");
  });

  it("rejects invalid UTF-8 and forbidden characters", () => {
    const bad = parseLine(Buffer.from([0x50, 0x52, 0x49, 0x56, 0x4d, 0x53, 0x47, 0x20, 0x23, 0x61, 0x20, 0xff, 0xfe]));
    assert.ok(bad instanceof ParseError);
    assert.equal(bad.code, "INVALID_UTF8");
    const nul = parseLine("PRIVMSG #a :a\0b");
    assert.ok(nul instanceof ParseError);
    assert.equal(nul.code, "FORBIDDEN_CHAR");
  });

  it("accepts bytes and strings alike", () => {
    assert.deepEqual(parsed(Buffer.from("PRIVMSG #ü :grüße\r")), parsed("PRIVMSG #ü :grüße"));
  });
});

describe("serialize", () => {
  it("writes tags, source, command and params, making the last trailing when needed", () => {
    assert.equal(
      serialize({
        tags: { time: "2024-01-01T00:00:00.000Z", msgid: "x" },
        source: "a!a@h",
        command: "PRIVMSG",
        params: ["#c", "hi there"],
      }),
      "@time=2024-01-01T00:00:00.000Z;msgid=x :a!a@h PRIVMSG #c :hi there",
    );
    assert.equal(serialize({ tags: {}, source: null, command: "PING", params: ["x"] }), "PING x");
    assert.equal(serialize({ tags: {}, source: null, command: "TOPIC", params: ["#c", ""] }), "TOPIC #c :");
    assert.equal(serialize({ tags: {}, source: null, command: "PRIVMSG", params: ["#c", ":)"] }), "PRIVMSG #c ::)");
    assert.equal(serialize({ tags: { flag: "" }, source: null, command: "CAP", params: [] }), "@flag CAP");
  });

  it("escapes tag values", () => {
    assert.equal(escapeTagValue("a b;c\\d\r\n"), "a\\sb\\:c\\\\d\\r\\n");
    assert.equal(unescapeTagValue(escapeTagValue("a b;c\\d\r\n")), "a b;c\\d\r\n");
    assert.equal(unescapeTagValue("a\\"), "a");
    assert.equal(unescapeTagValue("\\x"), "x");
  });

  it("never emits a line break or NUL, whatever the input", () => {
    const line = serialize({
      tags: { k: "v\r\n" },
      source: "evil\r\nQUIT",
      command: "PRIVMSG",
      params: ["#c\nx", "text\r\nQUIT :bye\0"],
    });
    assert.doesNotMatch(line, /[\r\n\0]/);
  });

  it("repairs middle parameters that cannot be sent", () => {
    assert.equal(serialize({ tags: {}, source: null, command: "X", params: ["", "a b", ":c", "last"] }), "X * a_b _c last");
  });
});

describe("splitUtf8 / truncateUtf8", () => {
  it("splits at spaces within the byte limit and joins back to the text", () => {
    const text = "the quick brown fox jumps over the lazy dog";
    const parts = splitUtf8(text, 12);
    assert.equal(parts.join(""), text);
    for (const p of parts) assert.ok(Buffer.byteLength(p) <= 12);
    assert.equal(parts[0], "the quick ");
  });

  it("never cuts a character in two", () => {
    const text = "語".repeat(10) + "😀".repeat(5);
    for (const p of splitUtf8(text, 7)) {
      assert.ok(Buffer.byteLength(p) <= 7);
      assert.ok(!p.includes("\uFFFD"));
    }
    assert.equal(splitUtf8(text, 7).join(""), text);
    assert.equal(truncateUtf8("a語b", 3), "a");
    assert.equal(truncateUtf8("a語b", 4), "a語");
  });
});

// ---- properties ----

const tagKey = fc
  .tuple(
    fc.boolean(),
    fc.option(fc.stringMatching(/^[a-z0-9.-]{1,10}$/), { nil: undefined }),
    fc.stringMatching(/^[A-Za-z0-9-]{1,12}$/),
  )
  .map(([client, vendor, name]) => `${client ? "+" : ""}${vendor ? `${vendor}/` : ""}${name}`);
const tagValue = fc.string({ maxLength: 20, unit: "grapheme" });
const noSpace = fc.string({ minLength: 1, maxLength: 15, unit: "grapheme" }).filter((s) => !/[ \0\r\n]/.test(s));
const middle = noSpace.filter((s) => !s.startsWith(":"));
const trailing = fc.string({ maxLength: 60, unit: "grapheme" }).map((s) => s.replace(/[\0\r\n]/g, ""));
const command = fc.oneof(fc.stringMatching(/^[A-Z]{1,10}$/), fc.stringMatching(/^\d{3}$/));

// fc.record builds null-prototype objects; the parser returns plain ones.
const message: fc.Arbitrary<IrcMessage> = fc
  .record({
    tags: fc.dictionary(tagKey, tagValue, { maxKeys: 5 }).map((t) => ({ ...t })),
    source: fc.option(noSpace, { nil: null }),
    command,
    params: fc
      .tuple(fc.array(middle, { maxLength: 6 }), fc.option(trailing, { nil: undefined }))
      .map(([mid, last]) => (last === undefined ? mid : [...mid, last])),
  })
  .map((m) => ({ tags: m.tags, source: m.source, command: m.command, params: m.params }));

describe("properties", () => {
  it("a command that starts like tags or a source is no command (it would not read back)", () => {
    for (const line of ["@ @", "@a=b @x", ": :x", ":src :x"]) {
      const m = parseLine(line);
      assert.ok(m instanceof ParseError, line);
      assert.equal(m.code, "NO_COMMAND", line);
    }
  });

  it("parse(serialize(m)) gives m back", () => {
    fc.assert(
      fc.property(message, (m) => {
        const line = serialize(m);
        const back = parseLine(line, { maxBodyBytes: 1_000_000, maxTagBytes: 1_000_000 });
        assert.deepEqual(back, m, line);
      }),
      { numRuns: 2000 },
    );
  });

  it("serialize is a fixed point after one parse", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        const m = parseLine(s, { maxBodyBytes: 1_000_000, maxTagBytes: 1_000_000 });
        if (m === null || m instanceof ParseError) return;
        const once = serialize(m);
        const again = parseLine(once, { maxBodyBytes: 1_000_000, maxTagBytes: 1_000_000 });
        assert.ok(again !== null && !(again instanceof ParseError));
        assert.equal(serialize(again), once);
      }),
      { numRuns: 2000 },
    );
  });

  it("never throws on random bytes, and what it accepts respects the limits", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 9000 }), (bytes) => {
        const r = parseLine(bytes);
        if (r === null || r instanceof ParseError) return;
        assert.equal(typeof r.command, "string");
        assert.ok(r.command.length > 0);
      }),
      { numRuns: 1000 },
    );
  });

  it("never throws on random text built from IRC-ish pieces", () => {
    const piece = fc.constantFrom("@", ":", " ", ";", "=", "\\", "\r", "PRIVMSG", "#a", "+x", "a", "é", "\0");
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 80 }), (parts) => {
        const r = parseLine(parts.join(""));
        assert.ok(r === null || r instanceof ParseError || typeof r.command === "string");
      }),
      { numRuns: 2000 },
    );
  });

  it("serialize never produces a line break for any parameter text", () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 5 }), fc.dictionary(tagKey, fc.string()), (params, tags) => {
        assert.doesNotMatch(serialize({ tags, source: null, command: "PRIVMSG", params }), /[\r\n\0]/);
      }),
    );
  });

  it("splitUtf8 pieces fit and join back", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 400 }), fc.integer({ min: 4, max: 100 }), (text, max) => {
        const parts = splitUtf8(text, max);
        assert.equal(parts.join(""), text);
        for (const p of parts) assert.ok(Buffer.byteLength(p) <= max);
      }),
    );
  });
});
