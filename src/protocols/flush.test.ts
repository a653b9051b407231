import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  defaultFlushPolicy,
  type Flushable,
  type FlushPolicy,
  FlushScheduler,
  type FlushTimers,
  flushDelay,
  flushPressure,
} from "./flush.ts";

/**
 * A clock that only moves when told, and the flushes the scheduler asked for, run by hand. Time
 * passes either working (`work`: the loop is busy) or idle (`idle`, and the waits of `runNext`).
 */
class FakeTimers implements FlushTimers {
  clock = 1000;
  busyMs = 0;
  now(): number {
    return this.clock;
  }
  busy(): number {
    return this.busyMs;
  }
  work(ms: number): void {
    this.clock += ms;
    this.busyMs += ms;
  }
  idle(ms: number): void {
    this.clock += ms;
  }
  /** Scheduled runs: when ("soon" or a delay in ms) and what. */
  queued: { when: "soon" | number; fn: () => void }[] = [];
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

/** A writer whose flush takes `costMs` of work on the fake clock and logs its name. */
function writer(name: string, timers: FakeTimers, log: string[], costMs = 0): Flushable {
  return {
    flush() {
      log.push(name);
      timers.work(costMs);
    },
  };
}

/**
 * The default policy, but with the load taken from the last interval alone (no averaging), so
 * that a test's few flushes see a busy loop as fully loaded.
 */
const loadNow: FlushPolicy = { ...defaultFlushPolicy, loadWindowMs: 1e-9 };

/**
 * Runs `turns` flushes of one writer whose flush costs `flushMs`, each followed by `otherMs` of
 * other work and `idleMs` of waiting; returns when each flush ran ("soon" or its wait in ms).
 */
function steady(
  s: FlushScheduler,
  t: FakeTimers,
  turns: number,
  o: { flushMs: number; otherMs: number; idleMs: number },
): ("soon" | number)[] {
  const log: string[] = [];
  const when: ("soon" | number)[] = [];
  for (let i = 0; i < turns; i++) {
    s.add(writer("w", t, log, o.flushMs));
    when.push(t.runNext());
    t.work(o.otherMs);
    t.idle(o.idleMs);
  }
  return when;
}

describe("flush scheduling", () => {
  it("spaces flushes only after a long one, by the spacing factor, up to the cap", () => {
    const p = { spacing: 3, maxDelayMs: 30, minSpacedMs: 0.5, busyFrom: 0.5, loadWindowMs: 200 };
    assert.equal(flushDelay(0, 1, p), 0);
    assert.equal(flushDelay(0.49, 1, p), 0);
    assert.equal(flushDelay(0.5, 1, p), 1.5);
    assert.equal(flushDelay(4, 1, p), 12);
    assert.equal(flushDelay(10, 1, p), 30);
    assert.equal(flushDelay(500, 1, p), 30);
  });

  it("spaces flushes in proportion to how far the load is above busyFrom", () => {
    const p = { spacing: 3, maxDelayMs: 30, minSpacedMs: 0.5, busyFrom: 0.5, loadWindowMs: 200 };
    assert.equal(flushPressure(0, p), 0);
    assert.equal(flushPressure(0.5, p), 0);
    assert.equal(flushPressure(0.75, p), 0.5);
    assert.equal(flushPressure(1, p), 1);
    assert.equal(flushDelay(4, 0.3, p), 0, "a half-idle loop is not held back");
    assert.equal(flushDelay(4, 0.75, p), 6);
    assert.equal(flushDelay(4, 0.9, p), 9.600000000000001);
  });

  it("flushes at the end of the turn while flushes are short", () => {
    const t = new FakeTimers();
    const s = new FlushScheduler(loadNow, t);
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
    const s = new FlushScheduler(loadNow, t);
    const log: string[] = [];
    s.add(writer("slow", t, log, 4));
    assert.equal(t.runNext(), "soon");
    t.work(2); // other work after the flush
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
    const s = new FlushScheduler(loadNow, t);
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
    const s = new FlushScheduler(loadNow, t);
    const log: string[] = [];
    const late = writer("late", t, log);
    s.add(writer("1", t, log));
    s.add({
      flush() {
        log.push("2");
        t.work(1); // a long flush
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

  it("does not space the flushes of a server that is idle half the time", () => {
    const t = new FakeTimers();
    const s = new FlushScheduler(defaultFlushPolicy, t);
    // 4 ms flushes (a big room) and 2 ms of other work every 12 ms: the loop is half idle.
    const when = steady(s, t, 200, { flushMs: 4, otherMs: 2, idleMs: 6 });
    assert.ok(Math.abs(s.utilization - 0.5) < 0.01, `utilization ${s.utilization}`);
    assert.deepEqual(new Set(when), new Set(["soon"]), "every flush at the end of its turn");
  });

  it("spaces the flushes of a saturated server by the full factor, and stops once it calms down", () => {
    const t = new FakeTimers();
    const s = new FlushScheduler(defaultFlushPolicy, t);
    // Never idle: 4 ms flushes and 2 ms of other work, back to back.
    const busy = steady(s, t, 200, { flushMs: 4, otherMs: 2, idleMs: 0 });
    assert.equal(busy[0], "soon", "a fresh scheduler assumes an idle loop");
    // The waits (idle time) pull the average down, so it settles where writing and waiting balance.
    const settled = busy.slice(-20) as number[];
    for (const w of settled) assert.ok(w > 0 && w <= 12, `wait ${w} ms`);
    assert.ok(s.utilization > 0.5 && s.utilization < 1, `utilization ${s.utilization}`);
    // Then the load drops (a flush now and then, the loop mostly idle): no more waits.
    const calm = steady(s, t, 50, { flushMs: 4, otherMs: 0, idleMs: 100 });
    assert.deepEqual(new Set(calm.slice(-40)), new Set(["soon"]));
  });

  it("measures the load over about loadWindowMs, not just the last turn", () => {
    const t = new FakeTimers();
    const s = new FlushScheduler(defaultFlushPolicy, t);
    steady(s, t, 100, { flushMs: 1, otherMs: 0, idleMs: 9 }); // 10% busy for a second
    const before = s.utilization;
    assert.ok(Math.abs(before - 0.1) < 0.01, `utilization ${before}`);
    // Since that sample: 9 ms idle, then a 20 ms busy turn. The 29 ms interval, 20/29 busy, moves
    // the average 1 − e^(−29/200) of the way towards 20/29: it is not taken as the new load.
    t.work(19);
    s.add(writer("w", t, [], 1));
    assert.equal(t.runNext(), "soon");
    const expected = before + (1 - Math.exp(-29 / 200)) * (20 / 29 - before);
    assert.ok(Math.abs(s.utilization - expected) < 1e-9, `utilization ${s.utilization}, expected ${expected}`);
    assert.ok(s.utilization < 0.2);
  });

  it("a writer that throws does not strand the ones after it", () => {
    const t = new FakeTimers();
    const s = new FlushScheduler(loadNow, t);
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

  it("counts its flushes and the writers flushed in them, not a writer that threw", () => {
    const t = new FakeTimers();
    const s = new FlushScheduler(loadNow, t);
    const log: string[] = [];
    s.add(writer("a", t, log));
    s.add(writer("b", t, log));
    t.runNext();
    assert.deepEqual([s.flushes, s.writes], [1, 2]);
    s.add({
      flush() {
        throw new Error("boom");
      },
    });
    s.add(writer("c", t, log));
    assert.throws(() => t.runNext(), /boom/);
    t.runNext();
    assert.deepEqual([s.flushes, s.writes], [3, 3]);
  });
});
