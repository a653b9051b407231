// The embedded default Store: one SQLite file in WAL mode through better-sqlite3.
//
// Appends are group-committed: every append requested during one event-loop turn goes into one
// transaction, and all of their promises resolve after that transaction commits. One failing
// append fails only itself: the batch is first run without savepoints (they cost ~10% of an
// append), and if an append throws, the transaction is rolled back and run again with each
// append in its own savepoint.
//
// New messages enter the full-text index shortly after their commit (`indexDelayMs`), many
// commits' worth in one statement and its own transaction: per message that costs about half of
// indexing each commit's few messages. `search_state.indexed_doc` says how far the index goes;
// a search, an edit or deletion (whose trigger expects the message indexed) and opening the
// store (after a crash) first index whatever is pending, so a committed message is always found.
//
// Commits start at most once per `commitWindowMs`: an append that comes sooner after the last
// commit waits for the rest of the window, so under load a commit holds many appends. Much of a
// commit's cost is per commit, not per append (the room rows, index pages and full-text segment
// written to the WAL, and the checkpoints that follow), and each commit becomes one socket write
// per member it reaches. An append after a quiet spell commits at once (at the end of the turn).
//
// With `checkpointEveryMs` the WAL is checkpointed from a worker thread (checkpointer.ts) rather
// than by whichever commit crosses SQLite's threshold.
//
// With WAL and synchronous=NORMAL a committed transaction survives the process being killed; only
// an OS crash or power loss can lose the last commits (set `synchronous: "FULL"` to close that
// window at some cost in throughput).

import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { ChatError, StoreUnavailableError } from "../../core/errors.ts";
import { nameKey } from "../../core/names.ts";
import type { Appended, NewAccount, NewRoom, Store } from "../../core/ports.ts";
import { likePattern } from "../../core/search.ts";
import type {
  Account,
  EventDraft,
  HistoryPage,
  Id,
  Member,
  MemberChange,
  Membership,
  Message,
  Role,
  Room,
  RoomEvent,
  SearchCursor,
  SearchPage,
  Session,
  StoredAccount,
} from "../../core/types.ts";
import { messageEvent, newMessageEvent, type Row, toAccount, toEvent, toMember, toMessage, toRoom } from "../rows.ts";
import { Checkpointer } from "./checkpointer.ts";
import { HistoryReader } from "./history.ts";
import { migrations } from "./migrations.ts";
import { AccountNames } from "./names.ts";

interface Pending {
  roomId: Id;
  draft: EventDraft;
  at: number;
  resolve: (a: Appended) => void;
  reject: (e: unknown) => void;
}

/** Unread counts stop at this many: counting a huge backlog would cost more than it tells. */
export const UNREAD_CAP = 1000;

const MESSAGE_COLUMNS = `m.room_id, m.seq, m.id, m.author_id, a.name AS author, m.client_id, m.body, m.reply_to,
  m.created_at, m.edited_at, m.deleted`;
const SEARCH_FILTER = `m.room_id IN (SELECT value FROM json_each(@rooms)) AND m.deleted = 0
  AND NOT EXISTS (SELECT 1 FROM json_each(@likes) p WHERE m.body NOT LIKE p.value ESCAPE '\\')
  AND (m.created_at < @at OR (m.created_at = @at AND m.id < @id))
  ORDER BY m.created_at DESC, m.id DESC LIMIT @limit`;
const ROOM_COLUMNS = "id, name, kind, topic, created_by, created_at, last_seq";

export interface SqliteOptions {
  /** A file path, or ":memory:". */
  path: string;
  synchronous?: "NORMAL" | "FULL";
  /** Least time between the starts of two group commits (default 0: one per event-loop turn). */
  commitWindowMs?: number;
  /** How long after a commit its messages wait to be indexed for search with later ones (default 100). */
  indexDelayMs?: number;
  /**
   * Checkpoint the WAL from a worker thread this often (ms); 0 (the default) leaves it to SQLite's
   * automatic checkpoints, run inside the commit that crosses 1,000 pages. Files only.
   */
  checkpointEveryMs?: number;
}

/**
 * With the worker checkpointing, the writer still checkpoints past this many WAL pages (~80 MiB):
 * only if the worker falls far behind or fails.
 */
const BACKSTOP_CHECKPOINT_PAGES = 20_000;

type Result = { ok: true; value: Appended } | { ok: false; error: unknown };

