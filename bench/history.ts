// `npm run bench:history`: how fast Parley serves history from a room with a large log. The
// room is filled through the SQLite store (bench/seed.ts) before the server starts; then one
// WebSocket client asks, one request at a time, for the latest 50 messages and for pages of 100
// older messages before random positions, and records each request's round trip (request
// written → reply parsed, so it includes the WebSocket and JSON work on both sides).
//
// Run with --help for the flags; docs/benchmarks.md has the method and the figures.

import { type ChildProcess, spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type PerformanceEntry, PerformanceObserver } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import WebSocket from "ws";
import { cpuSeconds, Histogram, intFlag } from "./lib.ts";
import { freePort, HOST, killChildren, parleyCommand, placement, ROOT, sleep, start, stop, waitHealthy } from "./proc.ts";
import { bulkBody, Seeder } from "./seed.ts";

const HELP = `npm run bench:history -- [flags]      (or: npx tsx bench/history.ts [flags])

Seeds a room with N messages through the SQLite store, starts Parley on it (${HOST}, free port,
CPU 0 when taskset works) and measures, over one WebSocket, the round trip of
  latest   history {room, limit: 50}                      (the newest 50 messages)
  older    history {room, before: <random seq>, limit: 100} (a page of 100 older messages)
  ping     ping {}                                        (the floor: a round trip that reads nothing)
one request at a time, the three kinds interleaved; reports p50/p90/p99/max per kind, the server's and the client's CPU
time per request, and how often the client ran on the server's CPU.

Flags:
  --quick              100,000 messages, 2,000 requests of each kind
  --messages N         messages in the room (default 1,000,000; the target is about 10,000,000,
                       which takes several minutes to generate)
  --requests N         requests of each kind (default 10,000)
  --body-bytes N       size of each message body (default 64)
  --keep DIR           keep the seeded data dir in DIR and reuse it when it exists (saves the
                       generation on later runs)
  --no-pin             do not pin the server with taskset
  --pin-client         pin this process (the client) to the other CPU (by default it goes where
                       the kernel puts it, which on a busy machine is often the server's CPU)
  --no-client-gc       let the client collect garbage whenever V8 decides, inside measured round trips too
  --cold               do not read the database file once before the server starts (see below)
  --profile DIR        run the server under node --cpu-prof, writing its .cpuprofile to DIR
  --out DIR            where the JSON goes (default .bench)
  --help               this text

Before the server starts, the database file is read once from start to end, so that the pages
the random older pages land on come from the OS page cache as they would on a server that has
been running for a while with enough memory, not from the disk (a 10M room is ~3.6 GiB and a
run touches ~50,000 of its ~900,000 pages once each). --cold measures without that.`;

interface Options {
  messages: number;
  requests: number;
  bodyBytes: number;
  keep: string | null;
  pin: boolean;
  pinClient: boolean;
  cold: boolean;
  clientGc: boolean;
  profile: string | null;
  out: string;
}

function parseFlags(argv: string[]): Options | null {
  const quick = argv.includes("--quick");
  const o: Options = {
    messages: quick ? 100_000 : 1_000_000,
    requests: quick ? 2000 : 10_000,
    bodyBytes: 64,
    keep: null,
    pin: true,
    pinClient: false,
    cold: false,
    clientGc: true,
    profile: null,
    out: join(ROOT, ".bench"),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => argv[++i];
    switch (a) {
      case "--help":
      case "-h":
        return null;
      case "--quick":
        break;
      case "--messages":
        o.messages = intFlag(v(), a, 1000, 100_000_000);
        break;
      case "--requests":
        o.requests = intFlag(v(), a, 1, 1_000_000);
        break;
      case "--body-bytes":
        o.bodyBytes = intFlag(v(), a, 1, 4000);
        break;
      case "--keep":
        o.keep = resolve(v() ?? "");
        break;
      case "--no-pin":
        o.pin = false;
        break;
      case "--pin-client":
        o.pinClient = true;
        break;
      case "--no-client-gc":
        o.clientGc = false;
        break;
      case "--cold":
        o.cold = true;
        break;
      case "--profile":
        o.profile = resolve(v() ?? "");
        break;
      case "--out":
        o.out = resolve(v() ?? "");
        break;
      default:
        throw new Error(`unknown flag ${a} (see --help)`);
    }
  }
  return o;
}

