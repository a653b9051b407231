import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
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

  it("the newest page follows changes another connection makes to the file (PRAGMA data_version)", async () => {
    const dir = tempDir();
    const path = join(dir, "shared.db");
    const server = new SqliteStore({ path });
    const admin = new SqliteStore({ path });
    try {
      const guest = await server.createAccount({ id: newId(), name: "visitor", guest: true, passwordHash: null, createdAt: 1 });
      assert.ok(guest);
      const created = await server.createRoom(
        { id: newId(), name: "r", kind: "public", topic: "", createdBy: guest.id, createdAt: 1 },
        [{ accountId: guest.id, role: "owner" }],
      );
      assert.ok(created);
      const roomId = created.room.id;
      await server.append(
        roomId,
        { type: "message", id: newId(), actorId: guest.id, clientId: null, body: "one", replyTo: null },
        2,
      );
      const newest = async () => (await server.history(roomId, { limit: 50 })).messages.map((m) => `${m.author}: ${m.body}`);
      assert.deepEqual(await newest(), ["visitor: one"]);
      // A rename takes no seq in the room: only data_version tells the server's connection.
      assert.equal(await admin.renameGuest(guest.id, "Renamed"), true);
      assert.deepEqual(await newest(), ["Renamed: one"]);
      await admin.append(
        roomId,
        { type: "message", id: newId(), actorId: guest.id, clientId: null, body: "two", replyTo: null },
        3,
      );
      assert.deepEqual(await newest(), ["Renamed: one", "Renamed: two"]);
    } finally {
      await closeQuietly(admin);
      await closeQuietly(server);
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

  it("migration 2 indexes the messages of a version-1 database for search, and new ones continue its numbering", async () => {
    const dir = tempDir();
    const path = join(dir, "old.db");
    try {
      // A database as version 1 left it, written without the store (frozen SQL, not today's code).
      const old = new Database(path);
      old.exec(migrations[0]!);
      old.pragma("user_version = 1");
      old.exec(`INSERT INTO accounts (id, name, name_key, guest, admin, password_hash, created_at)
          VALUES ('a1', 'alice', 'alice', 0, 1, 'h', 1);
        INSERT INTO rooms (id, name, name_key, kind, topic, created_by, created_at, last_seq)
          VALUES ('r1', 'lobby', 'lobby', 'public', '', 'a1', 1, 3);
        INSERT INTO messages (room_id, seq, id, author_id, client_id, body, reply_to, created_at, deleted)
          VALUES ('r1', 1, 'm1', 'a1', NULL, 'old news about 部署', NULL, 10, 0),
                 ('r1', 2, 'm2', 'a1', NULL, '', NULL, 20, 1),
                 ('r1', 3, 'm3', 'a1', NULL, 'more old news', NULL, 30, 0);`);
      old.close();

      const store = new SqliteStore({ path });
      try {
        assert.equal(store.db.pragma("user_version", { simple: true }), migrations.length);
        const found = await store.search(["r1"], ["news"], { limit: 10 });
        assert.deepEqual(
          found.messages.map((m) => m.id),
          ["m3", "m1"],
        );
        assert.deepEqual(
          (await store.search(["r1"], ["部署"], { limit: 10 })).messages.map((m) => m.id),
          ["m1"],
        );
        const { event } = await store.append(
          "r1",
          { type: "message", id: "m4", actorId: "a1", clientId: null, body: "fresh news", replyTo: null },
          40,
        );
        assert.equal(event.seq, 4);
        assert.deepEqual(
          (store.db.prepare("SELECT id, doc FROM messages ORDER BY doc").all() as { id: string; doc: number }[]).map(
            (r) => `${r.id}:${r.doc}`,
          ),
          ["m1:1", "m2:2", "m3:3", "m4:4"],
        );
        assert.deepEqual(
          (await store.search(["r1"], ["news"], { limit: 10 })).messages.map((m) => m.id),
          ["m4", "m3", "m1"],
        );
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("events carry the author's current name after a rename here or by another connection (PRAGMA data_version)", async () => {
    const dir = tempDir();
    const path = join(dir, "parley.db");
    const store = new SqliteStore({ path });
    const other = new SqliteStore({ path });
    try {
      const guest = await store.createAccount({ id: newId(), name: "anna", guest: true, passwordHash: null, createdAt: 1 });
      assert.ok(guest);
      const created = await store.createRoom(
        { id: newId(), name: "general", kind: "public", topic: "", createdBy: guest.id, createdAt: 1 },
        [],
      );
      assert.ok(created);
      const say = async (body: string) => {
        const draft = { type: "message" as const, id: newId(), actorId: guest.id, clientId: null, body, replyTo: null };
        return (await store.append(created.room.id, draft, 2)).event.actor;
      };
      assert.equal(await say("one"), "anna");
      assert.equal(await store.renameGuest(guest.id, "anne"), true);
      assert.equal(await say("two"), "anne");
      assert.equal(await other.renameGuest(guest.id, "annie"), true);
      assert.equal(await say("three"), "annie");
    } finally {
      await other.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("numbers appends after another connection's (PRAGMA data_version) or a bulk load on its own, and hands out again what a failed batch took", async () => {
    const dir = tempDir();
    const path = join(dir, "parley.db");
    const store = new SqliteStore({ path });
    const other = new SqliteStore({ path });
    try {
      const author = await store.createAccount({ id: newId(), name: "anna", guest: true, passwordHash: null, createdAt: 1 });
      assert.ok(author);
      const created = await store.createRoom(
        { id: newId(), name: "general", kind: "public", topic: "", createdBy: author.id, createdAt: 1 },
        [],
      );
      assert.ok(created);
      const roomId = created.room.id;
      const say = async (s: SqliteStore, body: string, replyTo: string | null = null) => {
        const draft = { type: "message" as const, id: newId(), actorId: author.id, clientId: null, body, replyTo };
        return (await s.append(roomId, draft, 2)).event.seq;
      };
      const docs = () => (store.db.prepare("SELECT doc FROM messages ORDER BY seq").pluck(true).all() as number[]).join(",");
      assert.equal(await say(store, "one"), 1);
      assert.equal(await say(store, "two"), 2);
      assert.equal(await say(other, "three"), 3);
      assert.equal(await say(store, "four"), 4, "after the other connection's append");
      // A batch whose one append fails is rolled back and run again, each append on its own:
      // the failed one consumes no seq and no doc.
      const [five, bad, six] = await Promise.allSettled([
        say(store, "five"),
        say(store, "a reply to nothing", "no-such-message"),
        say(store, "six"),
      ]);
      assert.deepEqual(
        [five, six].map((r) => r.status === "fulfilled" && r.value),
        [5, 6],
      );
      assert.equal(bad?.status, "rejected");
      assert.equal(await say(other, "seven"), 7);
      assert.equal(await say(store, "eight"), 8);
      // A bulk load through the store's own connection (bench/seed.ts does this).
      store.db.transaction(() => {
        store.db
          .prepare("INSERT INTO messages (room_id, seq, id, author_id, body, created_at, doc) VALUES (?, 9, ?, ?, 'nine', 2, 9)")
          .run(roomId, newId(), author.id);
        store.db.prepare("UPDATE rooms SET last_seq = 9 WHERE id = ?").run(roomId);
      })();
      assert.equal(await say(store, "ten"), 10, "after a write on the store's connection");
      assert.equal(docs(), "1,2,3,4,5,6,7,8,9,10");
      assert.equal((await store.getRoom(roomId))?.lastSeq, 10);
    } finally {
      await other.close();
      await store.close();
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

  it("starts group commits at most once per commitWindowMs, and at once after a quiet spell", async () => {
    const window = 300;
    const store = new SqliteStore({ path: ":memory:", commitWindowMs: window });
    try {
      const alice = await store.createAccount({ id: newId(), name: "alice", guest: false, passwordHash: "h", createdAt: 1 });
      assert.ok(alice);
      const created = await store.createRoom(
        { id: newId(), name: "general", kind: "public", topic: "", createdBy: alice.id, createdAt: 1 },
        [],
      );
      assert.ok(created);
      // Each group commit is one db.transaction(…) made by flush; count them from here on.
      let commits = 0;
      const transaction = store.db.transaction.bind(store.db);
      store.db.transaction = ((fn: (...a: unknown[]) => unknown) => {
        commits++;
        return transaction(fn);
      }) as typeof store.db.transaction;
      const send = (i: number) =>
        store.append(
          created.room.id,
          { type: "message", id: newId(), actorId: alice.id, clientId: `c${i}`, body: `m${i}`, replyTo: null },
          i,
        );

      const quiet = performance.now();
      const first = await send(1);
      assert.ok(performance.now() - quiet < window / 2, "the first append after a quiet spell does not wait for the window");
      assert.equal(commits, 1);

      const second = send(2);
      await new Promise((r) => setImmediate(r));
      const rest = await Promise.all([second, send(3), send(4)]);
      // Timers may fire up to a millisecond early.
      assert.ok(performance.now() - quiet >= window - 2, "appends within the window wait for its end");
      assert.equal(commits, 2, "the appends of several turns inside one window share one commit");
      assert.deepEqual(
        rest.map((a) => a.event.seq),
        [first.event.seq + 1, first.event.seq + 2, first.event.seq + 3],
      );
    } finally {
      await store.close();
    }
  });

  it("indexes a message for search before an edit or deletion in the same group commit", async () => {
    const store = new SqliteStore({ path: ":memory:" });
    try {
      const alice = await store.createAccount({ id: newId(), name: "alice", guest: false, passwordHash: "h", createdAt: 1 });
      assert.ok(alice);
      const created = await store.createRoom(
        { id: newId(), name: "general", kind: "public", topic: "", createdBy: alice.id, createdAt: 1 },
        [],
      );
      assert.ok(created);
      const roomId = created.room.id;
      const edited = newId();
      const deleted = newId();
      const message = (id: string, body: string) => ({
        type: "message" as const,
        id,
        actorId: alice.id,
        clientId: id,
        body,
        replyTo: null,
      });
      // Not awaited in between: all four land in one commit.
      await Promise.all([
        store.append(roomId, message(edited, "first draft walrus"), 1),
        store.append(roomId, message(deleted, "regrettable walrus"), 2),
        store.append(roomId, { type: "edit", actorId: alice.id, messageId: edited, body: "final penguin" }, 3),
        store.append(roomId, { type: "delete", actorId: alice.id, messageId: deleted }, 4),
      ]);
      const bodies = async (term: string) => (await store.search([roomId], [term], { limit: 10 })).messages.map((m) => m.body);
      assert.deepEqual(await bodies("penguin"), ["final penguin"]);
      assert.deepEqual(await bodies("walrus"), []);
      // The external-content index agrees with the messages table, row for row.
      store.db.exec("INSERT INTO message_search (message_search, rank) VALUES ('integrity-check', 1)");
    } finally {
      await store.close();
    }
  });

  it("indexes new messages for search after their commit, and a search first indexes what is pending", async () => {
    const store = new SqliteStore({ path: ":memory:", indexDelayMs: 60_000 });
    try {
      const { roomId, say } = await oneRoom(store);
      const m = await say("an unusual aardvark");
      const indexed = () =>
        (store.db.prepare("SELECT indexed_doc FROM search_state").get() as { indexed_doc: number }).indexed_doc;
      const ftsHits = () =>
        store.db.prepare("SELECT rowid FROM message_search WHERE message_search MATCH 'aardvark'").all().length;
      assert.equal(ftsHits(), 0, "committed, and not yet indexed: the index waits for more commits");
      assert.ok(indexed() < 1);
      const found = await store.search([roomId], ["aardvark"], { limit: 10 });
      assert.deepEqual(
        found.messages.map((x) => x.id),
        [m.event.type === "message" ? m.event.message.id : ""],
      );
      assert.equal(ftsHits(), 1);
      store.db.exec("INSERT INTO message_search (message_search, rank) VALUES ('integrity-check', 1)");
    } finally {
      await store.close();
    }
  });

  it("indexes pending messages when the delay has passed", async () => {
    const store = new SqliteStore({ path: ":memory:", indexDelayMs: 20 });
    try {
      const { say } = await oneRoom(store);
      await Promise.all([say("first okapi"), say("second okapi")]);
      await say("third okapi");
      await new Promise((r) => setTimeout(r, 100));
      const hits = store.db.prepare("SELECT rowid FROM message_search WHERE message_search MATCH 'okapi'").all();
      assert.equal(hits.length, 3);
    } finally {
      await store.close();
    }
  });

  it("a store opened after a crash indexes the messages committed but not yet indexed", async () => {
    const dir = tempDir();
    const path = join(dir, "parley.db");
    try {
      const store = new SqliteStore({ path, indexDelayMs: 60_000 });
      const { roomId, say } = await oneRoom(store);
      await say("before the crash: quokka");
      // Closing the handle alone, as a killed process would leave it: nothing indexes on the way out.
      store.db.close();
      const reopened = new SqliteStore({ path });
      try {
        const hits = reopened.db.prepare("SELECT rowid FROM message_search WHERE message_search MATCH 'quokka'").all();
        assert.equal(hits.length, 1, "indexed when the store opened, before any search");
        assert.equal((await reopened.search([roomId], ["quokka"], { limit: 10 })).messages.length, 1);
        reopened.db.exec("INSERT INTO message_search (message_search, rank) VALUES ('integrity-check', 1)");
      } finally {
        await reopened.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("with checkpointEveryMs, a worker thread copies the WAL back into the database file", async () => {
    const dir = tempDir();
    const path = join(dir, "parley.db");
    const store = new SqliteStore({ path, checkpointEveryMs: 20 });
    try {
      const { say } = await oneRoom(store);
      const before = statSync(path).size;
      for (let i = 0; i < 20; i++) await Promise.all(Array.from({ length: 50 }, (_, k) => say(`message ${i}.${k}`)));
      // The writer's own automatic checkpoint starts at 20,000 pages: only the worker could have done it.
      assert.ok(Number(store.db.pragma("wal_autocheckpoint", { simple: true })) >= 20_000);
      const deadline = Date.now() + 5000;
      while (statSync(path).size <= before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(statSync(path).size > before, "the database file grew: pages were checkpointed into it");
    } finally {
      await store.close();
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

/** A store with one account in one room, and a way to post messages there. */
async function oneRoom(store: SqliteStore) {
  const alice = await store.createAccount({ id: newId(), name: "alice", guest: false, passwordHash: "h", createdAt: 1 });
  assert.ok(alice);
  const created = await store.createRoom(
    { id: newId(), name: "general", kind: "public", topic: "", createdBy: alice.id, createdAt: 1 },
    [],
  );
  assert.ok(created);
  const roomId = created.room.id;
  let n = 0;
  const say = (body: string) =>
    store.append(roomId, { type: "message", id: newId(), actorId: alice.id, clientId: `c${++n}`, body, replyTo: null }, n);
  return { roomId, say };
}
