// Bad input on the WebSocket protocol: every class gets its documented error or close code, the
// connection stays usable where the protocol says so, and after each test the server still
// serves a well-behaved client.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { api, register, uniq } from "./helpers/http.ts";
import { LOOSE_LIMITS, sleep, startServer, type TestServer } from "./helpers/server.ts";
import { type Frame, WsClient } from "./helpers/ws-client.ts";

const CONNECTION_BURST = 5;
const ACCOUNT_BURST = 8;
const FLOOD_STRIKES = 10;

/** Tight message limits, so the rate-limit tests hit them quickly. */
let srv: TestServer;
/** A short hello timeout and session lifetime. */
let short: TestServer;
const SESSION_TTL = 1500;

before(async () => {
  [srv, short] = await Promise.all([
    startServer({
      config: {
        limits: {
          connectionMessages: { burst: CONNECTION_BURST, perSecond: 1 },
          accountMessages: { burst: ACCOUNT_BURST, perSecond: 1 },
          floodStrikes: FLOOD_STRIKES,
        },
      },
    }),
    startServer({ config: { limits: { ...LOOSE_LIMITS, sessionTtl: SESSION_TTL }, ws: { helloTimeoutMs: 500 } } }),
  ]);
});
after(async () => {
  await Promise.all([srv.stop(), short.stop()]);
});

/** A fresh guest, said hello, with its lobby id. */
async function guest(server = srv): Promise<{ ws: WsClient; lobby: string; name: string }> {
  const name = uniq("g");
  const { client, welcome } = await WsClient.open(server.wsUrl, { guest: name });
  return { ws: client, lobby: welcome.rooms.find((m: Frame) => m.room.name === "lobby").room.id, name };
}

/** A well-behaved pair of clients can still talk through the server. */
async function assertServes(server: TestServer): Promise<void> {
  const a = await guest(server);
  const b = await guest(server);
  const from = b.ws.frames.length;
  const ack = await a.ws.ok({ type: "send", room: a.lobby, clientId: uniq("ok"), body: "still here" });
  const e = await b.ws.waitForEvent(a.lobby, (x) => x.type === "message" && x.message.id === ack.messageId, { from });
  assert.equal(e.seq, ack.seq);
  await Promise.all([a.ws.close(), b.ws.close()]);
  assert.equal((await api(server, "GET", "/healthz")).status, 200);
}

afterEach(async () => {
  await assertServes(srv);
  await assertServes(short);
});

/** Sends raw text and resolves with the next error frame. */
async function rawError(ws: WsClient, data: string | Buffer, binary = false): Promise<Frame> {
  const from = ws.frames.length;
  ws.sendRaw(data, binary);
  return ws.waitFor((f) => f.type === "error", { from });
}

