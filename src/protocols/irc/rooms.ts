// The member lists of the rooms this gateway's IRC clients have open: one per room, shared by all
// of them. (Each client used to keep its own copy of each of its channels' members, so a channel
// of n local clients held n² entries and memory grew with the square of the clients.)
//
// A list is read from the store once, when the first local client opens the room, and then kept
// by the room's member events. The hub hands each live event to every client in the room in one
// turn: the first client to receive it applies it here, and every client renders it against the
// entry the member had just before it (kept for the last few events), as if it kept its own copy.
// A client catching up from the store may hand an event later; one already applied is not
// applied again. The list is dropped when no local client has the room open.

import type { Id, Role, RoomEvent } from "../../core/types.ts";

/** A member as a channel shows it. Entries are replaced, never changed. */
export interface ChanMember {
  readonly accountId: Id;
  readonly name: string;
  readonly role: Role;
  readonly muted: boolean;
}

export type MemberEvent = Extract<RoomEvent, { type: "member" }>;

/** How many applied events remember the entry their member had before them. */
const RECENT = 32;

export class RoomTable {
  readonly members = new Map<Id, ChanMember>();
  /** Local clients that have the channel open (shown, or being shown). */
  users = 0;
  /** Every member event up to this sequence is reflected in `members`. */
  seq = 0;
  /** The read of the list: null before it (or after it failed), true once it succeeded. */
  private state: Promise<boolean> | true | null = null;
  /** Member events that arrived during the read, applied after it. */
  private pending: MemberEvent[] = [];
  /** The last applied events' sequence numbers and their members' entries before them (a ring). */
  private readonly recentSeq: number[] = [];
  private readonly recentBefore: (ChanMember | undefined)[] = [];
  private recentNext = 0;
  /** NAMES entries sorted by name, until the list changes. */
  private sorted: ChanMember[] | null = null;
  /** Joined RPL_NAMREPLY entry runs, by variant (see namesRuns). */
  private runs = new Map<string, string[]>();
  /** The room's id, name, kind and topic as read by the clients that opened it (see share). */
  private readonly strings: string[] = [];

  /**
   * Reads the list unless it is read already (or being read); resolves to false when the store
   * could not be read (a later opener tries again). `lastSeq` is the room's newest sequence known
   * before the read starts: every event up to it is in what the read returns. The entries read
   * are kept as they are (see entry()).
   */
  load(lastSeq: number, read: () => Promise<readonly ChanMember[]>): Promise<boolean> {
    if (this.state === true) return Promise.resolve(true);
    if (this.state !== null) return this.state;
    this.seq = Math.max(this.seq, lastSeq);
    const reading = read().then(
      (list) => {
        this.members.clear();
        for (const m of list) this.members.set(m.accountId, m);
        this.changed();
        this.state = true;
        const pending = this.pending;
        this.pending = [];
        for (const e of pending) this.apply(e);
        return true;
      },
      () => {
        this.state = null;
        this.pending = [];
        return false;
      },
    );
    this.state = reading;
    return reading;
  }

  /**
   * Applies a member event once (the first client to receive it does). Before the list is read
   * the event waits for the read; while nobody reads it, the next read will include it.
   */
  apply(e: MemberEvent): void {
    if (this.state === null) return;
    if (this.state !== true) {
      this.pending.push(e);
      return;
    }
    if (e.seq <= this.seq) return;
    this.seq = e.seq;
    const before = this.members.get(e.accountId);
    this.recentSeq[this.recentNext] = e.seq;
    this.recentBefore[this.recentNext] = before;
    this.recentNext = (this.recentNext + 1) % RECENT;
    const after = changeOf(e, before);
    if (after === before) return;
    if (after === undefined) this.members.delete(e.accountId);
    else this.members.set(e.accountId, after);
    this.changed();
  }

  /**
   * The member's entry just before `e` (which is applied first if it is new). For an event too old
   * to be remembered, the entry now.
   */
  before(e: MemberEvent): ChanMember | undefined {
    this.apply(e);
    for (let i = 0; i < this.recentSeq.length; i++) if (this.recentSeq[i] === e.seq) return this.recentBefore[i];
    return this.members.get(e.accountId);
  }

