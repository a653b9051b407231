import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Account, Membership, Message, Room, RoomEvent } from "../core/types.ts";
import type { ServerFrame } from "../protocols/ws/wire.ts";
import type { Welcome } from "./client.ts";
import type { KeyAction } from "./keys.ts";
import { type Action, type ChatState, type Effect, initialState, reduce, resumeMap, roomOrder } from "./model.ts";
import { plain, render } from "./view.ts";
import { width } from "./wrap.ts";

process.env.TZ = "UTC";
const T0 = Date.UTC(2026, 10, 26, 12, 0);
const ME: Account = { id: "u-alice", name: "alice", guest: false, admin: false, createdAt: 0 };
const BOB = { id: "u-bob", name: "bob" };
const LIMITS = { maxFrameBytes: 65536, maxMessageBytes: 4000, historyPageMax: 100 };

function room(id: string, name: string, lastSeq = 0, kind: Room["kind"] = "public"): Room {
  return { id, name, kind, topic: "", createdBy: "", createdAt: 0, lastSeq };
}

function member(r: Room, readSeq = r.lastSeq, unread = 0): Membership {
  return { room: r, role: "member", muted: false, readSeq, unread };
}

function msg(
  roomId: string,
  seq: number,
  author: { id: string; name: string },
  body: string,
  extra: Partial<Message> = {},
): Message {
  return {
    id: `m-${roomId}-${seq}`,
    roomId,
    seq,
    authorId: author.id,
    author: author.name,
    clientId: null,
    body,
    replyTo: null,
    createdAt: T0 + seq * 1000,
    editedAt: null,
    deleted: false,
    reactions: {},
    ...extra,
  };
}

function event(m: Message): ServerFrame {
  const e: RoomEvent = {
    roomId: m.roomId,
    seq: m.seq,
    at: m.createdAt,
    actorId: m.authorId,
    actor: m.author,
    type: "message",
    message: m,
  };
  return { type: "event", event: e };
}

const LOBBY = room("r-lobby", "lobby", 10);
const DEV = room("r-dev", "dev", 5);

function setup(rooms: Membership[] = [member(LOBBY), member(DEV)], opts: { cols?: number; rows?: number; want?: string } = {}) {
  const s = initialState({
    cols: opts.cols ?? 100,
    rows: opts.rows ?? 30,
    clientPrefix: "cp",
    wantRoom: opts.want ?? null,
    now: T0,
  });
  s.conn = { state: "online" };
  const welcome: Welcome = { account: ME, rooms, limits: LIMITS };
  const fx = reduce(s, { type: "welcome", welcome, now: T0 });
  return { s, fx };
}

function act(s: ChatState, a: Action): Effect[] {
  return reduce(s, a);
}
const frame = (s: ChatState, f: ServerFrame) => act(s, { type: "frame", frame: f, now: s.now + 1 });
const key = (s: ChatState, k: KeyAction) => act(s, { type: "key", key: k, now: s.now + 1 });
function type(s: ChatState, text: string): Effect[] {
  const fx = key(s, { kind: "insert", text });
  return [...fx, ...key(s, { kind: "submit" })];
}
const requests = (fx: Effect[]) => fx.flatMap((e) => (e.kind === "request" ? [e.frame] : []));
const screen = (s: ChatState) => plain(render(s));

describe("view model: opening", () => {
  it("opens #lobby first and loads its history; resume starts from each room's last sequence", () => {
    const { s, fx } = setup();
    assert.equal(s.current, "r-lobby");
    assert.deepEqual(requests(fx), [{ type: "history", room: "r-lobby", limit: 50 }]);
    assert.deepEqual(resumeMap(s), { "r-lobby": 10, "r-dev": 5 });
    assert.deepEqual(
      roomOrder(s).map((r) => r.name),
      ["lobby", "dev"],
    );
  });

  it("opens the room used last when there is one", () => {
    const { s, fx } = setup(undefined, { want: "#dev" });
    assert.equal(s.current, "r-dev");
    assert.ok(fx.some((e) => e.kind === "remember" && e.room === "dev"));
    const dm = room("r-dm", "dm:u-alice:u-bob", 3, "direct");
    const { s: t } = setup([member(LOBBY), member(dm)], { want: "dm:u-alice:u-bob" });
    assert.equal(t.current, "r-dm");
  });
});

