// `parley serve --workers N`: N processes on the same ports; a dead worker is replaced; SIGTERM
// stops them all gracefully; without PostgreSQL and Redis the server refuses clearly.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { register, uniq } from "../helpers/http.ts";
import { eventually, runParley, type TestServer, tempDir } from "../helpers/server.ts";
import { WsClient } from "../helpers/ws-client.ts";
import { freshSchema, keysLeft, REDIS_URL, startNode } from "./cluster.ts";

describe("serve --workers", () => {
  it("refuses more than one worker without a shared database and bus, saying what is missing (exit 2)", async () => {
    const [r, onlyRedis, zero] = await Promise.all([
      runParley(["serve", "--workers", "2", "--data", tempDir(), "--port", "0"]),
      runParley(["serve", "--workers", "3", "--redis-url", REDIS_URL, "--port", "0"]),
      runParley(["serve", "--workers", "0", "--port", "0"]),
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--workers 2 needs --database-url postgres:\/\/… .* and --redis-url redis:\/\/…/);
    assert.equal(onlyRedis.code, 2);
    assert.match(onlyRedis.stderr, /needs --database-url/);
    assert.doesNotMatch(onlyRedis.stderr, /--redis-url redis/);
    assert.equal(zero.code, 2);
    assert.match(zero.stderr, /--workers must be at least 1/);
  });

  describe("two workers on PostgreSQL and Redis", () => {
    let db: Awaited<ReturnType<typeof freshSchema>>;
    let srv: TestServer;
    const prefix = `${uniq("parley-workers-")}:`;
    const running = () => srv.logRecords().filter((r) => r.msg === "parley is running");

    before(async () => {
      db = await freshSchema();
      srv = await startNode({ schema: db.schema, prefix, args: ["--workers", "2"] });
      await eventually(() => running().length === 2, 60_000, "both workers running");
    });
    after(async () => {
      await srv.stop();
      await db.drop();
      assert.deepEqual(await keysLeft(prefix), []);
    });

    it("serves from both workers, replaces one killed with -9, and stops them all on SIGTERM", async () => {
      const pids = running().map((r) => r.pid as number);
      assert.equal(new Set(pids).size, 2);
      assert.ok(!pids.includes(srv.proc.pid!), "the primary serves nothing itself");

      // Several connections: the primary spreads them over the workers; all see each other.
      const reg = await register(srv);
      const room = uniq("w");
      const clients = await Promise.all(
        Array.from({ length: 4 }, async () => (await WsClient.open(srv.wsUrl, { token: reg.token })).client),
      );
      const roomId = (await clients[0]!.ok({ type: "create", name: room })).membership.room.id as string;
      await clients[0]!.ok({ type: "send", room: roomId, clientId: "w-1", body: "hello" });
      for (const c of clients) await c.waitForEvent(roomId, (e) => e.type === "message");

      process.kill(pids[0]!, "SIGKILL");
      await eventually(() => running().length === 3, 60_000, "a new worker");
      const replaced = srv.logRecords().find((r) => r.msg === "worker died; starting another");
      assert.equal(replaced?.signal, "SIGKILL");
      // Service continues for a client that reconnects.
      const { client } = await WsClient.open(srv.wsUrl, { token: reg.token });
      await client.ok({ type: "send", room: roomId, clientId: "w-2", body: "still here" });
      for (const c of [...clients, client]) c.terminate();

      const exit = await srv.stop("SIGTERM");
      assert.equal(exit.code, 0, srv.logs());
      const stopped = srv.logRecords().filter((r) => r.msg === "worker stopped");
      assert.equal(stopped.length, 2);
      for (const r of stopped) assert.equal(r.code, 0);
    });
  });
});