export class SqliteStore implements Store {
  readonly db: Database.Database;
  private queue: Pending[] = [];
  private flushScheduled = false;
  private readonly commitWindowMs: number;
  /** When the last group commit started (performance.now()); -Infinity before the first. */
  private lastCommitAt = Number.NEGATIVE_INFINITY;
  private readonly flushNow = () => this.flush();
  private readonly s: ReturnType<typeof prepare>;
  private readonly reader: HistoryReader;
  private readonly appendOne: (p: Pending) => Appended;
  private readonly indexDelayMs: number;
  /** Set while committed messages wait to be indexed for search. */
  private indexTimer: NodeJS.Timeout | null = null;
  private readonly indexInTransaction: () => void;
  private readonly checkpointer: Checkpointer | null = null;
  private readonly names: AccountNames;
  private readonly numbers: Numbering;

  constructor(opts: SqliteOptions) {
    if (opts.path !== ":memory:") mkdirSync(dirname(opts.path), { recursive: true });
    this.db = new Database(opts.path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma(`synchronous = ${opts.synchronous ?? "NORMAL"}`);
    this.db.pragma("busy_timeout = 5000");
    this.db.pragma("foreign_keys = ON");
    this.commitWindowMs = opts.commitWindowMs ?? 0;
    migrate(this.db);
    this.s = prepare(this.db);
    this.names = new AccountNames(this.db);
    this.numbers = new Numbering(this.s);
    this.reader = new HistoryReader(this.db, this.names);
    this.appendOne = this.db.transaction((p: Pending) => this.applyDraft(p.roomId, p.draft, p.at));
    this.indexDelayMs = opts.indexDelayMs ?? 100;
    this.indexInTransaction = this.db.transaction(() => this.indexPending());
    // Messages committed by a process that died before indexing them.
    this.indexInTransaction();
    if (opts.checkpointEveryMs && opts.path !== ":memory:") {
      this.db.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
      // After a backstop checkpoint, the WAL file is cut back to 64 MiB.
      this.db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
      this.checkpointer = new Checkpointer(opts.path, opts.checkpointEveryMs);
    }
  }

  // ---- accounts ----

  async createAccount(a: NewAccount): Promise<Account | null> {
    return this.write(() =>
      this.db.transaction(() => {
        // A guest may not take a registered name (the port's rule); a registered account may take a guest's.
        if (a.guest && this.s.accountByName.get(nameKey(a.name), 0) !== undefined) return null;
        const admin = !a.guest && this.s.anyRegistered.get() === undefined;
        const r = this.s.insertAccount.run(
          a.id,
          a.name,
          nameKey(a.name),
          a.guest ? 1 : 0,
          admin ? 1 : 0,
          a.passwordHash,
          a.createdAt,
        );
        if (r.changes === 0) return null;
        return { id: a.id, name: a.name, guest: a.guest, admin, createdAt: a.createdAt };
      })(),
    );
  }

  async getAccount(id: Id): Promise<StoredAccount | null> {
    return toAccount(this.s.accountById.get(id) as Row | undefined);
  }

  async findAccount(name: string): Promise<StoredAccount | null> {
    return toAccount(this.s.accountByName.get(nameKey(name), 0) as Row | undefined);
  }

  async findGuest(name: string): Promise<Account | null> {
    return toAccount(this.s.accountByName.get(nameKey(name), 1) as Row | undefined);
  }

  async renameGuest(id: Id, name: string): Promise<boolean> {
    return this.write(() => {
      const taken = this.s.accountByName.get(nameKey(name), 1) as Row | undefined;
      if (taken && taken.id !== id) return false;
      if (this.s.renameGuest.run(name, nameKey(name), id).changes === 0) return false;
      this.reader.renamed(); // history pages show authors' current names
      this.names.forget(id);
      return true;
    });
  }

  async setPassword(id: Id, passwordHash: string, changedAt: number): Promise<void> {
    this.write(() => this.s.setPassword.run(passwordHash, changedAt, id));
  }

  async countAccounts(): Promise<number> {
    return (this.s.countAccounts.get() as { n: number }).n;
  }

  // ---- sessions ----

  async createSession(s: Session): Promise<void> {
    this.write(() => this.s.insertSession.run(s.tokenHash, s.accountId, s.createdAt, s.expiresAt));
  }

  async getSession(tokenHash: string): Promise<Session | null> {
    const r = this.s.session.get(tokenHash) as Row | undefined;
    if (!r) return null;
    return {
      tokenHash: r.token_hash as string,
      accountId: r.account_id as Id,
      createdAt: r.created_at as number,
      expiresAt: r.expires_at as number,
    };
  }

  async deleteSession(tokenHash: string): Promise<void> {
    this.write(() => this.s.deleteSession.run(tokenHash));
  }

  async deleteSessionsOf(accountId: Id): Promise<void> {
    this.write(() => this.s.deleteSessionsOf.run(accountId));
  }

  // ---- rooms and members ----

  async createRoom(r: NewRoom, members: { accountId: Id; role: Role }[]): Promise<{ room: Room; events: RoomEvent[] } | null> {
    return this.write(() => {
      const created = this.db.transaction(() => {
        if (this.s.insertRoom.run(r.id, r.name, nameKey(r.name), r.kind, r.topic, r.createdBy, r.createdAt).changes === 0) {
          return null;
        }
        this.numbers.begin(this.names.check());
        const events = members.map((m) =>
          this.applyDraft(
            r.id,
            { type: "member", actorId: r.createdBy, accountId: m.accountId, change: "join", role: m.role },
            r.createdAt,
          ),
        );
        this.numbers.save();
        return { room: toRoom(this.s.roomById.get(r.id) as Row), events: events.map((e) => e.event) };
      })();
      if (created) this.numbers.committed();
      return created;
    });
  }

  async getRoom(id: Id): Promise<Room | null> {
    const r = this.s.roomById.get(id) as Row | undefined;
    return r ? toRoom(r) : null;
  }

  async findRoom(name: string): Promise<Room | null> {
    const r = this.s.roomByName.get(nameKey(name)) as Row | undefined;
    return r ? toRoom(r) : null;
  }

  async listPublicRooms(): Promise<(Room & { members: number })[]> {
    return (this.s.publicRooms.all() as Row[]).map((r) => ({ ...toRoom(r), members: r.members as number }));
  }

  async getMember(roomId: Id, accountId: Id): Promise<Member | null> {
    const r = this.s.member.get(roomId, accountId) as Row | undefined;
    return r ? toMember(r) : null;
  }

  async listMembers(roomId: Id): Promise<Member[]> {
    return (this.s.members.all(roomId) as Row[]).map(toMember);
  }

  async memberships(accountId: Id): Promise<Membership[]> {
    return (this.s.memberships.all(accountId) as Row[]).map((r) => ({
      room: toRoom(r),
      role: r.role as Role,
      muted: r.muted === 1,
      readSeq: r.read_seq as number,
      unread: r.unread as number,
    }));
  }

  async isBanned(roomId: Id, accountId: Id): Promise<boolean> {
    return this.s.banned.get(roomId, accountId) !== undefined;
  }

  async listBans(roomId: Id): Promise<{ accountId: Id; name: string }[]> {
    return (this.s.bansOf.all(roomId) as Row[]).map((r) => ({ accountId: r.account_id as Id, name: r.name as string }));
  }

  async isInvited(roomId: Id, accountId: Id): Promise<boolean> {
    return this.s.invited.get(roomId, accountId) !== undefined;
  }

  async markRead(roomId: Id, accountId: Id, seq: number): Promise<number> {
    return this.write(() => {
      const r = this.s.markRead.get(seq, roomId, accountId) as { read_seq: number } | undefined;
      if (!r) throw new ChatError("NOT_MEMBER");
      return r.read_seq;
    });
  }

  // ---- the log ----

  append(roomId: Id, draft: EventDraft, at: number): Promise<Appended> {
    return new Promise((resolve, reject) => {
      this.queue.push({ roomId, draft, at, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        const wait = this.lastCommitAt + this.commitWindowMs - performance.now();
        if (wait > 0) setTimeout(this.flushNow, wait);
        else setImmediate(this.flushNow);
      }
    });
  }

  async getMessage(id: Id): Promise<Message | null> {
    const r = this.s.messageById.get(id) as Row | undefined;
    return r ? this.reader.withReactions([toMessage(r)])[0]! : null;
  }

  async history(roomId: Id, q: { before?: number; after?: number; limit: number }): Promise<HistoryPage> {
    return this.reader.page(roomId, q);
  }

  async seqAt(roomId: Id, at: number): Promise<number> {
    const r = this.s.seqAt.get(roomId, at) as { seq: number } | undefined;
    return r?.seq ?? 0;
  }

  async search(roomIds: Id[], terms: string[], q: { before?: SearchCursor; limit: number }): Promise<SearchPage> {
    if (roomIds.length === 0) return { messages: [], more: false };
    const indexed = terms.filter((t) => [...t].length >= 3);
    // Every committed message must be found, including those still waiting for the index.
    if (indexed.length > 0) this.indexNow();
    const params = {
      rooms: JSON.stringify(roomIds),
      likes: JSON.stringify(terms.filter((t) => [...t].length < 3).map(likePattern)),
      at: q.before?.at ?? Number.MAX_SAFE_INTEGER,
      id: q.before?.id ?? "",
      limit: q.limit + 1,
    };
    const rows = (
      indexed.length > 0
        ? this.s.searchIndexed.all({ ...params, match: indexed.map(ftsPhrase).join(" AND ") })
        : this.s.searchScan.all(params)
    ) as Row[];
    const more = rows.length > q.limit;
    if (more) rows.pop();
    return { messages: this.reader.withReactions(rows.map(toMessage)), more };
  }

  async eventsAfter(roomId: Id, afterSeq: number, limit: number): Promise<RoomEvent[]> {
    const messages = this.reader.afterSeq(roomId, afterSeq, limit);
    const others = this.s.eventsAfter.all(roomId, afterSeq, limit) as Row[];
    const out: RoomEvent[] = [];
    let i = 0;
    let j = 0;
    while (out.length < limit && (i < messages.length || j < others.length)) {
      const m = messages[i];
      const o = others[j];
      if (m && (!o || m.seq < (o.seq as number))) {
        out.push(messageEvent(m));
        i++;
      } else if (o) {
        out.push(toEvent(o));
        j++;
      }
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.queue.length > 0) this.flush();
    if (this.db.open) this.indexNow();
    // The worker's connection first: the last connection to close checkpoints and removes the WAL.
    await this.checkpointer?.stop();
    this.db.close();
  }

  /** Indexes every committed message that is not yet in the search index (bulk loaders call this too). */
  indexNow(): void {
    if (this.indexTimer) clearTimeout(this.indexTimer);
    this.indexTimer = null;
    this.write(this.indexInTransaction);
  }

  // ---- internals ----

  /** Runs every queued append in one transaction, then settles their promises in order. */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    this.lastCommitAt = performance.now();
    let results: Result[];
    try {
      try {
        results = this.commitBatch(batch, false);
      } catch (error) {
        if (isUnavailable(error)) throw error;
        // An append failed and took the transaction with it: again, each append on its own.
        results = this.commitBatch(batch, true);
      }
    } catch (error) {
      const e = isUnavailable(error) ? new StoreUnavailableError(error) : error;
      for (const p of batch) p.reject(e);
      return;
    }
    if (this.indexTimer === null && results.some((r) => r.ok && r.value.event.type === "message")) {
      this.indexTimer = setTimeout(() => this.indexLater(), this.indexDelayMs);
      this.indexTimer.unref();
    }
    batch.forEach((p, i) => {
      const r = results[i]!;
      if (r.ok) p.resolve(r.value);
      else p.reject(r.error);
    });
  }

  /**
   * One transaction for the whole batch. Not `isolated`: an append that throws aborts the
   * transaction (the caller runs the batch again isolated). `isolated`: each append runs in a
   * savepoint, and one that throws is rolled back alone and reported in its result.
   */
  private commitBatch(batch: Pending[], isolated: boolean): Result[] {
    const results: Result[] = [];
    this.db.transaction(() => {
      this.numbers.begin(this.names.check());
      for (const p of batch) {
        // Edits and deletions change the index through a trigger that expects the message in it.
        if (p.draft.type === "edit" || p.draft.type === "delete") this.indexPending();
        if (!isolated) {
          results.push({ ok: true, value: this.applyDraft(p.roomId, p.draft, p.at) });
          continue;
        }
        try {
          results.push({ ok: true, value: this.appendOne(p) });
        } catch (error) {
          if (isUnavailable(error)) throw error;
          results.push({ ok: false, error });
        }
      }
      this.numbers.save();
    })();
    this.numbers.committed();
    return results;
  }

  /** The timer's indexing: a failure (disk full) leaves the messages pending for the next try. */
  private indexLater(): void {
    this.indexTimer = null;
    if (!this.db.open) return;
    try {
      this.indexInTransaction();
    } catch {
      // Search, the next edit or the next open index them; so does the next commit's timer.
    }
  }

  /** Inside a transaction: adds the messages committed after the index's last doc to it. */
  private indexPending(): void {
    const { indexed_doc: indexed } = this.s.indexedDoc.get() as { indexed_doc: number };
    const { doc: last } = this.s.lastDoc.get() as { doc: number };
    if (last <= indexed) return;
    this.s.indexMessages.run(indexed);
    this.s.setIndexedDoc.run(last);
  }

  /**
   * Inside a transaction: assigns the room's next sequence number (taken once the event is
   * applied, so one that throws or is a duplicate consumes none) and applies the event.
   */
  private applyDraft(roomId: Id, d: EventDraft, at: number): Appended {
    if (d.type === "message" && d.replyTo !== null && this.s.messageInRoom.get(d.replyTo, roomId) === undefined) {
      throw new ChatError("NO_SUCH_MESSAGE", "the message replied to is not in this room");
    }
    const seq = this.numbers.next(roomId);
    const actor = this.names.get(d.actorId);
    const base = { roomId, seq, at, actorId: d.actorId, actor };
    const appended = this.applyEvent(base, d);
    if (!appended.duplicate) this.numbers.take(roomId, seq);
    return appended;
  }

  private applyEvent(base: Omit<RoomEvent, "type">, d: EventDraft): Appended {
    const { roomId, seq, at, actor } = base;
    switch (d.type) {
      case "message": {
        // The unique (author, client id) index is the duplicate check: a send retried with the
        // same client id inserts nothing, and the message already stored is the answer.
        const doc = this.numbers.nextDoc();
        const inserted = this.s.insertMessage.run(roomId, seq, d.id, d.actorId, d.clientId, d.body, d.replyTo, at, doc);
        if (inserted.changes === 0) {
          const dup = this.s.messageByClient.get(d.actorId, d.clientId) as Row;
          return { event: messageEvent(this.reader.withReactions([toMessage(dup)])[0]!), duplicate: true };
        }
        this.numbers.takeDoc(doc);
        return { event: newMessageEvent(d, roomId, seq, actor, at), duplicate: false };
      }
      case "edit":
        this.mustChange(this.s.editMessage.run(d.body, at, d.messageId, roomId));
        return this.logged(base, { type: "edit", messageId: d.messageId, body: d.body });
      case "delete":
        this.mustChange(this.s.deleteMessage.run(d.messageId, roomId));
        this.s.deleteReactions.run(d.messageId);
        return this.logged(base, { type: "delete", messageId: d.messageId });
      case "react": {
        // Like edits and deletions, a reaction needs a live message in this room.
        if (this.s.liveMessageInRoom.get(d.messageId, roomId) === undefined) throw new ChatError("NO_SUCH_MESSAGE");
        const on = this.s.deleteReaction.run(d.messageId, d.emoji, d.actorId).changes === 0;
        if (on) this.s.insertReaction.run(d.messageId, d.emoji, d.actorId, at);
        return this.logged(base, { type: "react", messageId: d.messageId, emoji: d.emoji, on });
      }
      case "topic":
        this.s.setTopic.run(d.topic, roomId);
        return this.logged(base, { type: "topic", topic: d.topic });
      case "settings":
        this.s.setKind.run(d.kind, roomId);
        return this.logged(base, { type: "settings", kind: d.kind });
      case "member": {
        const role = this.applyMemberChange(roomId, d.accountId, d.change, d.role ?? null, seq, at);
        const name = d.accountId === d.actorId ? actor : this.names.get(d.accountId);
        const reason = d.reason ? { reason: d.reason } : {};
        return this.logged(base, { type: "member", accountId: d.accountId, name, change: d.change, role, ...reason });
      }
    }
  }

  private applyMemberChange(
    roomId: Id,
    accountId: Id,
    change: MemberChange,
    role: Role | null,
    seq: number,
    at: number,
  ): Role | null {
    switch (change) {
      case "join":
        this.s.insertMember.run(roomId, accountId, role ?? "member", at, seq);
        this.s.deleteInvite.run(roomId, accountId);
        return role ?? "member";
      case "leave":
      case "kick":
        this.s.deleteMember.run(roomId, accountId);
        return null;
      case "ban":
        this.s.deleteMember.run(roomId, accountId);
        this.s.insertBan.run(roomId, accountId);
        return null;
      case "unban":
        this.s.deleteBan.run(roomId, accountId);
        return null;
      case "mute":
      case "unmute":
        this.s.setMuted.run(change === "mute" ? 1 : 0, roomId, accountId);
        return null;
      case "role":
        this.s.setRole.run(role ?? "member", roomId, accountId);
        return role ?? "member";
      case "invite":
        this.s.insertInvite.run(roomId, accountId);
        return null;
    }
  }

  private logged(base: Omit<RoomEvent, "type">, rest: Record<string, unknown> & { type: RoomEvent["type"] }): Appended {
    const { type, ...data } = rest;
    this.s.insertEvent.run(base.roomId, base.seq, type, base.actorId, JSON.stringify(data), base.at);
    return { event: { ...base, ...rest } as RoomEvent, duplicate: false };
  }

  private mustChange(r: Database.RunResult): void {
    if (r.changes === 0) throw new ChatError("NO_SUCH_MESSAGE");
  }

  /** Runs a write, turning disk and lock failures into StoreUnavailableError. */
  private write<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      if (isUnavailable(error)) throw new StoreUnavailableError(error);
      throw error;
    }
  }
}

