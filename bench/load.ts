// The load generator: a child process of bench/run.ts, driven over IPC (see ToLoad/FromLoad in
// lib.ts). It opens its share of the WebSocket clients, and on each step its senders send at an
// open-loop rate (the schedule does not wait for anything), each body stamped with the time the
// message was due on the machine-wide monotonic clock; every client counts the deliveries it
// receives per step and records their end-to-end latency in a histogram.
//
// Run only by run.ts: `node --import tsx bench/load.ts '<LoadConfig JSON>'` with an IPC channel.

import { createHash, randomBytes } from "node:crypto";
import { connect as netConnect, type Socket } from "node:net";
import WebSocket from "ws";
import { benchRoom, type FromLoad, Histogram, type LoadConfig, makeBody, mono, readBody, type ToLoad } from "./lib.ts";

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

/** One client socket: the `ws` library, or the minimal client below (the default, much cheaper per frame). */
interface Conn {
  send(text: string): void;
  terminate(): void;
  readonly open: boolean;
  /** Called with each text frame's payload; `now` is the arrival time of the read that held it. */
  onText: ((payload: Buffer, now: number) => void) | null;
  onClose: (() => void) | null;
}

interface Client {
  i: number;
  conn: Conn;
  /** Room to send to (Parley: the room's id; #lobby's unless --rooms). */
  room: string;
  sent: number;
}

// ---- transport 1: the ws library ----

function wsConnect(url: string): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
    const conn: Conn = {
      send: (text) => ws.send(text),
      terminate: () => ws.terminate(),
      get open() {
        return ws.readyState === WebSocket.OPEN;
      },
      onText: null,
      onClose: null,
    };
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (!isBinary) conn.onText?.(data, mono());
    });
    ws.on("close", () => conn.onClose?.());
    ws.on("error", (err) => reject(err));
    ws.on("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode} on upgrade`)));
    ws.on("open", () => resolve(conn));
  });
}

// ---- transport 2: a minimal RFC 6455 client over a TCP socket ----
// Server frames are unmasked and small; the parser walks each read's frames in place, answers
// pings, and hands text payloads over as views into the read buffer (no copy, no events per frame).

class RawConn implements Conn {
  onText: ((payload: Buffer, now: number) => void) | null = null;
  onClose: (() => void) | null = null;
  private rest: Buffer | null = null;
  private fragments: Buffer[] = [];
  private closed = false;

  constructor(private readonly sock: Socket) {
    sock.on("close", () => {
      this.closed = true;
      this.onClose?.();
    });
    sock.on("error", () => {});
  }

  get open(): boolean {
    return !this.closed;
  }

  send(text: string): void {
    this.writeFrame(0x1, Buffer.from(text));
  }

  terminate(): void {
    this.sock.destroy();
  }

  private writeFrame(opcode: number, payload: Buffer): void {
    if (this.closed) return;
    const n = payload.length;
    const headLen = n < 126 ? 2 : n < 65536 ? 4 : 10;
    const frame = Buffer.allocUnsafe(headLen + 4 + n);
    frame[0] = 0x80 | opcode;
    if (n < 126) frame[1] = 0x80 | n;
    else if (n < 65536) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(n, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeBigUInt64BE(BigInt(n), 2);
    }
    const mask = randomBytes(4);
    mask.copy(frame, headLen);
    for (let i = 0; i < n; i++) frame[headLen + 4 + i] = payload[i]! ^ mask[i & 3]!;
    this.sock.write(frame);
  }

  data(chunk: Buffer): void {
    const now = mono();
    let buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = null;
    let off = 0;
    for (;;) {
      if (buf.length - off < 2) break;
      const b0 = buf[off]!;
      let len = buf[off + 1]! & 0x7f;
      let head = 2;
      if (len === 126) {
        if (buf.length - off < 4) break;
        len = buf.readUInt16BE(off + 2);
        head = 4;
      } else if (len === 127) {
        if (buf.length - off < 10) break;
        len = Number(buf.readBigUInt64BE(off + 2));
        head = 10;
      }
      if (buf.length - off < head + len) break;
      const payload = buf.subarray(off + head, off + head + len);
      off += head + len;
      const opcode = b0 & 0x0f;
      const fin = (b0 & 0x80) !== 0;
      if (opcode === 0x1 || opcode === 0x0) {
        if (!fin) {
          this.fragments.push(Buffer.from(payload));
          continue;
        }
        if (this.fragments.length > 0) {
          this.fragments.push(payload);
          const whole = Buffer.concat(this.fragments);
          this.fragments = [];
          this.onText?.(whole, now);
        } else if (opcode === 0x1) this.onText?.(payload, now);
      } else if (opcode === 0x9)
        this.writeFrame(0xa, Buffer.from(payload)); // ping → pong
      else if (opcode === 0x8) this.sock.end();
    }
    if (off < buf.length) {
      buf = buf.subarray(off);
      // Keep a copy: the socket may reuse its read buffer.
      this.rest = Buffer.from(buf);
    }
  }
}

