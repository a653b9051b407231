// Three server processes sharing one PostgreSQL schema and one Redis prefix, with WebSocket, IRC
// and line-mode clients spread across them: one order per room everywhere, resume and idempotent
// retry on another process, presence as the union over processes, and kill -9 of a process during
// a burst (its clients go elsewhere, resume, and lose nothing or see nothing twice).

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RoomEvent } from "../../src/core/types.ts";
import { type Registered, register, uniq } from "../helpers/http.ts";
import { LineClient } from "../helpers/line-client.ts";
import { eventually, type TestServer } from "../helpers/server.ts";
import { contiguous, type Frame, WsClient } from "../helpers/ws-client.ts";
import { IrcTestClient } from "../irc/irc-client.ts";
import { freshSchema, keysLeft, startNode } from "./cluster.ts";

let db: Awaited<ReturnType<typeof freshSchema>>;
const prefix = `${uniq("parley-cluster-")}:`;
let nodes: TestServer[] = [];
const clients: { close(): unknown }[] = [];

before(async () => {
  db = await freshSchema();
  // The three start at once on a fresh schema: the migration lock decides who migrates.
  nodes = await Promise.all([0, 1, 2].map(() => startNode({ schema: db.schema, prefix, irc: true })));
});

after(async () => {
  for (const c of clients) c.close();
  await Promise.all(nodes.map((n) => n.stop()));
  await db.drop();
  assert.deepEqual(await keysLeft(prefix), [], "no keys left behind");
});

async function ws(node: TestServer, reg: Registered, extra: { resume?: Record<string, number>; presence?: boolean } = {}) {
  const { client, welcome } = await WsClient.open(node.wsUrl, { token: reg.token, ...extra });
  clients.push({ close: () => client.terminate() });
  return { client, welcome };
}

const messages = (events: RoomEvent[]) => events.filter((e) => e.type === "message");
const bodyOf = (e: RoomEvent) => (e.type === "message" ? e.message.body : "");

describe("a room across three processes", () => {
  it("every client sees the same order whichever process and protocol it uses", async () => {
    const [a, b, c] = nodes as [TestServer, TestServer, TestServer];
    const alice = await register(a);
    const bob = await register(b);
    const carol = await register(c);
    const room = uniq("order");
    const { client: wa } = await ws(a, alice);
    const roomId = (await wa.ok({ type: "create", name: room })).membership.room.id as string;
    const { client: wb } = await ws(b, bob);
    await wb.ok({ type: "join", room });
    const { client: wc } = await ws(c, carol);
    await wc.ok({ type: "join", room });
    // An IRC user on the second process and a line-mode guest on the third read the same room.
    const ircUser = await register(b);
    const irc = await IrcTestClient.register(b.ircPort, {
      nick: ircUser.name,
      sasl: { account: ircUser.name, password: ircUser.password },
    });
    clients.push({ close: () => irc.socket.destroy() });
    irc.send(`JOIN #${room}`);
    await irc.waitFor((m) => m.command === "JOIN" && m.params[0] === `#${room}`);
    const line = await LineClient.login(c.linePort, uniq("g"));
    clients.push({ close: () => line.socket.destroy() });
    line.send(`/join #${room}`);
    await line.waitForLine(new RegExp(`you are in #${room}`));

    // Everyone sends at once, through different processes and protocols.
    const PER = 40;
    const start = wa.lastSeq(roomId);
    const sends: Promise<unknown>[] = [];
    for (const [k, cl] of [wa, wb, wc].entries()) {
      for (let i = 0; i < PER; i++)
        sends.push(cl.ok({ type: "send", room: roomId, clientId: `o${k}-${i}`, body: `ws${k} #${i}` }));
    }
    for (let i = 0; i < PER; i++) irc.send(`PRIVMSG #${room} :irc #${i}`);
    for (let i = 0; i < PER; i++) line.send(`line #${i}`);
    await Promise.all(sends);
    const total = 5 * PER;
    const seen = (cl: WsClient) => messages(cl.eventsIn(roomId)).filter((e) => e.seq > start).length;
    for (const cl of [wa, wb, wc]) await eventually(() => seen(cl) === total, 20_000, "every message on every process");

    const orders = [wa, wb, wc].map((cl) => cl.eventsIn(roomId).filter((e) => e.seq > start));
    for (const o of orders) assert.equal(contiguous(o.map((e) => e.seq)), null, "no gap, no duplicate");
    assert.deepEqual(orders[1], orders[0], "the second process delivers the same events in the same order");
    assert.deepEqual(orders[2], orders[0], "the third process too");
    const order = messages(orders[0]!).map(bodyOf);
    assert.equal(new Set(order).size, total);

    // IRC and line mode see the same bodies in the same order (their own lines included, as
    // echoes and history do not apply here: compare what they received from others).
    const ircOrder = () =>
      irc.messages.filter((m) => m.command === "PRIVMSG" && m.params[0] === `#${room}`).map((m) => m.params[1]!);
    await eventually(() => ircOrder().length >= total - PER, 20_000, "IRC to receive the others' messages");
    assert.deepEqual(
      ircOrder(),
      order.filter((t) => !t.startsWith("irc ")),
    );
    const lineOrder = () =>
      line.lines.flatMap((l) => {
        const m = /^\[[^\]]*\] [^:]+: (.*)$/.exec(l);
        return m && order.includes(m[1]!) ? [m[1]!] : [];
      });
    await eventually(() => lineOrder().length >= total - PER, 20_000, "line mode to receive the others' messages");
    assert.deepEqual(
      lineOrder().filter((t) => !t.startsWith("line ")),
      order.filter((t) => !t.startsWith("line ")),
    );
  });

  it("a client resumes on another process with exactly what it missed, and a retry there creates nothing", async () => {
    const [a, b, c] = nodes as [TestServer, TestServer, TestServer];
    const alice = await register(a);
    const bob = await register(b);
    const room = uniq("resume");
    const { client: wa } = await ws(a, alice);
    const roomId = (await wa.ok({ type: "create", name: room })).membership.room.id as string;
    const { client: wb } = await ws(b, bob);
    await wb.ok({ type: "join", room });
    const first = await wa.ok({ type: "send", room: roomId, clientId: "r-0", body: "before" });
    await wb.waitForSeq(roomId, first.seq);
    const seenBy = wb.lastSeq(roomId);
    wb.terminate();

    const missed = [];
    for (let i = 1; i <= 20; i++)
      missed.push(await wa.ok({ type: "send", room: roomId, clientId: `r-${i}`, body: `missed ${i}` }));

    // Bob comes back through the third process, from where he was.
    const { client: wb2 } = await ws(c, bob, { resume: { [roomId]: seenBy } });
    await wb2.waitForSeq(roomId, missed.at(-1).seq);
    const replay = wb2.eventsIn(roomId);
    assert.equal(
      contiguous(
        replay.map((e) => e.seq),
        seenBy + 1,
      ),
      null,
    );
    assert.deepEqual(
      messages(replay).map(bodyOf),
      missed.map((_, i) => `missed ${i + 1}`),
    );

    // Alice retries her last send through another process: the same message comes back.
    const { client: wa2 } = await ws(b, alice);
    const retry = await wa2.ok({ type: "send", room: roomId, clientId: "r-20", body: "missed 20" });
    assert.equal(retry.duplicate, true);
    assert.equal(retry.messageId, missed.at(-1).messageId);
    assert.equal(retry.seq, missed.at(-1).seq);
    const after = await wa2.ok({ type: "send", room: roomId, clientId: "r-21", body: "after" });
    assert.equal(after.seq, retry.seq + 1, "the retry took no sequence number");
    await wb2.waitForSeq(roomId, after.seq);
    assert.deepEqual(messages(wb2.eventsIn(roomId)).map(bodyOf).slice(-2), ["missed 20", "after"], "nothing twice");
  });
});