describe("malformed frames", () => {
  it("text that is not JSON, or JSON that is not an object, is BAD_REQUEST; the connection stays usable", async () => {
    const { ws } = await guest();
    for (const raw of ["{", '{"type":"ping"', "not json at all", "", "[1,2]", "42", "null", '"ping"', "true"]) {
      const e = await rawError(ws, raw);
      assert.equal(e.code, "BAD_REQUEST", raw);
      assert.equal(typeof e.message, "string");
      assert.deepEqual(await ws.ok({ type: "ping" }), {}, `usable after ${raw}`);
    }
    await ws.close();
  });

  it("an unknown type is UNKNOWN_TYPE, echoing the request id", async () => {
    const { ws } = await guest();
    const e = await rawError(ws, JSON.stringify({ type: "frobnicate", id: "u1" }));
    assert.equal(e.code, "UNKNOWN_TYPE");
    assert.equal(e.id, "u1");
    for (const frame of [{ id: "u2" }, { type: 5, id: "u3" }, { type: "HELLO", id: "u4" }]) {
      const r = await rawError(ws, JSON.stringify(frame));
      assert.ok(["UNKNOWN_TYPE", "BAD_REQUEST"].includes(r.code), `${JSON.stringify(frame)} → ${r.code}`);
      assert.equal(r.id, frame.id);
    }
    await ws.ok({ type: "ping" });
    await ws.close();
  });

  it("missing or invalid fields are BAD_REQUEST with the request id", async () => {
    const { ws, lobby, name } = await guest();
    const bad: Record<string, unknown>[] = [
      { type: "send", room: lobby, clientId: "c1" }, // no body
      { type: "send", room: lobby, body: "hi" }, // no clientId
      { type: "send", room: lobby, clientId: "", body: "hi" }, // empty clientId
      { type: "send", room: lobby, clientId: "c".repeat(65), body: "hi" }, // clientId too long
      { type: "send", room: 7, clientId: "c2", body: "hi" },
      { type: "send", room: lobby, clientId: "c3", body: ["hi"] },
      { type: "send", room: lobby, clientId: "c4", body: "hi", extra: true }, // unknown field
      { type: "join" },
      { type: "join", room: "" },
      { type: "history", room: lobby, limit: 0 },
      { type: "history", room: lobby, limit: 101 },
      { type: "history", room: lobby, before: -1 },
      { type: "history", room: lobby, after: 1.5 },
      { type: "read", room: lobby, seq: "3" },
      { type: "typing", room: lobby, typing: "yes" },
      { type: "moderate", room: lobby, account: "x", action: "behead" },
      { type: "react", message: "m", emoji: "" },
    ];
    for (const [i, frame] of bad.entries()) {
      const e = await rawError(ws, JSON.stringify({ ...frame, id: `b${i}` }));
      assert.equal(e.code, "BAD_REQUEST", JSON.stringify(frame));
      assert.equal(e.id, `b${i}`, JSON.stringify(frame));
      await ws.ok({ type: "ping" });
    }
    // A request id of the wrong type is itself invalid.
    assert.equal((await rawError(ws, JSON.stringify({ type: "ping", id: { x: 1 } }))).code, "BAD_REQUEST");
    // Nothing was stored by any of them.
    const h = await ws.ok({ type: "history", room: lobby, limit: 100 });
    assert.ok(!h.messages.some((m: Frame) => m.author === name));
    await ws.close();
  });

  it("hello without a token or a guest name is BAD_REQUEST", async () => {
    const ws = await WsClient.connect(srv.wsUrl);
    const r = await ws.hello({});
    assert.equal(r.type, "error");
    assert.equal(r.code, "BAD_REQUEST");
    const bad = await ws.hello({ guest: "no spaces allowed" });
    assert.equal(bad.code, "INVALID_NAME");
    assert.equal((await ws.hello({ guest: uniq("g") })).type, "welcome");
    await ws.close();
  });

  it("a binary frame is BAD_REQUEST; the connection stays usable", async () => {
    const { ws } = await guest();
    const e = await rawError(ws, Buffer.from(JSON.stringify({ type: "ping", id: "bin" })), true);
    assert.equal(e.code, "BAD_REQUEST");
    await ws.ok({ type: "ping" });
    await ws.close();
  });
});

