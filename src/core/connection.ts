// One client connection, whatever its protocol: what it may do, and the rooms it is following.
//
// Each followed room has a cursor, the last sequence delivered to this peer. Events reach the
// peer strictly in order: an event that does not follow the cursor means something was missed
// (a reconnect with an old position, a lost bus message), and the connection reads the missing
// events from the store before it takes live ones again. That one mechanism gives resume,
// gap-free delivery and no duplicates.

import type { ChatContext, SearchQuery, SearchResult } from "./chat.ts";
import { ChatError } from "./errors.ts";
import { accountTopic, roomTopic, type Subscriber } from "./hub.ts";
import { newId } from "./ids.ts";
import { checkBody, checkEmoji, checkRoomName, checkText, directRoomName } from "./names.ts";
import { Bucket } from "./rate-limit.ts";
import type {
  Account,
  Ephemeral,
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
} from "./types.ts";

/** The protocol side of a connection: how events reach the client. */
export interface Peer {
  /**
   * Durable events of one room: per room in sequence order, without gaps or duplicates. Usually
   * the run a store commit made, the same array for every member of the room (protocols encode
   * it once for all); not to be kept or changed.
   */
  roomEvents(run: readonly RoomEvent[]): void;
  ephemeral(e: Ephemeral): void;
  /** Resolves when the peer's outgoing buffer has room again (used while replaying history). */
  ready(): Promise<void>;
}

interface Cursor {
  seq: number;
  role: Role;
  muted: boolean;
  syncing: boolean;
  /** Highest sequence seen live while syncing: the catch-up must reach it. */
  target: number;
}

export type Moderation = "kick" | "ban" | "unban" | "mute" | "unmute" | "op" | "deop";

const PAGE = 100;
const TYPING_REPEAT_MS = 3000;

export class Connection implements Subscriber {
  readonly accountId: Id;
  private readonly rooms = new Map<Id, Cursor>();
  // An idle connection holds only its cursors: the bucket, the typing times and the joins in
  // progress are made when first needed (a bucket made then starts as full as an untouched one).
  private bucket: Bucket | null = null;
  private strikes = 0;
  private closed = false;
  private typingSent: Map<Id, number> | null = null;
  /** Rooms this connection is joining itself: the echo of its own join must not start a second follow. */
  private joining: Set<Id> | null = null;

  constructor(
    private readonly ctx: ChatContext,
    readonly account: Account,
    private readonly peer: Peer,
    readonly wantsPresence: boolean,
    readonly session: string | null,
  ) {
    this.accountId = account.id;
  }

  /**
   * Follows every room of the account; rooms with a resume position replay what was missed.
   * The cursors exist before the first await, so requests can be served at once.
   */
  async open(memberships: Membership[], resume: Record<Id, number>): Promise<void> {
    for (const m of memberships) {
      const from = resume[m.room.id];
      const seq = from === undefined ? m.room.lastSeq : Math.max(0, Math.min(from, m.room.lastSeq));
      this.rooms.set(m.room.id, { seq, role: m.role, muted: m.muted, syncing: false, target: m.room.lastSeq });
    }
    const first = await this.ctx.hub.addAccount(this);
    if (first) await this.ctx.hub.announce(this.account.id, this.account.name, true);
    await Promise.all(memberships.map((m) => this.attach(m.room.id)));
  }

