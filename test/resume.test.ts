// Guarantee 2: a client that reconnects with its last seq per room gets exactly what it missed,
// in order, then the live events: no loss, no duplicates, no gaps — also mid-burst.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RoomEvent } from "../src/core/types.ts";
import { type Registered, register, uniq } from "./helpers/http.ts";
import { LOOSE_LIMITS, sleep, startServer, type TestServer } from "./helpers/server.ts";
import { contiguous, WsClient } from "./helpers/ws-client.ts";

const SENDERS = 3;
const PER_SENDER = 200;

let srv: TestServer;
const open: WsClient[] = [];

before(async () => {
  srv = await startServer({ config: { limits: LOOSE_LIMITS } });
});
after(async () => {
  for (const c of open) c.terminate();
  await srv.stop();
});

interface Ack {
  messageId: string;
  seq: number;
  clientId: string;
}

async function connect(reg: Registered, resume?: Record<string, number>): Promise<WsClient> {
  const { client } = await WsClient.open(srv.wsUrl, { token: reg.token, ...(resume ? { resume } : {}) });
  open.push(client);
  return client;
}

/** A room with an owner, SENDERS senders and an observer, all connected. */
async function setup() {
  const ownerReg = await register(srv, uniq("own"));
  const owner = await connect(ownerReg);
  const name = uniq("burst");
  const roomId = (await owner.ok({ type: "create", name })).membership.room.id as string;
  const senders: WsClient[] = [];
  for (let i = 0; i < SENDERS; i++) {
    const c = await connect(await register(srv, uniq(`s${i}`)));
    await c.ok({ type: "join", room: name });
    senders.push(c);
  }
  const observerReg = await register(srv, uniq("obs"));
  const observer = await connect(observerReg);
  await observer.ok({ type: "join", room: name });
  return { owner, roomId, senders, observer, observerReg };
}

/** Each sender sends `n` messages, `window` in flight at a time; resolves with every ack. */
async function burst(senders: WsClient[], roomId: string, n: number, window = 10, onAck?: (a: Ack) => void): Promise<Ack[]> {
  const tag = uniq("b");
  const per = await Promise.all(
    senders.map(async (s, k) => {
      const acks: Ack[] = [];
      for (let i = 0; i < n; i += window) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(window, n - i) }, (_, j) =>
            s.ok<Ack>({ type: "send", room: roomId, clientId: `${tag}-${k}-${i + j}`, body: `sender ${k} message ${i + j}` }),
          ),
        );
        for (const a of batch) onAck?.(a);
        acks.push(...batch);
      }
      return acks;
    }),
  );
  return per.flat();
}

/**
 * Checks what a resumed client got in the room: seqs from `from + 1` to `to` with no gap and no
 * duplicate, and each acknowledged message in that range at its acknowledged seq.
 */
function assertExactly(events: RoomEvent[], from: number, to: number, acks: Ack[]): void {
  const seqs = events.map((e) => e.seq);
  assert.equal(contiguous(seqs, from + 1), null, `seqs after resume: ${contiguous(seqs, from + 1)}`);
  assert.equal(seqs[seqs.length - 1], to, "reaches the newest seq and nothing beyond");
  assert.equal(seqs.length, to - from);
  const bySeq = new Map(events.map((e) => [e.seq, e]));
  for (const a of acks) {
    if (a.seq <= from) continue;
    const e = bySeq.get(a.seq);
    assert.ok(e && e.type === "message", `acked seq ${a.seq} was delivered as a message`);
    assert.equal(e.type === "message" && e.message.id, a.messageId);
  }
}