const ROOM = "history-bench";

/** Fills `dir` with a room of `n` messages unless a previous --keep run did; checks the room either way. */
async function seed(dir: string, o: Options): Promise<{ seedS: number | null; lastSeq: number }> {
  // "bulk": written by Seeder.roomWithHistory's direct inserts (bodies `#k#xxx…`).
  const marker = join(dir, `seeded-bulk-${o.messages}-${o.bodyBytes}`);
  let seedS: number | null = null;
  if (existsSync(marker)) {
    process.stdout.write(`  reusing the ${o.messages.toLocaleString("en")}-message room in ${dir}\n`);
  } else {
    rmSync(join(dir, "data"), { recursive: true, force: true });
    const seeder = new Seeder(join(dir, "data"));
    const started = Date.now();
    let shown = 0;
    await seeder.roomWithHistory(ROOM, o.messages, o.bodyBytes, (done) => {
      if (done - shown >= 1_000_000 || done === o.messages) {
        shown = done;
        const s = (Date.now() - started) / 1000;
        process.stdout.write(`  wrote ${done.toLocaleString("en")} messages in ${s.toFixed(0)} s\n`);
      }
    });
    seedS = (Date.now() - started) / 1000;
    process.stdout.write(`  generated with the full-text index in ${seedS.toFixed(0)} s\n`);
    await seeder.close();
    writeFileSync(marker, "");
  }
  // Whatever wrote it: the room's seq is gap-free and the search index has its first and last message.
  const seeder = new Seeder(join(dir, "data"));
  try {
    const room = await seeder.store.findRoom(ROOM);
    if (!room) throw new Error(`the data dir has no room ${ROOM}`);
    const { messages, lastSeq } = seeder.checkGapFree(room.id);
    if (messages !== o.messages) throw new Error(`the room has ${messages} messages, not ${o.messages}`);
    for (const k of [0, o.messages - 1]) {
      const found = await seeder.store.search([room.id], [`#${k}#`], { limit: 2 });
      if (found.messages.length !== 1 || found.messages[0]!.body !== bulkBody(k, o.bodyBytes)) {
        throw new Error(`search for message ${k} found ${found.messages.length} messages`);
      }
    }
    return { seedS, lastSeq };
  } finally {
    await seeder.close();
  }
}

/**
 * The client's own garbage collection, which must not be counted as the server's latency: with
 * `between()` called before each request, it collects its young generation every few requests,
 * outside the measured spans (a scavenge takes 0.3-2 ms, and JSON.parse of 100 messages fills a
 * small young generation every ~60 requests: 1.5% of them, right at the p99). It also keeps the
 * collections V8 reports, so that `inside` can count the spans one still fell into.
 */
class ClientGc {
  private requests = 0;
  private readonly collections: { start: number; end: number }[] = [];
  private readonly collect: ((opts: { type: "minor" }) => void) | null;
  private readonly observer = new PerformanceObserver((list) => this.keep(list.getEntries()));

  constructor(enabled: boolean) {
    if (enabled) setFlagsFromString("--expose-gc");
    this.collect = enabled ? (runInNewContext("gc") as (opts: { type: "minor" }) => void) : null;
    this.observer.observe({ entryTypes: ["gc"] });
  }

  between(): void {
    if (++this.requests % 8 === 0) this.collect?.({ type: "minor" });
  }

