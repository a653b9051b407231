// `npm run bench`: fan-out benchmark of Parley against peers it starts itself (bare `ws` servers,
// Socket.IO 4; InspIRCd and ngIRCd with --protocol irc).
// Run with --help for the flags; docs/benchmarks.md explains the method and the results.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { request } from "node:http";
import { createServer, connect as netConnect } from "node:net";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SOCKETIO_PATH } from "./codecs/socketio.ts";
import {
  benchRoom,
  cpuSeconds,
  type FromLoad,
  Histogram,
  intFlag,
  type LoadConfig,
  machineCpuSeconds,
  mono,
  numFlag,
  type Protocol,
  peakRssMiB,
  setClockTicks,
  type ToLoad,
} from "./lib.ts";
import { ensurePeersInstalled, IRC_TARGETS, type IrcTarget, ircTargetCommand } from "./peers/irc-servers.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const HOST = "127.0.0.1"; // loopback only

// ---- flags ----

const HELP = `npm run bench -- [flags]          (or: npx tsx bench/run.ts [flags])

Fan-out benchmark: N WebSocket clients in one room, S of them sending at an open-loop rate that
rises in steps; every client receives every message. With --rooms R the clients are spread over
R rooms (client i in room i mod R) and every member of a room receives its messages. Measures per step the deliveries/s achieved,
loss, p50/p90/p99 end-to-end latency, and the server's CPU time; per run the peak RSS. The
sustained rate is the highest step with zero loss and p99 below --p99-ms.

Targets (each started here as a child process on ${HOST}, a free port, a temp data dir):
  parley          node bin/parley.js serve … --config <tmp>/bench.json (message rate limits raised)
  bare-batched    node bench/peers/ws-broadcast.ts --batch   (cork/uncork once per event-loop turn)
  bare-unbatched  node bench/peers/ws-broadcast.ts
  socketio        node bench/peers/socketio-broadcast.ts     (Socket.IO 4, io.to(room).emit)
With --protocol irc, the same workload over IRC (no echo, so each message is due at every client
but its sender), against (bench/peers/irc-servers.ts):
  parley-irc      Parley's IRC gateway (fakelag off, per-address limits off, rate limits raised)
  inspircd        InspIRCd from Debian's package (installed with apt-get when missing)
  ngircd          ngIRCd from Debian's package (installed with apt-get when missing)

Flags:
  --protocol ws|irc     the wire the clients speak (default ws); irc changes the default targets
  --scale               the scale-out comparison instead: SQLite vs PostgreSQL+Redis on 1 and 2
                        workers (bench/scale.ts; --scale --help for its flags)
  --quick               1 run, 2 s steps, doubling steps 50..1600, 2 s drain, 3 s quiet wait, no
                        noisy retries: the default targets finish in under two minutes on a quiet machine
  --runs N              repetitions of each target (default 3; --quick 1)
  --clients N           WebSocket clients, all in one room (default 1000)
  --senders N           clients that send (default 10); the step rate is split evenly among them
  --rooms R             spread the clients over R rooms of N/R members ("busy small rooms", e.g.
                        --rooms 100 --senders 1000 --steps 2500,5000,10000,14000); default 1
  --steps A,B,…         total messages/s of each step (default 50,70,100,140,200,280,400,560,800,1130,1600)
  --duration SEC        length of each step (default 5; --quick 2)
  --warmup SEC          unrecorded step at the first rate before the ladder (default 1)
  --drain SEC           how long after a step's last send late deliveries are still waited for (default 3;
                        --quick 2)
  --p99-ms MS           latency bound for the sustained rate (default 100)
  --all-steps           keep climbing after a step fails (default: stop at the first failed step)
  --targets a,b,…       which targets, in order (default parley,bare-batched,bare-unbatched,socketio;
                        with --protocol irc: parley-irc,inspircd,ngircd)
  --generators N        load generator processes (default 1), every protocol; clients are split among them
  --client raw|ws       the generator's WebSocket client (parley, bare, socketio): a minimal frame
                        parser (default, several times cheaper per delivery) or the ws library
  --connect-batch N     clients connecting at once (default 100)
  --body-bytes N        message body size (default 64)
  --no-pin              do not pin the server and the generators to separate cores with taskset
  --node-flags "F …"    extra node flags for the server process, e.g. "--trace-gc" (split on spaces)
  --keep-logs           copy each server's stdout/stderr to the --out dir (server-<target>-<run>-<time>.log)
  --profile             run the server once with node --cpu-prof and print its top self-time functions
                        (Parley only, unless --targets is given)
  --profile-generator   run the load generator(s) with node --cpu-prof and print their top self-time
                        functions (every run of every target)
  --quiet-wait SEC      before each run, wait up to this long for other processes to use less than
                        --quiet-cores of CPU (default 60; --quick 3); what they used is recorded per step
  --quiet-cores X       (default 0.3)
  --noisy-retries N     a step that fails while others use ≥ --quiet-cores is measured again, up to
                        N times (default 2, --quick 0; 0 = never); the discarded attempts stay in the JSON
  --tmp DIR             where the per-run temp data dirs go (default: the OS temp dir); e.g. /dev/shm
                        takes disk syncs out of Parley's SQLite commits (a diagnosis, not the default)
  --nice N              run the server and the generators under \`nice -n N\` (default 0). A negative N
                        (root only) makes other processes on a shared machine disturb the measurement less
  --max-minutes N       abort the whole bench after this long (default 40)
  --out DIR             where the JSON results go (default .bench)
  --help                this text

Results: a table on stdout and JSON in .bench/bench-<time>.json (and .bench/latest.json).`;

interface Options {
  runs: number;
  clients: number;
  senders: number;
  rooms: number;
  steps: number[];
  durationMs: number;
  warmupMs: number;
  drainMs: number;
  p99Ms: number;
  allSteps: boolean;
  targets: TargetName[];
  generators: number;
  transport: "raw" | "ws";
  connectBatch: number;
  bodyBytes: number;
  pin: boolean;
  profile: boolean;
  profileGenerator: boolean;
  nodeFlags: string[];
  keepLogs: boolean;
  maxMinutes: number;
  quietWaitS: number;
  quietCores: number;
  noisyRetries: number;
  nice: number;
  tmp: string;
  out: string;
  quick: boolean;
  protocol: "ws" | "irc";
}

