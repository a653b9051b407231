// RedisRateLimiter against a real Redis: the RateLimiter contract with several limiters on one
// key prefix (as several server processes), key naming and expiry, and what happens while Redis
// is unreachable (the local fallback) and when it is back.
//
// Redis comes from PARLEY_TEST_REDIS_URL (default redis://127.0.0.1:6379); each test uses its own
// key prefix and the suite checks that none is left. Unreachable Redis skips the suite with a
// message, except under CI, where it fails.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { Redis } from "ioredis";
import { closedPort, tcpProxy } from "../../test/helpers/tcp-proxy.ts";
import { rateLimiterContract } from "./rate-limiter.contract.ts";
import { RedisRateLimiter } from "./redis.ts";

const REDIS_URL = process.env.PARLEY_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const SLOW = { burst: 2, perSecond: 0.001 };

const admin = new Redis(REDIS_URL, { lazyConnect: true, retryStrategy: () => null, enableOfflineQueue: false });
admin.on("error", () => {});
const unreachable = await admin.connect().then(
  () => null,
  (err: Error) => err.message || err.name,
);

if (unreachable !== null) {
  describe("RedisRateLimiter", () => {
    it(`Redis at ${REDIS_URL} is reachable`, (t) => {
      if (!process.env.CI)
        return t.skip(`unreachable (${unreachable}); start Redis or set PARLEY_TEST_REDIS_URL (under CI this fails)`);
      assert.fail(`Redis at ${REDIS_URL} is not reachable: ${unreachable}`);
    });
  });
} else {
  describe("RedisRateLimiter", () => {
    const prefixes: string[] = [];
    const open = new Set<RedisRateLimiter>();

    after(async () => {
      for (const l of open) await l.close();
      for (const prefix of prefixes) {
        const keys = await admin.keys(`${prefix}*`);
        if (keys.length > 0) await admin.del(...keys);
      }
      await admin.quit();
    });

    function newPrefix(): string {
      const p = `parley-test:${randomBytes(6).toString("hex")}:`;
      prefixes.push(p);
      return p;
    }

    function limiter(prefix: string, url = REDIS_URL, onError?: (err: Error) => void): RedisRateLimiter {
      const l = new RedisRateLimiter(url, { prefix, onError, maxRetryDelayMs: 100 });
      open.add(l);
      return l;
    }

    async function ready(l: RedisRateLimiter): Promise<RedisRateLimiter> {
      // Checks made before the connection is up are counted locally.
      assert.ok(await l.ready(), "the limiter connected to Redis");
      return l;
    }

    rateLimiterContract(async () => {
      const prefix = newPrefix();
      return () => ready(limiter(prefix));
    });

    it("keeps a used bucket under <prefix>rl:<limit>:<key> until it would be full again, and forgets full ones", async () => {
      const prefix = newPrefix();
      const l = limiter(prefix);
      await ready(l);
      const rate = { burst: 2, perSecond: 1 };
      assert.equal(await l.wait("logins", "10.0.0.1", rate), 0);
      assert.deepEqual(await admin.keys(`${prefix}*`), [], "looking at a full bucket stores nothing");
      assert.equal(await l.take("logins", "10.0.0.1", rate), 0);
      const key = `${prefix}rl:logins:10.0.0.1`;
      assert.deepEqual(await admin.keys(`${prefix}*`), [key]);
      const ttl = await admin.pttl(key);
      assert.ok(ttl > 1000 && ttl <= 2000, `ttl ${ttl}`);
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal(await l.wait("logins", "10.0.0.1", rate), 0);
      assert.deepEqual(await admin.keys(`${prefix}*`), [], "a bucket found full again is deleted");
    });

    it("falls back to this process's own buckets while Redis is unreachable: bounded, not open, not closed", async () => {
      const errors: string[] = [];
      const l = limiter(newPrefix(), `redis://127.0.0.1:${await closedPort()}`, (e) => errors.push(e.message));
      assert.equal(await l.take("test", "k", SLOW), 0);
      assert.equal(await l.take("test", "k", SLOW), 0);
      const wait = await l.take("test", "k", SLOW);
      assert.ok(wait > 0, "the local budget is spent");
      assert.ok(
        errors.some((m) => m.includes("counted per process")),
        errors.join("; "),
      );
    });

    it("shares the budget again once Redis is back", async () => {
      const proxy = await tcpProxy(new URL(REDIS_URL), 6379);
      try {
        const prefix = newPrefix();
        const errors: string[] = [];
        const l = limiter(prefix, `redis://127.0.0.1:${proxy.port}`, (e) => errors.push(e.message));
        await ready(l);
        assert.equal(await l.take("test", "k", SLOW), 0);
        await proxy.down();
        // Counted locally now: a fresh local bucket, so another burst.
        assert.equal(await l.take("test", "k", SLOW), 0);
        await proxy.up();
        await ready(l);
        // Back on the shared bucket, which had one token left.
        assert.equal(await l.take("test", "k", SLOW), 0);
        assert.ok((await l.take("test", "k", SLOW)) > 0);
        assert.ok((await (await ready(limiter(prefix))).take("test", "k", SLOW)) > 0, "another process sees the same bucket");
        assert.ok(
          errors.some((m) => m.includes("shared through Redis again")),
          errors.join("; "),
        );
      } finally {
        await proxy.close();
      }
    });
  });
}
