// The networked Store: PostgreSQL through a pg connection pool, for running several server
// processes on one database. Semantics match the SQLite store (src/store/sqlite) exactly; the same
// contract suite runs against both.
//
// Several processes may append to one room at once. Each append takes the room's next sequence
// number with `UPDATE rooms SET last_seq = last_seq + 1 … RETURNING` inside its transaction, which
// holds the room row's lock until commit: appends to one room serialize across processes, every
// sequence number is committed before the next one is handed out (readers never see a gap that
// later fills), and an append that fails rolls back its increment (no seq consumed).
//
// Appends are group-committed: the appends requested while the previous batch was in flight (or
// in the same event-loop turn) go into one transaction, each in its own savepoint so one failure
// fails only itself, and their promises resolve after that transaction commits. One batch is in
// flight per store at a time, so appends from one process get sequence numbers in request order.
// A batch first locks its rooms in a fixed order, so two processes' batches cannot deadlock on
// rooms; a deadlock or serialization failure anywhere else retries the whole batch.
//
// Idempotent send across processes: a unique index on (author_id, client_id). The duplicate check
// cannot see another process's uncommitted insert; the insert then waits for it and fails with a
// unique violation, and the append rolls back to its savepoint and returns the (now committed)
// original with `duplicate: true`.
//
// Connection failures (refused, terminated, admin shutdown, SQLSTATE class 08, pool timeouts…)
// become StoreUnavailableError; broken connections are dropped from the pool, which opens new
// ones when PostgreSQL is back. An append whose COMMIT was cut off may or may not have committed:
// a retried message send is safe (idempotent by client id), other events are not.

import { createHash } from "node:crypto";
import pg from "pg";
import { ChatError, StoreUnavailableError } from "../../core/errors.ts";
import { nameKey } from "../../core/names.ts";
import type { Appended, NewAccount, NewRoom, Store } from "../../core/ports.ts";
import { likePattern, MAX_TERMS } from "../../core/search.ts";
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
import { migrations } from "./migrations.ts";

type Key = keyof ReturnType<typeof statements>;
/** A statement built at run time (one per number of search terms), prepared under its name. */
interface Statement {
  name: string;
  text: string;
}
type Queryable = pg.Pool | pg.PoolClient;

interface Pending {
  roomId: Id;
  draft: EventDraft;
  at: number;
  resolve: (a: Appended) => void;
  reject: (e: unknown) => void;
}

type Outcome = { ok: true; value: Appended } | { ok: false; error: unknown };

/** Unread counts stop at this many, as in the SQLite store. */
export const UNREAD_CAP = 1000;

/**
 * Appends per transaction at most. Each append runs in a savepoint, and PostgreSQL tracks up to
 * 64 subtransactions per transaction cheaply; past that every other session's visibility checks
 * slow down.
 */
export const MAX_BATCH = 60;

/** How often a batch is retried after a deadlock or serialization failure. */
const MAX_ATTEMPTS = 5;

export interface PgStoreOptions {
  /** Every table lives in this schema, created when missing. Default "public". */
  schema?: string;
  /** Connections in the pool. Default 10. */
  poolSize?: number;
  /** How long to wait for a connection (new, or free in the pool) before failing as unavailable. Default 5000 ms. */
  connectionTimeoutMs?: number;
  /** Shown in pg_stat_activity. Default "parley". */
  applicationName?: string;
  /** Errors of idle pooled connections (the pool replaces them); ignored by default. */
  onError?: (err: Error) => void;
}

// pg returns int8 (BIGINT, COUNT(*)) as strings; sequence numbers and millisecond timestamps fit
// a JS number exactly, so this store reads them as numbers. Scoped to this store's pool.
const INT8_OID = 20;
const types: pg.CustomTypesConfig = {
  getTypeParser: (oid, format) =>
    oid === INT8_OID && format !== "binary" ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format),
};

export class PgStore implements Store {
  readonly pool: pg.Pool;
  readonly schema: string;
  private readonly sql: ReturnType<typeof statements>;
  /** searchSql[n - 1] searches for n terms. */
  private readonly searchSql: Statement[];
  private readonly accountsLock: string;
  private readonly migrateLock: string;
  private migrating: Promise<void> | null = null;
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;

  /** Connects lazily; the schema is migrated before the first query (or call migrate() to do it now). */
  constructor(connectionString: string, opts: PgStoreOptions = {}) {
    this.schema = opts.schema ?? "public";
    this.pool = new pg.Pool({
      connectionString,
      max: opts.poolSize ?? 10,
      connectionTimeoutMillis: opts.connectionTimeoutMs ?? 5000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: opts.applicationName ?? "parley",
      types,
    });
    // An idle connection that dies (server restart, admin shutdown) emits here; the pool drops it.
    const onError = opts.onError ?? (() => {});
    this.pool.on("error", (err) => onError(err));
    this.sql = statements(quoteIdent(this.schema));
    this.searchSql = Array.from({ length: MAX_TERMS }, (_, i) => searchStatement(quoteIdent(this.schema), i + 1));
    this.accountsLock = lockKey(`parley:accounts:${this.schema}`);
    this.migrateLock = lockKey(`parley:migrate:${this.schema}`);
  }

