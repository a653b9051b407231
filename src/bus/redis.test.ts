// RedisBus against a real Redis: the shared Bus contract with several buses on one backend (as
// several server processes), plus channel naming, isolation by prefix, and behaviour across a
// Redis outage (through a local TCP proxy that can be cut and restored).
//
// Redis comes from PARLEY_TEST_REDIS_URL (default redis://127.0.0.1:6379). Each test uses its own
// random key prefix; pub/sub creates no keys, and the suite checks that none were left. When Redis
// is unreachable the tests are skipped with a message, except under CI, where they fail.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { Redis } from "ioredis";
import { closedPort, tcpProxy } from "../../test/helpers/tcp-proxy.ts";
import type { Bus, BusMessage } from "../core/ports.ts";
import { busContract } from "./bus.contract.ts";
import { RedisBus, type RedisBusOptions } from "./redis.ts";

const REDIS_URL = process.env.PARLEY_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

async function probe(): Promise<string | null> {
  const r = new Redis(REDIS_URL, {
    lazyConnect: true,
    retryStrategy: () => null,
    connectTimeout: 3000,
    enableOfflineQueue: false,
  });
  r.on("error", () => {});
  try {
    await r.connect();
    await r.ping();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message || error.constructor.name : String(error);
  } finally {
    r.disconnect();
  }
}

const unreachable = await probe();

if (unreachable !== null && !process.env.CI) {
  describe("RedisBus", () => {
    it(`Redis at ${REDIS_URL} is not reachable (${unreachable}): skipped; under CI this fails`, (t) => {
      t.skip("set PARLEY_TEST_REDIS_URL or start Redis to run these tests");
    });
  });
} else if (unreachable !== null) {
  describe("RedisBus", () => {
    it("Redis is reachable (required under CI)", () => {
      assert.fail(`Redis at ${REDIS_URL} is not reachable: ${unreachable}`);
    });
  });
} else {
  suites();
}

