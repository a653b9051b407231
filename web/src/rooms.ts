// Client-side state of one room and how each durable event changes it. Pure: no DOM, no socket.
// The rules follow docs/protocol.md's reconnect recipe: the cursor advances only on events, an
// event at or below the cursor is a duplicate, and replayed messages already hold their current
// state, so edits, deletions and reactions are applied idempotently.

import { mentions } from "./markdown.ts";
import type { Member, Membership, Message, RoomEvent } from "./wire.ts";

export interface MemberView extends Member {
  online: boolean;
}

export interface RoomState {
  id: string;
  membership: Membership;
  /** Seq of the last event received for this room. */
  cursor: number;
  /** Events up to this seq are already counted in membership.unread (it came from welcome). */
  countedTo: number;
  /** Mentions of me (or, in a direct room, messages to me) since the read position. */
  mentions: number;
  /** Messages held in memory, sorted by seq. Only filled once the room was opened. */
  messages: Message[];
  byId: Map<string, Message>;
  loaded: "no" | "loading" | "yes";
  /** Whether older messages than messages[0] exist on the server. */
  olderMore: boolean;
  members: MemberView[] | null;
  /** accountId → typing indicator expiry (ms) and name. */
  typing: Map<string, { name: string; until: number }>;
  /** For direct rooms: the other member's name once known. */
  peer: string | null;
}

export interface Me {
  id: string;
  name: string;
}

export function newRoomState(membership: Membership): RoomState {
  return {
    id: membership.room.id,
    membership,
    cursor: membership.room.lastSeq,
    countedTo: membership.room.lastSeq,
    mentions: 0,
    messages: [],
    byId: new Map(),
    loaded: "no",
    olderMore: true,
    members: null,
    typing: new Map(),
    peer: null,
  };
}

export type EventEffect =
  | { kind: "duplicate" }
  | { kind: "applied"; incoming?: Message; mentionsMe?: boolean; removed?: boolean };

/** Applies one event; tells the caller whether it was new, and whether it brought a message for me. */
export function applyEvent(room: RoomState, e: RoomEvent, me: Me): EventEffect {
  if (e.seq <= room.cursor) return { kind: "duplicate" };
  room.cursor = e.seq;
  room.membership.room.lastSeq = Math.max(room.membership.room.lastSeq, e.seq);
  switch (e.type) {
    case "message": {
      const m = e.message;
      room.typing.delete(m.authorId);
      if (room.loaded !== "no") insertMessage(room, m);
      if (m.authorId === me.id) return { kind: "applied" };
      const forMe = room.membership.room.kind === "direct" || mentions(m.body, me.name);
      if (e.seq > room.countedTo && e.seq > room.membership.readSeq && !m.deleted) {
        room.membership.unread = Math.min(1000, room.membership.unread + 1);
        if (forMe) room.mentions++;
      }
      return { kind: "applied", incoming: m, mentionsMe: forMe };
    }
    case "edit": {
      const m = room.byId.get(e.messageId);
      if (m) {
        m.body = e.body;
        m.editedAt = e.at;
      }
      break;
    }
    case "delete": {
      const m = room.byId.get(e.messageId);
      if (m) {
        m.deleted = true;
        m.body = "";
        m.reactions = {};
      }
      break;
    }
    case "react": {
      const m = room.byId.get(e.messageId);
      if (m) {
        const names = (m.reactions[e.emoji] ?? []).filter((n) => n !== e.actor);
        if (e.on) names.push(e.actor);
        if (names.length > 0) m.reactions = { ...m.reactions, [e.emoji]: names };
        else {
          const { [e.emoji]: _, ...rest } = m.reactions;
          m.reactions = rest;
        }
      }
      break;
    }
    case "topic":
      room.membership.room.topic = e.topic;
      break;
    case "settings":
      room.membership.room.kind = e.kind;
      break;
    case "member":
      return { kind: "applied", removed: applyMember(room, e, me) };
  }
  return { kind: "applied" };
}

/** Membership changes; true when the event removed me from the room. */
function applyMember(room: RoomState, e: RoomEvent & { type: "member" }, me: Me): boolean {
  const mine = e.accountId === me.id;
  if (mine && (e.change === "leave" || e.change === "kick" || e.change === "ban")) return true;
  if (mine && e.change === "role" && e.role) room.membership.role = e.role;
  if (mine && (e.change === "mute" || e.change === "unmute")) room.membership.muted = e.change === "mute";
  if (room.membership.room.kind === "direct" && e.change === "join" && !mine) room.peer = e.name;
  const list = room.members;
  if (!list) return false;
  const i = list.findIndex((m) => m.accountId === e.accountId);
  if (e.change === "join" && i === -1) {
    list.push({
      roomId: room.id,
      accountId: e.accountId,
      name: e.name,
      role: e.role ?? "member",
      muted: false,
      joinedAt: e.at,
      readSeq: e.seq,
      online: true,
    });
    list.sort((a, b) => a.name.localeCompare(b.name));
  } else if (i !== -1) {
    const m = list[i]!;
    if (e.change === "leave" || e.change === "kick" || e.change === "ban") list.splice(i, 1);
    else if (e.change === "role" && e.role) m.role = e.role;
    else if (e.change === "mute" || e.change === "unmute") m.muted = e.change === "mute";
  }
  return false;
}

/** Inserts or replaces a message, keeping `messages` sorted by seq. */
export function insertMessage(room: RoomState, m: Message): void {
  const old = room.byId.get(m.id);
  if (old) {
    Object.assign(old, m);
    return;
  }
  room.byId.set(m.id, m);
  const list = room.messages;
  let i = list.length;
  while (i > 0 && list[i - 1]!.seq > m.seq) i--;
  list.splice(i, 0, m);
}

/** Merges a history page (messages in their current state). */
export function mergePage(room: RoomState, page: Message[], older: { more: boolean } | null): void {
  for (const m of page) insertMessage(room, m);
  if (older) room.olderMore = older.more;
  room.loaded = "yes";
}

/** The read position moved to `readSeq` (everything up to it is read). */
export function markRead(room: RoomState, readSeq: number): void {
  room.membership.readSeq = Math.max(room.membership.readSeq, readSeq);
  if (readSeq >= room.cursor) {
    room.membership.unread = 0;
    room.mentions = 0;
  }
}

/** Names of the people typing now, without expired indicators. */
export function typingNames(room: RoomState, now: number): string[] {
  const names: string[] = [];
  for (const [id, t] of room.typing) {
    if (t.until <= now) room.typing.delete(id);
    else names.push(t.name);
  }
  return names.sort();
}

/** What the sidebar shows for a room. */
export function displayName(room: RoomState): string {
  return room.membership.room.kind === "direct" ? (room.peer ?? "…") : room.membership.room.name;
}
