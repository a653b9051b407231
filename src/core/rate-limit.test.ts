import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bucket, KeyedBuckets } from "./rate-limit.ts";

describe("Bucket", () => {
  it("allows a burst, then refuses with the wait until the next token", () => {
    const b = new Bucket({ burst: 3, perSecond: 2 }, 1000);
    assert.equal(b.take(1000), 0);
    assert.equal(b.take(1000), 0);
    assert.equal(b.take(1000), 0);
    assert.equal(b.take(1000), 500, "one token every 500 ms");
    assert.equal(b.take(1000), 500, "a refused take costs nothing");
  });

  it("refills with time, and the retry-after shrinks as it does", () => {
    const b = new Bucket({ burst: 2, perSecond: 4 }, 0);
    b.take(0);
    b.take(0);
    assert.equal(b.take(0), 250);
    // The wait is rounded up to whole milliseconds (floating point may add one).
    const near = (actual: number, expected: number) =>
      assert.ok(actual === expected || actual === expected + 1, `${actual} should be about ${expected}`);
    near(b.take(100), 150);
    near(b.take(200), 50);
    assert.ok(b.take(249) >= 1);
    assert.equal(b.take(250), 0);
    assert.equal(b.take(250), 250);
    assert.equal(b.take(750), 0, "two tokens after 500 ms");
    assert.equal(b.take(750), 0);
    assert.equal(b.take(750), 250);
  });

  it("rounds a fractional wait up to a whole millisecond", () => {
    const b = new Bucket({ burst: 1, perSecond: 3 }, 0);
    b.take(0);
    assert.equal(b.take(0), 334);
  });

  it("never refills beyond the burst", () => {
    const b = new Bucket({ burst: 2, perSecond: 10 }, 0);
    const later = 3_600_000;
    assert.equal(b.take(later), 0);
    assert.equal(b.take(later), 0);
    assert.ok(b.take(later) > 0);
  });

  it("a clock that goes back adds no tokens, and refill resumes from the new time", () => {
    const b = new Bucket({ burst: 1, perSecond: 1 }, 10_000);
    assert.equal(b.take(10_000), 0);
    assert.equal(b.take(5_000), 1000);
    assert.equal(b.take(5_500), 500);
    assert.equal(b.take(6_000), 0);
  });

  it("full() tells when the bucket is back at its burst", () => {
    const b = new Bucket({ burst: 2, perSecond: 1 }, 0);
    assert.equal(b.full(0), true);
    b.take(0);
    assert.equal(b.full(0), false);
    assert.equal(b.full(500), false);
    assert.equal(b.full(1000), true);
  });
});

describe("KeyedBuckets", () => {
  it("keeps one bucket per key", () => {
    const k = new KeyedBuckets({ burst: 2, perSecond: 1 });
    assert.equal(k.take("a", 0), 0);
    assert.equal(k.take("a", 0), 0);
    assert.equal(k.take("a", 0), 1000);
    assert.equal(k.take("b", 0), 0, "another key has its own burst");
    assert.equal(k.take("a", 1000), 0);
  });

  it("forgetting full buckets does not reset one that is still empty", () => {
    const k = new KeyedBuckets({ burst: 1, perSecond: 0.01 });
    k.take("slow", 0);
    k.take("idle", 0);
    // Long enough for a sweep: 'idle' is not full either (0.01/s), and 'slow' must stay limited.
    const wait = k.take("slow", 61_000);
    assert.ok(wait > 0, "still limited after a sweep");
    assert.equal(wait, Math.ceil(((1 - 0.61) / 0.01) * 1000));
  });

  it("a forgotten key starts again with a full burst", () => {
    const k = new KeyedBuckets({ burst: 2, perSecond: 1 });
    k.take("a", 0);
    k.take("a", 0);
    assert.equal(k.take("a", 0), 1000);
    // A minute later 'a' is full again and may be swept; either way it has its whole burst.
    assert.equal(k.take("a", 120_000), 0);
    assert.equal(k.take("a", 120_000), 0);
    assert.equal(k.take("a", 120_000), 1000);
  });
});