type Statements = ReturnType<typeof prepare>;

/** Rooms whose last_seq is kept between transactions; past this many they are all dropped (a bound, not a working set). */
const KEPT_ROOMS = 10_000;

/**
 * The numbers transactions hand out: each room's next sequence number, and the next message's
 * doc (the full-text key, the largest so far + 1). A room's `last_seq` and the largest doc are
 * read at their first use and then kept across transactions as this connection committed them,
 * so a group commit neither reads the row of each room it writes nor looks up MAX(doc) per
 * message. Any other write drops what is kept, at the next transaction's start (`begin`):
 * another connection's commit (the admin command) changes PRAGMA data_version, and a write on
 * this connection outside the group commits (the store's other writes, a bulk load through
 * `db`) changes total_changes(). Rooms' `last_seq` are written back once per transaction by `save()`, rather than
 * by an UPDATE per event (a group commit often holds several events of a room). What a
 * transaction that rolls back handed out is not kept: `committed()` comes after the COMMIT.
 */
class Numbering {
  private readonly keptSeqs = new Map<Id, number>();
  private keptDoc: number | null = null;
  private version = -1;
  /** total_changes() after this connection's last commit here. */
  private changes = -1;
  /** The current transaction's: the last seq of every room it read or numbered, and the last doc taken. */
  private readonly seqs = new Map<Id, number>();
  private readonly changed = new Set<Id>();
  private doc: number | null = null;

