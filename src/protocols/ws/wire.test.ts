// The compact Message encoding: what is left out on the wire, and that decoding restores it all.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as wsLib from "ws";
import type { Message, RoomEvent } from "../../core/types.ts";
import { textFrame } from "./frame.ts";
import { decodeServerFrame, eventToWire, messageToWire, type WireServerFrame } from "./wire.ts";

/** ws's frame parser (exported by the package, missing from its type definitions). */
interface FrameParser {
  on(event: "message", cb: (data: Buffer, isBinary: boolean) => void): void;
  on(event: "error", cb: (err: Error) => void): void;
  write(chunk: Buffer): void;
}
const { Receiver } = wsLib as unknown as { Receiver: new (o: { skipUTF8Validation: boolean }) => FrameParser };

const message: Message = {
  id: "m1",
  roomId: "r1",
  seq: 7,
  authorId: "a1",
  author: "bob",
  clientId: null,
  body: "hi",
  replyTo: null,
  createdAt: 1000,
  editedAt: null,
  deleted: false,
  reactions: {},
};
const event: RoomEvent = { roomId: "r1", seq: 7, at: 1000, actorId: "a1", actor: "bob", type: "message", message };

/** What a client gets after the frame went over the wire as JSON. */
const roundTrip = (f: WireServerFrame) => decodeServerFrame(JSON.parse(JSON.stringify(f)) as WireServerFrame);

describe("compact messages on the wire", () => {
  it("a new message event carries only the id and body of its message", () => {
    assert.deepEqual(eventToWire(event), {
      roomId: "r1",
      seq: 7,
      at: 1000,
      actorId: "a1",
      actor: "bob",
      type: "message",
      message: { id: "m1", body: "hi" },
    });
  });

  it("fields not at their default are kept, and decoding restores every field", () => {
    const full: Message = {
      ...message,
      clientId: "c-1",
      replyTo: "m0",
      editedAt: 1500,
      deleted: true,
      reactions: { "👍": ["carol"] },
      author: "robert", // renamed since: a replayed event's actor is the current name
    };
    const e: RoomEvent = { ...event, message: full };
    const wire = eventToWire(e);
    assert.deepEqual(wire.type === "message" && wire.message, {
      id: "m1",
      body: "hi",
      author: "robert",
      clientId: "c-1",
      replyTo: "m0",
      editedAt: 1500,
      deleted: true,
      reactions: { "👍": ["carol"] },
    });
    assert.deepEqual(roundTrip({ type: "event", event: wire }), { type: "event", event: e });
    assert.deepEqual(roundTrip({ type: "event", event: eventToWire(event) }), { type: "event", event });
  });

  it("outside an event a message keeps its room, sequence, author and time", () => {
    assert.deepEqual(messageToWire(message), {
      id: "m1",
      body: "hi",
      roomId: "r1",
      seq: 7,
      authorId: "a1",
      author: "bob",
      createdAt: 1000,
    });
  });

  it("send and history replies decode to complete messages; other frames pass unchanged", () => {
    const sent = { messageId: "m1", seq: 7, clientId: "c", duplicate: false, message: messageToWire(message) };
    assert.deepEqual(roundTrip({ type: "ok", id: 1, result: sent }), { type: "ok", id: 1, result: { ...sent, message } });
    const page = { messages: [messageToWire(message)], more: true };
    assert.deepEqual(roundTrip({ type: "ok", id: 2, result: page }), {
      type: "ok",
      id: 2,
      result: { messages: [message], more: true },
    });
    const other: WireServerFrame = { type: "ok", id: 3, result: { seq: 4 } };
    assert.deepEqual(roundTrip(other), other);
    const member: RoomEvent = {
      roomId: "r1",
      seq: 8,
      at: 2000,
      actorId: "a1",
      actor: "bob",
      type: "member",
      accountId: "a1",
      name: "bob",
      change: "leave",
      role: null,
    };
    assert.deepEqual(roundTrip({ type: "event", event: eventToWire(member) }), { type: "event", event: member });
  });
});

describe("textFrame", () => {
  for (const size of [0, 125, 126, 65535, 65536, 70000]) {
    it(`frames a ${size}-byte text that a WebSocket receiver reads back`, { timeout: 5000 }, async () => {
      const text = "é".repeat(Math.floor(size / 2)) + "x".repeat(size % 2);
      const got = await new Promise<string>((resolve, reject) => {
        const r = new Receiver({ skipUTF8Validation: false });
        r.on("message", (data: Buffer, isBinary: boolean) => (isBinary ? reject(new Error("binary")) : resolve(data.toString())));
        r.on("error", reject);
        r.write(textFrame(text));
      });
      assert.equal(got, text);
    });
  }
});
