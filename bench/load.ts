// The load generator: a child process of bench/run.ts, driven over IPC (see ToLoad/FromLoad in
// lib.ts). It opens its share of the WebSocket clients, and on each step its senders send at an
// open-loop rate (the schedule does not wait for anything), each body stamped with the time the
// message was due on the machine-wide monotonic clock; every client counts the deliveries it
// receives per step and records their end-to-end latency in a histogram.
//
// Run only by run.ts: `node --import tsx bench/load.ts '<LoadConfig JSON>'` with an IPC channel.

import WebSocket from "ws";
import { type FromLoad, Histogram, type LoadConfig, makeBody, mono, readBody, type ToLoad } from "./lib.ts";

if (!process.send) {
  process.stderr.write("bench/load.ts is started by bench/run.ts (it needs an IPC channel)\n");
  process.exit(2);
}

const cfg = JSON.parse(process.argv[2] ?? "{}") as LoadConfig;

function post(m: FromLoad): void {
  process.send?.(m);
}

interface StepStats {
  received: number;
  hist: Histogram;
  lastAt: number;
}

interface Client {
  i: number;
  ws: WebSocket;
  /** Room to send to (Parley: #lobby's id). */
  room: string;
  sent: number;
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

const clients: Client[] = [];
let open = 0;
let errors = 0;
let firstError: string | null = null;
const parsed = { step: 0, sentAt: 0 };

function onFrame(data: Buffer): void {
  // Every event frame starts with {"type":"event" (Parley and the bare peer alike).
  if (data[9] === 0x65 && data[10] === 0x76) {
    if (!readBody(data, parsed)) return; // a member join or other non-benchmark event
    const now = mono();
    const s = stepStats(parsed.step);
    s.received++;
    s.hist.add(now - parsed.sentAt);
    s.lastAt = now;
    return;
  }
  if (data[9] === 0x65 && data[10] === 0x72) {
    // {"type":"error" — e.g. RATE_LIMITED would mean the limits were not raised.
    errors++;
    if (firstError === null) firstError = data.toString("utf8", 0, Math.min(data.length, 300));
  }
}

function connectOne(i: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(cfg.url, { perMessageDeflate: false, skipUTF8Validation: true });
    const client: Client = { i, ws, room: "lobby", sent: 0 };
    let settled = false;
    const timer = setTimeout(() => fail(new Error("connect/hello timed out after 30 s")), 30_000);
    function fail(err: Error): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.terminate();
      reject(err);
    }
    function done(): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      open++;
      ws.on("close", () => open--);
      resolve(client);
    }
    ws.on("error", (err) => fail(err));
    ws.on("unexpected-response", (_req, res) => fail(new Error(`HTTP ${res.statusCode} on upgrade`)));
    ws.on("open", () => {
      if (cfg.protocol === "bare") {
        ws.on("message", (data: Buffer) => onFrame(data));
        done();
        return;
      }
      // Parley: hello as a guest; the welcome lists #lobby, which every new account joins.
      ws.once("message", (data: Buffer) => {
        let f: { type?: string; rooms?: { room: { id: string; name: string } }[]; message?: string };
        try {
          f = JSON.parse(data.toString("utf8"));
        } catch {
          fail(new Error("welcome is not JSON"));
          return;
        }
        if (f.type !== "welcome") {
          fail(new Error(`hello refused: ${data.toString("utf8", 0, 200)}`));
          return;
        }
        const lobby = f.rooms?.find((m) => m.room.name === "lobby");
        if (!lobby) {
          fail(new Error("welcome has no #lobby"));
          return;
        }
        client.room = lobby.room.id;
        ws.on("message", (d: Buffer) => onFrame(d));
        done();
      });
      ws.send(JSON.stringify({ type: "hello", id: 1, guest: `${cfg.namePrefix}${i}` }));
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
    const batch = mine.slice(b, b + cfg.connectBatch);
    const results = await Promise.allSettled(batch.map((i) => connectOne(i)));
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
      const body = makeBody(step, due, cfg.bodyBytes);
      c.sent++;
      const frame =
        cfg.protocol === "parley"
          ? { type: "send", id: c.sent, room: c.room, clientId: `c${c.i}-${c.sent}`, body }
          : { type: "send", room: c.room, clientId: `c${c.i}-${c.sent}`, body };
      if (c.ws.readyState === WebSocket.OPEN) c.ws.send(JSON.stringify(frame));
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
      for (const c of clients) c.ws.terminate();
      setTimeout(() => process.exit(0), 50);
      return;
  }
});

// The orchestrator went away (finished, crashed or was interrupted): do not linger.
process.on("disconnect", () => process.exit(0));
post({ ev: "booted" });
