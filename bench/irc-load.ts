// The IRC load generator: the same job as bench/load.ts (same IPC messages, see ToLoad/FromLoad in
// lib.ts), spoken as plain IRC over TCP so Parley's gateway, InspIRCd and ngIRCd get the same
// workload. Each client registers (NICK/USER, no capabilities), joins the channel and counts the
// benchmark PRIVMSGs it receives per step with their end-to-end latency. Senders send
// `PRIVMSG #lobby :<body>` at the step's open-loop rate. Without echo-message an IRC server does
// not send a message back to its sender, so each message is due at every client but one.
//
// Run only by run.ts: `node --import tsx bench/irc-load.ts '<LoadConfig JSON>'` with an IPC channel.

import { connect as netConnect, type Socket } from "node:net";
import { type FromLoad, Histogram, type LoadConfig, makeBody, mono, readBody, type ToLoad } from "./lib.ts";
import { IRC_CHANNEL } from "./peers/irc-servers.ts";

if (!process.send) {
  process.stderr.write("bench/irc-load.ts is started by bench/run.ts (it needs an IPC channel)\n");
  process.exit(2);
}

const cfg = JSON.parse(process.argv[2] ?? "{}") as LoadConfig;
const { hostname, port } = new URL(cfg.url);

function post(m: FromLoad): void {
  process.send?.(m);
}

const NL = 0x0a;
// The body is the last parameter; servers may send it without the ':' when it has no space.
const PRIVMSG = Buffer.from(" PRIVMSG ");
const BODY_MARK = Buffer.from("b~");
const PING = Buffer.from("PING ");
const ERROR = Buffer.from("ERROR ");

interface StepStats {
  received: number;
  hist: Histogram;
  lastAt: number;
}

const steps = new Map<number, StepStats>();
function stepStats(step: number): StepStats {
  let s = steps.get(step);
  if (!s) {
    s = { received: 0, hist: new Histogram(), lastAt: 0 };
    steps.set(step, s);
  }
  return s;
}

let open = 0;
let errors = 0;
let firstError: string | null = null;
const parsed = { step: 0, sentAt: 0 };

/** One registered IRC client. Reads are scanned in place: only complete lines, no per-line objects. */
class IrcConn {
  private rest: Buffer | null = null;
  closed = false;
  sent = 0;
  /** Before registration completes: every line goes here instead of being counted. */
  onLine: ((line: string) => void) | null = null;

  constructor(
    readonly i: number,
    readonly nick: string,
    readonly sock: Socket,
  ) {
    sock.on("data", (chunk: Buffer) => this.data(chunk));
    sock.on("close", () => {
      if (!this.closed && this.onLine === null) open--;
      this.closed = true;
    });
    sock.on("error", () => {});
  }

  write(line: string): void {
    if (!this.closed) this.sock.write(`${line}\r\n`);
  }

  private data(chunk: Buffer): void {
    const now = mono();
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = null;
    const end = buf.lastIndexOf(NL) + 1; // lines complete in this read
    if (end < buf.length) this.rest = Buffer.from(buf.subarray(end));
    let at = 0;
    while (at < end) {
      const nl = buf.indexOf(NL, at);
      const line = buf.subarray(at, nl);
      at = nl + 1;
      if (this.onLine) this.onLine(line.toString("utf8").replace(/\r$/, ""));
      else if (readBody(line.subarray(Math.max(0, line.indexOf(PRIVMSG))), parsed, BODY_MARK)) {
        const s = stepStats(parsed.step);
        s.received++;
        s.hist.add(now - parsed.sentAt);
        s.lastAt = now;
      } else if (line.subarray(0, PING.length).equals(PING)) {
        this.write(`PONG ${line.toString("utf8", PING.length).trim()}`);
      } else if (line.subarray(0, ERROR.length).equals(ERROR)) {
        errors++;
        firstError ??= line.toString("utf8", 0, Math.min(line.length, 300));
      }
    }
  }
}

const clients: IrcConn[] = [];

