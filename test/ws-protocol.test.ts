// The WebSocket JSON protocol, feature by feature, against one server with loose rate limits.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RoomEvent } from "../src/core/types.ts";
import { api, type Json, type Registered, register, uniq } from "./helpers/http.ts";
import { LOOSE_LIMITS, sleep, startServer, type TestServer } from "./helpers/server.ts";
import { type Frame, WsClient } from "./helpers/ws-client.ts";

let srv: TestServer;
const clients: WsClient[] = [];

before(async () => {
  srv = await startServer({ config: { limits: LOOSE_LIMITS } });
  await register(srv, "root"); // the admin, so that the accounts below are ordinary ones
});
after(async () => {
  for (const c of clients) c.terminate();
  await srv.stop();
});

interface User {
  reg: Registered;
  name: string;
  ws: WsClient;
  welcome: Frame;
  lobby: string;
}

async function connect(reg: Registered, hello: { resume?: Record<string, number>; presence?: boolean } = {}): Promise<User> {
  const { client, welcome } = await WsClient.open(srv.wsUrl, { token: reg.token, ...hello });
  clients.push(client);
  const lobby = welcome.rooms.find((m: Json) => m.room.name === "lobby")?.room.id as string;
  return { reg, name: reg.name, ws: client, welcome, lobby };
}

async function user(prefix = "u"): Promise<User> {
  return connect(await register(srv, uniq(prefix)));
}

/** Creates a room owned by `owner` and has every other user join it. */
async function room(owner: User, members: User[] = [], opts: { private?: boolean } = {}): Promise<string> {
  const name = uniq("room");
  const created = await owner.ws.ok({ type: "create", name, private: opts.private ?? false });
  const id = created.membership.room.id as string;
  for (const m of members) {
    if (opts.private) await owner.ws.ok({ type: "invite", room: id, account: m.name });
    await m.ws.ok({ type: "join", room: name });
  }
  return id;
}

let sent = 0;
async function say(u: User, roomId: string, body = `msg ${++sent}`, extra: { replyTo?: string } = {}) {
  return u.ws.ok<{ messageId: string; seq: number; clientId: string; duplicate: boolean; message: Json }>({
    type: "send",
    room: roomId,
    clientId: `c${++sent}`,
    body,
    ...extra,
  });
}

/** No frame matching `pred` arrives within `ms`. */
async function nothing(u: User, pred: (f: Frame) => boolean, ms = 300, from = u.ws.frames.length): Promise<void> {
  await sleep(ms);
  const got = u.ws.frames.slice(from).filter(pred);
  assert.deepEqual(got, [], `${u.name} should not have received these`);
}

const isMessage = (id: string) => (e: RoomEvent) => e.type === "message" && e.message.id === id;

