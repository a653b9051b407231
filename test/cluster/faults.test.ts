// Faults of the shared services under two server processes: a private redis-server that is killed
// and started again, and PostgreSQL behind a TCP proxy that is cut and restored (the machine's
// shared services are never touched).

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RoomEvent } from "../../src/core/types.ts";
import { api, register, uniq } from "../helpers/http.ts";
import { eventually, sleep, type TestServer } from "../helpers/server.ts";
import { contiguous, WsClient } from "../helpers/ws-client.ts";
import { freshSchema, keysLeft, PG_URL, PrivateRedis, startNode, TcpProxy } from "./cluster.ts";

let db: Awaited<ReturnType<typeof freshSchema>>;
let redis: PrivateRedis;
let proxy: TcpProxy;
let a: TestServer;
let b: TestServer;
const prefix = `${uniq("parley-faults-")}:`;
const clients: WsClient[] = [];

before(async () => {
  db = await freshSchema();
  redis = await PrivateRedis.start();
  const pgUrl = new URL(PG_URL);
  proxy = await TcpProxy.start(Number(pgUrl.port || 5432), pgUrl.hostname);
  pgUrl.port = String(proxy.port);
  const opts = { databaseUrl: pgUrl.toString(), schema: db.schema, redisUrl: redis.url, prefix };
  [a, b] = await Promise.all([startNode(opts), startNode(opts)]);
});

after(async () => {
  for (const c of clients) c.terminate();
  await Promise.all([a?.stop(), b?.stop()]);
  await proxy?.close();
  const left = await keysLeft(prefix, redis.url);
  await redis?.stop();
  await db?.drop();
  assert.deepEqual(left, []);
});

/** Alice on the first process created a room that Bob, on the second, follows. */
async function pair() {
  const alice = await register(a);
  const bob = await register(b);
  const room = uniq("fault");
  const wa = (await WsClient.open(a.wsUrl, { token: alice.token })).client;
  const wb = (await WsClient.open(b.wsUrl, { token: bob.token })).client;
  clients.push(wa, wb);
  const roomId = (await wa.ok({ type: "create", name: room })).membership.room.id as string;
  await wb.ok({ type: "join", room });
  return { wa, wb, roomId };
}

const bodies = (events: RoomEvent[]) => events.flatMap((e) => (e.type === "message" ? [e.message.body] : []));

describe("Redis restarted", () => {
  it("processes reconnect by themselves and what was published meanwhile is recovered by sequence", async () => {
    const { wa, wb, roomId } = await pair();
    const first = await wa.ok({ type: "send", room: roomId, clientId: "x-0", body: "before" });
    await wb.waitForSeq(roomId, first.seq);

    await redis.stop();
    // The store still works: sends are acknowledged, but the bus cannot carry them.
    const during = [];
    for (let i = 1; i <= 10; i++)
      during.push(await wa.ok({ type: "send", room: roomId, clientId: `x-${i}`, body: `during ${i}` }));
    await sleep(300);
    assert.ok(wb.lastSeq(roomId) < during.at(-1).seq, "nothing crossed while Redis was down");

    await redis.start();
    // Bob's connection never dropped: his process re-reads the room once its bus is back.
    await wb.waitForSeq(roomId, during.at(-1).seq, 20_000);
    const live = await eventually(
      async () => {
        const r = await wa.ok({ type: "send", room: roomId, clientId: `x-live-${Date.now()}`, body: "after" });
        return wb.waitForSeq(roomId, r.seq, 1000).then(() => r);
      },
      20_000,
      "live delivery again",
    );
    const seen = wb.eventsIn(roomId).filter((e) => e.seq <= live.seq);
    assert.equal(
      contiguous(
        seen.map((e) => e.seq),
        seen[0]!.seq,
      ),
      null,
      "no gap, no duplicate",
    );
    const got = bodies(seen);
    assert.deepEqual(got.slice(0, 11), ["before", ...during.map((_, i) => `during ${i + 1}`)]);
  });
});

describe("PostgreSQL unreachable", () => {
  it("sends fail with a temporary error and no ack, nothing acked is lost, and service comes back by itself", async () => {
    const { wa, wb, roomId } = await pair();
    const acked: { seq: number; clientId: string }[] = [];
    for (let i = 0; i < 5; i++) acked.push(await wa.ok({ type: "send", room: roomId, clientId: `p-${i}`, body: `p-${i}` }));

    proxy.cut();
    const refused = await wa.request({ type: "send", room: roomId, clientId: "p-down", body: "p-down" }, 30_000);
    assert.equal(refused.type, "error");
    assert.equal(refused.code, "UNAVAILABLE");
    assert.ok(typeof refused.retry_after === "number" && refused.retry_after > 0, "the client is told when to retry");
    const health = await api(a, "GET", "/healthz");
    assert.equal(health.status, 503, "the process reports itself unhealthy to the load balancer");
    assert.ok(wa.open && wb.open, "connections stay open through the outage");

    proxy.restore();
    type Ack = { seq: number; clientId: string; duplicate: boolean };
    const back = await eventually<Ack | null>(
      async () => {
        const r = await wa.request({ type: "send", room: roomId, clientId: "p-down", body: "p-down" }, 10_000);
        return r.type === "ok" ? (r.result as Ack) : null;
      },
      30_000,
      "sends to succeed again",
    ).then((r) => r!);
    assert.equal(back.duplicate, false, "the refused send had stored nothing");
    acked.push(back);
    await eventually(async () => (await api(a, "GET", "/healthz")).status === 200, 10_000, "healthy again");

    await wb.waitForSeq(roomId, back.seq, 20_000);
    const history = await wb.ok({ type: "history", room: roomId, limit: 100 });
    const stored = (history.messages as { clientId: string; seq: number }[]).map((m) => `${m.clientId}@${m.seq}`);
    assert.deepEqual(
      stored,
      acked.map((x) => `${x.clientId}@${x.seq}`),
      "every acked message, at its seq, once",
    );
    assert.deepEqual(
      bodies(wb.eventsIn(roomId)),
      acked.map((x) => x.clientId),
    );
  });
});
