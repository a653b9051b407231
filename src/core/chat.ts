// The chat service: accounts, sessions and the room directory, and the entry point through which
// every protocol opens a Connection. No sockets and no SQL here: I/O goes through the ports.

import { Admission } from "./admission.ts";
import { Connection, limitAccount, type Peer } from "./connection.ts";
import { ChatError, toChatError } from "./errors.ts";
import { accountTopic, Hub, roomTopic } from "./hub.ts";
import { hashToken, newId, newToken } from "./ids.ts";
import { defaultLimits, type Limits } from "./limits.ts";
import { checkAccountName, checkPassword, checkRoomName, checkText, nameKey } from "./names.ts";
import { type Appended, type Bus, type Clock, type Hasher, type RateLimiter, type Store, systemClock } from "./ports.ts";
import { LocalRateLimiter } from "./rate-limit.ts";
import { searchTerms } from "./search.ts";
import type { Account, EventDraft, HistoryPage, Id, Membership, Room, RoomEvent, SearchCursor, SearchPage } from "./types.ts";

export const LOBBY = "lobby";

export interface ChatOptions {
  store: Store;
  bus: Bus;
  hasher: Hasher;
  clock?: Clock;
  limits?: Partial<Limits>;
  /** The limits that must hold across processes (per account, address, name). Default: this process's own buckets. */
  limiter?: RateLimiter;
  allowGuests?: boolean;
  /** Called after each durable append with its duration, for metrics. */
  onCommit?: (ms: number, type: RoomEvent["type"]) => void;
}

/** What a Connection needs from the service. */
export interface ChatContext {
  readonly store: Store;
  readonly bus: Bus;
  readonly hub: Hub;
  readonly clock: Clock;
  readonly limits: Limits;
  readonly limiter: RateLimiter;
  append(roomId: Id, draft: EventDraft): Promise<Appended>;
  createRoom(
    account: Account,
    name: string,
    kind: "public" | "private",
    topic: string,
  ): Promise<{ room: Room; events: RoomEvent[] }>;
  history(account: Account, roomId: Id, q: { before?: number; after?: number; limit?: number }): Promise<HistoryPage>;
  search(account: Account, q: SearchQuery): Promise<SearchResult>;
  /** Throws unless the account may read the room: members read their rooms, anyone reads a public one. */
  readable(account: Account, roomId: Id): Promise<Room>;
  publish(e: RoomEvent): Promise<void>;
}

export interface SearchQuery {
  query: string;
  /** Search this room only. */
  room?: Id;
  /** Continue after this message: the last one of the previous page. */
  before?: Id;
  limit?: number;
}

/** A page of search results with the terms the query was read as (for highlighting). */
export interface SearchResult extends SearchPage {
  terms: string[];
}

export interface Welcome {
  connection: Connection;
  rooms: Membership[];
}

export class Chat implements ChatContext {
  readonly store: Store;
  readonly bus: Bus;
  readonly hub: Hub;
  readonly clock: Clock;
  readonly limits: Limits;
  readonly limiter: RateLimiter;
  readonly allowGuests: boolean;
  /** Connections per address and in all; each protocol asks it before serving a socket. */
  readonly admission: Admission;
  private readonly hasher: Hasher;
  private readonly onCommit: ChatOptions["onCommit"];
  /** Verified against when an account does not exist, so a login takes as long either way. */
  private dummyHash: Promise<string> | null = null;

  constructor(opts: ChatOptions) {
    this.store = opts.store;
    this.bus = opts.bus;
    this.hasher = opts.hasher;
    this.clock = opts.clock ?? systemClock;
    this.limits = { ...defaultLimits, ...opts.limits };
    this.allowGuests = opts.allowGuests ?? true;
    this.onCommit = opts.onCommit;
    this.limiter = opts.limiter ?? new LocalRateLimiter(this.clock);
    this.admission = new Admission(this.limits);
    this.hub = new Hub(this.store, this.bus, newId());
  }

  /** Subscribes to the bus and makes sure #lobby exists. */
  async start(): Promise<void> {
    await this.hub.start();
    await this.lobby();
  }

  /** Stops the presence heartbeat and tells the other server processes this one is leaving. */
  async stop(): Promise<void> {
    await this.hub.stop();
  }