type TargetName = "parley" | "bare-batched" | "bare-unbatched" | "socketio" | IrcTarget;
const TARGETS: TargetName[] = ["parley", "bare-batched", "bare-unbatched", "socketio"];
const isIrc = (t: TargetName): t is IrcTarget => (IRC_TARGETS as string[]).includes(t);

function parseFlags(argv: string[]): Options | null {
  const quick = argv.includes("--quick");
  const o: Options = {
    runs: quick ? 1 : 3,
    clients: 1000,
    senders: 10,
    rooms: 1,
    steps: quick ? [50, 100, 200, 400, 800, 1600] : [50, 70, 100, 140, 200, 280, 400, 560, 800, 1130, 1600],
    durationMs: quick ? 2000 : 5000,
    warmupMs: 1000,
    drainMs: quick ? 2000 : 3000,
    p99Ms: 100,
    allSteps: false,
    targets: [...TARGETS],
    generators: 1,
    transport: "raw",
    connectBatch: 100,
    bodyBytes: 64,
    pin: true,
    profile: false,
    profileGenerator: false,
    nodeFlags: [],
    keepLogs: false,
    maxMinutes: 40,
    quietWaitS: quick ? 3 : 60,
    quietCores: 0.3,
    noisyRetries: quick ? 0 : 2,
    nice: 0,
    tmp: tmpdir(),
    out: join(ROOT, ".bench"),
    quick,
    // Read first: the default targets depend on it.
    protocol: argv[argv.indexOf("--protocol") + 1] === "irc" && argv.includes("--protocol") ? "irc" : "ws",
  };
  if (o.protocol === "irc") o.targets = [...IRC_TARGETS];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => argv[++i];
    switch (a) {
      case "--help":
      case "-h":
        return null;
      case "--quick":
        break;
      case "--protocol": {
        const p = v();
        if (p !== "ws" && p !== "irc") throw new Error("--protocol takes ws or irc");
        break;
      }
      case "--runs":
        o.runs = intFlag(v(), a, 1, 20);
        break;
      case "--clients":
        o.clients = intFlag(v(), a, 1, 20_000);
        break;
      case "--senders":
        o.senders = intFlag(v(), a, 1, 20_000);
        break;
      case "--rooms":
        o.rooms = intFlag(v(), a, 1, 10_000);
        break;
      case "--steps": {
        const list = (v() ?? "").split(",").map((s) => numFlag(s, a, 0.1, 100_000));
        if (list.length === 0 || list.length > 30) throw new Error("--steps takes 1 to 30 rates");
        o.steps = list;
        break;
      }
      case "--duration":
        o.durationMs = numFlag(v(), a, 0.5, 120) * 1000;
        break;
      case "--warmup":
        o.warmupMs = numFlag(v(), a, 0, 60) * 1000;
        break;
      case "--drain":
        o.drainMs = numFlag(v(), a, 0.2, 60) * 1000;
        break;
      case "--p99-ms":
        o.p99Ms = numFlag(v(), a, 1, 60_000);
        break;
      case "--all-steps":
        o.allSteps = true;
        break;
      case "--targets": {
        const list = (v() ?? "").split(",");
        const known: string[] = o.protocol === "irc" ? IRC_TARGETS : TARGETS;
        for (const t of list) if (!known.includes(t)) throw new Error(`unknown target ${t} for --protocol ${o.protocol}`);
        o.targets = list as TargetName[];
        break;
      }
      case "--generators":
        o.generators = intFlag(v(), a, 1, 8);
        break;
      case "--client": {
        const t = v();
        if (t !== "raw" && t !== "ws") throw new Error("--client takes raw or ws");
        o.transport = t;
        break;
      }
      case "--connect-batch":
        o.connectBatch = intFlag(v(), a, 1, 2000);
        break;
      case "--body-bytes":
        o.bodyBytes = intFlag(v(), a, 24, 60_000);
        break;
      case "--no-pin":
        o.pin = false;
        break;
      case "--node-flags":
        o.nodeFlags = (v() ?? "").split(" ").filter((f) => f.length > 0);
        for (const f of o.nodeFlags) if (!f.startsWith("--")) throw new Error(`--node-flags: ${f} is not a node flag`);
        break;
      case "--keep-logs":
        o.keepLogs = true;
        break;
      case "--profile":
        o.profile = true;
        break;
      case "--profile-generator":
        o.profileGenerator = true;
        break;
      case "--max-minutes":
        o.maxMinutes = numFlag(v(), a, 1, 600);
        break;
      case "--quiet-wait":
        o.quietWaitS = numFlag(v(), a, 0, 600);
        break;
      case "--quiet-cores":
        o.quietCores = numFlag(v(), a, 0, 64);
        break;
      case "--noisy-retries":
        o.noisyRetries = intFlag(v(), a, 0, 10);
        break;
      case "--nice":
        o.nice = intFlag(v(), a, -20, 19);
        break;
      case "--tmp":
        o.tmp = resolve(v() ?? tmpdir());
        break;
      case "--out":
        o.out = resolve(v() ?? ".bench");
        break;
      default:
        throw new Error(`unknown flag ${a} (see --help)`);
    }
  }
  if (o.senders > o.clients) throw new Error("--senders cannot exceed --clients");
  if (o.clients % o.rooms !== 0) throw new Error("--clients must be a multiple of --rooms");
  if (o.profile) {
    if (!argv.includes("--targets")) o.targets = [o.protocol === "irc" ? "parley-irc" : "parley"];
    o.runs = 1;
  }
  return o;
}

// ---- child processes: every one is tracked by PID and killed at the end ----

const children = new Set<ChildProcess>();

let niceness = 0;

function startChild(cmd: string[], opts: { ipc?: boolean; log?: string; cpu?: number | null }): ChildProcess {
  const pinned = opts.cpu != null ? ["taskset", "-c", String(opts.cpu), ...cmd] : cmd;
  const argv = niceness !== 0 ? ["nice", "-n", String(niceness), ...pinned] : pinned;
  const out = opts.log ? createWriteStream(opts.log) : null;
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: ROOT,
    stdio: opts.ipc ? ["ignore", out ? "pipe" : "inherit", out ? "pipe" : "inherit", "ipc"] : ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_ENV: "production" },
  });
  if (out) {
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
  } else if (!opts.ipc) {
    child.stdout?.resume();
    child.stderr?.resume();
  }
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (!alive(child) || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  process.kill(child.pid, "SIGTERM");
  const timer = setTimeout(() => {
    if (alive(child) && child.pid !== undefined) process.kill(child.pid, "SIGKILL");
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

/** Temp data dirs of runs in progress, removed on an interrupt too. */
const tmpDirs = new Set<string>();

function killAllNow(): void {
  for (const c of children) {
    if (alive(c) && c.pid !== undefined) {
      try {
        process.kill(c.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
  tmpDirs.clear();
}

process.on("exit", killAllNow);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(sig, () => {
    process.stderr.write(`\nbench: ${sig}, stopping the processes it started\n`);
    killAllNow();
    process.exit(130);
  });
}

// ---- helpers ----

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, HOST, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolvePort(port));
    });
  });
}