describe("hello", () => {
  it("with a token: welcome carries the account, its rooms (#lobby) and the limits", async () => {
    const reg = await register(srv);
    const u = await connect(reg);
    assert.equal(u.welcome.type, "welcome");
    assert.deepEqual(u.welcome.account, reg.account);
    assert.ok(u.lobby, "the new account is in #lobby");
    const lobby = u.welcome.rooms.find((m: Json) => m.room.id === u.lobby);
    assert.equal(lobby.role, "member");
    assert.equal(lobby.muted, false);
    assert.deepEqual(u.welcome.limits, { maxFrameBytes: 65536, maxMessageBytes: 4000, historyPageMax: 100 });
    assert.deepEqual(await u.ws.ok({ type: "ping" }), {});
  });

  it("the welcome answers the hello's id", async () => {
    const reg = await register(srv);
    const ws = await WsClient.connect(srv.wsUrl);
    clients.push(ws);
    ws.sendRaw(JSON.stringify({ type: "hello", id: "h-1", token: reg.token }));
    const welcome = await ws.waitFor((f) => f.type === "welcome");
    assert.equal(welcome.id, "h-1");
  });

  it("as a guest: a guest account in #lobby", async () => {
    const name = uniq("guest");
    const { client, welcome } = await WsClient.open(srv.wsUrl, { guest: name });
    clients.push(client);
    assert.equal(welcome.account.name, name);
    assert.equal(welcome.account.guest, true);
    assert.equal(welcome.account.admin, false);
    assert.ok(welcome.rooms.some((m: Json) => m.room.name === "lobby"));
    const lobby = welcome.rooms[0].room.id;
    const ack = await client.ok({ type: "send", room: lobby, clientId: "g1", body: "hi from a guest" });
    assert.equal(ack.message.author, name);
  });

  it("a guest cannot take a registered name (any case) nor the name of a guest online", async () => {
    const reg = await register(srv);
    const ws = await WsClient.connect(srv.wsUrl);
    clients.push(ws);
    for (const name of [reg.name, reg.name.toUpperCase()]) {
      const r = await ws.hello({ guest: name });
      assert.equal(r.type, "error");
      assert.equal(r.code, "NAME_TAKEN", name);
    }
    const g = uniq("guest");
    const first = await WsClient.open(srv.wsUrl, { guest: g });
    clients.push(first.client);
    const taken = await ws.hello({ guest: g });
    assert.equal(taken.code, "NAME_TAKEN");
    // The connection stays usable: hello with a free name works.
    const ok = await ws.hello({ guest: uniq("guest") });
    assert.equal(ok.type, "welcome");
  });

  it("a guest coming back under the same name gets the same account and rooms; nothing private leaks", async () => {
    const owner = await user("own");
    const roomName = uniq("room");
    const roomId = (await owner.ws.ok({ type: "create", name: roomName })).membership.room.id;
    const name = uniq("guest");
    const first = await WsClient.open(srv.wsUrl, { guest: name });
    await first.client.ok({ type: "join", room: roomName });
    await first.client.close();
    await sleep(100);
    const again = await WsClient.open(srv.wsUrl, { guest: name });
    clients.push(again.client);
    assert.equal(again.welcome.account.id, first.welcome.account.id);
    assert.ok(again.welcome.rooms.some((m: Json) => m.room.id === roomId));
    for (const w of [first.welcome, again.welcome]) {
      assert.deepEqual(Object.keys(w.account).sort(), ["admin", "createdAt", "guest", "id", "name"]);
    }
  });

  it("a second hello is refused with BAD_REQUEST", async () => {
    const u = await user();
    const again = await u.ws.hello({ token: u.reg.token });
    assert.equal(again.type, "error");
    assert.equal(again.code, "BAD_REQUEST");
    await u.ws.ok({ type: "ping" });
  });

  it("guests cannot create rooms, open direct conversations or join private rooms", async () => {
    const owner = await user();
    const secret = uniq("secret");
    await owner.ws.ok({ type: "create", name: secret, private: true });
    const { client } = await WsClient.open(srv.wsUrl, { guest: uniq("guest") });
    clients.push(client);
    assert.equal((await client.error({ type: "create", name: uniq("r") })).code, "GUEST_FORBIDDEN");
    assert.equal((await client.error({ type: "direct", account: owner.name })).code, "GUEST_FORBIDDEN");
    assert.equal((await client.error({ type: "join", room: secret })).code, "GUEST_FORBIDDEN");
  });
});

describe("join and leave", () => {
  it("join by name (with or without #) follows the room; members see the join; leave stops it", async () => {
    const owner = await user();
    const bob = await user();
    const name = uniq("room");
    const created = await owner.ws.ok({ type: "create", name, topic: "t" });
    assert.equal(created.membership.role, "owner");
    assert.equal(created.membership.room.kind, "public");
    const roomId = created.membership.room.id as string;

    const from = owner.ws.frames.length;
    const joined = await bob.ws.ok({ type: "join", room: `#${name}` });
    assert.equal(joined.membership.room.id, roomId);
    assert.equal(joined.membership.role, "member");
    const seen = await owner.ws.waitForEvent(roomId, (e) => e.type === "member" && e.change === "join", { from });
    assert.equal(seen.type === "member" && seen.name, bob.name);
    await bob.ws.waitForEvent(roomId, (e) => e.type === "member" && e.change === "join" && e.accountId === bob.reg.account.id);
    // Joining again is harmless.
    const again = await bob.ws.ok({ type: "join", room: name.toUpperCase() });
    assert.equal(again.membership.room.id, roomId);

    const rooms = await bob.ws.ok({ type: "rooms" });
    const listed = rooms.rooms.find((r: Json) => r.id === roomId);
    assert.equal(listed.members, 2);

    await bob.ws.ok({ type: "leave", room: roomId });
    await owner.ws.waitForEvent(roomId, (e) => e.type === "member" && e.change === "leave" && e.accountId === bob.reg.account.id);
    assert.equal((await bob.ws.error({ type: "send", room: roomId, clientId: "x", body: "hi" })).code, "NOT_MEMBER");
    const before = bob.ws.frames.length;
    await say(owner, roomId, "after bob left");
    await nothing(bob, (f) => f.type === "event" && f.event.roomId === roomId, 300, before);
    const members = await owner.ws.ok({ type: "members", room: roomId });
    assert.deepEqual(
      members.members.map((m: Json) => m.name),
      [owner.name],
    );
  });

  it("join of an unknown room is NO_SUCH_ROOM; a bad name is INVALID_NAME; leave of a room one is not in is NOT_MEMBER", async () => {
    const u = await user();
    assert.equal((await u.ws.error({ type: "join", room: uniq("nothere") })).code, "NO_SUCH_ROOM");
    assert.equal((await u.ws.error({ type: "join", room: "bad name!" })).code, "INVALID_NAME");
    assert.equal((await u.ws.error({ type: "leave", room: "whatever" })).code, "NOT_MEMBER");
  });
});