  // ---- accounts and sessions ----

  /**
   * `address` is the client's network address: registrations, like guest names, are limited
   * per address (`limits.registrations`). In-process callers without one are not limited.
   */
  async register(name: string, password: string, address?: string): Promise<{ account: Account; token: string }> {
    const account = await this.createAccount(name, password, address);
    return { account, token: await this.issueSession(account.id) };
  }

  /** A new account in #lobby, without a session: for protocols that log in with the password (IRC). */
  async createAccount(name: string, password: string, address?: string): Promise<Account> {
    checkAccountName(name);
    checkPassword(password);
    await this.throttleRegistration(address);
    const now = this.clock.now();
    const passwordHash = await this.hasher.hash(password);
    const account = await this.store.createAccount({ id: newId(now), name, guest: false, passwordHash, createdAt: now });
    if (!account) throw new ChatError("NAME_TAKEN");
    await this.joinLobby(account);
    return account;
  }

  async login(name: string, password: string, address?: string): Promise<{ account: Account; token: string }> {
    const account = await this.verifyPassword(name, password, address);
    return { account, token: await this.issueSession(account.id) };
  }

  /** Ends a session; connections opened with it are closed. */
  async logout(token: string): Promise<void> {
    const session = hashToken(token);
    const found = await this.store.getSession(session);
    await this.store.deleteSession(session);
    if (found) await this.revoke(found.accountId, session);
  }

  /** The account behind a session token. */
  async authenticate(token: string): Promise<Account> {
    const session = await this.store.getSession(hashToken(token));
    const now = this.clock.now();
    if (!session || session.expiresAt <= now) throw new ChatError("INVALID_TOKEN");
    const account = await this.store.getAccount(session.accountId);
    if (!account || account.passwordChangedAt > session.createdAt) throw new ChatError("INVALID_TOKEN");
    return publicAccount(account);
  }

  /** Changes a password and revokes every session of the account; returns a fresh token. */
  async changePassword(name: string, oldPassword: string, newPassword: string, address?: string): Promise<string> {
    const account = await this.verifyPassword(name, oldPassword, address);
    checkPassword(newPassword);
    const now = this.clock.now();
    await this.store.setPassword(account.id, await this.hasher.hash(newPassword), now);
    await this.store.deleteSessionsOf(account.id);
    await this.revoke(account.id, null);
    return this.issueSession(account.id);
  }

  /** A guest: just a nickname. A registered name, or a guest name that is online, cannot be taken. */
  async guest(name: string, address?: string): Promise<Account> {
    if (!this.allowGuests) throw new ChatError("GUESTS_DISABLED");
    checkAccountName(name);
    if (await this.store.findAccount(name)) throw new ChatError("NAME_TAKEN", "that name belongs to a registered account");
    const existing = await this.store.findGuest(name);
    if (existing) {
      if (this.hub.presence.isOnline(existing.id)) throw new ChatError("NAME_TAKEN", "a guest with that name is online");
      return publicAccount(existing);
    }
    // A new guest name is a new account row: limited like registrations, so names cannot be minted without end.
    await this.throttleRegistration(address);
    const now = this.clock.now();
    const account = await this.store.createAccount({ id: newId(now), name, guest: true, passwordHash: null, createdAt: now });
    if (!account) throw new ChatError("NAME_TAKEN");
    await this.joinLobby(account);
    return account;
  }

  /** A guest takes another free name (line mode's /nick). */
  async renameGuest(account: Account, name: string): Promise<Account> {
    if (!account.guest) throw new ChatError("FORBIDDEN", "registered accounts keep their name");
    checkAccountName(name);
    if (nameKey(name) !== nameKey(account.name)) {
      if (await this.store.findAccount(name)) throw new ChatError("NAME_TAKEN");
      const other = await this.store.findGuest(name);
      if (other && this.hub.presence.isOnline(other.id)) throw new ChatError("NAME_TAKEN");
    }
    if (!(await this.store.renameGuest(account.id, name))) throw new ChatError("NAME_TAKEN");
    return { ...account, name };
  }

  async listRooms(): Promise<(Room & { members: number })[]> {
    return this.store.listPublicRooms();
  }