function httpGet(port: number, path: string): Promise<number> {
  return new Promise((resolveStatus) => {
    const req = request({ host: HOST, port, path, timeout: 1000 }, (res) => {
      res.resume();
      resolveStatus(res.statusCode ?? 0);
    });
    req.on("error", () => resolveStatus(0));
    req.on("timeout", () => {
      req.destroy();
      resolveStatus(0);
    });
    req.end();
  });
}

/**
 * Parley's output flushes and socket writes so far (its /metrics counters for `protocol`), or
 * null for the peers and when it does not answer: per step they give writes per message.
 */
async function flushCounts(port: number, protocol: "ws" | "irc"): Promise<{ flushes: number; writes: number } | null> {
  try {
    const text = await (await fetch(`http://${HOST}:${port}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    const read = (name: string) => Number(new RegExp(`^${name}\\{protocol="${protocol}"\\} (\\d+)$`, "m").exec(text)?.[1]);
    const counts = { flushes: read("parley_flushes_total"), writes: read("parley_flush_writes_total") };
    return Number.isFinite(counts.flushes) && Number.isFinite(counts.writes) ? counts : null;
  } catch {
    return null;
  }
}

/** For servers without an HTTP health check (the IRC peers): until the port accepts a connection. */
async function waitListening(port: number, child: ChildProcess, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive(child)) throw new Error(`server exited during startup (code ${child.exitCode}, signal ${child.signalCode})`);
    const ok = await new Promise<boolean>((r) => {
      const s = netConnect({ host: HOST, port }, () => {
        s.destroy();
        r(true);
      });
      s.on("error", () => r(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`server not listening after ${ms} ms`);
}

function httpPost(port: number, path: string, body: unknown, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolveReply, reject) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    const req = request({ host: HOST, port, path, method: "POST", headers, timeout: 10_000 }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        text += d;
      });
      res.on("end", () => resolveReply({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error(`POST ${path} timed out`)));
    req.end(JSON.stringify(body));
  });
}

/** Guests cannot create rooms: a registered account creates the rooms that the clients then join by name. */
async function createParleyRooms(port: number, rooms: number): Promise<void> {
  const reg = await httpPost(port, "/api/register", { name: "benchowner", password: "bench-owner-password" });
  if (reg.status !== 201) throw new Error(`register: HTTP ${reg.status} ${reg.body.slice(0, 200)}`);
  const { token } = JSON.parse(reg.body) as { token: string };
  for (let k = 0; k < rooms; k++) {
    const r = await httpPost(port, "/api/rooms", { name: benchRoom(k, rooms) }, token);
    if (r.status !== 201 && r.status !== 200) throw new Error(`create room: HTTP ${r.status} ${r.body.slice(0, 200)}`);
  }
}

async function waitHealthy(port: number, child: ChildProcess, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive(child)) throw new Error(`server exited during startup (code ${child.exitCode}, signal ${child.signalCode})`);
    if ((await httpGet(port, "/healthz")) === 200) return;
    await sleep(100);
  }
  throw new Error(`server not healthy after ${ms} ms`);
}

/** Waits (bounded) until other processes use less than --quiet-cores; returns what they used last. */
async function waitQuiet(o: Options): Promise<{ cores: number; waitedS: number }> {
  const started = Date.now();
  for (;;) {
    const a = machineCpuSeconds();
    const ours = [...children].reduce((s, c) => s + (c.pid ? cpuSeconds(c.pid) : 0), 0) + cpuOfSelf();
    await sleep(1000);
    const b = machineCpuSeconds();
    const ours2 = [...children].reduce((s, c) => s + (c.pid ? cpuSeconds(c.pid) : 0), 0) + cpuOfSelf();
    const cores = Math.max(0, b.busy - a.busy - (ours2 - ours));
    const waitedS = (Date.now() - started) / 1000;
    if (!Number.isFinite(cores) || cores < o.quietCores || waitedS >= o.quietWaitS) return { cores, waitedS };
  }
}

function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}
const minOf = (xs: number[]) => Math.min(...xs.filter(Number.isFinite));
const maxOf = (xs: number[]) => Math.max(...xs.filter(Number.isFinite));

function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return "–";
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
function fmtK(n: number): string {
  if (!Number.isFinite(n)) return "–";
  return n >= 10_000 ? `${fmt(n / 1000, 0)}k` : n >= 1000 ? `${fmt(n / 1000, 1)}k` : fmt(n, 0);
}
function fmtMs(n: number): string {
  if (!Number.isFinite(n)) return "–";
  return n < 10 ? fmt(n, 2) : n < 100 ? fmt(n, 1) : fmt(n, 0);
}

// ---- load generator processes ----

class Generator {
  private waiters: { pred: (m: FromLoad) => boolean; resolve: (m: FromLoad) => void; reject: (e: Error) => void }[] = [];
  fatal: string | null = null;

  constructor(readonly child: ChildProcess) {
    child.on("message", (m: FromLoad) => {
      if (m.ev === "fatal") this.fatal = m.message;
      const i = this.waiters.findIndex((w) => w.pred(m));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(m);
    });
    child.once("exit", () => {
      const err = new Error(
        `load generator exited (${child.exitCode ?? child.signalCode})${this.fatal ? `: ${this.fatal}` : ""}`,
      );
      for (const w of this.waiters.splice(0)) w.reject(err);
    });
  }

  send(m: ToLoad): void {
    if (this.child.connected) this.child.send(m);
  }

  wait<T extends FromLoad>(pred: (m: FromLoad) => m is T, ms: number, what: string): Promise<T> {
    return new Promise((resolveMsg, reject) => {
      if (!alive(this.child)) {
        reject(new Error("load generator is not running"));
        return;
      }
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`load generator: no ${what} within ${ms} ms${this.fatal ? ` (${this.fatal})` : ""}`));
      }, ms);
      const waiter = {
        pred,
        resolve: (m: FromLoad) => {
          clearTimeout(timer);
          resolveMsg(m as T);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.waiters.push(waiter);
    });
  }

  async ask<T extends FromLoad>(m: ToLoad, pred: (m: FromLoad) => m is T, ms: number, what: string): Promise<T> {
    const p = this.wait(pred, ms, what);
    this.send(m);
    return p;
  }
}

// ---- one run against one target ----

interface StepResult {
  step: number;
  rate: number;
  durationMs: number;
  sent: number;
  expected: number;
  received: number;
  loss: number;
  achievedDps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  serverCpuS: number;
  serverCpuPct: number;
  serverUsPerDelivery: number;
  genCpuPct: number;
  genUsPerDelivery: number;
  /** Socket reads per second and bytes read per delivery, all generators (NaN with --client ws). */
  genReadsPerS: number;
  genBytesPerDelivery: number;
  genLateMs: number;
  /** CPU cores used by everything else on the machine during the step (noise). */
  otherCores: number;
  /** Parley only (NaN for the peers): output flushes per second, and socket writes per message sent. */
  flushesPerS: number;
  writesPerMsg: number;
  errors: number;
  openClients: number;
  pass: boolean;
}

interface RunResult {
  target: TargetName;
  run: number;
  ok: boolean;
  error: string | null;
  connected: number;
  connectMs: number;
  steps: StepResult[];
  /** Failed steps measured while other processes were busy, then measured again. */
  discarded: StepResult[];
  sustainedRate: number;
  sustainedDps: number;
  serverCpuTotalS: number;
  serverPeakRssMiB: number;
  genPeakRssMiB: number;
  /** CPU cores other processes were using when the run started, after waiting for quiet. */
  otherCoresAtStart: number;
  quietWaitS: number;
  profile?: string;
  genProfiles?: string[];
}

interface Placement {
  serverCpu: number | null;
  genCpus: (number | null)[];
  genCores: number;
}

function placement(o: Options): Placement {
  const n = availableParallelism();
  const canPin = o.pin && n >= 2 && spawnSync("taskset", ["-c", "0", "true"]).status === 0;
  if (!canPin) return { serverCpu: null, genCpus: new Array(o.generators).fill(null), genCores: Math.min(o.generators, n) };
  // Server on core 0; generators share the remaining cores.
  const genCpus = Array.from({ length: o.generators }, (_, i) => 1 + (i % (n - 1)));
  return { serverCpu: 0, genCpus, genCores: Math.min(o.generators, n - 1) };
}

function targetCommand(t: TargetName, port: number, dataDir: string, profileDir: string | null, flags: string[]): string[] {
  const node = process.execPath;
  if (t === "parley") {
    const config = join(dataDir, "bench.json");
    writeFileSync(
      config,
      JSON.stringify({
        limits: {
          connectionMessages: { burst: 100_000, perSecond: 100_000 },
          accountMessages: { burst: 100_000, perSecond: 100_000 },
          roomCreations: { burst: 100_000, perSecond: 100_000 },
          maxRoomsPerAccount: 100_000,
        },
      }),
    );
    const prof = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
    return [
      node,
      ...flags,
      ...prof,
      "bin/parley.js",
      "serve",
      "--host",
      HOST,
      "--port",
      String(port),
      "--line-port",
      "0",
      "--irc-port",
      "0",
      "--data",
      join(dataDir, "data"),
      "--log-level",
      "warn",
      "--config",
      config,
    ];
  }
  return [
    node,
    ...flags,
    ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []),
    "--import",
    "tsx",
    t === "socketio" ? "bench/peers/socketio-broadcast.ts" : "bench/peers/ws-broadcast.ts",
    "--host",
    HOST,
    "--port",
    String(port),
    ...(t === "bare-batched" ? ["--batch"] : []),
  ];
}

async function runOnce(o: Options, t: TargetName, run: number, place: Placement, deadline: number): Promise<RunResult> {
  const result: RunResult = {
    target: t,
    run,
    ok: false,
    error: null,
    connected: 0,
    connectMs: 0,
    steps: [],
    discarded: [],
    sustainedRate: 0,
    sustainedDps: 0,
    serverCpuTotalS: Number.NaN,
    serverPeakRssMiB: Number.NaN,
    genPeakRssMiB: Number.NaN,
    otherCoresAtStart: Number.NaN,
    quietWaitS: 0,
  };
  const quiet = await waitQuiet(o);
  result.otherCoresAtStart = quiet.cores;
  result.quietWaitS = quiet.waitedS;
  if (quiet.cores >= o.quietCores) {
    process.stdout.write(
      `  (machine not quiet: other processes use ${fmt(quiet.cores, 2)} cores after ${fmt(quiet.waitedS)} s)\n`,
    );
  }
  const tmp = mkdtempSync(join(o.tmp, "parley-bench-"));
  tmpDirs.add(tmp);
  const profileDir = o.profile ? join(o.out, `profile-${stamp()}`) : null;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const genProfileDir = o.profileGenerator ? join(o.out, `genprofile-${t}-${run}-${stamp()}`) : null;
  if (genProfileDir) mkdirSync(genProfileDir, { recursive: true });
  const port = await freePort();
  const httpPort = isIrc(t) ? await freePort() : port;
  const logFile = join(tmp, "server.log");
  const cmd = isIrc(t)
    ? ircTargetCommand(t, {
        port,
        httpPort,
        dir: tmp,
        nodeFlags: [...o.nodeFlags, ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [])],
      })
    : targetCommand(t, port, tmp, profileDir, o.nodeFlags);
  const server = startChild(cmd, {
    log: logFile,
    cpu: place.serverCpu,
    ipc: false,
  });
  const gens: Generator[] = [];
  try {
    if (t === "inspircd" || t === "ngircd") await waitListening(port, server, 30_000);
    else await waitHealthy(httpPort, server, 30_000);
    if ((t === "parley" || t === "parley-irc") && o.rooms > 1) await createParleyRooms(httpPort, o.rooms);
    const protocol: Protocol = isIrc(t) ? "irc" : t === "parley" ? "parley" : t === "socketio" ? "socketio" : "bare";
    const path = { parley: "/ws", socketio: SOCKETIO_PATH, bare: "/", irc: "" }[protocol];
    const url = `${protocol === "irc" ? "irc" : "ws"}://${HOST}:${port}${path}`;
    for (let g = 0; g < o.generators; g++) {
      const cfg: LoadConfig = {
        url,
        protocol,
        index: g,
        generators: o.generators,
        clients: o.clients,
        senders: o.senders,
        connectBatch: o.connectBatch,
        bodyBytes: o.bodyBytes,
        // ngIRCd's nicks are at most 9 characters.
        namePrefix: isIrc(t) ? "b" : "bench",
        transport: o.transport,
        rooms: o.rooms,
      };
      const prof = genProfileDir ? ["--cpu-prof", `--cpu-prof-dir=${genProfileDir}`] : [];
      const child = startChild([process.execPath, ...prof, "--import", "tsx", "bench/load.ts", JSON.stringify(cfg)], {
        ipc: true,
        cpu: place.genCpus[g] ?? null,
      });
      gens.push(new Generator(child));
    }
    await Promise.all(gens.map((g) => g.wait((m): m is FromLoad & { ev: "booted" } => m.ev === "booted", 30_000, "start")));
    const connected = await Promise.all(
      gens.map((g) =>
        g.ask({ cmd: "connect" }, (m): m is Extract<FromLoad, { ev: "connected" }> => m.ev === "connected", 300_000, "connect"),
      ),
    );
    result.connected = connected.reduce((s, c) => s + c.connected, 0);
    result.connectMs = Math.max(...connected.map((c) => c.ms));
    const failed = connected.reduce((s, c) => s + c.failed, 0);
    if (failed > 0) throw new Error(`${failed} clients failed to connect: ${connected.find((c) => c.firstError)?.firstError}`);

    let errorsBefore = 0;
    const doStep = async (step: number, rate: number, durationMs: number): Promise<StepResult> => {
      if (Date.now() > deadline) throw new Error("--max-minutes reached");
      // Scraped outside the CPU window: a scrape costs the server a few ms of its own.
      const flush0 = t === "parley" || t === "parley-irc" ? await flushCounts(httpPort, isIrc(t) ? "irc" : "ws") : null;
      const cpu0 = cpuSeconds(server.pid!);
      const gcpu0 = gens.map((g) => cpuSeconds(g.child.pid!));
      const m0 = machineCpuSeconds();
      const w0 = mono();
      const t0 = w0 + 100;
      const sent = await Promise.all(
        gens.map((g) =>
          g.ask(
            { cmd: "step", step, rate, t0, durationMs },
            (m): m is Extract<FromLoad, { ev: "sent" }> => m.ev === "sent" && m.step === step,
            durationMs + 60_000,
            "end of step",
          ),
        ),
      );
      const totalSent = sent.reduce((s, x) => s + x.sent, 0);
      // Each message goes to every member of its room; an IRC server does not echo it to its sender.
      const expected = totalSent * (result.connected / o.rooms - (protocol === "irc" ? 1 : 0));
      const drainUntil = mono() + o.drainMs;
      let received = 0;
      for (;;) {
        const counts = await Promise.all(
          gens.map((g) =>
            g.ask(
              { cmd: "count", step },
              (m): m is Extract<FromLoad, { ev: "count" }> => m.ev === "count" && m.step === step,
              30_000,
              "count",
            ),
          ),
        );
        received = counts.reduce((s, c) => s + c.received, 0);
        if (received >= expected || mono() > drainUntil) break;
        await sleep(50);
      }
      const stats = await Promise.all(
        gens.map((g) =>
          g.ask(
            { cmd: "stats", step },
            (m): m is Extract<FromLoad, { ev: "stats" }> => m.ev === "stats" && m.step === step,
            30_000,
            "stats",
          ),
        ),
      );
      const w1 = mono();
      const cpu1 = cpuSeconds(server.pid!);
      const gcpu1 = gens.map((g) => cpuSeconds(g.child.pid!));
      const m1 = machineCpuSeconds();
      const flush1 = flush0 ? await flushCounts(httpPort, isIrc(t) ? "irc" : "ws") : null;
      const hist = new Histogram();
      for (const s of stats) hist.merge(Histogram.fromSparse(s.hist));
      received = stats.reduce((s, x) => s + x.received, 0);
      const lastAt = Math.max(...stats.map((s) => s.lastAt));
      const errorsNow = stats.reduce((s, x) => s + x.errors, 0);
      const errors = errorsNow - errorsBefore;
      errorsBefore = errorsNow;
      const firstError = stats.find((s) => s.firstError)?.firstError;
      if (errors > 0 && firstError) process.stderr.write(`  ${t}: ${errors} error frames, e.g. ${firstError}\n`);
      const wallS = (w1 - w0) / 1000;
      const serverCpuS = cpu1 - cpu0;
      const genCpuS = gcpu1.reduce((s, x, i) => s + x - gcpu0[i]!, 0);
      const p99 = hist.quantile(0.99);
      const loss = expected - received;
      const reads = stats.reduce((s, x) => s + x.reads, 0);
      const bytes = stats.reduce((s, x) => s + x.bytes, 0);
      const activeS = Math.max(durationMs, lastAt - t0) / 1000;
      return {
        step,
        rate,
        durationMs,
        sent: totalSent,
        expected,
        received,
        loss,
        achievedDps: received / activeS,
        p50: hist.quantile(0.5),
        p90: hist.quantile(0.9),
        p99,
        max: hist.max,
        serverCpuS,
        serverCpuPct: (100 * serverCpuS) / wallS,
        serverUsPerDelivery: received > 0 ? (serverCpuS * 1e6) / received : Number.NaN,
        genCpuPct: (100 * genCpuS) / wallS,
        genUsPerDelivery: received > 0 ? (genCpuS * 1e6) / received : Number.NaN,
        genReadsPerS: reads > 0 ? reads / wallS : Number.NaN,
        genBytesPerDelivery: reads > 0 && received > 0 ? bytes / received : Number.NaN,
        genLateMs: Math.max(...sent.map((s) => s.lateMs)),
        otherCores: Math.max(0, (m1.busy - m0.busy - serverCpuS - genCpuS) / wallS),
        flushesPerS: flush0 && flush1 ? (flush1.flushes - flush0.flushes) / wallS : Number.NaN,
        writesPerMsg: flush0 && flush1 && totalSent > 0 ? (flush1.writes - flush0.writes) / totalSent : Number.NaN,
        errors,
        openClients: stats.reduce((s, x) => s + x.open, 0),
        pass: loss <= 0 && errors === 0 && p99 < o.p99Ms,
      };
    };

    if (o.warmupMs > 0) {
      await doStep(0, o.steps[0]!, o.warmupMs);
      await sleep(300);
    }
    let stepId = 1;
    for (let i = 0; i < o.steps.length; i++) {
      let r = await doStep(stepId++, o.steps[i]!, o.durationMs);
      // A step that failed while other processes were busy is measured again after a quiet wait.
      for (let retry = 1; !r.pass && r.otherCores >= o.quietCores && retry <= o.noisyRetries; retry++) {
        if (r.openClients < result.connected) break;
        process.stdout.write(
          `  ${t} run ${run} step ${fmt(r.rate)} msg/s failed while others used ${fmt(r.otherCores, 2)} cores: measuring it again\n`,
        );
        result.discarded.push(r);
        await sleep(1000);
        await waitQuiet(o);
        r = await doStep(stepId++, o.steps[i]!, o.durationMs);
      }
      result.steps.push(r);
      process.stdout.write(
        `  ${t} run ${run} step ${fmt(r.rate)} msg/s: ${fmtK(r.achievedDps)} deliveries/s, loss ${fmt(r.loss)}, ` +
          `p50 ${fmtMs(r.p50)} p99 ${fmtMs(r.p99)} ms, server CPU ${fmt(r.serverCpuPct)}% (${fmt(r.serverUsPerDelivery, 2)} µs/delivery), ` +
          `generator CPU ${fmt(r.genCpuPct)}% (${fmt(r.genUsPerDelivery, 2)} µs/delivery, ${fmtK(r.genReadsPerS)} reads/s, ` +
          `${fmt(r.genBytesPerDelivery)} B/delivery), others ${fmt(r.otherCores, 2)} cores` +
          (Number.isNaN(r.writesPerMsg) ? "" : `, ${fmt(r.flushesPerS)} flushes/s, ${fmt(r.writesPerMsg, 2)} writes/message`) +
          `${r.pass ? "" : "  ✗"}\n`,
      );
      if (r.pass && result.steps.every((s) => s.pass)) {
        result.sustainedRate = r.rate;
        result.sustainedDps = r.achievedDps;
      }
      if (!r.pass && !o.allSteps) break;
      if (r.openClients < result.connected) {
        process.stdout.write(`  ${t}: ${result.connected - r.openClients} clients were disconnected; stopping this run\n`);
        break;
      }
      await sleep(300);
    }
    result.ok = true;
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    process.stderr.write(`  ${t} run ${run} failed: ${result.error}\n`);
    if (existsSync(logFile)) {
      const tail = readFileSync(logFile, "utf8").split("\n").slice(-15).join("\n");
      if (tail.trim()) process.stderr.write(`  server log (tail):\n${tail}\n`);
    }
  } finally {
    result.serverCpuTotalS = cpuSeconds(server.pid!);
    result.serverPeakRssMiB = peakRssMiB(server.pid!);
    result.genPeakRssMiB = Math.max(...gens.map((g) => peakRssMiB(g.child.pid!)));
    for (const g of gens) g.send({ cmd: "close" });
    await Promise.all(gens.map((g) => stopChild(g.child, 2000)));
    await stopChild(server, 15_000);
    if (o.keepLogs && existsSync(logFile)) copyFileSync(logFile, join(o.out, `server-${t}-${run}-${stamp()}.log`));
    rmSync(tmp, { recursive: true, force: true });
    tmpDirs.delete(tmp);
  }
  if (profileDir) {
    const file = readdirSync(profileDir).find((f) => f.endsWith(".cpuprofile"));
    if (file) result.profile = join(profileDir, file);
  }
  if (genProfileDir) {
    result.genProfiles = readdirSync(genProfileDir)
      .filter((f) => f.endsWith(".cpuprofile"))
      .map((f) => join(genProfileDir, f));
  }
  return result;
}

// ---- CPU profile summary ----

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

function summarizeProfile(file: string, top = 30): string {
  const prof = JSON.parse(readFileSync(file, "utf8")) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, prof.timeDeltas[i] ?? 0));
  }
  let total = 0;
  let idle = 0;
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  const short = (url: string) => {
    const u = url.replace(/^file:\/\//, "");
    if (!u) return "(native/VM)";
    const nm = u.lastIndexOf("node_modules/");
    if (nm >= 0) return u.slice(nm + "node_modules/".length);
    return u.startsWith(ROOT) ? u.slice(ROOT.length + 1) : u;
  };
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const name = n.callFrame.functionName || "(anonymous)";
    if (name === "(idle)") {
      idle += us;
      continue;
    }
    total += us;
    const where = short(n.callFrame.url);
    // tsx-transpiled .ts files report positions in the generated code: leave their lines out.
    const line = n.callFrame.url && !n.callFrame.url.endsWith(".ts") ? `:${n.callFrame.lineNumber + 1}` : "";
    const key = `${name}  ${where}${line}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
    byFile.set(where, (byFile.get(where) ?? 0) + us);
  }
  const lines: string[] = [];
  lines.push(`CPU profile ${file}`);
  lines.push(`busy ${fmt(total / 1e6, 2)} s, idle ${fmt(idle / 1e6, 2)} s; self time of busy time:`);
  lines.push("");
  lines.push("| self % | self ms | function  file:line |");
  lines.push("|---:|---:|---|");
  for (const [k, us] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`| ${fmt((100 * us) / total, 1)} | ${fmt(us / 1000, 0)} | \`${k}\` |`);
  }
  lines.push("");
  lines.push("| self % | file (or package) |");
  lines.push("|---:|---|");
  for (const [k, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
    lines.push(`| ${fmt((100 * us) / total, 1)} | \`${k}\` |`);
  }
  return lines.join("\n");
}

