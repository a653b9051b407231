import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildRows } from "./grouping.ts";
import { LANGS, pickLanguage, translator } from "./i18n.ts";
import { backoffDelay, newClientId, Outbox } from "./outbox.ts";
import { applyEvent, markRead, mergePage, newRoomState, typingNames } from "./rooms.ts";
import { decodeFrame, type Membership, type Message, type RoomEvent } from "./wire.ts";

const me = { id: "me", name: "mei" };
const T0 = new Date(2026, 10, 27, 10, 0, 0).getTime();

function membership(kind: "public" | "direct" = "public", lastSeq = 10, readSeq = 10, unread = 0): Membership {
  return {
    room: { id: "r1", name: "lobby", kind, topic: "", createdBy: "", createdAt: 0, lastSeq },
    role: "member",
    muted: false,
    readSeq,
    unread,
  };
}

function msg(seq: number, authorId = "bob", body = `m${seq}`, createdAt = T0 + seq * 1000): Message {
  return {
    id: `id${seq}`,
    roomId: "r1",
    seq,
    authorId,
    author: authorId,
    clientId: null,
    body,
    replyTo: null,
    createdAt,
    editedAt: null,
    deleted: false,
    reactions: {},
  };
}

function messageEvent(m: Message): RoomEvent {
  return { roomId: "r1", seq: m.seq, at: m.createdAt, actorId: m.authorId, actor: m.author, type: "message", message: m };
}

describe("room state", () => {
  it("a settings event changes the room's kind (invite only when private)", () => {
    const room = newRoomState(membership());
    const e: RoomEvent = { roomId: "r1", seq: 11, at: T0, actorId: "bob", actor: "bob", type: "settings", kind: "private" };
    assert.equal(applyEvent(room, e, me).kind, "applied");
    assert.equal(room.membership.room.kind, "private");
  });

  it("ignores events at or below the cursor and counts unread messages from others", () => {
    const room = newRoomState(membership());
    room.loaded = "yes";
    assert.deepEqual(applyEvent(room, messageEvent(msg(10)), me), { kind: "duplicate" });
    assert.equal(applyEvent(room, messageEvent(msg(11)), me).kind, "applied");
    assert.equal(applyEvent(room, messageEvent(msg(11)), me).kind, "duplicate");
    applyEvent(room, messageEvent(msg(12, "me")), me);
    applyEvent(room, messageEvent(msg(13, "bob", "hi @Mei")), me);
    assert.deepEqual(
      room.messages.map((m) => m.seq),
      [11, 12, 13],
    );
    assert.equal(room.membership.unread, 2);
    assert.equal(room.mentions, 1);
    markRead(room, 13);
    assert.equal(room.membership.unread, 0);
    assert.equal(room.mentions, 0);
  });

  it("does not count replayed events that welcome's unread already includes", () => {
    const room = newRoomState(membership("public", 12, 10, 2));
    room.cursor = 10; // resumed from 10; the server replays 11 and 12
    applyEvent(room, messageEvent(msg(11)), me);
    applyEvent(room, messageEvent(msg(12)), me);
    assert.equal(room.membership.unread, 2);
    applyEvent(room, messageEvent(msg(13)), me);
    assert.equal(room.membership.unread, 3);
  });

  it("treats every message in a direct room as addressed to me", () => {
    const room = newRoomState(membership("direct"));
    const effect = applyEvent(room, messageEvent(msg(11)), me);
    assert.deepEqual(effect, { kind: "applied", incoming: msg(11), mentionsMe: true });
    assert.equal(room.mentions, 1);
    assert.equal(room.messages.length, 0, "an unopened room keeps no messages");
  });

  it("applies edits, reactions (as set operations) and deletions", () => {
    const room = newRoomState(membership());
    mergePage(room, [msg(5), msg(7)], { more: false });
    const base = { roomId: "r1", actorId: "bob", actor: "bob" };
    applyEvent(room, { ...base, seq: 11, at: 99, type: "edit", messageId: "id5", body: "new" }, me);
    applyEvent(room, { ...base, seq: 12, at: 99, type: "react", messageId: "id5", emoji: "👍", on: true }, me);
    applyEvent(room, { ...base, seq: 13, at: 99, type: "react", messageId: "id5", emoji: "👍", on: true }, me);
    assert.deepEqual(room.byId.get("id5")?.reactions, { "👍": ["bob"] });
    assert.equal(room.byId.get("id5")?.body, "new");
    assert.equal(room.byId.get("id5")?.editedAt, 99);
    applyEvent(room, { ...base, seq: 14, at: 99, type: "react", messageId: "id5", emoji: "👍", on: false }, me);
    assert.deepEqual(room.byId.get("id5")?.reactions, {});
    applyEvent(room, { ...base, seq: 15, at: 99, type: "delete", messageId: "id7" }, me);
    assert.equal(room.byId.get("id7")?.deleted, true);
    assert.equal(room.byId.get("id7")?.body, "");
  });

  it("reports my removal and tracks members and typing", () => {
    const room = newRoomState(membership());
    room.members = [];
    const member = { roomId: "r1", actorId: "bob", actor: "bob", type: "member" as const };
    applyEvent(room, { ...member, seq: 11, at: 1, accountId: "bob", name: "bob", change: "join", role: "member" }, me);
    assert.deepEqual(
      room.members.map((m) => m.name),
      ["bob"],
    );
    room.typing.set("bob", { name: "bob", until: 10_000 });
    assert.deepEqual(typingNames(room, 5_000), ["bob"]);
    assert.deepEqual(typingNames(room, 10_000), []);
    const gone = applyEvent(room, { ...member, seq: 12, at: 1, accountId: "me", name: "mei", change: "kick", role: null }, me);
    assert.deepEqual(gone, { kind: "applied", removed: true });
  });

  it("merges history pages without duplicates, in seq order", () => {
    const room = newRoomState(membership());
    mergePage(room, [msg(8), msg(9)], { more: true });
    mergePage(room, [msg(5), msg(8)], { more: false });
    assert.deepEqual(
      room.messages.map((m) => m.seq),
      [5, 8, 9],
    );
    assert.equal(room.olderMore, false);
  });
});