  /** A guest took another name: its entry shows the new one. Returns true when it is a member. */
  rename(accountId: Id, name: string): boolean {
    const m = this.members.get(accountId);
    if (!m) return false;
    if (m.name !== name) {
      this.members.set(accountId, entry(accountId, name, m.role, m.muted));
      this.changed();
    }
    return true;
  }

  /** The members sorted by name (shared: do not change it). */
  private sortedMembers(): readonly ChanMember[] {
    this.sorted ??= [...this.members.values()].sort(byName);
    return this.sorted;
  }

  /**
   * The NAMES entries joined with spaces into runs of at most `room` bytes each (a run is one
   * RPL_NAMREPLY's last parameter), computed once per variant and kept until the list changes:
   * every client that opens a big channel gets the same lines but its nick.
   */
  namesRuns(variant: string, room: number, show: (m: ChanMember) => string): readonly string[] {
    const key = `${variant} ${room}`;
    let runs = this.runs.get(key);
    if (runs === undefined) {
      runs = joinRuns(this.sortedMembers().map(show), room);
      if (this.runs.size >= 8) this.runs.clear(); // nicks of many lengths: keep a few
      this.runs.set(key, runs);
    }
    return runs;
  }

  /**
   * `s`, or the equal string another client's channel of this room already holds: the room's id,
   * name, kind and topic come from each client's own read of the store, and n channels would
   * otherwise hold n copies of each.
   */
  share<T extends string>(s: T): T {
    for (const t of this.strings) if (t === s) return t as T;
    if (this.strings.length >= 8) this.strings.shift();
    this.strings.push(s);
    return s;
  }

  private changed(): void {
    this.sorted = null;
    if (this.runs.size > 0) this.runs = new Map();
  }
}

/** The member tables of one gateway, by room. */
export class RoomTables {
  private readonly tables = new Map<Id, RoomTable>();

  get(roomId: Id): RoomTable | undefined {
    return this.tables.get(roomId);
  }

  /** A client opens the room: its table, made on the first. */
  open(roomId: Id): RoomTable {
    let t = this.tables.get(roomId);
    if (!t) {
      t = new RoomTable();
      this.tables.set(roomId, t);
    }
    t.users++;
    return t;
  }

  /** A client closed the room (left it, or disconnected): the last one drops the table. */
  close(roomId: Id): void {
    const t = this.tables.get(roomId);
    if (!t) return;
    if (--t.users <= 0) this.tables.delete(roomId);
  }

  /** Applies a member event to its room's table, if a local client has the room open. */
  apply(e: MemberEvent): void {
    this.tables.get(e.roomId)?.apply(e);
  }

  /** Every table (for a guest's rename). */
  all(): IterableIterator<RoomTable> {
    return this.tables.values();
  }
}

/** One string per role, rather than one per row read from the store. */
const ROLES: Record<Role, Role> = { owner: "owner", moderator: "moderator", member: "member" };

export function entry(accountId: Id, name: string, role: Role, muted: boolean): ChanMember {
  return { accountId, name, role: ROLES[role] ?? role, muted };
}

/** The entry a member has after `e`, given the one before (undefined: not a member). */
function changeOf(e: MemberEvent, before: ChanMember | undefined): ChanMember | undefined {
  switch (e.change) {
    case "join":
      return before ?? entry(e.accountId, e.name, e.role ?? "member", false);
    case "leave":
    case "kick":
    case "ban":
      return undefined;
    case "mute":
    case "unmute": {
      const muted = e.change === "mute";
      return before && before.muted !== muted ? entry(before.accountId, before.name, before.role, muted) : before;
    }
    case "role": {
      const role = e.role ?? "member";
      return before && before.role !== role ? entry(before.accountId, before.name, role, before.muted) : before;
    }
    default:
      return before; // unban, invite: not about members
  }
}

export function byName(a: ChanMember, b: ChanMember): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Joins entries with spaces into runs whose bytes (each entry plus one) stay within `room`; each run has at least one entry. */
export function joinRuns(entries: string[], room: number): string[] {
  const runs: string[] = [];
  let run: string[] = [];
  let bytes = 0;
  for (const e of entries) {
    const b = Buffer.byteLength(e) + 1;
    if (run.length > 0 && bytes + b > room) {
      runs.push(run.join(" "));
      run = [];
      bytes = 0;
    }
    run.push(e);
    bytes += b;
  }
  if (run.length > 0) runs.push(run.join(" "));
  return runs;
}
