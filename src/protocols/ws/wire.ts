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
  FRAME_TOO_LARGE: 1009,
  HELLO_TIMEOUT: 4001,
  SESSION_REVOKED: 4003,
  FLOOD: 4008,
} as const;