  /** Joins the room's live stream, then replays whatever this cursor is behind on. */
  private async attach(roomId: Id): Promise<void> {
    const live = await this.ctx.hub.attach(this, roomId);
    const cursor = this.rooms.get(roomId);
    if (cursor && cursor.seq < live) {
      cursor.target = Math.max(cursor.target, live);
      void this.catchUp(roomId);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // A client that leaves while typing stops typing, rather than leaving the others to time it out.
    for (const roomId of [...(this.typingSent?.keys() ?? [])]) void this.typing(roomId, false).catch(() => {});
    for (const roomId of this.rooms.keys()) this.ctx.hub.detach(this, roomId);
    this.rooms.clear();
    if (this.ctx.hub.removeAccount(this)) void this.ctx.hub.announce(this.account.id, this.account.name, false).catch(() => {});
  }

  following(roomId: Id): boolean {
    return this.rooms.has(roomId);
  }

  // ---- delivery (called by the hub) ----

  onRoomEvents(events: readonly RoomEvent[]): void {
    const roomId = events[0]!.roomId;
    const cursor = this.rooms.get(roomId);
    if (!cursor) return;
    if (!cursor.syncing && events[0]!.seq === cursor.seq + 1) {
      this.apply(roomId, cursor, events);
      return;
    }
    const last = events[events.length - 1]!.seq;
    if (last <= cursor.seq) return;
    // The run may start with events this connection already has (its catch-up read them).
    const run = cursor.syncing ? [] : following(cursor.seq, events);
    if (run.length > 0) {
      this.apply(roomId, cursor, run);
      return;
    }
    cursor.target = Math.max(cursor.target, last);
    if (!cursor.syncing) void this.catchUp(roomId);
  }

  onEphemeral(e: Ephemeral): void {
    this.peer.ephemeral(e);
  }

  onJoined(e: RoomEvent): void {
    if (this.rooms.has(e.roomId)) {
      this.onRoomEvents([e]);
      return;
    }
    if (this.joining?.has(e.roomId)) return;
    // The peer hears of the room (inside follow) before any of the room's events can reach it.
    this.follow(e.roomId, e.seq - 1, true).then(
      (m) => {
        if (m) this.onRoomEvents([e]);
      },
      () => {}, // the store is unreachable; the client sees the room on its next connect
    );
  }

  /** Hands the peer `run`, which follows the cursor (consecutive sequences), in as few calls as it can. */
  private apply(roomId: Id, cursor: Cursor, run: readonly RoomEvent[]): void {
    let from = 0;
    for (let i = 0; i < run.length; i++) {
      const e = run[i]!;
      if (e.type !== "member" || e.accountId !== this.accountId) continue;
      // A change of this account's own membership changes the cursor, and a departure ends the
      // room here: the events before it go first, the change alone, and nothing after a departure.
      if (i > from) this.give(cursor, run.slice(from, i));
      if (e.change === "mute" || e.change === "unmute") cursor.muted = e.change === "mute";
      if (e.change === "role" && e.role) cursor.role = e.role;
      this.give(cursor, [e]);
      from = i + 1;
      if (isDeparture(e.change)) {
        this.rooms.delete(roomId);
        this.ctx.hub.detach(this, roomId);
        return;
      }
    }
    if (from < run.length) this.give(cursor, from === 0 ? run : run.slice(from));
  }

  private give(cursor: Cursor, run: readonly RoomEvent[]): void {
    cursor.seq = run[run.length - 1]!.seq;
    this.peer.roomEvents(run);
  }

  private async catchUp(roomId: Id): Promise<void> {
    const cursor = this.rooms.get(roomId);
    if (!cursor || cursor.syncing) return;
    cursor.syncing = true;
    try {
      for (;;) {
        const from = cursor.seq;
        const events = await this.ctx.store.eventsAfter(roomId, from, PAGE);
        if (this.rooms.get(roomId) !== cursor) return;
        const run = following(cursor.seq, events);
        if (run.length > 0) this.apply(roomId, cursor, run);
        if (this.closed || this.rooms.get(roomId) !== cursor) return;
        if (events.length < PAGE && cursor.seq >= cursor.target) return;
        // A page that moved nothing would loop forever; the next live event retries.
        if (cursor.seq === from) return;
        await this.peer.ready();
      }
    } catch {
      // The store is unreachable: try again shortly, from the same cursor.
      setTimeout(() => void this.catchUp(roomId), 1000).unref();
    } finally {
      cursor.syncing = false;
    }
  }

  /** Starts following a room this account belongs to, from `seq`; `announce` sends the peer a `joined` first. */
  private async follow(roomId: Id, seq: number, announce = false): Promise<Membership | null> {
    const member = await this.ctx.store.getMember(roomId, this.accountId);
    const room = await this.ctx.store.getRoom(roomId);
    if (!member || !room || this.closed || this.rooms.has(roomId)) return null;
    this.rooms.set(roomId, { seq, role: member.role, muted: member.muted, syncing: false, target: seq });
    const m: Membership = { room, role: member.role, muted: member.muted, readSeq: member.readSeq, unread: 0 };
    if (announce) this.peer.ephemeral({ type: "joined", membership: m });
    await this.attach(roomId);
    return m;
  }

  // ---- operations (called by protocols) ----

  async join(name: string): Promise<Membership> {
    const room = await this.roomByName(name);
    if (this.rooms.has(room.id)) {
      const member = await this.ctx.store.getMember(room.id, this.accountId);
      if (member) return { room, role: member.role, muted: member.muted, readSeq: member.readSeq, unread: 0 };
    }
    await limitAccount(this.ctx, "joins", this.accountId, "joins");
    if (this.account.guest && room.kind !== "public") throw new ChatError("GUEST_FORBIDDEN");
    if (await this.ctx.store.isBanned(room.id, this.accountId)) throw new ChatError("BANNED");
    if (room.kind === "private" && !this.account.admin && !(await this.ctx.store.isInvited(room.id, this.accountId))) {
      throw new ChatError("INVITE_ONLY");
    }
    this.checkRoomCount();
    return this.joiningRoom(room.id, async () => {
      const e = await this.commit(room.id, {
        type: "member",
        actorId: this.accountId,
        accountId: this.accountId,
        change: "join",
      });
      const m = await this.follow(room.id, e.seq - 1);
      this.onRoomEvents([e]);
      return m ?? this.membership(room, "member", false);
    });
  }

  async leave(roomId: Id): Promise<void> {
    this.cursor(roomId);
    await this.commit(roomId, { type: "member", actorId: this.accountId, accountId: this.accountId, change: "leave" });
  }

  async send(
    roomId: Id,
    body: string,
    clientId: string | null,
    replyTo: Id | null,
  ): Promise<{ message: Message; duplicate: boolean }> {
    const cursor = this.cursor(roomId);
    checkBody(body, this.ctx.limits.maxMessageBytes);
    if (cursor.muted) throw new ChatError("MUTED");
    await this.spend();
    if (replyTo !== null) {
      const parent = await this.ctx.store.getMessage(replyTo);
      if (!parent || parent.roomId !== roomId)
        throw new ChatError("NO_SUCH_MESSAGE", "the message replied to is not in this room");
    }
    const draft: EventDraft = {
      type: "message",
      id: newId(this.ctx.clock.now()),
      actorId: this.accountId,
      clientId,
      body,
      replyTo,
    };
    const { event, duplicate } = await this.ctx.append(roomId, draft);
    if (event.type !== "message") throw new ChatError("INTERNAL");
    this.typingSent?.delete(roomId);
    return { message: event.message, duplicate };
  }

  async edit(messageId: Id, body: string): Promise<RoomEvent> {
    const message = await this.ownMessage(messageId);
    checkBody(body, this.ctx.limits.maxMessageBytes);
    if (this.cursor(message.roomId).muted) throw new ChatError("MUTED");
    await this.spend();
    return this.commit(message.roomId, { type: "edit", actorId: this.accountId, messageId, body });
  }

  async remove(messageId: Id): Promise<RoomEvent> {
    const message = await this.liveMessage(messageId);
    const cursor = this.cursor(message.roomId);
    if (message.authorId !== this.accountId && !this.moderates(cursor.role)) throw new ChatError("FORBIDDEN");
    return this.commit(message.roomId, { type: "delete", actorId: this.accountId, messageId });
  }

  async react(messageId: Id, emoji: string): Promise<RoomEvent> {
    const message = await this.liveMessage(messageId);
    checkEmoji(emoji);
    if (this.cursor(message.roomId).muted) throw new ChatError("MUTED");
    await this.spend();
    return this.commit(message.roomId, { type: "react", actorId: this.accountId, messageId, emoji });
  }

  async setTopic(roomId: Id, topic: string): Promise<RoomEvent> {
    const cursor = this.cursor(roomId);
    if (!this.moderates(cursor.role)) throw new ChatError("FORBIDDEN", "only moderators set the topic");
    checkText(topic, "topics");
    if ([...topic].length > this.ctx.limits.maxTopicChars) {
      throw new ChatError("TOO_LARGE", `topics are at most ${this.ctx.limits.maxTopicChars} characters`);
    }
    return this.commit(roomId, { type: "topic", actorId: this.accountId, topic });
  }

  /**
   * Makes a room public or private (invite-only); moderators only. Members stay members; from now
   * on only invited accounts may join a private room, and guests none. Null when it is so already.
   */
  async setKind(roomId: Id, kind: "public" | "private"): Promise<RoomEvent | null> {
    const cursor = this.cursor(roomId);
    const room = await this.room(roomId);
    if (room.kind === "direct") throw new ChatError("FORBIDDEN", "direct conversations have no settings");
    if (!this.moderates(cursor.role)) throw new ChatError("FORBIDDEN", "only moderators change a room's settings");
    if (room.kind === kind) return null;
    return this.commit(roomId, { type: "settings", actorId: this.accountId, kind });
  }

  async createRoom(name: string, kind: "public" | "private", topic = ""): Promise<Membership> {
    this.checkRoomCount();
    const created = await this.ctx.createRoom(this.account, name, kind, topic);
    return this.adopt(created.room, created.events);
  }

  async invite(roomId: Id, name: string): Promise<void> {
    if (this.account.guest) throw new ChatError("GUEST_FORBIDDEN");
    this.cursor(roomId);
    const room = await this.room(roomId);
    if (room.kind === "direct") throw new ChatError("FORBIDDEN", "direct conversations have two members");
    const target = await this.ctx.store.findAccount(name);
    if (!target) throw new ChatError("NO_SUCH_ACCOUNT");
    await this.commit(roomId, { type: "member", actorId: this.accountId, accountId: target.id, change: "invite" });
    await this.ctx.bus.publish(accountTopic(target.id), {
      kind: "invited",
      roomId,
      room: room.name,
      accountId: target.id,
      by: this.account.name,
    });
  }

  async openDirect(name: string): Promise<Membership> {
    if (this.account.guest) throw new ChatError("GUEST_FORBIDDEN");
    const other = await this.ctx.store.findAccount(name);
    if (!other) throw new ChatError("NO_SUCH_ACCOUNT");
    const dmName = directRoomName(this.accountId, other.id);
    const existing = await this.ctx.store.findRoom(dmName);
    if (existing) {
      return this.joiningRoom(existing.id, async () => {
        let from = existing.lastSeq;
        for (const id of new Set([this.accountId, other.id])) {
          if (await this.ctx.store.getMember(existing.id, id)) continue;
          const e = await this.commit(existing.id, { type: "member", actorId: this.accountId, accountId: id, change: "join" });
          if (id === this.accountId) from = e.seq - 1;
        }
        const mine = this.rooms.get(existing.id);
        if (mine) return this.membership(existing, mine.role, mine.muted);
        const m = await this.follow(existing.id, from);
        if (m && from < m.room.lastSeq) void this.catchUp(existing.id);
        return m ?? this.membership(existing, "member", false);
      });
    }
    const now = this.ctx.clock.now();
    const members = [...new Set([this.accountId, other.id])].map((accountId) => ({ accountId, role: "member" as const }));
    const created = await this.ctx.store.createRoom(
      { id: newId(now), name: dmName, kind: "direct", topic: "", createdBy: this.accountId, createdAt: now },
      members,
    );
    if (!created) return this.openDirect(name); // created by the other side at the same moment
    return this.adopt(created.room, created.events);
  }

  /** `reason` is kept with kicks and bans (cut to the topic length), so every client shows the same. */
  async moderate(roomId: Id, name: string, action: Moderation, reason = ""): Promise<RoomEvent> {
    const cursor = this.cursor(roomId);
    if (!this.moderates(cursor.role)) throw new ChatError("FORBIDDEN");
    if (action === "op" || action === "deop") {
      if (cursor.role !== "owner" && !this.account.admin) throw new ChatError("FORBIDDEN", "only owners appoint moderators");
    }
    const target = (await this.ctx.store.findAccount(name)) ?? (await this.ctx.store.findGuest(name));
    if (!target) throw new ChatError("NO_SUCH_ACCOUNT");
    const member = await this.ctx.store.getMember(roomId, target.id);
    if (action !== "ban" && action !== "unban" && !member) throw new ChatError("NOT_MEMBER", `${name} is not in this room`);
    if (member?.role === "owner" && target.id !== this.accountId && !this.account.admin) {
      throw new ChatError("FORBIDDEN", "owners cannot be moderated");
    }
    // Moderators answer to the owner: otherwise any one of them could kick or ban all the others.
    if (member?.role === "moderator" && cursor.role === "moderator" && target.id !== this.accountId && !this.account.admin) {
      throw new ChatError("FORBIDDEN", "only the owner moderates moderators");
    }
    const change: MemberChange = action === "op" || action === "deop" ? "role" : action;
    const role: Role | undefined = action === "op" ? "moderator" : action === "deop" ? "member" : undefined;
    const why = change === "kick" || change === "ban" ? this.reason(reason) : "";
    return this.commit(roomId, {
      type: "member",
      actorId: this.accountId,
      accountId: target.id,
      change,
      role,
      ...(why ? { reason: why } : {}),
    });
  }

  /** The accounts banned from a room; its members may read the list. */
  async bans(roomId: Id): Promise<{ accountId: Id; name: string }[]> {
    this.cursor(roomId);
    return this.ctx.store.listBans(roomId);
  }

  async members(roomId: Id): Promise<(Member & { online: boolean })[]> {
    await this.readable(roomId);
    const members = await this.ctx.store.listMembers(roomId);
    return members.map((m) => ({ ...m, online: this.ctx.hub.presence.isOnline(m.accountId) }));
  }

  listRooms(): Promise<(Room & { members: number })[]> {
    return this.ctx.store.listPublicRooms();
  }

  online(): { accountId: Id; name: string }[] {
    return this.ctx.hub.presence.list();
  }

  async history(roomId: Id, q: { before?: number; after?: number; limit?: number }): Promise<HistoryPage> {
    return this.ctx.history(this.account, roomId, q);
  }

  search(q: SearchQuery): Promise<SearchResult> {
    return this.ctx.search(this.account, q);
  }

  /** A message (deleted ones too) in a room this account may read: how IRC turns a msgid into a position. */
  async message(messageId: Id): Promise<Message> {
    const message = await this.ctx.store.getMessage(messageId);
    if (!message) throw new ChatError("NO_SUCH_MESSAGE");
    await this.readable(message.roomId);
    return message;
  }

  /** The sequence number of the room's last message sent at or before `at` (0 if none), for history by time. */
  async seqAt(roomId: Id, at: number): Promise<number> {
    await this.readable(roomId);
    return this.ctx.store.seqAt(roomId, at);
  }

  /**
   * Moves the account's read position forward and tells all its connections (on every process),
   * this one included, with a `read` ephemeral — whatever protocol they speak.
   */
  async markRead(roomId: Id, seq: number): Promise<number> {
    this.cursor(roomId);
    const readSeq = await this.ctx.store.markRead(roomId, this.accountId, seq);
    // Best effort, like typing: a lost notice leaves another client's count stale until it reconnects.
    await this.ctx.bus
      .publish(accountTopic(this.accountId), { kind: "read", accountId: this.accountId, roomId, readSeq })
      .catch(() => {});
    return readSeq;
  }

  async typing(roomId: Id, typing: boolean): Promise<void> {
    this.cursor(roomId);
    const now = this.ctx.clock.now();
    const last = this.typingSent?.get(roomId);
    if (typing && last !== undefined && now - last < TYPING_REPEAT_MS) return;
    if (!typing && last === undefined) return;
    if (!typing) this.typingSent?.delete(roomId);
    else {
      this.typingSent ??= new Map();
      this.typingSent.set(roomId, now);
    }
    await this.ctx.bus.publish(roomTopic(roomId), {
      kind: "typing",
      roomId,
      accountId: this.accountId,
      name: this.account.name,
      typing,
      node: this.ctx.hub.node,
    });
  }

  async roomByName(name: string): Promise<Room> {
    const room = await this.ctx.store.findRoom(checkRoomName(name));
    if (!room || room.kind === "direct") throw new ChatError("NO_SUCH_ROOM");
    return room;
  }

  // ---- helpers ----

  private cursor(roomId: Id): Cursor {
    const cursor = this.rooms.get(roomId);
    if (!cursor) throw new ChatError("NOT_MEMBER");
    return cursor;
  }

  private reason(text: string): string {
    checkText(text, "reasons");
    return [...text.trim()].slice(0, this.ctx.limits.maxTopicChars).join("");
  }

  private moderates(role: Role): boolean {
    return role !== "member" || this.account.admin;
  }

  private async room(roomId: Id): Promise<Room> {
    const room = await this.ctx.store.getRoom(roomId);
    if (!room) throw new ChatError("NO_SUCH_ROOM");
    return room;
  }

  private async readable(roomId: Id): Promise<void> {
    if (!this.rooms.has(roomId)) await this.ctx.readable(this.account, roomId);
  }

  private async liveMessage(messageId: Id): Promise<Message> {
    const message = await this.ctx.store.getMessage(messageId);
    if (!message || message.deleted) throw new ChatError("NO_SUCH_MESSAGE");
    return message;
  }

  private async ownMessage(messageId: Id): Promise<Message> {
    const message = await this.liveMessage(messageId);
    if (message.authorId !== this.accountId) throw new ChatError("FORBIDDEN", "only the author edits a message");
    return message;
  }

  private membership(room: Room, role: Role, muted: boolean): Membership {
    return { room, role, muted, readSeq: room.lastSeq, unread: 0 };
  }

  /** Publishes a new room's first events and starts following it. */
  private adopt(room: Room, events: RoomEvent[]): Promise<Membership> {
    return this.joiningRoom(room.id, async () => {
      for (const e of events) await this.ctx.publish(e);
      const m = await this.follow(room.id, 0);
      if (events.length > 0) this.onRoomEvents(events);
      return m ?? this.membership(room, "owner", false);
    });
  }

  private async joiningRoom<T>(roomId: Id, work: () => Promise<T>): Promise<T> {
    this.joining ??= new Set();
    this.joining.add(roomId);
    try {
      return await work();
    } finally {
      this.joining.delete(roomId);
    }
  }

  private async commit(roomId: Id, draft: EventDraft): Promise<RoomEvent> {
    return (await this.ctx.append(roomId, draft)).event;
  }

  /** Spends one message token from this connection and from the account; persistent flooding is fatal. */
  private async spend(): Promise<void> {
    const now = this.ctx.clock.now();
    // The account's budget is shared by all its connections: a connection already over its own
    // limit must not drain it for the others.
    this.bucket ??= new Bucket(this.ctx.limits.connectionMessages, now);
    const connWait = this.bucket.take(now);
    const wait =
      connWait > 0 ? connWait : await this.ctx.limiter.take("accountMessages", this.accountId, this.ctx.limits.accountMessages);
    if (wait === 0) {
      this.strikes = 0;
      return;
    }
    this.strikes++;
    throw new ChatError("RATE_LIMITED", undefined, {
      retryAfter: wait,
      fatal: this.strikes >= this.ctx.limits.floodStrikes,
    });
  }

  private checkRoomCount(): void {
    if (this.rooms.size >= this.ctx.limits.maxRoomsPerAccount) {
      throw new ChatError("LIMIT_REACHED", `at most ${this.ctx.limits.maxRoomsPerAccount} rooms per account`);
    }
  }
}

/** Takes one of the account's tokens for `limit` (shared by every process), or throws RATE_LIMITED. */
export async function limitAccount(
  ctx: Pick<ChatContext, "limiter" | "limits">,
  limit: "joins" | "roomCreations",
  accountId: Id,
  what: string,
): Promise<void> {
  const wait = await ctx.limiter.take(limit, accountId, ctx.limits[limit]);
  if (wait > 0) throw new ChatError("RATE_LIMITED", `too many ${what}`, { retryAfter: wait });
}

/** The events of `events` (in sequence order) that follow `seq` without a gap. */
function following(seq: number, events: readonly RoomEvent[]): readonly RoomEvent[] {
  let start = 0;
  while (start < events.length && events[start]!.seq <= seq) start++;
  let end = start;
  while (end < events.length && events[end]!.seq === seq + 1 + end - start) end++;
  return start === 0 && end === events.length ? events : events.slice(start, end);
}

function isDeparture(change: MemberChange): boolean {
  return change === "leave" || change === "kick" || change === "ban";
}
