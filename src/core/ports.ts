// The interfaces the core needs from the outside world. Adapters implement them and nothing more;
// every adapter runs the same contract suite (src/store/store.contract.ts, src/bus/bus.contract.ts,
// src/rate-limit/rate-limiter.contract.ts).

import type { Rate } from "./rate-limit.ts";

import type {
  Account,
  EventDraft,
  HistoryPage,
  Id,
  Member,
  Membership,
  Message,
  Room,
  RoomEvent,
  SearchCursor,
  SearchPage,
  Session,
  StoredAccount,
} from "./types.ts";

export interface NewAccount {
  id: Id;
  name: string;
  guest: boolean;
  passwordHash: string | null;
  createdAt: number;
}

export interface NewRoom {
  id: Id;
  name: string;
  kind: Room["kind"];
  topic: string;
  createdBy: Id;
  createdAt: number;
}

/** The outcome of appending a message: `duplicate` when the author already sent this client id. */
export interface Appended {
  event: RoomEvent;
  duplicate: boolean;
}

/**
 * Durable state. Every method is async so that networked databases implement the same port.
 * Names are compared case-insensitively (the store keeps a lower-cased key).
 * A store that cannot reach its database throws StoreUnavailableError.
 */
export interface Store {
  /** Creates the account, or returns null when a registered account (or, for guests, any account) has the name. The first registered account becomes admin. */
  createAccount(a: NewAccount): Promise<Account | null>;
  getAccount(id: Id): Promise<StoredAccount | null>;
  /** A registered (non-guest) account by name. */
  findAccount(name: string): Promise<StoredAccount | null>;
  /** A guest account by name. */
  findGuest(name: string): Promise<Account | null>;
  /** Renames a guest; returns false when the name is taken. */
  renameGuest(id: Id, name: string): Promise<boolean>;
  setPassword(id: Id, passwordHash: string, changedAt: number): Promise<void>;
  countAccounts(): Promise<number>;

  createSession(s: Session): Promise<void>;
  getSession(tokenHash: string): Promise<Session | null>;
  deleteSession(tokenHash: string): Promise<void>;
  deleteSessionsOf(accountId: Id): Promise<void>;

  /** Creates the room with its first members (each joined with a member event), or returns null when the name is taken. */
  createRoom(r: NewRoom, members: { accountId: Id; role: Member["role"] }[]): Promise<{ room: Room; events: RoomEvent[] } | null>;
  getRoom(id: Id): Promise<Room | null>;
  findRoom(name: string): Promise<Room | null>;
  /** Public rooms with their member counts, by name. */
  listPublicRooms(): Promise<(Room & { members: number })[]>;

  getMember(roomId: Id, accountId: Id): Promise<Member | null>;
  listMembers(roomId: Id): Promise<Member[]>;
  /** Rooms the account belongs to, with unread counts (messages after the read position not written by the account). */
  memberships(accountId: Id): Promise<Membership[]>;
  isBanned(roomId: Id, accountId: Id): Promise<boolean>;
  /** The accounts banned from a room, by name. */
  listBans(roomId: Id): Promise<{ accountId: Id; name: string }[]>;
  isInvited(roomId: Id, accountId: Id): Promise<boolean>;
  /** Moves the read position forward (never back). Returns the position now stored. */
  markRead(roomId: Id, accountId: Id, seq: number): Promise<number>;

