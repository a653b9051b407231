import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { emptyChannel } from "../../../test/helpers/irc-channel.ts";
import type { RoomEvent } from "../../core/types.ts";
import { defaultFlushPolicy } from "../flush.ts";
import { type Channel, IrcClient } from "./client.ts";
import { renderChannelEvent } from "./events.ts";
import { contentPlace, currentRun, encodedContent, LINE_CAPS, lineVariant } from "./fanout.ts";
import { encodeLine, type IrcMessage, parseLine } from "./message.ts";
import { defaultIrcOptions, type IrcOptions } from "./options.ts";
import { ResponseBuffer } from "./response.ts";
import type { IrcGateway } from "./server.ts";

/** A socket that keeps every write it is asked to do (one entry per writev). */
class FakeSocket extends Writable {
  readonly remoteAddress = "127.0.0.1";
  readonly writes: Buffer[][] = [];
  stalled = false;

  setNoDelay(): this {
    return this;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.writes.push([chunk]);
    if (!this.stalled) cb();
  }

  override _writev(chunks: { chunk: Buffer }[], cb: () => void): void {
    this.writes.push(chunks.map((c) => c.chunk));
    if (!this.stalled) cb();
  }

  text(): string {
    return Buffer.concat(this.writes.flat()).toString("utf8");
  }
}

let batches = 0;
const disconnects: string[] = [];
const gateway = (opts: Partial<IrcOptions> = {}): IrcGateway =>
  ({
    opts: { ...defaultIrcOptions, ...opts },
    metrics: { disconnects: { inc: (l: { reason: string }) => disconnects.push(l.reason) } },
    // "mei" is a registered account, "gus" a guest.
    isGuest: (id: string) => id !== "a-mei",
    nextBatchId: () => `b${++batches}`,
  }) as unknown as IrcGateway;

function client(caps: readonly string[], gw = gateway()): { c: IrcClient; socket: FakeSocket } {
  const socket = new FakeSocket();
  const c = new IrcClient(gw, socket as unknown as Socket, false);
  for (const cap of caps) c.caps.add(cap);
  c.nick = "ana";
  c.account = { id: "a-ana", name: "ana" } as IrcClient["account"];
  c.registered = true;
  return { c, socket };
}

/**
 * Waits until the shared scheduler has flushed what this turn queued: at the end of the turn on
 * an idle process, up to `maxDelayMs` later when the test process itself was busy (flush.ts
 * spaces flushes by load), which would make a one-turn wait flaky on a loaded machine.
 */
const flushed = () => new Promise((resolve) => setTimeout(resolve, defaultFlushPolicy.maxDelayMs + 20));

const AT = Date.UTC(2026, 10, 27, 8, 0, 0, 123);
const base = { roomId: "r1", seq: 7, at: AT };

type MessageEvent = Extract<RoomEvent, { type: "message" }>;

function message(body: string, author = "mei", replyTo: string | null = null): MessageEvent {
  return {
    ...base,
    type: "message",
    actorId: `a-${author}`,
    actor: author,
    message: {
      id: "m1",
      roomId: "r1",
      seq: 7,
      authorId: `a-${author}`,
      author,
      clientId: "web-1",
      body,
      replyTo,
      createdAt: AT,
      editedAt: null,
      deleted: false,
      reactions: {},
    },
  };
}

const EVENTS: [string, RoomEvent][] = [
  ["a message", message("hello there")],
  ["a guest's message", message("hi", "gus")],
  ["a reply", message("yes", "mei", "m0")],
  ["an action", message("/me waves")],
  ["several lines", message("one\ntwo\n\nthree")],
  ["an action over 512 bytes", message(`/me ${"é".repeat(400)}`)],
  ["a line over 512 bytes", message("word ".repeat(150))],
  ["an edit", { ...base, type: "edit", actorId: "a-mei", actor: "mei", messageId: "m0", body: "fixed" }],
  ["a deletion", { ...base, type: "delete", actorId: "a-mei", actor: "mei", messageId: "m0" }],
  ["a reaction", { ...base, type: "react", actorId: "a-gus", actor: "gus", messageId: "m0", emoji: "👍", on: true }],
];

/** Every subset of the capabilities that change a line. */
function capSets(): string[][] {
  const sets: string[][] = [];
  for (let v = 0; v < 1 << LINE_CAPS.length; v++) sets.push(LINE_CAPS.filter((_, i) => v & (1 << i)));
  return sets;
}

