// Rows as both stores read them, turned into the core's types. The two stores' tables have the
// same columns (their migrations mirror each other); only booleans differ: 0/1 from SQLite,
// true/false from PostgreSQL.

import type { EventDraft, Id, Member, Message, Role, Room, RoomEvent, StoredAccount } from "../core/types.ts";

export type Row = Record<string, unknown>;

const flag = (v: unknown): boolean => v === 1 || v === true;

export function toAccount(r: Row | null | undefined): StoredAccount | null {
  if (!r) return null;
  return {
    id: r.id as Id,
    name: r.name as string,
    guest: flag(r.guest),
    admin: flag(r.admin),
    createdAt: r.created_at as number,
    passwordHash: (r.password_hash as string | null) ?? null,
    passwordChangedAt: r.password_changed_at as number,
  };
}

export function toRoom(r: Row): Room {
  return {
    id: r.id as Id,
    name: r.name as string,
    kind: r.kind as Room["kind"],
    topic: r.topic as string,
    createdBy: r.created_by as Id,
    createdAt: r.created_at as number,
    lastSeq: r.last_seq as number,
  };
}

export function toMember(r: Row): Member {
  return {
    roomId: r.room_id as Id,
    accountId: r.account_id as Id,
    name: r.name as string,
    role: r.role as Role,
    muted: flag(r.muted),
    joinedAt: r.joined_at as number,
    readSeq: r.read_seq as number,
  };
}

/** A message row with its author's name (`author`); reactions are added by the caller. */
export function toMessage(r: Row): Message {
  return {
    id: r.id as Id,
    roomId: r.room_id as Id,
    seq: r.seq as number,
    authorId: r.author_id as Id,
    author: r.author as string,
    clientId: (r.client_id as string | null) ?? null,
    body: r.body as string,
    replyTo: (r.reply_to as Id | null) ?? null,
    createdAt: r.created_at as number,
    editedAt: (r.edited_at as number | null) ?? null,
    deleted: flag(r.deleted),
    reactions: {},
  };
}

/** The event of a message just appended from `d` as number `seq` of its room. */
export function newMessageEvent(
  d: Extract<EventDraft, { type: "message" }>,
  roomId: Id,
  seq: number,
  actor: string,
  at: number,
): RoomEvent {
  const message: Message = {
    id: d.id,
    roomId,
    seq,
    authorId: d.actorId,
    author: actor,
    clientId: d.clientId,
    body: d.body,
    replyTo: d.replyTo,
    createdAt: at,
    editedAt: null,
    deleted: false,
    reactions: {},
  };
  return { roomId, seq, at, actorId: d.actorId, actor, type: "message", message };
}

export function messageEvent(m: Message): RoomEvent {
  return { roomId: m.roomId, seq: m.seq, at: m.createdAt, actorId: m.authorId, actor: m.author, type: "message", message: m };
}

/**
 * An events row; its actor's id and name are passed in because a query may name them otherwise
 * (PostgreSQL reads events in a UNION with messages, under the messages' column names).
 */
export function toEvent(r: Row, actorId: unknown = r.actor_id, actor: unknown = r.actor): RoomEvent {
  const data = JSON.parse(r.data as string) as Record<string, unknown>;
  return {
    roomId: r.room_id as Id,
    seq: r.seq as number,
    at: r.created_at as number,
    actorId: actorId as Id,
    actor: actor as string,
    type: r.type,
    ...data,
  } as RoomEvent;
}
