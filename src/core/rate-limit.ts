// Token buckets: `burst` requests at once, refilled at `perSecond`. Pure: time comes from the caller.

import type { Clock, RateLimiter } from "./ports.ts";

export interface Rate {
  burst: number;
  perSecond: number;
}

export class Bucket {
  private tokens: number;
  private updated: number;

  constructor(
    private readonly rate: Rate,
    now: number,
  ) {
    this.tokens = rate.burst;
    this.updated = now;
  }

  /** Takes one token. Returns 0 when allowed, else the milliseconds until a token is there. */
  take(now: number): number {
    const wait = this.wait(now);
    if (wait === 0) this.tokens -= 1;
    return wait;
  }

  /** Milliseconds until a token is there (0 when one is), without taking it. */
  wait(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.rate.perSecond) * 1000);
  }

  /** True when the bucket is full again, so a keyed map may forget it. */
  full(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.rate.burst;
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.updated) / 1000;
    this.tokens = Math.min(this.rate.burst, this.tokens + elapsed * this.rate.perSecond);
    this.updated = now;
  }
}

/** Buckets by key (an account, an address), forgetting full ones so memory stays bounded by activity. */
export class KeyedBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = 0;

  constructor(private readonly rate: Rate) {}

  take(key: string, now: number): number {
    if (now - this.lastSweep > 60_000) this.sweep(now);
    let b = this.buckets.get(key);
    if (!b) {
      b = new Bucket(this.rate, now);
      this.buckets.set(key, b);
    }
    return b.take(now);
  }

  /** Milliseconds until the key has a token, without taking it. */
  wait(key: string, now: number): number {
    return this.buckets.get(key)?.wait(now) ?? 0;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [key, b] of this.buckets) if (b.full(now)) this.buckets.delete(key);
  }
}

/**
 * The RateLimiter of one process: keyed buckets in memory. What a single server uses, and what
 * the Redis limiter falls back to while Redis is unreachable (src/rate-limit/redis.ts).
 */
export class LocalRateLimiter implements RateLimiter {
  private readonly limits = new Map<string, KeyedBuckets>();

  constructor(private readonly clock: Clock) {}

  take(limit: string, key: string, rate: Rate): Promise<number> {
    return Promise.resolve(this.buckets(limit, rate).take(key, this.clock.now()));
  }

  wait(limit: string, key: string, rate: Rate): Promise<number> {
    return Promise.resolve(this.buckets(limit, rate).wait(key, this.clock.now()));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private buckets(limit: string, rate: Rate): KeyedBuckets {
    let b = this.limits.get(limit);
    if (!b) {
      b = new KeyedBuckets(rate);
      this.limits.set(limit, b);
    }
    return b;
  }
}
