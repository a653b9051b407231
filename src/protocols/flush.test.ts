import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultFlushPolicy, type Flushable, FlushScheduler, type FlushTimers, flushDelay } from "./flush.ts";

/** A clock that only moves when told, and the flushes the scheduler asked for, run by hand. */
class FakeTimers implements FlushTimers {
  clock = 1000;
  /** Scheduled runs: when ("soon" or a delay in ms) and what. */
  queued: { when: "soon" | number; fn: () => void }[] = [];
  now(): number {
    return this.clock;
  }
  soon(fn: () => void): void {
    this.queued.push({ when: "soon", fn });
  }
  after(fn: () => void, ms: number): void {
    this.queued.push({ when: ms, fn });
  }
  /** Runs the one scheduled flush (there is never more than one), returning when it was due. */
  runNext(): "soon" | number {
    assert.equal(this.queued.length, 1, "exactly one flush scheduled");
    const next = this.queued.shift()!;
    if (typeof next.when === "number") this.clock += next.when;
    next.fn();
    return next.when;
  }
}

/** A writer whose flush takes `costMs` of the fake clock and logs its name. */
function writer(name: string, timers: FakeTimers, log: string[], costMs = 0): Flushable {
  return {
    flush() {
      log.push(name);
      timers.clock += costMs;
    },
  };
}

describe("flush scheduling", () => {
  it("spaces flushes only after a long one, by the spacing factor, up to the cap", () => {
    const p = { spacing: 3, maxDelayMs: 30, minSpacedMs: 0.5 };
    assert.equal(flushDelay(0, p), 0);
    assert.equal(flushDelay(0.49, p), 0);
    assert.equal(flushDelay(0.5, p), 1.5);
    assert.equal(flushDelay(4, p), 12);
    assert.equal(flushDelay(10, p), 30);
    assert.equal(flushDelay(500, p), 30);
  });

  it("flushes at the end of the turn while flushes are short", () => {
    const t = new FakeTimers();
    const s = new FlushScheduler(defaultFlushPolicy, t);
    const log: string[] = [];
    s.add(writer("a", t, log, 0.1));
    s.add(writer("b", t, log, 0.1));
    assert.deepEqual(log, [], "nothing is written before the turn ends");
    assert.equal(t.runNext(), "soon");
    assert.deepEqual(log, ["a", "b"]);
    s.add(writer("c", t, log));
    assert.equal(t.runNext(), "soon", "a 0.2 ms flush is not followed by a wait");
    assert.deepEqual(log, ["a", "b", "c"]);
  });

  it("after a long flush, waits spacing × its duration, counted from its end", () => {
    const t = new FakeTimers();
    const s = new FlushScheduler(defaultFlushPolicy, t);
    const log: string[] = [];
    s.add(writer("slow", t, log, 4));
    assert.equal(t.runNext(), "soon");
    t.clock += 2; // other work after the flush
    s.add(writer("x", t, log));
    s.add(writer("y", t, log));
    assert.equal(t.runNext(), 10, "12 ms after the 4 ms flush ended, of which 2 have passed");
    assert.deepEqual(log, ["slow", "x", "y"]);
    // That flush was short: the next one is not held back.
    s.add(writer("z", t, log));
    assert.equal(t.runNext(), "soon");
  });

  it("never waits longer than the cap, and not at all once the wait has passed", () => {
    const t = new FakeTimers();
    const s = new FlushScheduler(defaultFlushPolicy, t);
    const log: string[] = [];
    s.add(writer("huge", t, log, 200));
    t.runNext();
    s.add(writer("a", t, log));
    assert.equal(t.runNext(), 30);
    s.add(writer("huge2", t, log, 200));
    t.runNext();
    t.clock += 31;
    s.add(writer("b", t, log));
    assert.equal(t.runNext(), "soon");
    assert.deepEqual(log, ["huge", "a", "huge2", "b"]);
  });

  it("keeps the order writers joined in, and output queued during a flush goes in the next", () => {
    const t = new FakeTimers();
    const s = new FlushScheduler(defaultFlushPolicy, t);
    const log: string[] = [];
    const late = writer("late", t, log);
    s.add(writer("1", t, log));
    s.add({
      flush() {
        log.push("2");
        t.clock += 1; // a long flush
        s.add(late); // its write caused more output
      },
    });
    s.add(writer("3", t, log));
    t.runNext();
    assert.deepEqual(log, ["1", "2", "3"]);
    assert.equal(s.size, 1);
    assert.equal(t.runNext(), 3, "scheduled once, after the spacing of the flush it came in");
    assert.deepEqual(log, ["1", "2", "3", "late"]);
  });

  it("a writer that throws does not strand the ones after it", () => {
    const t = new FakeTimers();
    const s = new FlushScheduler(defaultFlushPolicy, t);
    const log: string[] = [];
    s.add(writer("a", t, log));
    s.add({
      flush() {
        throw new Error("boom");
      },
    });
    s.add(writer("c", t, log));
    assert.throws(() => t.runNext(), /boom/);
    assert.deepEqual(log, ["a"]);
    t.runNext();
    assert.deepEqual(log, ["a", "c"]);
  });
});
