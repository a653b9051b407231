// `npm run bench:sessions`: what a connection costs Parley. Two measurements, each against a
// fresh server with a pre-seeded database (bench/seed.ts), the connecting done by a child
// process pinned to another core:
//
// - idle memory: N connections per protocol are opened, logged in and left idle; the server's
//   resident memory after a full garbage collection (forced through the inspector: what V8's
//   memory reducer reaches by itself once the server idles, some 30–40 s after traffic stops, or
//   sometimes not for minutes) minus its memory before any connection (collected too), divided by
//   N; the same 3 s after the last connection opened, without a collection (the connect burst's
//   garbage included, as much as V8 has not collected yet); and the marginal cost: the second
//   half's growth divided by N/2, 3 s after each (the connections open in two halves). With
//   --idle-cpu S, also the server's CPU while those connections idle: from 10 s after the last
//   one opened, for S seconds (optionally profiled over that window only). Protocols: Parley over
//   WebSocket (hello as a guest that is already a member of #lobby), Parley's line mode and its
//   IRC gateway (NICK/USER as the same guests, which puts them in #lobby), and the bare `ws`
//   broadcast peer (bench/peers/ws-broadcast.ts) as reference.
// - connection rate: K new WebSocket sessions, each authenticated by a session token (hello
//   {token} → welcome), with C handshakes in flight; sessions/s and server CPU µs per session.
//
// Run with --help for the flags; docs/benchmarks.md has the method and the figures.

import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import WebSocket from "ws";
import { cpuSeconds, intFlag, machineCpuSeconds, mono } from "./lib.ts";
import {
  freePort,
  HOST,
  killChildren,
  type Placement,
  parleyCommand,
  placement,
  ROOT,
  rssKiB,
  sleep,
  start,
  stop,
  waitHealthy,
} from "./proc.ts";
import { Seeder } from "./seed.ts";

/** The inspector on a loopback port, for the idle-memory servers' forced collections (collectGarbage). */
const inspectFlag = (port: number) => `--inspect=${HOST}:${port}`;

