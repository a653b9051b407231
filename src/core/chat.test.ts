// Chat and Connection against the real SQLite store (in memory) and the local bus.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LocalBus } from "../bus/local.ts";
import { SqliteStore } from "../store/sqlite/index.ts";
import { Chat, type ChatOptions, LOBBY } from "./chat.ts";
import type { Connection, Peer } from "./connection.ts";
import { ChatError, type ErrorCode } from "./errors.ts";
import { hashToken } from "./ids.ts";
import type { Bus, BusMessage, Clock, Hasher, Store } from "./ports.ts";
import type { Account, Ephemeral, Id, RoomEvent } from "./types.ts";

const T0 = 1_700_000_000_000;

class FakeClock implements Clock {
  constructor(public t = T0) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

const hasher: Hasher = {
  hash: async (pw) => `h:${pw}`,
  verify: async (hash, pw) => hash === `h:${pw}`,
};

/** A client as the core sees it: records everything, and notes any break in a room's sequence. */
class FakePeer implements Peer {
  readonly events: RoomEvent[] = [];
  readonly ephemerals: Ephemeral[] = [];
  /** Everything in arrival order. */
  readonly log: ({ kind: "event"; e: RoomEvent } | { kind: "ephemeral"; e: Ephemeral })[] = [];
  readonly violations: string[] = [];
  private readonly last = new Map<Id, number>();

  constructor(readonly accountId: Id) {}

  /** The runs handed over, as they came (a store commit's events come as one). */
  readonly runs: RoomEvent[][] = [];

  roomEvents(run: readonly RoomEvent[]): void {
    this.runs.push([...run]);
    for (const e of run) this.event(e);
  }

  private event(e: RoomEvent): void {
    const last = this.last.get(e.roomId);
    if (last !== undefined && e.seq !== last + 1) this.violations.push(`room ${e.roomId}: ${e.seq} after ${last}`);
    this.last.set(e.roomId, e.seq);
    if (e.type === "member" && e.accountId === this.accountId && ["leave", "kick", "ban"].includes(e.change)) {
      this.last.delete(e.roomId); // a later rejoin starts a new stretch
    }
    this.events.push(e);
    this.log.push({ kind: "event", e });
  }

  ephemeral(e: Ephemeral): void {
    this.ephemerals.push(e);
    this.log.push({ kind: "ephemeral", e });
  }

  async ready(): Promise<void> {}

  in(roomId: Id): RoomEvent[] {
    return this.events.filter((e) => e.roomId === roomId);
  }

  seqs(roomId: Id): number[] {
    return this.in(roomId).map((e) => e.seq);
  }

  bodies(roomId: Id): string[] {
    return this.in(roomId).flatMap((e) => (e.type === "message" ? [e.message.body] : []));
  }