  /** A store whose schema is migrated: fails (StoreUnavailableError) when the database is unreachable. */
  static async open(connectionString: string, opts: PgStoreOptions = {}): Promise<PgStore> {
    const store = new PgStore(connectionString, opts);
    try {
      await store.migrate();
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  /**
   * Brings the schema to the latest version. Safe when several processes start at once: they
   * take turns under an advisory lock. A failed attempt (database down) is retried on next use.
   */
  migrate(): Promise<void> {
    if (!this.migrating) {
      this.migrating = this.runMigrations().catch((error) => {
        this.migrating = null;
        throw toStoreError(error);
      });
    }
    return this.migrating;
  }

  // ---- accounts ----

  async createAccount(a: NewAccount): Promise<Account | null> {
    return this.transaction(async (c) => {
      // One account creation at a time per schema: "the first registered account is admin" and
      // "a guest may not take a registered name" are decided on what is committed.
      await c.query("SELECT pg_advisory_xact_lock($1::bigint)", [this.accountsLock]);
      if (a.guest && (await this.one(c, "accountByName", [nameKey(a.name), false]))) return null;
      const admin = !a.guest && !(await this.one(c, "anyRegistered", []));
      const inserted = await this.one(c, "insertAccount", [
        a.id,
        a.name,
        nameKey(a.name),
        a.guest,
        admin,
        a.passwordHash,
        a.createdAt,
      ]);
      if (!inserted) return null;
      return { id: a.id, name: a.name, guest: a.guest, admin, createdAt: a.createdAt };
    });
  }

  async getAccount(id: Id): Promise<StoredAccount | null> {
    return toAccount(await this.read("accountById", [id]));
  }

  async findAccount(name: string): Promise<StoredAccount | null> {
    return toAccount(await this.read("accountByName", [nameKey(name), false]));
  }

  async findGuest(name: string): Promise<Account | null> {
    return toAccount(await this.read("accountByName", [nameKey(name), true]));
  }

  async renameGuest(id: Id, name: string): Promise<boolean> {
    try {
      return (await this.exec("renameGuest", [name, nameKey(name), id])).rowCount === 1;
    } catch (error) {
      if (isUniqueViolation(error, "accounts_guest_name")) return false;
      throw error;
    }
  }

  async setPassword(id: Id, passwordHash: string, changedAt: number): Promise<void> {
    await this.exec("setPassword", [passwordHash, changedAt, id]);
  }

  async countAccounts(): Promise<number> {
    return (await this.read("countAccounts", []))!.n as number;
  }

  // ---- sessions ----

  async createSession(s: Session): Promise<void> {
    // Not retried: a second insert after a lost reply would fail on the first one's row.
    await this.exec("insertSession", [s.tokenHash, s.accountId, s.createdAt, s.expiresAt], false);
  }

  async getSession(tokenHash: string): Promise<Session | null> {
    const r = await this.read("session", [tokenHash]);
    if (!r) return null;
    return {
      tokenHash: r.token_hash as string,
      accountId: r.account_id as Id,
      createdAt: r.created_at as number,
      expiresAt: r.expires_at as number,
    };
  }

  async deleteSession(tokenHash: string): Promise<void> {
    await this.exec("deleteSession", [tokenHash]);
  }

  async deleteSessionsOf(accountId: Id): Promise<void> {
    await this.exec("deleteSessionsOf", [accountId]);
  }

  // ---- rooms and members ----

  async createRoom(r: NewRoom, members: { accountId: Id; role: Role }[]): Promise<{ room: Room; events: RoomEvent[] } | null> {
    return this.transaction(async (c) => {
      const inserted = await this.one(c, "insertRoom", [
        r.id,
        r.name,
        nameKey(r.name),
        r.kind,
        r.topic,
        r.createdBy,
        r.createdAt,
      ]);
      if (!inserted) return null;
      const events: RoomEvent[] = [];
      for (const m of members) {
        const draft: EventDraft = { type: "member", actorId: r.createdBy, accountId: m.accountId, change: "join", role: m.role };
        events.push((await this.applyDraft(c, r.id, draft, r.createdAt)).event);
      }
      return { room: toRoom((await this.one(c, "roomById", [r.id]))!), events };
    });
  }

  async getRoom(id: Id): Promise<Room | null> {
    const r = await this.read("roomById", [id]);
    return r ? toRoom(r) : null;
  }

  async findRoom(name: string): Promise<Room | null> {
    const r = await this.read("roomByName", [nameKey(name)]);
    return r ? toRoom(r) : null;
  }

  async listPublicRooms(): Promise<(Room & { members: number })[]> {
    return (await this.readAll("publicRooms", [])).map((r) => ({ ...toRoom(r), members: r.members as number }));
  }

  async getMember(roomId: Id, accountId: Id): Promise<Member | null> {
    const r = await this.read("member", [roomId, accountId]);
    return r ? toMember(r) : null;
  }

  async listMembers(roomId: Id): Promise<Member[]> {
    return (await this.readAll("members", [roomId])).map(toMember);
  }

  async memberships(accountId: Id): Promise<Membership[]> {
    return (await this.readAll("memberships", [accountId, UNREAD_CAP])).map((r) => ({
      room: toRoom(r),
      role: r.role as Role,
      muted: r.muted as boolean,
      readSeq: r.read_seq as number,
      unread: r.unread as number,
    }));
  }

  async isBanned(roomId: Id, accountId: Id): Promise<boolean> {
    return (await this.read("banned", [roomId, accountId])) !== null;
  }

  async listBans(roomId: Id): Promise<{ accountId: Id; name: string }[]> {
    const rows = await this.readAll("bansOf", [roomId]);
    return rows.map((r) => ({ accountId: r.account_id as Id, name: r.name as string }));
  }

  async isInvited(roomId: Id, accountId: Id): Promise<boolean> {
    return (await this.read("invited", [roomId, accountId])) !== null;
  }

  async markRead(roomId: Id, accountId: Id, seq: number): Promise<number> {
    const r = (await this.exec("markRead", [seq, roomId, accountId])).rows[0];
    if (!r) throw new ChatError("NOT_MEMBER");
    return r.read_seq as number;
  }

  // ---- the log ----

  append(roomId: Id, draft: EventDraft, at: number): Promise<Appended> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new StoreUnavailableError(new Error("the store is closed")));
        return;
      }
      this.queue.push({ roomId, draft, at, resolve, reject });
      this.startFlushing();
    });
  }

  async getMessage(id: Id): Promise<Message | null> {
    const r = await this.read("messageById", [id]);
    return r ? (await this.withReactions(this.pool, [toMessage(r)]))[0]! : null;
  }

  async history(roomId: Id, q: { before?: number; after?: number; limit: number }): Promise<HistoryPage> {
    let rows: Row[];
    if (q.after !== undefined) {
      rows = await this.readAll("historyAfter", [roomId, q.after, q.limit + 1]);
    } else {
      rows = await this.readAll("historyBefore", [roomId, q.before ?? Number.MAX_SAFE_INTEGER, q.limit + 1]);
      rows.reverse();
    }
    const more = rows.length > q.limit;
    if (more) {
      if (q.after !== undefined) rows.pop();
      else rows.shift();
    }
    return { messages: await this.withReactions(this.pool, rows.map(toMessage)), more };
  }

  async seqAt(roomId: Id, at: number): Promise<number> {
    const r = await this.read("seqAt", [roomId, at]);
    return r ? Number(r.seq) : 0;
  }

  async search(roomIds: Id[], terms: string[], q: { before?: SearchCursor; limit: number }): Promise<SearchPage> {
    if (roomIds.length === 0 || terms.length === 0) return { messages: [], more: false };
    const statement = this.searchSql[terms.length - 1];
    if (!statement) throw new ChatError("BAD_REQUEST", `search queries have at most ${MAX_TERMS} terms`);
    const rows = (
      await this.exec(statement, [
        roomIds,
        q.before?.at ?? Number.MAX_SAFE_INTEGER,
        q.before?.id ?? "",
        q.limit + 1,
        ...terms.map(likePattern),
      ])
    ).rows;
    const more = rows.length > q.limit;
    if (more) rows.pop();
    return { messages: await this.withReactions(this.pool, rows.map(toMessage)), more };
  }

  async eventsAfter(roomId: Id, afterSeq: number, limit: number): Promise<RoomEvent[]> {
    // One statement, so messages and other events come from one snapshot: two separate reads could
    // interleave with a commit and return a later event without an earlier message (a false gap).
    const rows = await this.readAll("eventsAfter", [roomId, afterSeq, limit]);
    const messages = await this.withReactions(this.pool, rows.filter((r) => r.kind === "message").map(toMessage));
    const byId = new Map(messages.map((m) => [m.id, m]));
    return rows.map((r) => (r.kind === "message" ? messageEvent(byId.get(r.id as Id)!) : toEvent(r, r.author_id, r.author)));
  }

  /** Waits for the appends already requested, then closes the pool. Safe to call twice. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      this.closing = (async () => {
        while (this.flushing) await this.flushing;
        await this.migrating?.catch(() => {});
        await this.pool.end();
      })();
    }
    return this.closing;
  }

  // ---- the append pipeline ----

  private startFlushing(): void {
    if (this.flushing) return;
    this.flushing = (async () => {
      // Let the rest of this event-loop turn's appends join the first batch.
      await new Promise((resolve) => setImmediate(resolve));
      while (this.queue.length > 0) await this.runBatch(this.queue.splice(0, MAX_BATCH));
    })().finally(() => {
      this.flushing = null;
      if (this.queue.length > 0) this.startFlushing();
    });
  }

  /** Runs one batch in one transaction and settles its promises in order. Never throws. */
  private async runBatch(batch: Pending[]): Promise<void> {
    let outcomes: Outcome[];
    try {
      outcomes = await this.transaction((c) => this.applyBatch(c, batch));
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    batch.forEach((p, i) => {
      const o = outcomes[i]!;
      if (o.ok) p.resolve(o.value);
      else p.reject(o.error);
    });
  }

  private async applyBatch(c: pg.PoolClient, batch: Pending[]): Promise<Outcome[]> {
    // Lock every room of the batch up front, in one order shared by all processes.
    await this.run(c, "lockRooms", [[...new Set(batch.map((p) => p.roomId))]]);
    const out: Outcome[] = [];
    for (const p of batch) {
      for (let attempt = 1; ; attempt++) {
        await c.query("SAVEPOINT append");
        try {
          const value = await this.applyDraft(c, p.roomId, p.draft, p.at);
          await c.query("RELEASE SAVEPOINT append");
          out.push({ ok: true, value });
          break;
        } catch (error) {
          if (isUnavailable(error) || isRetryable(error)) throw error; // the whole transaction is gone
          await c.query("ROLLBACK TO SAVEPOINT append");
          await c.query("RELEASE SAVEPOINT append");
          // Another process committed the same (author, clientId) while this insert waited for it:
          // go again, and the duplicate check now finds the original.
          if (attempt === 1 && isUniqueViolation(error, "messages_client")) continue;
          out.push({ ok: false, error: toStoreError(error) });
          break;
        }
      }
    }
    return out;
  }

  /** Inside a transaction: assigns the room's next sequence number and applies the event. */
  private async applyDraft(c: pg.PoolClient, roomId: Id, d: EventDraft, at: number): Promise<Appended> {
    if (d.type === "message" && d.clientId !== null) {
      const dup = await this.one(c, "messageByClient", [d.actorId, d.clientId]);
      if (dup) return { event: messageEvent((await this.withReactions(c, [toMessage(dup)]))[0]!), duplicate: true };
    }
    if (d.type === "message" && d.replyTo !== null && !(await this.one(c, "messageInRoom", [d.replyTo, roomId]))) {
      throw new ChatError("NO_SUCH_MESSAGE", "the message replied to is not in this room");
    }
    const next = await this.one(c, "nextSeq", [roomId, d.actorId]);
    if (!next) throw new ChatError("NO_SUCH_ROOM");
    const seq = next.last_seq as number;
    const actor = next.actor as string;
    const base = { roomId, seq, at, actorId: d.actorId, actor };
    switch (d.type) {
      case "message": {
        await this.run(c, "insertMessage", [roomId, seq, d.id, d.actorId, d.clientId, d.body, d.replyTo, at]);
        return { event: newMessageEvent(d, roomId, seq, actor, at), duplicate: false };
      }
      case "edit":
        mustChange(await this.run(c, "editMessage", [d.body, at, d.messageId, roomId]));
        return this.logged(c, base, { type: "edit", messageId: d.messageId, body: d.body });
      case "delete":
        mustChange(await this.run(c, "deleteMessage", [d.messageId, roomId]));
        await this.run(c, "deleteReactions", [d.messageId]);
        return this.logged(c, base, { type: "delete", messageId: d.messageId });
      case "react": {
        // Like edits and deletions, a reaction needs a live message in this room.
        if (!(await this.one(c, "liveMessageInRoom", [d.messageId, roomId]))) throw new ChatError("NO_SUCH_MESSAGE");
        const on = (await this.run(c, "deleteReaction", [d.messageId, d.emoji, d.actorId])).rowCount === 0;
        if (on) await this.run(c, "insertReaction", [d.messageId, d.emoji, d.actorId, at]);
        return this.logged(c, base, { type: "react", messageId: d.messageId, emoji: d.emoji, on });
      }
      case "topic":
        await this.run(c, "setTopic", [d.topic, roomId]);
        return this.logged(c, base, { type: "topic", topic: d.topic });
      case "settings":
        await this.run(c, "setKind", [d.kind, roomId]);
        return this.logged(c, base, { type: "settings", kind: d.kind });
      case "member": {
        const role = await this.applyMemberChange(c, roomId, d.accountId, d.change, d.role ?? null, seq, at);
        const name = d.accountId === d.actorId ? actor : await this.accountName(c, d.accountId);
        const reason = d.reason ? { reason: d.reason } : {};
        return this.logged(c, base, { type: "member", accountId: d.accountId, name, change: d.change, role, ...reason });
      }
    }
  }

  private async applyMemberChange(
    c: pg.PoolClient,
    roomId: Id,
    accountId: Id,
    change: MemberChange,
    role: Role | null,
    seq: number,
    at: number,
  ): Promise<Role | null> {
    switch (change) {
      case "join":
        await this.run(c, "insertMember", [roomId, accountId, role ?? "member", at, seq]);
        await this.run(c, "deleteInvite", [roomId, accountId]);
        return role ?? "member";
      case "leave":
      case "kick":
        await this.run(c, "deleteMember", [roomId, accountId]);
        return null;
      case "ban":
        await this.run(c, "deleteMember", [roomId, accountId]);
        await this.run(c, "insertBan", [roomId, accountId]);
        return null;
      case "unban":
        await this.run(c, "deleteBan", [roomId, accountId]);
        return null;
      case "mute":
      case "unmute":
        await this.run(c, "setMuted", [change === "mute", roomId, accountId]);
        return null;
      case "role":
        await this.run(c, "setRole", [role ?? "member", roomId, accountId]);
        return role ?? "member";
      case "invite":
        await this.run(c, "insertInvite", [roomId, accountId]);
        return null;
    }
  }

  private async logged(
    c: pg.PoolClient,
    base: Omit<RoomEvent, "type">,
    rest: Record<string, unknown> & { type: RoomEvent["type"] },
  ): Promise<Appended> {
    const { type, ...data } = rest;
    await this.run(c, "insertEvent", [base.roomId, base.seq, type, base.actorId, JSON.stringify(data), base.at]);
    return { event: { ...base, ...rest } as RoomEvent, duplicate: false };
  }

  private async accountName(c: Queryable, id: Id): Promise<string> {
    return ((await this.one(c, "accountName", [id]))?.name as string | undefined) ?? "";
  }

  private async withReactions(c: Queryable, messages: Message[]): Promise<Message[]> {
    if (messages.length === 0) return messages;
    const byId = new Map(messages.map((m) => [m.id, m]));
    const rows = (await this.run(c, "reactionsOf", [[...byId.keys()]])).rows;
    for (const r of rows) {
      const m = byId.get(r.message_id as Id);
      if (!m) continue;
      const names = m.reactions[r.emoji as string];
      if (names) names.push(r.name as string);
      else m.reactions[r.emoji as string] = [r.name as string];
    }
    return messages;
  }

  // ---- plumbing ----

  private async runMigrations(): Promise<void> {
    const s = quoteIdent(this.schema);
    const client = await this.pool.connect();
    const swallow = () => {};
    client.on("error", swallow);
    let broken: Error | undefined;
    try {
      // A session lock: held across the per-migration transactions, released when this connection
      // closes if the process dies midway.
      await client.query("SELECT pg_advisory_lock($1::bigint)", [this.migrateLock]);
      try {
        // Look before creating: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when the schema exists.
        const exists = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [this.schema]);
        if (exists.rowCount === 0) await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
        await client.query(`CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
          version INTEGER PRIMARY KEY,
          applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )`);
        const current = (await client.query(`SELECT COALESCE(MAX(version), 0)::int AS v FROM ${s}.schema_migrations`)).rows[0]
          .v as number;
        if (current > migrations.length) {
          throw new Error(`schema ${this.schema} is at version ${current}, newer than this program's ${migrations.length}`);
        }
        for (let v = current; v < migrations.length; v++) {
          await client.query("BEGIN");
          try {
            await client.query(`SET LOCAL search_path TO ${s}`);
            await client.query(migrations[v]!);
            await client.query(`INSERT INTO ${s}.schema_migrations (version) VALUES ($1)`, [v + 1]);
            await client.query("COMMIT");
          } catch (error) {
            await client.query("ROLLBACK").catch(() => {});
            throw error;
          }
        }
      } finally {
        await client.query("SELECT pg_advisory_unlock($1::bigint)", [this.migrateLock]).catch((error: Error) => {
          broken = error;
        });
      }
    } catch (error) {
      // Drop the connection rather than risk returning one that still holds the lock.
      broken = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      client.off("error", swallow);
      client.release(broken ?? false);
    }
  }

  /** Runs fn in a transaction, retrying on deadlock or serialization failure. Errors come out mapped. */
  private async transaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    await this.migrate();
    let staleRetried = false;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transactionOnce(fn);
      } catch (error) {
        // A pooled connection that died unnoticed fails at BEGIN, before anything was done: once, try a fresh one.
        if (error instanceof DeadOnArrival && !staleRetried) {
          staleRetried = true;
          continue;
        }
        const cause = error instanceof DeadOnArrival ? error.cause : error;
        if (!isRetryable(cause) || attempt >= MAX_ATTEMPTS) throw toStoreError(cause);
        await new Promise((resolve) => setTimeout(resolve, attempt * (5 + Math.random() * 20)));
      }
    }
  }

  private async transactionOnce<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // A checked-out client whose connection dies between queries emits 'error'; unhandled, that
    // would crash the process. The failure also reaches the next query, which handles it.
    const swallow = () => {};
    client.on("error", swallow);
    let broken: Error | undefined;
    try {
      try {
        await client.query("BEGIN");
      } catch (error) {
        if (isBrokenConnection(error)) throw new DeadOnArrival(error);
        throw error;
      }
      const result = await fn(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      const cause = error instanceof DeadOnArrival ? error.cause : error;
      if (isUnavailable(cause)) broken = cause as Error;
      else
        await client.query("ROLLBACK").catch((e: Error) => {
          broken = e;
        });
      throw error;
    } finally {
      client.off("error", swallow);
      client.release(broken ?? false);
    }
  }

  private run(c: Queryable, key: Key | Statement, values: unknown[]): Promise<pg.QueryResult<Row>> {
    const statement = typeof key === "string" ? { name: key, text: this.sql[key] } : key;
    return c.query<Row>({ ...statement, values });
  }

  private async one(c: Queryable, key: Key, values: unknown[]): Promise<Row | null> {
    return (await this.run(c, key, values)).rows[0] ?? null;
  }

  /**
   * One statement on the pool, outside any transaction. Reads and idempotent writes are tried once
   * more on a fresh connection when the pooled one turns out to have died unnoticed.
   */
  private async exec(key: Key | Statement, values: unknown[], idempotent = true): Promise<pg.QueryResult<Row>> {
    await this.migrate();
    try {
      return await this.run(this.pool, key, values);
    } catch (error) {
      if (!idempotent || !isBrokenConnection(error)) throw toStoreError(error);
    }
    try {
      return await this.run(this.pool, key, values);
    } catch (error) {
      throw toStoreError(error);
    }
  }

  private async read(key: Key, values: unknown[]): Promise<Row | null> {
    return (await this.exec(key, values)).rows[0] ?? null;
  }

  private async readAll(key: Key, values: unknown[]): Promise<Row[]> {
    return (await this.exec(key, values)).rows;
  }
}

