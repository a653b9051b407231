import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { newId } from "../../core/ids.ts";
import { storeContract } from "../store.contract.ts";
import { SqliteStore, UNREAD_CAP } from "./index.ts";
import { migrations } from "./migrations.ts";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "parley-sqlite-"));
}

async function closeQuietly(store: SqliteStore): Promise<void> {
  if (store.db.open) await store.close();
}

storeContract(
  "sqlite",
  async () => {
    const dir = tempDir();
    const store = new SqliteStore({ path: join(dir, "parley.db") });
    return {
      store,
      cleanup: async () => {
        await closeQuietly(store);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  { unreadCap: UNREAD_CAP },
);

describe("SqliteStore", () => {
  it("uses WAL journal mode", async () => {
    const dir = tempDir();
    const store = new SqliteStore({ path: join(dir, "wal.db") });
    try {
      assert.equal(store.db.pragma("journal_mode", { simple: true }), "wal");
    } finally {
      await closeQuietly(store);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("creates the data directory when it is missing", async () => {
    const dir = tempDir();
    const store = new SqliteStore({ path: join(dir, "nested", "deeper", "parley.db") });
    try {
      assert.equal(await store.countAccounts(), 0);
    } finally {
      await closeQuietly(store);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("migrations are idempotent: reopening a file keeps its schema version and data", async () => {
    const dir = tempDir();
    const path = join(dir, "parley.db");
    try {
      const first = new SqliteStore({ path });
      assert.equal(first.db.pragma("user_version", { simple: true }), migrations.length);
      const alice = await first.createAccount({ id: newId(), name: "alice", guest: false, passwordHash: "h", createdAt: 1 });
      assert.ok(alice);
      await first.close();

      for (let i = 0; i < 2; i++) {
        const again = new SqliteStore({ path });
        assert.equal(again.db.pragma("user_version", { simple: true }), migrations.length);
        assert.equal((await again.findAccount("alice"))?.id, alice.id);
        assert.equal(await again.countAccounts(), 1 + i);
        // The next registered account is not admin: the data, not just the schema, survived.
        const bob = await again.createAccount({ id: newId(), name: `bob${i}`, guest: false, passwordHash: "h", createdAt: 2 });
        assert.equal(bob?.admin, false);
        await again.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps every appended message across close and reopen", async () => {
    const dir = tempDir();
    const path = join(dir, "parley.db");
    try {
      const store = new SqliteStore({ path });
      const alice = await store.createAccount({ id: newId(), name: "alice", guest: false, passwordHash: "h", createdAt: 1 });
      assert.ok(alice);
      const created = await store.createRoom(
        { id: newId(), name: "general", kind: "public", topic: "", createdBy: alice.id, createdAt: 1 },
        [{ accountId: alice.id, role: "owner" }],
      );
      assert.ok(created);
      const roomId = created.room.id;
      const appended = await Promise.all(
        Array.from({ length: 300 }, (_, i) =>
          store.append(
            roomId,
            { type: "message", id: newId(), actorId: alice.id, clientId: `c${i}`, body: `m${i}`, replyTo: null },
            i,
          ),
        ),
      );
      await store.close();

      const reopened = new SqliteStore({ path });
      try {
        assert.equal((await reopened.getRoom(roomId))?.lastSeq, 301);
        const events = await reopened.eventsAfter(roomId, 0, 1000);
        assert.equal(events.length, 301);
        const bodies = events.flatMap((e) => (e.type === "message" ? [e.message.body] : []));
        assert.deepEqual(
          bodies,
          appended.map((a) => (a.event.type === "message" ? a.event.message.body : "")),
        );
        // Idempotency survives a restart too.
        const retry = await reopened.append(
          roomId,
          { type: "message", id: newId(), actorId: alice.id, clientId: "c7", body: "again", replyTo: null },
          999,
        );
        assert.equal(retry.duplicate, true);
        assert.equal(retry.event.seq, appended[7]!.event.seq);
      } finally {
        await reopened.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("works in memory", async () => {
    const store = new SqliteStore({ path: ":memory:" });
    try {
      const a = await store.createAccount({ id: newId(), name: "alice", guest: false, passwordHash: "h", createdAt: 1 });
      assert.equal(a?.admin, true);
    } finally {
      await store.close();
    }
  });
});
