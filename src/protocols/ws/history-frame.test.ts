// The history reply encoded straight into its frame is byte for byte the generic encoding.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { HistoryPage, Message } from "../../core/types.ts";
import { textFrame } from "./frame.ts";
import { historyReplyFrame } from "./history-frame.ts";
import { decodeServerFrame, messageToWire, type RequestIdValue, type WireServerFrame } from "./wire.ts";

/** How every other `ok` reply is encoded, and how the history reply was before. */
const generic = (id: RequestIdValue | undefined, page: HistoryPage) =>
  textFrame(
    JSON.stringify({ type: "ok", id, result: { messages: page.messages.map((m) => messageToWire(m)), more: page.more } }),
  );

const base: Message = {
  id: "01m8e9n16h68t7r3pe8h",
  roomId: "01m8ejam5wjp20rsy7k1",
  seq: 903830,
  authorId: "01m8ejam5wea4x2dw9ze",
  author: "history-bench-author0",
  clientId: null,
  body: "#903828#xxxxxxxx",
  replyTo: null,
  createdAt: 1795776218321,
  editedAt: null,
  deleted: false,
  reactions: {},
};

const variants: Message[] = [
  base,
  { ...base, clientId: "c-1", replyTo: "01m8e9n16h68t7r3pe8g", editedAt: 1795776219000 },
  { ...base, body: "", deleted: true },
  { ...base, reactions: { "👍": ["ann", "bob"], "+1": ["zoë"] } },
  { ...base, body: 'say "hi"', author: "back\\slash" },
  { ...base, body: "unit\u001fseparator" },
  { ...base, body: 'quote " backslash \\ slash / tab \t newline \n nul \u0000 del \u007f' },
  { ...base, body: "héllo wörld, 日本語, emoji 🎉, line sep \u2028 para sep \u2029" },
  { ...base, body: "lone surrogates \ud800 and \udfff, pair \ud83d\ude00" },
  { ...base, author: 'name with "quotes" and ünïcode', authorId: "a\\b" },
  { ...base, seq: 0, createdAt: 0, editedAt: 9 },
  { ...base, seq: 2 ** 31, createdAt: 100_000_000, editedAt: 100_000_001 },
  { ...base, seq: 99_999_999, createdAt: 2 ** 53 - 1, editedAt: 1_000_000_000_007 },
  // Not produced by the stores, but still encoded as JSON.stringify would.
  { ...base, seq: -1, createdAt: 1.5, editedAt: 2 ** 53 + 2 },
];

describe("history reply frame", () => {
  it("is the generic encoding's bytes, for every kind of message, id and `more`", () => {
    for (const id of [1, 0, 12345678901, "req-7", 'q"uote', "ü", undefined] as (RequestIdValue | undefined)[]) {
      for (const more of [true, false]) {
        for (const messages of [[], [base], variants]) {
          const page = { messages, more };
          assert.deepEqual(
            historyReplyFrame(id, page),
            generic(id, page),
            `id ${String(id)}, more ${more}, ${messages.length} messages`,
          );
        }
      }
    }
  });

  it("is the generic encoding's bytes for pages longer than its scratch buffer and than 65,535 bytes", () => {
    const long = { ...base, body: "x".repeat(4000) };
    for (const n of [16, 17, 40]) {
      const page = { messages: Array.from({ length: n }, (_, i) => ({ ...long, seq: i })), more: true };
      assert.deepEqual(historyReplyFrame(1, page), generic(1, page));
    }
  });

  it("is the generic encoding's bytes when room ids, author ids and names repeat, escaped or not", () => {
    const ann = { ...base, authorId: "ann-id", author: "ann" };
    const quoted = { ...base, authorId: 'q"id', author: 'back\\slash "q"', roomId: "r\\oom" };
    const messages = [ann, ann, quoted, quoted, { ...ann, body: "x".repeat(70_000) }, ann, quoted, ann];
    for (const page of [
      { messages, more: true },
      { messages: messages.slice(2), more: false },
    ]) {
      assert.deepEqual(historyReplyFrame(7, page), generic(7, page));
    }
  });

  it("writes a string repeated from the previous reply again, not from where that reply had it", () => {
    historyReplyFrame(1234567, { messages: [base], more: false });
    const page = { messages: [base, base], more: false };
    assert.deepEqual(historyReplyFrame(1, page), generic(1, page));
  });

  it("reuses a frozen page's bytes only for the same frozen messages", () => {
    const frozen = variants.map((m) => Object.freeze({ ...m, reactions: Object.freeze({ ...m.reactions }) }));
    const pages = [
      { messages: frozen, more: true },
      { messages: frozen.slice(), more: false },
      { messages: frozen.slice(1), more: true },
      { messages: [...frozen.slice(0, -1), Object.freeze({ ...frozen.at(-1)!, body: "other" })], more: true },
      { messages: frozen.slice(), more: true },
    ];
    for (const [i, page] of pages.entries()) assert.deepEqual(historyReplyFrame(i, page), generic(i, page), `page ${i}`);
    // Messages that can still change are encoded every time, even when they are the same objects.
    const open = variants.map((m) => ({ ...m, reactions: { ...m.reactions } }));
    const unfrozenReactions = variants.map((m) => Object.freeze({ ...m, reactions: { ...m.reactions } }));
    const unfrozenNames = variants.map((m) =>
      Object.freeze({
        ...m,
        reactions: Object.freeze(Object.fromEntries(Object.entries(m.reactions).map(([e, n]) => [e, [...n]]))),
      }),
    );
    for (const list of [open, unfrozenReactions, unfrozenNames]) {
      historyReplyFrame(1, { messages: list, more: true });
      if (list === open) open[0]!.body = "edited";
      if (list === unfrozenNames) list.find((m) => Object.keys(m.reactions).length > 0)!.reactions["👍"]!.push("cy");
      else list[1]!.reactions.new = ["ann"];
      assert.deepEqual(historyReplyFrame(1, { messages: list, more: true }), generic(1, { messages: list, more: true }));
    }
  });

  it("gives each reply its own memory: a frame waiting to be sent is not overwritten by the next", () => {
    const first = historyReplyFrame(1, { messages: [base], more: false });
    const copy = Buffer.from(first);
    historyReplyFrame(2, { messages: variants, more: true });
    assert.deepEqual(first, copy);
  });

  it("decodes to the page it was made from", () => {
    const frame = historyReplyFrame("h", { messages: variants, more: true });
    const json = frame.subarray(frame[1] === 126 ? 4 : 2).toString("utf8");
    const decoded = decodeServerFrame(JSON.parse(json) as WireServerFrame);
    assert.deepEqual(decoded, { type: "ok", id: "h", result: { messages: variants, more: true } });
  });
});