  constructor(private readonly s: Statements) {}

  /** At the start of a transaction, given the PRAGMA data_version it read. */
  begin(version: number): void {
    const changes = this.s.totalChanges.get() as number;
    if (version !== this.version || changes !== this.changes || this.keptSeqs.size >= KEPT_ROOMS) {
      this.keptSeqs.clear();
      this.keptDoc = null;
      this.version = version;
    }
    this.seqs.clear();
    this.changed.clear();
    this.doc = this.keptDoc;
  }

  /** The room's next sequence number, not yet taken. */
  next(roomId: Id): number {
    let last = this.seqs.get(roomId) ?? this.keptSeqs.get(roomId);
    if (last === undefined) {
      last = this.s.lastSeq.get(roomId) as number | undefined;
      if (last === undefined) throw new ChatError("NO_SUCH_ROOM");
      this.seqs.set(roomId, last);
    }
    return last + 1;
  }

  /** `seq` (from next()) is used by an applied event. */
  take(roomId: Id, seq: number): void {
    this.seqs.set(roomId, seq);
    this.changed.add(roomId);
  }

  /** The next message's doc, not yet taken. */
  nextDoc(): number {
    this.doc ??= (this.s.lastDoc.get() as { doc: number }).doc;
    return this.doc + 1;
  }