  /** How many of the spans (performance.now() times) a collection overlapped. */
  inside(spans: [number, number][]): number {
    this.keep(this.observer.takeRecords());
    this.observer.disconnect();
    return spans.filter(([t0, t1]) => this.collections.some((c) => c.start < t1 && c.end > t0)).length;
  }

  private keep(entries: PerformanceEntry[]): void {
    for (const e of entries) this.collections.push({ start: e.startTime, end: e.startTime + e.duration });
  }
}

/** The CPU this process's main thread last ran on (field 39 of /proc/self/stat), -1 when unknown. */
function clientCpu(): number {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    // Fields after the command name (which may contain spaces) start after the last ')', at field 3.
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[36]);
  } catch {
    return -1;
  }
}

/** Reads a file from start to end (into the OS page cache); returns the seconds it took. */
function readThrough(file: string): number {
  const started = performance.now();
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(file, "r");
  try {
    while (readSync(fd, buf, 0, buf.length, null) > 0);
  } finally {
    closeSync(fd);
  }
  return (performance.now() - started) / 1000;
}

/** One WebSocket client that sends a request and waits for its reply. */
class Client {
  private next = 1;
  private waiting: { id: number; resolve: (f: Record<string, unknown>) => void } | null = null;

  private constructor(private readonly ws: WebSocket) {
    ws.on("message", (data: Buffer) => {
      const f = JSON.parse(data.toString("utf8")) as Record<string, unknown>;
      if (this.waiting && f.id === this.waiting.id) {
        const w = this.waiting;
        this.waiting = null;
        w.resolve(f);
      }
    });
  }

  static open(url: string): Promise<Client> {
    return new Promise((resolveOpen, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      ws.once("open", () => resolveOpen(new Client(ws)));
      ws.once("error", reject);
    });
  }

  request(frame: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.next++;
    return new Promise((resolveReply) => {
      this.waiting = { id, resolve: resolveReply };
      this.ws.send(JSON.stringify({ ...frame, id }));
    });
  }

  close(): void {
    this.ws.terminate();
  }
}

/**
 * The server's young-generation collections so far, from its /metrics (prom-client's GC
 * histogram, kind "minor"): how many, and their total seconds. Read outside the measured loop.
 */
async function serverScavenges(port: number): Promise<{ count: number; seconds: number }> {
  const text = await (await fetch(`http://${HOST}:${port}/metrics`)).text();
  // The series appears at the first collection of its kind.
  const value = (name: string) => Number(new RegExp(`^${name}\\{kind="minor"\\} (\\S+)$`, "m").exec(text)?.[1] ?? 0);
  return { count: value("parley_nodejs_gc_duration_seconds_count"), seconds: value("parley_nodejs_gc_duration_seconds_sum") };
}

/** A page of `want` messages with consecutive seqs, ending at `last` when given. */
function check(reply: Record<string, unknown>, want: number, last?: number): void {
  const result = reply.result as { messages?: { seq: number }[] } | undefined;
  const seqs = result?.messages?.map((m) => m.seq) ?? [];
  const consecutive = seqs.every((q, k) => k === 0 || q === seqs[k - 1]! + 1);
  if (reply.type !== "ok" || seqs.length !== want || !consecutive || (last !== undefined && seqs.at(-1) !== last)) {
    throw new Error(`unexpected history reply: ${JSON.stringify(reply).slice(0, 300)}`);
  }
}

