// `npm run bench -- --scale`: the fan-out workload on several deployments of Parley, in one
// invocation so that the ratios compare like with like on a machine whose load varies:
//   sqlite     one process, SQLite, local bus (the default deployment: the baseline)
//   pg-1       one worker, PostgreSQL + Redis
//   pg-2       two workers (--workers 2), PostgreSQL + Redis
// Each runs the same open-loop ladder with bench/load.ts as the generator (guests in #lobby); a
// step passes when every delivery arrived. Reported per deployment: the highest passing step in
// deliveries/s, and the server's CPU time per delivery (primary and workers together).
// The services are the machine's PostgreSQL and Redis (loopback), each run in its own schema and
// key prefix, dropped afterwards.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { cpuSeconds, type FromLoad, type LoadConfig, mono, type ToLoad } from "./lib.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const HOST = "127.0.0.1";
const PG_URL = process.env.PARLEY_BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const REDIS_URL = process.env.PARLEY_BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
/** The generators' id of the warm-up step (the measured steps are 0, 1, …). */
const WARMUP_STEP = 1_000;

const HELP = `npm run bench -- --scale [flags]

Fan-out on one process with SQLite, one worker on PostgreSQL+Redis, and two workers
(--workers 2) on PostgreSQL+Redis; reports the sustained deliveries/s of each, the ratios, and
the server CPU time per delivery. Needs PostgreSQL (${PG_URL}) and Redis (${REDIS_URL});
PARLEY_BENCH_PG_URL and PARLEY_BENCH_REDIS_URL override them.

Flags:
  --quick           2 s steps, 1 run
  --runs N          repetitions of the whole sequence (default 2; --quick 1)
  --clients N       WebSocket clients in #lobby (default 400)
  --senders N       clients that send (default 10)
  --steps A,B,…     messages/s of each step (default 25,50,100,150,200,300,400,600,800)
  --duration SEC    step length (default 4; --quick 2)
  --drain SEC       wait for late deliveries (default 3)
  --deployments a,b deployments, in order (default sqlite,pg-1,pg-2)
  --warmup SEC      an unmeasured step at the first step's rate first (default 5; --quick 3)
  --generators N    load generator processes, clients split among them (default 2): one
                    generator cannot keep up with two workers on a 2-core machine
  --profile DIR     run every server process (primary and workers) under node --cpu-prof,
                    writing .cpuprofile files to DIR/<deployment>-<run>/`;

type Deployment = "sqlite" | "pg-1" | "pg-2";
/** Server processes serving clients in each deployment (each uses one core at most). */
const WORKERS: Record<Deployment, number> = { sqlite: 1, "pg-1": 1, "pg-2": 2 };

interface Options {
  runs: number;
  clients: number;
  senders: number;
  steps: number[];
  durationMs: number;
  drainMs: number;
  deployments: Deployment[];
  generators: number;
  warmupMs: number;
  profileDir: string | null;
}

interface Result {
  deployment: Deployment;
  run: number;
  sustainedRate: number;
  sustainedDps: number;
  /** Server CPU µs per delivery over the passing steps. */
  cpuUsPerDelivery: number;
  steps: { rate: number; expected: number; received: number; cpuS: number; seconds: number }[];
}

function parse(argv: string[]): Options | null {
  const quick = argv.includes("--quick");
  const o: Options = {
    runs: quick ? 1 : 2,
    clients: 400,
    senders: 10,
    steps: [25, 50, 100, 150, 200, 300, 400, 600, 800],
    durationMs: (quick ? 2 : 4) * 1000,
    drainMs: 3000,
    deployments: ["sqlite", "pg-1", "pg-2"],
    generators: 2,
    warmupMs: (quick ? 3 : 5) * 1000,
    profileDir: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    const n = () => {
      const x = Number(v());
      if (!Number.isFinite(x) || x <= 0) throw new Error(`${a} needs a positive number`);
      return x;
    };
    switch (a) {
      case "--scale":
      case "--quick":
        break;
      case "--help":
        return null;
      case "--runs":
        o.runs = n();
        break;
      case "--clients":
        o.clients = n();
        break;
      case "--senders":
        o.senders = n();
        break;
      case "--duration":
        o.durationMs = n() * 1000;
        break;
      case "--drain":
        o.drainMs = n() * 1000;
        break;
      case "--steps":
        o.steps = v().split(",").map(Number);
        if (o.steps.some((s) => !Number.isFinite(s) || s <= 0)) throw new Error("--steps: positive numbers");
        break;
      case "--warmup":
        o.warmupMs = Number(v()) * 1000;
        if (!Number.isFinite(o.warmupMs) || o.warmupMs < 0) throw new Error("--warmup: seconds, 0 or more");
        break;
      case "--generators":
        o.generators = n();
        break;
      case "--profile":
        o.profileDir = resolve(v());
        break;
      case "--deployments": {
        const d = v().split(",");
        for (const x of d) if (!["sqlite", "pg-1", "pg-2"].includes(x)) throw new Error(`unknown deployment ${x}`);
        o.deployments = d as Deployment[];
        break;
      }
      default:
        throw new Error(`unknown flag ${a} (see --scale --help)`);
    }
  }
  return o;
}

