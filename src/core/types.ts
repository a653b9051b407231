// The chat domain's data. Plain values only: every protocol, adapter and client can import these.

export type Id = string;

export interface Account {
  id: Id;
  name: string;
  /** Guests connect with just a nickname: no password, public rooms only. */
  guest: boolean;
  admin: boolean;
  createdAt: number;
}

/** An account as the store keeps it, with what only authentication may see. */
export interface StoredAccount extends Account {
  passwordHash: string | null;
  /** Bumped on password change; sessions issued before it are dead. */
  passwordChangedAt: number;
}

export interface Session {
  tokenHash: string;
  accountId: Id;
  createdAt: number;
  expiresAt: number;
}

export type RoomKind = "public" | "private" | "direct";

export interface Room {
  id: Id;
  /** Unique, case-insensitive, without the leading '#'. Direct rooms are named `dm:<id>:<id>`. */
  name: string;
  kind: RoomKind;
  topic: string;
  createdBy: Id;
  createdAt: number;
  /** Sequence number of the room's newest event; 0 for a room with none. */
  lastSeq: number;
}

export type Role = "owner" | "moderator" | "member";

export interface Member {
  roomId: Id;
  accountId: Id;
  name: string;
  role: Role;
  muted: boolean;
  joinedAt: number;
  /** The last sequence this account has read in this room. */
  readSeq: number;
}

/** A room the account belongs to, as a client needs it on connect. */
export interface Membership {
  room: Room;
  role: Role;
  muted: boolean;
  readSeq: number;
  unread: number;
}

export interface Message {
  id: Id;
  roomId: Id;
  seq: number;
  authorId: Id;
  author: string;
  clientId: string | null;
  body: string;
  replyTo: Id | null;
  createdAt: number;
  editedAt: number | null;
  deleted: boolean;
  /** emoji → names of the accounts that reacted with it, oldest first. */
  reactions: Record<string, string[]>;
}

export type MemberChange = "join" | "leave" | "kick" | "ban" | "unban" | "mute" | "unmute" | "role" | "invite";

/** What a caller asks the store to append to a room's log; the store assigns the sequence. */
export type EventDraft =
  | {
      type: "message";
      id: Id;
      actorId: Id;
      clientId: string | null;
      body: string;
      replyTo: Id | null;
    }
  | { type: "edit"; actorId: Id; messageId: Id; body: string }
  | { type: "delete"; actorId: Id; messageId: Id }
  | { type: "react"; actorId: Id; messageId: Id; emoji: string }
  | { type: "topic"; actorId: Id; topic: string }
  | { type: "member"; actorId: Id; accountId: Id; change: MemberChange; role?: Role; reason?: string };

/**
 * A durable room event, in the room's sequence. Every member of a room sees every one of its
 * events, so a member's view of a room's sequence has no gaps.
 */
export type RoomEvent = {
  roomId: Id;
  seq: number;
  at: number;
  actorId: Id;
  actor: string;
} & (
  | { type: "message"; message: Message }
  | { type: "edit"; messageId: Id; body: string }
  | { type: "delete"; messageId: Id }
  | { type: "react"; messageId: Id; emoji: string; on: boolean }
  | { type: "topic"; topic: string }
  | {
      type: "member";
      accountId: Id;
      name: string;
      change: MemberChange;
      role: Role | null;
      /** Why a moderator kicked or banned; absent when none was given (and on events stored before reasons were kept). */
      reason?: string;
    }
);

/** Events that are not stored and carry no sequence. */
export type Ephemeral =
  | { type: "typing"; roomId: Id; accountId: Id; name: string; typing: boolean }
  | { type: "presence"; accountId: Id; name: string; online: boolean }
  | { type: "invited"; roomId: Id; room: string; by: string }
  /**
   * This account's read position in a room moved, on this or another of its connections: every
   * client of the account moves its unread count and "new messages" marker without reconnecting.
   */
  | { type: "read"; roomId: Id; readSeq: number }
  /** This account was added to a room by another connection or another person (a direct conversation). */
  | { type: "joined"; membership: Membership }
  /** The session this connection runs on was revoked: the protocol closes the connection. */
  | { type: "revoked" };

export interface HistoryPage {
  messages: Message[];
  /** True when older (for `before`) or newer (for `after`) messages remain. */
  more: boolean;
}

/** Where a page of search results starts: strictly older than this message (by time, then id). */
export interface SearchCursor {
  at: number;
  id: Id;
}

export interface SearchPage {
  /** Matching messages, newest first. */
  messages: Message[];
  /** True when older matches remain: ask again with `before` set to the last message's id. */
  more: boolean;
}
