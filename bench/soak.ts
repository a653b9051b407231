// `npm run soak`: many simultaneous WebSocket connections held for minutes with steady traffic,
// sampling the server's memory. Loopback only; bounded in connections and time; stops by itself
// and stops the server it started. Not part of `npm test`.
//
//   npm run soak -- [--connections 10000] [--minutes 10] [--rate 20] [--rooms 100]
//
// Phases: (1) create the guest accounts and their room memberships a few connections at a time
// (so the joins fan out to few listeners), (2) open every connection and keep it open, (3) send
// `rate` messages per second in all, each to the sender's room, for `minutes`, while sampling the
// server's RSS every 15 s. It checks that every send is acknowledged, every connection stays
// open, and reports RSS at the start and end of the steady phase and its peaks in each half, as
// JSON lines on stdout and a summary at the end. Exit code 0 when nothing was lost or dropped.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

const HELP = `npm run soak -- [flags]      (or: npx tsx bench/soak.ts [flags])

Holds many WebSocket connections to a Parley server it starts on 127.0.0.1 for minutes, sends a
steady rate of messages to their rooms and samples the server's RSS every 15 s. JSON lines on
stdout; exit code 0 when every send was acknowledged and no connection dropped, 1 otherwise.

Flags:
  --connections N   simultaneous connections (default 10000)
  --minutes M       length of the steady phase (default 10)
  --rate R          messages per second in all (default 20)
  --rooms K         rooms the connections are spread over (default 100)
  --help            this text`;

const KNOWN = new Set(["--connections", "--minutes", "--rate", "--rooms"]);
const flags = process.argv.slice(2);
if (flags.includes("--help") || flags.includes("-h")) {
  console.log(HELP);
  process.exit(0);
}
for (let i = 0; i < flags.length; i += 2) {
  if (!KNOWN.has(flags[i]!)) {
    console.error(`soak: unknown flag ${flags[i]} (see --help)`);
    process.exit(2);
  }
}

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}

const CONNECTIONS = arg("connections", 10_000);
const MINUTES = arg("minutes", 10);
const RATE = arg("rate", 20);
const ROOMS = arg("rooms", 100);
const WARMUP_MS = Math.min(120_000, (MINUTES * 60_000) / 5);