/** What the per-recipient encoder writes for this client: each line rendered and encoded for it. */
function perRecipient(c: IrcClient, e: RoomEvent): string {
  let text = "";
  const sink = {
    add: (m: IrcMessage) => {
      text += encodeLine(m);
    },
    batch: () => assert.fail("content is never a sink batch"),
  };
  renderChannelEvent(c, emptyChannel(), e, sink);
  return text;
}

describe("IRC fan-out: channel content encoded once per capability set", () => {
  it("each variant is byte-identical to the per-recipient encoding", () => {
    for (const [what, e] of EVENTS) {
      for (const caps of capSets()) {
        const { c } = client(caps);
        batches = 0;
        const expected = perRecipient(c, e);
        batches = 0;
        const got = encodedContent(c, e, "lobby").toString("utf8");
        assert.equal(got, expected, `${what} with [${caps.join(" ")}]`);
      }
    }
  });

  it("writes the lines a client expects (anchors for the comparison above)", () => {
    const e = message("hello there");
    assert.equal(encodedContent(client([]).c, e, "lobby").toString(), ":mei!mei@parley PRIVMSG #lobby :hello there\r\n");
    assert.equal(
      encodedContent(client(["server-time", "message-tags", "account-tag"]).c, e, "lobby").toString(),
      "@time=2026-11-27T08:00:00.123Z;msgid=m1;account=mei :mei!mei@parley PRIVMSG #lobby :hello there\r\n",
    );
    const guest = message("hi", "gus");
    assert.equal(encodedContent(client(["account-tag"]).c, guest, "lobby").toString(), ":gus!gus@parley PRIVMSG #lobby hi\r\n");
    const del = EVENTS.find(([w]) => w === "a deletion")![1];
    assert.equal(encodedContent(client([]).c, del, "lobby").length, 0);
  });

  it("clients with the same capabilities get the same Buffer; others their own", () => {
    const e = message("shared");
    const a = encodedContent(client(["server-time"]).c, e, "lobby");
    const b = encodedContent(client(["server-time", "echo-message", "sasl"]).c, e, "lobby");
    const plain = encodedContent(client([]).c, e, "lobby");
    assert.equal(a, b);
    assert.notEqual(a, plain);
    assert.equal(lineVariant(new Set(["server-time", "echo-message"])), lineVariant(new Set(["server-time"])));
  });

  it("a new event, or the next turn, is encoded afresh", async () => {
    const { c } = client([]);
    const first = encodedContent(c, message("one"), "lobby");
    assert.equal(first.toString(), ":mei!mei@parley PRIVMSG #lobby one\r\n");
    const e = message("two");
    const before = encodedContent(c, e, "lobby");
    await new Promise((resolve) => setImmediate(resolve));
    const after = encodedContent(c, e, "lobby");
    assert.notEqual(after, before);
    assert.deepEqual(after, before);
  });

  it("a later turn's first event takes the next place of the open run (a stretch held across turns stays contiguous)", async () => {
    const { c } = client([]);
    encodedContent(c, { ...message("one"), seq: 40 }, "lobby");
    const first = contentPlace();
    await new Promise((resolve) => setImmediate(resolve));
    encodedContent(c, { ...message("three"), seq: 42 }, "lobby");
    const next = contentPlace();
    assert.equal(next.run, first.run, "no flush in between: the same run");
    assert.equal(next.at, first.at + 1, "no places kept for the last turn's events");
  });
});

type TestClient = ReturnType<typeof client>;

/** Every client wrote once, and clients with the same capabilities the same Buffer: the plain one and the timed one. */
function sharedWrites(all: TestClient[], plain: TestClient[], timed: TestClient[]): [Buffer, Buffer] {
  for (const { socket } of all) assert.equal(socket.writes.length, 1, "one write each");
  const [a, b] = plain.map(({ socket }) => socket.writes[0]![0]!);
  const [t1, t2] = timed.map(({ socket }) => socket.writes[0]![0]!);
  assert.equal(a, b, "the same Buffer object for the same capabilities");
  assert.equal(t1, t2);
  return [a!, t1!];
}