describe("sizes", () => {
  it("a frame over 64 KiB is TOO_LARGE and the connection stays usable", async () => {
    const { ws, lobby } = await guest();
    const big = JSON.stringify({ type: "send", id: "big", room: lobby, clientId: "big", body: "x".repeat(70 * 1024) });
    const e = await rawError(ws, big);
    assert.equal(e.code, "TOO_LARGE");
    assert.equal(e.id, "big");
    const ack = await ws.ok({ type: "send", room: lobby, clientId: "small", body: "small again" });
    assert.equal(ack.duplicate, false, "the oversized frame stored nothing");
    await ws.close();
  });

  it("a frame over 1 MiB closes the connection with 1009", async () => {
    const { ws, lobby } = await guest();
    ws.sendRaw(JSON.stringify({ type: "send", id: "huge", room: lobby, clientId: "huge", body: "x".repeat(1100 * 1024) }));
    const closed = await ws.waitClose(5000);
    assert.equal(closed.code, 1009);
  });

  it("a message body over 4000 bytes is TOO_LARGE (bytes, not characters); 4000 bytes is fine", async () => {
    const { ws, lobby } = await guest();
    assert.equal((await ws.error({ type: "send", room: lobby, clientId: "l1", body: "x".repeat(4001) })).code, "TOO_LARGE");
    // 1334 × "€" is 1334 characters but 4002 bytes.
    assert.equal((await ws.error({ type: "send", room: lobby, clientId: "l2", body: "€".repeat(1334) })).code, "TOO_LARGE");
    const ok = await ws.ok({ type: "send", room: lobby, clientId: "l3", body: "x".repeat(4000) });
    assert.equal(ok.message.body.length, 4000);
    assert.equal((await ws.error({ type: "edit", message: ok.messageId, body: "y".repeat(4001) })).code, "TOO_LARGE");
    assert.equal((await ws.error({ type: "send", room: lobby, clientId: "l4", body: "   " })).code, "BAD_REQUEST");
    const h = await ws.ok({ type: "history", room: lobby, limit: 10 });
    const mine = h.messages.filter((m: Frame) => m.author === ok.message.author).map((m: Frame) => m.clientId);
    assert.deepEqual(mine, ["l3"]);
    await ws.close();
  });
});

describe("invalid UTF-8", () => {
  it("a text frame that is not UTF-8 is INVALID_UTF8 and the connection stays usable", async () => {
    const { ws, lobby } = await guest();
    const e = await rawError(ws, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]));
    assert.equal(e.code, "INVALID_UTF8");
    const inBody = Buffer.concat([
      Buffer.from(`{"type":"send","room":"${lobby}","clientId":"u8","body":"bad `),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}'),
    ]);
    assert.equal((await rawError(ws, inBody)).code, "INVALID_UTF8");
    // An unpaired surrogate encoded in UTF-8 (CESU) is not UTF-8 either.
    assert.equal((await rawError(ws, Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]))).code, "INVALID_UTF8");
    const ack = await ws.ok({ type: "send", room: lobby, clientId: "u8", body: "valid now ✓" });
    assert.equal(ack.duplicate, false, "the invalid frame stored nothing");
    await ws.close();
  });
});

describe("authentication", () => {
  it("requests before hello are NOT_AUTHENTICATED; hello afterwards works", async () => {
    const ws = await WsClient.connect(srv.wsUrl);
    for (const frame of [
      { type: "join", room: "lobby" },
      { type: "send", room: "x", clientId: "c", body: "hi" },
      { type: "ping" },
      { type: "rooms" },
    ] as const) {
      const e = await ws.error(frame);
      assert.equal(e.code, "NOT_AUTHENTICATED", frame.type);
    }
    assert.equal((await ws.hello({ guest: uniq("g") })).type, "welcome");
    await ws.ok({ type: "ping" });
    await ws.close();
  });

  it("an unknown token is INVALID_TOKEN; the connection stays usable", async () => {
    const ws = await WsClient.connect(srv.wsUrl);
    for (const token of ["nonsense", "", "x".repeat(256)]) {
      const r = await ws.hello({ token });
      assert.equal(r.type, "error");
      assert.equal(r.code, "INVALID_TOKEN", JSON.stringify(token).slice(0, 20));
    }
    assert.equal((await ws.hello({ guest: uniq("g") })).type, "welcome");
    await ws.close();
  });

  it("an expired token is INVALID_TOKEN (over WebSocket and HTTP)", async () => {
    const reg = await register(short);
    const fresh = await WsClient.open(short.wsUrl, { token: reg.token });
    await fresh.client.close();
    await sleep(SESSION_TTL + 300);
    const ws = await WsClient.connect(short.wsUrl);
    const r = await ws.hello({ token: reg.token });
    assert.equal(r.type, "error");
    assert.equal(r.code, "INVALID_TOKEN");
    const me = await api(short, "GET", "/api/me", { token: reg.token });
    assert.equal(me.status, 401);
    assert.equal(me.json.error.code, "INVALID_TOKEN");
    // Logging in again gives a working session.
    const login = await api(short, "POST", "/api/login", { body: { name: reg.name, password: reg.password } });
    assert.equal((await ws.hello({ token: login.json.token })).type, "welcome");
    await ws.close();
  });

  it("no hello within the timeout closes the connection with 4001; a client that said hello stays", async () => {
    const silent = await WsClient.connect(short.wsUrl);
    const { ws } = await guest(short);
    const started = Date.now();
    const closed = await silent.waitClose(4000);
    assert.equal(closed.code, 4001);
    assert.equal(closed.reason, "no hello");
    assert.ok(Date.now() - started >= 300, "not closed before the timeout");
    await sleep(600);
    assert.ok(ws.open, "a client that said hello is not closed by the hello timeout");
    await ws.ok({ type: "ping" });
    await ws.close();
  });
});

