// bench:history's bulk generator (bench/seed.ts, Seeder.roomWithHistory) writes straight into the
// SQLite schema; the database it leaves must be what Parley itself would have written. Here the
// same room is written both ways, through the store's own appends and in bulk, and compared:
// schema, rows, sequence, the full-text index, history pages and search, and later appends.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { bulkBody, Seeder } from "../../bench/seed.ts";
import { newId } from "../../src/core/ids.ts";
import type { Id } from "../../src/core/types.ts";

const N = 3000;
const BYTES = 40;
const ROOM = "seed-test";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "parley-seed-test-"));
  dirs.push(d);
  return d;
}

/** The same room as roomWithHistory, written message by message through the store's append. */
async function throughStore(seeder: Seeder): Promise<Id> {
  const store = seeder.store;
  const now = Date.now();
  await seeder.accounts(`${ROOM}-author`, 1, { guest: true, tokens: false });
  const author = (await store.findGuest(`${ROOM}-author0`))!.id;
  const created = await store.createRoom(
    { id: newId(now), name: ROOM, kind: "public", topic: "", createdBy: author, createdAt: now },
    [{ accountId: author, role: "owner" }],
  );
  const roomId = created!.room.id;
  const appends: Promise<unknown>[] = [];
  for (let k = 0; k < N; k++) {
    const at = now - N + k + 1;
    const draft = {
      type: "message",
      id: newId(at),
      actorId: author,
      clientId: null,
      body: bulkBody(k, BYTES),
      replyTo: null,
    } as const;
    appends.push(store.append(roomId, draft, at));
  }
  await Promise.all(appends);
  // What the store does shortly after its commits (indexDelayMs): the index then holds them all.
  store.indexNow();
  return roomId;
}

/** What must be equal between the two databases (ids and wall-clock times differ by nature). */
function snapshot(seeder: Seeder, roomId: Id) {
  const db = seeder.store.db;
  const schema = db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").all();
  const messages = db
    .prepare(
      "SELECT seq, body, client_id, reply_to, edited_at, deleted, doc, created_at FROM messages WHERE room_id = ? ORDER BY seq",
    )
    .all(roomId) as { created_at: number }[];
  const t0 = messages[0]!.created_at;
  const events = db.prepare("SELECT seq, type FROM events WHERE room_id = ? ORDER BY seq").all(roomId);
  const room = db.prepare("SELECT last_seq FROM rooms WHERE id = ?").get(roomId);
  const ftsRows = db.prepare("SELECT COUNT(*) AS n FROM message_search WHERE message_search MATCH '\"xxx\"'").get();
  const idsAscending = db
    .prepare("SELECT COUNT(*) AS n FROM messages a JOIN messages b ON b.doc = a.doc + 1 WHERE b.id < a.id")
    .get();
  return {
    schema,
    messages: messages.map((m) => ({ ...m, created_at: m.created_at - t0 })),
    events,
    room,
    ftsRows,
    idsAscending,
    integrity: db.pragma("integrity_check"),
  };
}

describe("bench: bulk history generator", () => {
  it("writes the database the store's appends write", async () => {
    const bulk = new Seeder(join(tempDir(), "data"));
    const reference = new Seeder(join(tempDir(), "data"));
    try {
      let lastProgress = 0;
      const bulkRoom = await bulk.roomWithHistory(ROOM, N, BYTES, (done) => {
        lastProgress = done;
      });
      assert.equal(lastProgress, N);
      const refRoom = await throughStore(reference);

      const a = snapshot(bulk, bulkRoom);
      const b = snapshot(reference, refRoom);
      assert.deepEqual(a.schema, b.schema, "schema (tables, indexes, FTS table, triggers)");
      assert.equal(a.messages.length, N);
      assert.deepEqual(a.messages, b.messages);
      assert.deepEqual(a.events, b.events);
      assert.deepEqual(a.room, b.room);
      assert.deepEqual(a.ftsRows, { n: N });
      assert.deepEqual(a.ftsRows, b.ftsRows);
      assert.deepEqual(a.idsAscending, { n: 0 });
      assert.deepEqual(a.integrity, [{ integrity_check: "ok" }]);
      // The external-content FTS index matches the messages table exactly.
      bulk.store.db.exec("INSERT INTO message_search(message_search) VALUES ('integrity-check')");

      assert.deepEqual(bulk.checkGapFree(bulkRoom), reference.checkGapFree(refRoom));

      // Served the same: history pages and search.
      const page = async (s: Seeder, room: Id, before?: number) =>
        (await s.store.history(room, { before, limit: 100 })).messages.map((m) => [m.seq, m.body, m.author]);
      assert.deepEqual(await page(bulk, bulkRoom), await page(reference, refRoom));
      assert.deepEqual(await page(bulk, bulkRoom, 1234), await page(reference, refRoom, 1234));
      for (const term of ["#0#", "#1777#", `#${N - 1}#`, "#12"]) {
        const found = async (s: Seeder, room: Id) =>
          (await s.store.search([room], [term], { limit: 50 })).messages.map((m) => m.body);
        assert.deepEqual(await found(bulk, bulkRoom), await found(reference, refRoom), `search ${term}`);
      }
      assert.equal((await bulk.store.search([bulkRoom], ["#1777#"], { limit: 5 })).messages.length, 1);

      // The server's own writes carry on after the bulk load: next seq, next doc, indexed.
      const author = (await bulk.store.findGuest(`${ROOM}-author0`))!.id;
      const later = await bulk.store.append(
        bulkRoom,
        { type: "message", id: newId(), actorId: author, clientId: "later", body: "written later by the store", replyTo: null },
        Date.now(),
      );
      assert.equal(later.event.seq, N + 2);
      assert.equal((await bulk.store.search([bulkRoom], ["later by the"], { limit: 5 })).messages.length, 1);
      bulk.checkGapFree(bulkRoom);
    } finally {
      await bulk.close();
      await reference.close();
    }
  });

  it("checkGapFree reports a missing seq", async () => {
    const seeder = new Seeder(join(tempDir(), "data"));
    try {
      const room = await seeder.roomWithHistory(ROOM, 100, BYTES, () => {});
      seeder.store.db.prepare("DELETE FROM messages WHERE room_id = ? AND seq = 50").run(room);
      assert.throws(() => seeder.checkGapFree(room), /not gap-free/);
    } finally {
      await seeder.close();
    }
  });
});