describe("IRC delivery: one write per client per turn, and slow consumers", () => {
  it("delivers an event's Buffer to every member, one socket write per client per turn, no echo to the sender", async () => {
    const members = [client([]), client([]), client(["server-time"])];
    const sender = client([]);
    for (const { c } of [...members, sender]) c.channels.set(emptyChannel());
    const events = [message("first"), message("second")];
    const own = message("mine");
    own.message.clientId = `${sender.c.clientPrefix}1`;
    for (const e of [...events, own]) for (const { c } of [...members, sender]) c.roomEvents([e]);
    assert.equal(members[0]!.socket.writes.length, 0, "nothing leaves before the turn ends");
    await flushed();
    for (const { socket } of members)
      assert.deepEqual(
        socket.writes.map((w) => w.length),
        [1],
        "one Buffer in one write",
      );
    assert.equal(
      members[0]!.socket.text(),
      ":mei!mei@parley PRIVMSG #lobby first\r\n:mei!mei@parley PRIVMSG #lobby second\r\n:mei!mei@parley PRIVMSG #lobby mine\r\n",
    );
    assert.match(members[2]!.socket.text(), /^@time=2026-11-27T08:00:00\.123Z :mei!mei@parley PRIVMSG #lobby first\r\n/);
    assert.equal(sender.socket.text(), ":mei!mei@parley PRIVMSG #lobby first\r\n:mei!mei@parley PRIVMSG #lobby second\r\n");
  });

  it("a turn with one event writes the Buffer shared by every client with the same capabilities", async () => {
    const members = [client([]), client([]), client(["server-time"])];
    for (const { c } of members) c.channels.set(emptyChannel());
    const e = message("only");
    for (const { c } of members) c.roomEvents([e]);
    await flushed();
    const [a, b, timed] = members.map(({ socket }) => socket.writes[0]![0]!);
    assert.equal(a, b, "the same Buffer object");
    assert.notEqual(a, timed);
    assert.equal(a!.toString(), ":mei!mei@parley PRIVMSG #lobby only\r\n");
  });

  it("several events in a flush: one joined Buffer for every client holding only them, the others their own", async () => {
    const plain = [client([]), client([])];
    const timed = [client(["server-time"]), client(["server-time"])];
    const noticed = client([]);
    const sender = client([]);
    const all = [...plain, ...timed, noticed, sender];
    for (const { c } of all) c.channels.set(emptyChannel());
    const own = message("mine");
    own.message.clientId = `${sender.c.clientPrefix}1`;
    const events = [message("one"), message("two"), own, message("three")];
    for (const [i, e] of events.entries()) {
      for (const { c } of all) c.roomEvents([e]);
      if (i === 1) noticed.c.direct.add(noticed.c.numeric("NOTICE", "between"));
    }
    await flushed();
    const [a, t1] = sharedWrites(all, plain, timed);
    const line = (body: string) => `:mei!mei@parley PRIVMSG #lobby ${body}\r\n`;
    assert.equal(a!.toString(), line("one") + line("two") + line("mine") + line("three"));
    assert.match(t1!.toString(), /^@time=2026-11-27T08:00:00\.123Z :mei!mei@parley PRIVMSG #lobby one\r\n/);
    assert.equal(t1!.toString().split("\r\n").length, 5);
    assert.equal(
      noticed.socket.text(),
      [line("one"), line("two"), ":parley.local NOTICE ana between\r\n", line("mine"), line("three")].join(""),
    );
    assert.equal(sender.socket.text(), line("one") + line("two") + line("three"), "no echo to the sender");
  });

  it("a commit's run handed to every member in one call: one joined Buffer per capability set, no echo to the sender", async () => {
    const plain = [client([]), client([])];
    const timed = [client(["server-time"]), client(["server-time"])];
    const sender = client([]);
    const all = [...plain, ...timed, sender];
    for (const { c } of all) c.channels.set(emptyChannel());
    const own = message("mine");
    own.message.clientId = `${sender.c.clientPrefix}1`;
    // As the hub hands them over: one room's consecutive events, the same array for everyone.
    const run = [message("one"), own, message("two")].map((e, i) => ({ ...e, seq: 20 + i }));
    for (const { c } of all) c.roomEvents(run);
    await flushed();
    const [a, t1] = sharedWrites(all, plain, timed);
    const line = (body: string) => `:mei!mei@parley PRIVMSG #lobby ${body}\r\n`;
    assert.equal(a!.toString(), line("one") + line("mine") + line("two"));
    assert.equal(t1!.toString().split("\r\n").length, 4);
    assert.equal(sender.socket.text(), line("one") + line("two"), "no echo to the sender");
  });

  it("a sender that takes a run first, its own message first in it, leaves no hole in the run's places", async () => {
    const sender = client([]);
    const member = client([]);
    for (const { c } of [sender, member]) c.channels.set(emptyChannel());
    const own = message("mine");
    own.message.clientId = `${sender.c.clientPrefix}1`;
    const run = [own, message("two")].map((e, i) => ({ ...e, seq: 50 + i }));
    sender.c.roomEvents(run);
    const senders = contentPlace();
    member.c.roomEvents(run);
    encodedContent(member.c, run[1]!, "lobby");
    assert.equal(contentPlace(), senders, "the member's stretch holds the place the sender's message took");
    await flushed();
    assert.equal(member.socket.text(), ":mei!mei@parley PRIVMSG #lobby mine\r\n:mei!mei@parley PRIVMSG #lobby two\r\n");
  });

  it("a run with an event that is not content is taken event by event, in order", async () => {
    const { c, socket } = client([]);
    c.channels.set(emptyChannel());
    const topic: RoomEvent = { ...base, seq: 31, type: "topic", actorId: "a-mei", actor: "mei", topic: "news" };
    const run = [{ ...message("one"), seq: 30 }, topic, { ...message("two"), seq: 32 }];
    c.roomEvents(run);
    await flushed();
    assert.equal(
      socket.text(),
      ":mei!mei@parley PRIVMSG #lobby one\r\n:mei!mei@parley TOPIC #lobby news\r\n:mei!mei@parley PRIVMSG #lobby two\r\n",
    );
  });

  it("any client's flush ends the run, so it does not grow when no client holds a stretch of it", async () => {
    const { c, socket } = client([]);
    c.channels.set(emptyChannel());
    c.direct.add(c.numeric("NOTICE", "first")); // queued before: the event is this client's own output
    c.roomEvents([message("one")]);
    const run = currentRun();
    await flushed();
    c.direct.add(c.numeric("NOTICE", "second"));
    c.roomEvents([message("two")]);
    assert.notEqual(currentRun(), run, "a new run");
    assert.equal(currentRun().events.length, 1);
    await flushed();
    assert.equal(
      socket.text(),
      ":parley.local NOTICE ana first\r\n:mei!mei@parley PRIVMSG #lobby one\r\n:parley.local NOTICE ana second\r\n:mei!mei@parley PRIVMSG #lobby two\r\n",
    );
  });

  it("a client whose capabilities change between two events gets each event as its capabilities were", async () => {
    const { c, socket } = client([]);
    c.channels.set(emptyChannel());
    c.roomEvents([message("one")]);
    c.caps.add("server-time");
    c.roomEvents([message("two")]);
    await flushed();
    assert.equal(
      socket.text(),
      ":mei!mei@parley PRIVMSG #lobby one\r\n@time=2026-11-27T08:00:00.123Z :mei!mei@parley PRIVMSG #lobby two\r\n",
    );
  });

  it("lines written by commands and events in one turn leave in order, in one write", async () => {
    const { c, socket } = client([]);
    c.channels.set(emptyChannel());
    c.direct.add(c.numeric("NOTICE", "before"));
    c.roomEvents([message("between")]);
    c.direct.add(c.numeric("NOTICE", "after"));
    assert.equal(socket.writes.length, 0);
    await flushed();
    assert.equal(socket.writes.length, 1);
    assert.equal(
      socket.text(),
      ":parley.local NOTICE ana before\r\n:mei!mei@parley PRIVMSG #lobby between\r\n:parley.local NOTICE ana after\r\n",
    );
  });

  it("a client's queued lines past ~16 KB are written at once, in order, not held for the next flush", async () => {
    const { c, socket } = client([]);
    c.channels.set(emptyChannel());
    const long = "n".repeat(400);
    c.roomEvents([message("first")]);
    for (let i = 0; i < 40; i++) c.direct.add(c.numeric("353", "=", "#lobby", `${i} ${long}`));
    assert.equal(socket.writes.length, 1, "written in the turn that queued them (a JOIN burst's NAMES)");
    c.direct.add(c.numeric("366", "#lobby", "End of /NAMES list"));
    assert.equal(socket.writes.length, 1, "a short queue waits for the flush");
    await flushed();
    assert.equal(socket.writes.length, 2);
    const lines = socket.text().split("\r\n");
    assert.equal(lines[0], ":mei!mei@parley PRIVMSG #lobby first");
    assert.deepEqual(
      lines.slice(1, 41).map((l) => l.split(" ")[5]),
      Array.from({ length: 40 }, (_, i) => `:${i}`),
    );
    assert.equal(lines[41], ":parley.local 366 ana #lobby :End of /NAMES list");
  });

  it("a direct NAMES burst is the lines a command's NAMES gets, in order", async () => {
    const gw = { ...gateway(), rooms: { get: () => undefined } } as unknown as IrcGateway;
    const members = new Map(
      Array.from({ length: 300 }, (_, i) => [`a${i}`, { accountId: `a${i}`, name: `nick${i}`, role: "member", muted: false }]),
    );
    const ch = { ...emptyChannel(), members } as Channel;
    const direct = client([], gw);
    const command = client([], gw);
    direct.c.names(ch, direct.c.direct);
    const rb = new ResponseBuffer(command.c, null);
    command.c.names(ch, rb);
    rb.flush();
    direct.c.flush();
    command.c.flush();
    const lines = (s: FakeSocket) =>
      s
        .text()
        .split("\r\n")
        .filter((l) => l !== "")
        .map((l) => parseLine(l) as IrcMessage);
    const got = lines(direct.socket);
    assert.ok(got.length > 3, "several RPL_NAMREPLY lines");
    assert.deepEqual(got, lines(command.socket));
    assert.ok(
      direct.socket
        .text()
        .split("\r\n")
        .every((l) => Buffer.byteLength(l) <= 510),
    );
    assert.equal(got.flatMap((m) => (m.command === "353" ? m.params[3]!.split(" ") : [])).length, 300);
  });

  it("drops a client that stops reading once its unsent output passes maxBufferedBytes", async () => {
    const { c, socket } = client([], gateway({ maxBufferedBytes: 2000 }));
    socket.stalled = true;
    c.channels.set(emptyChannel());
    disconnects.length = 0;
    for (let i = 0; i < 200 && !socket.destroyed; i++) {
      c.roomEvents([message(`message number ${i} ${"x".repeat(40)}`)]);
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(socket.destroyed, true);
    assert.deepEqual(disconnects, ["slow_consumer"]);
    assert.ok(socket.writableLength <= 2000 + 100, `buffered ${socket.writableLength}`);
  });

  it("a replay's backpressure sees queued output: ready() writes it and waits for the reader", async () => {
    const { c, socket } = client([], gateway({ maxBufferedBytes: 4000 }));
    socket.stalled = true;
    c.channels.set(emptyChannel());
    for (let i = 0; i < 30; i++) c.roomEvents([message(`replayed ${i} ${"x".repeat(40)}`)]);
    let ready = false;
    void c.ready().then(() => {
      ready = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(socket.writes.length, 1, "written at once, in one write");
    assert.equal(ready, false, "waits until the reader drains it");
  });

  /** Two clients in #lobby, the first one's socket taking 10 ms per write (a flush to many sockets). */
  function slowAndOther() {
    const slow = client([]);
    const other = client([]);
    for (const { c } of [slow, other]) c.channels.set(emptyChannel());
    const write = slow.socket._write.bind(slow.socket);
    slow.socket._write = (chunk, enc, cb) => {
      spin(10);
      write(chunk, enc, cb);
    };
    return { slow, other };
  }

  it("on a busy server, after a long flush, output waits a few times that long and then leaves together", async () => {
    const { slow, other } = slowAndOther();
    // A flush samples the load (flush.ts spaces by it); then the event loop works without a break.
    const primer = client([]);
    primer.c.channels.set(emptyChannel());
    primer.c.roomEvents([message("zero")]);
    await new Promise((resolve) => setImmediate(resolve));
    spin(600);
    slow.c.roomEvents([message("one")]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(slow.socket.writes.length, 1, "the first output leaves at the end of its turn");
    other.c.roomEvents([message("two")]);
    other.c.roomEvents([message("three")]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(other.socket.writes.length, 0, "held back for the spacing");
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(
      other.socket.writes.map((w) => w.length),
      [1],
      "then one write",
    );
    assert.equal(other.socket.text(), ":mei!mei@parley PRIVMSG #lobby two\r\n:mei!mei@parley PRIVMSG #lobby three\r\n");
    // Short flushes are not spaced: the next output leaves at the end of its turn again.
    await new Promise((resolve) => setTimeout(resolve, 60));
    other.c.roomEvents([message("four")]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(other.socket.writes.length, 2);
  });

  it("on a mostly idle server, output after a long flush leaves at the end of its turn", async () => {
    const { slow, other } = slowAndOther();
    await new Promise((resolve) => setTimeout(resolve, 600)); // idle
    slow.c.roomEvents([message("one")]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(slow.socket.writes.length, 1);
    other.c.roomEvents([message("two")]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(other.socket.writes.length, 1, "not held back");
  });
});

/** Keeps the thread busy for `ms` milliseconds. */
function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}