// ---- processes ----

const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

function start(cmd: string[], ipc: boolean): ChildProcess {
  const child = spawn(cmd[0]!, cmd.slice(1), {
    cwd: ROOT,
    stdio: ipc ? ["ignore", "ignore", "inherit", "ipc"] : ["ignore", "ignore", "pipe"],
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PARLEY_"))),
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(t);
}

/** The process and all its descendants (the cluster primary and its workers). */
function tree(pid: number): number[] {
  const out = [pid];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const kids = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
      for (const k of kids ? kids.split(/\s+/) : []) out.push(...tree(Number(k)));
    }
  } catch {
    // gone
  }
  return out;
}

const treeCpu = (pid: number) => tree(pid).reduce((s, p) => s + (Number.isFinite(cpuSeconds(p)) ? cpuSeconds(p) : 0), 0);

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, HOST, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

function healthy(port: number): Promise<boolean> {
  return new Promise((res) => {
    const req = request({ host: HOST, port, path: "/healthz", timeout: 1000 }, (r) => {
      r.resume();
      res(r.statusCode === 200);
    });
    req.on("error", () => res(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The load generator (bench/load.ts) over IPC. */
class Generator {
  private waiters: { pred: (m: FromLoad) => boolean; resolve: (m: FromLoad) => void }[] = [];
  constructor(readonly child: ChildProcess) {
    child.on("message", (m: FromLoad) => {
      if (m.ev === "fatal") throw new Error(`generator: ${m.message}`);
      const w = this.waiters.find((x) => x.pred(m));
      if (!w) return;
      this.waiters = this.waiters.filter((x) => x !== w);
      w.resolve(m);
    });
  }
  ask<E extends FromLoad["ev"]>(msg: ToLoad | null, ev: E, step?: number): Promise<Extract<FromLoad, { ev: E }>> {
    const p = new Promise<Extract<FromLoad, { ev: E }>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`generator: no ${ev}`)), 300_000);
      this.waiters.push({
        pred: (m) => m.ev === ev && (step === undefined || (m as { step?: number }).step === step),
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as Extract<FromLoad, { ev: E }>);
        },
      });
    });
    if (msg) this.child.send(msg);
    return p;
  }
}

// ---- one deployment ----

