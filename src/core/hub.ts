// This process's fan-out: which local connections are in which room, fed by the Bus.
//
// The bus may lose or reorder events. The hub restores each room's sequence order before it
// delivers, and when an event is missing for longer than `gapWaitMs` it reads the gap from the
// Store once for everyone, rather than letting every connection discover the gap on its own.

import type { Bus, BusMessage, Store } from "./ports.ts";
import { Presence } from "./presence.ts";
import type { Ephemeral, Id, RoomEvent } from "./types.ts";

/** A local connection as the hub sees it (implemented by core/connection.ts). */
export interface Subscriber {
  readonly accountId: Id;
  readonly wantsPresence: boolean;
  /** The hash of the session token the connection authenticated with; null for guests and line mode. */
  readonly session: string | null;
  onRoomEvent(e: RoomEvent): void;
  onEphemeral(e: Ephemeral): void;
  /** The subscriber's account was added to a room elsewhere (a join, a direct conversation). */
  onJoined(e: RoomEvent): void;
}

interface HubRoom {
  readonly subs: Set<Subscriber>;
  /** Highest sequence delivered in order; null until read from the store. */
  lastSeq: number | null;
  readonly pending: Map<number, RoomEvent>;
  gapTimer: NodeJS.Timeout | null;
}

export const roomTopic = (roomId: Id) => `room:${roomId}`;
export const accountTopic = (accountId: Id) => `account:${accountId}`;
export const PRESENCE_TOPIC = "presence";
const GAP_PAGE = 100;

export class Hub {
  private readonly rooms = new Map<Id, HubRoom>();
  private readonly accounts = new Map<Id, Set<Subscriber>>();
  private readonly watchers = new Set<Subscriber>();
  readonly presence = new Presence();

  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    readonly node: string,
    private readonly gapWaitMs = 50,
  ) {
    bus.onMessage((topic, msg) => this.onBus(topic, msg));
    bus.onReconnect(() => void this.recheck());
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
        await this.fillGap(roomId, room);
      }),
    );
  }

  async start(): Promise<void> {
    await this.bus.subscribe(PRESENCE_TOPIC);
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
    room = { subs: new Set([sub]), lastSeq: null, pending: new Map(), gapTimer: null };
    this.rooms.set(roomId, room);
    // Subscribe before reading the position, so nothing committed in between is missed.
    await this.bus.subscribe(roomTopic(roomId));
    const stored = await this.store.getRoom(roomId);
    const last = stored?.lastSeq ?? 0;
    if (this.rooms.get(roomId) !== room) return last; // everyone left meanwhile
    room.lastSeq = Math.max(last, room.lastSeq ?? 0);
    this.drain(roomId, room);
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
    switch (msg.kind) {
      case "room":
        if (topic.startsWith("account:")) this.toAccount(msg.event);
        else this.dispatch(msg.event);
        return;
      case "typing": {
        const room = this.rooms.get(msg.roomId);
        if (!room) return;
        const e: Ephemeral = { type: "typing", roomId: msg.roomId, accountId: msg.accountId, name: msg.name, typing: msg.typing };
        for (const sub of room.subs) if (sub.accountId !== msg.accountId) sub.onEphemeral(e);
        return;
      }
      case "presence": {
        if (!this.presence.set(msg.accountId, msg.name, msg.node, msg.online)) return;
        const e: Ephemeral = { type: "presence", accountId: msg.accountId, name: msg.name, online: msg.online };
        for (const sub of this.watchers) sub.onEphemeral(e);
        return;
      }
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

  /** A membership event about one of our accounts: its connections join the room, or hear of the change. */
  private toAccount(e: RoomEvent): void {
    if (e.type !== "member") return;
    for (const sub of this.accounts.get(e.accountId) ?? []) {
      if (e.change === "join") sub.onJoined(e);
      else sub.onRoomEvent(e);
    }
  }

  private dispatch(e: RoomEvent): void {
    const room = this.rooms.get(e.roomId);
    if (!room) return;
    if (room.lastSeq !== null && e.seq <= room.lastSeq) return; // already delivered
    room.pending.set(e.seq, e);
    if (room.lastSeq !== null) this.drain(e.roomId, room);
  }

  /** Delivers pending events in sequence order; waits a little for a missing one, then reads it from the store. */
  private drain(roomId: Id, room: HubRoom): void {
    if (room.lastSeq === null) return;
    for (const seq of room.pending.keys()) if (seq <= room.lastSeq) room.pending.delete(seq);
    let next = room.pending.get(room.lastSeq + 1);
    while (next) {
      room.pending.delete(next.seq);
      room.lastSeq = next.seq;
      for (const sub of room.subs) sub.onRoomEvent(next);
      next = room.pending.get(room.lastSeq + 1);
    }
    if (room.pending.size === 0) {
      if (room.gapTimer) clearTimeout(room.gapTimer);
      room.gapTimer = null;
    } else if (!room.gapTimer) {
      room.gapTimer = setTimeout(() => void this.fillGap(roomId, room), this.gapWaitMs);
    }
  }

  /** Reads what the room is missing from the store, a page at a time, and delivers it. */
  private async fillGap(roomId: Id, room: HubRoom): Promise<void> {
    let full = false;
    try {
      const missing = await this.store.eventsAfter(roomId, room.lastSeq ?? 0, GAP_PAGE);
      for (const e of missing) if (e.seq > (room.lastSeq ?? 0)) room.pending.set(e.seq, e);
      full = missing.length === GAP_PAGE;
    } catch {
      // The store is unreachable; try again on the next timer.
    }
    room.gapTimer = null;
    if (this.rooms.get(roomId) !== room) return;
    this.drain(roomId, room);
    if (full && !room.gapTimer) await this.fillGap(roomId, room);
  }
}
