// This process's fan-out: which local connections are in which room, fed by the Bus.
//
// The bus may lose or reorder events. The hub restores each room's sequence order before it
// delivers, and when an event is missing for longer than `gapWaitMs` it reads the gap from the
// Store once for everyone, rather than letting every connection discover the gap on its own.

import type { Bus, BusMessage, Store } from "./ports.ts";
import { Presence, type PresenceChange } from "./presence.ts";
import type { Ephemeral, Id, RoomEvent } from "./types.ts";

/** A local connection as the hub sees it (implemented by core/connection.ts). */
export interface Subscriber {
  readonly accountId: Id;
  readonly wantsPresence: boolean;
  /** The hash of the session token the connection authenticated with; null for guests and line mode. */
  readonly session: string | null;
  /**
   * A run of one room's events: consecutive sequences, in order (at least one). The hub hands a
   * room's new events to each subscriber in one call rather than one call per event: with 1,000
   * members the walk over the subscribers, not the events, is what costs.
   */
  onRoomEvents(events: readonly RoomEvent[]): void;
  onEphemeral(e: Ephemeral): void;
  /** The subscriber's account was added to a room elsewhere (a join, a direct conversation). */
  onJoined(e: RoomEvent): void;
}

interface HubRoom {
  readonly id: Id;
  readonly subs: Set<Subscriber>;
  /** Highest sequence delivered in order; null until read from the store. */
  lastSeq: number | null;
  readonly pending: Map<number, RoomEvent>;
  gapTimer: NodeJS.Timeout | null;
  /** In `Hub.queued`: its pending events are delivered at the end of this batch of bus messages. */
  queued: boolean;
}

export const roomTopic = (roomId: Id) => `room:${roomId}`;
export const accountTopic = (accountId: Id) => `account:${accountId}`;
export const PRESENCE_TOPIC = "presence";
const GAP_PAGE = 100;

export interface HubOptions {
  /** How long a missing event is waited for before it is read from the store. Default 50 ms. */
  gapWaitMs?: number;
  /** How often this node sends its heartbeat (its online accounts). Default 1500 ms. */
  heartbeatMs?: number;
  /** A node not heard from for this long is dropped with its accounts. Default 6000 ms. */
  nodeTimeoutMs?: number;
}

/**
 * How long another node's "typing" is remembered without being repeated (clients repeat it every
 * 3 s and stop showing it after 6 s). Only to stop it when its node dies; see typingStops().
 */
const TYPING_KEPT_MS = 10_000;

interface Typing {
  roomId: Id;
  accountId: Id;
  name: string;
  at: number;
}