const nodeFlags = (o: Options) => [
  ...(o.profile ? ["--cpu-prof", `--cpu-prof-dir=${o.profile}`] : []),
  ...(o.heapSnapshot ? ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${o.heapSnapshot}`] : []),
];

/**
 * Thousands of logins from one address in a few seconds are the point here, not abuse: the
 * per-address and total connection limits and the login rates are lifted (loopback is exempt
 * from most of them anyway; this does not depend on it).
 */
const CONFIG = {
  limits: {
    joins: { burst: 100_000, perSecond: 100_000 },
    maxConnections: 0,
    maxConnectionsPerAddress: 0,
    logins: { burst: 100_000, perSecond: 100_000 },
  },
  irc: { maxConnectionsPerAddress: 0, loginRate: { burst: 100_000, perSecond: 100_000 }, motd: [] },
};

type MemoryTarget = "ws" | "line" | "irc" | "bare";
const MEMORY_TARGETS: MemoryTarget[] = ["ws", "line", "irc", "bare"];

/** What the parent asks of the worker process. */
interface WorkerConfig {
  kind: MemoryTarget | "ws-token";
  host: string;
  port: number;
  /** Guest names (ws, line, irc) or session tokens (ws-token); bare needs only the count. */
  logins: string[];
  count: number;
  concurrency: number;
}

type FromWorker = { ev: "ready" } | { ev: "open"; opened: number; failed: number; firstError: string | null };
type Opened = Extract<FromWorker, { ev: "open" }>;

const HELP = `npm run bench:sessions -- [flags]      (or: npx tsx bench/sessions.ts [flags])

Idle memory per connection and the rate of new authenticated sessions. Each measurement starts
its own server (${HOST}, free ports, a temp data dir seeded through the SQLite store) pinned to
CPU 0, and a connecting process pinned to CPU 1 (taskset, when there are two cores or more).

Flags:
  --quick              1 run, 2,000 connections and 2,000 sessions: well under two minutes
  --connections N      idle connections per protocol (default 10000)
  --memory a,b,…       protocols for idle memory: ws, line, irc, bare (default all; "none" skips)
  --sessions K         new WebSocket sessions for the connection rate (default 5000; 0 skips)
  --concurrency C      connections being opened at once (default 100)
  --generators G       connecting processes for the session rate, sharing the sessions and the
                       concurrency (default 1; all on the connecting CPU, or anywhere with --no-pin)
  --runs N             repetitions (default 3; --quick 1); medians with [min–max]
  --profile DIR        run the servers under node --cpu-prof, writing the profiles to DIR
  --idle-cpu S         also measure the server's CPU while the idle connections stay open: from
                       10 s after the last one opened, for S seconds (0 = not measured, the
                       default); ms of CPU per second, per 1,000 connections, and the event
                       loop's wake-ups per second (the main thread's voluntary context switches)
  --idle-profile DIR   with --idle-cpu: a CPU profile (.cpuprofile) of that window only, taken
                       through the server's inspector, written to DIR
  --heap-snapshot DIR  write a heap snapshot of each idle-memory server (Parley) to DIR once its
                       connections are open; summarize it with npx tsx bench/heap-summary.ts FILE
  --no-pin             do not pin with taskset
  --out DIR            where the JSON goes (default .bench)
  --help               this text`;

interface Options {
  connections: number;
  memory: MemoryTarget[];
  sessions: number;
  concurrency: number;
  generators: number;
  runs: number;
  pin: boolean;
  profile: string | null;
  idleCpuS: number;
  idleProfile: string | null;
  heapSnapshot: string | null;
  out: string;
  quick: boolean;
}

function parseFlags(argv: string[]): Options | null {
  const quick = argv.includes("--quick");
  const o: Options = {
    connections: quick ? 2000 : 10_000,
    memory: [...MEMORY_TARGETS],
    sessions: quick ? 2000 : 5000,
    concurrency: 100,
    generators: 1,
    runs: quick ? 1 : 3,
    pin: true,
    profile: null,
    idleCpuS: 0,
    idleProfile: null,
    heapSnapshot: null,
    out: join(ROOT, ".bench"),
    quick,
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
      case "--connections":
        o.connections = intFlag(v(), a, 1, 19_000);
        break;
      case "--memory": {
        const list = v() ?? "";
        o.memory = list === "none" ? [] : (list.split(",") as MemoryTarget[]);
        for (const t of o.memory) if (!MEMORY_TARGETS.includes(t)) throw new Error(`--memory: unknown protocol ${t}`);
        break;
      }
      case "--sessions":
        o.sessions = intFlag(v(), a, 0, 19_000);
        break;
      case "--concurrency":
        o.concurrency = intFlag(v(), a, 1, 5000);
        break;
      case "--generators":
        o.generators = intFlag(v(), a, 1, 16);
        break;
      case "--runs":
        o.runs = intFlag(v(), a, 1, 20);
        break;
      case "--profile":
        o.profile = resolve(v() ?? "");
        break;
      case "--idle-cpu":
        o.idleCpuS = intFlag(v(), a, 0, 600);
        break;
      case "--idle-profile":
        o.idleProfile = resolve(v() ?? "");
        mkdirSync(o.idleProfile, { recursive: true });
        break;
      case "--heap-snapshot":
        o.heapSnapshot = resolve(v() ?? "");
        mkdirSync(o.heapSnapshot, { recursive: true });
        break;
      case "--no-pin":
        o.pin = false;
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

/** The next message of a worker of the given kind. */
function fromWorker<K extends FromWorker["ev"]>(worker: ChildProcess, ev: K): Promise<Extract<FromWorker, { ev: K }>> {
  return new Promise((resolveMessage, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${ev}" from a connecting process after 300 s`)), 300_000);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`connecting process exited (${code})`));
    };
    worker.once("exit", onExit);
    worker.once("message", (m: FromWorker) => {
      clearTimeout(timer);
      worker.off("exit", onExit);
      if (m.ev === ev) resolveMessage(m as Extract<FromWorker, { ev: K }>);
      else reject(new Error(`connecting process said ${m.ev}, expected ${ev}`));
    });
  });
}

