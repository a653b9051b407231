// The Bus contract: every adapter (local, Redis, …) runs this same suite.
//
//   busContract("redis", async (n) => ({ buses: [...n buses on one backend], cleanup }));
//
// The factory returns n buses connected to the same backend (as n server processes would be).
// An adapter that can only ever make one (the in-process bus) says so with `{ maxBuses: 1 }`, and
// the multi-node cases are not part of its suite: they do not apply, so they are not skips.
// Delivery is asynchronous on every bus, so the tests wait for what they expect, and check that
// something did NOT arrive by waiting for a later marker on a topic that is delivered.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Bus, BusMessage } from "../core/ports.ts";
import type { RoomEvent } from "../core/types.ts";

export type BusFactory = (n: number) => Promise<{ buses: Bus[]; cleanup: () => Promise<void> }>;

const WAIT_MS = 3000;
/** After a marker arrived, how long anything sent before it may still be in flight on another topic. */
const SETTLE_MS = 50;

interface Received {
  topic: string;
  msg: BusMessage;
}

function typing(i: number, roomId = "r1"): BusMessage {
  return { kind: "typing", roomId, accountId: `a${i}`, name: `n${i}`, typing: i % 2 === 0, node: "n" };
}

function recorder(bus: Bus): Received[] {
  const got: Received[] = [];
  bus.onMessage((topic, msg) => got.push({ topic, msg }));
  return got;
}