async function main(): Promise<void> {
  let o: Options | null;
  try {
    o = parseFlags(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  if (!o) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const started = Date.now();
  const place = placement(o.pin);
  process.stdout.write(
    `bench:history: ${cpus().length} cores (${cpus()[0]?.model.trim()}), node ${process.version}, load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}; server on CPU ${place.server ?? "any"}\n`,
  );
  // A client sharing the server's CPU takes turns with it: its JSON.parse and the server's work
  // after the write (a scavenge, say) then add up inside a round trip.
  if (o.pinClient && place.worker !== null) {
    spawnSync("taskset", ["-a", "-p", "-c", String(place.worker), String(process.pid)], { stdio: "ignore" });
  }
  const dir = o.keep ?? mkdtempSync(join(tmpdir(), "parley-bench-history-"));
  mkdirSync(dir, { recursive: true });
  let server: ChildProcess | null = null;
  let client: Client | null = null;
  try {
    const seeded = await seed(dir, o);
    const dbBytes = statSync(join(dir, "data", "parley.db")).size;
    const warmS = o.cold ? null : readThrough(join(dir, "data", "parley.db"));
    if (warmS !== null) process.stdout.write(`  read the database once in ${warmS.toFixed(1)} s (into the OS page cache)\n`);
    const port = await freePort();
    // One client asks as fast as it can: lift the per-connection request limit.
    server = start(
      parleyCommand(
        dir,
        { http: port },
        { limits: { connectionRequests: { burst: 1e9, perSecond: 1e9 } } },
        o.profile ? ["--cpu-prof", `--cpu-prof-dir=${o.profile}`] : [],
      ),
      place.server,
      false,
    );
    await waitHealthy(port, server);
    client = await Client.open(`ws://${HOST}:${port}/ws`);
    const welcome = await client.request({ type: "hello", guest: "reader" });
    if (welcome.type !== "welcome") throw new Error(`hello refused: ${JSON.stringify(welcome)}`);
    const joined = (await client.request({ type: "join", room: ROOM })) as {
      result?: { membership?: { room: { id: string; lastSeq: number } } };
    };
    const room = joined.result?.membership?.room;
    if (!room) throw new Error(`join refused: ${JSON.stringify(joined)}`);
    await sleep(500);
    const latest = new Histogram();
    const older = new Histogram();
    const ping = new Histogram();
    const clientGc = new ClientGc(o.clientGc);
    // CPU per request, to tell where a round trip's time goes whatever else the machine runs:
    // the server's from /proc (clock ticks, summed over many requests), the client's own from
    // getrusage (the /proc reads themselves are outside the measured span).
    const serverPid = server.pid!;
    const cpu = { latest: { server: 0, client: 0 }, older: { server: 0, client: 0 }, ping: { server: 0, client: 0 } };
    let serverCpu = cpuSeconds(serverPid);
    const spans: Record<keyof typeof cpu, [number, number][]> = { latest: [], older: [], ping: [] };
    const onServerCpu = { latest: 0, older: 0, ping: 0 };
    const timed = async (h: Histogram, kind: keyof typeof cpu, frame: Record<string, unknown>) => {
      clientGc.between();
      const c = process.cpuUsage();
      const t = performance.now();
      const reply = await client!.request(frame);
      const end = performance.now();
      h.add(end - t);
      spans[kind].push([t, end]);
      const used = process.cpuUsage(c);
      cpu[kind].client += (used.user + used.system) / 1e6;
      const now = cpuSeconds(serverPid);
      cpu[kind].server += now - serverCpu;
      serverCpu = now;
      if (place.server !== null && clientCpu() === place.server) onServerCpu[kind]++;
      return reply;
    };
    // Warm up the JIT and SQLite's page cache the way a running server would be.
    for (let i = 0; i < 200; i++) check(await client.request({ type: "history", room: room.id, limit: 50 }), 50);
    serverCpu = cpuSeconds(serverPid);
    const scavengesBefore = await serverScavenges(port);
    for (let i = 0; i < o.requests; i++) {
      check(await timed(latest, "latest", { type: "history", room: room.id, limit: 50 }), 50, seeded.lastSeq);
      // Any position with at least 100 messages before it (the room's seqs start with the author's join).
      const before = 102 + Math.floor(Math.random() * (room.lastSeq - 101));
      check(await timed(older, "older", { type: "history", room: room.id, before, limit: 100 }), 100, before - 1);
      // What the machine, the socket and the two event loops cost alone: if this row's p99 is near
      // the others', their tail is not the history read's.
      const pong = await timed(ping, "ping", { type: "ping" });
      if (pong.type !== "ok") throw new Error(`unexpected ping reply: ${JSON.stringify(pong).slice(0, 300)}`);
    }
    const scavengesAfter = await serverScavenges(port);
    const scavenges = {
      per1000: ((scavengesAfter.count - scavengesBefore.count) / (2 * o.requests)) * 1000,
      meanMs:
        ((scavengesAfter.seconds - scavengesBefore.seconds) / Math.max(1, scavengesAfter.count - scavengesBefore.count)) * 1000,
    };
    const gcInSpans = { latest: clientGc.inside(spans.latest), older: clientGc.inside(spans.older) };
    const us = (s: number) => ((s / o.requests) * 1e6).toFixed(0);
    const row = (name: string, h: Histogram, kind: keyof typeof cpu) =>
      `| ${name} | ${h.quantile(0.5).toFixed(2)} | ${h.quantile(0.9).toFixed(2)} | ${h.quantile(0.99).toFixed(2)} | ${h.max.toFixed(2)} | ${us(cpu[kind].server)} | ${us(cpu[kind].client)} |`;
    const text = [
      `History of a room with ${o.messages.toLocaleString("en")} messages (${o.bodyBytes}-byte bodies; database ${(dbBytes / 2 ** 20).toFixed(0)} MiB), ${o.requests.toLocaleString("en")} requests of each kind, one at a time; round trip in ms:`,
      "",
      "| request | p50 | p90 | p99 | max | server CPU µs | client CPU µs |",
      "|---|---:|---:|---:|---:|---:|---:|",
      row("latest 50", latest, "latest"),
      row("100 before a random seq", older, "older"),
      row("ping (the floor)", ping, "ping"),
      "",
      `Server scavenges (young-generation collections) per 1,000 history requests (either kind; the pings between them not counted): ${scavenges.per1000.toFixed(1)}, ${scavenges.meanMs.toFixed(2)} ms each on average.`,
      `Requests during which the client collected garbage: latest ${gcInSpans.latest}, older ${gcInSpans.older} (${o.clientGc ? "it collects its young generation between requests" : "--no-client-gc"}).`,
      place.server === null
        ? "The server was not pinned."
        : `Requests after which the client was on the server's CPU ${place.server}: latest ${onServerCpu.latest}, older ${onServerCpu.older}${o.pinClient ? ` (client pinned to CPU ${place.worker})` : ""}.`,
    ].join("\n");
    process.stdout.write(`\n${text}\n`);
    mkdirSync(o.out, { recursive: true });
    const file = join(o.out, `history-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
    const q = (h: Histogram) => ({ p50: h.quantile(0.5), p90: h.quantile(0.9), p99: h.quantile(0.99), max: h.max });
    writeFileSync(
      file,
      `${JSON.stringify({ when: new Date().toISOString(), seconds: (Date.now() - started) / 1000, options: o, loadavg: loadavg(), seedS: seeded.seedS, warmS, dbBytes, latest: q(latest), older: q(older), ping: q(ping), clientGcInSpans: gcInSpans, clientOnServerCpu: onServerCpu, serverScavenges: scavenges, cpuPerRequestUs: { latest: { server: Number(us(cpu.latest.server)), client: Number(us(cpu.latest.client)) }, older: { server: Number(us(cpu.older.server)), client: Number(us(cpu.older.client)) }, ping: { server: Number(us(cpu.ping.server)), client: Number(us(cpu.ping.client)) } }, table: text }, null, 2)}\n`,
    );
    process.stdout.write(`wrote ${file} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  } finally {
    client?.close();
    if (server) await stop(server);
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  }
}

process.on("SIGINT", () => {
  killChildren();
  process.exit(130);
});

main().catch((err) => {
  process.stderr.write(`bench:history failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  killChildren();
  process.exit(1);
});
