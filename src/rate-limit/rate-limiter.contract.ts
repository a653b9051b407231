// The RateLimiter contract, run on every implementation (local.test.ts, redis.test.ts).
// `backend()` makes a fresh, empty backend (a Redis key prefix, a process) and returns how to open a
// limiter on it: two limiters opened on one backend stand for two server processes and must count
// one budget. Time is real (Redis counts with its own clock),
// so rates are chosen either to refill fast (measured in tens of milliseconds) or not at all.

import assert from "node:assert/strict";
import { it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { RateLimiter } from "../core/ports.ts";

/** Refills one token in about 1000 s: never within a test. */
const SLOW = { burst: 3, perSecond: 0.001 };

export function rateLimiterContract(backend: () => Promise<() => Promise<RateLimiter>>): void {
  it("allows a burst, then refuses with the time until the next token", async () => {
    const l = await (await backend())();
    for (let i = 0; i < 3; i++) assert.equal(await l.take("test", "a", SLOW), 0);
    const wait = await l.take("test", "a", SLOW);
    assert.ok(wait > 990_000 && wait <= 1_000_000, `wait ${wait}`);
    assert.ok(Number.isInteger(wait));
  });

  it("keeps keys and limit names apart", async () => {
    const l = await (await backend())();
    for (let i = 0; i < 3; i++) await l.take("test", "a", SLOW);
    assert.ok((await l.take("test", "a", SLOW)) > 0);
    assert.equal(await l.take("test", "b", SLOW), 0);
    assert.equal(await l.take("other", "a", SLOW), 0);
  });

  it("wait looks without taking", async () => {
    const l = await (await backend())();
    const one = { burst: 1, perSecond: 0.001 };
    assert.equal(await l.wait("test", "k", one), 0);
    assert.equal(await l.wait("test", "k", one), 0);
    assert.equal(await l.take("test", "k", one), 0);
    assert.ok((await l.wait("test", "k", one)) > 0);
    assert.ok((await l.take("test", "k", one)) > 0);
  });

  it("refills at the rate", async () => {
    const l = await (await backend())();
    const fast = { burst: 1, perSecond: 20 };
    assert.equal(await l.take("test", "r", fast), 0);
    const wait = await l.take("test", "r", fast);
    assert.ok(wait > 0 && wait <= 50, `wait ${wait}`);
    await sleep(wait + 20);
    assert.equal(await l.take("test", "r", fast), 0);
  });

  it("counts one budget for limiters on the same backend (processes)", async () => {
    const open = await backend();
    const [a, b] = [await open(), await open()];
    assert.equal(await a.take("test", "shared", SLOW), 0);
    assert.equal(await b.take("test", "shared", SLOW), 0);
    assert.equal(await a.take("test", "shared", SLOW), 0);
    assert.ok((await b.take("test", "shared", SLOW)) > 0);
    assert.ok((await a.wait("test", "shared", SLOW)) > 0);
  });

  it("gives out exactly the burst to concurrent takes", async () => {
    const open = await backend();
    const [a, b] = [await open(), await open()];
    const rate = { burst: 10, perSecond: 0.001 };
    const waits = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).take("test", "race", rate)));
    assert.equal(waits.filter((w) => w === 0).length, 10);
  });
}
