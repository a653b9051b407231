// The client's state and everything it does over the connection: rooms and their messages,
// the outbox of unacknowledged sends, invitations, typing and presence. Components read this
// object and re-render when it notifies them; they change it only through its methods.

import { Connection, type ConnState, RequestError } from "./connection.ts";
import { newClientId, Outbox, type OutboxEntry } from "./outbox.ts";
import { applyEvent, displayName, type Me, type MemberView, markRead, mergePage, newRoomState, type RoomState } from "./rooms.ts";
import { load, type Session, save } from "./storage.ts";
import {
  type Account,
  type Membership,
  type Message,
  normalizeMessage,
  type Results,
  type ServerFrame,
  type WireLimits,
} from "./wire.ts";

export interface Invite {
  roomId: string;
  room: string;
  by: string;
}

export interface Incoming {
  room: RoomState;
  message: Message;
  mentionsMe: boolean;
}

const PAGE = 50;
const TYPING_SHOWN_MS = 6_000;
const TYPING_REPEAT_MS = 3_000;

export class ChatClient {
  account: Account | null = null;
  limits: WireLimits | null = null;
  readonly rooms = new Map<string, RoomState>();
  activeId: string | null = null;
  /** The read position of the active room when it was opened: where "new messages" starts. */
  dividerSeq: number | null = null;
  conn: ConnState = { status: "connecting" };
  invites: Invite[] = [];
  /** Set when the server refused this session for good; the app goes back to the login screen. */
  refused: { code: string; message: string } | null = null;
  outbox = new Outbox();
  readonly drafts = new Map<string, string>();
  /** Bumped on every change, so views can memoize on it. */
  version = 0;
  onIncoming: ((i: Incoming) => void) | null = null;

