// The SQLite store's read path for pages of messages: `history` and the messages of `eventsAfter`.
//
// A page is one range scan of messages' primary key (room_id, seq). What makes it cheap at 100
// rows (measured on a 10-million-message room: docs/benchmarks.md, "Session 4"):
// - raw rows (arrays), not one object per row with a property per column: better-sqlite3 spent
//   about as long building those objects as SQLite spent finding the rows;
// - only the columns a Message needs (room_id is the argument);
// - author names from AccountNames (names.ts), not joined per row (a page usually has a few
//   authors; the join cost an index probe and a string per row). They are current names, so a
//   renamed guest shows under the current name as the join did (accounts are never deleted; a
//   missing one would give an empty name, where the join dropped the row);
// - reactions fetched for the page's ids in one statement (most pages have none).
//
// The newest page of a room is what every client asks for when it opens the room, so the
// newest NEWEST messages of recently read rooms are kept (see `newest`), valid while nothing is
// written: every event in a room (message, edit, deletion, reaction, topic, membership) takes
// the room's next seq, so a cached page whose room still has the same last_seq is current.
// Names can change without an event (a guest's rename): `renamed` drops every cached page.
// Another process writing to the file (the admin command) changes PRAGMA data_version, which
// drops them too. Reads inside a write transaction bypass the cache, so nothing uncommitted is
// ever cached.

import type Database from "better-sqlite3";
import type { HistoryPage, Id, Message } from "../../core/types.ts";
import type { AccountNames } from "./names.ts";

/** Columns of a raw history row, in order. */
const COLUMNS = "seq, id, author_id, client_id, body, reply_to, created_at, edited_at, deleted";
type RawRow = [
  seq: number,
  id: string,
  authorId: string,
  clientId: string | null,
  body: string,
  replyTo: string | null,
  createdAt: number,
  editedAt: number | null,
  deleted: number,
];

/** Messages kept per room: the newest page the web and terminal clients ask for when they open a room. */
export const NEWEST = 50;
/** Rooms whose newest page is kept, least recently read dropped first (~25 KB each). */
export const NEWEST_ROOMS = 256;

interface Newest {
  lastSeq: number;
  dataVersion: number;
  /** The room's NEWEST newest messages, frozen: every reader gets the same objects. */
  page: HistoryPage;
}

export class HistoryReader {
  /** Newest pages by room id, in order of last use (a Map iterates in insertion order). */
  private readonly newest = new Map<Id, Newest>();
  private readonly lastSeq: Database.Statement;
  private readonly before: Database.Statement;
  private readonly after: Database.Statement;
  private readonly reactions: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly names: AccountNames,
  ) {
    this.lastSeq = db.prepare("SELECT last_seq FROM rooms WHERE id = ?").pluck(true);
    this.before = db.prepare(`SELECT ${COLUMNS} FROM messages WHERE room_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`).raw(true);
    this.after = db.prepare(`SELECT ${COLUMNS} FROM messages WHERE room_id = ? AND seq > ? ORDER BY seq ASC LIMIT ?`).raw(true);
    // The page's reactions, probed by message id (a JSON array: one statement for any page
    // size), in the order they were given, which is the order Message.reactions lists names in.
    this.reactions = db
      .prepare(
        `SELECT r.message_id, r.emoji, a.name FROM reactions r JOIN accounts a ON a.id = r.account_id
          WHERE r.message_id IN (SELECT value FROM json_each(?)) ORDER BY r.created_at, a.name_key`,
      )
      .raw(true);
  }

  /** The page the Store's `history` returns: oldest first, `more` when the scan found a row beyond `limit`. */
  page(roomId: Id, q: { before?: number; after?: number; limit: number }): HistoryPage {
    const dataVersion = this.names.check();
    if (q.before === undefined && q.after === undefined && q.limit <= NEWEST && !this.db.inTransaction) {
      const { messages, more } = this.newestPage(roomId, dataVersion);
      if (messages.length <= q.limit) return { messages: messages.slice(), more };
      return { messages: messages.slice(messages.length - q.limit), more: true };
    }
    return this.scan(roomId, q);
  }

  /** Account names changed: cached pages may show old names. */
  renamed(): void {
    this.newest.clear();
  }

  /** The room's newest NEWEST messages, from the cache when still current. */
  private newestPage(roomId: Id, dataVersion: number): HistoryPage {
    const lastSeq = this.lastSeq.get(roomId) as number | undefined;
    if (lastSeq === undefined) return this.scan(roomId, { limit: NEWEST }); // no such room: nothing to keep
    const hit = this.newest.get(roomId);
    if (hit) {
      this.newest.delete(roomId);
      if (hit.lastSeq === lastSeq && hit.dataVersion === dataVersion) {
        this.newest.set(roomId, hit);
        return hit.page;
      }
    }
    // last_seq and data_version were read before the page: whatever commits in between changes
    // one of them, so this page is replaced at the next read rather than served as current.
    const page = this.scan(roomId, { limit: NEWEST });
    for (const m of page.messages) {
      for (const names of Object.values(m.reactions)) Object.freeze(names);
      Object.freeze(m.reactions);
      Object.freeze(m);
    }
    Object.freeze(page.messages);
    this.newest.set(roomId, { lastSeq, dataVersion, page });
    if (this.newest.size > NEWEST_ROOMS) this.newest.delete(this.newest.keys().next().value!);
    return page;
  }

  private scan(roomId: Id, q: { before?: number; after?: number; limit: number }): HistoryPage {
    const older = q.after === undefined;
    const rows = (
      older
        ? this.before.all(roomId, q.before ?? Number.MAX_SAFE_INTEGER, q.limit + 1)
        : this.after.all(roomId, q.after, q.limit + 1)
    ) as RawRow[];
    const more = rows.length > q.limit;
    if (more) rows.pop(); // the extra row is the last in scan order, whichever way it went
    if (older) rows.reverse();
    return { messages: this.messages(roomId, rows), more };
  }

  /** Messages with seq > afterSeq, oldest first, at most `limit`, in their current state. */
  afterSeq(roomId: Id, afterSeq: number, limit: number): Message[] {
    this.names.check();
    return this.messages(roomId, this.after.all(roomId, afterSeq, limit) as RawRow[]);
  }

  /** Rows in ascending seq order → Messages with their authors' names and reactions. */
  private messages(roomId: Id, rows: RawRow[]): Message[] {
    if (rows.length === 0) return [];
    const out: Message[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      const authorId = r[2];
      const author = this.names.get(authorId);
      out[i] = {
        id: r[1],
        roomId,
        seq: r[0],
        authorId,
        author,
        clientId: r[3],
        body: r[4],
        replyTo: r[5],
        createdAt: r[6],
        editedAt: r[7],
        deleted: r[8] === 1,
        reactions: {},
      };
    }
    return this.withReactions(out);
  }

  /** Fills in the reactions of these messages (read with empty `reactions`); returns them. */
  withReactions(messages: Message[]): Message[] {
    if (messages.length === 0) return messages;
    const rows = this.reactions.all(JSON.stringify(messages.map((m) => m.id))) as [Id, string, string][];
    if (rows.length === 0) return messages;
    const byId = new Map(messages.map((m) => [m.id, m]));
    for (const [messageId, emoji, name] of rows) {
      const m = byId.get(messageId);
      if (!m) continue;
      const names = m.reactions[emoji];
      if (names) names.push(name);
      else m.reactions[emoji] = [name];
    }
    return messages;
  }
}
