// Fills a Parley data directory before the server starts, in big transactions: through the SQLite
// store itself (the same statements the server uses) accounts that are already members of #lobby
// (so connecting them appends nothing) and session tokens; long message histories straight into
// the store's schema (test/bench/seed.test.ts checks the result against the store's own appends).

import { join } from "node:path";
import { hashToken, newId, newToken } from "../src/core/ids.ts";
import type { Id } from "../src/core/types.ts";
import { SqliteStore } from "../src/store/sqlite/index.ts";

/** The store's append queue commits everything queued in one event-loop turn as one transaction. */
const BATCH = 10_000;
/** Rows per transaction of the bulk message load. */
const BULK = 100_000;

/** The body of bulk message `k` (0-based): `#k#`, padded with "x" to `bytes`. */
export function bulkBody(k: number, bytes: number): string {
  const head = `#${k}#`;
  return head.length >= bytes ? head : head + "x".repeat(bytes - head.length);
}

export class Seeder {
  readonly store: SqliteStore;
  private readonly now = Date.now();

  constructor(dataDir: string) {
    this.store = new SqliteStore({ path: join(dataDir, "parley.db") });
  }

  /** #lobby as the server creates it on its first start. */
  async lobby(): Promise<Id> {
    const found = await this.store.findRoom("lobby");
    if (found) return found.id;
    const created = await this.store.createRoom(
      { id: newId(this.now), name: "lobby", kind: "public", topic: "Welcome to Parley", createdBy: "", createdAt: this.now },
      [],
    );
    if (!created) throw new Error("could not create #lobby");
    return created.room.id;
  }

  /**
   * Accounts `<prefix><i>` for i in [0, n), members of #lobby; guests take no password. With
   * `tokens`, each (registered) account gets a session and the tokens are returned in order.
   */
  async accounts(prefix: string, n: number, opts: { guest: boolean; tokens: boolean }): Promise<string[]> {
    const lobby = await this.lobby();
    const tokens: string[] = [];
    for (let b = 0; b < n; b += BATCH) {
      const ids: Id[] = [];
      for (let i = b; i < Math.min(n, b + BATCH); i++) ids.push(newId(this.now));
      const made = await Promise.all(
        ids.map((id, k) =>
          this.store.createAccount({
            id,
            name: `${prefix}${b + k}`,
            guest: opts.guest,
            passwordHash: opts.guest ? null : "not-a-hash: log in by token only",
            createdAt: this.now,
          }),
        ),
      );
      if (made.some((a) => a === null)) throw new Error(`seed: an account named ${prefix}… exists already`);
      await Promise.all(
        ids.map((id) => this.store.append(lobby, { type: "member", actorId: id, accountId: id, change: "join" }, this.now)),
      );
      if (opts.tokens) {
        for (const id of ids) {
          const token = newToken();
          tokens.push(token);
          await this.store.createSession({
            tokenHash: hashToken(token),
            accountId: id,
            createdAt: this.now,
            expiresAt: this.now + 86_400_000,
          });
        }
      }
    }
    return tokens;
  }

  /**
   * A public room with `n` messages of `bodyBytes` by one author, written straight into the
   * store's schema: prepared INSERTs in transactions of BULK rows, each row what the store's
   * append writes for a message (the next seq of the room, the next doc, the same columns), and
   * the full-text index filled once at the end by the store's own indexing instead of
   * shortly after each commit. About ten times the store's append
   * rate. Message k's body is `#k#` padded with "x", so a search for `#k#` finds exactly it.
   * Calls `progress` after each transaction.
   */
  async roomWithHistory(name: string, n: number, bodyBytes: number, progress: (done: number) => void): Promise<Id> {
    await this.accounts(`${name}-author`, 1, { guest: true, tokens: false });
    const author = (await this.store.findGuest(`${name}-author0`))?.id;
    if (!author) throw new Error("seed: the author account is missing");
    const created = await this.store.createRoom(
      { id: newId(this.now), name, kind: "public", topic: "", createdBy: author, createdAt: this.now },
      [{ accountId: author, role: "owner" }],
    );
    if (!created) throw new Error(`seed: room ${name} exists already`);
    const roomId = created.room.id;
    const db = this.store.db;
    const insert = db.prepare(`INSERT INTO messages (room_id, seq, id, author_id, client_id, body, reply_to, created_at, doc)
      VALUES (?, ?, ?, ?, NULL, ?, NULL, ?, ?)`);
    const setLastSeq = db.prepare("UPDATE rooms SET last_seq = ? WHERE id = ?");
    let seq = (db.prepare("SELECT last_seq FROM rooms WHERE id = ?").get(roomId) as { last_seq: number }).last_seq;
    let doc = (db.prepare("SELECT COALESCE(MAX(doc), 0) AS doc FROM messages").get() as { doc: number }).doc;
    const start = this.now - n; // one message a millisecond, ending now
    const writeBatch = db.transaction((from: number, to: number) => {
      for (let k = from; k < to; k++) {
        const at = start + k + 1;
        insert.run(roomId, ++seq, newId(at), author, bulkBody(k, bodyBytes), at, ++doc);
      }
      setLastSeq.run(seq, roomId);
    });
    db.pragma("cache_size = -262144"); // 256 MiB of page cache while loading; the server sets its own
    try {
      for (let b = 0; b < n; b += BULK) {
        writeBatch(b, Math.min(n, b + BULK));
        progress(Math.min(n, b + BULK));
      }
    } finally {
      // What the store does a little after its commits, once for the whole load.
      this.store.indexNow();
    }
    return roomId;
  }

  /**
   * Checks that room `roomId`'s sequence has no gap: its messages and events (joins) together hold
   * every seq from 1 to `rooms.last_seq` exactly once. Returns the seq of its last message; throws
   * what is wrong.
   */
  checkGapFree(roomId: Id): { lastSeq: number; messages: number; events: number } {
    const db = this.store.db;
    const { last_seq: roomSeq } = db.prepare("SELECT last_seq FROM rooms WHERE id = ?").get(roomId) as { last_seq: number };
    const range = "SELECT COUNT(*) AS n, MIN(seq) AS lo, MAX(seq) AS hi FROM";
    type Range = { n: number; lo: number | null; hi: number | null };
    const m = db.prepare(`${range} messages WHERE room_id = ?`).get(roomId) as Range;
    const e = db.prepare(`${range} events WHERE room_id = ?`).get(roomId) as Range;
    const { n: shared } = db
      .prepare(
        "SELECT COUNT(*) AS n FROM events e JOIN messages m ON m.room_id = e.room_id AND m.seq = e.seq WHERE e.room_id = ?",
      )
      .get(roomId) as { n: number };
    const ok =
      shared === 0 && m.n + e.n === roomSeq && Math.min(m.lo ?? 1, e.lo ?? 1) >= 1 && Math.max(m.hi ?? 0, e.hi ?? 0) === roomSeq;
    if (!ok) {
      throw new Error(
        `seq of room ${roomId} is not gap-free: last_seq ${roomSeq}, messages ${JSON.stringify(m)}, events ${JSON.stringify(e)}, shared ${shared}`,
      );
    }
    return { lastSeq: m.hi ?? 0, messages: m.n, events: e.n };
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