/**
 * Starts one connecting process per config, waits until all are loaded, then lets them go at
 * once; resolves when every connection is logged in, with the time from the go to the last.
 */
async function openAll(cfgs: WorkerConfig[], cpu: number | null): Promise<{ workers: ChildProcess[]; ms: number }> {
  const workers: ChildProcess[] = [];
  try {
    for (const cfg of cfgs) {
      // The logins go over IPC: thousands of tokens do not fit in a command line.
      const worker = start([process.execPath, "--import", "tsx", "bench/sessions.ts", "--worker"], cpu, true);
      workers.push(worker);
      worker.send(cfg);
    }
    await Promise.all(workers.map((w) => fromWorker(w, "ready")));
    const started = mono();
    const opens = workers.map((w) => fromWorker(w, "open"));
    for (const w of workers) w.send("go");
    const results: Opened[] = await Promise.all(opens);
    const ms = mono() - started;
    const failed = results.reduce((n, r) => n + r.failed, 0);
    if (failed > 0) {
      const count = cfgs.reduce((n, c) => n + c.count, 0);
      throw new Error(`${failed} of ${count} connections failed: ${results.find((r) => r.firstError)?.firstError}`);
    }
    return { workers, ms };
  } catch (err) {
    await Promise.all(workers.map(stop));
    throw err;
  }
}

const LABELS: Record<MemoryTarget, string> = {
  ws: "Parley WebSocket",
  line: "Parley line mode",
  irc: "Parley IRC",
  bare: "bare ws peer",
};

interface MemoryResult {
  target: MemoryTarget;
  run: number;
  connections: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  kibPerConnection: number;
  /** After a full garbage collection once the connections are open: what they keep. */
  rssAfterGcMiB: number;
  gcKibPerConnection: number;
  /** RSS added by the second half of the connections, per connection. */
  marginalKiB: number;
  connectS: number;
  /** With --idle-cpu: the server's CPU over the idle window, and its wake-ups. */
  idle: IdleCpu | null;
}

interface IdleCpu {
  seconds: number;
  cpuMsPerS: number;
  cpuMsPerSPer1000: number;
  /** Voluntary context switches of the server's main thread per second: how often its event loop woke. */
  wakeupsPerS: number;
  /** Cores busy with anything but the server during the window (the connecting process included). */
  othersCores: number;
  /** The server's CPU ms/s by thread: the main one, and the others by name. */
  threads: Record<string, number>;
}