async function runDeployment(o: Options, d: Deployment, run: number): Promise<Result> {
  const tmp = mkdtempSync(join(tmpdir(), "parley-scale-"));
  const schema = `bench_scale_${process.pid}_${run}_${d.replace("-", "")}`;
  const prefix = `parley-bench-${process.pid}-${run}-${d}:`;
  const port = await freePort();
  const config = join(tmp, "bench.json");
  const many = { burst: 1_000_000, perSecond: 1_000_000 };
  writeFileSync(
    config,
    JSON.stringify({
      limits: { connectionMessages: many, accountMessages: many, joins: many, connectionRequests: many },
    }),
  );
  const args = ["serve", "--host", HOST, "--port", String(port), "--line-port", "0", "--irc-port", "0"];
  args.push("--data", tmp, "--config", config, "--log-level", "warn", "--log-format", "json");
  if (d !== "sqlite") {
    args.push("--database-url", PG_URL, "--database-schema", schema, "--redis-url", REDIS_URL, "--redis-prefix", prefix);
    args.push("--workers", String(WORKERS[d]));
  }
  // The cluster's workers inherit the primary's node flags: one profile per process.
  const profile = o.profileDir ? join(o.profileDir, `${d}-${run}`) : null;
  if (profile) mkdirSync(profile, { recursive: true });
  const prof = profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : [];
  const server = start([process.execPath, ...prof, join(ROOT, "bin", "parley.js"), ...args], false);
  const gens: Generator[] = [];
  const result: Result = { deployment: d, run, sustainedRate: 0, sustainedDps: 0, cpuUsPerDelivery: Number.NaN, steps: [] };
  try {
    const deadline = Date.now() + 90_000;
    while (!(await healthy(port))) {
      if (server.exitCode !== null || Date.now() > deadline) throw new Error(`${d}: the server did not start`);
      await sleep(100);
    }
    // With two workers, wait until both answer (the primary hands out connections in turn).
    if (d === "pg-2") await sleep(3000);
    const cfg = (index: number): LoadConfig => ({
      url: `ws://${HOST}:${port}/ws`,
      protocol: "parley",
      index,
      generators: o.generators,
      clients: o.clients,
      senders: o.senders,
      connectBatch: 50,
      bodyBytes: 64,
      transport: "raw",
      namePrefix: `b${run}${d.replace("-", "")}`,
      rooms: 1,
    });
    for (let g = 0; g < o.generators; g++) {
      gens.push(new Generator(start([process.execPath, "--import", "tsx", "bench/load.ts", JSON.stringify(cfg(g))], true)));
    }
    await Promise.all(gens.map((g) => g.ask(null, "booted")));
    const conns = await Promise.all(gens.map((g) => g.ask({ cmd: "connect" }, "connected")));
    const failed = conns.find((c) => c.failed > 0);
    if (failed) throw new Error(`${d}: ${failed.failed} clients failed to connect: ${failed.firstError}`);
    const connected = conns.reduce((n, c) => n + c.connected, 0);
    /** One open-loop step on every generator; waits for its deliveries up to the drain time. */
    const step = async (id: number, rate: number, durationMs: number) => {
      const cpu0 = treeCpu(server.pid!);
      const w0 = mono();
      const cmd = { cmd: "step", step: id, rate, t0: w0 + 100, durationMs } as const;
      const sent = (await Promise.all(gens.map((g) => g.ask(cmd, "sent", id)))).reduce((n, x) => n + x.sent, 0);
      const expected = sent * connected;
      const until = mono() + o.drainMs;
      let received = 0;
      for (;;) {
        const counts = await Promise.all(gens.map((g) => g.ask({ cmd: "count", step: id }, "count", id)));
        received = counts.reduce((n, c) => n + c.received, 0);
        if (received >= expected || mono() > until) break;
        await sleep(50);
      }
      return { rate, expected, received, cpuS: treeCpu(server.pid!) - cpu0, seconds: (mono() - w0) / 1000 };
    };
    // Each process loads modules on first use and JIT-compiles its hot paths: a cost paid once
    // per process (twice with two workers) that would otherwise be counted as per-delivery CPU.
    if (o.warmupMs > 0) {
      const w = await step(WARMUP_STEP, o.steps[0]!, o.warmupMs);
      process.stdout.write(
        `  ${d} run ${run} warm-up ${w.rate}/s for ${o.warmupMs / 1000} s, server CPU ${w.cpuS.toFixed(2)} s\n`,
      );
    }
    let passCpu = 0;
    let passDeliveries = 0;
    for (const [id, rate] of o.steps.entries()) {
      const s = await step(id, rate, o.durationMs);
      result.steps.push(s);
      process.stdout.write(
        `  ${d} run ${run} step ${rate}/s: ${s.received}/${s.expected} deliveries, server CPU ${s.cpuS.toFixed(2)} s\n`,
      );
      if (s.received < s.expected) break;
      result.sustainedRate = rate;
      result.sustainedDps = s.expected / (o.durationMs / 1000);
      passCpu += s.cpuS;
      passDeliveries += s.expected;
    }
    result.cpuUsPerDelivery = passDeliveries > 0 ? (passCpu / passDeliveries) * 1e6 : Number.NaN;
    for (const g of gens) g.child.send({ cmd: "close" } satisfies ToLoad);
  } finally {
    await Promise.all(gens.map((g) => stop(g.child)));
    await stop(server);
    rmSync(tmp, { recursive: true, force: true });
    if (d !== "sqlite") {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    }
  }
  return result;
}

/**
 * pg-2 against pg-1 at the same load per worker: pg-2's step at twice pg-1's rate gives each of
 * its workers as many deliveries per second as pg-1's one worker (every event, half the sockets).
 * The flush spacing grows with a worker's load (src/protocols/flush.ts), so CPU per delivery
 * depends on it, and the capacity column above compares pg-1 at a higher load per worker than
 * pg-2; this compares like with like. Ratio: 2 × pg-1's µs per delivery / pg-2's, per passing pair.
 */
