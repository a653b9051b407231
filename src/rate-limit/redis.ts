// The RateLimiter shared by every server process: one token bucket per limit and key in Redis,
// updated atomically by a Lua script, so an account connected to three processes has one budget,
// not three.
//
// A bucket is a hash `<prefix>rl:<limit>:<key>` holding its tokens and when they were counted;
// time is Redis's clock (TIME), so processes on machines with skewed clocks agree. A full bucket
// is deleted and every other one expires when it would be full again: Redis holds only buckets
// that were used recently.
//
// Redis unreachable (not connected, or no reply within commandTimeoutMs): the limits fall back to
// this process's own buckets (LocalRateLimiter), as a single server would count them. Failing
// closed would refuse every message, login and registration because of a cache outage while
// PostgreSQL still works; failing wide open would lift every bound during the outage. The
// fallback keeps each process bounded (an account gets at most one budget per process), and the
// shared buckets take over again as soon as Redis answers.

import { Redis } from "ioredis";
import type { Clock, RateLimiter } from "../core/ports.ts";
import { LocalRateLimiter, type Rate } from "../core/rate-limit.ts";

// KEYS[1] the bucket; ARGV: burst, perSecond, 1 to take a token (0 to look).
// Returns 0 when a token is there (and taken), else the milliseconds until one is.
const BUCKET = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local v = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(v[1])
local at = tonumber(v[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) / 1000 * rate)
local wait = 0
if tokens >= 1 then
  if ARGV[3] == '1' then tokens = tokens - 1 end
else
  wait = math.ceil((1 - tokens) / rate * 1000)
end
if tokens >= burst then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
end
return wait
`;

export interface RedisRateLimiterOptions {
  /** Prepended to every key (then `rl:`). Default "parley:". */
  prefix?: string;
  /** A check without a reply after this long uses the local buckets. Default 500 ms. */
  commandTimeoutMs?: number;
  /** Upper bound of the delay between reconnection attempts. Default 2000 ms. */
  maxRetryDelayMs?: number;
  /** Clock of the fallback buckets. */
  clock?: Clock;
  /** Connection errors, and each switch to or from the local fallback. Ignored by default. */
  onError?: (err: Error) => void;
}

type BucketRedis = Redis & {
  parleyBucket(key: string, burst: number, perSecond: number, take: 0 | 1): Promise<number>;
};

export class RedisRateLimiter implements RateLimiter {
  private readonly redis: BucketRedis;
  private readonly prefix: string;
  private readonly fallback: LocalRateLimiter;
  private readonly onError: (err: Error) => void;
  /** The last check went to the local fallback: said once per outage. */
  private degraded = false;

  constructor(url = "redis://127.0.0.1:6379", opts: RedisRateLimiterOptions = {}) {
    this.prefix = `${opts.prefix ?? "parley:"}rl:`;
    this.fallback = new LocalRateLimiter(opts.clock ?? { now: () => Date.now() });
    this.onError = opts.onError ?? (() => {});
    const maxDelay = opts.maxRetryDelayMs ?? 2000;
    // No offline queue: while disconnected a check fails at once and is counted locally.
    this.redis = new Redis(url, {
      enableOfflineQueue: false,
      commandTimeout: opts.commandTimeoutMs ?? 500,
      connectionName: "parley:rate-limit",
      autoResendUnfulfilledCommands: false,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), maxDelay),
    }) as BucketRedis;
    this.redis.defineCommand("parleyBucket", { numberOfKeys: 1, lua: BUCKET });
    this.redis.on("error", (err: Error) => this.onError(err));
  }

  /** Resolves true once connected to Redis, false if not within `timeoutMs` (checks are local meanwhile). */
  async ready(timeoutMs = 5000): Promise<boolean> {
    if (this.redis.status === "ready") return true;
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.redis.off("ready", onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.redis.on("ready", onReady);
    });
  }

  take(limit: string, key: string, rate: Rate): Promise<number> {
    return this.check(limit, key, rate, 1);
  }

  wait(limit: string, key: string, rate: Rate): Promise<number> {
    return this.check(limit, key, rate, 0);
  }

  async close(): Promise<void> {
    if (this.redis.status === "ready") {
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, 1000).unref());
      await Promise.race([this.redis.quit().catch(() => {}), timeout]);
    }
    this.redis.disconnect();
  }

  private async check(limit: string, key: string, rate: Rate, take: 0 | 1): Promise<number> {
    try {
      const wait = await this.redis.parleyBucket(`${this.prefix}${limit}:${key}`, rate.burst, rate.perSecond, take);
      if (this.degraded) {
        this.degraded = false;
        this.onError(new Error("rate limits are shared through Redis again"));
      }
      return wait;
    } catch (err) {
      if (!this.degraded) {
        this.degraded = true;
        const why = err instanceof Error ? err.message : String(err);
        this.onError(new Error(`Redis unreachable (${why}): rate limits are counted per process until it answers`));
      }
      return take ? this.fallback.take(limit, key, rate) : this.fallback.wait(limit, key, rate);
    }
  }
}