const log = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ t: new Date().toISOString(), ...o })}\n`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** A connection that says hello as a guest and resolves requests by id. */
class Conn {
  private next = 1;
  private readonly pending = new Map<number, (f: { type: string; code?: string; result?: unknown }) => void>();
  closed = false;
  constructor(readonly ws: WebSocket) {
    ws.on("message", (d: Buffer) => {
      const s = d.toString();
      if (!s.startsWith('{"type":"ok"') && !s.startsWith('{"type":"error"') && !s.startsWith('{"type":"welcome"')) return;
      const f = JSON.parse(s) as { type: string; id?: number; code?: string };
      if (typeof f.id === "number") {
        this.pending.get(f.id)?.(f);
        this.pending.delete(f.id);
      }
    });
    ws.on("close", () => {
      this.closed = true;
      for (const resolve of this.pending.values()) resolve({ type: "error", code: "CLOSED" });
      this.pending.clear();
    });
    ws.on("error", () => {});
  }
  static open(url: string): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      ws.once("open", () => resolve(new Conn(ws)));
      ws.once("error", reject);
    });
  }
  request(frame: Record<string, unknown>): Promise<{ type: string; code?: string; result?: unknown }> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(JSON.stringify({ ...frame, id }));
    });
  }
}

async function main(): Promise<number> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "parley-soak-"));
  const config = join(dataDir, "soak.json");
  const big = { burst: 1_000_000, perSecond: 1_000_000 };
  writeFileSync(
    config,
    JSON.stringify({
      limits: {
        connectionMessages: big,
        accountMessages: big,
        joins: big,
        roomCreations: big,
        connectionRequests: big,
        maxConnections: CONNECTIONS + 100,
      },
      ws: { heartbeatMs: 30_000 },
    }),
  );
  const server: ChildProcess = spawn(
    process.execPath,
    [
      join(ROOT, "bin", "parley.js"),
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--line-port",
      "0",
      "--irc-port",
      "0",
      "--data",
      dataDir,
      "--log-format",
      "json",
      "--log-level",
      "warn",
      "--config",
      config,
    ],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  const stop = () => {
    if (server.exitCode === null) server.kill("SIGTERM");
  };
  process.on("exit", () => {
    if (server.exitCode === null) server.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });
  const url = `ws://127.0.0.1:${port}/ws`;
  for (let i = 0; ; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) break;
    } catch {
      if (i > 200) throw new Error("server did not start");
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = server.pid!;
  log({ phase: "started", pid, connections: CONNECTIONS, minutes: MINUTES, rate: RATE, rooms: ROOMS, rssMiB: rssMiB(pid) });

  // Rooms, created by one registered account.
  const reg = await fetch(`http://127.0.0.1:${port}/api/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "soakadmin", password: "soak password" }),
  });
  const { token } = (await reg.json()) as { token: string };
  const admin = await Conn.open(url);
  await admin.request({ type: "hello", token });
  const roomIds: string[] = [];
  for (let r = 0; r < ROOMS; r++) {
    const f = await admin.request({ type: "create", name: `soak${r}` });
    roomIds.push((f.result as { membership: { room: { id: string } } }).membership.room.id);
  }

  // Phase 1: accounts and memberships, 50 at a time.
  const started = Date.now();
  for (let i = 0; i < CONNECTIONS; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, CONNECTIONS - i) }, async (_, k) => {
        const n = i + k;
        const c = await Conn.open(url);
        const hello = await c.request({ type: "hello", guest: `soak${n}` });
        if (hello.type !== "welcome") throw new Error(`hello: ${JSON.stringify(hello)}`);
        const j = await c.request({ type: "join", room: `soak${n % ROOMS}` });
        if (j.type !== "ok") throw new Error(`join: ${JSON.stringify(j)}`);
        c.ws.close();
        await new Promise((r) => c.ws.once("close", r));
      }),
    );
  }
  log({ phase: "accounts", seconds: (Date.now() - started) / 1000, rssMiB: rssMiB(pid) });

  // Phase 2: everyone connects and stays.
  const conns: Conn[] = [];
  for (let i = 0; i < CONNECTIONS; i += 200) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(200, CONNECTIONS - i) }, async (_, k) => {
        const c = await Conn.open(url);
        const hello = await c.request({ type: "hello", guest: `soak${i + k}` });
        if (hello.type !== "welcome") throw new Error(`hello: ${JSON.stringify(hello)}`);
        return c;
      }),
    );
    conns.push(...batch);
  }
  const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { connections: number };
  log({ phase: "connected", open: conns.length, serverConnections: health.connections, rssMiB: rssMiB(pid) });

  // Phase 3: steady traffic.
  const samples: { at: number; rss: number }[] = [];
  let sent = 0;
  let acked = 0;
  const failures: Record<string, number> = {};
  const steadyStart = Date.now();
  const end = steadyStart + MINUTES * 60_000;
  const sampler = setInterval(() => {
    const s = { at: Date.now() - steadyStart, rss: rssMiB(pid) };
    samples.push(s);
    log({
      phase: "sample",
      seconds: s.at / 1000,
      rssMiB: Math.round(s.rss),
      sent,
      acked,
      closed: conns.filter((c) => c.closed).length,
    });
  }, 15_000);
  const inFlight = new Set<Promise<void>>();
  let n = 0;
  while (Date.now() < end) {
    const tick = Date.now();
    for (let k = 0; k < RATE; k++) {
      const idx = (n * 7919) % CONNECTIONS;
      const c = conns[idx]!;
      const room = roomIds[idx % ROOMS]!;
      const body = `soak message ${n} from ${idx} ${"x".repeat(60)}`;
      n++;
      sent++;
      const p = c.request({ type: "send", room, clientId: `s${n}`, body }).then((f) => {
        if (f.type === "ok") acked++;
        else failures[f.code ?? "?"] = (failures[f.code ?? "?"] ?? 0) + 1;
        inFlight.delete(p);
      });
      inFlight.add(p);
    }
    await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - tick))));
  }
  await Promise.all(inFlight);
  clearInterval(sampler);

  // RSS saw-tooths with garbage collection, so growth is judged by the peaks: the highest sample
  // of the second half of the steady phase against the highest of the first half.
  const steady = samples.filter((s) => s.at >= WARMUP_MS);
  const mid = steady.length >> 1;
  const peak = (xs: typeof steady) => Math.round(Math.max(...xs.map((s) => s.rss)));
  const closed = conns.filter((c) => c.closed).length;
  const summary = {
    phase: "summary",
    connections: CONNECTIONS,
    minutes: MINUTES,
    rate: RATE,
    sent,
    acked,
    failures,
    closedDuringSoak: closed,
    rssStartMiB: Math.round(steady[0]?.rss ?? Number.NaN),
    rssEndMiB: Math.round(steady.at(-1)?.rss ?? Number.NaN),
    rssMaxMiB: Math.round(Math.max(...samples.map((s) => s.rss))),
    rssPeakFirstHalfMiB: peak(steady.slice(0, mid)),
    rssPeakSecondHalfMiB: peak(steady.slice(mid)),
  };
  log(summary);
  for (const c of conns) c.ws.terminate();
  admin.ws.terminate();
  stop();
  await new Promise((r) => server.once("exit", r));
  return sent === acked && closed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