/** Connects, registers and joins the channel; resolves once the client is in it (366). */
function connectOne(i: number): Promise<IrcConn> {
  const nick = `${cfg.namePrefix}${i}`;
  return new Promise((resolve, reject) => {
    const sock = netConnect({ host: hostname, port: Number(port), noDelay: true });
    const conn = new IrcConn(i, nick, sock);
    const timer = setTimeout(() => fail(new Error("register/join timed out after 60 s")), 60_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      sock.destroy();
      reject(err);
    };
    let joined = false;
    conn.onLine = (line) => {
      const p = line.split(" ");
      if (p[0] === "PING") conn.write(`PONG ${p.slice(1).join(" ")}`);
      else if (p[0] === "ERROR") fail(new Error(line));
      else if (p[1] === "001" && !joined) {
        joined = true;
        conn.write(`JOIN ${IRC_CHANNEL}`);
      } else if (p[1] === "366" && p[3]?.toLowerCase() === IRC_CHANNEL) {
        clearTimeout(timer);
        conn.onLine = null;
        open++;
        resolve(conn);
      } else if (/^4\d\d$/.test(p[1] ?? "") && p[1] !== "422") fail(new Error(`refused: ${line}`));
    };
    sock.on("error", fail);
    sock.on("close", () => fail(new Error("closed during registration")));
    sock.on("connect", () => {
      sock.write(`NICK ${nick}\r\nUSER ${nick} 0 * :bench\r\n`);
    });
  });
}

async function connectAll(): Promise<void> {
  const started = mono();
  const mine: number[] = [];
  for (let i = cfg.index; i < cfg.clients; i += cfg.generators) mine.push(i);
  let failed = 0;
  let firstFailure: string | null = null;
  for (let b = 0; b < mine.length; b += cfg.connectBatch) {
    const results = await Promise.allSettled(mine.slice(b, b + cfg.connectBatch).map((i) => connectOne(i)));
    for (const r of results) {
      if (r.status === "fulfilled") clients.push(r.value);
      else {
        failed++;
        firstFailure ??= String(r.reason instanceof Error ? r.reason.message : r.reason);
      }
    }
  }
  post({ ev: "connected", connected: clients.length, failed, firstError: firstFailure, ms: mono() - started });
}

function runStep(step: number, rate: number, t0: number, durationMs: number): void {
  stepStats(step);
  const senders = clients.filter((c) => c.i < cfg.senders).sort((a, b) => a.i - b.i);
  const localRate = senders.length === 0 ? 0 : (rate * senders.length) / cfg.senders;
  const end = t0 + durationMs;
  if (localRate === 0) {
    setTimeout(() => post({ ev: "sent", step, sent: 0, lateMs: 0 }), Math.max(0, end - mono()));
    return;
  }
  const interval = 1000 / localRate;
  let k = 0;
  let lateMs = 0;
  const pump = () => {
    const now = mono();
    for (let due = t0 + k * interval; due < end && due <= now; due = t0 + k * interval) {
      const c = senders[k % senders.length]!;
      c.sent++;
      c.write(`PRIVMSG ${IRC_CHANNEL} :${makeBody(step, due, cfg.bodyBytes)}`);
      lateMs = Math.max(lateMs, now - due);
      k++;
    }
    const next = t0 + k * interval;
    if (next >= end) {
      post({ ev: "sent", step, sent: k, lateMs });
      return;
    }
    setTimeout(pump, Math.max(0, Math.min(50, next - mono())));
  };
  setTimeout(pump, Math.max(0, t0 - mono()));
}

process.on("message", (m: ToLoad) => {
  switch (m.cmd) {
    case "connect":
      connectAll().catch((err) => post({ ev: "fatal", message: String(err) }));
      return;
    case "step":
      runStep(m.step, m.rate, m.t0, m.durationMs);
      return;
    case "count":
      post({ ev: "count", step: m.step, received: steps.get(m.step)?.received ?? 0, open });
      return;
    case "stats": {
      const s = stepStats(m.step);
      post({
        ev: "stats",
        step: m.step,
        received: s.received,
        hist: s.hist.toSparse(),
        lastAt: s.lastAt,
        errors,
        firstError,
        open,
      });
      return;
    }
    case "close":
      for (const c of clients) c.sock.destroy();
      setTimeout(() => process.exit(0), 50);
      return;
  }
});

process.on("disconnect", () => process.exit(0));
post({ ev: "booted" });