async function measureMemory(o: Options, target: MemoryTarget, run: number, place: Placement): Promise<MemoryResult> {
  const dir = mkdtempSync(join(tmpdir(), "parley-bench-sessions-"));
  const [port, linePort, ircPort, inspectPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  let server: ChildProcess | null = null;
  let workers: ChildProcess[] = [];
  try {
    let names: string[] = [];
    if (target === "bare") {
      const peer = [
        process.execPath,
        inspectFlag(inspectPort),
        "--import",
        "tsx",
        "bench/peers/ws-broadcast.ts",
        "--host",
        HOST,
        "--port",
        String(port),
        "--batch",
      ];
      server = start(peer, place.server, false);
    } else {
      const seeder = new Seeder(join(dir, "data"));
      await seeder.accounts("idle", o.connections, { guest: true, tokens: false });
      await seeder.close();
      names = Array.from({ length: o.connections }, (_, i) => `idle${i}`);
      const ports = { http: port, line: linePort, irc: ircPort };
      server = start(parleyCommand(dir, ports, CONFIG, [inspectFlag(inspectPort), ...nodeFlags(o)]), place.server, false);
    }
    await waitHealthy(port, server);
    await sleep(1000);
    // One baseline for both figures: the server as it idles before any connection, its startup's
    // garbage collected (left in, it would be collected during the connect phase and offset part
    // of what the connections cost).
    await collectGarbage(inspectPort);
    const before = rssKiB(server.pid!);
    // Opened in two halves, the RSS read after each: the second half's cost per connection (the
    // marginal cost at N) leaves out what the server grows once, whatever N (V8's young
    // generation sized up for the connecting burst, compiled code), which the first figure counts.
    const half = Math.floor(o.connections / 2);
    const cfg = (from: number, to: number): WorkerConfig => ({
      kind: target,
      host: HOST,
      port: target === "line" ? linePort : target === "irc" ? ircPort : port,
      logins: names.slice(from, to),
      count: to - from,
      concurrency: o.concurrency,
    });
    const first = await openAll([cfg(0, half)], place.worker);
    workers = first.workers;
    await sleep(3000); // let the logins' garbage be collected and the heap settle
    const middle = rssKiB(server.pid!);
    const second = await openAll([cfg(half, o.connections)], place.worker);
    const lastOpenedAt = mono();
    workers = [...workers, ...second.workers];
    await sleep(3000);
    const after = rssKiB(server.pid!);
    await collectGarbage(inspectPort);
    const afterGc = rssKiB(server.pid!);
    const idle = o.idleCpuS > 0 ? await measureIdleCpu(o, server.pid!, inspectPort, `${target}-${run}`, lastOpenedAt) : null;
    if (o.heapSnapshot && target !== "bare") await heapSnapshot(server.pid!, o.heapSnapshot);
    return {
      target,
      run,
      connections: o.connections,
      rssBeforeMiB: before / 1024,
      rssAfterMiB: after / 1024,
      kibPerConnection: (after - before) / o.connections,
      rssAfterGcMiB: afterGc / 1024,
      gcKibPerConnection: (afterGc - before) / o.connections,
      marginalKiB: (after - middle) / (o.connections - half),
      connectS: (first.ms + second.ms) / 1000,
      idle,
    };
  } finally {
    await Promise.all(workers.map(stop));
    if (server) await stop(server);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One DevTools-protocol session with a server's inspector (on a loopback port). */
async function inspector(inspectPort: number): Promise<{ call(method: string): Promise<unknown>; close(): void }> {
  const targets = (await (await fetch(`http://${HOST}:${inspectPort}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise<void>((resolveOpen, reject) => {
    ws.once("open", () => resolveOpen());
    ws.once("error", reject);
  });
  let nextId = 0;
  const waiting = new Map<number, { resolve(r: unknown): void; reject(e: Error): void }>();
  ws.on("message", (data: Buffer) => {
    const reply = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
    const w = reply.id === undefined ? undefined : waiting.get(reply.id);
    if (!w) return;
    waiting.delete(reply.id!);
    if (reply.error) w.reject(new Error(reply.error.message));
    else w.resolve(reply.result);
  });
  return {
    call: (method) =>
      new Promise((resolveCall, reject) => {
        const id = ++nextId;
        waiting.set(id, { resolve: resolveCall, reject: (e) => reject(new Error(`${method}: ${e.message}`)) });
        ws.send(JSON.stringify({ id, method }));
      }),
    close: () => ws.close(),
  };
}

/**
 * A full garbage collection in the server, through its inspector (the DevTools protocol's
 * HeapProfiler.collectGarbage), done when the call returns.
 */
async function collectGarbage(inspectPort: number): Promise<void> {
  const session = await inspector(inspectPort);
  try {
    await session.call("HeapProfiler.collectGarbage");
  } finally {
    session.close();
  }
  await sleep(500); // the freed pages go back to the system on V8's background threads
}

/** The idle window starts this long after the last connection opened. */
const IDLE_CPU_FROM_MS = 10_000;

/** Voluntary context switches of a process's main thread: each is the event loop going to sleep in its poll. */
function wakeups(pid: number): number {
  const m = /voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/task/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : Number.NaN;
}

/**
 * CPU seconds of a process's threads: its main thread (the event loop) apart, the others (V8's
 * and libuv's workers, all named "node") summed by name.
 */
function threadCpuSeconds(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = tid === String(pid) ? "main" : `${readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim()} (others)`;
      // schedstat's first field: nanoseconds on a CPU (the stat file counts in 10 ms ticks).
      const s = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]) / 1e9;
      byName.set(name, (byName.get(name) ?? 0) + s);
    } catch {
      // the thread ended meanwhile
    }
  }
  return byName;
}

/**
 * The server's CPU over --idle-cpu seconds from IDLE_CPU_FROM_MS after the last connection
 * opened (the connect burst and the forced collection are over by then), and with
 * --idle-profile a CPU profile of that window alone.
 */
async function measureIdleCpu(
  o: Options,
  pid: number,
  inspectPort: number,
  label: string,
  lastOpenedAt: number,
): Promise<IdleCpu> {
  const wait = lastOpenedAt + IDLE_CPU_FROM_MS - mono();
  if (wait > 0) await sleep(wait);
  const profiler = o.idleProfile ? await inspector(inspectPort) : null;
  try {
    if (profiler) {
      await profiler.call("Profiler.enable");
      await profiler.call("Profiler.start");
    }
    const [cpu0, machine0, wake0, threads0, t0] = [
      cpuSeconds(pid),
      machineCpuSeconds(),
      wakeups(pid),
      threadCpuSeconds(pid),
      mono(),
    ];
    await sleep(o.idleCpuS * 1000);
    const [cpu1, machine1, wake1, threads1, t1] = [
      cpuSeconds(pid),
      machineCpuSeconds(),
      wakeups(pid),
      threadCpuSeconds(pid),
      mono(),
    ];
    if (profiler) {
      const { profile } = (await profiler.call("Profiler.stop")) as { profile: unknown };
      const file = join(o.idleProfile!, `idle-${label}-${Date.now()}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      process.stdout.write(`  idle profile: ${file}\n`);
    }
    const seconds = (t1 - t0) / 1000;
    const cpuMsPerS = ((cpu1 - cpu0) * 1000) / seconds;
    return {
      seconds,
      cpuMsPerS,
      cpuMsPerSPer1000: (cpuMsPerS * 1000) / o.connections,
      wakeupsPerS: (wake1 - wake0) / seconds,
      othersCores: (machine1.busy - machine0.busy - (cpu1 - cpu0)) / seconds,
      threads: Object.fromEntries(
        [...threads1]
          .map(([name, s]): [string, number] => [name, ((s - (threads0.get(name) ?? 0)) * 1000) / seconds])
          .filter(([, ms]) => ms > 0),
      ),
    };
  } finally {
    profiler?.close();
  }
}

/** Has the server write a heap snapshot (SIGUSR2, see nodeFlags) and waits until the file is complete. */
async function heapSnapshot(pid: number, dir: string): Promise<void> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, "SIGUSR2");
  const deadline = Date.now() + 300_000;
  let size = -1;
  while (Date.now() < deadline) {
    await sleep(1000);
    const file = readdirSync(dir).find((f) => f.endsWith(".heapsnapshot") && !before.has(f));
    if (!file) continue;
    const now = statSync(join(dir, file)).size;
    if (now === size && now > 0) {
      process.stdout.write(`  heap snapshot: ${join(dir, file)}\n`);
      return;
    }
    size = now;
  }
  throw new Error("no heap snapshot after 300 s");
}

interface RateResult {
  run: number;
  sessions: number;
  seconds: number;
  sessionsPerS: number;
  serverCpuS: number;
  serverUsPerSession: number;
}

async function measureRate(o: Options, run: number, place: Placement): Promise<RateResult> {
  const dir = mkdtempSync(join(tmpdir(), "parley-bench-sessions-"));
  const port = await freePort();
  let server: ChildProcess | null = null;
  let workers: ChildProcess[] = [];
  try {
    const seeder = new Seeder(join(dir, "data"));
    const tokens = await seeder.accounts("user", o.sessions, { guest: false, tokens: true });
    await seeder.close();
    server = start(parleyCommand(dir, { http: port }, CONFIG, nodeFlags(o)), place.server, false);
    await waitHealthy(port, server);
    await sleep(1000);
    const cpu0 = cpuSeconds(server.pid!);
    // The tokens dealt out to the generators; the handshakes in flight shared between them.
    const cfgs = Array.from({ length: o.generators }, (_, g): WorkerConfig => {
      const logins = tokens.filter((_, i) => i % o.generators === g);
      return {
        kind: "ws-token",
        host: HOST,
        port,
        logins,
        count: logins.length,
        concurrency: Math.ceil(o.concurrency / o.generators),
      };
    });
    const opened = await openAll(cfgs, place.worker);
    workers = opened.workers;
    const cpuS = cpuSeconds(server.pid!) - cpu0;
    const seconds = opened.ms / 1000;
    return {
      run,
      sessions: o.sessions,
      seconds,
      sessionsPerS: o.sessions / seconds,
      serverCpuS: cpuS,
      serverUsPerSession: (cpuS * 1e6) / o.sessions,
    };
  } finally {
    await Promise.all(workers.map(stop));
    if (server) await stop(server);
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- the connecting process ----

/** Opens one connection and logs it in; resolves with something to close it by. */
function openOne(cfg: WorkerConfig, i: number): Promise<{ close(): void }> {
  return new Promise((resolveOpen, reject) => {
    const timer = setTimeout(() => reject(new Error("login timed out after 60 s")), 60_000);
    const done = (c: { close(): void }) => {
      clearTimeout(timer);
      resolveOpen(c);
    };
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    if (cfg.kind === "line") {
      const sock = netConnect(cfg.port, cfg.host);
      let text = "";
      let named = false;
      sock.setEncoding("utf8");
      sock.on("data", (d: string) => {
        text += d;
        if (!named && text.includes("Your name: ")) {
          named = true;
          sock.write(`${cfg.logins[i]}\n`);
        } else if (named && text.includes("You are in #lobby")) {
          sock.removeAllListeners("data");
          sock.resume(); // keep reading whatever comes, as a terminal would
          done({ close: () => sock.destroy() });
        } else if (named && text.includes("! ")) {
          sock.destroy();
          fail(new Error(`line login refused: ${text.slice(-200).trim()}`));
        }
      });
      sock.on("error", fail);
      return;
    }
    if (cfg.kind === "irc") {
      // Registered as the guest, which puts it in #lobby (its room); logged in once the server
      // has sent the channel's end of NAMES (366), the last line of the JOIN burst.
      const sock = netConnect(cfg.port, cfg.host);
      const nick = cfg.logins[i]!;
      let text = "";
      sock.setEncoding("utf8");
      sock.write(`NICK ${nick}\r\nUSER ${nick} 0 * :${nick}\r\n`);
      sock.on("data", (d: string) => {
        text = (text + d).slice(-4096);
        if (/ 366 \S+ #lobby /.test(text)) {
          sock.removeAllListeners("data");
          sock.on("data", (p: string) => {
            if (p.startsWith("PING ")) sock.write(`PONG ${p.slice(5)}`); // stays registered, as a client would
          });
          done({ close: () => sock.destroy() });
        } else if (/^ERROR |\r\n(ERROR |\S+ (4\d\d|5\d\d) )/.test(text)) {
          sock.destroy();
          fail(new Error(`IRC login refused: ${text.slice(-200).trim()}`));
        }
      });
      sock.on("error", fail);
      return;
    }
    const path = cfg.kind === "bare" ? "/" : "/ws";
    const ws = new WebSocket(`ws://${cfg.host}:${cfg.port}${path}`, { perMessageDeflate: false });
    ws.on("error", fail);
    ws.on("open", () => {
      if (cfg.kind === "bare") {
        done({ close: () => ws.terminate() });
        return;
      }
      const hello = cfg.kind === "ws" ? { guest: cfg.logins[i] } : { token: cfg.logins[i] };
      ws.send(JSON.stringify({ type: "hello", id: 1, presence: false, ...hello }));
    });
    ws.on("message", (data: Buffer) => {
      const f = JSON.parse(data.toString("utf8")) as { type?: string; id?: unknown };
      if (f.id !== 1) return;
      if (f.type === "welcome") done({ close: () => ws.terminate() });
      else {
        ws.terminate();
        fail(new Error(`hello refused: ${data.toString("utf8", 0, 200)}`));
      }
    });
  });
}

async function connectingProcess(cfg: WorkerConfig): Promise<void> {
  const open: { close(): void }[] = [];
  let failed = 0;
  let firstError: string | null = null;
  let next = 0;
  const lane = async () => {
    while (next < cfg.count) {
      const i = next++;
      try {
        open.push(await openOne(cfg, i));
      } catch (err) {
        failed++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(cfg.concurrency, cfg.count) }, lane));
  const m: FromWorker = { ev: "open", opened: open.length, failed, firstError };
  process.send?.(m);
  const closeAll = () => {
    for (const c of open) c.close();
    process.exit(0);
  };
  process.on("SIGTERM", closeAll);
  process.on("disconnect", closeAll);
}

// ---- report ----

function median(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

/** KiB (1,024 bytes, what /proc reports) to KB (1,000 bytes, the unit of issue 8's target). */
const kb = (kib: number) => (kib * 1024) / 1000;

const spread = (xs: number[], digits: number) =>
  xs.length > 1
    ? `${median(xs).toFixed(digits)} [${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}]`
    : median(xs).toFixed(digits);

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === "--worker") {
    process.once("message", (cfg: WorkerConfig) => {
      process.once("message", () => void connectingProcess(cfg)); // "go"
      process.send?.({ ev: "ready" } satisfies FromWorker);
    });
    return;
  }
  let o: Options | null;
  try {
    o = parseFlags(argv);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  if (!o) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const place = placement(o.pin);
  const started = Date.now();
  process.stdout.write(
    `bench:sessions: ${cpus().length} cores (${cpus()[0]?.model.trim()}), node ${process.version}, load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}; server on CPU ${place.server ?? "any"}, connecting process on CPU ${place.worker ?? "any"}\n`,
  );
  const memory: MemoryResult[] = [];
  const rate: RateResult[] = [];
  for (let run = 1; run <= o.runs; run++) {
    for (const t of o.memory) {
      const r = await measureMemory(o, t, run, place);
      memory.push(r);
      process.stdout.write(
        `  memory ${t} run ${run}: ${r.connections} idle connections, RSS ${r.rssBeforeMiB.toFixed(1)} MiB → after a full GC ${r.rssAfterGcMiB.toFixed(1)} MiB = ${r.gcKibPerConnection.toFixed(2)} KiB (${kb(r.gcKibPerConnection).toFixed(2)} KB)/connection; 3 s after connecting, not collected, ${r.rssAfterMiB.toFixed(1)} MiB = ${r.kibPerConnection.toFixed(2)} KiB (${kb(r.kibPerConnection).toFixed(2)} KB); second half ${r.marginalKiB.toFixed(2)} KiB (${kb(r.marginalKiB).toFixed(2)} KB) (opened in ${r.connectS.toFixed(1)} s)\n`,
      );
      if (r.idle) {
        process.stdout.write(
          `  idle CPU ${t} run ${run}: ${r.idle.cpuMsPerS.toFixed(2)} ms/s (${r.idle.cpuMsPerSPer1000.toFixed(3)} per 1,000 connections), ${r.idle.wakeupsPerS.toFixed(1)} wake-ups/s, over ${r.idle.seconds.toFixed(0)} s; others ${r.idle.othersCores.toFixed(2)} cores; by thread ${Object.entries(
            r.idle.threads,
          )
            .map(([name, ms]) => `${name} ${ms.toFixed(2)}`)
            .join(", ")}\n`,
        );
      }
    }
    if (o.sessions > 0) {
      const r = await measureRate(o, run, place);
      rate.push(r);
      process.stdout.write(
        `  sessions run ${run}: ${r.sessions} token logins in ${r.seconds.toFixed(2)} s = ${r.sessionsPerS.toFixed(0)}/s, server CPU ${r.serverCpuS.toFixed(2)} s = ${r.serverUsPerSession.toFixed(0)} µs/session\n`,
      );
    }
  }
  const lines: string[] = [];
  if (memory.length > 0) {
    lines.push(`Idle memory, ${o.connections} connections per protocol, ${o.runs} run(s); medians [min–max]:`, "");
    lines.push(
      "| protocol | after a full GC: KiB per connection | KB | 3 s after connecting, not collected: KiB per connection | KB | marginal: KiB per connection of the second half | KB | server RSS MiB: before → 3 s → after a full GC | connect time s |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    );
    for (const t of o.memory) {
      const rs = memory.filter((r) => r.target === t);
      const label = LABELS[t];
      lines.push(
        `| ${label} | ${spread(
          rs.map((r) => r.gcKibPerConnection),
          2,
        )} | ${kb(median(rs.map((r) => r.gcKibPerConnection))).toFixed(2)} | ${spread(
          rs.map((r) => r.kibPerConnection),
          2,
        )} | ${kb(median(rs.map((r) => r.kibPerConnection))).toFixed(2)} | ${spread(
          rs.map((r) => r.marginalKiB),
          2,
        )} | ${kb(median(rs.map((r) => r.marginalKiB))).toFixed(2)} | ${median(rs.map((r) => r.rssBeforeMiB)).toFixed(0)} → ${median(rs.map((r) => r.rssAfterMiB)).toFixed(0)} → ${median(rs.map((r) => r.rssAfterGcMiB)).toFixed(0)} | ${spread(
          rs.map((r) => r.connectS),
          1,
        )} |`,
      );
    }
    lines.push("");
  }
  const idle = memory.filter((r) => r.idle !== null);
  if (idle.length > 0) {
    lines.push(
      `Idle CPU, ${o.connections} connections, ${o.idleCpuS} s from ${IDLE_CPU_FROM_MS / 1000} s after the last one opened; medians [min–max]:`,
      "",
      "| protocol | server CPU ms/s | per 1,000 connections | event-loop wake-ups/s | others, cores |",
      "|---|---:|---:|---:|---:|",
    );
    for (const t of o.memory) {
      const rs = idle.filter((r) => r.target === t).map((r) => r.idle!);
      lines.push(
        `| ${LABELS[t]} | ${spread(
          rs.map((r) => r.cpuMsPerS),
          2,
        )} | ${spread(
          rs.map((r) => r.cpuMsPerSPer1000),
          3,
        )} | ${spread(
          rs.map((r) => r.wakeupsPerS),
          1,
        )} | ${spread(
          rs.map((r) => r.othersCores),
          2,
        )} |`,
      );
    }
    lines.push("");
  }
  if (rate.length > 0) {
    lines.push(
      `New WebSocket sessions authenticated by token, ${o.sessions} per run, ${o.concurrency} in flight, ${o.generators} connecting process(es):`,
      "",
    );
    lines.push("| sessions/s | server CPU µs per session | server-CPU-bound sessions/s |", "|---:|---:|---:|");
    lines.push(
      `| ${spread(
        rate.map((r) => r.sessionsPerS),
        0,
      )} | ${spread(
        rate.map((r) => r.serverUsPerSession),
        0,
      )} | ${median(rate.map((r) => 1e6 / r.serverUsPerSession)).toFixed(0)} |`,
    );
    lines.push("");
  }
  const text = lines.join("\n");
  process.stdout.write(`\n${text}\n`);
  mkdirSync(o.out, { recursive: true });
  const file = join(o.out, `sessions-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ when: new Date().toISOString(), seconds: (Date.now() - started) / 1000, argv, options: o, loadavg: loadavg(), memory, rate, table: text }, null, 2)}\n`,
  );
  process.stdout.write(`wrote ${file} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
}

process.on("SIGINT", () => {
  killChildren();
  process.exit(130);
});

main().catch((err) => {
  process.stderr.write(`bench:sessions failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  killChildren();
  process.exit(1);
});
