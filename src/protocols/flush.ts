// When the protocol gateways write their queued output to the sockets.
//
// Each socket write costs about 7 µs of server CPU here (mostly the kernel's loopback/TCP path),
// against about 0.3 µs for each further frame or line in the same write, so the CPU per delivery
// is set by how many frames share a write. A writer with output queued joins the scheduler once;
// the scheduler flushes every queued writer together, in the order they joined:
//
// - normally at the end of the current turn (`process.nextTick`: after the callback and its
//   promise jobs), so all events of one store commit leave in one write per socket;
// - but after a flush that took `t` ms (a busy room: many sockets), the next one waits until
//   `spacing × t` after it ended (at most `maxDelayMs`). Writing then takes at most
//   1 / (1 + spacing) of the thread however busy the server is, and output queued meanwhile —
//   several commits' worth — leaves together.
// - Flushes shorter than `minSpacedMs` (a few dozen sockets) are not spaced: a quiet or small
//   server writes at the end of every turn, as before, so its latency is unchanged.

export interface Flushable {
  /** Writes what this writer queued since its last flush (in order); a no-op when nothing is left. */
  flush(): void;
}

export interface FlushPolicy {
  /** The next flush waits this many times as long as the last one took. */
  spacing: number;
  /** Longest wait between flushes, in ms. */
  maxDelayMs: number;
  /** Flushes shorter than this (ms) are not followed by a wait. */
  minSpacedMs: number;
}

export const defaultFlushPolicy: FlushPolicy = { spacing: 3, maxDelayMs: 30, minSpacedMs: 0.5 };

/** The clock and the two ways to run a flush later; tests replace them. */
export interface FlushTimers {
  now(): number;
  /** At the end of the current turn. */
  soon(fn: () => void): void;
  /** After `ms` milliseconds. */
  after(fn: () => void, ms: number): void;
}

const realTimers: FlushTimers = {
  now: () => performance.now(),
  soon: (fn) => process.nextTick(fn),
  after: (fn, ms) => setTimeout(fn, ms),
};

/** How long after a flush that took `took` ms the next one must wait (0: none). */
export function flushDelay(took: number, policy: FlushPolicy): number {
  return took < policy.minSpacedMs ? 0 : Math.min(policy.maxDelayMs, policy.spacing * took);
}

export class FlushScheduler {
  private pending: Flushable[] = [];
  /** Clock time before which the next flush waits (0: none). */
  private nextFlushAt = 0;
  private flushing = false;
  private readonly flushAll = () => this.run();

  constructor(
    private readonly policy: FlushPolicy = defaultFlushPolicy,
    private readonly timers: FlushTimers = realTimers,
  ) {}

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
      // A writer that threw: the ones after it still go out, in the next flush, before newer ones.
      if (i < batch.length) this.pending = batch.slice(i + 1).concat(this.pending);
      const ended = this.timers.now();
      const delay = flushDelay(ended - started, this.policy);
      this.nextFlushAt = delay === 0 ? 0 : ended + delay;
      if (this.pending.length > 0) this.schedule();
    }
  }
}
