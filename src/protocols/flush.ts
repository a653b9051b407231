// When the protocol gateways write their queued output to the sockets.
//
// Each socket write costs about 7 µs of server CPU here (mostly the kernel's loopback/TCP path),
// against about 0.3 µs for each further frame or line in the same write, so the CPU per delivery
// is set by how many frames share a write. A writer with output queued joins the scheduler once;
// the scheduler flushes every queued writer together, in the order they joined:
//
// - normally at the end of the current turn (`process.nextTick`: after the callback and its
//   promise jobs), so all events of one store commit leave in one write per socket;
// - but when the event loop is busy, after a flush that took `t` ms (a busy room: many sockets)
//   the next one waits until `spacing × t × pressure` after it ended (at most `maxDelayMs`).
//   `pressure` is 0 while the loop spends under `busyFrom` of its wall time working and rises to
//   1 at full load (see `flushPressure`). A saturated server then writes for at most
//   1 / (1 + spacing) of the thread, and output queued meanwhile — several commits' worth —
//   leaves together; a server with idle time left spends it on writing every turn instead of
//   making messages wait. Holding writes back only pays when the CPU they save is needed.
// - Flushes shorter than `minSpacedMs` (a few dozen sockets) are never spaced.
//
// The load is the event loop's utilization (`performance.eventLoopUtilization()`: time spent
// outside the poll for I/O), averaged over roughly the last `loadWindowMs`, sampled at the end of
// each flush.

export interface Flushable {
  /** Writes what this writer queued since its last flush (in order); a no-op when nothing is left. */
  flush(): void;
}

export interface FlushPolicy {
  /** At full load, the next flush waits this many times as long as the last one took. */
  spacing: number;
  /** Longest wait between flushes, in ms. */
  maxDelayMs: number;
  /** Flushes shorter than this (ms) are not followed by a wait. */
  minSpacedMs: number;
  /** Event-loop utilization (0–1) below which flushes are not spaced at all. */
  busyFrom: number;
  /** The utilization is averaged over about this long (ms; the time constant of the average). */
  loadWindowMs: number;
}

export const defaultFlushPolicy: FlushPolicy = {
  spacing: 3,
  maxDelayMs: 30,
  minSpacedMs: 0.5,
  busyFrom: 0.5,
  loadWindowMs: 200,
};

/** The clock, the loop's busy time and the two ways to run a flush later; tests replace them. */
export interface FlushTimers {
  now(): number;
  /** Milliseconds the event loop has spent working (not waiting for I/O) since it started. */
  busy(): number;
  /** At the end of the current turn. */
  soon(fn: () => void): void;
  /** After `ms` milliseconds. */
  after(fn: () => void, ms: number): void;
}

const realTimers: FlushTimers = {
  now: () => performance.now(),
  busy: () => performance.eventLoopUtilization().active,
  soon: (fn) => process.nextTick(fn),
  after: (fn, ms) => setTimeout(fn, ms),
};

/** How much of the spacing applies at utilization `load` (0–1): 0 below `busyFrom`, 1 at full load. */
export function flushPressure(load: number, policy: FlushPolicy): number {
  return Math.min(1, Math.max(0, (load - policy.busyFrom) / (1 - policy.busyFrom)));
}

/** How long after a flush that took `took` ms, at utilization `load`, the next one must wait (0: none). */
export function flushDelay(took: number, load: number, policy: FlushPolicy): number {
  if (took < policy.minSpacedMs) return 0;
  return Math.min(policy.maxDelayMs, policy.spacing * took * flushPressure(load, policy));
}

export class FlushScheduler {
  /**
   * Flushes run since the start, and writers flushed in them: each writer flushed is at most one
   * socket write, the cost this scheduler exists to bound (exported at /metrics).
   */
  flushes = 0;
  writes = 0;
  private pending: Flushable[] = [];
  /** Clock time before which the next flush waits (0: none). */
  private nextFlushAt = 0;
  private flushing = false;
  /** The event loop's recent utilization (0–1), and the clock and busy time it was last updated at. */
  private load = 0;
  private loadAt: number;
  private busyAt: number;
  private readonly flushAll = () => this.run();

  constructor(
    private readonly policy: FlushPolicy = defaultFlushPolicy,
    private readonly timers: FlushTimers = realTimers,
  ) {
    this.loadAt = timers.now();
    this.busyAt = timers.busy();
  }

  /**
   * Queues `w` for the next flush. The caller adds a writer once per flush (when its first
   * output since its last flush is queued); the scheduler does not look for duplicates.
   */
  add(w: Flushable): void {
    // A writer that queues output while the flush runs (its flush caused more output) goes in
    // the next one, which run() schedules once it knows how long this one took.
    if (this.pending.push(w) === 1 && !this.flushing) this.schedule();
  }

  /** Writers waiting for the next flush. */
  get size(): number {
    return this.pending.length;
  }

  /** The event loop's utilization as last sampled (0–1). */
  get utilization(): number {
    return this.load;
  }

  /**
   * Folds the utilization since the last sample into the average, weighted by how long ago that
   * was: a sample over `loadWindowMs` or more mostly replaces it, one over a short turn nudges it.
   */
  private sampleLoad(now: number): void {
    const elapsed = now - this.loadAt;
    if (elapsed <= 0) return;
    const busy = this.timers.busy();
    const recent = Math.min(1, (busy - this.busyAt) / elapsed);
    this.load += (1 - Math.exp(-elapsed / this.policy.loadWindowMs)) * (recent - this.load);
    this.loadAt = now;
    this.busyAt = busy;
  }

  private schedule(): void {
    const wait = this.nextFlushAt - this.timers.now();
    if (wait > 0) this.timers.after(this.flushAll, wait);
    else this.timers.soon(this.flushAll);
  }

  private run(): void {
    const started = this.timers.now();
    const batch = this.pending;
    this.pending = [];
    this.flushing = true;
    let i = 0;
    try {
      for (; i < batch.length; i++) batch[i]!.flush();
    } finally {
      this.flushing = false;
      this.flushes++;
      this.writes += i;
      // A writer that threw: the ones after it still go out, in the next flush, before newer ones.
      if (i < batch.length) this.pending = batch.slice(i + 1).concat(this.pending);
      const ended = this.timers.now();
      this.sampleLoad(ended);
      const delay = flushDelay(ended - started, this.load, this.policy);
      this.nextFlushAt = delay === 0 ? 0 : ended + delay;
      if (this.pending.length > 0) this.schedule();
    }
  }
}