  /** Creates a room owned by the account. The caller publishes the returned events. */
  async createRoom(
    account: Account,
    name: string,
    kind: "public" | "private",
    topic: string,
  ): Promise<{ room: Room; events: RoomEvent[] }> {
    if (account.guest) throw new ChatError("GUEST_FORBIDDEN");
    const bare = checkRoomName(name);
    checkText(topic, "topics");
    if ([...topic].length > this.limits.maxTopicChars)
      throw new ChatError("TOO_LARGE", `topics are at most ${this.limits.maxTopicChars} characters`);
    await limitAccount(this, "roomCreations", account.id, "room creations");
    if ((await this.store.memberships(account.id)).length >= this.limits.maxRoomsPerAccount) {
      throw new ChatError("LIMIT_REACHED", `at most ${this.limits.maxRoomsPerAccount} rooms per account`);
    }
    const now = this.clock.now();
    const created = await this.store.createRoom(
      { id: newId(now), name: bare, kind, topic, createdBy: account.id, createdAt: now },
      [{ accountId: account.id, role: "owner" }],
    );
    if (!created) throw new ChatError("ROOM_EXISTS");
    return created;
  }

  async history(account: Account, roomId: Id, q: { before?: number; after?: number; limit?: number }): Promise<HistoryPage> {
    if (q.before !== undefined && q.after !== undefined) throw new ChatError("BAD_REQUEST", "give before or after, not both");
    await this.readable(account, roomId);
    const limit = Math.max(1, Math.min(q.limit ?? 50, this.limits.historyPageMax));
    return this.store.history(roomId, { before: q.before, after: q.after, limit });
  }

  /**
   * Messages containing every term of the query, newest first. Without `room`, every room the
   * account is a member of is searched; with it, that room, if the account may read it.
   */
  async search(account: Account, q: SearchQuery): Promise<SearchResult> {
    const terms = searchTerms(q.query);
    const rooms =
      q.room !== undefined
        ? [(await this.readable(account, q.room)).id]
        : (await this.store.memberships(account.id)).map((m) => m.room.id);
    let before: SearchCursor | undefined;
    if (q.before !== undefined) {
      const m = await this.store.getMessage(q.before);
      if (!m || !rooms.includes(m.roomId)) {
        throw new ChatError("BAD_REQUEST", "before must be the id of a message from an earlier page of this search");
      }
      before = { at: m.createdAt, id: m.id };
    }
    const limit = Math.max(1, Math.min(q.limit ?? 20, this.limits.historyPageMax));
    return { ...(await this.store.search(rooms, terms, { before, limit })), terms };
  }

  async readable(account: Account, roomId: Id): Promise<Room> {
    const room = await this.store.getRoom(roomId);
    if (!room) throw new ChatError("NO_SUCH_ROOM");
    if (await this.store.getMember(roomId, account.id)) return room;
    if (room.kind !== "public") throw new ChatError("NOT_MEMBER");
    // A ban keeps the banned out of a public room's history too, not just out of the room.
    if (await this.store.isBanned(roomId, account.id)) throw new ChatError("BANNED");
    return room;
  }

  async findAccount(name: string): Promise<Account | null> {
    const a = await this.store.findAccount(name);
    return a && publicAccount(a);
  }

  // ---- connections ----

  /**
   * Opens a connection for an authenticated account. `resume` maps room ids to the last
   * sequence the client saw there; those rooms replay what was missed before going live.
   * `onWelcome` runs before any event can reach the peer, so a protocol can greet first.
   */
  async connect(
    account: Account,
    peer: Peer,
    opts: {
      /** The session token the client authenticated with, so revoking the session closes it. */
      token?: string;
      resume?: Record<Id, number>;
      presence?: boolean;
      onWelcome?: (connection: Connection, rooms: Membership[]) => void;
    } = {},
  ): Promise<Welcome> {
    const session = opts.token === undefined ? null : hashToken(opts.token);
    const connection = new Connection(this, account, peer, opts.presence ?? false, session);
    const rooms = await this.store.memberships(account.id);
    opts.onWelcome?.(connection, rooms);
    await connection.open(rooms, opts.resume ?? {});
    return { connection, rooms };
  }