describe("messages", () => {
  let owner: User;
  let bob: User;
  let carol: User;
  let roomId: string;
  let otherRoom: string;

  before(async () => {
    owner = await user("own");
    bob = await user("bob");
    carol = await user("carol");
    roomId = await room(owner, [bob, carol]);
    otherRoom = await room(owner, [bob]);
  });

  it("send is acknowledged with messageId and seq; members receive the same message at that seq", async () => {
    const a = await say(bob, roomId, "first");
    const b = await say(bob, roomId, "second");
    assert.equal(typeof a.messageId, "string");
    assert.ok(Number.isInteger(a.seq) && a.seq > 0);
    assert.equal(b.seq, a.seq + 1, "consecutive sends take consecutive seqs");
    assert.equal(a.duplicate, false);
    assert.equal(a.message.id, a.messageId);
    assert.equal(a.message.body, "first");
    assert.equal(a.message.author, bob.name);
    assert.equal(a.message.roomId, roomId);
    for (const u of [owner, carol, bob]) {
      const e = await u.ws.waitForEvent(roomId, isMessage(a.messageId));
      assert.equal(e.seq, a.seq);
      assert.equal(e.type === "message" && e.message.body, "first");
    }
  });

  it("a resend with the same clientId returns the same messageId and seq with duplicate:true; others get one event", async () => {
    const clientId = uniq("cid");
    const first = await bob.ws.ok({ type: "send", room: roomId, clientId, body: "once" });
    assert.equal(first.duplicate, false);
    const [r1, r2] = await Promise.all([
      bob.ws.ok({ type: "send", room: roomId, clientId, body: "once" }),
      bob.ws.ok({ type: "send", room: roomId, clientId, body: "once" }),
    ]);
    for (const r of [r1, r2]) {
      assert.equal(r.messageId, first.messageId);
      assert.equal(r.seq, first.seq);
      assert.equal(r.duplicate, true);
    }
    // Also from a new connection of the same account (a client retrying after a reconnect).
    const again = await connect(bob.reg);
    const r3 = await again.ws.ok({ type: "send", room: roomId, clientId, body: "once" });
    assert.equal(r3.messageId, first.messageId);
    assert.equal(r3.seq, first.seq);
    assert.equal(r3.duplicate, true);
    await again.ws.close();

    const marker = await say(bob, roomId, "marker");
    assert.equal(marker.seq, first.seq + 1, "the resends took no seq");
    await owner.ws.waitForEvent(roomId, isMessage(marker.messageId));
    assert.equal(owner.ws.eventsIn(roomId).filter(isMessage(first.messageId)).length, 1);
    const history = await owner.ws.ok({ type: "history", room: roomId, limit: 5 });
    assert.equal(history.messages.filter((m: Json) => m.clientId === clientId).length, 1);
  });

  it("clientIds are per account: another account's equal clientId is a different message", async () => {
    const clientId = uniq("shared");
    const a = await bob.ws.ok({ type: "send", room: roomId, clientId, body: "bob's" });
    const b = await carol.ws.ok({ type: "send", room: roomId, clientId, body: "carol's" });
    assert.notEqual(a.messageId, b.messageId);
    assert.equal(b.duplicate, false);
    assert.equal(b.message.body, "carol's");
  });

  it("the author edits a message; members see the edit; others cannot edit it", async () => {
    const m = await say(bob, roomId, "draft");
    const from = owner.ws.frames.length;
    const edited = await bob.ws.ok({ type: "edit", message: m.messageId, body: "final" });
    assert.ok(edited.seq > m.seq);
    const e = await owner.ws.waitForEvent(roomId, (x) => x.type === "edit" && x.messageId === m.messageId, { from });
    assert.equal(e.seq, edited.seq);
    assert.equal(e.type === "edit" && e.body, "final");
    const forbidden = await carol.ws.error({ type: "edit", message: m.messageId, body: "hijack" });
    assert.equal(forbidden.code, "FORBIDDEN");
    const ownerEdit = await owner.ws.error({ type: "edit", message: m.messageId, body: "even the owner" });
    assert.equal(ownerEdit.code, "FORBIDDEN");
    const history = await owner.ws.ok({ type: "history", room: roomId, after: m.seq - 1, limit: 1 });
    assert.equal(history.messages[0].body, "final");
    assert.notEqual(history.messages[0].editedAt, null);
  });

  it("the author deletes a message; members see the deletion; a deleted message cannot be edited", async () => {
    const m = await say(carol, roomId, "oops");
    const from = bob.ws.frames.length;
    const del = await carol.ws.ok({ type: "delete", message: m.messageId });
    await bob.ws.waitForEvent(roomId, (x) => x.type === "delete" && x.messageId === m.messageId && x.seq === del.seq, { from });
    const history = await owner.ws.ok({ type: "history", room: roomId, after: m.seq - 1, limit: 1 });
    assert.equal(history.messages[0].id, m.messageId);
    assert.equal(history.messages[0].deleted, true);
    assert.equal(history.messages[0].body, "", "a deleted message's text is gone");
    assert.equal((await carol.ws.error({ type: "edit", message: m.messageId, body: "x" })).code, "NO_SUCH_MESSAGE");
    assert.equal((await carol.ws.error({ type: "delete", message: m.messageId })).code, "NO_SUCH_MESSAGE");
  });

  it("the room owner (a moderator) deletes another's message; a plain member cannot", async () => {
    const m = await say(bob, roomId, "moderate me");
    assert.equal((await carol.ws.error({ type: "delete", message: m.messageId })).code, "FORBIDDEN");
    const still = await owner.ws.ok({ type: "history", room: roomId, after: m.seq - 1, limit: 1 });
    assert.equal(still.messages[0].deleted, false);
    const del = await owner.ws.ok({ type: "delete", message: m.messageId });
    const e = await bob.ws.waitForEvent(roomId, (x) => x.type === "delete" && x.messageId === m.messageId);
    assert.equal(e.seq, del.seq);
    assert.equal(e.actor, owner.name);
  });

  it("replyTo links to a message of the same room; a message of another room or none is NO_SUCH_MESSAGE", async () => {
    const parent = await say(owner, roomId, "question");
    const reply = await say(bob, roomId, "answer", { replyTo: parent.messageId });
    assert.equal(reply.message.replyTo, parent.messageId);
    const e = await carol.ws.waitForEvent(roomId, isMessage(reply.messageId));
    assert.equal(e.type === "message" && e.message.replyTo, parent.messageId);

    const elsewhere = await say(owner, otherRoom, "in another room");
    const before = await owner.ws.ok({ type: "history", room: roomId, limit: 1 });
    const cross = await bob.ws.error({
      type: "send",
      room: roomId,
      clientId: uniq("c"),
      body: "x",
      replyTo: elsewhere.messageId,
    });
    assert.equal(cross.code, "NO_SUCH_MESSAGE");
    const none = await bob.ws.error({ type: "send", room: roomId, clientId: uniq("c"), body: "x", replyTo: "nosuchmessage" });
    assert.equal(none.code, "NO_SUCH_MESSAGE");
    const afterwards = await owner.ws.ok({ type: "history", room: roomId, limit: 1 });
    assert.equal(afterwards.messages[0].id, before.messages[0].id, "nothing was stored");
  });

  it("react toggles a reaction on and off; members see both", async () => {
    const m = await say(owner, roomId, "react to me");
    const on = await carol.ws.ok({ type: "react", message: m.messageId, emoji: "👍" });
    assert.equal(on.on, true);
    const eOn = await owner.ws.waitForEvent(roomId, (x) => x.type === "react" && x.seq === on.seq);
    assert.deepEqual(eOn.type === "react" && [eOn.messageId, eOn.emoji, eOn.on], [m.messageId, "👍", true]);
    let h = await owner.ws.ok({ type: "history", room: roomId, after: m.seq - 1, limit: 1 });
    assert.deepEqual(h.messages[0].reactions, { "👍": [carol.name] });
    await bob.ws.ok({ type: "react", message: m.messageId, emoji: "👍" });
    h = await owner.ws.ok({ type: "history", room: roomId, after: m.seq - 1, limit: 1 });
    assert.deepEqual(h.messages[0].reactions, { "👍": [carol.name, bob.name] });

    const off = await carol.ws.ok({ type: "react", message: m.messageId, emoji: "👍" });
    assert.equal(off.on, false);
    const eOff = await owner.ws.waitForEvent(roomId, (x) => x.type === "react" && x.seq === off.seq);
    assert.equal(eOff.type === "react" && eOff.on, false);
    h = await owner.ws.ok({ type: "history", room: roomId, after: m.seq - 1, limit: 1 });
    assert.deepEqual(h.messages[0].reactions, { "👍": [bob.name] });
    assert.equal((await carol.ws.error({ type: "react", message: m.messageId, emoji: "two words" })).code, "BAD_REQUEST");
    assert.equal((await carol.ws.error({ type: "react", message: "nosuchmessage", emoji: "x" })).code, "NO_SUCH_MESSAGE");
  });

  it("the owner sets the topic and members see it; a plain member gets FORBIDDEN", async () => {
    const topic = `topic ${uniq()}`;
    const r = await owner.ws.ok({ type: "topic", room: roomId, topic });
    const e = await bob.ws.waitForEvent(roomId, (x) => x.type === "topic" && x.seq === r.seq);
    assert.equal(e.type === "topic" && e.topic, topic);
    const rooms = await carol.ws.ok({ type: "rooms" });
    assert.equal(rooms.rooms.find((x: Json) => x.id === roomId).topic, topic);
    const long = await owner.ws.error({ type: "topic", room: roomId, topic: "t".repeat(301) });
    assert.equal(long.code, "TOO_LARGE", "topics are at most 300 characters");
    const denied = await bob.ws.error({ type: "topic", room: roomId, topic: "mine now" });
    assert.equal(denied.code, "FORBIDDEN");
    const after = await carol.ws.ok({ type: "rooms" });
    assert.equal(after.rooms.find((x: Json) => x.id === roomId).topic, topic);
  });
});

