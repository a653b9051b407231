import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { IrcClient } from "./client.ts";
import { messageLines } from "./events.ts";
import { type IrcMessage, serialize } from "./message.ts";
import { ResponseBuffer, type Writer } from "./response.ts";

function writer(caps: string[]): Writer & { lines: string[] } {
  let n = 0;
  const lines: string[] = [];
  return {
    caps: new Set(caps),
    serverName: "srv",
    lines,
    write: (m) => lines.push(serialize(m)),
    nextBatchId: () => `b${++n}`,
  };
}

const reply = (text: string): IrcMessage => ({ tags: {}, source: "srv", command: "NOTICE", params: ["me", text] });

describe("ResponseBuffer", () => {
  it("without a label, writes the replies as they are, when flushed", () => {
    const w = writer(["batch"]);
    const rb = new ResponseBuffer(w, null);
    rb.add(reply("a"));
    assert.deepEqual(w.lines, []);
    rb.flush();
    assert.deepEqual(w.lines, [":srv NOTICE me a"]);
  });

  it("labels one reply, ACKs none, and wraps several in a labeled-response batch", () => {
    const one = writer(["batch", "labeled-response"]);
    const rb1 = new ResponseBuffer(one, "x");
    rb1.add(reply("a"));
    rb1.flush();
    assert.deepEqual(one.lines, ["@label=x :srv NOTICE me a"]);

    const none = writer(["batch", "labeled-response"]);
    new ResponseBuffer(none, "y").flush();
    assert.deepEqual(none.lines, ["@label=y :srv ACK"]);

    const many = writer(["batch", "labeled-response"]);
    const rb = new ResponseBuffer(many, "z");
    rb.add(reply("a"));
    rb.add(reply("b"));
    rb.flush();
    assert.deepEqual(many.lines, [
      "@label=z :srv BATCH +b1 labeled-response",
      "@batch=b1 :srv NOTICE me a",
      "@batch=b1 :srv NOTICE me b",
      ":srv BATCH -b1",
    ]);
  });

  it("a reply that is one batch takes the label on its start; nested batches keep their own refs", () => {
    const w = writer(["batch", "labeled-response"]);
    const rb = new ResponseBuffer(w, "h");
    rb.batch("chathistory", ["#c"], [reply("a")]);
    rb.flush();
    assert.deepEqual(w.lines, ["@label=h :srv BATCH +b1 chathistory #c", "@batch=b1 :srv NOTICE me a", ":srv BATCH -b1"]);

    const n = writer(["batch", "labeled-response"]);
    const rb2 = new ResponseBuffer(n, "n");
    rb2.add(reply("first"));
    rb2.batch("chathistory", ["#c"], [reply("a")]);
    rb2.flush();
    assert.deepEqual(n.lines, [
      "@label=n :srv BATCH +b2 labeled-response",
      "@batch=b2 :srv NOTICE me first",
      "@batch=b2 :srv BATCH +b1 chathistory #c",
      "@batch=b1 :srv NOTICE me a",
      "@batch=b2 :srv BATCH -b1",
      ":srv BATCH -b2",
    ]);
  });

  it("relabel moves the label (BATCH + answers later, BATCH - answers)", () => {
    const w = writer(["batch", "labeled-response"]);
    const rb = new ResponseBuffer(w, "x");
    rb.relabel(null);
    rb.flush();
    assert.deepEqual(w.lines, []);
  });

  it("without batch, several replies are written with the label on the first", () => {
    const w = writer(["labeled-response"]);
    const rb = new ResponseBuffer(w, "x");
    rb.add(reply("a"));
    rb.add(reply("b"));
    rb.flush();
    assert.deepEqual(w.lines, ["@label=x :srv NOTICE me a", ":srv NOTICE me b"]);
  });
});

describe("messageLines", () => {
  const client = (caps: string[]) => writer(caps) as unknown as IrcClient;
  const msg = { command: "PRIVMSG" as const, source: "ana!ana@parley", target: "#c", tags: { msgid: "m1", time: "t" } };

  it("one line for a short body; /me is a CTCP ACTION", () => {
    assert.deepEqual(messageLines(client([]), { ...msg, body: "hi" }).map(serialize), [
      "@msgid=m1;time=t :ana!ana@parley PRIVMSG #c hi",
    ]);
    assert.deepEqual(messageLines(client([]), { ...msg, body: "/me waves" })[0]!.params[1], "\x01ACTION waves\x01");
  });

  it("several lines: a multiline batch with the tags on its start, or separate lines with the msgid on the first", () => {
    const batch = messageLines(client(["batch", "draft/multiline"]), { ...msg, body: "a\nb" }).map(serialize);
    assert.deepEqual(batch, [
      "@msgid=m1;time=t :srv BATCH +b1 draft/multiline #c",
      "@batch=b1 :ana!ana@parley PRIVMSG #c a",
      "@batch=b1 :ana!ana@parley PRIVMSG #c b",
      ":srv BATCH -b1",
    ]);
    const plain = messageLines(client([]), { ...msg, body: "a\n\nb" }).map(serialize);
    assert.deepEqual(plain, ["@msgid=m1;time=t :ana!ana@parley PRIVMSG #c a", "@time=t :ana!ana@parley PRIVMSG #c b"]);
  });

  it("a long line is split to fit 512 bytes; in a multiline batch the pieces are concatenated", () => {
    const body = "é".repeat(600);
    const plain = messageLines(client([]), { ...msg, tags: {}, body });
    assert.ok(plain.length >= 3);
    for (const m of plain) assert.ok(Buffer.byteLength(serialize(m)) + 2 <= 512);
    assert.equal(plain.map((m) => m.params[1]).join(""), body);
    const ml = messageLines(client(["batch", "draft/multiline"]), { ...msg, tags: {}, body });
    const inner = ml.slice(1, -1);
    assert.equal(inner[0]!.tags["draft/multiline-concat"], undefined);
    assert.ok(inner.slice(1).every((m) => m.tags["draft/multiline-concat"] === ""));
  });
});