export class Hub {
  private readonly rooms = new Map<Id, HubRoom>();
  private readonly accounts = new Map<Id, Set<Subscriber>>();
  private readonly watchers = new Set<Subscriber>();
  /** Listeners to every presence change (a gateway that keeps one online list for all its clients). */
  private readonly presenceListeners = new Set<(change: PresenceChange) => void>();
  readonly presence = new Presence();
  private readonly gapWaitMs: number;
  private readonly heartbeatMs: number;
  private readonly nodeTimeoutMs: number;
  /** Other nodes, with when they were last heard from. */
  private readonly nodesSeen = new Map<string, number>();
  /** Who is typing on each other node, by room and account: stopped when that node dies. */
  private readonly typingOn = new Map<string, Map<string, Typing>>();
  /** When this node's own heartbeat last came back through the bus: the bus works. */
  private ownHeardAt = 0;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  /** This node's announcements so far (the seq of the latest). */
  private ownSeq = 0;
  /** The next heartbeat carries the full list of this node's accounts (see BusMessage "node"). */
  private fullDue = true;
  private fullPending = false;
  /** Each other node's announcement seq that our copy of its list is up to date with. */
  private readonly seqOf = new Map<string, number>();
  /** When we last asked each node for its full list: asked again only after a heartbeat's time. */
  private readonly syncAskedAt = new Map<string, number>();
  private stopped = false;
  /**
   * Rooms with events from the bus not yet delivered. A store commit resolves its appends together
   * and each is published on its own, so they come as separate bus messages in a row (microtasks
   * of the local bus, one socket read of Redis): the hub delivers them a microtask after the
   * first, as one run per room. Any other bus message delivers the queued rooms first, so the
   * order between a room's events and what follows them on the bus (typing, a kick's copy on the
   * account topic) stays the bus's order.
   */
  private readonly queued: HubRoom[] = [];

  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    readonly node: string,
    opts: HubOptions = {},
  ) {
    this.gapWaitMs = opts.gapWaitMs ?? 50;
    this.heartbeatMs = opts.heartbeatMs ?? 1500;
    this.nodeTimeoutMs = opts.nodeTimeoutMs ?? 6000;
    bus.onMessage((topic, msg) => this.onBus(topic, msg));
    bus.onReconnect(() => {
      void this.recheck();
      this.sendFullSoon();
    });
  }

  /**
   * After the bus reconnected, events published meanwhile are gone: compare every followed room
   * with the store and read what was missed, so even a room that stays quiet afterwards catches up.
   */
  async recheck(): Promise<void> {
    await Promise.all(
      [...this.rooms].map(async ([roomId, room]) => {
        const stored = await this.store.getRoom(roomId).catch(() => null);
        if (!stored || room.lastSeq === null || stored.lastSeq <= room.lastSeq || this.rooms.get(roomId) !== room) return;
        if (room.gapTimer) clearTimeout(room.gapTimer);
        room.gapTimer = null;
        await this.fillGap(room);
      }),
    );
  }

  async start(): Promise<void> {
    await this.bus.subscribe(PRESENCE_TOPIC);
    await this.heartbeat();
    this.heartbeatTimer = setInterval(() => {
      this.sweep();
      void this.heartbeat();
    }, this.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  /** Stops the heartbeat and tells the other nodes this one is leaving. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    await this.bus.publish(PRESENCE_TOPIC, { kind: "node", node: this.node, seq: this.ownSeq, gone: true }).catch(() => {});
  }

  /**
   * This node's own presence change (its first connection of an account opened, or its last one
   * closed). Applied here at once, so it does not depend on the bus; the bus tells the others.
   * A lost announcement is repaired by the next heartbeat: its seq tells the others to ask for the list.
   */
  async announce(accountId: Id, name: string, online: boolean): Promise<void> {
    if (this.presence.set(accountId, name, this.node, online)) this.notify([{ accountId, name, online }]);
    const seq = ++this.ownSeq;
    await this.bus.publish(PRESENCE_TOPIC, { kind: "presence", accountId, name, online, node: this.node, seq }).catch(() => {});
  }

  /**
   * Tells the other nodes this node is alive and the seq of its latest announcement; the full
   * list of its accounts only when due. Nobody needs the list otherwise: with 10,000 accounts
   * online it was ~600 KB built, sent and parsed on every node at every beat.
   */
  private async heartbeat(): Promise<void> {
    if (this.stopped) return;
    const { node, ownSeq: seq } = this;
    const msg: BusMessage = this.fullDue
      ? { kind: "node", node, seq, accounts: this.presence.accountsOf(node) }
      : { kind: "node", node, seq };
    this.fullDue = false;
    await this.bus.publish(PRESENCE_TOPIC, msg).catch(() => {});
  }

  /** Sends the full list now rather than at the next beat (once for everything asked in this turn). */
  private sendFullSoon(): void {
    this.fullDue = true;
    if (this.fullPending) return;
    this.fullPending = true;
    queueMicrotask(() => {
      this.fullPending = false;
      if (this.fullDue) void this.heartbeat();
    });
  }

  /** Our copy of `node`'s list may be wrong: ask it for the full list (at most once per heartbeat period). */
  private askSync(node: string): void {
    const now = Date.now();
    if (now - (this.syncAskedAt.get(node) ?? Number.NEGATIVE_INFINITY) < this.heartbeatMs) return;
    this.syncAskedAt.set(node, now);
    void this.bus.publish(PRESENCE_TOPIC, { kind: "sync", node }).catch(() => {});
  }

  /**
   * Drops the nodes that stopped beating. Only while this node's own heartbeat comes back: when
   * the bus itself is down, silence says nothing about the other nodes.
   */
  private sweep(): void {
    const now = Date.now();
    if (now - this.ownHeardAt > this.nodeTimeoutMs) return;
    for (const [node, seen] of this.nodesSeen) {
      if (now - seen <= this.nodeTimeoutMs) continue;
      this.dropNode(node);
    }
    for (const [node, typing] of this.typingOn) {
      for (const [key, t] of typing) if (now - t.at > TYPING_KEPT_MS) typing.delete(key);
      if (typing.size === 0) this.typingOn.delete(node);
    }
  }

  /** A node stopped or died: its accounts go offline (unless elsewhere) and whoever typed there stops. */
  private dropNode(node: string): void {
    this.nodesSeen.delete(node);
    this.seqOf.delete(node);
    this.syncAskedAt.delete(node);
    this.notify(this.presence.dropNode(node));
    const typing = this.typingOn.get(node);
    this.typingOn.delete(node);
    for (const { roomId, accountId, name } of typing?.values() ?? []) {
      this.toRoom(roomId, accountId, { type: "typing", roomId, accountId, name, typing: false });
    }
  }

  private onNode(msg: Extract<BusMessage, { kind: "node" }>): void {
    if (msg.node === this.node) {
      this.ownHeardAt = Date.now();
      return;
    }
    if (msg.gone) {
      this.dropNode(msg.node);
      return;
    }
    const known = this.nodesSeen.has(msg.node);
    this.nodesSeen.set(msg.node, Date.now());
    if (msg.accounts) {
      this.notify(this.presence.replaceNode(msg.node, msg.accounts));
      this.seqOf.set(msg.node, msg.seq);
      this.syncAskedAt.delete(msg.node);
    } else if (this.seqOf.get(msg.node) !== msg.seq) {
      this.askSync(msg.node);
    }
    // A node we had not heard of (just started, or back after a partition) learns about us now
    // rather than at our next beat.
    if (!known) this.sendFullSoon();
  }

  /** Another node's announcement: applied at once; one that skips a seq means we missed one. */
  private onAnnounce(msg: Extract<BusMessage, { kind: "presence" }>): void {
    if (!this.nodesSeen.has(msg.node)) this.nodesSeen.set(msg.node, Date.now());
    const known = this.seqOf.get(msg.node);
    if (known !== undefined && msg.seq <= known) return; // already in the list we have
    if (this.presence.set(msg.accountId, msg.name, msg.node, msg.online)) {
      this.notify([{ accountId: msg.accountId, name: msg.name, online: msg.online }]);
    }
    if (known !== undefined && msg.seq === known + 1) this.seqOf.set(msg.node, msg.seq);
    else this.askSync(msg.node);
  }

  private notify(changes: PresenceChange[]): void {
    for (const { accountId, name, online } of changes) {
      for (const listener of this.presenceListeners) listener({ accountId, name, online });
      const e: Ephemeral = { type: "presence", accountId, name, online };
      for (const sub of this.watchers) sub.onEphemeral(e);
    }
  }

  /**
   * Calls `listener` with every change of presence from now on, once per change, before the
   * watching connections get it. Returns the function that stops it.
   */
  onPresence(listener: (change: PresenceChange) => void): () => void {
    this.presenceListeners.add(listener);
    return () => this.presenceListeners.delete(listener);
  }

  /**
   * Adds a connection to a room. Resolves once the room's live stream is flowing, with the last
   * sequence known then: the connection catches up to it from the store if it is behind.
   */
  async attach(sub: Subscriber, roomId: Id): Promise<number> {
    let room = this.rooms.get(roomId);
    if (room) {
      room.subs.add(sub);
      if (room.lastSeq !== null) return room.lastSeq;
      const stored = await this.store.getRoom(roomId);
      return Math.max(stored?.lastSeq ?? 0, room.lastSeq ?? 0);
    }
    room = { id: roomId, subs: new Set([sub]), lastSeq: null, pending: new Map(), gapTimer: null, queued: false };
    this.rooms.set(roomId, room);
    // Subscribe before reading the position, so nothing committed in between is missed.
    await this.bus.subscribe(roomTopic(roomId));
    const stored = await this.store.getRoom(roomId);
    const last = stored?.lastSeq ?? 0;
    if (this.rooms.get(roomId) !== room) return last; // everyone left meanwhile
    room.lastSeq = Math.max(last, room.lastSeq ?? 0);
    this.drain(room);
    return room.lastSeq;
  }

  detach(sub: Subscriber, roomId: Id): void {
    const room = this.rooms.get(roomId);
    if (!room?.subs.delete(sub) || room.subs.size > 0) return;
    if (room.gapTimer) clearTimeout(room.gapTimer);
    this.rooms.delete(roomId);
    void this.bus.unsubscribe(roomTopic(roomId)).catch(() => {});
  }

  /** Registers a connection of an account. Returns true for the account's first local connection. */
  async addAccount(sub: Subscriber): Promise<boolean> {
    if (sub.wantsPresence) this.watchers.add(sub);
    const subs = this.accounts.get(sub.accountId);
    if (subs) {
      subs.add(sub);
      return false;
    }
    this.accounts.set(sub.accountId, new Set([sub]));
    await this.bus.subscribe(accountTopic(sub.accountId));
    return true;
  }

  /** Returns true when that was the account's last local connection. */
  removeAccount(sub: Subscriber): boolean {
    this.watchers.delete(sub);
    const subs = this.accounts.get(sub.accountId);
    if (!subs?.delete(sub) || subs.size > 0) return false;
    this.accounts.delete(sub.accountId);
    void this.bus.unsubscribe(accountTopic(sub.accountId)).catch(() => {});
    return true;
  }

  localConnections(): number {
    let n = 0;
    for (const subs of this.accounts.values()) n += subs.size;
    return n;
  }

  private onBus(topic: string, msg: BusMessage): void {
    const toRoom = msg.kind === "room" && !topic.startsWith("account:");
    if (!toRoom && this.queued.length > 0) this.deliverQueued();
    switch (msg.kind) {
      case "room":
        if (toRoom) this.dispatch(msg.event);
        else this.toAccount(msg.event);
        return;
      case "typing":
        if (msg.node !== this.node) this.rememberTyping(msg);
        this.toRoom(msg.roomId, msg.accountId, {
          type: "typing",
          roomId: msg.roomId,
          accountId: msg.accountId,
          name: msg.name,
          typing: msg.typing,
        });
        return;
      case "presence":
        // Our own announcements were applied when made (announce); an echo may be stale by now.
        if (msg.node !== this.node) this.onAnnounce(msg);
        return;
      case "node":
        this.onNode(msg);
        return;
      case "sync":
        if (msg.node === this.node) this.sendFullSoon();
        return;
      case "revoked":
        for (const sub of this.accounts.get(msg.accountId) ?? []) {
          if (msg.session === null || sub.session === msg.session) sub.onEphemeral({ type: "revoked" });
        }
        return;
      case "invited": {
        const e: Ephemeral = { type: "invited", roomId: msg.roomId, room: msg.room, by: msg.by };
        for (const sub of this.accounts.get(msg.accountId) ?? []) sub.onEphemeral(e);
        return;
      }
      case "read": {
        const e: Ephemeral = { type: "read", roomId: msg.roomId, readSeq: msg.readSeq };
        for (const sub of this.accounts.get(msg.accountId) ?? []) sub.onEphemeral(e);
        return;
      }
    }
  }

  /** Remembers who types on another node, so that their typing can be stopped if the node dies. */
  private rememberTyping(msg: Extract<BusMessage, { kind: "typing" }>): void {
    const key = `${msg.roomId} ${msg.accountId}`;
    let typing = this.typingOn.get(msg.node);
    if (!msg.typing) {
      typing?.delete(key);
      return;
    }
    if (!this.rooms.has(msg.roomId)) return; // nobody here to tell
    if (!typing) {
      typing = new Map();
      this.typingOn.set(msg.node, typing);
    }
    typing.set(key, { roomId: msg.roomId, accountId: msg.accountId, name: msg.name, at: Date.now() });
  }

  /** An ephemeral about a room, to the room's local subscribers but the account it is about. */
  private toRoom(roomId: Id, accountId: Id, e: Ephemeral): void {
    for (const sub of this.rooms.get(roomId)?.subs ?? []) if (sub.accountId !== accountId) sub.onEphemeral(e);
  }

  /** A membership event about one of our accounts: its connections join the room, or hear of the change. */
  private toAccount(e: RoomEvent): void {
    if (e.type !== "member") return;
    for (const sub of this.accounts.get(e.accountId) ?? []) {
      if (e.change === "join") sub.onJoined(e);
      else sub.onRoomEvents([e]);
    }
  }

  private dispatch(e: RoomEvent): void {
    const room = this.rooms.get(e.roomId);
    if (!room) return;
    if (room.lastSeq !== null && e.seq <= room.lastSeq) return; // already delivered
    room.pending.set(e.seq, e);
    if (room.lastSeq === null || room.queued) return;
    room.queued = true;
    if (this.queued.length === 0) queueMicrotask(() => this.deliverQueued());
    this.queued.push(room);
  }

  /** Delivers the rooms queued by dispatch (see `queued`). */
  private deliverQueued(): void {
    for (const room of this.queued.splice(0)) {
      room.queued = false;
      if (this.rooms.get(room.id) === room) this.drain(room);
    }
  }

  /** Delivers pending events in sequence order; waits a little for a missing one, then reads it from the store. */
  private drain(room: HubRoom): void {
    if (room.lastSeq === null) return;
    for (const seq of room.pending.keys()) if (seq <= room.lastSeq) room.pending.delete(seq);
    const run: RoomEvent[] = [];
    let next = room.pending.get(room.lastSeq + 1);
    while (next) {
      room.pending.delete(next.seq);
      room.lastSeq = next.seq;
      run.push(next);
      next = room.pending.get(room.lastSeq + 1);
    }
    // One call per subscriber for the whole run; the same array for all (protocols encode it once).
    if (run.length > 0) for (const sub of room.subs) sub.onRoomEvents(run);
    if (room.pending.size === 0) {
      if (room.gapTimer) clearTimeout(room.gapTimer);
      room.gapTimer = null;
    } else if (!room.gapTimer) {
      room.gapTimer = setTimeout(() => void this.fillGap(room), this.gapWaitMs);
    }
  }

  /** Reads what the room is missing from the store, a page at a time, and delivers it. */
  private async fillGap(room: HubRoom): Promise<void> {
    let full = false;
    try {
      const missing = await this.store.eventsAfter(room.id, room.lastSeq ?? 0, GAP_PAGE);
      for (const e of missing) if (e.seq > (room.lastSeq ?? 0)) room.pending.set(e.seq, e);
      full = missing.length === GAP_PAGE;
    } catch {
      // The store is unreachable; try again on the next timer.
    }
    room.gapTimer = null;
    if (this.rooms.get(room.id) !== room) return;
    this.drain(room);
    if (full && !room.gapTimer) await this.fillGap(room);
  }
}