// ---- summary ----

interface StepSummary {
  rate: number;
  runs: number;
  passed: number;
  achieved: number[];
  loss: number[];
  p50: number[];
  p90: number[];
  p99: number[];
  serverCpuPct: number[];
  usPerDelivery: number[];
  genCpuPct: number[];
  genUsPerDelivery: number[];
  otherCores: number[];
}

function summarizeSteps(runs: RunResult[]): StepSummary[] {
  const byRate = new Map<number, StepSummary>();
  for (const r of runs) {
    for (const s of r.steps) {
      let x = byRate.get(s.rate);
      if (!x) {
        x = {
          rate: s.rate,
          runs: 0,
          passed: 0,
          achieved: [],
          loss: [],
          p50: [],
          p90: [],
          p99: [],
          serverCpuPct: [],
          usPerDelivery: [],
          genCpuPct: [],
          genUsPerDelivery: [],
          otherCores: [],
        };
        byRate.set(s.rate, x);
      }
      x.runs++;
      if (s.pass) x.passed++;
      x.achieved.push(s.achievedDps);
      x.loss.push(s.loss);
      x.p50.push(s.p50);
      x.p90.push(s.p90);
      x.p99.push(s.p99);
      x.serverCpuPct.push(s.serverCpuPct);
      x.usPerDelivery.push(s.serverUsPerDelivery);
      x.genCpuPct.push(s.genCpuPct);
      x.genUsPerDelivery.push(s.genUsPerDelivery);
      x.otherCores.push(s.otherCores);
    }
  }
  return [...byRate.values()].sort((a, b) => a.rate - b.rate);
}

