// Rate limits shared through Redis: two server processes on one PostgreSQL schema and one Redis
// prefix count one budget per account (messages, across its connections on both) and one per
// client address (guest names, like registrations), not one per process.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { register, uniq } from "../helpers/http.ts";
import type { TestServer } from "../helpers/server.ts";
import { RequestError, WsClient } from "../helpers/ws-client.ts";
import { freshSchema, keysLeft, startNode } from "./cluster.ts";

let db: Awaited<ReturnType<typeof freshSchema>>;
const prefix = `${uniq("parley-limits-")}:`;
let a: TestServer;
let b: TestServer;
const clients: WsClient[] = [];

// Budgets that do not refill within the test (one token in 100 s or more).
const ACCOUNT_MESSAGES = 5;
const GUESTS_PER_ADDRESS = 2;

before(async () => {
  db = await freshSchema();
  const opts = {
    schema: db.schema,
    prefix,
    limits: {
      accountMessages: { burst: ACCOUNT_MESSAGES, perSecond: 0.01 },
      registrations: { burst: GUESTS_PER_ADDRESS, perSecond: 0.001 },
    },
  };
  [a, b] = await Promise.all([startNode(opts), startNode(opts)]);
});

after(async () => {
  for (const c of clients) c.terminate();
  await Promise.all([a?.stop(), b?.stop()]);
  await db?.drop();
  assert.deepEqual(await keysLeft(prefix), [], "every rate-limit bucket expires; nothing else is stored");
});

async function open(node: TestServer, hello: { token?: string; guest?: string }, address?: string) {
  const { client } = await WsClient.open(node.wsUrl, hello, address);
  clients.push(client);
  return client;
}

describe("rate limits across two processes", () => {
  it("one account connected to both gets one message budget: the second process refuses with retry_after", async () => {
    const alice = await register(a);
    const onA = await open(a, { token: alice.token });
    const onB = await open(b, { token: alice.token });
    const room = uniq("limits");
    const roomId = (await onA.ok({ type: "create", name: room })).membership.room.id as string;
    await onB.ok({ type: "join", room });

    // The budget is spent across both processes: 3 on the first, 2 on the second.
    for (let i = 0; i < ACCOUNT_MESSAGES; i++) {
      const via = i < 3 ? onA : onB;
      await via.ok({ type: "send", room: roomId, clientId: `m${i}`, body: `message ${i}` });
    }
    for (const via of [onB, onA]) {
      const refused = await via.error({ type: "send", room: roomId, clientId: uniq("over"), body: "one too many" });
      assert.equal(refused.code, "RATE_LIMITED");
      assert.ok((refused.retry_after as number) > 1000, `retry_after ${refused.retry_after}`);
    }

    // Another account is not affected.
    const bob = await register(b);
    const bobOnB = await open(b, { token: bob.token });
    await bobOnB.ok({ type: "join", room });
    await bobOnB.ok({ type: "send", room: roomId, clientId: "b0", body: "bob is fine" });
  });

  it("guest names from one address are counted once over both processes", async () => {
    // 127.0.0.1 is exempt from per-address limits (the operator); any other loopback address is a client.
    const address = "127.0.0.23";
    await open(a, { guest: uniq("g") }, address);
    await open(b, { guest: uniq("g") }, address);
    for (const node of [a, b]) {
      await assert.rejects(open(node, { guest: uniq("g") }, address), (err: unknown) => {
        assert.ok(err instanceof RequestError);
        assert.equal(err.frame.code, "RATE_LIMITED");
        return true;
      });
    }
  });
});
