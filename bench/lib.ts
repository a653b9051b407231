// Shared by the bench orchestrator (run.ts) and the load generator (load.ts and its codecs): a clock that all
// processes on the machine agree on, a small latency histogram, the message body format, and
// readers for a process's CPU time and peak memory.

import { readFileSync } from "node:fs";

// ---- a clock shared across processes ----

// process.hrtime is CLOCK_MONOTONIC, which is one clock for the whole machine, so a timestamp
// taken in the sender's process can be compared with the receiver's. performance.now() is cheap
// and runs on the same clock; only its origin differs per process, so measure that once.
const monoOffset = Number(process.hrtime.bigint()) / 1e6 - performance.now();

/** Milliseconds on the machine-wide monotonic clock (fractional). */
export function mono(): number {
  return performance.now() + monoOffset;
}

// ---- latency histogram ----

const MIN_MS = 0.01;
const GROWTH = 1.02; // 2% wide buckets
const LOG_GROWTH = Math.log(GROWTH);
export const HIST_BUCKETS = 820; // 0.01 ms × 1.02^820 ≈ 11,000 s

/** Log-bucketed latency counts (2% resolution), cheap to fill and to merge across processes. */
export class Histogram {
  readonly counts: Uint32Array;
  n = 0;
  max = 0;

  constructor(counts?: ArrayLike<number>) {
    this.counts = new Uint32Array(HIST_BUCKETS);
    if (counts) {
      for (let i = 0; i < HIST_BUCKETS; i++) {
        const c = counts[i] ?? 0;
        this.counts[i] = c;
        this.n += c;
        if (c > 0) this.max = upper(i);
      }
    }
  }

  add(ms: number): void {
    const i = ms <= MIN_MS ? 0 : Math.min(HIST_BUCKETS - 1, Math.floor(Math.log(ms / MIN_MS) / LOG_GROWTH));
    this.counts[i]!++;
    this.n++;
    if (ms > this.max) this.max = ms;
  }

  merge(other: Histogram): void {
    for (let i = 0; i < HIST_BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.n += other.n;
    if (other.max > this.max) this.max = other.max;
  }

  /** The q-quantile (0..1) in ms, as the middle of its bucket; NaN when empty. */
  quantile(q: number): number {
    if (this.n === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let i = 0; i < HIST_BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return MIN_MS * GROWTH ** (i + 0.5);
    }
    return this.max;
  }

  /** Sparse form for IPC: [bucket, count, bucket, count, …]. */
  toSparse(): number[] {
    const out: number[] = [];
    for (let i = 0; i < HIST_BUCKETS; i++) if (this.counts[i]! > 0) out.push(i, this.counts[i]!);
    return out;
  }

  static fromSparse(sparse: number[]): Histogram {
    const counts = new Array<number>(HIST_BUCKETS).fill(0);
    for (let i = 0; i + 1 < sparse.length; i += 2) counts[sparse[i]!] = sparse[i + 1]!;
    return new Histogram(counts);
  }
}

function upper(i: number): number {
  return MIN_MS * GROWTH ** (i + 1);
}

// ---- the message body ----

/**
 * A benchmark message body: `b~<step>~<sent at, ms on the shared clock>~<padding>`. The receiver
 * finds it in the raw frame without parsing the JSON around it.
 */
export function makeBody(step: number, sentAt: number, bytes: number): string {
  const head = `b~${step}~${sentAt.toFixed(3)}~`;
  return head.length >= bytes ? head : head + "x".repeat(bytes - head.length);
}

const TILDE = 0x7e;
const B = 0x62;
const QUOTE = 0x22;

/**
 * Reads step and send time from the JSON frame `frame[start, end)` if it carries a benchmark body,
 * or returns false. It scans back from the end for `"b~` (in JSON only a string starts there, and
 * the body is the frame's last string in every format): a bounded loop over the body's few dozen
 * bytes, where `indexOf` of the three-byte mark from the front cost ~0.4 µs on Parley's ~290-byte
 * event frames, a third of the generator's time.
 */
export function readBody(frame: Buffer, start: number, end: number, out: { step: number; sentAt: number }): boolean {
  for (let at = end - 1; at >= start + 2; at--) {
    if (frame[at] === TILDE && frame[at - 1] === B && frame[at - 2] === QUOTE) return readBodyAt(frame, at + 1, end, out);
  }
  return false;
}

/**
 * Reads `<step>~<sent at>` starting at `buf[i]` (just after the body's `b~`) and ending before
 * `end`, or returns false. Works in place: a reader that knows where the body starts needs no
 * sub-buffer per line.
 */
export function readBodyAt(buf: Buffer, i: number, end: number, out: { step: number; sentAt: number }): boolean {
  let step = 0;
  let c = i < end ? buf[i]! : -1;
  while (c >= 0x30 && c <= 0x39) {
    step = step * 10 + (c - 0x30);
    c = ++i < end ? buf[i]! : -1;
  }
  if (c !== TILDE) return false;
  c = ++i < end ? buf[i]! : -1;
  let whole = 0;
  while (c >= 0x30 && c <= 0x39) {
    whole = whole * 10 + (c - 0x30);
    c = ++i < end ? buf[i]! : -1;
  }
  let frac = 0;
  let scale = 1;
  if (c === 0x2e) {
    c = ++i < end ? buf[i]! : -1;
    while (c >= 0x30 && c <= 0x39) {
      frac = frac * 10 + (c - 0x30);
      scale *= 10;
      c = ++i < end ? buf[i]! : -1;
    }
  }
  out.step = step;
  out.sentAt = whole + frac / scale;
  return true;
}

// ---- /proc readers (Linux) ----

let clockTicks = 100;
export function setClockTicks(n: number): void {
  if (Number.isFinite(n) && n > 0) clockTicks = n;
}

/** User + system CPU seconds a process has used, or NaN when it cannot be read. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 here (state is 3 → index 0).
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return Number.NaN;
  }
}

/** Busy and total CPU seconds of the whole machine since boot (all cores), from /proc/stat. */
export function machineCpuSeconds(): { busy: number; total: number } {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // user nice system idle iowait irq softirq steal
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: (total - idle) / clockTicks, total: total / clockTicks };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}