const spread = (xs: number[], f: (n: number) => string) =>
  xs.length > 1 ? `${f(median(xs))} [${f(minOf(xs))}–${f(maxOf(xs))}]` : f(median(xs));

function report(o: Options, all: RunResult[], place: Placement): { text: string; summary: Record<string, unknown> } {
  const lines: string[] = [];
  const summary: Record<string, unknown> = {};
  lines.push(
    `${o.clients} clients in ${o.rooms === 1 ? "one room" : `${o.rooms} rooms of ${o.clients / o.rooms}`}, ${o.senders} senders, ${o.durationMs / 1000} s per step, ${o.runs} run(s) per target; ` +
      `medians [min–max] over runs; pass = zero loss and p99 < ${o.p99Ms} ms.`,
  );
  lines.push("");
  lines.push(
    "| target | msg/s | offered deliveries/s | achieved deliveries/s | loss | p50 ms | p90 ms | p99 ms | server CPU % | server µs/delivery | generator CPU % | generator µs/delivery | other load (cores) | runs passed |",
  );
  lines.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  const sustained = new Map<TargetName, number[]>();
  const sustainedDps = new Map<TargetName, number[]>();
  const usAt = new Map<TargetName, Map<number, number>>();
  for (const t of o.targets) {
    const runs = all.filter((r) => r.target === t);
    const steps = summarizeSteps(runs);
    const us = new Map<number, number>();
    for (const s of steps) {
      us.set(s.rate, median(s.usPerDelivery));
      lines.push(
        `| ${t} | ${fmt(s.rate)} | ${fmtK(s.rate * (o.clients / o.rooms - (o.protocol === "irc" ? 1 : 0)))} | ${spread(s.achieved, fmtK)} | ${spread(s.loss, (n) => fmt(n))} | ` +
          `${spread(s.p50, fmtMs)} | ${spread(s.p90, fmtMs)} | ${spread(s.p99, fmtMs)} | ${fmt(median(s.serverCpuPct))} | ` +
          `${fmt(median(s.usPerDelivery), 2)} | ${fmt(median(s.genCpuPct))} | ${fmt(median(s.genUsPerDelivery), 2)} | ${spread(s.otherCores, (n) => fmt(n, 2))} | ${s.passed}/${s.runs} |`,
      );
    }
    usAt.set(t, us);
    sustained.set(
      t,
      runs.filter((r) => r.ok).map((r) => r.sustainedRate),
    );
    sustainedDps.set(
      t,
      runs.filter((r) => r.ok).map((r) => r.sustainedDps),
    );
    summary[t] = { steps, runs };
  }
  lines.push("");
  lines.push(
    "| target | sustained msg/s | sustained deliveries/s | server CPU s per run | server peak RSS MiB | connect time s | first failed step limited by |",
  );
  lines.push("|---|---:|---:|---:|---:|---:|---|");
  const sustainedSummary: Record<string, unknown> = {};
  for (const t of o.targets) {
    const runs = all.filter((r) => r.target === t && r.ok);
    const limits = runs.map((r) => {
      const f = r.steps.find((s) => !s.pass);
      if (!f) return "none failed";
      const who: string[] = [];
      if (f.serverCpuPct >= 90) who.push(`server CPU ${fmt(f.serverCpuPct)}%`);
      if (f.genCpuPct >= 90 * place.genCores) who.push(`generator CPU ${fmt(f.genCpuPct)}%`);
      return `${fmt(f.rate)}: ${who.length ? who.join(" + ") : "neither CPU-bound"}`;
    });
    lines.push(
      `| ${t} | ${spread(sustained.get(t) ?? [], (n) => fmt(n))} | ${spread(sustainedDps.get(t) ?? [], fmtK)} | ` +
        `${spread(
          runs.map((r) => r.serverCpuTotalS),
          (n) => fmt(n, 1),
        )} | ${spread(
          runs.map((r) => r.serverPeakRssMiB),
          (n) => fmt(n),
        )} | ${spread(
          runs.map((r) => r.connectMs / 1000),
          (n) => fmt(n, 1),
        )} | ${limits.join("; ")} |`,
    );
    sustainedSummary[t] = {
      sustainedRateMedian: median(sustained.get(t) ?? []),
      sustainedDeliveriesMedian: median(sustainedDps.get(t) ?? []),
      sustainedRates: sustained.get(t),
      limits,
    };
  }
  summary.sustained = sustainedSummary;
  const ratios: Record<string, unknown> = {};
  const ours: TargetName = o.protocol === "irc" ? "parley-irc" : "parley";
  const baselines: TargetName[] = o.protocol === "irc" ? ["inspircd", "ngircd"] : ["bare-batched", "bare-unbatched", "socketio"];
  if (o.targets.includes(ours) && baselines.some((b) => o.targets.includes(b))) {
    lines.push("");
    lines.push(
      `| ratio (same invocation) | sustained deliveries/s, ratio of medians | per round (run k vs run k) | server µs/delivery, ${ours} vs peer | CPU-bound capacity ratio (peer µs ÷ ours) |`,
    );
    lines.push("|---|---:|---:|---:|---:|");
    const p = median(sustainedDps.get(ours) ?? []);
    for (const b of baselines) {
      if (!o.targets.includes(b)) continue;
      const base = median(sustainedDps.get(b) ?? []);
      const ratio = p / base;
      // Each round runs every target once, back to back: the ratio within a round shares its load.
      const perRound = all
        .filter((r) => r.target === ours && r.ok)
        .map((r) => {
          const peer = all.find((x) => x.target === b && x.ok && x.run === r.run);
          return peer ? r.sustainedDps / peer.sustainedDps : Number.NaN;
        })
        .filter(Number.isFinite);
      // Server CPU per delivery at the highest rate both delivered without loss in every run: a
      // comparison that neither the generator's ceiling nor latency noise from other processes decides.
      const pu = usAt.get(ours)!;
      const bu = usAt.get(b)!;
      const both = [...pu.keys()].filter((r) => bu.has(r) && noLossEverywhere(all, ours, r) && noLossEverywhere(all, b, r));
      const at = both.length ? Math.max(...both) : Number.NaN;
      const cpuRatio = Number.isFinite(at) ? bu.get(at)! / pu.get(at)! : Number.NaN;
      lines.push(
        `| ${ours} / ${b} | **${fmt(ratio, 2)}** (${fmtK(p)} / ${fmtK(base)}) | ${perRound.length ? spread(perRound, (n) => fmt(n, 2)) : "–"} | ` +
          `${fmt(pu.get(at) ?? Number.NaN, 2)} vs ${fmt(bu.get(at) ?? Number.NaN, 2)} at ${fmt(at)} msg/s | ${fmt(cpuRatio, 2)} |`,
      );
      ratios[b] = { sustainedRatio: ratio, perRound, cpuRatio, cpuRatioAtRate: at };
    }
  }
  summary.ratios = ratios;
  return { text: lines.join("\n"), summary };
}