describe("decodeFrame", () => {
  it("fills in fields a slimmed frame leaves out", () => {
    const frame = decodeFrame(
      JSON.stringify({
        type: "event",
        event: {
          roomId: "r",
          seq: 3,
          at: 1,
          actorId: "a",
          actor: "a",
          type: "message",
          message: { id: "m", roomId: "r", seq: 3, authorId: "a", author: "a", body: "x", createdAt: 1 },
        },
      }),
    );
    assert.ok(frame?.type === "event" && frame.event.type === "message");
    assert.deepEqual(frame.event.message.reactions, {});
    assert.equal(frame.event.message.editedAt, null);
    assert.equal(frame.event.message.deleted, false);
    assert.equal(frame.event.message.replyTo, null);
  });

  it("takes the fields a compact message leaves out from its event", () => {
    const frame = decodeFrame(
      JSON.stringify({
        type: "event",
        event: {
          roomId: "r",
          seq: 9,
          at: 5,
          actorId: "a1",
          actor: "ann",
          type: "message",
          message: { id: "m", body: "x", clientId: "c" },
        },
      }),
    );
    assert.ok(frame?.type === "event" && frame.event.type === "message");
    const m = frame.event.message;
    assert.deepEqual([m.roomId, m.seq, m.authorId, m.author, m.createdAt, m.clientId], ["r", 9, "a1", "ann", 5, "c"]);
  });

  it("returns null for frames that are not JSON objects with a type", () => {
    assert.equal(decodeFrame("{oops"), null);
    assert.equal(decodeFrame("[1]"), null);
    assert.equal(decodeFrame('{"x":1}'), null);
  });
});

describe("buildRows", () => {
  it("groups by author and minute, separates days and places the unread divider", () => {
    const day2 = new Date(2026, 10, 28, 9, 0, 0).getTime();
    const messages = [msg(1, "bob"), msg(2, "bob"), msg(3, "ann"), msg(4, "ann", "x", T0 + 61_000), msg(5, "bob", "y", day2)];
    const rows = buildRows(messages, 3, me.id);
    assert.deepEqual(
      rows.map((r) => (r.kind === "msg" ? `${r.message.seq}${r.head ? "H" : ""}` : r.kind)),
      ["day", "1H", "2", "3H", "unread", "4H", "day", "5H"],
    );
  });

  it("puts no divider before my own messages and none when all is read", () => {
    const rows = buildRows([msg(1), msg(2, "me"), msg(3)], 1, me.id);
    assert.deepEqual(
      rows.map((r) => r.kind),
      ["day", "msg", "msg", "unread", "msg"],
    );
    assert.ok(!buildRows([msg(1)], 1, me.id).some((r) => r.kind === "unread"));
    assert.ok(!buildRows([msg(1)], null, me.id).some((r) => r.kind === "unread"));
  });
});

describe("outbox and backoff", () => {
  it("keeps unacknowledged messages in order and forgets acknowledged or refused ones", () => {
    const box = new Outbox();
    box.add({ clientId: "a", roomId: "r1", body: "1", replyTo: null, createdAt: 1 });
    box.add({ clientId: "b", roomId: "r2", body: "2", replyTo: null, createdAt: 2 });
    box.add({ clientId: "c", roomId: "r1", body: "3", replyTo: null, createdAt: 3 });
    box.fail("b", "MUTED");
    assert.deepEqual(
      box.pending().map((e) => e.clientId),
      ["a", "c"],
    );
    assert.equal(box.remove("a"), true);
    assert.equal(box.remove("a"), false);
    box.keepRooms(new Set(["r2"]));
    assert.deepEqual(
      new Outbox(JSON.parse(JSON.stringify(box))).forRoom("r2").map((e) => e.clientId),
      ["b"],
    );
  });

  it("makes unique client ids", () => {
    const ids = new Set(Array.from({ length: 1000 }, newClientId));
    assert.equal(ids.size, 1000);
  });

  it("backs off exponentially with jitter up to 30 s", () => {
    assert.equal(backoffDelay(0, 0), 250);
    assert.equal(backoffDelay(0, 1), 500);
    assert.equal(backoffDelay(3, 1), 4000);
    assert.equal(backoffDelay(20, 1), 30_000);
    assert.equal(backoffDelay(20, 0), 15_000);
  });
});

describe("i18n", () => {
  it("picks the language from the browser's preferences", () => {
    assert.equal(pickLanguage(["zh-TW", "en"]), "zh-TW");
    assert.equal(pickLanguage(["zh-Hant-HK"]), "zh-TW");
    assert.equal(pickLanguage(["zh-HK"]), "zh-TW");
    assert.equal(pickLanguage(["zh"]), "zh-CN");
    assert.equal(pickLanguage(["zh-Hans-CN"]), "zh-CN");
    assert.equal(pickLanguage(["fr-FR", "zh-SG"]), "zh-CN");
    assert.equal(pickLanguage(["fr-FR", "de"]), "en");
    assert.equal(pickLanguage(["en-GB", "zh-TW"]), "en");
  });

  it("fills placeholders, in every language", () => {
    assert.deepEqual(
      LANGS.map(({ lang }) => translator(lang)("header.members", { n: 3 })),
      ["3 members", "3 位成員", "3 位成员"],
    );
  });
});