  private readonly connection: Connection;
  private readonly listeners = new Set<() => void>();
  private notifyQueued = false;
  private readonly online = new Map<string, boolean>();
  private resending = false;
  private lastTypingSent = 0;
  private readTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly session: Session) {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    this.connection = new Connection({
      url: `${proto}//${location.host}/ws`,
      hello: () => ({
        type: "hello",
        ...("token" in session ? { token: session.token } : { guest: session.guest }),
        presence: true,
        // Only rooms already held in memory resume: after a reload, history loads them instead.
        resume: Object.fromEntries([...this.rooms.values()].map((r) => [r.id, r.cursor])),
      }),
      onWelcome: (w) => this.welcome(w),
      onPush: (f) => this.push(f),
      onState: (s) => {
        this.conn = s;
        this.changed();
      },
      onRefused: (code, message) => {
        this.refused = { code, message };
        this.changed();
      },
    });
    this.connection.start();
  }

  get me(): Me {
    return { id: this.account?.id ?? "", name: this.account?.name ?? "" };
  }

  get active(): RoomState | null {
    return this.activeId ? (this.rooms.get(this.activeId) ?? null) : null;
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  close(): void {
    this.connection.stop();
    clearTimeout(this.readTimer);
  }

  retryNow(): void {
    this.connection.retryNow();
  }

  /** Rooms in sidebar order: named rooms, then direct conversations, each alphabetical. */
  sortedRooms(): RoomState[] {
    return [...this.rooms.values()].sort((a, b) => {
      const da = a.membership.room.kind === "direct" ? 1 : 0;
      const db = b.membership.room.kind === "direct" ? 1 : 0;
      return da - db || displayName(a).localeCompare(displayName(b));
    });
  }

  totalUnread(): number {
    let n = 0;
    for (const r of this.rooms.values()) n += r.membership.unread;
    return n;
  }

  // ---- connection events

  private welcome(w: Extract<ServerFrame, { type: "welcome" }>): void {
    const firstWelcome = this.account === null;
    this.account = w.account;
    this.limits = w.limits;
    if (firstWelcome) this.outbox = new Outbox(load<OutboxEntry[]>(this.key("outbox"), []));
    const ids = new Set(w.rooms.map((m) => m.room.id));
    for (const id of this.rooms.keys()) if (!ids.has(id)) this.rooms.delete(id); // removed while away
    for (const m of w.rooms) {
      const known = this.rooms.get(m.room.id);
      if (known) {
        // Resumed: the replay brings events after the cursor; welcome's counts are exact.
        known.membership = { ...m, room: { ...m.room, lastSeq: Math.max(m.room.lastSeq, known.cursor) } };
        known.countedTo = m.room.lastSeq;
        known.mentions = m.unread === 0 ? 0 : known.mentions;
      } else this.rooms.set(m.room.id, newRoomState(m));
    }
    this.outbox.keepRooms(ids);
    this.saveOutbox();
    if (firstWelcome) {
      const saved = load<string | null>(this.key("active"), null);
      const lobby = [...this.rooms.values()].find((r) => r.membership.room.name.toLowerCase() === "lobby");
      const first = (saved && this.rooms.get(saved)) || lobby || this.sortedRooms()[0];
      if (first) this.open(first.id);
    } else if (this.activeId && !this.rooms.has(this.activeId)) {
      this.activeId = null;
    }
    this.loadDirectPeers();
    this.refreshMembers();
    void this.resendOutbox();
    this.changed();
  }

  private push(f: Exclude<ServerFrame, { type: "welcome" | "ok" | "error" }>): void {
    switch (f.type) {
      case "event": {
        const room = this.rooms.get(f.event.roomId);
        if (!room) return;
        const effect = applyEvent(room, f.event, this.me);
        if (effect.kind === "duplicate") return;
        if (effect.removed) this.dropRoom(room.id);
        if (f.event.type === "message" && f.event.message.authorId === this.me.id && f.event.message.clientId) {
          this.acked(f.event.message.clientId);
        }
        if (effect.incoming) {
          this.onIncoming?.({ room, message: effect.incoming, mentionsMe: effect.mentionsMe === true });
          if (room.id === this.activeId) this.scheduleRead();
        }
        break;
      }
      case "typing": {
        const room = this.rooms.get(f.roomId);
        if (!room) return;
        if (f.typing) room.typing.set(f.accountId, { name: f.name, until: Date.now() + TYPING_SHOWN_MS });
        else room.typing.delete(f.accountId);
        setTimeout(() => this.changed(), TYPING_SHOWN_MS + 50);
        break;
      }
      case "presence":
        this.online.set(f.accountId, f.online);
        for (const r of this.rooms.values())
          for (const m of r.members ?? []) if (m.accountId === f.accountId) m.online = f.online;
        break;
      case "invited":
        if (!this.invites.some((i) => i.roomId === f.roomId)) this.invites.push({ roomId: f.roomId, room: f.room, by: f.by });
        break;
      case "joined":
        if (!this.rooms.has(f.membership.room.id)) {
          const room = newRoomState(f.membership);
          // Its events start after `joined`; the member event that added me follows.
          room.cursor = f.membership.room.lastSeq - 1;
          room.countedTo = f.membership.room.lastSeq;
          this.rooms.set(room.id, room);
          if (room.membership.room.kind === "direct") this.loadDirectPeers();
        }
        break;
    }
    this.changed();
  }

  // ---- rooms

  /** Makes a room the active one and loads what it shows. */
  open(roomId: string): void {
    const room = this.rooms.get(roomId);
    if (!room) return;
    this.activeId = roomId;
    this.dividerSeq = room.membership.unread > 0 ? room.membership.readSeq : null;
    save(this.key("active"), roomId);
    if (room.loaded === "no") void this.loadNewest(room);
    if (room.members === null) void this.loadMembers(room);
    this.changed();
  }

  private async loadNewest(room: RoomState): Promise<void> {
    room.loaded = "loading";
    try {
      const page = await this.connection.request({ type: "history", room: room.id, limit: PAGE });
      mergePage(room, page.messages.map(normalizeMessage), page);
    } catch {
      room.loaded = "no"; // retried when the room is opened again or the connection comes back
    }
    this.changed();
  }

  /** Loads the page before the oldest message held; resolves false when there is none. */
  async loadOlder(roomId: string): Promise<boolean> {
    const room = this.rooms.get(roomId);
    if (room?.loaded !== "yes" || !room.olderMore) return false;
    const before = room.messages[0]?.seq ?? room.cursor + 1;
    const page = await this.connection.request({ type: "history", room: roomId, before, limit: 100 }).catch(() => null);
    if (!page) return false;
    mergePage(room, page.messages.map(normalizeMessage), page);
    this.changed();
    return true;
  }

  private async loadMembers(room: RoomState): Promise<void> {
    const r = await this.connection.request({ type: "members", room: room.id }).catch(() => null);
    if (!r) return;
    room.members = r.members.map((m) => ({ ...m, online: this.online.get(m.accountId) ?? m.online }));
    this.notePeer(room, room.members);
    this.changed();
  }

  private refreshMembers(): void {
    for (const r of this.rooms.values()) r.members = null;
    const active = this.active;
    if (active) {
      if (active.loaded === "no") void this.loadNewest(active);
      void this.loadMembers(active);
    }
  }

  private loadDirectPeers(): void {
    for (const room of this.rooms.values()) {
      if (room.membership.room.kind !== "direct" || room.peer) continue;
      void this.connection
        .request({ type: "members", room: room.id })
        .then((r) => this.notePeer(room, r.members))
        .catch(() => undefined)
        .finally(() => this.changed());
    }
  }

  private notePeer(room: RoomState, members: { accountId: string; name: string }[]): void {
    if (room.membership.room.kind !== "direct") return;
    room.peer = members.find((m) => m.accountId !== this.me.id)?.name ?? this.me.name;
  }

  private dropRoom(roomId: string): void {
    this.rooms.delete(roomId);
    this.outbox.keepRooms(new Set(this.rooms.keys()));
    this.saveOutbox();
    if (this.activeId === roomId) {
      this.activeId = null;
      const next = this.sortedRooms()[0];
      if (next) this.open(next.id);
    }
  }

  /** Tells the server everything in the active room is read (the log calls this while at the bottom). */
  readActive(): void {
    const room = this.active;
    if (!room || (room.membership.unread === 0 && room.membership.readSeq >= room.cursor)) return;
    if (document.visibilityState !== "visible") return;
    markRead(room, room.cursor);
    this.changed();
    void this.connection.request({ type: "read", room: room.id, seq: room.cursor }).catch(() => undefined);
  }

  private scheduleRead(): void {
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => this.changed(), 50);
  }

  // ---- sending

  send(roomId: string, body: string, replyTo: string | null): void {
    const entry: OutboxEntry = { clientId: newClientId(), roomId, body, replyTo, createdAt: Date.now() };
    this.outbox.add(entry);
    this.saveOutbox();
    this.lastTypingSent = 0;
    this.changed();
    if (!this.resending) void this.deliver(entry);
  }

  discard(clientId: string): void {
    this.outbox.remove(clientId);
    this.saveOutbox();
    this.changed();
  }

  private async deliver(e: OutboxEntry): Promise<void> {
    try {
      const r = await this.connection.request({
        type: "send",
        room: e.roomId,
        clientId: e.clientId,
        body: e.body,
        ...(e.replyTo ? { replyTo: e.replyTo } : {}),
      });
      this.insertOwn(r);
      this.acked(e.clientId);
    } catch (err) {
      const code = err instanceof RequestError ? err.code : "INTERNAL";
      // Offline or rate limited: it stays in the outbox and is resent (same clientId) later.
      if (code === "OFFLINE" || code === "UNAVAILABLE") return;
      if (code === "RATE_LIMITED") {
        setTimeout(() => void this.deliver(e), (err as RequestError).retryAfter ?? 1000);
        return;
      }
      this.outbox.fail(e.clientId, code);
      this.saveOutbox();
      this.changed();
    }
  }

  private insertOwn(r: Results["send"]): void {
    const room = this.rooms.get(r.message.roomId);
    // The event normally arrives first and inserts it; the reply alone must not move the cursor.
    if (room && room.loaded !== "no" && !room.byId.has(r.messageId) && r.seq <= room.cursor) {
      mergePage(room, [normalizeMessage(r.message)], null);
    }
  }

  private acked(clientId: string): void {
    if (this.outbox.remove(clientId)) {
      this.saveOutbox();
      this.changed();
    }
  }

  /** After (re)connecting: resend every unacknowledged message, in order, with its clientId. */
  private async resendOutbox(): Promise<void> {
    if (this.resending) return;
    this.resending = true;
    try {
      for (const e of this.outbox.pending()) {
        if (!this.connection.online) break;
        await this.deliver(e);
      }
    } finally {
      this.resending = false;
    }
  }

  private saveOutbox(): void {
    if (this.account) save(this.key("outbox"), this.outbox.toJSON().length > 0 ? this.outbox : undefined);
  }

  typing(roomId: string, active: boolean): void {
    const now = Date.now();
    if (active && now - this.lastTypingSent < TYPING_REPEAT_MS) return;
    if (!active && this.lastTypingSent === 0) return;
    this.lastTypingSent = active ? now : 0;
    void this.connection.request({ type: "typing", room: roomId, typing: active }).catch(() => undefined);
  }

  // ---- other requests (they reject with RequestError; dialogs show the error)

  edit(messageId: string, body: string): Promise<unknown> {
    return this.connection.request({ type: "edit", message: messageId, body });
  }

  remove(messageId: string): Promise<unknown> {
    return this.connection.request({ type: "delete", message: messageId });
  }

  react(messageId: string, emoji: string): Promise<unknown> {
    return this.connection.request({ type: "react", message: messageId, emoji });
  }

  setTopic(roomId: string, topic: string): Promise<unknown> {
    return this.connection.request({ type: "topic", room: roomId, topic });
  }

  async create(name: string, topic: string, isPrivate: boolean): Promise<void> {
    const r = await this.connection.request({ type: "create", name, topic, private: isPrivate });
    this.adopt(r.membership);
  }

  async join(name: string): Promise<void> {
    const r = await this.connection.request({ type: "join", room: name });
    this.invites = this.invites.filter((i) => i.room.toLowerCase() !== name.replace(/^#/, "").toLowerCase());
    this.adopt(r.membership);
  }

  async direct(name: string): Promise<void> {
    const r = await this.connection.request({ type: "direct", account: name });
    this.adopt(r.membership);
    const room = this.rooms.get(r.membership.room.id);
    if (room) room.peer = name;
  }

  async leave(roomId: string): Promise<void> {
    await this.connection.request({ type: "leave", room: roomId });
    if (this.rooms.has(roomId)) this.dropRoom(roomId);
    this.changed();
  }

  invite(roomId: string, name: string): Promise<unknown> {
    return this.connection.request({ type: "invite", room: roomId, account: name });
  }

  dismissInvite(roomId: string): void {
    this.invites = this.invites.filter((i) => i.roomId !== roomId);
    this.changed();
  }

  listRooms(): Promise<Results["rooms"]> {
    return this.connection.request({ type: "rooms" });
  }

  /** A room I just joined, created or opened by request: follow it and show it. */
  private adopt(m: Membership): void {
    if (!this.rooms.has(m.room.id)) {
      const room = newRoomState(m);
      // The join event may still be on its way (its order against the ok is not fixed).
      room.cursor = Math.min(room.cursor, m.readSeq);
      this.rooms.set(room.id, room);
    }
    this.open(m.room.id);
  }

  members(room: RoomState): MemberView[] {
    return room.members ?? [];
  }

  // ---- plumbing

  private key(what: string): string {
    return `parley.${what}.${this.account?.id ?? "anon"}`;
  }

  changed(): void {
    this.version++;
    if (this.notifyQueued) return;
    this.notifyQueued = true;
    queueMicrotask(() => {
      this.notifyQueued = false;
      for (const fn of this.listeners) fn();
    });
  }
}