describe("private rooms and invites", () => {
  it("non-invited join is INVITE_ONLY; after an invite (the invitee gets an `invited` frame) the join works", async () => {
    const owner = await user("own");
    const bob = await user("bob");
    const name = uniq("priv");
    const created = await owner.ws.ok({ type: "create", name, private: true });
    const roomId = created.membership.room.id as string;
    assert.equal(created.membership.room.kind, "private");

    assert.equal((await bob.ws.error({ type: "join", room: name })).code, "INVITE_ONLY");
    const listed = await bob.ws.ok({ type: "rooms" });
    assert.ok(!listed.rooms.some((r: Json) => r.id === roomId), "private rooms are not listed");
    assert.equal((await bob.ws.error({ type: "history", room: roomId })).code, "NOT_MEMBER");
    assert.equal((await bob.ws.error({ type: "members", room: roomId })).code, "NOT_MEMBER");

    const from = bob.ws.frames.length;
    await owner.ws.ok({ type: "invite", room: roomId, account: bob.name });
    const invited = await bob.ws.waitFor((f) => f.type === "invited", { from });
    assert.equal(invited.roomId, roomId);
    assert.equal(invited.room, name);
    assert.equal(invited.by, owner.name);

    const joined = await bob.ws.ok({ type: "join", room: name });
    assert.equal(joined.membership.room.id, roomId);
    await owner.ws.waitForEvent(roomId, (e) => e.type === "member" && e.change === "join" && e.accountId === bob.reg.account.id);
    const m = await say(owner, roomId, "secret");
    await bob.ws.waitForEvent(roomId, isMessage(m.messageId));
    assert.equal((await owner.ws.error({ type: "invite", room: roomId, account: uniq("ghost") })).code, "NO_SUCH_ACCOUNT");
  });
});

