// The load generator: a child process of bench/run.ts, driven over IPC (see ToLoad/FromLoad in
// lib.ts), the same for every wire protocol; a codec (bench/codecs/) does what differs. It opens
// its share of the clients (client i belongs to generator i mod N) in batches, and on each step
// its senders send at an open-loop rate (the schedule does not wait for anything), each body
// stamped with the time the message was due on the machine-wide monotonic clock; every delivery
// is counted per step and its end-to-end latency recorded in a histogram.
//
// Run only by run.ts: `node --import tsx bench/load.ts '<LoadConfig JSON>'` with an IPC channel.

import { type Codec, type Deliveries, type Session, traffic } from "./codecs/codec.ts";
import { ircCodec } from "./codecs/irc.ts";
import { bareCodec, parleyCodec } from "./codecs/json.ts";
import { socketioCodec } from "./codecs/socketio.ts";
import { type FromLoad, Histogram, type LoadConfig, makeBody, mono, type Protocol, type ToLoad } from "./lib.ts";

const CODECS: Record<Protocol, Codec> = { parley: parleyCodec, bare: bareCodec, irc: ircCodec, socketio: socketioCodec };

if (!process.send) {
  process.stderr.write("bench/load.ts is started by bench/run.ts (it needs an IPC channel)\n");
  process.exit(2);
}

const cfg = JSON.parse(process.argv[2] ?? "{}") as LoadConfig;
const codec = CODECS[cfg.protocol];
/** Connecting includes logging in and joining; IRC servers may take long to register 1,000 clients. */
const CONNECT_TIMEOUT_MS = cfg.protocol === "irc" ? 60_000 : 30_000;

function post(m: FromLoad): void {
  process.send?.(m);
}

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

interface Client {
  i: number;
  session: Session;
}

const clients: Client[] = [];
let open = 0;
let errors = 0;
let firstError: string | null = null;

const deliveries: Deliveries = {
  message(step, sentAt, now) {
    const s = stepStats(step);
    s.received++;
    s.hist.add(now - sentAt);
    s.lastAt = now;
  },
  error(text) {
    errors++;
    firstError ??= text;
  },
};

async function connectOne(i: number): Promise<Client> {
  const pending = codec(i, cfg, deliveries);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`connect/login timed out after ${CONNECT_TIMEOUT_MS / 1000} s`)),
      CONNECT_TIMEOUT_MS,
    );
  });
  try {
    const session = await Promise.race([pending, timeout]);
    open++;
    session.onClose = () => open--;
    return { i, session };
  } catch (err) {
    pending.then(
      (s) => s.close(),
      () => {},
    ); // a late success is closed at once
    throw err;
  } finally {
    clearTimeout(timer);
  }
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
      senders[k % senders.length]!.session.send(makeBody(step, due, cfg.bodyBytes));
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
      traffic.reads = 0;
      traffic.bytes = 0;
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
        reads: traffic.reads,
        bytes: traffic.bytes,
      });
      return;
    }
    case "close":
      for (const c of clients) c.session.close();
      setTimeout(() => process.exit(0), 50);
      return;
  }
});

// The orchestrator went away (finished, crashed or was interrupted): do not linger.
process.on("disconnect", () => process.exit(0));
// run.ts stops its generators with SIGTERM: exiting normally lets --cpu-prof write the profile.
process.on("SIGTERM", () => process.exit(0));
post({ ev: "booted" });