/** Peak resident set size (VmHWM) in MiB, or NaN. */
export function peakRssMiB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

// ---- IPC between run.ts and load.ts ----

/** The wire a load generator speaks: one codec each in bench/codecs/. */
export type Protocol = "parley" | "bare" | "socketio" | "irc";

/** The name of the room client `i` uses when the clients are spread over several rooms. */
export const benchRoom = (i: number, rooms: number) => `bench-${i % rooms}`;

export interface LoadConfig {
  url: string;
  protocol: Protocol;
  /** This generator's number, 0..generators-1; it owns clients i with i % generators === index. */
  index: number;
  generators: number;
  clients: number;
  senders: number;
  /** Clients connecting at once. */
  connectBatch: number;
  bodyBytes: number;
  /** The WebSocket client of the WebSocket codecs: "raw", the minimal one in codecs/ws-client.ts; "ws", the ws library's. */
  transport: "raw" | "ws";
  /** Prefix of client names (Parley guests, IRC nicks). */
  namePrefix: string;
  /** 1: everyone in #lobby. More: client i joins room `bench-<i % rooms>` (created beforehand for Parley). */
  rooms: number;
}

export type ToLoad =
  | { cmd: "connect" }
  | { cmd: "step"; step: number; rate: number; t0: number; durationMs: number }
  | { cmd: "count"; step: number }
  | { cmd: "stats"; step: number }
  | { cmd: "close" };

export type FromLoad =
  | { ev: "booted" }
  | { ev: "connected"; connected: number; failed: number; firstError: string | null; ms: number }
  | { ev: "sent"; step: number; sent: number; lateMs: number }
  | { ev: "count"; step: number; received: number; open: number }
  | {
      ev: "stats";
      step: number;
      received: number;
      hist: number[];
      lastAt: number;
      errors: number;
      firstError: string | null;
      open: number;
      /** Socket reads and bytes read since the step began (0 with the ws library's client). */
      reads: number;
      bytes: number;
    }
  | { ev: "fatal"; message: string };

/** A flag's value as an integer in [min, max]; the error names the flag. */
export function intFlag(v: string | undefined, name: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} takes an integer from ${min} to ${max}`);
  return n;
}

/** A flag's value as a number in [min, max]; the error names the flag. */
export function numFlag(v: string | undefined, name: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${name} takes a number from ${min} to ${max}`);
  return n;
}