describe("direct conversations", () => {
  it("`direct` opens one room for the pair; the other side gets `joined` and the messages", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const from = bob.ws.frames.length;
    const opened = await alice.ws.ok({ type: "direct", account: bob.name });
    const dm = opened.membership.room;
    assert.equal(dm.kind, "direct");
    const joined = await bob.ws.waitFor((f) => f.type === "joined", { from });
    assert.equal(joined.membership.room.id, dm.id);
    assert.equal(joined.membership.room.kind, "direct");

    const m = await say(alice, dm.id, "psst");
    const e = await bob.ws.waitForEvent(dm.id, isMessage(m.messageId));
    assert.equal(e.type === "message" && e.message.body, "psst");
    const back = await say(bob, dm.id, "hey");
    await alice.ws.waitForEvent(dm.id, isMessage(back.messageId));

    // The same pair always gets the same room, whoever opens it.
    assert.equal((await alice.ws.ok({ type: "direct", account: bob.name.toUpperCase() })).membership.room.id, dm.id);
    assert.equal((await bob.ws.ok({ type: "direct", account: alice.name })).membership.room.id, dm.id);
    const members = await alice.ws.ok({ type: "members", room: dm.id });
    assert.deepEqual(members.members.map((x: Json) => x.name).sort(), [alice.name, bob.name].sort());

    // Nobody else reads it or joins it.
    const carol = await user("carol");
    assert.equal((await carol.ws.error({ type: "history", room: dm.id })).code, "NOT_MEMBER");
    assert.equal((await carol.ws.error({ type: "send", room: dm.id, clientId: "x", body: "x" })).code, "NOT_MEMBER");
    assert.equal((await carol.ws.error({ type: "join", room: dm.name })).code, "INVALID_NAME");
    assert.equal((await alice.ws.error({ type: "invite", room: dm.id, account: carol.name })).code, "FORBIDDEN");
    assert.equal((await alice.ws.error({ type: "direct", account: uniq("ghost") })).code, "NO_SUCH_ACCOUNT");
  });

  it("a direct conversation opened while the other side is offline is in its next welcome", async () => {
    const alice = await user("alice");
    const bobReg = await register(srv, uniq("bob"));
    const opened = await alice.ws.ok({ type: "direct", account: bobReg.name });
    const m = await say(alice, opened.membership.room.id, "while you were away");
    const bob = await connect(bobReg);
    const dm = bob.welcome.rooms.find((x: Json) => x.room.id === opened.membership.room.id);
    assert.ok(dm, "the direct room is among bob's rooms");
    assert.equal(dm.unread, 1);
    const h = await bob.ws.ok({ type: "history", room: dm.room.id });
    assert.deepEqual(
      h.messages.map((x: Json) => x.id),
      [m.messageId],
    );
  });
});