function suites(): void {
  const prefixes = new Set<string>();
  const open = new Set<Bus | Redis>();
  const admin = new Redis(REDIS_URL);
  admin.on("error", () => {});

  after(async () => {
    for (const x of open) {
      if (x instanceof Redis) x.disconnect();
      else await x.close();
    }
    // Pub/sub stores nothing: no key under any prefix these tests used.
    for (const prefix of prefixes) {
      const [, keys] = await admin.scan("0", "MATCH", `${prefix}*`, "COUNT", 1000);
      assert.deepEqual(keys, [], `keys left under ${prefix}`);
    }
    await admin.quit();
  });

  function newPrefix(): string {
    const p = `parley-test:${randomBytes(6).toString("hex")}:`;
    prefixes.add(p);
    return p;
  }

  function bus(prefix: string, opts: RedisBusOptions = {}, url = REDIS_URL): RedisBus {
    const b = new RedisBus(url, { prefix, ...opts });
    open.add(b);
    return b;
  }

  async function closeBus(b: Bus): Promise<void> {
    await b.close();
    open.delete(b);
  }

  function raw(url = REDIS_URL): Redis {
    const r = new Redis(url);
    r.on("error", () => {});
    open.add(r);
    return r;
  }

  busContract("redis", async (n) => {
    const prefix = newPrefix();
    const buses = Array.from({ length: n }, () => bus(prefix));
    return {
      buses,
      cleanup: async () => {
        for (const b of buses) await closeBus(b);
      },
    };
  });

  const typing = (i: number): BusMessage => ({
    kind: "typing",
    roomId: "r",
    accountId: `a${i}`,
    name: `n${i}`,
    typing: true,
    node: "n",
  });

  function recorder(b: Bus) {
    const got: { topic: string; msg: BusMessage }[] = [];
    b.onMessage((topic, msg) => got.push({ topic, msg }));
    return got;
  }

  async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function subscribers(channel: string): Promise<number> {
    const reply = (await admin.call("PUBSUB", "NUMSUB", channel)) as [string, number];
    return Number(reply[1]);
  }

  describe("RedisBus", () => {
    it("topics are channels named <prefix><topic>, carrying JSON", async () => {
      const prefix = newPrefix();
      const b = bus(prefix);
      const listener = raw();
      try {
        const heard: [string, string][] = [];
        listener.on("message", (channel: string, payload: string) => heard.push([channel, payload]));
        await listener.subscribe(`${prefix}room:1`);
        await b.publish("room:1", typing(1));
        await waitFor("the raw subscriber", () => heard.length === 1);
        assert.equal(heard[0]![0], `${prefix}room:1`);
        assert.deepEqual(JSON.parse(heard[0]![1]), typing(1));

        const got = recorder(b);
        await b.subscribe("room:2");
        await admin.publish(`${prefix}room:2`, JSON.stringify(typing(2)));
        await waitFor("the bus", () => got.length === 1);
        assert.deepEqual(got[0], { topic: "room:2", msg: typing(2) });
      } finally {
        await closeBus(b);
      }
    });

    it("buses with different prefixes do not hear each other", async () => {
      const [p1, p2] = [newPrefix(), newPrefix()];
      const [a, b] = [bus(p1), bus(p2)];
      try {
        const [ga, gb] = [recorder(a), recorder(b)];
        await a.subscribe("t");
        await b.subscribe("t");
        await a.publish("t", typing(1));
        await b.publish("t", typing(2));
        await waitFor("each its own", () => ga.length === 1 && gb.length === 1);
        await sleep(50);
        assert.deepEqual(
          ga.map((r) => r.msg),
          [typing(1)],
        );
        assert.deepEqual(
          gb.map((r) => r.msg),
          [typing(2)],
        );
      } finally {
        await closeBus(a);
        await closeBus(b);
      }
    });

    it("a payload that is not JSON is reported and skipped", async () => {
      const prefix = newPrefix();
      const errors: Error[] = [];
      const b = bus(prefix, { onError: (e) => errors.push(e) });
      try {
        const got = recorder(b);
        await b.subscribe("t");
        await admin.publish(`${prefix}t`, "{not json");
        await b.publish("t", typing(1));
        await waitFor("the good message", () => got.length === 1);
        assert.deepEqual(got[0]?.msg, typing(1));
        assert.ok(errors.some((e) => /not JSON/.test(e.message)));
      } finally {
        await closeBus(b);
      }
    });

    it("Redis's own subscriptions follow overlapping subscribe/unsubscribe calls in call order", async () => {
      const prefix = newPrefix();
      const b = bus(prefix);
      try {
        await b.subscribe("x");
        await Promise.all([b.unsubscribe("x"), b.subscribe("x")]);
        assert.equal(await subscribers(`${prefix}x`), 1);
        await Promise.all([b.subscribe("y"), b.unsubscribe("y")]);
        assert.equal(await subscribers(`${prefix}y`), 0);
        await b.unsubscribe("x");
        assert.equal(await subscribers(`${prefix}x`), 0);
      } finally {
        await closeBus(b);
      }
    });

    it("calls made before the first connection completes wait for it", async () => {
      const prefix = newPrefix();
      const [a, b] = [bus(prefix), bus(prefix)];
      try {
        const got = recorder(b);
        // No await between construction and use.
        await Promise.all([b.subscribe("early"), a.publish("ignored", typing(0))]);
        await a.publish("early", typing(1));
        await waitFor("the message", () => got.length === 1);
      } finally {
        await closeBus(a);
        await closeBus(b);
      }
    });

    it("close quits both connections", async () => {
      const prefix = newPrefix();
      const name = `parley-test-${randomBytes(4).toString("hex")}`;
      const b = bus(prefix, { name });
      const ours = async () =>
        ((await admin.call("CLIENT", "LIST")) as string).split("\n").filter((line) => line.includes(` name=${name}:`)).length;
      await b.subscribe("t");
      await b.publish("t", typing(1));
      assert.equal(await ours(), 2);
      await closeBus(b);
      await waitFor("both connections gone", async () => (await ours()) === 0);
      await b.close(); // twice is harmless
      await assert.rejects(b.publish("t", typing(2)));
      await assert.rejects(b.subscribe("t"));
    });

    it("with Redis unreachable from the start, calls fail within the connect timeout and close is prompt", async () => {
      const port = await closedPort();
      const b = bus(newPrefix(), { connectTimeoutMs: 300 }, `redis://127.0.0.1:${port}`);
      const started = Date.now();
      await assert.rejects(b.publish("t", typing(1)));
      await assert.rejects(b.subscribe("t"));
      assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
      const pending = b.subscribe("u");
      pending.catch(() => {}); // rejects during close; asserted below
      await closeBus(b);
      await assert.rejects(pending);
    });

    it("across a Redis outage: calls fail fast, and afterwards subscriptions are restored and publishing works", async () => {
      const proxy = await tcpProxy(new URL(REDIS_URL), 6379);
      const prefix = newPrefix();
      const via = new URL(REDIS_URL);
      via.hostname = "127.0.0.1";
      via.port = String(proxy.port);
      const a = bus(prefix, { maxRetryDelayMs: 100, commandTimeoutMs: 500 }, via.toString());
      const direct = bus(prefix);
      try {
        const got = recorder(a);
        let reconnects = 0;
        a.onReconnect(() => reconnects++);
        await a.subscribe("kept");
        await a.subscribe("dropped");
        await direct.publish("kept", typing(1));
        await waitFor("delivery before the outage", () => got.length === 1);
        assert.equal(reconnects, 0, "the first connection is not a reconnection");

        await proxy.down();
        const started = Date.now();
        await waitFor("the bus to notice", async () => {
          try {
            await a.publish("kept", typing(2));
            return false;
          } catch {
            return true;
          }
        });
        const t0 = Date.now();
        await assert.rejects(a.publish("kept", typing(3)), "publish while Redis is away rejects");
        await assert.rejects(a.subscribe("added"), "subscribe while Redis is away rejects");
        await a.unsubscribe("dropped"); // takes effect locally at once
        assert.ok(Date.now() - t0 < 200, `failing fast, took ${Date.now() - t0} ms`);
        assert.ok(Date.now() - started < 3000);

        await proxy.up();
        // Subscriptions come back by themselves: the one held before, and the one asked for during the outage.
        await waitFor(
          "'kept' to be delivered again",
          async () => {
            await direct.publish("kept", typing(4));
            await sleep(20);
            return got.some((r) => r.topic === "kept" && r.msg.kind === "typing" && r.msg.accountId === "a4");
          },
          10_000,
        );
        await waitFor("the reconnect signal, which tells the core to re-read room positions", () => reconnects === 1);
        await waitFor("'added' subscribed at Redis", async () => (await subscribers(`${prefix}added`)) === 1);
        await direct.publish("added", typing(5));
        await waitFor("'added' delivered", () => got.some((r) => r.topic === "added"));
        await waitFor("'dropped' unsubscribed at Redis", async () => (await subscribers(`${prefix}dropped`)) === 0);
        await direct.publish("dropped", typing(6));
        await a.publish("kept", typing(7));
        await waitFor("a's own publish after the outage", () =>
          got.some((r) => r.msg.kind === "typing" && r.msg.accountId === "a7"),
        );
        assert.equal(got.filter((r) => r.topic === "dropped").length, 0, "nothing on an unsubscribed topic");
        assert.equal(await subscribers(`${prefix}kept`), 1, "one subscription, not two");
      } finally {
        await proxy.up();
        await closeBus(a);
        await closeBus(direct);
        await proxy.close();
      }
    });
  });
}
