// How many socket writes a message costs over WebSocket: the sender's ack and its own copy of the
// event leave in one write, and every other member gets one. Busy rooms' CPU is mostly socket
// writes (docs/benchmarks.md), so a change that split them (an ack answered in a later turn
// than the event it confirms) would show here before it showed in a benchmark.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { api, register, uniq } from "./helpers/http.ts";
import { LOOSE_LIMITS, sleep, startServer, type TestServer } from "./helpers/server.ts";
import { WsClient } from "./helpers/ws-client.ts";

let srv: TestServer;
const clients: WsClient[] = [];

before(async () => {
  srv = await startServer({ config: { limits: LOOSE_LIMITS } });
});
after(async () => {
  for (const c of clients) c.terminate();
  await srv.stop();
});

async function open(): Promise<WsClient> {
  const reg = await register(srv, uniq("w"));
  const { client } = await WsClient.open(srv.wsUrl, { token: reg.token });
  clients.push(client);
  return client;
}

async function flushWrites(): Promise<number> {
  const text = (await api(srv, "GET", "/metrics")).text;
  const m = /^parley_flush_writes_total\{protocol="ws"\} (\d+)$/m.exec(text);
  assert.ok(m, "parley_flush_writes_total is exported");
  return Number(m[1]);
}

/** Long enough for any flush the server holds back (flush.ts caps the wait at 30 ms). */
const settle = () => sleep(150);

describe("WebSocket writes per message", () => {
  it("the sender's ack and its own event leave in one write, and each other member gets one", async () => {
    const a = await open();
    const b = await open();
    const name = uniq("room");
    const created = await a.ok<{ membership: { room: { id: string } } }>({ type: "create", name });
    const room = created.membership.room.id;

    await settle();
    let before = await flushWrites();
    const alone = await a.ok<{ seq: number }>({ type: "send", room, clientId: "w1", body: "alone" });
    await a.waitForSeq(room, alone.seq);
    await settle();
    assert.equal((await flushWrites()) - before, 1, "ack and event in one write");

    await b.ok({ type: "join", room: name });
    await settle();
    before = await flushWrites();
    const two = await a.ok<{ seq: number }>({ type: "send", room, clientId: "w2", body: "two" });
    await a.waitForSeq(room, two.seq);
    await b.waitForSeq(room, two.seq);
    await settle();
    assert.equal((await flushWrites()) - before, 2, "one write to the sender, one to the other member");
  });
});