describe("members, online, typing, presence", () => {
  it("members lists names, roles and who is online; online lists connected accounts", async () => {
    const owner = await user("own");
    const bob = await user("bob");
    const offReg = await register(srv, uniq("off"));
    const off = await connect(offReg);
    const roomId = await room(owner, [bob, off]);
    await off.ws.close();
    await sleep(100);

    const r = await bob.ws.ok({ type: "members", room: roomId });
    const byName = new Map(r.members.map((m: Json) => [m.name, m]));
    assert.equal(byName.size, 3);
    assert.equal((byName.get(owner.name) as Json).role, "owner");
    assert.equal((byName.get(bob.name) as Json).role, "member");
    assert.equal((byName.get(owner.name) as Json).online, true);
    assert.equal((byName.get(bob.name) as Json).online, true);
    assert.equal((byName.get(offReg.name) as Json).online, false);

    const online = await bob.ws.ok({ type: "online" });
    const names = online.accounts.map((a: Json) => a.name);
    assert.ok(names.includes(owner.name) && names.includes(bob.name));
    assert.ok(!names.includes(offReg.name));
  });

  it("typing reaches the other members, not the typist", async () => {
    const owner = await user("own");
    const bob = await user("bob");
    const roomId = await room(owner, [bob]);
    const fromOwner = owner.ws.frames.length;
    const fromBob = bob.ws.frames.length;
    await owner.ws.ok({ type: "typing", room: roomId, typing: true });
    const t = await bob.ws.waitFor((f) => f.type === "typing" && f.roomId === roomId, { from: fromBob });
    assert.equal(t.name, owner.name);
    assert.equal(t.accountId, owner.reg.account.id);
    assert.equal(t.typing, true);
    await owner.ws.ok({ type: "typing", room: roomId, typing: false });
    await bob.ws.waitFor((f) => f.type === "typing" && f.roomId === roomId && f.typing === false, { from: fromBob });
    await nothing(owner, (f) => f.type === "typing", 100, fromOwner);
    const stranger = await user();
    assert.equal((await stranger.ws.error({ type: "typing", room: roomId, typing: true })).code, "NOT_MEMBER");
  });

  it("hello with presence:true gets presence frames as accounts come and go", async () => {
    const watcher = await connect(await register(srv), { presence: true });
    const reg = await register(srv, uniq("pres"));
    const from = watcher.ws.frames.length;
    const u = await connect(reg);
    const on = await watcher.ws.waitFor((f) => f.type === "presence" && f.name === reg.name, { from });
    assert.equal(on.online, true);
    await u.ws.close();
    const offFrame = await watcher.ws.waitFor((f) => f.type === "presence" && f.name === reg.name && f.online === false, {
      from,
    });
    assert.equal(offFrame.accountId, reg.account.id);
  });
});

describe("history over WebSocket", () => {
  it("pages before and after a seq, with `more`", async () => {
    const owner = await user("own");
    const roomId = await room(owner);
    const acks = [];
    for (let i = 1; i <= 10; i++) acks.push(await say(owner, roomId, `h${i}`));
    const latest = await owner.ws.ok({ type: "history", room: roomId, limit: 3 });
    assert.deepEqual(
      latest.messages.map((m: Json) => m.body),
      ["h8", "h9", "h10"],
    );
    assert.equal(latest.more, true);
    const older = await owner.ws.ok({ type: "history", room: roomId, before: acks[7]!.seq, limit: 3 });
    assert.deepEqual(
      older.messages.map((m: Json) => m.body),
      ["h5", "h6", "h7"],
    );
    assert.equal(older.more, true);
    const oldest = await owner.ws.ok({ type: "history", room: roomId, before: acks[2]!.seq, limit: 3 });
    assert.deepEqual(
      oldest.messages.map((m: Json) => m.body),
      ["h1", "h2"],
    );
    assert.equal(oldest.more, false);
    const newer = await owner.ws.ok({ type: "history", room: roomId, after: acks[6]!.seq, limit: 2 });
    assert.deepEqual(
      newer.messages.map((m: Json) => m.body),
      ["h8", "h9"],
    );
    assert.equal(newer.more, true);
    const newest = await owner.ws.ok({ type: "history", room: roomId, after: acks[7]!.seq, limit: 5 });
    assert.deepEqual(
      newest.messages.map((m: Json) => m.body),
      ["h9", "h10"],
    );
    assert.equal(newest.more, false);
    // A public room's history is readable without joining it.
    const reader = await user();
    const pub = await reader.ws.ok({ type: "history", room: roomId, limit: 1 });
    assert.equal(pub.messages[0].body, "h10");
    assert.equal((await reader.ws.error({ type: "history", room: roomId, limit: 101 })).code, "BAD_REQUEST");
    const both = await reader.ws.error({ type: "history", room: roomId, before: acks[5]!.seq, after: acks[1]!.seq });
    assert.equal(both.code, "BAD_REQUEST", "before and after together are refused");
    assert.equal((await reader.ws.error({ type: "history", room: "nosuchroom" })).code, "NO_SUCH_ROOM");
  });
});