function statements(s: string) {
  const MESSAGE_COLUMNS = `m.room_id, m.seq, m.id, m.author_id, a.name AS author, m.client_id, m.body, m.reply_to,
    m.created_at, m.edited_at, m.deleted`;
  const ROOM_COLUMNS = "id, name, kind, topic, created_by, created_at, last_seq";
  return {
    anyRegistered: `SELECT 1 FROM ${s}.accounts WHERE NOT guest LIMIT 1`,
    insertAccount: `INSERT INTO ${s}.accounts (id, name, name_key, guest, admin, password_hash, created_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id`,
    accountById: `SELECT * FROM ${s}.accounts WHERE id = $1`,
    accountByName: `SELECT * FROM ${s}.accounts WHERE name_key = $1 AND guest = $2`,
    accountName: `SELECT name FROM ${s}.accounts WHERE id = $1`,
    renameGuest: `UPDATE ${s}.accounts SET name = $1, name_key = $2 WHERE id = $3 AND guest`,
    setPassword: `UPDATE ${s}.accounts SET password_hash = $1, password_changed_at = $2 WHERE id = $3`,
    countAccounts: `SELECT COUNT(*) AS n FROM ${s}.accounts WHERE NOT guest`,
    insertSession: `INSERT INTO ${s}.sessions (token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
    session: `SELECT * FROM ${s}.sessions WHERE token_hash = $1`,
    deleteSession: `DELETE FROM ${s}.sessions WHERE token_hash = $1`,
    deleteSessionsOf: `DELETE FROM ${s}.sessions WHERE account_id = $1`,
    insertRoom: `INSERT INTO ${s}.rooms (id, name, name_key, kind, topic, created_by, created_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id`,
    roomById: `SELECT ${ROOM_COLUMNS} FROM ${s}.rooms WHERE id = $1`,
    roomByName: `SELECT ${ROOM_COLUMNS} FROM ${s}.rooms WHERE name_key = $1`,
    publicRooms: `SELECT ${ROOM_COLUMNS}, (SELECT COUNT(*) FROM ${s}.members m WHERE m.room_id = r.id) AS members
      FROM ${s}.rooms r WHERE kind = 'public' ORDER BY name_key`,
    lockRooms: `SELECT id FROM ${s}.rooms WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE`,
    nextSeq: `UPDATE ${s}.rooms SET last_seq = last_seq + 1 WHERE id = $1
      RETURNING last_seq, COALESCE((SELECT name FROM ${s}.accounts WHERE id = $2), '') AS actor`,
    setTopic: `UPDATE ${s}.rooms SET topic = $1 WHERE id = $2`,
    setKind: `UPDATE ${s}.rooms SET kind = $1 WHERE id = $2 AND kind <> 'direct'`,
    member: `SELECT m.*, a.name FROM ${s}.members m JOIN ${s}.accounts a ON a.id = m.account_id
      WHERE m.room_id = $1 AND m.account_id = $2`,
    members: `SELECT m.*, a.name FROM ${s}.members m JOIN ${s}.accounts a ON a.id = m.account_id
      WHERE m.room_id = $1 ORDER BY a.name_key`,
    memberships: `SELECT r.id, r.name, r.kind, r.topic, r.created_by, r.created_at, r.last_seq,
        m.role, m.muted, m.read_seq,
        (SELECT COUNT(*) FROM (SELECT 1 FROM ${s}.messages x WHERE x.room_id = r.id AND x.seq > m.read_seq
          AND x.author_id <> m.account_id AND NOT x.deleted LIMIT $2) capped) AS unread
      FROM ${s}.members m JOIN ${s}.rooms r ON r.id = m.room_id WHERE m.account_id = $1 ORDER BY r.name_key`,
    insertMember: `INSERT INTO ${s}.members (room_id, account_id, role, joined_at, read_seq) VALUES ($1, $2, $3, $4, $5)
      ON CONFLICT DO NOTHING`,
    deleteMember: `DELETE FROM ${s}.members WHERE room_id = $1 AND account_id = $2`,
    setMuted: `UPDATE ${s}.members SET muted = $1 WHERE room_id = $2 AND account_id = $3`,
    setRole: `UPDATE ${s}.members SET role = $1 WHERE room_id = $2 AND account_id = $3`,
    markRead: `UPDATE ${s}.members m
      SET read_seq = GREATEST(m.read_seq, LEAST($1::bigint, (SELECT r.last_seq FROM ${s}.rooms r WHERE r.id = m.room_id)))
      WHERE m.room_id = $2 AND m.account_id = $3 RETURNING m.read_seq`,
    banned: `SELECT 1 FROM ${s}.bans WHERE room_id = $1 AND account_id = $2`,
    bansOf: `SELECT b.account_id, a.name FROM ${s}.bans b JOIN ${s}.accounts a ON a.id = b.account_id
      WHERE b.room_id = $1 ORDER BY a.name_key`,
    insertBan: `INSERT INTO ${s}.bans (room_id, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
    deleteBan: `DELETE FROM ${s}.bans WHERE room_id = $1 AND account_id = $2`,
    invited: `SELECT 1 FROM ${s}.invites WHERE room_id = $1 AND account_id = $2`,
    insertInvite: `INSERT INTO ${s}.invites (room_id, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
    deleteInvite: `DELETE FROM ${s}.invites WHERE room_id = $1 AND account_id = $2`,
    insertMessage: `INSERT INTO ${s}.messages (room_id, seq, id, author_id, client_id, body, reply_to, created_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    messageInRoom: `SELECT 1 FROM ${s}.messages WHERE id = $1 AND room_id = $2`,
    liveMessageInRoom: `SELECT 1 FROM ${s}.messages WHERE id = $1 AND room_id = $2 AND NOT deleted`,
    messageById: `SELECT ${MESSAGE_COLUMNS} FROM ${s}.messages m JOIN ${s}.accounts a ON a.id = m.author_id WHERE m.id = $1`,
    messageByClient: `SELECT ${MESSAGE_COLUMNS} FROM ${s}.messages m JOIN ${s}.accounts a ON a.id = m.author_id
      WHERE m.author_id = $1 AND m.client_id = $2`,
    historyBefore: `SELECT ${MESSAGE_COLUMNS} FROM ${s}.messages m JOIN ${s}.accounts a ON a.id = m.author_id
      WHERE m.room_id = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3`,
    historyAfter: `SELECT ${MESSAGE_COLUMNS} FROM ${s}.messages m JOIN ${s}.accounts a ON a.id = m.author_id
      WHERE m.room_id = $1 AND m.seq > $2 ORDER BY m.seq ASC LIMIT $3`,
    // Newest first along the primary key: a recent time is found at once (there is no index on time).
    seqAt: `SELECT seq FROM ${s}.messages WHERE room_id = $1 AND created_at <= $2 ORDER BY seq DESC LIMIT 1`,
    editMessage: `UPDATE ${s}.messages SET body = $1, edited_at = $2 WHERE id = $3 AND room_id = $4 AND NOT deleted`,
    deleteMessage: `UPDATE ${s}.messages SET deleted = true, body = '' WHERE id = $1 AND room_id = $2 AND NOT deleted`,
    insertEvent: `INSERT INTO ${s}.events (room_id, seq, type, actor_id, data, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
    eventsAfter: `SELECT * FROM (
        (SELECT 'message' AS kind, ${MESSAGE_COLUMNS}, NULL::text AS type, NULL::text AS data
          FROM ${s}.messages m JOIN ${s}.accounts a ON a.id = m.author_id
          WHERE m.room_id = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3)
        UNION ALL
        (SELECT 'event', e.room_id, e.seq, NULL, e.actor_id, COALESCE(a.name, ''), NULL, NULL, NULL,
            e.created_at, NULL, NULL, e.type, e.data
          FROM ${s}.events e LEFT JOIN ${s}.accounts a ON a.id = e.actor_id
          WHERE e.room_id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3)
      ) merged ORDER BY seq LIMIT $3`,
    insertReaction: `INSERT INTO ${s}.reactions (message_id, emoji, account_id, created_at) VALUES ($1, $2, $3, $4)`,
    deleteReaction: `DELETE FROM ${s}.reactions WHERE message_id = $1 AND emoji = $2 AND account_id = $3`,
    deleteReactions: `DELETE FROM ${s}.reactions WHERE message_id = $1`,
    reactionsOf: `SELECT r.message_id, r.emoji, a.name FROM ${s}.reactions r JOIN ${s}.accounts a ON a.id = r.account_id
      WHERE r.message_id = ANY($1::text[]) ORDER BY r.created_at, a.name_key`,
  };
}

/**
 * Search for n terms: one ILIKE per term (ILIKE folds case in every script), so that the trigram
 * index (migration 2, when pg_trgm is available) can serve each one. $5… are the LIKE patterns.
 */
function searchStatement(s: string, n: number): Statement {
  const likes = Array.from({ length: n }, (_, i) => `AND m.body ILIKE $${i + 5}`).join(" ");
  return {
    name: `search${n}`,
    text: `SELECT m.room_id, m.seq, m.id, m.author_id, a.name AS author, m.client_id, m.body, m.reply_to,
        m.created_at, m.edited_at, m.deleted
      FROM ${s}.messages m JOIN ${s}.accounts a ON a.id = m.author_id
      WHERE m.room_id = ANY($1::text[]) AND NOT m.deleted ${likes}
        AND (m.created_at, m.id) < ($2::bigint, $3::text)
      ORDER BY m.created_at DESC, m.id DESC LIMIT $4`,
  };
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A 64-bit advisory lock key (as a decimal string) derived from a name. */
function lockKey(name: string): string {
  return createHash("sha256").update(name).digest().readBigInt64BE(0).toString();
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
]);

// SQLSTATEs that mean "the database is not there right now": admin/crash shutdown, starting up,
// too many connections, out of disk or memory, I/O error, read-only (a standby after failover).
const UNAVAILABLE_STATES = new Set(["57P01", "57P02", "57P03", "53000", "53100", "53200", "53300", "58000", "58030", "25006"]);

const UNAVAILABLE_MESSAGES =
  /Connection terminated|not queryable|timeout exceeded when trying to connect|Cannot use a pool after calling end|connection timeout/i;

/** Whether an error means the database cannot be reached (rather than that the request was wrong). */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof StoreUnavailableError) return true;
  if (error instanceof AggregateError) return error.errors.some(isUnavailable);
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    if (NETWORK_CODES.has(code) || UNAVAILABLE_STATES.has(code)) return true;
    if (/^08[0-9A-Z]{3}$/.test(code)) return true; // connection exception class
  }
  return UNAVAILABLE_MESSAGES.test(error.message);
}

/**
 * The connection was established and then lost (server restart, terminated backend, reset):
 * unlike a refused or timed-out connect, a fresh connection may well work at once.
 */
function isBrokenConnection(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (code === "ECONNRESET" || code === "EPIPE" || code === "57P01" || code === "57P02") return true;
  return /Connection terminated unexpectedly|not queryable/.test(error.message);
}

/** BEGIN failed on a pooled connection that had died: nothing of the transaction ran. */
class DeadOnArrival extends Error {
  constructor(cause: unknown) {
    super("the pooled connection was dead", { cause });
  }
}

/** Deadlock or serialization failure: the transaction was rolled back and may simply be retried. */
function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "40P01" || code === "40001";
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const e = error as { code?: unknown; constraint?: unknown } | null;
  return e?.code === "23505" && e.constraint === constraint;
}

/** Maps a failure to what the Store port promises: StoreUnavailableError, ChatError, or the error itself. */
function toStoreError(error: unknown): unknown {
  if (error instanceof StoreUnavailableError || error instanceof ChatError) return error;
  if (isUnavailable(error) || isRetryable(error)) return new StoreUnavailableError(error);
  const code = (error as { code?: unknown } | null)?.code;
  // PostgreSQL text cannot hold U+0000 (SQLite's can): refuse it as a bad request, not an internal error.
  if (code === "22021" || code === "22P05")
    return new ChatError("BAD_REQUEST", "text contains a character that cannot be stored");
  return error;
}

function mustChange(r: pg.QueryResult): void {
  if (r.rowCount === 0) throw new ChatError("NO_SUCH_MESSAGE");
}