function equalLoadLines(results: Result[]): string[] {
  const factor = WORKERS["pg-2"] / WORKERS["pg-1"];
  const pairs: { rate: number; one: number; two: number; ratio: number }[] = [];
  for (const two of results.filter((r) => r.deployment === "pg-2")) {
    const one = results.find((r) => r.deployment === "pg-1" && r.run === two.run);
    for (const s2 of two.steps) {
      const s1 = one?.steps.find((s) => s.rate * factor === s2.rate);
      if (!s1 || s1.received < s1.expected || s2.received < s2.expected) continue;
      const us1 = (s1.cpuS / s1.expected) * 1e6;
      const us2 = (s2.cpuS / s2.expected) * 1e6;
      pairs.push({ rate: s1.rate, one: us1, two: us2, ratio: (factor * us1) / us2 });
    }
  }
  if (pairs.length === 0) return [];
  return [
    "",
    `capacity pg-2 vs pg-1 at equal load per worker (pg-2 at ${factor}× pg-1's rate, both steps passed):`,
    "",
    "| pg-1 msg/s | pg-1 µs/delivery | pg-2 msg/s | pg-2 µs/delivery | capacity ratio |",
    "| ---: | ---: | ---: | ---: | ---: |",
    ...pairs.map(
      (p) => `| ${p.rate} | ${p.one.toFixed(2)} | ${p.rate * factor} | ${p.two.toFixed(2)} | ${p.ratio.toFixed(2)}× |`,
    ),
    `median ${median(pairs.map((p) => p.ratio)).toFixed(2)}×`,
  ];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.floor((s.length - 1) / 2)]!;
}

export async function main(argv: string[]): Promise<number> {
  let o: Options | null;
  try {
    o = parse(argv);
  } catch (err) {
    process.stderr.write(`bench --scale: ${(err as Error).message}\n`);
    return 2;
  }
  if (!o) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const results: Result[] = [];
  for (let run = 1; run <= o.runs; run++) {
    for (const d of o.deployments) results.push(await runDeployment(o, d, run));
  }
  const cores = availableParallelism();
  const rows = o.deployments.map((d) => {
    const rs = results.filter((r) => r.deployment === d);
    const cpu = median(rs.map((r) => r.cpuUsPerDelivery));
    const capacity = (1e6 / cpu) * Math.min(WORKERS[d], cores);
    return { d, dps: median(rs.map((r) => r.sustainedDps)), cpu, capacity, all: rs };
  });
  const oneCapacity = rows.find((r) => r.d === "pg-1")?.capacity ?? Number.NaN;
  const base = rows.find((r) => r.d === "sqlite")?.dps ?? Number.NaN;
  const one = rows.find((r) => r.d === "pg-1")?.dps ?? Number.NaN;
  const lines = [
    `clients ${o.clients} over ${o.generators} generator processes, senders ${o.senders}, steps ${o.steps.join(",")}/s × ${o.durationMs / 1000} s, runs ${o.runs}`,
    "",
    "| deployment | sustained deliveries/s (median) | per run | vs sqlite | vs pg-1 | server CPU µs/delivery | capacity (deliveries/s) | capacity vs pg-1 |",
    "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map(
      (r) =>
        `| ${r.d} | ${Math.round(r.dps)} | ${r.all.map((x) => Math.round(x.sustainedDps)).join(", ")} | ${(r.dps / base).toFixed(2)}× | ${(r.dps / one).toFixed(2)}× | ${r.cpu.toFixed(1)} | ${Math.round(r.capacity)} | ${(r.capacity / oneCapacity).toFixed(2)}× |`,
    ),
    "",
    `capacity: deliveries per server CPU-second × the cores the deployment can use (its workers, at most the machine's ${cores}),`,
    "a load-independent ceiling that ignores PostgreSQL's, Redis's and the generators' share of the cores",
  ];
  lines.push(...equalLoadLines(results));
  process.stdout.write(`\n${lines.join("\n")}\n`);
  const out = join(ROOT, "bench", "results");
  try {
    writeFileSync(
      join(out, `scale-${new Date().toISOString().replace(/[:.]/g, "-")}.json`),
      JSON.stringify({ o, results }, null, 2),
    );
  } catch {
    // no results directory: the table above is the report
  }
  return 0;
}