describe("read marks and unread counts", () => {
  it("read marks and unread counts come back in the next welcome", async () => {
    const owner = await user("own");
    const bob = await user("bob");
    const roomId = await room(owner, [bob]);
    await say(owner, roomId, "one");
    const two = await say(owner, roomId, "two");
    await bob.ws.waitForEvent(roomId, isMessage(two.messageId));
    const read = await bob.ws.ok({ type: "read", room: roomId, seq: two.seq });
    assert.equal(read.readSeq, two.seq);
    const lower = await bob.ws.ok({ type: "read", room: roomId, seq: 1 });
    assert.equal(lower.readSeq, two.seq, "a read mark never moves back");
    await bob.ws.close();

    await say(owner, roomId, "three");
    await say(owner, roomId, "four");
    // Bob's own message (from another connection) is not unread for him.
    const other = await connect(bob.reg);
    await say(other, roomId, "bob's own");
    await other.ws.close();
    const five = await say(owner, roomId, "five");
    const again = await connect(bob.reg);
    const m = again.welcome.rooms.find((x: Json) => x.room.id === roomId);
    assert.equal(m.readSeq, two.seq);
    assert.equal(m.unread, 3);
    assert.equal(m.room.lastSeq, five.seq);

    const watcher = await connect(bob.reg);
    const clamped = await again.ws.ok({ type: "read", room: roomId, seq: five.seq + 1000 });
    assert.equal(clamped.readSeq, five.seq, "a read mark past the end is clamped to the last seq");
    // Every connection of the account hears the new position.
    for (const c of [again, watcher]) {
      const f = await c.ws.waitFor((x) => x.type === "read" && x.roomId === roomId && x.readSeq === five.seq);
      assert.deepEqual(f, { type: "read", roomId, readSeq: five.seq });
    }
    await watcher.ws.close();
    const third = await connect(bob.reg);
    const m3 = third.welcome.rooms.find((x: Json) => x.room.id === roomId);
    assert.equal(m3.unread, 0);
    const stranger = await user();
    assert.equal((await stranger.ws.error({ type: "read", room: roomId, seq: 1 })).code, "NOT_MEMBER");
  });

  it("a read mark reaches every connection of the account at once as a `read` frame, and no one else", async () => {
    const owner = await user("own");
    const bob = await user("bob");
    const roomId = await room(owner, [bob]);
    const bobPhone = await connect(bob.reg);
    const one = await say(owner, roomId, "one");
    await bobPhone.ws.waitForEvent(roomId, isMessage(one.messageId));
    const fromOwner = owner.ws.frames.length;
    const fromPhone = bobPhone.ws.frames.length;
    await bob.ws.ok({ type: "read", room: roomId, seq: one.seq });
    const pushed = await bobPhone.ws.waitFor((f) => f.type === "read", { from: fromPhone, what: "read push" });
    assert.deepEqual(pushed, { type: "read", roomId, readSeq: one.seq });
    await bob.ws.waitFor((f) => f.type === "read" && f.readSeq === one.seq, { what: "read push to the marking connection" });
    await nothing(owner, (f) => f.type === "read", 300, fromOwner);
  });
});