describe("membership", () => {
  it("sending to a room one is not in is NOT_MEMBER", async () => {
    const owner = await register(srv);
    const o = await WsClient.open(srv.wsUrl, { token: owner.token });
    const created = await o.client.ok({ type: "create", name: uniq("r") });
    const roomId = created.membership.room.id;
    const { ws } = await guest();
    assert.equal((await ws.error({ type: "send", room: roomId, clientId: "n1", body: "hi" })).code, "NOT_MEMBER");
    assert.equal((await ws.error({ type: "send", room: "nosuchroom", clientId: "n2", body: "hi" })).code, "NOT_MEMBER");
    assert.equal((await ws.error({ type: "topic", room: roomId, topic: "t" })).code, "NOT_MEMBER");
    const h = await o.client.ok({ type: "history", room: roomId });
    assert.deepEqual(h.messages, []);
    await Promise.all([ws.close(), o.client.close()]);
  });
});

describe("flooding", () => {
  const send = (ws: WsClient, room: string, i: number) =>
    ws.request({ type: "send", room, clientId: uniq(`f${i}-`), body: `flood ${i}` });

  it("the per-connection limit gives RATE_LIMITED with retry_after; after waiting, sends work again", async () => {
    const a = await register(srv);
    const { client: ws, welcome } = await WsClient.open(srv.wsUrl, { token: a.token });
    const lobby = welcome.rooms[0].room.id;
    const replies = await Promise.all(Array.from({ length: CONNECTION_BURST + 1 }, (_, i) => send(ws, lobby, i)));
    assert.deepEqual(
      replies.map((r) => r.type),
      [...Array(CONNECTION_BURST).fill("ok"), "error"],
    );
    const limited = replies[CONNECTION_BURST]!;
    assert.equal(limited.code, "RATE_LIMITED");
    assert.ok(
      Number.isInteger(limited.retry_after) && limited.retry_after > 0 && limited.retry_after <= 1000,
      `${limited.retry_after}`,
    );
    assert.ok(ws.open, "one rate-limited request does not close the connection");
    await sleep(limited.retry_after + 50);
    assert.equal((await send(ws, lobby, 99)).type, "ok");
    await ws.close();
  });

  it("the per-account limit applies across the account's connections", async () => {
    const a = await register(srv);
    const one = await WsClient.open(srv.wsUrl, { token: a.token });
    const two = await WsClient.open(srv.wsUrl, { token: a.token });
    const lobby = one.welcome.rooms[0].room.id;
    const first = await Promise.all(Array.from({ length: CONNECTION_BURST }, (_, i) => send(one.client, lobby, i)));
    assert.ok(first.every((r) => r.type === "ok"));
    // The second connection has its own connection budget, but the account has only
    // ACCOUNT_BURST - CONNECTION_BURST messages left.
    const left = ACCOUNT_BURST - CONNECTION_BURST;
    const second = await Promise.all(Array.from({ length: left + 1 }, (_, i) => send(two.client, lobby, 10 + i)));
    assert.deepEqual(
      second.map((r) => r.type),
      [...Array(left).fill("ok"), "error"],
    );
    assert.equal(second[left]!.code, "RATE_LIMITED");
    assert.ok(second[left]!.retry_after > 0);
    await Promise.all([one.client.close(), two.client.close()]);
  });

  it("persistent flooding closes the connection with 4008", async () => {
    const a = await register(srv);
    const { client: ws, welcome } = await WsClient.open(srv.wsUrl, { token: a.token });
    const lobby = welcome.rooms[0].room.id;
    for (let i = 0; i < 60; i++)
      ws.sendRaw(JSON.stringify({ type: "send", id: i, room: lobby, clientId: `p${i}`, body: `p${i}` }));
    const closed = await ws.waitClose(5000);
    assert.equal(closed.code, 4008);
    assert.equal(closed.reason, "too many errors");
    const oks = ws.frames.filter((f) => f.type === "ok");
    const limited = ws.frames.filter((f) => f.type === "error" && f.code === "RATE_LIMITED").length;
    // Frames already taken when the verdict came are still answered before the close frame.
    assert.ok(limited >= FLOOD_STRIKES, `closed after at least the configured number of strikes (${limited})`);
    // The sends within the budget were stored; nothing beyond the budget was.
    const again = await WsClient.open(srv.wsUrl, { token: a.token });
    const h = await again.client.ok({ type: "history", room: lobby, limit: 100 });
    const stored = h.messages.filter((m: Frame) => m.author === a.name).map((m: Frame) => m.clientId);
    assert.ok(stored.length >= CONNECTION_BURST && stored.length <= CONNECTION_BURST + 1, `${stored.length} sends stored`);
    for (const ok of oks) assert.ok(stored.includes(ok.result.clientId), "every acked send is stored");
    // … and every stored send was acked before the close: the acks are flushed, not dropped.
    assert.deepEqual(oks.map((ok) => ok.result.clientId).sort(), [...stored].sort(), "every stored send was acked");
    // The account can connect again (after the flood it is merely rate limited).
    await again.client.ok({ type: "ping" });
    await again.client.close();
  });

  it("other requests are limited per connection too (connectionRequests): RATE_LIMITED with retry_after", async () => {
    const { ws } = await guest();
    const from = ws.frames.length;
    for (let i = 0; i < 70; i++) ws.sendRaw(JSON.stringify({ type: "ping", id: `q${i}` }));
    await ws.waitFor(() => ws.frames.length - from >= 70, { timeout: 5000 });
    const replies = ws.frames.slice(from);
    const oks = replies.filter((f) => f.type === "ok").length;
    const limited = replies.filter((f) => f.type === "error" && f.code === "RATE_LIMITED");
    assert.ok(oks >= 60 && oks < 70, `${oks} pings answered`);
    assert.equal(oks + limited.length, 70);
    assert.ok(limited.every((f) => f.retry_after > 0));
    assert.ok(ws.open, "fewer refusals than strikes leave the connection open");
    await sleep(limited[0]!.retry_after + 20);
    await ws.ok({ type: "ping" });
    await ws.close();
  });

  it("20 malformed frames in a row close the connection with 4008; a good frame in between resets the count", async () => {
    const { ws } = await guest();
    for (let i = 0; i < 19; i++) ws.sendRaw("{");
    await ws.waitFor((f) => f.type === "error" && ws.frames.filter((x) => x.type === "error").length === 19, { timeout: 5000 });
    await ws.ok({ type: "ping" });
    assert.ok(ws.open, "19 malformed frames are tolerated");
    for (let i = 0; i < 19; i++) ws.sendRaw("nope");
    await ws.ok({ type: "ping" });
    assert.ok(ws.open, "the count restarted after a good frame");
    const from = ws.frames.length;
    for (let i = 0; i < 20; i++) ws.sendRaw("{");
    const closed = await ws.waitClose(5000);
    assert.equal(closed.code, 4008);
    assert.equal(ws.frames.slice(from).filter((f) => f.type === "error").length, 20);
  });

  it("malformed frames before hello count too", async () => {
    const ws = await WsClient.connect(srv.wsUrl);
    for (let i = 0; i < 20; i++) ws.sendRaw(JSON.stringify({ type: "rooms", id: i }));
    const closed = await ws.waitClose(5000);
    assert.equal(closed.code, 4008);
  });
});