  /**
   * Appends an event to the room's log in one transaction: assigns the next sequence number and
   * applies the event's effect (a message row, an edit, a reaction toggle, a topic, a membership
   * change). A message whose (author, clientId) exists already is not stored again: the original
   * event comes back with `duplicate: true`. Resolves only after the transaction is durable.
   */
  append(roomId: Id, draft: EventDraft, at: number): Promise<Appended>;
  getMessage(id: Id): Promise<Message | null>;
  /** Messages in their current state, newest-first selection returned oldest-first. */
  history(roomId: Id, q: { before?: number; after?: number; limit: number }): Promise<HistoryPage>;
  /** Every event with seq > afterSeq, oldest first, at most `limit`. Messages come in their current state. */
  eventsAfter(roomId: Id, afterSeq: number, limit: number): Promise<RoomEvent[]>;
  /**
   * The sequence number of the room's last message (deleted ones included) created at or before
   * `at`, or 0 when there is none: where history by time starts (IRC CHATHISTORY, MARKREAD).
   */
  seqAt(roomId: Id, at: number): Promise<number>;
  /**
   * Live (not deleted) messages of the given rooms whose body contains every term, ignoring case
   * (terms come lower-cased from core/search.ts), newest first (by createdAt, then id), older than
   * `before` when given, at most `limit`.
   */
  search(roomIds: Id[], terms: string[], q: { before?: SearchCursor; limit: number }): Promise<SearchPage>;

  close(): Promise<void>;
}

/** What travels between server processes. Room events are durable (and carry a seq); the rest is ephemeral. */
export type BusMessage =
  | { kind: "room"; event: RoomEvent }
  /** `node` is the process the typing connection is on: if it dies, its typing stops (hub.ts). */
  | { kind: "typing"; roomId: Id; accountId: Id; name: string; typing: boolean; node: string }
  /**
   * One account of a node went online or offline there. `seq` counts the node's announcements
   * (1, 2, …): a receiver that sees one skipped knows its copy of the node's list is wrong.
   */
  | { kind: "presence"; accountId: Id; name: string; online: boolean; node: string; seq: number }
  /**
   * A node's heartbeat, every few seconds: the `seq` of its latest announcement, so a node that
   * missed one notices, and a node that stops beating is known to be gone. The full list of its
   * online accounts comes only when someone needs it (the node just started or reconnected, a new
   * node appeared, or another node asked with `sync`). `gone` says the node is shutting down.
   */
  | { kind: "node"; node: string; seq: number; accounts?: { accountId: Id; name: string }[]; gone?: boolean }
  /** Asks `node` for its full list of online accounts (its next heartbeat carries it). */
  | { kind: "sync"; node: string }
  | { kind: "invited"; roomId: Id; room: string; accountId: Id; by: string }
  /** The account's read position in a room moved (on any of its connections). */
  | { kind: "read"; accountId: Id; roomId: Id; readSeq: number }
  /** A session was revoked (logout), or all of an account's (`session: null`, password change). */
  | { kind: "revoked"; accountId: Id; session: string | null };

/**
 * Fan-out between server processes. Delivery is at most once and may reorder: the core restores
 * order and fills gaps from the Store by sequence number, so a lossy bus loses nothing durable.
 */
export interface Bus {
  publish(topic: string, msg: BusMessage): Promise<void>;
  subscribe(topic: string): Promise<void>;
  unsubscribe(topic: string): Promise<void>;
  /** One handler per bus; the core installs it before subscribing to anything. */
  onMessage(handler: (topic: string, msg: BusMessage) => void): void;
  /**
   * Called after the bus lost its connection and got it back: whatever was published meanwhile
   * is lost, so the core re-reads each room's position from the store. A bus that cannot lose
   * its connection never calls it.
   */
  onReconnect(handler: () => void): void;
  close(): Promise<void>;
}

/**
 * Token buckets by limit name and key (an account, an address, a name), shared by every server
 * process that uses the same backend. `rate` comes with each call (limits are configuration).
 * Only limits that must hold across processes go through here; per-connection buckets stay local.
 */
export interface RateLimiter {
  /** Takes one token. Resolves 0 when taken, else the milliseconds until one is there (nothing taken). */
  take(limit: string, key: string, rate: Rate): Promise<number>;
  /** Milliseconds until the bucket has a token (0 when it has one), without taking it. */
  wait(limit: string, key: string, rate: Rate): Promise<number>;
  close(): Promise<void>;
}

export interface Clock {
  now(): number;
}

export interface Hasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
}

export const systemClock: Clock = { now: () => Date.now() };
