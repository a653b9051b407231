// The client's view of the wire: types come from the server's protocol module, and frames are
// decoded tolerantly. The server may leave out fields that hold their default value (empty
// reactions, no edit, not deleted, no reply) and, inside a message event, the message fields that
// repeat the event's; absent fields read as those defaults. (Decoding here rather than with the
// server module's helpers keeps its runtime dependencies out of the browser bundle.)

import type { Message, RoomEvent, ServerFrame } from "../../src/protocols/ws/wire.ts";

export type {
  Account,
  ClientFrame,
  ClientFrameType,
  ErrorCode,
  HistoryPage,
  Member,
  Membership,
  Message,
  Results,
  Room,
  RoomEvent,
  ServerFrame,
  WireLimits,
} from "../../src/protocols/ws/wire.ts";

type Loose<T> = { [K in keyof T]?: T[K] | null | undefined };

/** A message with every optional field filled in. */
export function normalizeMessage(m: Loose<Message>): Message {
  return {
    id: m.id ?? "",
    roomId: m.roomId ?? "",
    seq: m.seq ?? 0,
    authorId: m.authorId ?? "",
    author: m.author ?? "",
    clientId: m.clientId ?? null,
    body: m.body ?? "",
    replyTo: m.replyTo ?? null,
    createdAt: m.createdAt ?? 0,
    editedAt: m.editedAt ?? null,
    deleted: m.deleted ?? false,
    reactions: m.reactions ?? {},
  };
}

/** Parses one text frame; null for anything that is not a JSON object with a string `type`. */
export function decodeFrame(text: string): ServerFrame | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || typeof (value as { type?: unknown }).type !== "string") return null;
  const frame = value as ServerFrame;
  if (frame.type === "event" && frame.event?.type === "message") {
    // A message inside its event may also leave out what repeats the event: room, seq, author, time.
    const e = frame.event as RoomEvent & { type: "message" };
    const m: Loose<Message> = e.message ?? {};
    e.message = normalizeMessage({
      ...m,
      roomId: m.roomId ?? e.roomId,
      seq: m.seq ?? e.seq,
      authorId: m.authorId ?? e.actorId,
      author: m.author ?? e.actor,
      createdAt: m.createdAt ?? e.at,
    });
  }
  return frame;
}
