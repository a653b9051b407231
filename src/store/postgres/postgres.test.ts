// PgStore against a real PostgreSQL: the shared Store contract plus what only a networked,
// multi-process store has to get right (concurrent appends and sends from several pools,
// concurrent migrations, unavailability and recovery).
//
// The database comes from PARLEY_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test).
// Every test works in a fresh schema with a random name and drops it afterwards. When PostgreSQL
// is unreachable the tests are skipped with a message, except under CI, where they fail.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import pg from "pg";
import { closedPort, tcpProxy } from "../../../test/helpers/tcp-proxy.ts";
import { ChatError, StoreUnavailableError } from "../../core/errors.ts";
import { newId } from "../../core/ids.ts";
import type { Appended } from "../../core/ports.ts";
import type { Account, EventDraft, Id } from "../../core/types.ts";
import { storeContract } from "../store.contract.ts";
import { PgStore, type PgStoreOptions, UNREAD_CAP } from "./index.ts";
import { migrations } from "./migrations.ts";

const DATABASE_URL = process.env.PARLEY_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const T0 = 1_700_000_000_000;

async function probe(): Promise<string | null> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("SELECT 1");
    return null;
  } catch (error) {
    return error instanceof Error ? error.message || error.constructor.name : String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

const unreachable = await probe();

if (unreachable !== null && !process.env.CI) {
  describe("PgStore", () => {
    it(`PostgreSQL at ${DATABASE_URL} is not reachable (${unreachable}): skipped; under CI this fails`, (t) => {
      t.skip("set PARLEY_TEST_DATABASE_URL or start PostgreSQL to run these tests");
    });
  });
} else if (unreachable !== null) {
  describe("PgStore", () => {
    it("PostgreSQL is reachable (required under CI)", () => {
      assert.fail(`PostgreSQL at ${DATABASE_URL} is not reachable: ${unreachable}`);
    });
  });
} else {
  suites();
}

function suites(): void {
  const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  admin.on("error", () => {});
  const created = new Set<string>();
  const open = new Set<PgStore>();

  after(async () => {
    for (const store of open) await store.close().catch(() => {});
    for (const schema of created) await dropSchema(schema);
    await admin.end();
  });

  function schemaName(): string {
    const name = `parley_test_${randomBytes(6).toString("hex")}`;
    created.add(name);
    return name;
  }

  async function dropSchema(schema: string): Promise<void> {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    created.delete(schema);
  }

  function store(schema: string, opts: PgStoreOptions = {}, url = DATABASE_URL): PgStore {
    const s = new PgStore(url, { schema, poolSize: 4, ...opts });
    open.add(s);
    return s;
  }

  async function closeStore(s: PgStore): Promise<void> {
    await s.close();
    open.delete(s);
  }

  /** A fresh schema and a store on it; cleanup closes every store given and drops the schema. */
  async function fresh(n = 1, opts: PgStoreOptions = {}) {
    const schema = schemaName();
    const stores = Array.from({ length: n }, () => store(schema, opts));
    return {
      schema,
      stores,
      cleanup: async () => {
        for (const s of stores) await closeStore(s);
        await dropSchema(schema);
      },
    };
  }

  storeContract(
    "postgres",
    async () => {
      const { stores, cleanup } = await fresh();
      await stores[0]!.migrate();
      return { store: stores[0]!, cleanup };
    },
    { unreadCap: UNREAD_CAP },
  );

  async function account(s: PgStore, name: string): Promise<Account> {
    const a = await s.createAccount({ id: newId(), name, guest: false, passwordHash: "h", createdAt: T0 });
    assert.ok(a);
    return a;
  }

  async function room(s: PgStore, name: string, owner: Account): Promise<Id> {
    const r = await s.createRoom({ id: newId(), name, kind: "public", topic: "", createdBy: owner.id, createdAt: T0 }, [
      { accountId: owner.id, role: "owner" },
    ]);
    assert.ok(r);
    return r.room.id;
  }

  const message = (actorId: Id, body: string, clientId: string | null = null): EventDraft => ({
    type: "message",
    id: newId(),
    actorId,
    clientId,
    body,
    replyTo: null,
  });

  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  async function rejectsUnavailable(p: Promise<unknown>, what: string): Promise<void> {
    await assert.rejects(p, (err: unknown) => {
      assert.ok(err instanceof StoreUnavailableError, `${what}: expected StoreUnavailableError, got ${String(err)}`);
      return true;
    });
  }

  describe("PgStore", () => {
    describe("schema and migrations", () => {
      it("creates the schema, puts every table in it and records the version", async () => {
        const { schema, stores, cleanup } = await fresh();
        try {
          await stores[0]!.migrate();
          const tables = await admin.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1",
            [schema],
          );
          assert.deepEqual(
            tables.rows.map((r) => r.table_name),
            [
              "accounts",
              "bans",
              "events",
              "invites",
              "members",
              "messages",
              "reactions",
              "rooms",
              "schema_migrations",
              "sessions",
            ],
          );
          const versions = await admin.query(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
          assert.deepEqual(
            versions.rows.map((r) => r.version),
            range(1, migrations.length),
          );
        } finally {
          await cleanup();
        }
      });

      it("three instances migrating a fresh schema at once all succeed, and the schema is migrated once", async () => {
        const { schema, stores, cleanup } = await fresh(3);
        try {
          await Promise.all(stores.map((s) => s.migrate()));
          const versions = await admin.query(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
          assert.deepEqual(
            versions.rows.map((r) => r.version),
            range(1, migrations.length),
          );
          // All three work on the same data.
          const alice = await account(stores[0]!, "alice");
          assert.equal((await stores[1]!.findAccount("alice"))?.id, alice.id);
          assert.equal(await stores[2]!.countAccounts(), 1);
        } finally {
          await cleanup();
        }
      });

      it("reopening a migrated schema keeps its version and data", async () => {
        const schema = schemaName();
        try {
          const first = store(schema);
          const alice = await account(first, "alice");
          await closeStore(first);
          const again = store(schema);
          assert.equal((await again.findAccount("alice"))?.id, alice.id);
          const bob = await again.createAccount({ id: newId(), name: "bob", guest: false, passwordHash: "h", createdAt: T0 });
          assert.equal(bob?.admin, false, "the data survived, not just the schema");
          await closeStore(again);
          const versions = await admin.query(`SELECT count(*)::int AS n FROM "${schema}".schema_migrations`);
          assert.equal(versions.rows[0].n, migrations.length);
        } finally {
          await dropSchema(schema);
        }
      });

      it("PgStore.open migrates before it resolves", async () => {
        const schema = schemaName();
        try {
          const s = await PgStore.open(DATABASE_URL, { schema, poolSize: 2 });
          open.add(s);
          const versions = await admin.query(`SELECT count(*)::int AS n FROM "${schema}".schema_migrations`);
          assert.equal(versions.rows[0].n, migrations.length);
          await closeStore(s);
        } finally {
          await dropSchema(schema);
        }
      });
    });

    describe("types", () => {
      it("sequence numbers, timestamps and counts come back as numbers", async () => {
        const { stores, cleanup } = await fresh();
        const s = stores[0]!;
        try {
          const alice = await account(s, "alice");
          const roomId = await room(s, "general", alice);
          const big = 8_000_000_000_000; // past 2^32, well within 2^53
          const { event } = await s.append(roomId, message(alice.id, "hi"), big);
          assert.ok(event.type === "message");
          assert.equal(typeof event.seq, "number");
          const stored = await s.getMessage(event.message.id);
          assert.equal(stored?.createdAt, big);
          assert.equal(typeof stored?.seq, "number");
          assert.equal(typeof (await s.getRoom(roomId))?.lastSeq, "number");
          assert.equal(typeof (await s.countAccounts()), "number");
          assert.equal(typeof (await s.listPublicRooms())[0]?.members, "number");
          assert.equal(typeof (await s.memberships(alice.id))[0]?.unread, "number");
        } finally {
          await cleanup();
        }
      });

      it("names sort byte-wise by their lower-cased key, as in SQLite", async () => {
        const { stores, cleanup } = await fresh();
        const s = stores[0]!;
        try {
          const alice = await account(s, "alice");
          for (const name of ["b-room", "alpha", "A_room", "Zeta", "a0"]) await room(s, name, alice);
          assert.deepEqual(
            (await s.listPublicRooms()).map((r) => r.name),
            ["a0", "A_room", "alpha", "b-room", "Zeta"],
          );
        } finally {
          await cleanup();
        }
      });

      it("a NUL character, which PostgreSQL text cannot hold, is refused as BAD_REQUEST and consumes no seq", async () => {
        const { stores, cleanup } = await fresh();
        const s = stores[0]!;
        try {
          const alice = await account(s, "alice");
          const roomId = await room(s, "general", alice);
          await assert.rejects(s.append(roomId, message(alice.id, "a\u0000b"), T0), (err: unknown) => {
            assert.ok(err instanceof ChatError);
            assert.equal(err.code, "BAD_REQUEST");
            return true;
          });
          assert.equal((await s.getRoom(roomId))?.lastSeq, 1);
        } finally {
          await cleanup();
        }
      });
    });

    describe("several processes", () => {
      it("concurrent appends from two instances to one room get contiguous, unique seqs", async () => {
        const { stores, cleanup } = await fresh(2);
        const [a, b] = stores as [PgStore, PgStore];
        try {
          const alice = await account(a, "alice");
          const bob = await account(a, "bob");
          const roomId = await room(a, "general", alice);
          const other = await room(b, "other", bob);
          const N = 300;
          const fromA: Promise<Appended>[] = [];
          const fromB: Promise<Appended>[] = [];
          const elsewhere: Promise<Appended>[] = [];
          for (let i = 0; i < N; i++) {
            fromA.push(
              a.append(
                roomId,
                i % 7 === 6 ? { type: "topic", actorId: alice.id, topic: `a${i}` } : message(alice.id, `a${i}`),
                T0 + i,
              ),
            );
            fromB.push(b.append(roomId, message(bob.id, `b${i}`, `b-${i}`), T0 + i));
            if (i % 3 === 0) elsewhere.push(b.append(other, message(bob.id, `o${i}`), T0 + i));
          }
          const [ra, rb, ro] = await Promise.all([Promise.all(fromA), Promise.all(fromB), Promise.all(elsewhere)]);
          const seqsA = ra.map((r) => r.event.seq);
          const seqsB = rb.map((r) => r.event.seq);
          assert.deepEqual(
            [...seqsA, ...seqsB].sort((x, y) => x - y),
            range(2, 2 * N + 1),
            "contiguous and unique",
          );
          assert.deepEqual(
            seqsA,
            [...seqsA].sort((x, y) => x - y),
            "one instance's appends keep their request order",
          );
          assert.deepEqual(
            seqsB,
            [...seqsB].sort((x, y) => x - y),
          );
          assert.ok([...ra, ...rb].every((r) => !r.duplicate));
          assert.deepEqual(
            ro.map((r) => r.event.seq),
            range(2, ro.length + 1),
          );
          assert.equal((await a.getRoom(roomId))?.lastSeq, 2 * N + 1);
          const events = await b.eventsAfter(roomId, 0, 10_000);
          assert.deepEqual(
            events.map((e) => e.seq),
            range(1, 2 * N + 1),
          );
        } finally {
          await cleanup();
        }
      });

      it("the same clientId sent through two instances at once creates one message", async () => {
        const { stores, cleanup } = await fresh(2);
        const [a, b] = stores as [PgStore, PgStore];
        try {
          const alice = await account(a, "alice");
          const roomId = await room(a, "general", alice);
          const second = await room(a, "second", alice);
          const N = 40;
          const jobs: Promise<Appended>[] = [];
          for (let i = 0; i < N; i++) {
            // Same room through both instances, and (odd i) the retry aimed at another room: one message either way.
            jobs.push(a.append(roomId, message(alice.id, `m${i}`, `c${i}`), T0));
            jobs.push(b.append(i % 2 ? second : roomId, message(alice.id, `m${i} retry`, `c${i}`), T0));
          }
          const results = await Promise.all(jobs);
          for (let i = 0; i < N; i++) {
            const pair = [results[2 * i]!, results[2 * i + 1]!];
            assert.equal(pair.filter((r) => !r.duplicate).length, 1, `c${i}: exactly one original`);
            const ids = pair.map((r) => (r.event.type === "message" ? r.event.message.id : ""));
            assert.equal(ids[0], ids[1], `c${i}: both report the same message`);
            assert.equal(pair[0]!.event.seq, pair[1]!.event.seq);
          }
          const stored = await admin.query(`SELECT count(*)::int AS n FROM "${a.schema}".messages`);
          assert.equal(stored.rows[0].n, N);
          const last = (await a.getRoom(roomId))!.lastSeq + (await a.getRoom(second))!.lastSeq;
          assert.equal(last, N + 2, "duplicates consumed no seq");
          const seqs = (await a.eventsAfter(roomId, 0, 1000)).map((e) => e.seq);
          assert.deepEqual(seqs, range(1, seqs.length), "no gap");
        } finally {
          await cleanup();
        }
      });

      it("an insert racing another process's uncommitted same clientId returns that message once it commits", async () => {
        const { schema, stores, cleanup } = await fresh();
        const s = stores[0]!;
        const raw = await admin.connect();
        try {
          const alice = await account(s, "alice");
          const roomId = await room(s, "general", alice);
          const elsewhere = await room(s, "elsewhere", alice);
          // "Another process": holds an uncommitted message with clientId "x" in another room.
          const otherId = newId();
          await raw.query("BEGIN");
          await raw.query(`UPDATE "${schema}".rooms SET last_seq = last_seq + 1 WHERE id = $1`, [elsewhere]);
          await raw.query(
            `INSERT INTO "${schema}".messages (room_id, seq, id, author_id, client_id, body, created_at) VALUES ($1, 2, $2, $3, 'x', 'first', $4)`,
            [elsewhere, otherId, alice.id, T0],
          );
          const racing = s.append(roomId, message(alice.id, "second", "x"), T0 + 1);
          const bystander = s.append(roomId, message(alice.id, "unrelated"), T0 + 2);
          await new Promise((r) => setTimeout(r, 200)); // the store's insert is now waiting on the unique index
          await raw.query("COMMIT");
          const res = await racing;
          assert.equal(res.duplicate, true);
          assert.ok(res.event.type === "message");
          assert.equal(res.event.message.id, otherId);
          assert.equal(res.event.message.body, "first");
          const by = await bystander;
          assert.equal(by.event.seq, 2, "the racing append consumed no seq");
          assert.equal((await s.getRoom(roomId))?.lastSeq, 2);

          // The same race when the other transaction rolls back: this insert goes through.
          await raw.query("BEGIN");
          await raw.query(
            `INSERT INTO "${schema}".messages (room_id, seq, id, author_id, client_id, body, created_at) VALUES ($1, 3, $2, $3, 'y', 'doomed', $4)`,
            [elsewhere, newId(), alice.id, T0],
          );
          const winner = s.append(roomId, message(alice.id, "mine", "y"), T0 + 3);
          await new Promise((r) => setTimeout(r, 200));
          await raw.query("ROLLBACK");
          const w = await winner;
          assert.equal(w.duplicate, false);
          assert.equal(w.event.seq, 3);
        } finally {
          await raw.query("ROLLBACK").catch(() => {});
          raw.release();
          await cleanup();
        }
      });

      it("two instances registering at once make exactly one admin", async () => {
        const { stores, cleanup } = await fresh(4);
        try {
          await Promise.all(stores.map((s) => s.migrate()));
          const made = await Promise.all(
            stores.flatMap((s, i) =>
              [0, 1, 2].map((j) =>
                s.createAccount({ id: newId(), name: `u${i}x${j}`, guest: false, passwordHash: "h", createdAt: T0 }),
              ),
            ),
          );
          assert.equal(made.filter((a) => a?.admin).length, 1);
          // And a contested name goes to one of them.
          const contested = await Promise.all(
            stores.map((s) => s.createAccount({ id: newId(), name: "Same", guest: false, passwordHash: "h", createdAt: T0 })),
          );
          assert.equal(contested.filter((a) => a !== null).length, 1);
        } finally {
          await cleanup();
        }
      });

      it("two instances creating the same room name at once: one gets it, the other null", async () => {
        const { stores, cleanup } = await fresh(3);
        try {
          const alice = await account(stores[0]!, "alice");
          const results = await Promise.all(
            stores.map((s) =>
              s.createRoom({ id: newId(), name: "General", kind: "public", topic: "", createdBy: alice.id, createdAt: T0 }, [
                { accountId: alice.id, role: "owner" },
              ]),
            ),
          );
          assert.equal(results.filter((r) => r !== null).length, 1);
          assert.equal((await stores[1]!.listPublicRooms()).length, 1);
        } finally {
          await cleanup();
        }
      });
    });

    describe("availability", () => {
      it("an unreachable database gives StoreUnavailableError, quickly, for reads, writes and appends", async () => {
        const port = await closedPort();
        const s = store(schemaName(), { connectionTimeoutMs: 2000 }, `postgres://postgres@127.0.0.1:${port}/test`);
        try {
          const started = Date.now();
          await rejectsUnavailable(s.getAccount("x"), "getAccount");
          await rejectsUnavailable(
            s.createAccount({ id: "x", name: "x", guest: true, passwordHash: null, createdAt: 0 }),
            "createAccount",
          );
          await rejectsUnavailable(s.append("r", message("a", "b"), 0), "append");
          await rejectsUnavailable(s.migrate(), "migrate");
          assert.ok(Date.now() - started < 5000, "failing fast");
        } finally {
          await closeStore(s);
        }
      });

      it("the pool recovers by itself when the database goes away and comes back", async () => {
        const proxy = await tcpProxy(new URL(DATABASE_URL), 5432);
        const schema = schemaName();
        const url = new URL(DATABASE_URL);
        url.hostname = "127.0.0.1";
        url.port = String(proxy.port);
        const s = store(schema, { connectionTimeoutMs: 1000 }, url.toString());
        try {
          const alice = await account(s, "alice");
          const roomId = await room(s, "general", alice);
          await s.append(roomId, message(alice.id, "before"), T0);

          await proxy.down();
          await rejectsUnavailable(s.getRoom(roomId), "read while down");
          await rejectsUnavailable(s.append(roomId, message(alice.id, "during"), T0), "append while down");
          await rejectsUnavailable(s.markRead(roomId, alice.id, 1), "write while down");

          await proxy.up();
          const after = await s.append(roomId, message(alice.id, "after"), T0);
          assert.equal(after.event.seq, 3, "the failed append consumed no seq");
          assert.equal((await s.getRoom(roomId))?.lastSeq, 3);
          assert.deepEqual(
            (await s.history(roomId, { limit: 10 })).messages.map((m) => m.body),
            ["before", "after"],
          );
        } finally {
          await proxy.up();
          await closeStore(s);
          await proxy.close();
          await dropSchema(schema);
        }
      });

      it("pooled connections that died unnoticed are replaced without failing the calls that find them", async () => {
        const proxy = await tcpProxy(new URL(DATABASE_URL), 5432);
        const schema = schemaName();
        const url = new URL(DATABASE_URL);
        url.hostname = "127.0.0.1";
        url.port = String(proxy.port);
        const s = store(schema, { connectionTimeoutMs: 1000 }, url.toString());
        try {
          const alice = await account(s, "alice");
          const roomId = await room(s, "general", alice);
          // Fill the pool with idle connections.
          await Promise.all(Array.from({ length: 4 }, () => s.getRoom(roomId)));
          // Cut them and use the store in the same tick, before the pool can hear of it.
          proxy.cut();
          assert.equal((await s.getRoom(roomId))?.lastSeq, 1, "a read");
          proxy.cut();
          assert.equal((await s.append(roomId, message(alice.id, "hi"), T0)).event.seq, 2, "an append");
          proxy.cut();
          assert.equal(await s.markRead(roomId, alice.id, 2), 2, "an idempotent write");
          proxy.cut();
          const guest = await s.createAccount({ id: newId(), name: "gus", guest: true, passwordHash: null, createdAt: T0 });
          assert.ok(guest, "a transaction");
        } finally {
          await closeStore(s);
          await proxy.close();
          await dropSchema(schema);
        }
      });

      it("a backend terminated by an administrator (57P01) mid-append fails that append as unavailable; the next works", async () => {
        const app = `parley-test-${randomBytes(4).toString("hex")}`;
        const { schema, stores, cleanup } = await fresh(1, { applicationName: app });
        const s = stores[0]!;
        const raw = await admin.connect();
        try {
          const alice = await account(s, "alice");
          const roomId = await room(s, "general", alice);
          const elsewhere = await room(s, "elsewhere", alice);
          // Make the store's append wait on a row lock, then terminate its backend.
          await raw.query("BEGIN");
          await raw.query(
            `INSERT INTO "${schema}".messages (room_id, seq, id, author_id, client_id, body, created_at) VALUES ($1, 9, $2, $3, 'x', 'held', $4)`,
            [elsewhere, newId(), alice.id, T0],
          );
          const stuck = s.append(roomId, message(alice.id, "stuck", "x"), T0);
          stuck.catch(() => {}); // it rejects while the test still awaits the termination; asserted below
          await new Promise((r) => setTimeout(r, 200));
          const killed = await admin.query(
            "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1",
            [app],
          );
          assert.ok(killed.rows[0].n >= 1);
          await rejectsUnavailable(stuck, "the append whose backend was terminated");
          await raw.query("ROLLBACK");
          const next = await s.append(roomId, message(alice.id, "next", "x"), T0);
          assert.equal(next.duplicate, false);
          assert.equal(next.event.seq, 2);
        } finally {
          await raw.query("ROLLBACK").catch(() => {});
          raw.release();
          await cleanup();
        }
      });

      it("close waits for queued appends, and later calls fail as unavailable", async () => {
        const { stores, cleanup } = await fresh();
        const s = stores[0]!;
        try {
          const alice = await account(s, "alice");
          const roomId = await room(s, "general", alice);
          const pending = Array.from({ length: 100 }, (_, i) => s.append(roomId, message(alice.id, `m${i}`), T0));
          await s.close();
          const done = await Promise.all(pending);
          assert.deepEqual(
            done.map((r) => r.event.seq),
            range(2, 101),
          );
          await rejectsUnavailable(s.append(roomId, message(alice.id, "late"), T0), "append after close");
          await rejectsUnavailable(s.getRoom(roomId), "read after close");
          await s.close(); // twice is harmless
        } finally {
          await cleanup();
        }
      });
    });
  });
}