async function waitFor(what: string, cond: () => boolean, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const onTopic = (got: Received[], topic: string) => got.filter((r) => r.topic === topic);

export function busContract(name: string, makeBuses: BusFactory, { maxBuses = Infinity } = {}): void {
  /** Runs `fn` with n buses; cases needing more buses than the adapter can have are left out. */
  const test = (title: string, n: number, fn: (buses: Bus[]) => Promise<void>) => {
    if (n > maxBuses) return;
    it(title, async () => {
      const made = await makeBuses(n);
      assert.equal(made.buses.length, n);
      try {
        await fn(made.buses);
      } finally {
        await made.cleanup();
      }
    });
  };

  describe(`Bus contract: ${name}`, () => {
    describe("one bus", () => {
      test("a subscriber receives what is published on its topic, with the topic", 1, async ([bus]) => {
        const got = recorder(bus!);
        await bus!.subscribe("room:1");
        const msg = typing(1);
        await bus!.publish("room:1", msg);
        await waitFor("the message", () => got.length === 1);
        assert.deepEqual(got[0], { topic: "room:1", msg });
      });

      test("messages keep their structure, nested values and nulls included", 1, async ([bus]) => {
        const got = recorder(bus!);
        await bus!.subscribe("room:x");
        const event: RoomEvent = {
          roomId: "x",
          seq: 42,
          at: 1_700_000_000_123,
          actorId: "a1",
          actor: "Zoë",
          type: "message",
          message: {
            id: "m1",
            roomId: "x",
            seq: 42,
            authorId: "a1",
            author: "Zoë",
            clientId: null,
            body: 'héllo\nwörld 🎉 "quoted" \\ back',
            replyTo: null,
            createdAt: 1_700_000_000_123,
            editedAt: null,
            deleted: false,
            reactions: { "👍": ["b", "c"] },
          },
        };
        const messages: BusMessage[] = [
          { kind: "room", event },
          { kind: "presence", accountId: "a1", name: "Zoë", online: true, node: "node-1", seq: 1 },
          { kind: "invited", roomId: "x", room: "secret", accountId: "a2", by: "Zoë" },
          { kind: "read", accountId: "a2", roomId: "x", readSeq: 42 },
          typing(3, "x"),
        ];
        for (const m of messages) await bus!.publish("room:x", m);
        await waitFor("all messages", () => got.length === messages.length);
        assert.deepEqual(
          got.map((r) => r.msg),
          messages,
        );
      });

      test("only subscribed topics are delivered", 1, async ([bus]) => {
        const got = recorder(bus!);
        await bus!.subscribe("wanted");
        await bus!.publish("unwanted", typing(1));
        await bus!.publish("wanted:suffix", typing(2));
        await bus!.publish("wanted", typing(3));
        await waitFor("the wanted message", () => onTopic(got, "wanted").length === 1);
        await sleep(SETTLE_MS);
        assert.deepEqual(
          got.map((r) => r.topic),
          ["wanted"],
        );
      });

      test("messages to one topic arrive in publish order", 1, async ([bus]) => {
        const got = recorder(bus!);
        await bus!.subscribe("ordered");
        await Promise.all(Array.from({ length: 200 }, (_, i) => bus!.publish("ordered", typing(i))));
        await waitFor("200 messages", () => got.length === 200);
        assert.deepEqual(
          got.map((r) => (r.msg.kind === "typing" ? r.msg.accountId : "")),
          Array.from({ length: 200 }, (_, i) => `a${i}`),
        );
      });

      test("several topics at once, each delivered under its own name", 1, async ([bus]) => {
        const got = recorder(bus!);
        await bus!.subscribe("t1");
        await bus!.subscribe("t2");
        for (let i = 0; i < 10; i++) await bus!.publish(i % 2 ? "t2" : "t1", typing(i));
        await waitFor("10 messages", () => got.length === 10);
        assert.deepEqual(
          onTopic(got, "t1").map((r) => (r.msg.kind === "typing" ? r.msg.accountId : "")),
          ["a0", "a2", "a4", "a6", "a8"],
        );
        assert.deepEqual(
          onTopic(got, "t2").map((r) => (r.msg.kind === "typing" ? r.msg.accountId : "")),
          ["a1", "a3", "a5", "a7", "a9"],
        );
      });

      test("subscribing twice does not deliver twice", 1, async ([bus]) => {
        const got = recorder(bus!);
        await bus!.subscribe("twice");
        await bus!.subscribe("twice");
        await bus!.publish("twice", typing(1));
        await bus!.publish("twice", typing(2));
        await waitFor("both messages", () => got.length >= 2);
        await sleep(SETTLE_MS);
        assert.equal(got.length, 2);
      });

      test("unsubscribe stops delivery of that topic only", 1, async ([bus]) => {
        const got = recorder(bus!);
        await bus!.subscribe("a");
        await bus!.subscribe("b");
        await bus!.publish("a", typing(1));
        await waitFor("the first message", () => got.length === 1);
        await bus!.unsubscribe("a");
        await bus!.publish("a", typing(2));
        await bus!.publish("b", typing(3));
        await waitFor("the message on b", () => onTopic(got, "b").length === 1);
        await sleep(SETTLE_MS);
        assert.deepEqual(
          onTopic(got, "a").map((r) => r.msg),
          [typing(1)],
        );
        // Unsubscribing from a topic that is not subscribed is harmless; subscribing again works.
        await bus!.unsubscribe("never-subscribed");
        await bus!.subscribe("a");
        await bus!.publish("a", typing(4));
        await waitFor("the message after resubscribing", () => onTopic(got, "a").length === 2);
      });

      // The hub unsubscribes without awaiting when a room's last local member leaves, and may
      // subscribe again at once when someone rejoins: overlapping calls take effect in call order.
      test("an unsubscribe followed at once by a subscribe leaves the topic subscribed", 1, async ([bus]) => {
        const got = recorder(bus!);
        await bus!.subscribe("flip");
        const unsubscribed = bus!.unsubscribe("flip");
        const subscribed = bus!.subscribe("flip");
        await Promise.all([unsubscribed, subscribed]);
        await bus!.publish("flip", typing(1));
        await waitFor("the message after resubscribing", () => got.length === 1);
        assert.deepEqual(got[0], { topic: "flip", msg: typing(1) });
      });

      test("a subscribe followed at once by an unsubscribe leaves the topic unsubscribed", 1, async ([bus]) => {
        const got = recorder(bus!);
        await bus!.subscribe("fence");
        const subscribed = bus!.subscribe("flop");
        const unsubscribed = bus!.unsubscribe("flop");
        await Promise.all([subscribed, unsubscribed]);
        await bus!.publish("flop", typing(1));
        await bus!.publish("fence", typing(2));
        await waitFor("the fence", () => onTopic(got, "fence").length === 1);
        await sleep(SETTLE_MS);
        assert.deepEqual(onTopic(got, "flop"), []);
      });

      test("publishing to a topic nobody follows resolves", 1, async ([bus]) => {
        recorder(bus!);
        await bus!.publish("nobody-here", typing(1));
      });

      test("close stops delivery", 1, async ([bus]) => {
        const got = recorder(bus!);
        await bus!.subscribe("t");
        await bus!.publish("t", typing(1));
        await waitFor("the first message", () => got.length === 1);
        for (let i = 2; i < 10; i++) void bus!.publish("t", typing(i)).catch(() => {});
        await bus!.close();
        const atClose = got.length;
        await bus!.publish("t", typing(99)).catch(() => {}); // may reject on a closed bus; must not deliver
        await sleep(SETTLE_MS);
        assert.equal(got.length, atClose, "nothing is delivered after close resolved");
      });
    });

    describe("several buses on one backend", () => {
      test("a publish reaches every bus subscribed to the topic, the publisher's own included", 3, async (buses) => {
        const [a, b, c] = buses as [Bus, Bus, Bus];
        const [ga, gb, gc] = [recorder(a), recorder(b), recorder(c)];
        await a.subscribe("room:1");
        await b.subscribe("room:1");
        await c.subscribe("other");
        await a.publish("room:1", typing(1));
        await waitFor("delivery to a and b", () => ga.length === 1 && gb.length === 1);
        assert.deepEqual(ga[0], { topic: "room:1", msg: typing(1) });
        assert.deepEqual(gb[0], { topic: "room:1", msg: typing(1) });
        await b.publish("other", typing(2));
        await waitFor("delivery to c", () => gc.length === 1);
        await sleep(SETTLE_MS);
        assert.equal(ga.length, 1, "a did not subscribe to 'other'");
        assert.equal(gb.length, 1, "b did not subscribe to 'other'");
        assert.deepEqual(gc, [{ topic: "other", msg: typing(2) }]);
      });

      test("every receiver sees one publisher's messages to a topic in publish order", 3, async (buses) => {
        const [a, b, c] = buses as [Bus, Bus, Bus];
        const [gb, gc] = [recorder(b), recorder(c)];
        recorder(a);
        await b.subscribe("ordered");
        await c.subscribe("ordered");
        await Promise.all(Array.from({ length: 200 }, (_, i) => a.publish("ordered", typing(i))));
        await waitFor("200 messages at b and c", () => gb.length === 200 && gc.length === 200);
        const expected = Array.from({ length: 200 }, (_, i) => `a${i}`);
        assert.deepEqual(
          gb.map((r) => (r.msg.kind === "typing" ? r.msg.accountId : "")),
          expected,
        );
        assert.deepEqual(
          gc.map((r) => (r.msg.kind === "typing" ? r.msg.accountId : "")),
          expected,
        );
      });

      test("unsubscribing on one bus does not affect the others", 2, async (buses) => {
        const [a, b] = buses as [Bus, Bus];
        const [ga, gb] = [recorder(a), recorder(b)];
        await a.subscribe("t");
        await b.subscribe("t");
        await a.subscribe("fence");
        await a.unsubscribe("t");
        await a.publish("t", typing(1));
        await waitFor("delivery to b", () => gb.length === 1);
        await b.publish("fence", typing(2));
        await waitFor("the fence at a", () => onTopic(ga, "fence").length === 1);
        await sleep(SETTLE_MS);
        assert.deepEqual(onTopic(ga, "t"), []);
      });

      test("a closed bus receives nothing more; the others carry on", 2, async (buses) => {
        const [a, b] = buses as [Bus, Bus];
        const [ga, gb] = [recorder(a), recorder(b)];
        await a.subscribe("t");
        await b.subscribe("t");
        await b.publish("t", typing(1));
        await waitFor("delivery to both", () => ga.length === 1 && gb.length === 1);
        await a.close();
        await b.publish("t", typing(2));
        await waitFor("delivery to b", () => gb.length === 2);
        await sleep(SETTLE_MS);
        assert.equal(ga.length, 1);
      });
    });
  });
}