  // ---- ChatContext ----

  /** Appends durably, then publishes. Nothing reaches any client before it is committed. */
  async append(roomId: Id, draft: EventDraft): Promise<Appended> {
    const started = performance.now();
    let appended: Appended;
    try {
      appended = await this.store.append(roomId, draft, this.clock.now());
    } catch (err) {
      throw toChatError(err);
    }
    this.onCommit?.(performance.now() - started, draft.type);
    if (!appended.duplicate) await this.publish(appended.event);
    return appended;
  }

  async publish(e: RoomEvent): Promise<void> {
    // A lost publish loses nothing durable: receivers fill gaps from the store.
    await this.bus.publish(roomTopic(e.roomId), { kind: "room", event: e }).catch(() => {});
    if (e.type === "member") await this.bus.publish(accountTopic(e.accountId), { kind: "room", event: e }).catch(() => {});
  }

  // ---- helpers ----

  /** Tells every process to close the connections of a session (or of all the account's). */
  private async revoke(accountId: Id, session: string | null): Promise<void> {
    await this.bus.publish(accountTopic(accountId), { kind: "revoked", accountId, session }).catch(() => {});
  }

  /**
   * The account if the password is right; INVALID_CREDENTIALS (taking as long) if the account or
   * password is wrong. Throttled per address (`limits.logins`, every check costs a memory-hard
   * hash) and per name (`limits.accountLogins`, failures only, so guessing one account's password
   * from many addresses is slow too); an unknown name is throttled like a known one.
   */
  async verifyPassword(name: string, password: string, address?: string): Promise<Account> {
    const nameKeyed = nameKey(name).slice(0, 64);
    const nameWait = await this.limiter.wait("accountLogins", nameKeyed, this.limits.accountLogins);
    if (nameWait > 0) {
      throw new ChatError("RATE_LIMITED", "too many failed logins for this account; retry later", { retryAfter: nameWait });
    }
    if (address !== undefined && !this.admission.isExempt(address)) {
      const wait = await this.limiter.take("logins", address, this.limits.logins);
      if (wait > 0) throw new ChatError("RATE_LIMITED", "too many login attempts from your address", { retryAfter: wait });
    }
    const account = await this.store.findAccount(name);
    // Unknown names verify against a dummy hash so that a miss takes as long as a wrong password.
    this.dummyHash ??= this.hasher.hash(newToken());
    const ok = await this.hasher.verify(account?.passwordHash ?? (await this.dummyHash), password);
    if (!account?.passwordHash || !ok) {
      await this.limiter.take("accountLogins", nameKeyed, this.limits.accountLogins);
      throw new ChatError("INVALID_CREDENTIALS");
    }
    return publicAccount(account);
  }

  private async throttleRegistration(address: string | undefined): Promise<void> {
    if (address === undefined || this.admission.isExempt(address)) return;
    const wait = await this.limiter.take("registrations", address, this.limits.registrations);
    if (wait > 0) throw new ChatError("RATE_LIMITED", "too many new accounts from your address", { retryAfter: wait });
  }

  private async issueSession(accountId: Id): Promise<string> {
    const token = newToken();
    const now = this.clock.now();
    await this.store.createSession({
      tokenHash: hashToken(token),
      accountId,
      createdAt: now,
      expiresAt: now + this.limits.sessionTtl,
    });
    return token;
  }

  private async lobby(): Promise<Room> {
    const found = await this.store.findRoom(LOBBY);
    if (found) return found;
    const now = this.clock.now();
    const created = await this.store.createRoom(
      { id: newId(now), name: LOBBY, kind: "public", topic: "Welcome to Parley", createdBy: "", createdAt: now },
      [],
    );
    return created?.room ?? (await this.lobby());
  }

  private async joinLobby(account: Account): Promise<void> {
    const lobby = await this.lobby();
    if (await this.store.getMember(lobby.id, account.id)) return;
    await this.append(lobby.id, { type: "member", actorId: account.id, accountId: account.id, change: "join" });
  }
}

function publicAccount(a: Account): Account {
  return { id: a.id, name: a.name, guest: a.guest, admin: a.admin, createdAt: a.createdAt };
}