describe("moderation", () => {
  let owner: User;
  let bob: User;
  let carol: User;
  let roomId: string;
  let roomName: string;

  before(async () => {
    owner = await user("own");
    bob = await user("bob");
    carol = await user("carol");
    roomId = await room(owner, [bob, carol]);
    roomName = (await owner.ws.ok({ type: "rooms" })).rooms.find((r: Json) => r.id === roomId).name;
  });

  it("mute: the muted member's sends are MUTED until unmuted", async () => {
    const from = bob.ws.frames.length;
    await owner.ws.ok({ type: "moderate", room: roomId, account: bob.name, action: "mute" });
    await bob.ws.waitForEvent(roomId, (e) => e.type === "member" && e.change === "mute" && e.accountId === bob.reg.account.id, {
      from,
    });
    const muted = await bob.ws.error({ type: "send", room: roomId, clientId: uniq("c"), body: "let me speak" });
    assert.equal(muted.code, "MUTED");
    assert.equal(
      (await bob.ws.error({ type: "react", message: (await say(carol, roomId)).messageId, emoji: "x" })).code,
      "MUTED",
    );
    await owner.ws.ok({ type: "moderate", room: roomId, account: bob.name, action: "unmute" });
    await bob.ws.waitForEvent(roomId, (e) => e.type === "member" && e.change === "unmute");
    await say(bob, roomId, "thanks");
  });

  it("a plain member cannot moderate (FORBIDDEN)", async () => {
    const r = await carol.ws.error({ type: "moderate", room: roomId, account: bob.name, action: "kick" });
    assert.equal(r.code, "FORBIDDEN");
    const mute = await carol.ws.error({ type: "moderate", room: roomId, account: owner.name, action: "mute" });
    assert.equal(mute.code, "FORBIDDEN");
  });

  it("kick: the member is out, sees the kick, and may join again", async () => {
    await owner.ws.ok({ type: "moderate", room: roomId, account: carol.name, action: "kick" });
    await carol.ws.waitForEvent(
      roomId,
      (e) => e.type === "member" && e.change === "kick" && e.accountId === carol.reg.account.id,
    );
    assert.equal((await carol.ws.error({ type: "send", room: roomId, clientId: uniq("c"), body: "x" })).code, "NOT_MEMBER");
    await carol.ws.ok({ type: "join", room: roomName });
    await say(carol, roomId, "back");
  });

  it("ban: the member is kicked out, and rejoining is BANNED until unbanned", async () => {
    const from = bob.ws.frames.length;
    await owner.ws.ok({ type: "moderate", room: roomId, account: bob.name, action: "ban" });
    await bob.ws.waitForEvent(roomId, (e) => e.type === "member" && e.change === "ban" && e.accountId === bob.reg.account.id, {
      from,
    });
    assert.equal((await bob.ws.error({ type: "send", room: roomId, clientId: uniq("c"), body: "x" })).code, "NOT_MEMBER");
    assert.equal((await bob.ws.error({ type: "join", room: roomName })).code, "BANNED");
    const members = await owner.ws.ok({ type: "members", room: roomId });
    assert.ok(!members.members.some((m: Json) => m.name === bob.name));
    // Events after the ban do not reach bob.
    const mark = bob.ws.frames.length;
    await say(owner, roomId, "bob is gone");
    await nothing(bob, (f) => f.type === "event" && f.event.roomId === roomId, 200, mark);
    // The ban outlives a reconnect.
    const fresh = await connect(bob.reg);
    assert.ok(!fresh.welcome.rooms.some((m: Json) => m.room.id === roomId));
    assert.equal((await fresh.ws.error({ type: "join", room: roomName })).code, "BANNED");
    await owner.ws.ok({ type: "moderate", room: roomId, account: bob.name, action: "unban" });
    await bob.ws.ok({ type: "join", room: roomName });
  });

  it("op makes a moderator who can delete others' messages but not moderate the owner", async () => {
    await owner.ws.ok({ type: "moderate", room: roomId, account: bob.name, action: "op" });
    await bob.ws.waitForEvent(roomId, (e) => e.type === "member" && e.change === "role" && e.role === "moderator");
    const m = await say(carol, roomId, "spam");
    await bob.ws.ok({ type: "delete", message: m.messageId });
    assert.equal((await bob.ws.error({ type: "moderate", room: roomId, account: owner.name, action: "mute" })).code, "FORBIDDEN");
    assert.equal((await bob.ws.error({ type: "moderate", room: roomId, account: carol.name, action: "op" })).code, "FORBIDDEN");
    await owner.ws.ok({ type: "moderate", room: roomId, account: bob.name, action: "deop" });
    await bob.ws.waitForEvent(roomId, (e) => e.type === "member" && e.change === "role" && e.role === "member");
    const m2 = await say(carol, roomId, "more spam");
    assert.equal((await bob.ws.error({ type: "delete", message: m2.messageId })).code, "FORBIDDEN");
  });
});

describe("REST and WebSocket agree", () => {
  it("a message sent over WebSocket is in the REST history", async () => {
    const u = await user();
    const m = await say(u, u.lobby, "over ws");
    const r = await api(srv, "GET", `/api/rooms/${u.lobby}/messages?after=${m.seq - 1}&limit=1`, { token: u.reg.token });
    assert.equal(r.json.messages[0].id, m.messageId);
    assert.equal(r.json.messages[0].body, "over ws");
  });
});