  ofType<T extends Ephemeral["type"]>(type: T): Extract<Ephemeral, { type: T }>[] {
    return this.ephemerals.filter((e): e is Extract<Ephemeral, { type: T }> => e.type === type);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retries an assertion until it holds or the time is up. */
async function eventually(check: () => void | Promise<void>, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(3);
    }
  }
}

/** Lets in-flight deliveries land, so that a check for "nothing more arrived" means something. */
const settle = () => sleep(30);

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, extra?: (e: ChatError) => void): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ChatError, `expected ChatError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    extra?.(err);
    return true;
  });
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}

const BIG = { burst: 100_000, perSecond: 100_000 };

interface User {
  account: Account;
  token: string;
  peer: FakePeer;
  conn: Connection;
}

interface SetupOptions extends Partial<ChatOptions> {
  bus?: Bus;
  /** Lets a test put a wrapper between the core and the store. */
  wrapStore?: (store: Store) => Store;
}

async function setup(opts: SetupOptions = {}) {
  const store = new SqliteStore({ path: ":memory:" });
  const bus = opts.bus ?? new LocalBus();
  const clock = new FakeClock();
  const chat = new Chat({
    store: opts.wrapStore ? opts.wrapStore(store) : store,
    bus,
    hasher,
    clock,
    ...opts,
    limits: { connectionMessages: BIG, accountMessages: BIG, joins: BIG, roomCreations: BIG, ...opts.limits },
  });
  await chat.start();
  const lobby = (await store.findRoom(LOBBY))!;
  const connections: Connection[] = [];
  // The first registered account is the admin; register one so the test's users are ordinary.
  await chat.register("root", "root-password");

  async function connect(account: Account, o: { resume?: Record<Id, number>; presence?: boolean } = {}) {
    const peer = new FakePeer(account.id);
    const { connection, rooms } = await chat.connect(account, peer, o);
    connections.push(connection);
    return { peer, conn: connection, rooms };
  }

  async function user(name: string, o: { resume?: Record<Id, number>; presence?: boolean } = {}): Promise<User> {
    const { account, token } = await chat.register(name, `pw-of-${name}`);
    return { account, token, ...(await connect(account, o)) };
  }

  async function cleanup() {
    for (const c of connections) c.close();
    await settle();
    await store.close();
    await bus.close();
  }

  return { chat, store, bus, clock, lobby, user, connect, cleanup };
}

type Env = Awaited<ReturnType<typeof setup>>;

/** Runs a test against a fresh chat; always cleans up. */
function test(title: string, fn: (env: Env) => Promise<void>, opts: SetupOptions = {}) {
  it(title, async () => {
    const env = await setup(opts);
    try {
      await fn(env);
    } finally {
      await env.cleanup();
    }
  });
}

describe("Chat: accounts and sessions", () => {
  test("register: the first account is admin, names are unique case-insensitively", async ({ chat }) => {
    // setup registered "root" first
    const root = await chat.findAccount("ROOT");
    assert.equal(root?.admin, true);
    const { account, token } = await chat.register("Alice", "correct horse");
    assert.equal(account.name, "Alice");
    assert.equal(account.admin, false);
    assert.equal(account.guest, false);
    assert.deepEqual(await chat.authenticate(token), account);
    await rejectsWith(chat.register("aLICE", "another password"), "NAME_TAKEN");
    await rejectsWith(chat.register("bad name", "long enough"), "INVALID_NAME");
    await rejectsWith(chat.register("bob", "short"), "WEAK_PASSWORD");
    assert.equal(await chat.findAccount("bob"), null, "a refused registration stores nothing");
  });

  test("createAccount registers without a session: in #lobby, logs in by password, names unique", async ({
    chat,
    store,
    lobby,
  }) => {
    const a = await chat.createAccount("dora", "dora-password");
    assert.equal(a.guest, false);
    assert.ok(await store.getMember(lobby.id, a.id));
    assert.equal((await chat.verifyPassword("DORA", "dora-password")).id, a.id);
    await rejectsWith(chat.createAccount("Dora", "another-password"), "NAME_TAKEN");
    await rejectsWith(chat.createAccount("eve", "short"), "WEAK_PASSWORD");
  });

  test("login with the right password, not with a wrong one or an unknown name", async ({ chat }) => {
    const { account } = await chat.register("alice", "correct horse");
    const { account: again, token } = await chat.login("ALICE", "correct horse");
    assert.equal(again.id, account.id);
    assert.equal((await chat.authenticate(token)).id, account.id);
    await rejectsWith(chat.login("alice", "wrong horse"), "INVALID_CREDENTIALS");
    await rejectsWith(chat.login("nobody", "correct horse"), "INVALID_CREDENTIALS");
  });

  test("guests cannot log in", async ({ chat }) => {
    await chat.guest("gus");
    await rejectsWith(chat.login("gus", ""), "INVALID_CREDENTIALS");
    await rejectsWith(chat.login("gus", "anything at all"), "INVALID_CREDENTIALS");
  });

  test("logout revokes that token only", async ({ chat }) => {
    const { token: t1 } = await chat.register("alice", "correct horse");
    const { token: t2 } = await chat.login("alice", "correct horse");
    await chat.logout(t1);
    await rejectsWith(chat.authenticate(t1), "INVALID_TOKEN");
    assert.equal((await chat.authenticate(t2)).name, "alice");
  });

  test(
    "authenticate refuses unknown and expired tokens",
    async ({ chat, clock }) => {
      const { token } = await chat.register("alice", "correct horse");
      await rejectsWith(chat.authenticate("not-a-token"), "INVALID_TOKEN");
      clock.advance(59_999);
      assert.equal((await chat.authenticate(token)).name, "alice");
      clock.advance(1);
      await rejectsWith(chat.authenticate(token), "INVALID_TOKEN");
    },
    { limits: { sessionTtl: 60_000 } },
  );

  test("changePassword revokes every older session and returns a working token", async ({ chat, clock }) => {
    const { token: t1 } = await chat.register("alice", "old password");
    clock.advance(1000);
    const { token: t2 } = await chat.login("alice", "old password");
    clock.advance(1000);
    await rejectsWith(chat.changePassword("alice", "wrong password", "new password"), "INVALID_CREDENTIALS");
    await rejectsWith(chat.changePassword("alice", "old password", "short"), "WEAK_PASSWORD");
    assert.equal((await chat.authenticate(t1)).name, "alice", "refused changes revoke nothing");
    const fresh = await chat.changePassword("alice", "old password", "new password");
    await rejectsWith(chat.authenticate(t1), "INVALID_TOKEN");
    await rejectsWith(chat.authenticate(t2), "INVALID_TOKEN");
    assert.equal((await chat.authenticate(fresh)).name, "alice");
    await rejectsWith(chat.login("alice", "old password"), "INVALID_CREDENTIALS");
    assert.equal((await chat.login("alice", "new password")).account.name, "alice");
  });

  test("logout closes the connections opened with that token; a password change closes all of them", async ({ chat }) => {
    const { account, token: t1 } = await chat.register("alice", "old password");
    const { token: t2 } = await chat.login("alice", "old password");
    const [p1, p2, p3] = [new FakePeer(account.id), new FakePeer(account.id), new FakePeer(account.id)];
    await chat.connect(account, p1, { token: t1 });
    await chat.connect(account, p2, { token: t2 });
    await chat.connect(account, p3); // a line-mode login: no session
    await chat.logout(t1);
    await eventually(() => assert.equal(p1.ofType("revoked").length, 1));
    await sleep(20);
    assert.deepEqual(
      [p2, p3].map((p) => p.ofType("revoked").length),
      [0, 0],
      "other sessions stay open",
    );
    await chat.changePassword("alice", "old password", "new password");
    await eventually(() =>
      assert.deepEqual(
        [p2, p3].map((p) => p.ofType("revoked").length),
        [1, 1],
      ),
    );
  });

  test("a session created before the password change is dead even if it survived in the store", async ({
    chat,
    store,
    clock,
  }) => {
    const { account, token } = await chat.register("alice", "old password");
    const session = await store.getSession(hashToken(token));
    assert.ok(session);
    clock.advance(1000);
    await chat.changePassword("alice", "old password", "new password");
    await store.createSession(session); // e.g. written by another node that raced the change
    await rejectsWith(chat.authenticate(token), "INVALID_TOKEN");
    assert.equal((await chat.findAccount("alice"))?.id, account.id);
  });
});

describe("Chat: guests", () => {
  test("a guest is a non-admin account in #lobby", async ({ chat, store, lobby }) => {
    const gus = await chat.guest("gus");
    assert.equal(gus.guest, true);
    assert.equal(gus.admin, false);
    assert.deepEqual(
      (await store.memberships(gus.id)).map((m) => m.room.id),
      [lobby.id],
    );
  });

  test("a guest cannot take a registered name", async ({ chat }) => {
    await chat.register("alice", "correct horse");
    await rejectsWith(chat.guest("ALICE"), "NAME_TAKEN");
    await rejectsWith(chat.guest("bad name"), "INVALID_NAME");
  });

  test("a guest cannot take the name of a guest who is online, but may once they left", async ({ chat, connect }) => {
    const gus = await chat.guest("gus");
    const { conn } = await connect(gus);
    await eventually(() => assert.equal(chat.hub.presence.isOnline(gus.id), true));
    await rejectsWith(chat.guest("GUS"), "NAME_TAKEN");
    conn.close();
    await eventually(() => assert.equal(chat.hub.presence.isOnline(gus.id), false));
    const again = await chat.guest("gus");
    assert.equal(again.id, gus.id);
  });

  test("renameGuest takes a free name only", async ({ chat, user }) => {
    const alice = await user("alice");
    const gus = await chat.guest("gus");
    await chat.guest("gwen");
    const renamed = await chat.renameGuest(gus, "gustav");
    assert.equal(renamed.name, "gustav");
    assert.equal((await chat.store.findGuest("gustav"))?.id, gus.id);
    await rejectsWith(chat.renameGuest(renamed, "Alice"), "NAME_TAKEN");
    await rejectsWith(chat.renameGuest(alice.account, "alfred"), "FORBIDDEN");
  });

  test(
    "GUESTS_DISABLED when the server does not allow guests",
    async ({ chat }) => {
      await rejectsWith(chat.guest("gus"), "GUESTS_DISABLED");
      assert.equal(await chat.store.findGuest("gus"), null);
    },
    { allowGuests: false },
  );

  test("guests cannot create rooms, open direct conversations or join private rooms", async ({ chat, user, connect }) => {
    const alice = await user("alice");
    await alice.conn.createRoom("secret", "private");
    await alice.conn.createRoom("open", "public");
    const gus = await chat.guest("gus");
    const { conn } = await connect(gus);
    await rejectsWith(conn.createRoom("mine", "public"), "GUEST_FORBIDDEN");
    await rejectsWith(chat.createRoom(gus, "mine", "public", ""), "GUEST_FORBIDDEN");
    await rejectsWith(conn.openDirect("alice"), "GUEST_FORBIDDEN");
    await rejectsWith(conn.join("#secret"), "GUEST_FORBIDDEN");
    const m = await conn.join("#open");
    assert.equal(m.room.name, "open");
  });
});

describe("Chat: rooms and messages", () => {
  test("everyone joins #lobby", async ({ chat, store, lobby, user }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const gus = await chat.guest("gus");
    for (const a of [alice.account, bob.account, gus]) {
      assert.deepEqual(
        (await store.memberships(a.id)).map((m) => m.room.name),
        [LOBBY],
      );
    }
    assert.ok(alice.conn.following(lobby.id));
    const members = (await store.listMembers(lobby.id)).map((m) => m.name).sort();
    assert.deepEqual(members, ["alice", "bob", "gus", "root"]);
    assert.equal((await chat.listRooms()).find((r) => r.name === LOBBY)?.members, 4);
  });

  test("a send is acknowledged with id and seq and reaches every member, in order", async ({ lobby, user }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const carol = await user("carol");
    const start = (await alice.conn.history(lobby.id, {})).messages.length;
    assert.equal(start, 0);
    const acks = [];
    for (let i = 0; i < 5; i++) acks.push(await alice.conn.send(lobby.id, `a${i}`, `ca${i}`, null));
    const concurrent = await Promise.all(range(0, 4).map((i) => bob.conn.send(lobby.id, `b${i}`, `cb${i}`, null)));
    for (const ack of [...acks, ...concurrent]) {
      assert.equal(ack.duplicate, false);
      assert.equal(typeof ack.message.id, "string");
      assert.ok(ack.message.seq > 0);
    }
    const ackSeqs = [...acks, ...concurrent].map((a) => a.message.seq);
    assert.deepEqual(
      [...ackSeqs].sort((x, y) => x - y),
      range(ackSeqs[0]!, ackSeqs[0]! + 9),
    );
    await eventually(() => {
      for (const u of [alice, bob, carol]) assert.equal(u.peer.bodies(lobby.id).length, 10);
    });
    const expected = alice.peer.in(lobby.id).filter((e) => e.type === "message");
    assert.deepEqual(
      expected.map((e) => e.seq),
      [...ackSeqs].sort((x, y) => x - y),
    );
    assert.deepEqual(alice.peer.bodies(lobby.id).slice(0, 5), ["a0", "a1", "a2", "a3", "a4"]);
    for (const u of [bob, carol]) assert.deepEqual(u.peer.in(lobby.id).slice(-10), expected.slice(-10));
    for (const u of [alice, bob, carol]) assert.deepEqual(u.peer.violations, []);
    const first = expected[0];
    assert.ok(first?.type === "message");
    assert.equal(first.message.id, acks[0]!.message.id);
    assert.equal(first.message.author, "alice");
  });

  test("a resend with the same clientId is a duplicate and is not delivered again", async ({ lobby, user }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const first = await alice.conn.send(lobby.id, "hello", "client-1", null);
    const again = await alice.conn.send(lobby.id, "hello", "client-1", null);
    assert.equal(first.duplicate, false);
    assert.equal(again.duplicate, true);
    assert.equal(again.message.id, first.message.id);
    assert.equal(again.message.seq, first.message.seq);
    await eventually(() => assert.equal(bob.peer.bodies(lobby.id).length, 1));
    await alice.conn.send(lobby.id, "after", "client-2", null);
    await eventually(() => assert.deepEqual(bob.peer.bodies(lobby.id), ["hello", "after"]));
    await settle();
    assert.deepEqual(bob.peer.bodies(lobby.id), ["hello", "after"]);
    assert.deepEqual(alice.peer.bodies(lobby.id), ["hello", "after"]);
  });

  test("sending to a room one is not in: NOT_MEMBER", async ({ user }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const m = await alice.conn.createRoom("alices", "public");
    await rejectsWith(bob.conn.send(m.room.id, "hi", null, null), "NOT_MEMBER");
    await rejectsWith(bob.conn.send("no-such-room", "hi", null, null), "NOT_MEMBER");
    await rejectsWith(bob.conn.setTopic(m.room.id, "mine now"), "NOT_MEMBER");
  });

  test("invalid bodies and replies are refused", async ({ lobby, user }) => {
    const alice = await user("alice");
    const other = await alice.conn.createRoom("other", "public");
    const there = await alice.conn.send(other.room.id, "over there", null, null);
    await rejectsWith(alice.conn.send(lobby.id, "   ", null, null), "BAD_REQUEST");
    await rejectsWith(alice.conn.send(lobby.id, "x".repeat(4001), null, null), "TOO_LARGE");
    await rejectsWith(alice.conn.send(lobby.id, "re", null, there.message.id), "NO_SUCH_MESSAGE");
    const here = await alice.conn.send(lobby.id, "here", null, null);
    const reply = await alice.conn.send(lobby.id, "re", null, here.message.id);
    assert.equal(reply.message.replyTo, here.message.id);
  });

  test("a muted member cannot send until unmuted", async ({ user }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const room = (await alice.conn.createRoom("quiet", "public")).room;
    await bob.conn.join("#quiet");
    const msg = await alice.conn.send(room.id, "react to this", null, null);
    await alice.conn.moderate(room.id, "bob", "mute");
    await eventually(() => assert.ok(bob.peer.in(room.id).some((e) => e.type === "member" && e.change === "mute")));
    await rejectsWith(bob.conn.send(room.id, "let me speak", null, null), "MUTED");
    await rejectsWith(bob.conn.react(msg.message.id, "👍"), "MUTED");
    await alice.conn.moderate(room.id, "bob", "unmute");
    await eventually(() => assert.ok(bob.peer.in(room.id).some((e) => e.type === "member" && e.change === "unmute")));
    const ok = await bob.conn.send(room.id, "thanks", null, null);
    assert.equal(ok.duplicate, false);
  });

  test("a muted member is still muted on a new connection", async ({ connect, user }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const room = (await alice.conn.createRoom("quiet", "public")).room;
    await bob.conn.join("#quiet");
    await alice.conn.moderate(room.id, "bob", "mute");
    const second = await connect(bob.account);
    await rejectsWith(second.conn.send(room.id, "sneaky", null, null), "MUTED");
  });

  test("a banned member stops receiving the room and cannot rejoin until unbanned", async ({ user }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const room = (await alice.conn.createRoom("strict", "public")).room;
    await bob.conn.join("strict");
    await alice.conn.send(room.id, "before", null, null);
    await eventually(() => assert.deepEqual(bob.peer.bodies(room.id), ["before"]));
    const ban = await alice.conn.moderate(room.id, "bob", "ban");
    await eventually(() =>
      assert.ok(
        bob.peer.in(room.id).some((e) => e.seq === ban.seq),
        "bob sees his ban",
      ),
    );
    assert.equal(bob.conn.following(room.id), false);
    await alice.conn.send(room.id, "after", null, null);
    await eventually(() => assert.deepEqual(alice.peer.bodies(room.id), ["before", "after"]));
    await settle();
    assert.deepEqual(bob.peer.bodies(room.id), ["before"]);
    await rejectsWith(bob.conn.send(room.id, "hey", null, null), "NOT_MEMBER");
    await rejectsWith(bob.conn.join("#strict"), "BANNED");
    await alice.conn.moderate(room.id, "bob", "unban");
    await bob.conn.join("#strict");
    await alice.conn.send(room.id, "welcome back", null, null);
    await eventually(() => assert.deepEqual(bob.peer.bodies(room.id), ["before", "welcome back"]));
    assert.deepEqual(bob.peer.violations, []);
  });

  test("a kicked member stops receiving the room, and may join again", async ({ user }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const room = (await alice.conn.createRoom("club", "public")).room;
    await bob.conn.join("club");
    await alice.conn.moderate(room.id, "bob", "kick");
    await eventually(() => assert.equal(bob.conn.following(room.id), false));
    await alice.conn.send(room.id, "while bob was out", null, null);
    await eventually(() => assert.equal(alice.peer.bodies(room.id).length, 1));
    await settle();
    assert.deepEqual(bob.peer.bodies(room.id), []);
    await bob.conn.join("club");
    await alice.conn.send(room.id, "hi again", null, null);
    await eventually(() => assert.deepEqual(bob.peer.bodies(room.id), ["hi again"]));
  });

  test("kicks and bans keep their reason; members read the ban list", async ({ user }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const carol = await user("carol");
    const room = (await alice.conn.createRoom("club", "public")).room;
    await bob.conn.join("club");
    await carol.conn.join("club");
    const kick = await alice.conn.moderate(room.id, "bob", "kick", "  off topic  ");
    assert.ok(kick.type === "member" && kick.reason === "off topic", "trimmed and stored");
    await eventually(() =>
      assert.ok(carol.peer.in(room.id).some((e) => e.type === "member" && e.change === "kick" && e.reason === "off topic")),
    );
    const long = await alice.conn.moderate(room.id, "bob", "ban", "x".repeat(5000));
    assert.ok(long.type === "member" && long.reason?.length === 300, "cut to the topic length");
    const mute = await alice.conn.moderate(room.id, "carol", "mute", "ignored");
    assert.ok(mute.type === "member" && mute.reason === undefined, "only kicks and bans carry a reason");
    await rejectsWith(alice.conn.moderate(room.id, "carol", "kick", "nul\u0000"), "BAD_REQUEST");
    assert.deepEqual(await carol.conn.bans(room.id), [{ accountId: bob.account.id, name: "bob" }]);
    await rejectsWith(bob.conn.bans(room.id), "NOT_MEMBER");
    await alice.conn.moderate(room.id, "bob", "unban");
    assert.deepEqual(await alice.conn.bans(room.id), []);
  });

  test("moderation needs the role: members cannot kick, only owners appoint moderators", async ({ user }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const carol = await user("carol");
    const room = (await alice.conn.createRoom("club", "public")).room;
    await bob.conn.join("club");
    await carol.conn.join("club");
    await rejectsWith(bob.conn.moderate(room.id, "carol", "kick"), "FORBIDDEN");
    await alice.conn.moderate(room.id, "bob", "op");
    await eventually(() => assert.ok(bob.peer.in(room.id).some((e) => e.type === "member" && e.change === "role")));
    await rejectsWith(bob.conn.moderate(room.id, "carol", "op"), "FORBIDDEN");
    await rejectsWith(bob.conn.moderate(room.id, "alice", "kick"), "FORBIDDEN");
    await bob.conn.moderate(room.id, "carol", "kick");
    await eventually(() => assert.equal(carol.conn.following(room.id), false));
  });

  test("setKind: moderators make a room private or public; members stay, newcomers need an invitation", async ({
    chat,
    user,
  }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const carol = await user("carol");
    const room = (await alice.conn.createRoom("club", "public")).room;
    await bob.conn.join("club");
    await rejectsWith(bob.conn.setKind(room.id, "private"), "FORBIDDEN");
    const e = await alice.conn.setKind(room.id, "private");
    assert.ok(e?.type === "settings" && e.kind === "private");
    await eventually(() => assert.ok(bob.peer.in(room.id).some((x) => x.type === "settings" && x.kind === "private")));
    assert.equal(await alice.conn.setKind(room.id, "private"), null, "already private: no event");
    assert.ok(bob.conn.following(room.id), "members stay");
    assert.ok(!(await chat.listRooms()).some((r) => r.id === room.id), "no longer listed");
    await rejectsWith(carol.conn.join("club"), "INVITE_ONLY");
    await alice.conn.setKind(room.id, "public");
    await carol.conn.join("club");
    const guest = await chat.guest("gus");
    const { connection: g } = await chat.connect(guest, { roomEvents() {}, ephemeral() {}, ready: async () => {} });
    await g.join("club");
    await rejectsWith(g.setKind(room.id, "private"), "FORBIDDEN");
    g.close();
    const dm = await alice.conn.openDirect("bob");
    await rejectsWith(alice.conn.setKind(dm.room.id, "public"), "FORBIDDEN");
  });

  test("a private room needs an invitation", async ({ user }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const room = (await alice.conn.createRoom("secret", "private")).room;
    await rejectsWith(bob.conn.join("#secret"), "INVITE_ONLY");
    assert.equal(
      (await bob.conn.listRooms()).some((r) => r.name === "secret"),
      false,
      "private rooms are not listed",
    );
    await alice.conn.invite(room.id, "bob");
    await eventually(() =>
      assert.deepEqual(bob.peer.ofType("invited"), [{ type: "invited", roomId: room.id, room: "secret", by: "alice" }]),
    );
    const m = await bob.conn.join("#secret");
    assert.equal(m.room.id, room.id);
    assert.equal(m.role, "member");
    await alice.conn.send(room.id, "welcome", null, null);
    await eventually(() => assert.deepEqual(bob.peer.bodies(room.id), ["welcome"]));
  });

  test("the admin may join a private room without an invitation", async ({ chat, connect, user }) => {
    const alice = await user("alice");
    const room = (await alice.conn.createRoom("secret", "private")).room;
    const root = (await chat.findAccount("root"))!;
    const { conn } = await connect(root);
    const m = await conn.join("secret");
    assert.equal(m.room.id, room.id);
  });

  test("only the author edits; members delete their own messages, moderators anyone's", async ({ user }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const carol = await user("carol");
    const room = (await alice.conn.createRoom("club", "public")).room;
    await bob.conn.join("club");
    await carol.conn.join("club");
    const a = (await alice.conn.send(room.id, "alice's", null, null)).message;
    const b1 = (await bob.conn.send(room.id, "bob's first", null, null)).message;
    const b2 = (await bob.conn.send(room.id, "bob's second", null, null)).message;

    await rejectsWith(bob.conn.edit(a.id, "bob was here"), "FORBIDDEN");
    const edit = await alice.conn.edit(a.id, "alice's, edited");
    assert.equal(edit.type, "edit");
    await eventually(() => assert.ok(bob.peer.in(room.id).some((e) => e.type === "edit" && e.body === "alice's, edited")));

    await rejectsWith(bob.conn.remove(a.id), "FORBIDDEN");
    await rejectsWith(carol.conn.remove(b1.id), "FORBIDDEN");
    await bob.conn.remove(b1.id);
    await alice.conn.moderate(room.id, "carol", "op");
    await eventually(() => assert.ok(carol.peer.in(room.id).some((e) => e.type === "member" && e.change === "role")));
    const del = await carol.conn.remove(b2.id);
    assert.equal(del.type, "delete");
    await rejectsWith(carol.conn.remove(b2.id), "NO_SUCH_MESSAGE");
    await rejectsWith(alice.conn.edit(b2.id, "x"), "NO_SUCH_MESSAGE");

    const page = await alice.conn.history(room.id, {});
    assert.deepEqual(
      page.messages.map((m) => [m.body, m.deleted]),
      [
        ["alice's, edited", false],
        ["", true],
        ["", true],
      ],
    );
    await eventually(() => {
      for (const u of [alice, bob, carol]) {
        assert.deepEqual(
          u.peer
            .in(room.id)
            .filter((e) => e.type === "delete")
            .map((e) => e.type === "delete" && e.messageId),
          [b1.id, b2.id],
        );
      }
    });
  });

  test("reactions toggle and reach the room", async ({ lobby, user }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const m = (await alice.conn.send(lobby.id, "react", null, null)).message;
    const on = await bob.conn.react(m.id, "👍");
    assert.ok(on.type === "react" && on.on);
    const off = await bob.conn.react(m.id, "👍");
    assert.ok(off.type === "react" && !off.on);
    await bob.conn.react(m.id, "🎉");
    await eventually(() =>
      assert.deepEqual(
        alice.peer.in(lobby.id).flatMap((e) => (e.type === "react" ? [[e.emoji, e.on]] : [])),
        [
          ["👍", true],
          ["👍", false],
          ["🎉", true],
        ],
      ),
    );
    const page = await alice.conn.history(lobby.id, {});
    assert.deepEqual(page.messages[0]?.reactions, { "🎉": ["bob"] });
  });

  test("only moderators set the topic", async ({ store, user }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const room = (await alice.conn.createRoom("club", "public", "first topic")).room;
    assert.equal(room.topic, "first topic");
    await bob.conn.join("club");
    await rejectsWith(bob.conn.setTopic(room.id, "bob's topic"), "FORBIDDEN");
    assert.equal((await store.getRoom(room.id))?.topic, "first topic");
    await alice.conn.setTopic(room.id, "second topic");
    assert.equal((await store.getRoom(room.id))?.topic, "second topic");
    await eventually(() => assert.ok(bob.peer.in(room.id).some((e) => e.type === "topic" && e.topic === "second topic")));
  });

  test("room names are unique and valid", async ({ user }) => {
    const alice = await user("alice");
    await alice.conn.createRoom("club", "public");
    await rejectsWith(alice.conn.createRoom("#CLUB", "private"), "ROOM_EXISTS");
    await rejectsWith(alice.conn.createRoom("no spaces", "public"), "INVALID_NAME");
    await rejectsWith(alice.conn.join("#nowhere"), "NO_SUCH_ROOM");
  });

  test("openDirect makes one room for the pair and brings the other side in", async ({ store, user }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const m = await alice.conn.openDirect("bob");
    assert.equal(m.room.kind, "direct");
    assert.ok(alice.conn.following(m.room.id));
    await eventually(() => assert.equal(bob.peer.ofType("joined").length, 1));
    const joined = bob.peer.ofType("joined")[0]!;
    assert.equal(joined.membership.room.id, m.room.id);
    assert.equal(joined.membership.room.kind, "direct");
    assert.ok(bob.conn.following(m.room.id));

    const again = await alice.conn.openDirect("BOB");
    assert.equal(again.room.id, m.room.id);
    const fromBob = await bob.conn.openDirect("alice");
    assert.equal(fromBob.room.id, m.room.id);
    const members = (await store.listMembers(m.room.id)).map((x) => x.name).sort();
    assert.deepEqual(members, ["alice", "bob"]);

    await alice.conn.send(m.room.id, "psst", null, null);
    await bob.conn.send(m.room.id, "what", null, null);
    await eventually(() => {
      assert.deepEqual(bob.peer.bodies(m.room.id), ["psst", "what"]);
      assert.deepEqual(alice.peer.bodies(m.room.id), ["psst", "what"]);
    });
    // Bob hears of the room before any of its events.
    const firstOfRoom = bob.peer.log.findIndex(
      (x) => (x.kind === "event" && x.e.roomId === m.room.id) || (x.kind === "ephemeral" && x.e.type === "joined"),
    );
    assert.equal(bob.peer.log[firstOfRoom]?.kind, "ephemeral", "the joined notice comes first");
    assert.deepEqual(bob.peer.violations, []);
    assert.deepEqual(alice.peer.violations, []);
    await rejectsWith(bob.conn.join(m.room.name), "INVALID_NAME");
    await rejectsWith(alice.conn.openDirect("nobody"), "NO_SUCH_ACCOUNT");
  });

  test("joining on one connection brings the account's other connections in; leaving takes them out", async ({
    connect,
    user,
  }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const phone = await connect(bob.account);
    const room = (await alice.conn.createRoom("club", "public")).room;
    const m = await bob.conn.join("#club");
    assert.equal(m.room.id, room.id);
    await eventually(() => assert.ok(phone.conn.following(room.id)));
    assert.deepEqual(
      phone.peer.ofType("joined").map((j) => j.membership.room.id),
      [room.id],
    );
    assert.deepEqual(bob.peer.ofType("joined"), [], "the joining connection has its answer already");
    await alice.conn.send(room.id, "hi bob", null, null);
    await eventually(() => {
      assert.deepEqual(bob.peer.bodies(room.id), ["hi bob"]);
      assert.deepEqual(phone.peer.bodies(room.id), ["hi bob"]);
    });
    await bob.conn.leave(room.id);
    await eventually(() => {
      assert.equal(bob.conn.following(room.id), false);
      assert.equal(phone.conn.following(room.id), false);
    });
    await alice.conn.send(room.id, "bye bob", null, null);
    await eventually(() => assert.equal(alice.peer.bodies(room.id).length, 2));
    await settle();
    assert.deepEqual(bob.peer.bodies(room.id), ["hi bob"]);
    assert.deepEqual(phone.peer.bodies(room.id), ["hi bob"]);
    await rejectsWith(bob.conn.leave(room.id), "NOT_MEMBER");
  });

  test("history, members and read positions", async ({ chat, user }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const open = (await alice.conn.createRoom("open", "public")).room;
    const secret = (await alice.conn.createRoom("secret", "private")).room;
    for (let i = 0; i < 5; i++) await alice.conn.send(open.id, `m${i}`, null, null);
    await alice.conn.send(secret.id, "hidden", null, null);

    const page = await bob.conn.history(open.id, { limit: 2 });
    assert.deepEqual(
      page.messages.map((m) => m.body),
      ["m3", "m4"],
    );
    assert.equal(page.more, true, "anyone reads a public room");
    const older = await bob.conn.history(open.id, { before: page.messages[0]!.seq, limit: 10 });
    assert.deepEqual(
      older.messages.map((m) => m.body),
      ["m0", "m1", "m2"],
    );
    await rejectsWith(bob.conn.history(secret.id, {}), "NOT_MEMBER");
    await rejectsWith(chat.history(bob.account, "no-such-room", {}), "NO_SUCH_ROOM");
    assert.deepEqual(
      (await alice.conn.history(secret.id, {})).messages.map((m) => m.body),
      ["hidden"],
    );
    assert.equal((await alice.conn.history(open.id, { limit: 1000 })).messages.length, 5, "the page size is capped, not refused");

    await rejectsWith(bob.conn.members(secret.id), "NOT_MEMBER");
    const members = await bob.conn.members(open.id);
    assert.deepEqual(
      members.map((m) => [m.name, m.role, m.online]),
      [["alice", "owner", true]],
    );

    const last = (await alice.conn.history(open.id, { limit: 1 })).messages[0]!.seq;
    assert.equal(await alice.conn.markRead(open.id, last - 2), last - 2);
    assert.equal(await alice.conn.markRead(open.id, 1), last - 2, "never back");
    assert.equal(await alice.conn.markRead(open.id, last + 50), last, "never past the end");
    await rejectsWith(bob.conn.markRead(open.id, 1), "NOT_MEMBER");
  });

  test("a moved read position reaches every connection of the account, and only its own", async ({ connect, user }) => {
    const alice = await user("alice");
    const other = await connect(alice.account);
    const bob = await user("bob");
    const room = (await alice.conn.createRoom("open", "public")).room;
    await bob.conn.join("open");
    for (let i = 0; i < 3; i++) await alice.conn.send(room.id, `m${i}`, null, null);
    const seq = await alice.conn.markRead(room.id, room.lastSeq + 3);
    await eventually(() => assert.deepEqual(other.peer.ofType("read"), [{ type: "read", roomId: room.id, readSeq: seq }]));
    assert.deepEqual(alice.peer.ofType("read"), [{ type: "read", roomId: room.id, readSeq: seq }]);
    await settle();
    assert.deepEqual(bob.peer.ofType("read"), []);
  });

  test("typing reaches the others in the room, not the typist", async ({ lobby, user }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const carol = await user("carol");
    const room = (await carol.conn.createRoom("elsewhere", "public")).room;
    await alice.conn.typing(lobby.id, true);
    await eventually(() =>
      assert.deepEqual(bob.peer.ofType("typing"), [
        { type: "typing", roomId: lobby.id, accountId: alice.account.id, name: "alice", typing: true },
      ]),
    );
    await eventually(() => assert.equal(carol.peer.ofType("typing").length, 1));
    await alice.conn.typing(lobby.id, false);
    await eventually(() => assert.equal(bob.peer.ofType("typing").at(-1)?.typing, false));
    await settle();
    assert.deepEqual(alice.peer.ofType("typing"), []);
    assert.equal(bob.peer.ofType("typing").length, 2);
    await rejectsWith(alice.conn.typing(room.id, true), "NOT_MEMBER");
  });

  test("a connection that closes while typing stops typing", async ({ lobby, user }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    await alice.conn.typing(lobby.id, true);
    await eventually(() => assert.equal(bob.peer.ofType("typing").at(-1)?.typing, true));
    alice.conn.close();
    await eventually(() => assert.equal(bob.peer.ofType("typing").at(-1)?.typing, false));
    assert.equal(bob.peer.ofType("typing").length, 2);
  });

  test("typing is not repeated within a few seconds", async ({ lobby, clock, user }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    await alice.conn.typing(lobby.id, false); // not typing yet: nothing to say
    await alice.conn.typing(lobby.id, true);
    clock.advance(1000);
    await alice.conn.typing(lobby.id, true);
    clock.advance(3000);
    await alice.conn.typing(lobby.id, true);
    await eventually(() => assert.equal(bob.peer.ofType("typing").length, 2));
    await settle();
    assert.deepEqual(
      bob.peer.ofType("typing").map((t) => t.typing),
      [true, true],
    );
  });

  test("presence goes to connections that asked for it", async ({ chat, connect, user }) => {
    const watcher = await user("watcher", { presence: true });
    const quiet = await user("quiet");
    const dave = await chat.register("dave", "dave's password");
    const { conn } = await connect(dave.account);
    await eventually(() =>
      assert.deepEqual(
        watcher.peer.ofType("presence").filter((p) => p.name === "dave"),
        [{ type: "presence", accountId: dave.account.id, name: "dave", online: true }],
      ),
    );
    const second = await connect(dave.account);
    conn.close();
    await settle();
    assert.equal(
      watcher.peer.ofType("presence").filter((p) => p.name === "dave").length,
      1,
      "still online on another connection",
    );
    second.conn.close();
    await eventually(() =>
      assert.equal(
        watcher.peer
          .ofType("presence")
          .filter((p) => p.name === "dave")
          .at(-1)?.online,
        false,
      ),
    );
    assert.deepEqual(quiet.peer.ofType("presence"), []);
    assert.equal(
      watcher.conn.online().some((o) => o.name === "dave"),
      false,
    );
    assert.ok(watcher.conn.online().some((o) => o.name === "quiet"));
  });

  test(
    "flooding: RATE_LIMITED with retryAfter, and fatal after floodStrikes in a row",
    async ({ lobby, clock, user }) => {
      const alice = await user("alice");
      for (let i = 0; i < 3; i++) await alice.conn.send(lobby.id, `m${i}`, null, null);
      await rejectsWith(alice.conn.send(lobby.id, "too much", null, null), "RATE_LIMITED", (e) => {
        assert.ok(e.retryAfter !== undefined && e.retryAfter > 0 && e.retryAfter <= 1000, `retryAfter ${e.retryAfter}`);
        assert.equal(e.fatal, false);
      });
      await rejectsWith(alice.conn.send(lobby.id, "too much", null, null), "RATE_LIMITED", (e) => assert.equal(e.fatal, false));
      await rejectsWith(alice.conn.send(lobby.id, "too much", null, null), "RATE_LIMITED", (e) => assert.equal(e.fatal, true));
      clock.advance(1000);
      await alice.conn.send(lobby.id, "calm again", null, null);
      // A success resets the strikes.
      await rejectsWith(alice.conn.send(lobby.id, "too much", null, null), "RATE_LIMITED", (e) => assert.equal(e.fatal, false));
      assert.deepEqual(
        (await alice.conn.history(lobby.id, {})).messages.map((m) => m.body),
        ["m0", "m1", "m2", "calm again"],
      );
    },
    { limits: { connectionMessages: { burst: 3, perSecond: 1 }, floodStrikes: 3 } },
  );

  test(
    "the account limit spans connections",
    async ({ lobby, connect, user }) => {
      const alice = await user("alice");
      const second = await connect(alice.account);
      await alice.conn.send(lobby.id, "one", null, null);
      await second.conn.send(lobby.id, "two", null, null);
      await rejectsWith(second.conn.send(lobby.id, "three", null, null), "RATE_LIMITED");
      await rejectsWith(alice.conn.send(lobby.id, "three", null, null), "RATE_LIMITED");
    },
    { limits: { accountMessages: { burst: 2, perSecond: 1 } } },
  );
});

describe("Chat: delivery", () => {
  /** Alice's room with Bob in it, and how many runs Bob had got by then. */
  async function club(user: (name: string) => Promise<User>) {
    const alice = await user("alice");
    const bob = await user("bob");
    const { room } = await alice.conn.createRoom("club", "public");
    await bob.conn.join("club");
    await settle();
    return { alice, bob, roomId: room.id, before: bob.peer.runs.length };
  }
  const kinds = (run: RoomEvent[]) => run.map((e) => (e.type === "message" ? e.message.body : e.type));

  test("a store commit's events reach each member as one run", async ({ user }) => {
    const { alice, bob, roomId, before } = await club(user);
    await Promise.all([1, 2, 3, 4, 5].map((i) => alice.conn.send(roomId, `m${i}`, null, null)));
    await settle();
    assert.deepEqual(bob.peer.runs.slice(before).map(kinds), [["m1", "m2", "m3", "m4", "m5"]]);
    assert.deepEqual(bob.peer.violations, []);
  });

  test("a departure in the middle of a run: the member gets what came before and its kick, nothing after", async ({ user }) => {
    const { alice, bob, roomId, before } = await club(user);
    await Promise.all([
      alice.conn.send(roomId, "a1", null, null),
      alice.conn.send(roomId, "a2", null, null),
      alice.conn.moderate(roomId, "bob", "kick"),
      alice.conn.send(roomId, "a3", null, null),
    ]);
    await settle();
    assert.deepEqual(
      bob.peer.runs.slice(before).map(kinds),
      [["a1", "a2"], ["member"]],
      "the run up to the kick, then the kick alone",
    );
    assert.ok(!bob.conn.following(roomId));
    await alice.conn.send(roomId, "a4", null, null);
    await settle();
    assert.equal(bob.peer.runs.length, before + 2, "nothing after the departure");
    assert.deepEqual(alice.peer.bodies(roomId).slice(-4), ["a1", "a2", "a3", "a4"]);
    assert.deepEqual(bob.peer.violations, []);
  });

  test("resume replays exactly what was missed, in order, then goes live", async ({ lobby, connect, user }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    for (let i = 0; i < 3; i++) await alice.conn.send(lobby.id, `seen${i}`, null, null);
    await eventually(() => assert.equal(bob.peer.bodies(lobby.id).length, 3));
    const lastSeen = bob.peer.seqs(lobby.id).at(-1)!;
    bob.conn.close();
    for (let i = 0; i < 5; i++) await alice.conn.send(lobby.id, `missed${i}`, null, null);
    const again = await connect(bob.account, { resume: { [lobby.id]: lastSeen } });
    const lastNow = (await alice.conn.history(lobby.id, {})).messages.at(-1)!.seq;
    await eventually(() => assert.equal(again.peer.seqs(lobby.id).at(-1), lastNow));
    assert.deepEqual(again.peer.seqs(lobby.id), range(lastSeen + 1, lastNow));
    assert.deepEqual(again.peer.bodies(lobby.id), ["missed0", "missed1", "missed2", "missed3", "missed4"]);
    await alice.conn.send(lobby.id, "live", null, null);
    await eventually(() => assert.equal(again.peer.bodies(lobby.id).at(-1), "live"));
    await settle();
    assert.deepEqual(again.peer.seqs(lobby.id), range(lastSeen + 1, lastNow + 1));
    assert.deepEqual(again.peer.violations, []);
  });

  test("resume from 0 replays the whole room; from the future, nothing", async ({ lobby, connect, user }) => {
    const alice = await user("alice");
    for (let i = 0; i < 3; i++) await alice.conn.send(lobby.id, `m${i}`, null, null);
    const last = (await alice.conn.history(lobby.id, {})).messages.at(-1)!.seq;
    const all = await connect(alice.account, { resume: { [lobby.id]: 0 } });
    await eventually(() => assert.deepEqual(all.peer.seqs(lobby.id), range(1, last)));
    const none = await connect(alice.account, { resume: { [lobby.id]: last + 100 } });
    await alice.conn.send(lobby.id, "next", null, null);
    await eventually(() => assert.deepEqual(none.peer.seqs(lobby.id), [last + 1]));
  });

  for (const round of [1, 2, 3]) {
    test(`resume while others send concurrently: no loss, no duplicates, no gaps (round ${round})`, async ({
      lobby,
      connect,
      user,
    }) => {
      const alice = await user("alice");
      const carol = await user("carol");
      const bob = await user("bob");
      for (let i = 0; i < 10; i++) await alice.conn.send(lobby.id, `before${i}`, null, null);
      await eventually(() => assert.equal(bob.peer.bodies(lobby.id).length, 10));
      const resumeAt = bob.peer.seqs(lobby.id)[3 + round]!;
      bob.conn.close();

      const sends: Promise<unknown>[] = [];
      for (let i = 0; i < 150; i++) {
        const who = i % 2 ? alice : carol;
        sends.push(who.conn.send(lobby.id, `during${i}`, `c${i}`, null));
        if (i === 20 * round) sends.push(connect(bob.account, { resume: { [lobby.id]: resumeAt } }));
        if (i % 10 === 0) await new Promise((r) => setImmediate(r));
      }
      const results = await Promise.all(sends);
      const resumed = results.find((r) => typeof r === "object" && r !== null && "peer" in r) as { peer: FakePeer };
      const last = (await alice.conn.history(lobby.id, { limit: 1 })).messages[0]!.seq;
      await eventually(() => assert.equal(resumed.peer.seqs(lobby.id).at(-1), last));
      await settle();
      assert.deepEqual(resumed.peer.seqs(lobby.id), range(resumeAt + 1, last));
      assert.deepEqual(resumed.peer.violations, []);
      for (const u of [alice, carol]) assert.deepEqual(u.peer.violations, []);
    });
  }

  test("a connection opened (without resume) while others send gets every event after its welcome", async ({
    lobby,
    connect,
    user,
  }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const sends: Promise<unknown>[] = [];
    let opened: Promise<{ peer: FakePeer; rooms: { room: { id: Id; lastSeq: number } }[] }> | null = null;
    for (let i = 0; i < 100; i++) {
      sends.push(alice.conn.send(lobby.id, `m${i}`, `c${i}`, null));
      if (i === 40) opened = connect(bob.account);
      if (i % 5 === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(sends);
    const { peer, rooms } = await opened!;
    const from = rooms.find((m) => m.room.id === lobby.id)!.room.lastSeq;
    const last = (await alice.conn.history(lobby.id, { limit: 1 })).messages[0]!.seq;
    await eventually(() => assert.equal(peer.seqs(lobby.id).at(-1), last));
    await settle();
    assert.deepEqual(peer.seqs(lobby.id), range(from + 1, last));
  });

  test("an event committed while a connection opens is delivered without waiting for a later one", async () => {
    // The store answers `memberships` (the welcome), then - before the connection is attached to its
    // rooms - someone posts. Nothing else is posted afterwards, so no later event can reveal the gap.
    let hook: (() => Promise<void>) | null = null;
    const env = await setup({
      wrapStore: (inner) =>
        new Proxy(inner, {
          get(target, prop) {
            if (prop === "memberships") {
              return async (id: Id) => {
                const rooms = await target.memberships(id);
                const h = hook;
                hook = null;
                if (h) await h();
                return rooms;
              };
            }
            const v = Reflect.get(target, prop, target);
            return typeof v === "function" ? v.bind(target) : v;
          },
        }),
    });
    try {
      const alice = await env.user("alice");
      const bob = await env.chat.register("bob", "bob's password");
      hook = async () => {
        await alice.conn.send(env.lobby.id, "in the window", null, null);
      };
      const { peer, rooms } = await env.connect(bob.account);
      assert.equal(hook, null, "the window was hit");
      const welcomeSeq = rooms.find((m) => m.room.id === env.lobby.id)!.room.lastSeq;
      await eventually(() => assert.deepEqual(peer.bodies(env.lobby.id), ["in the window"]));
      assert.deepEqual(peer.seqs(env.lobby.id), [welcomeSeq + 1]);
    } finally {
      await env.cleanup();
    }
  });

  test("a lossy, reordering bus loses nothing durable", async () => {
    // Drops every third room event and delays every fifth: the hub and connections fill in from the store.
    class LossyBus extends LocalBus {
      private n = 0;
      override async publish(topic: string, msg: BusMessage): Promise<void> {
        if (msg.kind !== "room" || !topic.startsWith("room:")) return super.publish(topic, msg);
        this.n++;
        if (this.n % 3 === 0) return;
        if (this.n % 5 === 0) {
          setTimeout(() => void super.publish(topic, msg), 5);
          return;
        }
        return super.publish(topic, msg);
      }
    }
    const env = await setup({ bus: new LossyBus() });
    try {
      const alice = await env.user("alice");
      const bob = await env.user("bob");
      for (let i = 0; i < 30; i++) await alice.conn.send(env.lobby.id, `m${i}`, null, null);
      const last = (await alice.conn.history(env.lobby.id, { limit: 1 })).messages[0]!.seq;
      await eventually(() => {
        for (const u of [alice, bob]) assert.equal(u.peer.seqs(env.lobby.id).at(-1), last);
      });
      const bobFrom = bob.peer.seqs(env.lobby.id)[0]!;
      assert.deepEqual(bob.peer.seqs(env.lobby.id), range(bobFrom, last));
      assert.deepEqual(
        bob.peer.bodies(env.lobby.id),
        range(0, 29).map((i) => `m${i}`),
      );
      assert.deepEqual(bob.peer.violations, []);
      assert.deepEqual(alice.peer.violations, []);
    } finally {
      await env.cleanup();
    }
  });

  test("closed connections receive nothing", async ({ lobby, user }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    bob.conn.close();
    await alice.conn.send(lobby.id, "anyone?", null, null);
    await eventually(() => assert.equal(alice.peer.bodies(lobby.id).length, 1));
    await settle();
    assert.deepEqual(bob.peer.bodies(lobby.id), []);
  });
});
