// Guarantees 1, 4 and 5: an acknowledged message is committed (it survives kill -9), a kill -9
// in the middle of a burst loses nothing acknowledged and leaves no gap, and SIGTERM lets the
// sends in flight commit, closes clients with 1001 and exits 0. The tests share one server that
// they kill and restart (each test uses its own room and accounts, and restarts the server if an
// earlier test left it down); no other test file uses it.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { api, type Json, type Registered, register, uniq } from "./helpers/http.ts";
import { storeViolations } from "./helpers/invariants.ts";
import { LineClient } from "./helpers/line-client.ts";
import { LOOSE_LIMITS, startServer, type TestServer } from "./helpers/server.ts";
import { contiguous, RequestError, WsClient } from "./helpers/ws-client.ts";

interface Ack {
  messageId: string;
  seq: number;
  clientId: string;
}

/** Every message of a room, oldest first, read through the REST API. */
async function allMessages(srv: TestServer, token: string, roomId: string): Promise<Json[]> {
  const out: Json[] = [];
  let after = 0;
  for (;;) {
    const r = await api(srv, "GET", `/api/rooms/${roomId}/messages?after=${after}&limit=100`, { token });
    assert.equal(r.status, 200, r.text);
    out.push(...r.json.messages);
    if (!r.json.more) return out;
    after = r.json.messages[r.json.messages.length - 1].seq;
  }
}

/** A server with a room, an owner and `n` senders in it. */
async function roomWithSenders(srv: TestServer, n: number) {
  const owner = await register(srv, uniq("own"));
  const { client: ownerWs } = await WsClient.open(srv.wsUrl, { token: owner.token });
  const name = uniq("room");
  const roomId = (await ownerWs.ok({ type: "create", name })).membership.room.id as string;
  const senders: { reg: Registered; ws: WsClient }[] = [];
  for (let i = 0; i < n; i++) {
    const reg = await register(srv, uniq(`s${i}`));
    const { client } = await WsClient.open(srv.wsUrl, { token: reg.token });
    await client.ok({ type: "join", room: name });
    senders.push({ reg, ws: client });
  }
  return { owner, ownerWs, roomId, senders };
}

/**
 * Sends `window` messages at a time until the connection goes away; records every ack.
 * Any error reply (rather than a lost connection) is recorded too: there should be none.
 */
async function sendUntilGone(
  ws: WsClient,
  roomId: string,
  tag: string,
  window: number,
  acks: Ack[],
  errors: Json[],
): Promise<void> {
  for (let i = 0; ; i += window) {
    const results = await Promise.allSettled(
      Array.from({ length: window }, (_, j) =>
        ws.ok<Ack>({ type: "send", room: roomId, clientId: `${tag}-${i + j}`, body: `${tag} message ${i + j}` }),
      ),
    );
    let gone = false;
    for (const r of results) {
      if (r.status === "fulfilled") acks.push(r.value);
      else if (r.reason instanceof RequestError) errors.push(r.reason.frame);
      else gone = true;
    }
    if (gone || !ws.open) return;
  }
}

/** Checks the room's full event log by resuming from 0: seqs 1..last with no gap. */
async function assertNoGaps(srv: TestServer, token: string, roomId: string): Promise<number> {
  const { client, welcome } = await WsClient.open(srv.wsUrl, { token, resume: { [roomId]: 0 } });
  const last = welcome.rooms.find((m: Json) => m.room.id === roomId).room.lastSeq as number;
  await client.waitForSeq(roomId, last, 20_000);
  const seqs = client.eventsIn(roomId).map((e) => e.seq);
  assert.equal(contiguous(seqs, 1), null, "the room's log has no gap");
  assert.equal(seqs[seqs.length - 1], last);
  await client.close();
  return last;
}

let srv: TestServer;
before(async () => {
  srv = await startServer({ config: { limits: LOOSE_LIMITS } });
});
beforeEach(async () => {
  if (srv.proc.exitCode !== null || srv.proc.signalCode !== null) await srv.restart();
});
after(async () => {
  await srv.stop();
});

