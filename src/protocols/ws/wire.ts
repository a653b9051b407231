// The WebSocket JSON protocol (`/ws`), defined once. Server and clients import these types;
// the server also checks every inbound frame against the schemas. docs/protocol.md explains
// each frame with an example. No `node:` imports here: the browser client imports this file.

import Type from "typebox";
import type { ErrorCode } from "../../core/errors.ts";
import type {
  Account,
  Ephemeral,
  HistoryPage,
  Member,
  Membership,
  Message,
  Room,
  RoomEvent,
  SearchPage,
} from "../../core/types.ts";

// The data the frames carry, re-exported so that clients take every wire type from this module.
export type { Account, ErrorCode, HistoryPage, Member, Membership, Message, Room, RoomEvent };

const Id = Type.String({ minLength: 1, maxLength: 64 });
const RequestId = Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Integer()]));
const Seq = Type.Integer({ minimum: 0 });
const Name = Type.String({ minLength: 1, maxLength: 64 });
const Text = Type.String({ maxLength: 65536 });

const frame = <T extends string, P extends Type.TProperties>(type: T, props: P) =>
  Type.Object({ type: Type.Literal(type), id: RequestId, ...props }, { additionalProperties: false });

export const ClientFrameSchema = Type.Union([
  frame("hello", {
    token: Type.Optional(Type.String({ maxLength: 256 })),
    guest: Type.Optional(Name),
    /** room id → last sequence seen there */
    resume: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Seq)),
    presence: Type.Optional(Type.Boolean()),
  }),
  frame("join", { room: Name }),
  frame("leave", { room: Id }),
  frame("send", {
    room: Id,
    clientId: Type.String({ minLength: 1, maxLength: 64 }),
    body: Text,
    replyTo: Type.Optional(Id),
  }),
  frame("edit", { message: Id, body: Text }),
  frame("delete", { message: Id }),
  frame("react", { message: Id, emoji: Type.String({ minLength: 1, maxLength: 64 }) }),
  frame("topic", { room: Id, topic: Type.String({ maxLength: 4096 }) }),
  frame("settings", { room: Id, private: Type.Boolean() }),
  frame("create", { name: Name, private: Type.Optional(Type.Boolean()), topic: Type.Optional(Type.String({ maxLength: 4096 })) }),
  frame("invite", { room: Id, account: Name }),
  frame("direct", { account: Name }),
  frame("moderate", {
    room: Id,
    account: Name,
    action: Type.Union([
      Type.Literal("kick"),
      Type.Literal("ban"),
      Type.Literal("unban"),
      Type.Literal("mute"),
      Type.Literal("unmute"),
      Type.Literal("op"),
      Type.Literal("deop"),
    ]),
    reason: Type.Optional(Type.String({ maxLength: 4096 })),
  }),
  frame("members", { room: Id }),
  frame("online", {}),
  frame("rooms", {}),
  frame("history", {
    room: Id,
    before: Type.Optional(Seq),
    after: Type.Optional(Seq),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  }),
  frame("search", {
    query: Type.String({ maxLength: 1024 }),
    room: Type.Optional(Id),
    before: Type.Optional(Id),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  }),
  frame("read", { room: Id, seq: Seq }),
  frame("typing", { room: Id, typing: Type.Boolean() }),
  frame("ping", {}),
]);

export type ClientFrame = Type.Static<typeof ClientFrameSchema>;
export type ClientFrameType = ClientFrame["type"];
export type RequestIdValue = string | number;

/** What each request's `ok` reply carries in `result`. */
export interface Results {
  hello: never; // answered by `welcome`
  join: { membership: Membership };
  leave: Record<string, never>;
  send: { messageId: string; seq: number; clientId: string; duplicate: boolean; message: Message };
  edit: { seq: number };
  delete: { seq: number };
  react: { seq: number; on: boolean };
  topic: { seq: number };
  settings: { seq: number | null };
  create: { membership: Membership };
  invite: Record<string, never>;
  direct: { membership: Membership };
  moderate: { seq: number };
  members: { members: (Member & { online: boolean })[] };
  online: { accounts: { accountId: string; name: string }[] };
  rooms: { rooms: (Room & { members: number })[] };
  history: HistoryPage;
  search: SearchPage & { terms: string[] };
  read: { readSeq: number };
  typing: Record<string, never>;
  ping: Record<string, never>;
}

export interface WireLimits {
  maxFrameBytes: number;
  maxMessageBytes: number;
  historyPageMax: number;
}

/** A frame as clients use it, after `decodeServerFrame` (Messages and events complete). */
export type ServerFrame =
  | { type: "welcome"; id?: RequestIdValue; account: Account; rooms: Membership[]; limits: WireLimits }
  | { type: "ok"; id?: RequestIdValue; result: Results[Exclude<ClientFrameType, "hello">] }
  | { type: "error"; id?: RequestIdValue; code: ErrorCode; message: string; retry_after?: number }
  | { type: "event"; event: RoomEvent }
  | ({ type: "typing" } & Omit<Extract<Ephemeral, { type: "typing" }>, "type">)
  | ({ type: "presence" } & Omit<Extract<Ephemeral, { type: "presence" }>, "type">)
  | ({ type: "invited" } & Omit<Extract<Ephemeral, { type: "invited" }>, "type">)
  | ({ type: "read" } & Omit<Extract<Ephemeral, { type: "read" }>, "type">)
  | { type: "joined"; membership: Membership };

