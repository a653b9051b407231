// Gives back the memory a burst of work left in V8's heap once the server goes idle.
//
// Thousands of clients connecting at once (a reconnect storm after a restart, a crowd joining)
// leave the heap far larger than what the connections keep: V8 grows the young generation to its
// maximum (two 16 MiB semi-spaces) once as many bytes have survived scavenges as it holds, which
// the connections' own state alone does, and the burst's promoted garbage waits in the old
// generation for the next mark-compact. Neither shrinks until a mark-compact at a time of low
// allocation, which an idle server may not run for minutes: at 10,000 IRC logins that is ~4 KB of
// RSS per connection on top of the ~4 KB a connection keeps (docs/benchmarks.md, session 9,
// `ircidle`). So once the heap has grown by a set amount and the event loop has been idle for a
// while, this asks V8 for a full collection that also shrinks the heap — what its own memory
// reducer does eventually — while nothing waits on the pause it costs (0.13–0.26 s at 10,000 connections).

import type { Session } from "node:inspector";
import { performance } from "node:perf_hooks";
import { getHeapStatistics } from "node:v8";
import type { Logger } from "./log.ts";

/**
 * Below this share of its time busy (over one look's interval), the event loop counts as idle. Not
 * near 0: in the seconds after 10,000 IRC connections opened, the loop stayed 3–13% busy with
 * nothing to do for them (V8's background work finishing, timers, pings).
 */
const IDLE_UTILIZATION = 0.15;

export interface MemoryReducerOptions {
  /** Growth of the committed heap since the last collection, in MiB, past which an idle server collects; 0 = never. */
  growthMiB: number;
  /** How long the event loop must have been idle first. */
  idleMs: number;
  /** How often the heap and the event loop are looked at. */
  everyMs: number;
}

export const defaultMemoryReducerOptions: MemoryReducerOptions = { growthMiB: 16, idleMs: 1500, everyMs: 500 };

/** What the reducer reads and does, apart from the clock: the real one is `processProbe()`. */
export interface Probe {
  /** Bytes the JS heap has committed. */
  heapBytes(): number;
  /** The event loop's busy share (0–1) since the previous call. */
  utilization(): number;
  /** A full garbage collection that also shrinks the heap; resolves when done. */
  collect(): Promise<void>;
  /** Lets go of what collect() opened. */
  close(): void;
}

export class MemoryReducer {
  /** The committed heap after the last collection (or at the start): growth is counted from here. */
  private base: number;
  private idleFor = 0;
  private collecting = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly opts: MemoryReducerOptions,
    private readonly probe: Probe,
    private readonly log: Logger,
  ) {
    this.base = probe.heapBytes();
  }

  start(): void {
    if (this.opts.growthMiB === 0 || this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.opts.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.probe.close();
  }

  /** One look: collects when the heap has grown enough and the server has been idle long enough. */
  async tick(): Promise<void> {
    if (this.collecting) return;
    const busy = this.probe.utilization();
    const heap = this.probe.heapBytes();
    // V8 shrank the heap by itself: count growth from there.
    if (heap < this.base) this.base = heap;
    this.idleFor = busy < IDLE_UTILIZATION ? this.idleFor + this.opts.everyMs : 0;
    if (this.idleFor < this.opts.idleMs || heap - this.base < this.opts.growthMiB * 1024 * 1024) return;
    this.collecting = true;
    const started = performance.now();
    try {
      await this.probe.collect();
    } catch (err) {
      this.log.warn("idle garbage collection failed", { err });
    } finally {
      this.collecting = false;
      this.idleFor = 0;
      this.base = this.probe.heapBytes();
      // The pause is this tick's own: not counted against the next idle period.
      this.probe.utilization();
    }
    this.log.debug("idle garbage collection", {
      heapBeforeMiB: Math.round(heap / 1048576),
      heapAfterMiB: Math.round(this.base / 1048576),
      ms: Math.round(performance.now() - started),
    });
  }
}

/**
 * This process's heap and event loop. The collection goes through an in-process inspector
 * session (HeapProfiler.collectGarbage, the DevTools' "collect garbage"): node has no other way to
 * ask V8 for one without --expose-gc, and V8 runs it as a memory-reducing full collection.
 */
export function processProbe(): Probe {
  let elu = performance.eventLoopUtilization();
  let session: Session | null = null;
  let closed = false;
  return {
    heapBytes: () => getHeapStatistics().total_heap_size,
    utilization() {
      const now = performance.eventLoopUtilization();
      const u = performance.eventLoopUtilization(now, elu).utilization;
      elu = now;
      return u;
    },
    async collect() {
      if (session === null) {
        // Imported when first needed: a node built without the inspector fails here (logged), not at startup.
        const { Session } = await import("node:inspector");
        // Stopped while the import was pending: a session opened now would never be closed.
        if (closed) return;
        session = new Session();
        session.connect();
      }
      const s = session;
      await new Promise<void>((resolve, reject) => {
        s.post("HeapProfiler.collectGarbage", (err) => (err ? reject(err) : resolve()));
      });
    },
    close() {
      closed = true;
      session?.disconnect();
      session = null;
    },
  };
}