describe("durability", () => {
  it("ack only after commit: a message acknowledged just before kill -9 is in history after restart", async () => {
    const a = await register(srv);
    const { client, welcome } = await WsClient.open(srv.wsUrl, { token: a.token });
    const lobby = welcome.rooms[0].room.id as string;
    // A pipelined batch, then kill -9 the moment the last ack arrives.
    const batch = await Promise.all(
      Array.from({ length: 30 }, (_, i) => client.ok<Ack>({ type: "send", room: lobby, clientId: `b${i}`, body: `batch ${i}` })),
    );
    const killed = await srv.kill9();
    assert.equal(killed.signal, "SIGKILL");
    await srv.restart();
    const history = await allMessages(srv, a.token, lobby);
    const byId = new Map(history.map((m) => [m.id, m]));
    for (const ack of batch) {
      const found = byId.get(ack.messageId);
      assert.ok(found, `acknowledged message ${ack.clientId} survived kill -9`);
      assert.equal(found.seq, ack.seq);
      assert.equal(found.body, `batch ${ack.clientId.slice(1)}`);
    }
    const one = batch[batch.length - 1]!;

    // Idempotency survives the restart: the retry of an acked send is a duplicate.
    const { client: third } = await WsClient.open(srv.wsUrl, { token: a.token });
    const retry = await third.ok<Ack & { duplicate: boolean }>({
      type: "send",
      room: lobby,
      clientId: one.clientId,
      body: "sent again",
    });
    assert.equal(retry.duplicate, true);
    assert.equal(retry.messageId, one.messageId);
    assert.equal(retry.seq, one.seq);
    await third.close();
  });

  it("kill -9 during a burst from several clients: every acked message is there, in seq order, no gaps", async () => {
    const { owner, roomId, senders } = await roomWithSenders(srv, 3);
    const acks: Ack[] = [];
    const errors: Json[] = [];
    const running = senders.map((s, k) => sendUntilGone(s.ws, roomId, `k${k}`, 8, acks, errors));
    // Kill in the middle of the burst, with sends in flight.
    while (acks.length < 300) await new Promise((r) => setTimeout(r, 5));
    await srv.kill9();
    await Promise.all(running);
    assert.deepEqual(errors, []);
    assert.ok(acks.length >= 300);
    // The database as the kill left it (before any recovery by a new process) is consistent.
    assert.deepEqual(storeViolations(join(srv.dataDir, "parley.db")).violations, []);

    await srv.restart();
    const history = await allMessages(srv, owner.token, roomId);
    const byId = new Map(history.map((m) => [m.id, m]));
    for (const ack of acks) {
      const m = byId.get(ack.messageId);
      assert.ok(m, `acked message ${ack.clientId} (seq ${ack.seq}) was lost`);
      assert.equal(m.seq, ack.seq, `acked message ${ack.clientId} moved`);
      assert.equal(m.clientId, ack.clientId);
    }
    for (let i = 1; i < history.length; i++) assert.ok(history[i].seq > history[i - 1].seq, "history is in seq order");
    const last = await assertNoGaps(srv, owner.token, roomId);
    assert.ok(last >= Math.max(...acks.map((a) => a.seq)));
    console.log(`# kill -9 during a burst: ${acks.length} acked messages checked after restart, lost 0`);

    // The room carries on after the last committed seq; no seq is reused.
    const { client } = await WsClient.open(srv.wsUrl, { token: senders[0]!.reg.token });
    const next = await client.ok<Ack>({ type: "send", room: roomId, clientId: uniq("next"), body: "after restart" });
    assert.equal(next.seq, last + 1);
    await client.close();
  });

  it("SIGTERM: in-flight sends commit and are acked, clients get 1001, the process exits 0", async () => {
    const { owner, ownerWs, roomId, senders } = await roomWithSenders(srv, 3);
    const line = await LineClient.login(srv.linePort, uniq("liner"));
    const acks: Ack[] = [];
    const errors: Json[] = [];
    const running = senders.map((s, k) => sendUntilGone(s.ws, roomId, `t${k}`, 8, acks, errors));
    while (acks.length < 150) await new Promise((r) => setTimeout(r, 5));
    const logged = srv.logs().length;
    const exit = await srv.stop("SIGTERM");
    await Promise.all(running);
    assert.equal(exit.code, 0, srv.logs());
    assert.match(srv.logs().slice(logged), /"msg":"stopped"/, "logs that it stopped");
    for (const c of [ownerWs, ...senders.map((s) => s.ws)]) {
      const closed = await c.waitClose(1000);
      assert.equal(closed.code, 1001);
      assert.equal(closed.reason, "server shutting down");
    }
    assert.deepEqual(errors, []);
    await line.waitForLine(/server shutting down/);
    await line.ended;

    await srv.restart();
    const history = await allMessages(srv, owner.token, roomId);
    const stored = new Map(history.filter((m) => /^t\d-/.test(m.clientId ?? "")).map((m) => [m.clientId, m]));
    for (const ack of acks) assert.equal(stored.get(ack.clientId)?.seq, ack.seq, `acked ${ack.clientId} is stored at its seq`);
    // Whatever was committed was also acknowledged: the server answered every request it took.
    const acked = new Set(acks.map((a) => a.clientId));
    const unacked = [...stored.keys()].filter((id) => !acked.has(id));
    assert.deepEqual(unacked, [], "messages committed without an ack");
    await assertNoGaps(srv, owner.token, roomId);
  });
});