function noLossEverywhere(all: RunResult[], t: TargetName, rate: number): boolean {
  const runs = all.filter((r) => r.target === t && r.ok && r.steps.some((s) => s.rate === rate));
  return runs.length > 0 && runs.every((r) => r.steps.some((s) => s.rate === rate && s.loss <= 0));
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, "-");
}

function machine(place: Placement, o: Options) {
  let model = cpus()[0]?.model ?? "unknown";
  try {
    const m = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m?.[1]) model = m[1];
  } catch {
    // not Linux
  }
  return {
    nproc: availableParallelism(),
    cpuModel: model,
    node: process.version,
    loadavg: loadavg(),
    pinned: place.serverCpu !== null,
    serverCpu: place.serverCpu,
    generatorCpus: place.genCpus,
    generators: o.generators,
    nice: o.nice,
  };
}

// ---- main ----

async function main(): Promise<number> {
  // The scale-out comparison (several deployments) is its own module: docs/scaling.md.
  if (process.argv.includes("--scale")) return (await import("./scale.ts")).main(process.argv.slice(2));
  let o: Options | null;
  try {
    o = parseFlags(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    return 2;
  }
  if (!o) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const ticks = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  setClockTicks(Number(ticks.stdout?.trim()));
  mkdirSync(o.out, { recursive: true });
  const place = placement(o);
  const notInstalled = ensurePeersInstalled(o.targets, (line) => process.stdout.write(line));
  if (notInstalled) {
    process.stderr.write(`bench: ${notInstalled}\n`);
    return 1;
  }
  if (o.nice !== 0) {
    const probe = spawnSync("nice", ["-n", String(o.nice), "true"], { encoding: "utf8" });
    if (probe.status !== 0 || probe.stderr.trim()) {
      process.stderr.write(`bench: cannot run under nice -n ${o.nice}: ${probe.stderr.trim() || probe.status}\n`);
      return 2;
    }
    niceness = o.nice;
  }
  const started = Date.now();
  const deadline = started + o.maxMinutes * 60_000;
  const m = machine(place, o);
  process.stdout.write(
    `bench: ${m.nproc} cores (${m.cpuModel}), node ${m.node}, load ${m.loadavg.map((x) => x.toFixed(2)).join(" ")}; ` +
      (o.nice !== 0 ? `nice ${o.nice}; ` : "") +
      (m.pinned ? `server on CPU ${place.serverCpu}, generator(s) on CPU ${place.genCpus.join(",")}\n` : "not pinned\n"),
  );
  const all: RunResult[] = [];
  for (let run = 1; run <= o.runs; run++) {
    // Targets alternate within each round, so slow phases of a noisy machine hit all of them.
    const order = run % 2 === 1 ? o.targets : [...o.targets].reverse();
    for (const t of order) {
      if (Date.now() > deadline) break;
      process.stdout.write(`${t}, run ${run}/${o.runs}\n`);
      all.push(await runOnce(o, t, run, place, deadline));
    }
  }
  const { text, summary } = report(o, all, place);
  process.stdout.write(`\n${text}\n`);
  let profileText: string | null = null;
  const texts: string[] = [];
  for (const r of all) {
    const files = [
      ...(r.profile ? [{ file: r.profile, what: r.target }] : []),
      ...(r.genProfiles ?? []).map((file) => ({ file, what: `${r.target} run ${r.run}, load generator` })),
    ];
    for (const { file, what } of files) {
      const text = `${what}: ${summarizeProfile(file)}`;
      writeFileSync(file.replace(/\.cpuprofile$/, ".txt"), `${text}\n`);
      process.stdout.write(`\n${text}\n`);
      texts.push(text);
    }
  }
  if (texts.length) profileText = texts.join("\n\n");
  const file = join(o.out, `bench-${stamp()}${o.profile ? "-profile" : ""}.json`);
  const json = JSON.stringify(
    {
      when: new Date(started).toISOString(),
      seconds: (Date.now() - started) / 1000,
      argv: process.argv.slice(2),
      options: o,
      machine: { ...m, loadavgEnd: loadavg() },
      summary,
      table: text,
      profile: profileText,
    },
    null,
    2,
  );
  writeFileSync(file, json);
  writeFileSync(join(o.out, "latest.json"), json);
  process.stdout.write(`\nwrote ${file} (${fmt((Date.now() - started) / 1000)} s)\n`);
  return all.some((r) => !r.ok) ? 1 : 0;
}

main().then(
  (code) => {
    killAllNow();
    process.exit(code);
  },
  (err) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    killAllNow();
    process.exit(1);
  },
);

function cpuOfSelf(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