function rawConnect(url: string): Promise<Conn> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = netConnect({ host: u.hostname, port: Number(u.port), noDelay: true });
    const key = randomBytes(16).toString("base64");
    const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
    let head = Buffer.alloc(0);
    const onHead = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) {
        if (head.length > 8192) fail(new Error("upgrade response too long"));
        return;
      }
      const text = head.toString("latin1", 0, end);
      if (!/^HTTP\/1\.1 101/.test(text) || !text.includes(accept)) {
        fail(new Error(`upgrade refused: ${text.split("\r\n")[0]}`));
        return;
      }
      sock.off("data", onHead);
      sock.off("error", fail);
      const conn = new RawConn(sock);
      sock.on("data", (c: Buffer) => conn.data(c));
      resolve(conn);
      const leftover = head.subarray(end + 4);
      if (leftover.length > 0) queueMicrotask(() => conn.data(Buffer.from(leftover)));
    };
    const fail = (err: Error) => {
      sock.destroy();
      reject(err);
    };
    sock.on("error", fail);
    sock.on("data", onHead);
    sock.on("connect", () => {
      sock.write(
        `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
  });
}

// ---- clients ----

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

function onFrame(data: Buffer, now: number): void {
  // Every event frame starts with {"type":"event" (Parley and the bare peer alike).
  if (data[9] === 0x65 && data[10] === 0x76) {
    if (!readBody(data, parsed)) return; // a member join or other non-benchmark event
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

async function connectOne(i: number): Promise<Client> {
  let conn: Conn | null = null;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("connect/hello timed out after 30 s")), 30_000);
  });
  try {
    conn = await Promise.race([cfg.transport === "ws" ? wsConnect(cfg.url) : rawConnect(cfg.url), timeout]);
    const client: Client = { i, conn, room: "lobby", sent: 0 };
    if (cfg.protocol === "parley") {
      // Parley: hello as a guest; the welcome lists #lobby, which every new account joins.
      const c = conn;
      const welcome = new Promise<Buffer>((resolve, reject) => {
        c.onText = (data) => resolve(Buffer.from(data));
        c.onClose = () => reject(new Error("closed before welcome"));
      });
      c.send(JSON.stringify({ type: "hello", id: 1, guest: `${cfg.namePrefix}${i}` }));
      const data = await Promise.race([welcome, timeout]);
      const f = JSON.parse(data.toString("utf8")) as { type?: string; rooms?: { room: { id: string; name: string } }[] };
      if (f.type !== "welcome") throw new Error(`hello refused: ${data.toString("utf8", 0, 200)}`);
      const lobby = f.rooms?.find((m) => m.room.name === "lobby");
      if (!lobby) throw new Error("welcome has no #lobby");
      client.room = lobby.room.id;
      if (cfg.rooms > 1) client.room = await Promise.race([parleyJoin(c, benchRoom(i, cfg.rooms)), timeout]);
    } else if (cfg.rooms > 1) {
      client.room = benchRoom(i, cfg.rooms);
      conn.send(JSON.stringify({ type: "join", room: client.room }));
    }
    conn.onText = onFrame;
    open++;
    conn.onClose = () => open--;
    return client;
  } catch (err) {
    conn?.terminate();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Joins a Parley room by name and resolves with its id (frames arriving meanwhile are events of #lobby). */
function parleyJoin(c: Conn, name: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    c.onText = (data) => {
      const f = JSON.parse(data.toString("utf8")) as {
        type?: string;
        id?: unknown;
        result?: { membership?: { room: { id: string } } };
      };
      if (f.id !== 2) return;
      const id = f.type === "ok" ? f.result?.membership?.room.id : undefined;
      if (id) resolve(id);
      else reject(new Error(`join ${name} refused: ${data.toString("utf8", 0, 200)}`));
    };
    c.send(JSON.stringify({ type: "join", id: 2, room: name }));
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
      if (c.conn.open) c.conn.send(JSON.stringify(frame));
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
      for (const c of clients) c.conn.terminate();
      setTimeout(() => process.exit(0), 50);
      return;
  }
});

// The orchestrator went away (finished, crashed or was interrupted): do not linger.
process.on("disconnect", () => process.exit(0));
post({ ev: "booted" });
