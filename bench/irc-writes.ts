// What one IRC delivery costs, split into the socket write and the lines in it: N IrcClients on
// real loopback sockets each get k channel messages (as the hub hands them out) and then one
// flush, and the CPU (user + system) of that synchronous section is divided per client and per
// line. The reading ends are drained outside the measured sections. No store, hub or parsing:
// only the gateway's per-recipient path and the kernel's TCP loopback write. With `--hub` each
// client is behind a core Connection and the events go through the Hub (via the in-process bus),
// as in the server: the whole per-recipient path of a channel message, store aside. With `--cold`
// the caches are flushed (32 MB walked) before each turn, as the server's other work between two
// messages does, and only the delivery is timed (median over turns, wall clock): what handing a
// message to 1,000 recipients costs when their objects are not in cache.
//
//   npx tsx bench/irc-writes.ts [--clients 1000] [--turns 300] [--hub] [--cold] [--lines 1,2,4,8,16]

import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import { LocalBus } from "../src/bus/local.ts";
import type { ChatContext } from "../src/core/chat.ts";
import { Connection } from "../src/core/connection.ts";
import { Hub, roomTopic } from "../src/core/hub.ts";
import type { Store } from "../src/core/ports.ts";
import type { Account, Membership, RoomEvent } from "../src/core/types.ts";
import { IrcClient } from "../src/protocols/irc/client.ts";
import { defaultIrcOptions } from "../src/protocols/irc/options.ts";
import type { IrcGateway } from "../src/protocols/irc/server.ts";
import { emptyChannel } from "../test/helpers/irc-channel.ts";

const args = process.argv.slice(2);
if (args.includes("--help")) {
  console.log("npx tsx bench/irc-writes.ts [--clients N (1000)] [--turns T (300)] [--hub] [--cold] [--lines 1,2,4,8,16]");
  process.exit(0);
}
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const N = flag("--clients", 1000);
const TURNS = flag("--turns", 300);
const HUB = args.includes("--hub");
const COLD = args.includes("--cold");
const LINES = (args.includes("--lines") ? args[args.indexOf("--lines") + 1]! : "1,2,4,8,16").split(",").map(Number);

const gw = {
  opts: { ...defaultIrcOptions },
  metrics: { disconnects: { inc: () => {} }, errors: { inc: () => {} } },
  isGuest: () => true,
  nextBatchId: () => "b1",
} as unknown as IrcGateway;

/** The room's id: as long as a real one. */
const ROOM = `r1${"0".repeat(24)}`;
/**
 * A copy of the room's id in its own string, as the server has: each connection's memberships and each
 * event come from their own store reads, so equal ids are rarely the same string.
 */
function fresh(): string {
  return Buffer.from(ROOM).toString("latin1");
}

const server = createServer();
const accepted: Socket[] = [];
server.on("connection", (s) => accepted.push(s));
server.listen(0, "127.0.0.1");
await once(server, "listening");
const port = (server.address() as { port: number }).port;
const readers: Socket[] = [];
for (let i = 0; i < N; i++) {
  const r = connect(port, "127.0.0.1");
  r.on("data", () => {});
  readers.push(r);
  if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 20));
}
while (accepted.length < N) await new Promise((resolve) => setTimeout(resolve, 10));
const clients = accepted.map((socket, i) => {
  const c = new IrcClient(gw, socket, false);
  c.nick = `u${i}`;
  c.account = { id: `a-u${i}`, name: c.nick } as IrcClient["account"];
  c.registered = true;
  c.channels.set(emptyChannel(fresh()));
  return c;
});

// The core side (--hub): a Hub on the in-process bus, and a Connection per client following the room.
const bus = new LocalBus();
const store = { getRoom: async () => ({ lastSeq: 0 }) } as unknown as Store;
const hub = new Hub(store, bus, "bench");
if (HUB) {
  const ctx = { hub, store, bus } as unknown as ChatContext;
  for (const c of clients) {
    const room = { id: fresh(), lastSeq: 0 } as Membership["room"];
    const conn = new Connection(ctx, c.account as Account, c, false, null);
    c.connection = conn;
    await conn.open([{ room, role: "member", muted: false, readSeq: 0, unread: 0 }], {});
  }
}

let seq = 0;
function message(): RoomEvent {
  const roomId = fresh();
  seq++;
  const at = Date.now();
  const m = { id: `m${seq}`, roomId, seq, authorId: "a-sender", author: "sender", clientId: `web-${seq}` };
  return {
    roomId,
    seq,
    at,
    type: "message",
    actorId: "a-sender",
    actor: "sender",
    message: {
      ...m,
      body: `${"x".repeat(64)} ${seq}`,
      replyTo: null,
      createdAt: at,
      editedAt: null,
      deleted: false,
      reactions: {},
    },
  } as RoomEvent;
}

const evictor = new Float64Array(4 << 20);
let evicted = 0;

/** Reads and writes 32 MB, so what the delivery touches next comes from memory. */
function evict(): void {
  for (let i = 0; i < evictor.length; i += 8) evictor[i] = evictor[i]! + 1;
  evicted += evictor[0]!;
}

/** Hands k events to every client (through the hub with --hub). */
async function deliver(events: RoomEvent[]): Promise<void> {
  // The bus delivers each publish a microtask later and the hub hands them over as one run a
  // microtask after the first, so all k are delivered once these resolve (the extra await is a margin).
  if (HUB) {
    await Promise.all(events.map((event) => bus.publish(roomTopic(ROOM), { kind: "room", event })));
    await null;
  } else for (const c of clients) c.roomEvents(events);
}

/**
 * One turn: k events to every client, then every client's flush; returns its CPU µs (with
 * --cold: the delivery's wall-clock µs, the flush not counted).
 */
async function turn(k: number): Promise<number> {
  const events = Array.from({ length: k }, message);
  if (COLD) {
    evict();
    const started = performance.now();
    await deliver(events);
    const took = (performance.now() - started) * 1000;
    for (const c of clients) c.flush();
    return took;
  }
  const start = process.cpuUsage();
  await deliver(events);
  for (const c of clients) c.flush();
  const d = process.cpuUsage(start);
  return d.user + d.system;
}

const rest = () => new Promise((resolve) => setTimeout(resolve, 5));
console.log(
  `${N} clients, ${TURNS} turns per row${HUB ? ", through the hub" : ""}${COLD ? ", cold caches, delivery only (median)" : ""}`,
);
console.log("| lines per write | µs per client write | µs per delivery |");
console.log("|---:|---:|---:|");
for (const k of LINES) {
  for (let i = 0; i < 20; i++) {
    await turn(k);
    await rest();
  }
  const took: number[] = [];
  for (let i = 0; i < TURNS; i++) {
    took.push(await turn(k));
    await rest();
  }
  // Summed CPU for the usual rows; with --cold the median turn (wall time, so preemption shows).
  const us = COLD ? took.sort((a, b) => a - b)[took.length >> 1]! * TURNS : took.reduce((a, b) => a + b, 0);
  console.log(`| ${k} | ${(us / (TURNS * N)).toFixed(3)} | ${(us / (TURNS * N * k)).toFixed(3)} |`);
}
if (evicted < 0) console.log(evicted); // keeps the eviction loop from being optimised away
for (const r of readers) r.destroy();
server.close();