/**
 * WebSocket close codes. A client that stops reading is dropped without a close frame (there is
 * no room left to send one); it sees 1006 and resumes like after any network loss.
 */
export const CloseCodes = {
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  /** A close frame's reason that is not UTF-8 (invalid UTF-8 in a text frame is the INVALID_UTF8 error instead). */
  INVALID_PAYLOAD: 1007,
  FRAME_TOO_LARGE: 1009,
  HELLO_TIMEOUT: 4001,
  SESSION_REVOKED: 4003,
  FLOOD: 4008,
} as const;

// ---- compact Messages on the wire ----
//
// A message event goes to every member of a room, so its size is paid once per recipient. On
// the wire a Message leaves out the fields at their default value (`clientId`, `replyTo` and
// `editedAt` when null, `deleted` when false, `reactions` when empty), and inside a `message`
// event the fields that repeat the event's own (`roomId`, `seq`, `authorId`, `author`,
// `createdAt` equal to the event's `roomId`, `seq`, `actorId`, `actor`, `at`). Clients decode
// with `decodeServerFrame`, which puts every field back.

/** A Message as sent: `id` and `body` always, the rest when not at its default (see above). */
export type WireMessage = Pick<Message, "id" | "body"> & Partial<Omit<Message, "id" | "body">>;

type EventBase = Pick<RoomEvent, "roomId" | "seq" | "at" | "actorId" | "actor">;

export type WireRoomEvent = Exclude<RoomEvent, { type: "message" }> | (EventBase & { type: "message"; message: WireMessage });

/** `ok` results whose Messages are sent compact. */
export type WireResults = Omit<Results, "send" | "history"> & {
  send: Omit<Results["send"], "message"> & { message: WireMessage };
  history: { messages: WireMessage[]; more: boolean };
};

/** A frame as it is sent. */
export type WireServerFrame =
  | Exclude<ServerFrame, { type: "event" | "ok" }>
  | { type: "event"; event: WireRoomEvent }
  | { type: "ok"; id?: RequestIdValue; result: WireResults[Exclude<ClientFrameType, "hello">] };

/** Leaves out the fields at their default and, given the enclosing event, those it repeats. */
export function messageToWire(m: Message, e?: EventBase): WireMessage {
  const w: WireMessage = { id: m.id, body: m.body };
  if (m.roomId !== e?.roomId) w.roomId = m.roomId;
  if (m.seq !== e?.seq) w.seq = m.seq;
  if (m.authorId !== e?.actorId) w.authorId = m.authorId;
  if (m.author !== e?.actor) w.author = m.author;
  if (m.createdAt !== e?.at) w.createdAt = m.createdAt;
  if (m.clientId !== null) w.clientId = m.clientId;
  if (m.replyTo !== null) w.replyTo = m.replyTo;
  if (m.editedAt !== null) w.editedAt = m.editedAt;
  if (m.deleted) w.deleted = true;
  for (const _ in m.reactions) {
    w.reactions = m.reactions;
    break;
  }
  return w;
}

/** Puts back every field `messageToWire` left out. */
export function messageFromWire(w: WireMessage, e?: EventBase): Message {
  return {
    id: w.id,
    roomId: w.roomId ?? e?.roomId ?? "",
    seq: w.seq ?? e?.seq ?? 0,
    authorId: w.authorId ?? e?.actorId ?? "",
    author: w.author ?? e?.actor ?? "",
    clientId: w.clientId ?? null,
    body: w.body,
    replyTo: w.replyTo ?? null,
    createdAt: w.createdAt ?? e?.at ?? 0,
    editedAt: w.editedAt ?? null,
    deleted: w.deleted ?? false,
    reactions: w.reactions ?? {},
  };
}

export function eventToWire(e: RoomEvent): WireRoomEvent {
  if (e.type !== "message") return e;
  const { roomId, seq, at, actorId, actor } = e;
  return { roomId, seq, at, actorId, actor, type: "message", message: messageToWire(e.message, e) };
}

export function eventFromWire(w: WireRoomEvent): RoomEvent {
  if (w.type !== "message") return w;
  const { roomId, seq, at, actorId, actor } = w;
  return { roomId, seq, at, actorId, actor, type: "message", message: messageFromWire(w.message, w) };
}

/**
 * A parsed server frame with every Message and event complete. Frames other than `event` and
 * the `ok` of `send` and `history` pass through unchanged; `ok` results are recognised by shape,
 * since a reply does not name its request's type.
 */
export function decodeServerFrame(f: WireServerFrame): ServerFrame {
  if (f.type === "event") return { type: "event", event: eventFromWire(f.event) };
  if (f.type !== "ok" || typeof f.result !== "object" || f.result === null) return f as ServerFrame;
  const r = f.result as Partial<WireResults["send"] & WireResults["history"]>;
  if (r.message && typeof r.messageId === "string") {
    return { ...f, result: { ...r, message: messageFromWire(r.message) } } as ServerFrame;
  }
  if (Array.isArray(r.messages)) {
    return { ...f, result: { ...r, messages: r.messages.map((m) => messageFromWire(m)) } } as ServerFrame;
  }
  return f as ServerFrame;
}