describe("resume", () => {
  it("after a disconnect during which 3 senders × 200 messages were sent: exactly the missed ones, in order, then live", async () => {
    const { roomId, senders, observer, observerReg, owner } = await setup();
    const start = await owner.ok<Ack>({ type: "send", room: roomId, clientId: "start", body: "start" });
    await observer.waitForSeq(roomId, start.seq);
    const last = observer.lastSeq(roomId);
    assert.equal(last, start.seq);
    await observer.close();

    const acks = await burst(senders, roomId, PER_SENDER);
    assert.equal(acks.length, SENDERS * PER_SENDER);
    const seqs = acks.map((a) => a.seq).sort((a, b) => a - b);
    assert.equal(contiguous(seqs, last + 1), null, "the burst took consecutive seqs");

    const back = await connect(observerReg, { [roomId]: last });
    // Live messages right after the hello, while the replay may still be running.
    const live = await Promise.all(
      [0, 1, 2].map((i) => senders[i]!.ok<Ack>({ type: "send", room: roomId, clientId: uniq("live"), body: `live ${i}` })),
    );
    const newest = Math.max(...live.map((a) => a.seq));
    await back.waitForSeq(roomId, newest, 20_000);
    await sleep(200); // anything extra (a duplicate) would arrive by now
    assertExactly(back.eventsIn(roomId), last, newest, [...acks, ...live]);
  });

  it("when the disconnect happens mid-burst and the reconnect too: no loss, no duplicate, no gap", async () => {
    const { roomId, senders, observer, observerReg } = await setup();
    let acked = 0;
    let reconnectedAt = -1;
    let back: WsClient | null = null;
    let last = 0;
    let lastBeforeDrop = 0;

    const done = burst(senders, roomId, PER_SENDER, 3, () => {
      acked++;
    });
    // Drop the observer once it has seen part of the burst.
    await observer.waitFor((f) => f.type === "event" && f.event.roomId === roomId && observer.eventsIn(roomId).length >= 100, {
      timeout: 20_000,
    });
    observer.terminate();
    last = observer.lastSeq(roomId);
    lastBeforeDrop = acked;
    // Come back while the senders are still going.
    await sleep(30);
    back = await connect(observerReg, { [roomId]: last });
    reconnectedAt = acked;
    const acks = await done;
    assert.ok(lastBeforeDrop < SENDERS * PER_SENDER, "the drop happened during the burst");
    assert.ok(reconnectedAt < SENDERS * PER_SENDER, `the reconnect happened during the burst (${reconnectedAt} acked)`);

    const newest = Math.max(...acks.map((a) => a.seq));
    await back.waitForSeq(roomId, newest, 20_000);
    await sleep(200);
    assertExactly(back.eventsIn(roomId), last, newest, acks);
    // Together, before and after the drop, every acked message was seen exactly once.
    const seen = [...observer.eventsIn(roomId), ...back.eventsIn(roomId)]
      .filter((e) => e.type === "message")
      .map((e) => (e.type === "message" ? e.message.id : ""));
    assert.equal(new Set(seen).size, seen.length, "no message seen twice");
    for (const a of acks) assert.ok(seen.includes(a.messageId), `acked ${a.seq} never seen`);
  });

  it("repeated disconnects during a burst each resume where they left off", async () => {
    const { roomId, senders, observerReg, observer } = await setup();
    const first = observer.lastSeq(roomId);
    observer.terminate();
    let finished = false;
    const done = burst(senders, roomId, 150, 2).finally(() => {
      finished = true;
    });
    let last = first;
    let rounds = 0;
    const all: RoomEvent[] = [];
    while (!finished && rounds < 50) {
      const c = await connect(observerReg, { [roomId]: last });
      await sleep(30);
      c.terminate();
      const got = c.eventsIn(roomId);
      assert.equal(
        contiguous(
          got.map((e) => e.seq),
          last + 1,
        ),
        null,
        `round ${rounds}`,
      );
      all.push(...got);
      last = c.lastSeq(roomId) || last;
      rounds++;
    }
    const acks = await done;
    assert.ok(rounds >= 3, `only ${rounds} reconnects happened during the burst`);
    const newest = Math.max(...acks.map((a) => a.seq));
    const final = await connect(observerReg, { [roomId]: last });
    if (last < newest) await final.waitForSeq(roomId, newest, 20_000);
    await sleep(100);
    all.push(...final.eventsIn(roomId));
    assertExactly(all, first, newest, acks);
  });

  it("resume from 0 replays the room's whole log; a position past the end replays nothing", async () => {
    const { roomId, senders, observerReg } = await setup();
    await burst(senders, roomId, 5, 5);
    const full = await connect(observerReg, { [roomId]: 0 });
    const newest = (await full.ok({ type: "history", room: roomId, limit: 1 })).messages[0].seq as number;
    await full.waitForSeq(roomId, newest);
    const events = full.eventsIn(roomId);
    assert.equal(
      contiguous(
        events.map((e) => e.seq),
        1,
      ),
      null,
    );
    assert.equal(events[0]!.type, "member", "the log starts with the owner joining");
    assert.equal(events.filter((e) => e.type === "message").length, SENDERS * 5);

    const ahead = await connect(observerReg, { [roomId]: newest + 1000 });
    await sleep(200);
    assert.deepEqual(ahead.eventsIn(roomId), [], "nothing is replayed");
    const m = await senders[0]!.ok<Ack>({ type: "send", room: roomId, clientId: uniq("after"), body: "after" });
    const e = await ahead.waitForEvent(roomId, () => true);
    assert.equal(e.seq, m.seq, "live events follow");
  });

  it("without resume, a reconnecting client gets only live events", async () => {
    const { roomId, senders, observerReg, observer } = await setup();
    observer.terminate();
    await burst(senders, roomId, 5, 5);
    const c = await connect(observerReg);
    await sleep(200);
    assert.deepEqual(c.eventsIn(roomId), []);
    const m = await senders[1]!.ok<Ack>({ type: "send", room: roomId, clientId: uniq("x"), body: "now" });
    const e = await c.waitForEvent(roomId, () => true);
    assert.equal(e.seq, m.seq);
  });
});