describe("view model: unread counts and the read position", () => {
  it("counts messages from others in rooms not open, starting from the server's count", () => {
    const { s } = setup([member(LOBBY), member(DEV, 3, 2)]);
    assert.equal(s.rooms.get("r-dev")!.unread, 2);
    frame(s, event(msg("r-dev", 6, BOB, "one")));
    frame(s, event(msg("r-dev", 7, ME, "mine")));
    frame(s, event(msg("r-dev", 8, BOB, "two")));
    assert.equal(s.rooms.get("r-dev")!.unread, 4);
    assert.match(screen(s)[2]!, /2 #dev\s+4 │/);
  });

  it("marks the open room read through the server (the read frame), one request at a time", () => {
    const { s } = setup();
    const fx = frame(s, event(msg("r-lobby", 11, BOB, "hi")));
    assert.deepEqual(requests(fx), [{ type: "read", room: "r-lobby", seq: 11 }]);
    assert.deepEqual(requests(frame(s, event(msg("r-lobby", 12, BOB, "again")))), []);
    const after = act(s, { type: "reply", tag: { kind: "read", room: "r-lobby" }, ok: true, result: { readSeq: 11 }, now: T0 });
    assert.deepEqual(requests(after), [{ type: "read", room: "r-lobby", seq: 12 }]);
    assert.equal(s.rooms.get("r-lobby")!.unread, 0);
  });

  it("switching rooms (Alt+number, Ctrl+N/P) clears the count and sends the read position", () => {
    const { s } = setup();
    frame(s, event(msg("r-dev", 6, BOB, "news")));
    assert.equal(s.rooms.get("r-dev")!.unread, 1);
    const fx = key(s, { kind: "room", index: 1 });
    assert.equal(s.current, "r-dev");
    assert.equal(s.rooms.get("r-dev")!.unread, 0);
    assert.deepEqual(requests(fx), [
      { type: "history", room: "r-dev", limit: 50 },
      { type: "read", room: "r-dev", seq: 6 },
    ]);
    key(s, { kind: "nextRoom" });
    assert.equal(s.current, "r-lobby");
    key(s, { kind: "prevRoom" });
    assert.equal(s.current, "r-dev");
  });

  it("draws the new-messages line at the read position shared with the web client", () => {
    const { s } = setup([member(room("r-lobby", "lobby", 4), 2, 2)]);
    act(s, {
      type: "reply",
      tag: { kind: "history", room: "r-lobby", older: false },
      ok: true,
      result: { messages: [1, 2, 3, 4].map((n) => msg("r-lobby", n, BOB, `message ${n}`)), more: false },
      now: T0,
    });
    const lines = screen(s);
    const marker = lines.findIndex((l) => l.includes("new messages"));
    assert.ok(marker > 0, lines.join("\n"));
    assert.match(lines[marker - 1]!, /message 2/);
    assert.match(lines[marker + 1]!, /message 3/);
    // A message read live at the bottom of the open room gets no line.
    const { s: t } = setup();
    frame(t, event(msg("r-lobby", 11, BOB, "live")));
    assert.ok(!screen(t).some((l) => l.includes("new messages")));
  });
});

describe("view model: delivery", () => {
  it("shows nothing twice: a replayed event and a history copy are dropped", () => {
    const { s } = setup();
    const m = msg("r-lobby", 11, BOB, "only once");
    frame(s, event(m));
    frame(s, event(m));
    act(s, {
      type: "reply",
      tag: { kind: "history", room: "r-lobby", older: false },
      ok: true,
      result: { messages: [m], more: false },
      now: T0,
    });
    assert.equal(screen(s).filter((l) => l.includes("only once")).length, 1);
    assert.equal(resumeMap(s)["r-lobby"], 11);
  });

  it("sends with a client id, shows the message as pending, then once", () => {
    const { s } = setup();
    const fx = type(s, "hello bob");
    const send = fx.find((e) => e.kind === "send");
    assert.ok(send && send.kind === "send");
    assert.equal(send.frame.body, "hello bob");
    assert.equal(send.frame.clientId, "cp-1");
    assert.ok(screen(s).some((l) => l.includes("hello bob (sending…)")));
    s.conn = { state: "offline", attempt: 1, retryAt: T0 + 5000, reason: "lost" };
    assert.ok(screen(s).some((l) => l.includes("hello bob (waiting for the connection)")));
    s.conn = { state: "online" };
    const m = msg("r-lobby", 11, ME, "hello bob", { clientId: "cp-1" });
    act(s, {
      type: "sent",
      room: "r-lobby",
      clientId: "cp-1",
      ok: true,
      result: { messageId: m.id, seq: 11, clientId: "cp-1", duplicate: false, message: m },
      now: T0,
    });
    frame(s, event(m));
    const lines = screen(s);
    assert.equal(lines.filter((l) => l.includes("hello bob")).length, 1);
    assert.ok(lines.some((l) => /12:00 <alice> hello bob\s+$/.test(l)));
  });

  it("events of a room joined just now wait for the join's reply", () => {
    const { s } = setup();
    const ops = room("r-ops", "ops", 0);
    const joinEvent: RoomEvent = {
      roomId: "r-ops",
      seq: 3,
      at: T0,
      actorId: ME.id,
      actor: "alice",
      type: "member",
      accountId: ME.id,
      name: "alice",
      change: "join",
      role: "member",
    };
    const fx1 = type(s, "/join #ops");
    assert.deepEqual(requests(fx1), [{ type: "join", room: "ops" }]);
    frame(s, { type: "event", event: joinEvent });
    const fx2 = act(s, {
      type: "reply",
      tag: { kind: "join" },
      ok: true,
      result: { membership: member({ ...ops, lastSeq: 3 }) },
      now: T0,
    });
    assert.equal(s.current, "r-ops");
    assert.equal(resumeMap(s)["r-ops"], 3);
    assert.ok(requests(fx2).some((f) => f.type === "history"));
    assert.ok(screen(s).some((l) => l.includes("alice joined #ops")));
  });

  it("a reconnect's welcome keeps positions, takes the server's unread counts and drops rooms we left", () => {
    const { s } = setup();
    frame(s, event(msg("r-lobby", 11, BOB, "before")));
    reduce(s, { type: "status", status: { state: "offline", attempt: 1, retryAt: T0, reason: "lost" }, now: T0 });
    reduce(s, { type: "status", status: { state: "online" }, now: T0 });
    assert.ok(screen(s).some((l) => l.includes("!! Disconnected: lost. Reconnecting…")));
    assert.ok(screen(s).some((l) => l.includes("-- Reconnected.")));
    reduce(s, {
      type: "welcome",
      welcome: { account: ME, rooms: [member(room("r-lobby", "lobby", 14), 11, 3)], limits: LIMITS },
      now: T0,
    });
    assert.deepEqual(resumeMap(s), { "r-lobby": 11 });
    assert.equal(s.rooms.has("r-dev"), false);
    // The replay: 12 and 13 were counted by the server already, so they are not counted again.
    frame(s, event(msg("r-lobby", 12, BOB, "missed one")));
    frame(s, event(msg("r-lobby", 11, BOB, "before")));
    assert.equal(screen(s).filter((l) => l.includes("before")).length, 1);
  });
});

describe("view model: commands", () => {
  function withOwn() {
    const { s } = setup();
    frame(s, event(msg("r-lobby", 11, BOB, "question?")));
    frame(s, event(msg("r-lobby", 12, ME, "my answer")));
    return s;
  }

  it("/edit and /delete act on your last message; /edit alone puts it in the input line", () => {
    const s = withOwn();
    assert.deepEqual(requests(type(s, "/edit my better answer")), [
      { type: "edit", message: "m-r-lobby-12", body: "my better answer" },
    ]);
    assert.deepEqual(requests(type(s, "/delete")), [{ type: "delete", message: "m-r-lobby-12" }]);
    type(s, "/edit");
    assert.equal(s.input.text, "/edit my answer");
  });

  it("/reply answers the last message from someone else", () => {
    const s = withOwn();
    const send = type(s, "/reply yes").find((e) => e.kind === "send");
    assert.ok(send?.kind === "send" && send.frame.replyTo === "m-r-lobby-11" && send.frame.body === "yes");
  });

  it("/me, /msg, /create, /invite, /who, /topic, /part and /quit", () => {
    const s = withOwn();
    const me = type(s, "/me waves").find((e) => e.kind === "send");
    assert.ok(me?.kind === "send" && me.frame.body === "/me waves");
    assert.deepEqual(requests(type(s, "/msg bob psst")), [{ type: "direct", account: "bob" }]);
    assert.deepEqual(requests(type(s, "/create #ops private")), [{ type: "create", name: "ops", private: true }]);
    assert.deepEqual(requests(type(s, "/invite carol")), [{ type: "invite", room: "r-lobby", account: "carol" }]);
    assert.deepEqual(requests(type(s, "/who")), [{ type: "members", room: "r-lobby" }]);
    assert.deepEqual(requests(type(s, "/topic Ship it")), [{ type: "topic", room: "r-lobby", topic: "Ship it" }]);
    assert.deepEqual(requests(type(s, "/part")), [{ type: "leave", room: "r-lobby" }]);
    assert.ok(type(s, "/quit").some((e) => e.kind === "quit"));
  });

  it("/msg opens the direct conversation, names it after the person and sends the text there", () => {
    const { s } = setup();
    type(s, "/msg bob psst");
    const dm = room("r-dm", "dm:u-alice:u-bob", 0, "direct");
    const fx = act(s, {
      type: "reply",
      tag: { kind: "direct", name: "bob", text: "psst" },
      ok: true,
      result: { membership: member(dm) },
      now: T0,
    });
    assert.equal(s.current, "r-dm");
    const send = fx.find((e) => e.kind === "send");
    assert.ok(send?.kind === "send" && send.frame.room === "r-dm" && send.frame.body === "psst");
    assert.ok(screen(s).some((l) => l.includes("@bob")));
  });

  it("/react reacts to the last message from someone else, or from @name", () => {
    const s = withOwn();
    assert.deepEqual(requests(type(s, "/react 👍")), [{ type: "react", message: "m-r-lobby-11", emoji: "👍" }]);
    assert.deepEqual(requests(type(s, "/react @alice 🎉")), [{ type: "react", message: "m-r-lobby-12", emoji: "🎉" }]);
    assert.deepEqual(requests(type(s, "/react @carol 🎉")), []);
    assert.ok(screen(s).some((l) => l.includes("!! No message by carol to react to.")));
  });

  it("/edit and /delete ask the server for older pages when your last message is not loaded", () => {
    const { s } = setup();
    frame(s, event(msg("r-lobby", 11, BOB, "not mine")));
    const fx = type(s, "/delete");
    assert.deepEqual(requests(fx), [{ type: "history", room: "r-lobby", before: 11, limit: 100 }]);
    const own = (fx[0] as Extract<Effect, { kind: "request" }>).tag;
    // The first page has none of ours: the next older page is asked for.
    const next = act(s, {
      type: "reply",
      tag: own,
      ok: true,
      result: { messages: [msg("r-lobby", 9, BOB, "x"), msg("r-lobby", 10, BOB, "y")], more: true },
      now: T0,
    });
    assert.deepEqual(requests(next), [{ type: "history", room: "r-lobby", before: 9, limit: 100 }]);
    const tag = (next[0] as Extract<Effect, { kind: "request" }>).tag;
    const found = act(s, {
      type: "reply",
      tag,
      ok: true,
      result: {
        messages: [msg("r-lobby", 3, ME, "old one"), msg("r-lobby", 5, ME, "newer one"), msg("r-lobby", 8, BOB, "z")],
        more: true,
      },
      now: T0,
    });
    assert.deepEqual(requests(found), [{ type: "delete", message: "m-r-lobby-5" }]);
    // /edit alone fills the input line with the message found.
    const ask = type(s, "/edit");
    act(s, {
      type: "reply",
      tag: (ask[0] as Extract<Effect, { kind: "request" }>).tag,
      ok: true,
      result: { messages: [msg("r-lobby", 5, ME, "newer one")], more: false },
      now: T0,
    });
    assert.equal(s.input.text, "/edit newer one");
    // Nothing of ours anywhere: said plainly.
    const none = type(s, "x") && type(s, "/delete");
    act(s, {
      type: "reply",
      tag: (none.find((e) => e.kind === "request") as Extract<Effect, { kind: "request" }>).tag,
      ok: true,
      result: { messages: [msg("r-lobby", 1, BOB, "z")], more: false },
      now: T0,
    });
    assert.ok(
      screen(s).some((l) => l.includes("!! You have no message in #lobby to delete.")),
      screen(s).join("\n"),
    );
  });
  it("an unknown command is reported and the line stays to be fixed", () => {
    const { s } = setup();
    type(s, "/jion #dev");
    assert.equal(s.input.text, "/jion #dev");
    assert.ok(screen(s).some((l) => l.includes("unknown command /jion")));
  });

  it("server errors are explained in the room", () => {
    const { s } = setup();
    act(s, {
      type: "reply",
      tag: { kind: "join" },
      ok: false,
      code: "INVITE_ONLY",
      message: "that room is invite-only",
      now: T0,
    });
    assert.ok(screen(s).some((l) => l.includes("!! That room is invite-only")));
  });
});

describe("view model: search", () => {
  const found = (roomId: string, seq: number, body: string, extra: Partial<Message> = {}) => msg(roomId, seq, BOB, body, extra);
  function search(s: ChatState, query: string, messages: Message[], more: boolean, terms = [query.toLowerCase()]) {
    const fx = type(s, `/search ${query}`);
    const req = fx.find((e) => e.kind === "request") as Extract<Effect, { kind: "request" }>;
    act(s, { type: "reply", tag: req.tag, ok: true, result: { messages, more, terms }, now: T0 });
    return req;
  }

  it("/search asks the server and lists numbered results with room, time, author and marked terms", () => {
    const { s } = setup();
    const req = search(s, "Deploy", [found("r-dev", 4, "the deploy is done"), found("r-lobby", 2, "DEPLOY friday?")], true);
    assert.deepEqual(req.frame, { type: "search", query: "Deploy", limit: 10 });
    const lines = screen(s);
    const first = lines.findIndex((l) => l.includes('Search "Deploy", newest first:'));
    assert.ok(first >= 0, lines.join("\n"));
    assert.match(lines[first + 1]!, /1\. #dev 12:00 <bob> the deploy is done/);
    assert.match(lines[first + 2]!, /2\. #lobby 12:00 <bob> DEPLOY friday\?/);
    assert.match(lines[first + 3]!, /\/goto n opens result n; \/search alone shows older results\./);
    // The terms are marked (reverse video) in the text, whatever their case.
    const row = render(s).rows.find((r) => r.some((sp) => sp.text === "DEPLOY"))!;
    assert.ok(row.find((sp) => sp.text === "DEPLOY")?.inverse);
    assert.ok(!row.find((sp) => sp.text.includes("friday"))?.inverse);
  });

  it("/search alone asks for older results after the last one; results keep their numbers", () => {
    const { s } = setup();
    search(s, "deploy", [found("r-dev", 4, "deploy a"), found("r-dev", 3, "deploy b")], true);
    const fx = type(s, "/search");
    const req = fx.find((e) => e.kind === "request") as Extract<Effect, { kind: "request" }>;
    assert.deepEqual(req.frame, { type: "search", query: "deploy", before: "m-r-dev-3", limit: 10 });
    act(s, {
      type: "reply",
      tag: req.tag,
      ok: true,
      result: { messages: [found("r-dev", 1, "deploy c")], more: false, terms: ["deploy"] },
      now: T0,
    });
    assert.ok(screen(s).some((l) => /3\. #dev .*deploy c/.test(l)));
    assert.deepEqual(requests(type(s, "/search")), []);
    assert.ok(screen(s).some((l) => l.includes('No older results for "deploy".')));
  });

  it("no match, and /goto without a search, are said plainly", () => {
    const { s } = setup();
    assert.deepEqual(requests(type(s, "/goto 1")), []);
    assert.ok(screen(s).some((l) => l.includes("!! Search first: /search words.")));
    search(s, "nothing", [], false);
    assert.ok(screen(s).some((l) => l.includes('No messages match "nothing".')));
  });

  it("/goto n opens the result's room, loads older pages until the message is there, and marks it", () => {
    const { s } = setup([member(LOBBY), member(room("r-dev", "dev", 300))]);
    search(s, "needle", [found("r-dev", 120, "the needle")], false);
    const fx = type(s, "/goto 1");
    assert.equal(s.current, "r-dev");
    assert.deepEqual(requests(fx)[0], { type: "history", room: "r-dev", limit: 50 });
    const page = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) =>
        msg("r-dev", from + i, BOB, from + i === 120 ? "the needle" : `msg ${from + i}`),
      );
    let next = act(s, {
      type: "reply",
      tag: { kind: "history", room: "r-dev", older: false },
      ok: true,
      result: { messages: page(251, 300), more: true },
      now: T0,
    });
    assert.deepEqual(requests(next), [{ type: "history", room: "r-dev", limit: 100, before: 251 }]);
    next = act(s, {
      type: "reply",
      tag: { kind: "history", room: "r-dev", older: true },
      ok: true,
      result: { messages: page(151, 250), more: true },
      now: T0,
    });
    assert.deepEqual(requests(next), [{ type: "history", room: "r-dev", limit: 100, before: 151 }]);
    act(s, {
      type: "reply",
      tag: { kind: "history", room: "r-dev", older: true },
      ok: true,
      result: { messages: page(51, 150), more: true },
      now: T0,
    });
    const lines = screen(s);
    const at = lines.findIndex((l) => l.includes("the needle"));
    assert.ok(at > 0 && at < 27, lines.join("\n"));
    assert.ok(s.rooms.get("r-dev")!.scroll > 0);
    const row = render(s).rows[at]!;
    assert.ok(
      row.some((sp) => sp.inverse && /\d\d:\d\d/.test(sp.text)),
      "the message's time is marked",
    );
    // Esc goes back to the bottom and drops the mark.
    key(s, { kind: "escape" });
    assert.equal(s.rooms.get("r-dev")!.scroll, 0);
    assert.equal(s.rooms.get("r-dev")!.highlight, null);
    // A search typed while scrolled up shows its results: the log returns to the bottom.
    key(s, { kind: "pageUp" });
    assert.ok(s.rooms.get("r-dev")!.scroll > 0);
    search(s, "needle", [found("r-dev", 120, "the needle")], false);
    assert.equal(s.rooms.get("r-dev")!.scroll, 0);
    assert.ok(screen(s).some((l) => /1\. #dev .*the needle/.test(l)));
  });
});

describe("view model: read position from other clients", () => {
  it("a read frame from another client of ours clears or recounts the unread count", () => {
    const { s } = setup([member(LOBBY), member(DEV, 5, 0)]);
    for (const n of [6, 7, 8]) frame(s, event(msg("r-dev", n, BOB, `m${n}`)));
    assert.equal(s.rooms.get("r-dev")!.unread, 3);
    frame(s, { type: "read", roomId: "r-dev", readSeq: 7 });
    assert.equal(s.rooms.get("r-dev")!.unread, 1);
    assert.match(screen(s)[2]!, /2 #dev\s+1 │/);
    frame(s, { type: "read", roomId: "r-dev", readSeq: 8 });
    assert.equal(s.rooms.get("r-dev")!.unread, 0);
    assert.match(screen(s)[2]!, /2 #dev\s+│/);
    // Opening the room draws the "new messages" line at the shared position: nothing new here.
    key(s, { kind: "room", index: 1 });
    assert.ok(!screen(s).some((l) => l.includes("new messages")));
  });

  it("a position behind what is loaded leaves the server's count alone; an older one changes nothing", () => {
    const { s } = setup([member(LOBBY), member(room("r-dev", "dev", 50), 10, 40)]);
    frame(s, event(msg("r-dev", 51, BOB, "live")));
    assert.equal(s.rooms.get("r-dev")!.unread, 41);
    frame(s, { type: "read", roomId: "r-dev", readSeq: 30 });
    assert.equal(s.rooms.get("r-dev")!.unread, 41, "messages 31..50 are not loaded here: the count waits for the next welcome");
    frame(s, { type: "read", roomId: "r-dev", readSeq: 20 });
    assert.equal(s.rooms.get("r-dev")!.readSeq, 30);
    frame(s, { type: "read", roomId: "r-dev", readSeq: 51 });
    assert.equal(s.rooms.get("r-dev")!.unread, 0);
  });
});

describe("view model: scrollback", () => {
  it("PageUp scrolls, and at the top loads the older page from the server", () => {
    const { s } = setup([member(room("r-lobby", "lobby", 100))]);
    const page = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => msg("r-lobby", from + i, BOB, `msg ${from + i}`));
    act(s, {
      type: "reply",
      tag: { kind: "history", room: "r-lobby", older: false },
      ok: true,
      result: { messages: page(51, 100), more: true },
      now: T0,
    });
    assert.ok(screen(s).some((l) => l.includes("msg 100")));
    let fx: Effect[] = [];
    for (let i = 0; i < 3 && requests(fx).length === 0; i++) fx = key(s, { kind: "pageUp" });
    assert.deepEqual(requests(fx), [{ type: "history", room: "r-lobby", limit: 50, before: 51 }]);
    assert.ok(screen(s).some((l) => l.includes("msg 51")));
    act(s, {
      type: "reply",
      tag: { kind: "history", room: "r-lobby", older: true },
      ok: true,
      result: { messages: page(1, 50), more: false },
      now: T0,
    });
    for (let i = 0; i < 5; i++) key(s, { kind: "pageUp" });
    const top = screen(s);
    assert.ok(
      top.some((l) => l.includes("beginning of #lobby")),
      top.join("\n"),
    );
    assert.ok(top.some((l) => l.includes("msg 1 ") || /msg 1\s*$/.test(l)));
    // New messages while scrolled up leave the view where it is and are counted below.
    const before = screen(s).slice(0, 27).join("\n");
    frame(s, event(msg("r-lobby", 101, BOB, "while scrolled")));
    assert.equal(screen(s).slice(0, 27).join("\n"), before);
    assert.match(screen(s)[27]!, /1 new below/);
    key(s, { kind: "escape" });
    assert.ok(screen(s).some((l) => l.includes("while scrolled")));
  });
});

describe("view model: moderation", () => {
  const memberEvent = (seq: number, who: { id: string; name: string }, change: "kick" | "ban", reason?: string): ServerFrame => ({
    type: "event",
    event: {
      roomId: "r-lobby",
      seq,
      at: T0,
      actorId: "u-carol",
      actor: "carol",
      type: "member",
      accountId: who.id,
      name: who.name,
      change,
      role: null,
      ...(reason ? { reason } : {}),
    },
  });

  it("shows the moderator's reason for a kick or ban, and none when none was given", () => {
    const { s } = setup();
    frame(s, memberEvent(11, BOB, "kick", "off topic"));
    frame(s, memberEvent(12, BOB, "ban"));
    const lines = screen(s);
    assert.ok(
      lines.some((l) => l.includes("-- bob was kicked by carol (off topic)")),
      lines.join("\n"),
    );
    assert.ok(lines.some((l) => /-- bob was banned by carol\s*$/.test(l)));
    frame(s, memberEvent(13, ME, "ban", "spam"));
    assert.ok(!s.rooms.has("r-lobby"));
    assert.ok(screen(s).some((l) => l.includes("You were banned from #lobby by carol (spam).")));
  });
});

describe("view model: resizing while scrolled up", () => {
  it("keeps the first visible message at the top when the terminal changes size", () => {
    const { s } = setup([member(room("r-lobby", "lobby", 60))]);
    const long = "a long message that wraps differently at every width of the terminal, ".repeat(3);
    const messages = Array.from({ length: 60 }, (_, i) => msg("r-lobby", i + 1, BOB, `n${i + 1} ${long}`));
    act(s, {
      type: "reply",
      tag: { kind: "history", room: "r-lobby", older: false },
      ok: true,
      result: { messages, more: false },
      now: T0,
    });
    for (let i = 0; i < 4; i++) key(s, { kind: "pageUp" });
    const topOf = () =>
      screen(s)
        .find((l) => /<bob> n\d+ /.test(l))!
        .match(/n(\d+) /)![1];
    const before = topOf();
    act(s, { type: "resize", cols: 70, rows: 20 });
    assert.equal(topOf(), before);
    act(s, { type: "resize", cols: 140, rows: 40 });
    assert.equal(topOf(), before);
    assert.ok(s.rooms.get("r-lobby")!.scroll > 0);
  });
});

describe("view model: typing", () => {
  it("shows who is typing in the status line until it expires", () => {
    const { s } = setup();
    frame(s, { type: "typing", roomId: "r-lobby", accountId: BOB.id, name: "bob", typing: true });
    assert.match(screen(s)[27]!, /bob is typing…/);
    act(s, { type: "tick", now: s.now + 7000 });
    assert.doesNotMatch(screen(s)[27]!, /typing/);
  });

  it("tells the room we type at most every three seconds, and stops on an empty line", () => {
    const { s } = setup();
    const t1 = act(s, { type: "key", key: { kind: "insert", text: "h" }, now: T0 + 10 });
    const t2 = act(s, { type: "key", key: { kind: "insert", text: "i" }, now: T0 + 20 });
    assert.deepEqual(requests(t1), [{ type: "typing", room: "r-lobby", typing: true }]);
    assert.deepEqual(requests(t2), []);
    const t3 = act(s, { type: "key", key: { kind: "killStart" }, now: T0 + 30 });
    assert.deepEqual(requests(t3), [{ type: "typing", room: "r-lobby", typing: false }]);
  });
});

describe("view: layout by display width", () => {
  it("every row is exactly as wide as the terminal, and the room list column never breaks", () => {
    const { s } = setup();
    frame(
      s,
      event(
        msg(
          "r-lobby",
          11,
          BOB,
          "这是一个很长的中文消息，用来测试终端客户端是否能够按照显示宽度正确地换行。日本語のテキスト、한국어 텍스트 😀🎉 end",
        ),
      ),
    );
    for (const cols of [100, 61, 80, 45]) {
      act(s, { type: "resize", cols, rows: 20 });
      const lines = screen(s);
      assert.equal(lines.length, 19);
      for (const l of lines) assert.equal(width(l), cols, `${cols}: ${JSON.stringify(l)}`);
      const bar = lines.slice(0, 17).map((l) => {
        const at = l.indexOf("│");
        return at === -1 ? -1 : width(l.slice(0, at));
      });
      if (cols >= 60)
        assert.ok(
          bar.every((c) => c === bar[0] && c > 0),
          `${cols}: ${bar}`,
        );
      else assert.ok(bar.every((c) => c === -1));
      const text = lines.join("\n");
      assert.ok(text.includes("end"), text);
    }
  });

  it("wraps a CJK message under the author, never wider than the log", () => {
    const { s } = setup(undefined, { cols: 60 });
    const body = "中文".repeat(30);
    frame(s, event(msg("r-lobby", 11, BOB, body)));
    const lines = screen(s).filter((l) => /[中文]/.test(l));
    assert.ok(lines.length >= 3);
    const texts = lines.map((l) =>
      l
        .slice(l.indexOf("│") + 2)
        .replace(/^12:00 <bob> /, "")
        .trim(),
    );
    assert.equal(texts.join(""), body);
    const column = lines.map((l) => width(l.slice(0, l.search(/[中文]/))));
    assert.ok(
      column.every((c) => c === column[0]),
      `continuation lines start under the text: ${column}`,
    );
  });

  it("puts the cursor where the next character goes, by display width", () => {
    const { s } = setup(undefined, { cols: 40, rows: 10 });
    key(s, { kind: "insert", text: "你好" });
    const sc = render(s);
    assert.deepEqual(sc.cursor, { x: 2 + 4, y: 8 });
    key(s, { kind: "newline" });
    key(s, { kind: "insert", text: "x" });
    assert.deepEqual(render(s).cursor, { x: 3, y: 8 });
    assert.equal(plain(render(s)).length, 9);
  });

  it("survives tiny terminals", () => {
    const { s } = setup();
    frame(s, event(msg("r-lobby", 11, BOB, "中文 text and more text")));
    key(s, { kind: "insert", text: "typed 你好 text that is long" });
    for (const [cols, rows] of [
      [1, 1],
      [10, 3],
      [12, 4],
      [59, 5],
    ] as const) {
      act(s, { type: "resize", cols, rows });
      const lines = screen(s);
      for (const l of lines) assert.ok(width(l) <= Math.max(10, cols), `${cols}x${rows}: ${JSON.stringify(l)}`);
    }
  });

  it("neutralises escape sequences in message bodies", () => {
    const { s } = setup();
    frame(s, event(msg("r-lobby", 11, BOB, "\x1b[2J\x1b]0;pwned\x07 hi")));
    assert.ok(!screen(s).join("").includes("\x1b"));
  });
});