describe("presence and typing across processes", () => {
  it("who is online is the union over processes, typing crosses them, and a killed process's users go offline and stop typing", async () => {
    const [a, b, c] = nodes as [TestServer, TestServer, TestServer];
    const watcherReg = await register(a);
    const bob = await register(b);
    const carol = await register(c);
    const { client: watcher } = await ws(a, watcherReg, { presence: true });
    const { client: wb } = await ws(b, bob);
    const { client: wc } = await ws(c, carol);
    const online = async (cl: WsClient) =>
      new Set(((await cl.ok({ type: "online" })).accounts as { name: string }[]).map((x) => x.name));
    await eventually(
      async () => {
        const names = await online(watcher);
        return names.has(bob.name) && names.has(carol.name) && names.has(watcherReg.name);
      },
      10_000,
      "bob and carol online as seen from the first process",
    );

    // A client connected to a process after the others were online sees them too.
    const late = await register(b);
    const { client: wl } = await ws(b, late);
    const names = await online(wl);
    for (const n of [bob.name, carol.name, watcherReg.name]) assert.ok(names.has(n), `${n} online as seen from the second`);

    // Typing on the third process reaches a member on the first.
    const room = uniq("typing");
    const roomId = (await watcher.ok({ type: "create", name: room })).membership.room.id as string;
    await wc.ok({ type: "join", room });
    const from = watcher.frames.length;
    await wc.ok({ type: "typing", room: roomId, typing: true });
    const typing = await watcher.waitFor((f: Frame) => f.type === "typing" && f.accountId === carol.account.id, {
      from,
      timeout: 10_000,
    });
    assert.equal(typing.typing, true);

    // A member list on the second process shows carol (on the third) online.
    await wb.ok({ type: "join", room });
    const members = (await wb.ok({ type: "members", room: roomId })).members as { name: string; online: boolean }[];
    assert.equal(members.find((m) => m.name === carol.name)?.online, true);

    // kill -9 the third process while carol is typing: nobody is left there to say goodbye, yet
    // carol goes offline and her typing stops.
    await wc.ok({ type: "typing", room: roomId, typing: true }); // still typing (repeats are spaced 3 s)
    const killedAt = watcher.frames.length;
    await c.kill9();
    const offline = await watcher.waitFor(
      (f: Frame) => f.type === "presence" && f.accountId === carol.account.id && f.online === false,
      { from: killedAt, timeout: 15_000 },
    );
    assert.ok(offline);
    const stopped = await watcher.waitFor(
      (f: Frame) => f.type === "typing" && f.accountId === carol.account.id && f.typing === false,
      { from: killedAt, timeout: 15_000 },
    );
    assert.equal(stopped.roomId, roomId);
    assert.equal((await online(watcher)).has(carol.name), false);
    assert.equal((await online(watcher)).has(bob.name), true, "bob on a live process stays online");
    await c.restart();
  });
});