  /** `doc` (from nextDoc()) is used by an inserted message. */
  takeDoc(doc: number): void {
    this.doc = doc;
  }

  /** Before the COMMIT: the rooms' new last_seq. */
  save(): void {
    for (const roomId of this.changed) this.s.setLastSeq.run(this.seqs.get(roomId), roomId);
  }

  /** After the COMMIT: what the transaction handed out is the database's now. */
  committed(): void {
    for (const [roomId, seq] of this.seqs) this.keptSeqs.set(roomId, seq);
    this.keptDoc = this.doc;
    this.changes = this.s.totalChanges.get() as number;
  }
}

function migrate(db: Database.Database): void {
  const version = db.pragma("user_version", { simple: true }) as number;
  for (let v = version; v < migrations.length; v++) {
    db.transaction(() => {
      db.exec(migrations[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

function prepare(db: Database.Database) {
  const q = (sql: string) => db.prepare(sql);
  return {
    anyRegistered: q("SELECT 1 FROM accounts WHERE guest = 0 LIMIT 1"),
    insertAccount: q(`INSERT OR IGNORE INTO accounts (id, name, name_key, guest, admin, password_hash, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?)`),
    accountById: q("SELECT * FROM accounts WHERE id = ?"),
    accountByName: q("SELECT * FROM accounts WHERE name_key = ? AND guest = ?"),
    renameGuest: q("UPDATE accounts SET name = ?, name_key = ? WHERE id = ? AND guest = 1"),
    setPassword: q("UPDATE accounts SET password_hash = ?, password_changed_at = ? WHERE id = ?"),
    countAccounts: q("SELECT COUNT(*) AS n FROM accounts WHERE guest = 0"),
    insertSession: q("INSERT INTO sessions (token_hash, account_id, created_at, expires_at) VALUES (?, ?, ?, ?)"),
    session: q("SELECT * FROM sessions WHERE token_hash = ?"),
    deleteSession: q("DELETE FROM sessions WHERE token_hash = ?"),
    deleteSessionsOf: q("DELETE FROM sessions WHERE account_id = ?"),
    insertRoom: q(`INSERT OR IGNORE INTO rooms (id, name, name_key, kind, topic, created_by, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?)`),
    roomById: q(`SELECT ${ROOM_COLUMNS} FROM rooms WHERE id = ?`),
    roomByName: q(`SELECT ${ROOM_COLUMNS} FROM rooms WHERE name_key = ?`),
    publicRooms: q(`SELECT ${ROOM_COLUMNS}, (SELECT COUNT(*) FROM members WHERE room_id = rooms.id) AS members
      FROM rooms WHERE kind = 'public' ORDER BY name_key`),
    lastSeq: q("SELECT last_seq FROM rooms WHERE id = ?").pluck(true),
    totalChanges: q("SELECT total_changes()").pluck(true),
    setLastSeq: q("UPDATE rooms SET last_seq = ? WHERE id = ?"),
    setTopic: q("UPDATE rooms SET topic = ? WHERE id = ?"),
    setKind: q("UPDATE rooms SET kind = ? WHERE id = ? AND kind <> 'direct'"),
    member: q(`SELECT m.*, a.name FROM members m JOIN accounts a ON a.id = m.account_id
      WHERE m.room_id = ? AND m.account_id = ?`),
    members: q(`SELECT m.*, a.name FROM members m JOIN accounts a ON a.id = m.account_id
      WHERE m.room_id = ? ORDER BY a.name_key`),
    // The cap is a literal, not a bound parameter: with `LIMIT ?` SQLite runs the counting
    // subquery as a co-routine set up per row, ~100 µs per connect even with no messages at all.
    memberships: q(`SELECT r.id, r.name, r.kind, r.topic, r.created_by, r.created_at, r.last_seq,
        m.role, m.muted, m.read_seq,
        (SELECT COUNT(*) FROM (SELECT 1 FROM messages x WHERE x.room_id = r.id AND x.seq > m.read_seq
          AND x.author_id != m.account_id AND x.deleted = 0 LIMIT ${UNREAD_CAP})) AS unread
      FROM members m JOIN rooms r ON r.id = m.room_id WHERE m.account_id = ? ORDER BY r.name_key`),
    insertMember: q(`INSERT INTO members (room_id, account_id, role, joined_at, read_seq) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT DO NOTHING`),
    deleteMember: q("DELETE FROM members WHERE room_id = ? AND account_id = ?"),
    setMuted: q("UPDATE members SET muted = ? WHERE room_id = ? AND account_id = ?"),
    setRole: q("UPDATE members SET role = ? WHERE room_id = ? AND account_id = ?"),
    markRead: q(`UPDATE members SET read_seq = MAX(read_seq, MIN(?, (SELECT last_seq FROM rooms WHERE id = room_id)))
      WHERE room_id = ? AND account_id = ? RETURNING read_seq`),
    banned: q("SELECT 1 FROM bans WHERE room_id = ? AND account_id = ?"),
    bansOf: q(`SELECT b.account_id, a.name FROM bans b JOIN accounts a ON a.id = b.account_id
      WHERE b.room_id = ? ORDER BY a.name_key`),
    insertBan: q("INSERT OR IGNORE INTO bans (room_id, account_id) VALUES (?, ?)"),
    deleteBan: q("DELETE FROM bans WHERE room_id = ? AND account_id = ?"),
    invited: q("SELECT 1 FROM invites WHERE room_id = ? AND account_id = ?"),
    insertInvite: q("INSERT OR IGNORE INTO invites (room_id, account_id) VALUES (?, ?)"),
    deleteInvite: q("DELETE FROM invites WHERE room_id = ? AND account_id = ?"),
    lastDoc: q("SELECT COALESCE(MAX(doc), 0) AS doc FROM messages"),
    indexedDoc: q("SELECT indexed_doc FROM search_state WHERE id = 1"),
    setIndexedDoc: q("UPDATE search_state SET indexed_doc = ? WHERE id = 1"),
    indexMessages: q("INSERT INTO message_search (rowid, body) SELECT doc, body FROM messages WHERE doc > ?"),
    insertMessage: q(`INSERT INTO messages (room_id, seq, id, author_id, client_id, body, reply_to, created_at, doc)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (author_id, client_id) WHERE client_id IS NOT NULL DO NOTHING`),
    messageInRoom: q("SELECT 1 FROM messages WHERE id = ? AND room_id = ?"),
    liveMessageInRoom: q("SELECT 1 FROM messages WHERE id = ? AND room_id = ? AND deleted = 0"),
    messageById: q(`SELECT ${MESSAGE_COLUMNS} FROM messages m JOIN accounts a ON a.id = m.author_id WHERE m.id = ?`),
    messageByClient: q(`SELECT ${MESSAGE_COLUMNS} FROM messages m JOIN accounts a ON a.id = m.author_id
      WHERE m.author_id = ? AND m.client_id = ?`),
    // Newest first along the primary key: a recent time is found at once (there is no index on time).
    seqAt: q("SELECT seq FROM messages WHERE room_id = ? AND created_at <= ? ORDER BY seq DESC LIMIT 1"),
    editMessage: q("UPDATE messages SET body = ?, edited_at = ? WHERE id = ? AND room_id = ? AND deleted = 0"),
    deleteMessage: q("UPDATE messages SET deleted = 1, body = '' WHERE id = ? AND room_id = ? AND deleted = 0"),
    // Terms of three or more characters go through the trigram index (@match), shorter ones
    // through LIKE (@likes, a JSON array of patterns, all of which must match).
    searchIndexed: q(`SELECT ${MESSAGE_COLUMNS} FROM message_search s
      JOIN messages m ON m.doc = s.rowid JOIN accounts a ON a.id = m.author_id
      WHERE message_search MATCH @match AND ${SEARCH_FILTER}`),
    searchScan: q(`SELECT ${MESSAGE_COLUMNS} FROM messages m JOIN accounts a ON a.id = m.author_id
      WHERE ${SEARCH_FILTER}`),
    insertEvent: q("INSERT INTO events (room_id, seq, type, actor_id, data, created_at) VALUES (?, ?, ?, ?, ?, ?)"),
    eventsAfter: q(`SELECT e.*, COALESCE(a.name, '') AS actor FROM events e LEFT JOIN accounts a ON a.id = e.actor_id
      WHERE e.room_id = ? AND e.seq > ? ORDER BY e.seq LIMIT ?`),
    insertReaction: q("INSERT INTO reactions (message_id, emoji, account_id, created_at) VALUES (?, ?, ?, ?)"),
    deleteReaction: q("DELETE FROM reactions WHERE message_id = ? AND emoji = ? AND account_id = ?"),
    deleteReactions: q("DELETE FROM reactions WHERE message_id = ?"),
  };
}

/** A term as an FTS5 phrase: in double quotes, inner quotes doubled, so no character is an operator. */
function ftsPhrase(term: string): string {
  return `"${term.replaceAll('"', '""')}"`;
}

function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^SQLITE_(FULL|IOERR|BUSY|LOCKED|CANTOPEN|READONLY|NOMEM)/.test(code);
}