describe("kill -9 of a process during a burst", () => {
  it("its clients reconnect to another process, resume and retry: nothing lost, nothing twice", async () => {
    const [a, b, c] = nodes as [TestServer, TestServer, TestServer];
    const room = uniq("burst");
    const owner = await register(a);
    const { client: wo } = await ws(a, owner);
    const roomId = (await wo.ok({ type: "create", name: room })).membership.room.id as string;

    // A sender and a reader on the process that will die, a sender and a reader elsewhere.
    const senderB = await register(b);
    const readerB = await register(b);
    const senderA = await register(a);
    const readerC = await register(c);
    for (const [node, reg] of [
      [b, senderB],
      [b, readerB],
      [a, senderA],
      [c, readerC],
    ] as const) {
      const { client } = await ws(node, reg);
      await client.ok({ type: "join", room });
      client.terminate();
    }
    let { client: sb } = await ws(b, senderB);
    let { client: rb } = await ws(b, readerB);
    const { client: sa } = await ws(a, senderA);
    const { client: rc, welcome } = await ws(c, readerC);
    const base = (welcome.rooms as { room: { id: string; lastSeq: number } }[]).find((m) => m.room.id === roomId)!.room.lastSeq;
    const readerBEvents: RoomEvent[] = [];

    const N = 150;
    const acked = new Map<string, number>(); // clientId → seq
    const senderLoop = async (tag: string, get: () => WsClient, reconnect: () => Promise<WsClient>) => {
      for (let i = 0; i < N; i++) {
        const clientId = `${tag}-${i}`;
        for (;;) {
          try {
            const r = await get().ok({ type: "send", room: roomId, clientId, body: clientId });
            acked.set(clientId, r.seq as number);
            break;
          } catch {
            // The process died under us: reconnect elsewhere and send the same clientId again.
            await reconnect();
          }
        }
      }
    };
    let killed = false;
    const failover = async (): Promise<WsClient> => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        try {
          sb = (await ws(a, senderB)).client;
          return sb;
        } catch (err) {
          if (Date.now() > deadline) throw err;
        }
      }
    };
    const running = Promise.all([
      senderLoop(
        "a",
        () => sa,
        async () => sa,
      ),
      senderLoop("b", () => sb, failover),
    ]);
    await eventually(() => acked.size >= N / 2, 20_000, "half the burst");
    await b.kill9();
    killed = true;
    // Reader B resumes on the third process from the last event it got.
    readerBEvents.push(...rb.eventsIn(roomId).filter((e) => e.seq > base));
    const resumeFrom = readerBEvents.at(-1)?.seq ?? base;
    rb = (await ws(c, readerB, { resume: { [roomId]: resumeFrom } })).client;
    await running;
    assert.ok(killed);

    const last = Math.max(...acked.values());
    await rc.waitForSeq(roomId, last, 20_000);
    await rb.waitForSeq(roomId, last, 20_000);
    readerBEvents.push(...rb.eventsIn(roomId));

    for (const [who, events] of [
      ["the reader that stayed", rc.eventsIn(roomId).filter((e) => e.seq > base)],
      ["the reader that moved", readerBEvents],
    ] as const) {
      const upTo = events.filter((e) => e.seq <= last);
      assert.equal(
        contiguous(
          upTo.map((e) => e.seq),
          base + 1,
        ),
        null,
        `${who}: no gap, no duplicate`,
      );
      const bodies = messages(upTo).map(bodyOf);
      assert.equal(new Set(bodies).size, bodies.length, `${who}: no message twice`);
      for (const [clientId, seq] of acked) {
        const e = upTo.find((x) => x.seq === seq);
        assert.equal(e && bodyOf(e), clientId, `${who}: acked ${clientId} at seq ${seq}`);
      }
    }
    assert.equal(acked.size, 2 * N);
    // The history holds each message exactly once, whatever was retried.
    const ids: string[] = [];
    for (let after = base; ; ) {
      const page = await wo.ok({ type: "history", room: roomId, after, limit: 100 });
      const got = page.messages as { clientId: string | null; seq: number }[];
      for (const m of got) if (m.clientId !== null) ids.push(m.clientId);
      if (!page.more || got.length === 0) break;
      after = got.at(-1)!.seq;
    }
    assert.equal(ids.length, 2 * N);
    assert.equal(new Set(ids).size, 2 * N);
    await b.restart();
  });
});
