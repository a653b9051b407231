// The Store contract: every adapter (SQLite, PostgreSQL, …) runs this same suite.
//
//   storeContract("sqlite", async () => ({ store, cleanup }));
//
// Each test gets a fresh, empty store from the factory and calls `cleanup` afterwards (which must
// close the store and tolerate a store that the test closed itself).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChatError, type ErrorCode } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import type { Appended, Store } from "../core/ports.ts";
import type { Account, EventDraft, Id, MemberChange, Message, Role, Room, RoomEvent } from "../core/types.ts";

export type StoreFactory = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

export interface StoreContractOptions {
  /** The adapter's cap on unread counts; when given, the cap is tested too. */
  unreadCap?: number;
}

const T0 = 1_700_000_000_000;

async function rejectsWith(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ChatError, `expected a ChatError ${code}, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

/** Creates an account and fails the test when the store refuses. */
async function account(store: Store, name: string, opts: { guest?: boolean; hash?: string | null; at?: number } = {}) {
  const guest = opts.guest ?? false;
  const a = await store.createAccount({
    id: newId(),
    name,
    guest,
    passwordHash: guest ? null : (opts.hash ?? `hash-of-${name}`),
    createdAt: opts.at ?? T0,
  });
  assert.ok(a, `account ${name} should be created`);
  return a;
}

async function room(
  store: Store,
  name: string,
  creator: Account,
  members: { accountId: Id; role: Role }[] = [{ accountId: creator.id, role: "owner" }],
  kind: Room["kind"] = "public",
) {
  const r = await store.createRoom({ id: newId(), name, kind, topic: "", createdBy: creator.id, createdAt: T0 }, members);
  assert.ok(r, `room ${name} should be created`);
  return r.room;
}

function messageDraft(actorId: Id, body: string, clientId: string | null = null, replyTo: Id | null = null): EventDraft {
  return { type: "message", id: newId(), actorId, clientId, body, replyTo };
}

async function post(store: Store, roomId: Id, actor: Account, body: string, at = T0): Promise<Message> {
  const { event } = await store.append(roomId, messageDraft(actor.id, body), at);
  assert.equal(event.type, "message");
  if (event.type !== "message") throw new Error("unreachable");
  return event.message;
}

async function member(store: Store, roomId: Id, actor: Account, accountId: Id, change: MemberChange, role?: Role) {
  return (await store.append(roomId, { type: "member", actorId: actor.id, accountId, change, role }, T0)).event;
}

function seqs(events: { seq: number }[]): number[] {
  return events.map((e) => e.seq);
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}

export function storeContract(name: string, makeStore: StoreFactory, opts: StoreContractOptions = {}): void {
  const test = (title: string, fn: (store: Store) => Promise<void>) =>
    it(title, async () => {
      const { store, cleanup } = await makeStore();
      try {
        await fn(store);
      } finally {
        await cleanup();
      }
    });

  describe(`Store contract: ${name}`, () => {
    describe("accounts", () => {
      test("the first registered account is admin, later ones are not, guests never", async (store) => {
        const g1 = await account(store, "early-guest", { guest: true });
        assert.equal(g1.admin, false);
        assert.equal(g1.guest, true);
        const alice = await account(store, "alice");
        assert.equal(alice.admin, true);
        assert.equal(alice.guest, false);
        const bob = await account(store, "bob");
        assert.equal(bob.admin, false);
        const g2 = await account(store, "late-guest", { guest: true });
        assert.equal(g2.admin, false);
        assert.equal((await store.getAccount(alice.id))?.admin, true);
        assert.equal((await store.getAccount(bob.id))?.admin, false);
        assert.equal((await store.getAccount(g1.id))?.admin, false);
      });

      test("createAccount returns the account as given", async (store) => {
        const id = newId();
        const a = await store.createAccount({ id, name: "Alice", guest: false, passwordHash: "h", createdAt: T0 + 5 });
        assert.deepEqual(a, { id, name: "Alice", guest: false, admin: true, createdAt: T0 + 5 });
      });

      test("registered names are unique case-insensitively; a conflict returns null", async (store) => {
        const alice = await account(store, "Alice");
        const again = await store.createAccount({ id: newId(), name: "aLICE", guest: false, passwordHash: "x", createdAt: T0 });
        assert.equal(again, null);
        const found = await store.findAccount("ALICE");
        assert.equal(found?.id, alice.id);
        assert.equal(found?.name, "Alice", "the name keeps its case");
        assert.equal(found?.passwordHash, "hash-of-Alice", "the conflicting create changed nothing");
        assert.equal(await store.countAccounts(), 1);
      });

      test("guest names are unique case-insensitively among guests", async (store) => {
        await account(store, "Gus", { guest: true });
        assert.equal(
          await store.createAccount({ id: newId(), name: "gUS", guest: true, passwordHash: null, createdAt: T0 }),
          null,
        );
      });

      test("a guest cannot be created with a registered account's name", async (store) => {
        const alice = await account(store, "alice");
        assert.equal(
          await store.createAccount({ id: newId(), name: "ALICE", guest: true, passwordHash: null, createdAt: T0 }),
          null,
        );
        assert.equal(await store.findGuest("alice"), null);
        assert.equal((await store.findAccount("alice"))?.id, alice.id);
      });

      test("a guest and a registered account may share a name at the store level", async (store) => {
        const guest = await account(store, "carol", { guest: true });
        const registered = await account(store, "Carol");
        assert.notEqual(guest.id, registered.id);
        assert.equal((await store.findGuest("CAROL"))?.id, guest.id);
        assert.equal((await store.findAccount("CAROL"))?.id, registered.id);
      });

      test("getAccount returns the stored account, or null", async (store) => {
        const alice = await account(store, "alice", { hash: "secret-hash", at: T0 + 1 });
        const g = await account(store, "gina", { guest: true, at: T0 + 2 });
        const a = await store.getAccount(alice.id);
        assert.ok(a);
        assert.equal(a.id, alice.id);
        assert.equal(a.name, "alice");
        assert.equal(a.guest, false);
        assert.equal(a.admin, true);
        assert.equal(a.createdAt, T0 + 1);
        assert.equal(a.passwordHash, "secret-hash");
        assert.ok(a.passwordChangedAt <= a.createdAt, "a new account's password is not newer than the account");
        const gs = await store.getAccount(g.id);
        assert.equal(gs?.guest, true);
        assert.equal(gs?.passwordHash, null);
        assert.equal(await store.getAccount(newId()), null);
      });

      test("findAccount finds registered accounts only, findGuest guests only", async (store) => {
        const alice = await account(store, "alice");
        const gus = await account(store, "gus", { guest: true });
        assert.equal((await store.findAccount("alice"))?.id, alice.id);
        assert.equal(await store.findAccount("gus"), null);
        assert.equal((await store.findGuest("GUS"))?.id, gus.id);
        assert.equal((await store.findGuest("gus"))?.guest, true);
        assert.equal(await store.findGuest("alice"), null);
        assert.equal(await store.findAccount("nobody"), null);
        assert.equal(await store.findGuest("nobody"), null);
      });

      test("countAccounts counts registered accounts", async (store) => {
        assert.equal(await store.countAccounts(), 0);
        await account(store, "alice");
        await account(store, "g1", { guest: true });
        await account(store, "bob");
        assert.equal(await store.countAccounts(), 2);
      });

      test("renameGuest renames, and returns false when another guest has the name", async (store) => {
        const g1 = await account(store, "gus", { guest: true });
        const g2 = await account(store, "gwen", { guest: true });
        assert.equal(await store.renameGuest(g1.id, "Newname"), true);
        assert.equal((await store.findGuest("newname"))?.id, g1.id);
        assert.equal((await store.getAccount(g1.id))?.name, "Newname");
        assert.equal(await store.findGuest("gus"), null, "the old name is free");
        assert.equal(await store.renameGuest(g1.id, "GWEN"), false);
        assert.equal((await store.getAccount(g1.id))?.name, "Newname", "a refused rename changes nothing");
        assert.equal((await store.findGuest("gwen"))?.id, g2.id);
        assert.equal(await store.renameGuest(g1.id, "NEWNAME"), true, "a guest may change the case of its own name");
        assert.equal((await store.getAccount(g1.id))?.name, "NEWNAME");
        // The freed name can be taken by another guest.
        assert.equal(await store.renameGuest(g2.id, "gus"), true);
      });

      test("renameGuest does not rename registered accounts", async (store) => {
        const alice = await account(store, "alice");
        assert.equal(await store.renameGuest(alice.id, "mallory"), false);
        assert.equal((await store.getAccount(alice.id))?.name, "alice");
        assert.equal(await store.findAccount("mallory"), null);
      });

      test("setPassword stores the hash and passwordChangedAt", async (store) => {
        const alice = await account(store, "alice", { hash: "old" });
        const bob = await account(store, "bob", { hash: "bobs" });
        await store.setPassword(alice.id, "new-hash", T0 + 5000);
        const a = await store.getAccount(alice.id);
        assert.equal(a?.passwordHash, "new-hash");
        assert.equal(a?.passwordChangedAt, T0 + 5000);
        assert.equal((await store.findAccount("alice"))?.passwordHash, "new-hash");
        assert.equal((await store.getAccount(bob.id))?.passwordHash, "bobs", "other accounts are untouched");
      });
    });

    describe("sessions", () => {
      test("createSession, getSession, deleteSession, deleteSessionsOf", async (store) => {
        const alice = await account(store, "alice");
        const bob = await account(store, "bob");
        const s1 = { tokenHash: "t1", accountId: alice.id, createdAt: T0, expiresAt: T0 + 1000 };
        const s2 = { tokenHash: "t2", accountId: alice.id, createdAt: T0 + 1, expiresAt: T0 + 2000 };
        const s3 = { tokenHash: "t3", accountId: bob.id, createdAt: T0 + 2, expiresAt: T0 + 3000 };
        await store.createSession(s1);
        await store.createSession(s2);
        await store.createSession(s3);
        assert.deepEqual(await store.getSession("t1"), s1);
        assert.deepEqual(await store.getSession("t3"), s3);
        assert.equal(await store.getSession("nope"), null);

        await store.deleteSession("t1");
        assert.equal(await store.getSession("t1"), null);
        assert.deepEqual(await store.getSession("t2"), s2);
        await store.deleteSession("t1"); // deleting twice is harmless

        await store.createSession({ ...s1, tokenHash: "t4" });
        await store.deleteSessionsOf(alice.id);
        assert.equal(await store.getSession("t2"), null);
        assert.equal(await store.getSession("t4"), null);
        assert.deepEqual(await store.getSession("t3"), s3, "other accounts keep their sessions");
      });
    });

    describe("rooms", () => {
      test("createRoom joins the first members with member events numbered 1..n", async (store) => {
        const alice = await account(store, "alice");
        const bob = await account(store, "bob");
        const id = newId();
        const created = await store.createRoom(
          { id, name: "General", kind: "public", topic: "hello", createdBy: alice.id, createdAt: T0 + 7 },
          [
            { accountId: alice.id, role: "owner" },
            { accountId: bob.id, role: "member" },
          ],
        );
        assert.ok(created);
        assert.deepEqual(created.room, {
          id,
          name: "General",
          kind: "public",
          topic: "hello",
          createdBy: alice.id,
          createdAt: T0 + 7,
          lastSeq: 2,
        });
        assert.equal(created.events.length, 2);
        const [e1, e2] = created.events;
        assert.ok(e1?.type === "member" && e2?.type === "member");
        assert.deepEqual(
          { seq: e1.seq, roomId: e1.roomId, accountId: e1.accountId, name: e1.name, change: e1.change, role: e1.role },
          { seq: 1, roomId: id, accountId: alice.id, name: "alice", change: "join", role: "owner" },
        );
        assert.deepEqual(
          { seq: e2.seq, roomId: e2.roomId, accountId: e2.accountId, name: e2.name, change: e2.change, role: e2.role },
          { seq: 2, roomId: id, accountId: bob.id, name: "bob", change: "join", role: "member" },
        );
        assert.equal(e1.at, T0 + 7);
        assert.equal(e1.actorId, alice.id);
        assert.equal((await store.getMember(id, alice.id))?.role, "owner");
        assert.equal((await store.getMember(id, bob.id))?.role, "member");
        assert.deepEqual(seqs(await store.eventsAfter(id, 0, 10)), [1, 2]);
        assert.deepEqual(await store.getRoom(id), created.room);
      });

      test("createRoom without members starts at seq 0", async (store) => {
        const alice = await account(store, "alice");
        const created = await store.createRoom(
          { id: newId(), name: "empty", kind: "public", topic: "", createdBy: alice.id, createdAt: T0 },
          [],
        );
        assert.ok(created);
        assert.equal(created.room.lastSeq, 0);
        assert.deepEqual(created.events, []);
        assert.deepEqual(await store.listMembers(created.room.id), []);
      });

      test("createRoom returns null when the name is taken, case-insensitively", async (store) => {
        const alice = await account(store, "alice");
        const first = await room(store, "General", alice);
        const second = await store.createRoom(
          { id: newId(), name: "gENERAL", kind: "private", topic: "x", createdBy: alice.id, createdAt: T0 },
          [{ accountId: alice.id, role: "owner" }],
        );
        assert.equal(second, null);
        const found = await store.findRoom("general");
        assert.deepEqual(found, first);
        assert.equal((await store.listPublicRooms()).length, 1);
      });

      test("getRoom and findRoom", async (store) => {
        const alice = await account(store, "alice");
        const r = await room(store, "MixedCase", alice);
        assert.deepEqual(await store.getRoom(r.id), r);
        assert.deepEqual(await store.findRoom("mixedcase"), r);
        assert.deepEqual(await store.findRoom("MIXEDCASE"), r);
        assert.equal((await store.findRoom("mixedcase"))?.name, "MixedCase");
        assert.equal(await store.getRoom(newId()), null);
        assert.equal(await store.findRoom("nothing"), null);
      });

      test("listPublicRooms lists public rooms by name with member counts", async (store) => {
        const alice = await account(store, "alice");
        const bob = await account(store, "bob");
        const carol = await account(store, "carol");
        const beta = await room(store, "beta", alice, [
          { accountId: alice.id, role: "owner" },
          { accountId: bob.id, role: "member" },
          { accountId: carol.id, role: "member" },
        ]);
        const alpha = await room(store, "Alpha", bob);
        await room(store, "secret", alice, undefined, "private");
        await room(
          store,
          `dm:${alice.id}:${bob.id}`,
          alice,
          [
            { accountId: alice.id, role: "member" },
            { accountId: bob.id, role: "member" },
          ],
          "direct",
        );
        const gamma = await room(store, "gamma", alice, []);
        await member(store, beta.id, carol, carol.id, "leave");

        const list = await store.listPublicRooms();
        assert.deepEqual(
          list.map((r) => [r.name, r.members]),
          [
            ["Alpha", 1],
            ["beta", 2],
            ["gamma", 0],
          ],
        );
        assert.equal(list[0]?.id, alpha.id);
        assert.equal(list[1]?.lastSeq, 4);
        assert.equal(list[2]?.id, gamma.id);
      });
    });

    describe("members", () => {
      test("getMember and listMembers", async (store) => {
        const alice = await account(store, "alice");
        const bob = await account(store, "bob");
        const carol = await account(store, "carol");
        const r = await room(store, "general", alice);
        await post(store, r.id, alice, "before bob");
        const join = await store.append(r.id, { type: "member", actorId: bob.id, accountId: bob.id, change: "join" }, T0 + 99);
        const m = await store.getMember(r.id, bob.id);
        assert.deepEqual(m, {
          roomId: r.id,
          accountId: bob.id,
          name: "bob",
          role: "member",
          muted: false,
          joinedAt: T0 + 99,
          readSeq: join.event.seq,
        });
        assert.equal(await store.getMember(r.id, carol.id), null);
        assert.equal(await store.getMember(newId(), alice.id), null);
        const members = await store.listMembers(r.id);
        assert.deepEqual(members.map((x) => x.accountId).sort(), [alice.id, bob.id].sort());
        assert.equal(members.find((x) => x.accountId === alice.id)?.role, "owner");
        assert.deepEqual(await store.listMembers(newId()), []);
      });

      test("memberships: rooms of the account with role, muted, readSeq and unread", async (store) => {
        const alice = await account(store, "alice");
        const bob = await account(store, "bob");
        const carol = await account(store, "carol");
        const r1 = await room(store, "one", alice, [
          { accountId: alice.id, role: "owner" },
          { accountId: bob.id, role: "member" },
        ]);
        const r2 = await room(
          store,
          "two",
          bob,
          [
            { accountId: bob.id, role: "owner" },
            { accountId: alice.id, role: "member" },
          ],
          "private",
        );
        await room(store, "three", carol); // alice is not in it
        await member(store, r2.id, bob, alice.id, "mute");

        const b1 = await post(store, r1.id, bob, "b1");
        await post(store, r1.id, bob, "b2");
        await post(store, r1.id, alice, "mine");
        await post(store, r1.id, bob, "b3");
        await post(store, r1.id, alice, "mine too");
        await store.append(r1.id, { type: "delete", actorId: bob.id, messageId: b1.id }, T0);
        await store.append(r1.id, { type: "topic", actorId: alice.id, topic: "events are not unread messages" }, T0);
        await member(store, r1.id, carol, carol.id, "join");

        const mine = await store.memberships(alice.id);
        assert.deepEqual(mine.map((m) => m.room.name).sort(), ["one", "two"]);
        const one = mine.find((m) => m.room.id === r1.id);
        const two = mine.find((m) => m.room.id === r2.id);
        assert.ok(one && two);
        assert.deepEqual(one.room, await store.getRoom(r1.id));
        assert.equal(one.role, "owner");
        assert.equal(one.muted, false);
        assert.equal(one.readSeq, 1, "alice joined with seq 1");
        assert.equal(one.unread, 2, "bob's two live messages; own messages and deleted ones do not count");
        assert.equal(two.role, "member");
        assert.equal(two.muted, true);
        assert.equal(two.room.kind, "private");
        assert.equal(two.unread, 0);

        const bobs = await store.memberships(bob.id);
        assert.equal(bobs.find((m) => m.room.id === r1.id)?.unread, 2, "alice's two messages");

        await store.markRead(r1.id, alice.id, (await store.getRoom(r1.id))!.lastSeq);
        assert.equal((await store.memberships(alice.id)).find((m) => m.room.id === r1.id)?.unread, 0);
        await post(store, r1.id, carol, "new");
        assert.equal((await store.memberships(alice.id)).find((m) => m.room.id === r1.id)?.unread, 1);
        assert.deepEqual(await store.memberships(newId()), []);
      });

      if (opts.unreadCap !== undefined) {
        const cap = opts.unreadCap;
        test(`unread counts stop at ${cap}`, async (store) => {
          const alice = await account(store, "alice");
          const bob = await account(store, "bob");
          const r = await room(store, "busy", alice, [
            { accountId: alice.id, role: "owner" },
            { accountId: bob.id, role: "member" },
          ]);
          await Promise.all(range(1, cap + 5).map((i) => store.append(r.id, messageDraft(bob.id, `m${i}`), T0)));
          assert.equal((await store.memberships(alice.id))[0]?.unread, cap);
        });
      }

      test("isBanned and isInvited follow ban/unban and invite events", async (store) => {
        const alice = await account(store, "alice");
        const bob = await account(store, "bob");
        const r = await room(store, "priv", alice, undefined, "private");
        assert.equal(await store.isBanned(r.id, bob.id), false);
        assert.equal(await store.isInvited(r.id, bob.id), false);
        await member(store, r.id, alice, bob.id, "invite");
        assert.equal(await store.isInvited(r.id, bob.id), true);
        assert.equal(await store.isInvited(r.id, alice.id), false);
        await member(store, r.id, alice, bob.id, "ban");
        assert.equal(await store.isBanned(r.id, bob.id), true);
        assert.equal(await store.isBanned(r.id, alice.id), false);
        await member(store, r.id, alice, bob.id, "unban");
        assert.equal(await store.isBanned(r.id, bob.id), false);
      });

      test("listBans names the banned accounts, by name, and follows unban", async (store) => {
        const alice = await account(store, "alice");
        const bob = await account(store, "bob");
        const carol = await account(store, "Carol");
        const r = await room(store, "general", alice);
        const other = await room(store, "other", alice);
        assert.deepEqual(await store.listBans(r.id), []);
        await member(store, r.id, alice, carol.id, "ban");
        await member(store, r.id, alice, bob.id, "ban");
        await member(store, other.id, alice, alice.id, "ban");
        assert.deepEqual(await store.listBans(r.id), [
          { accountId: bob.id, name: "bob" },
          { accountId: carol.id, name: "Carol" },
        ]);
        await member(store, r.id, alice, bob.id, "unban");
        assert.deepEqual(await store.listBans(r.id), [{ accountId: carol.id, name: "Carol" }]);
      });

      test("a settings event changes the room's kind, is logged, and moves it in or out of the public list", async (store) => {
        const alice = await account(store, "alice");
        const r = await room(store, "general", alice);
        const e = (await store.append(r.id, { type: "settings", actorId: alice.id, kind: "private" }, T0)).event;
        assert.ok(e.type === "settings" && e.kind === "private");
        assert.equal((await store.getRoom(r.id))?.kind, "private");
        assert.deepEqual(
          (await store.listPublicRooms()).map((x) => x.name),
          [],
        );
        const [logged] = await store.eventsAfter(r.id, e.seq - 1, 1);
        assert.deepEqual(logged, e);
        await store.append(r.id, { type: "settings", actorId: alice.id, kind: "public" }, T0);
        assert.deepEqual(
          (await store.listPublicRooms()).map((x) => x.name),
          ["general"],
        );
      });

      test("a kick's or ban's reason is kept with its event", async (store) => {
        const alice = await account(store, "alice");
        const bob = await account(store, "bob");
        const r = await room(store, "general", alice, [
          { accountId: alice.id, role: "owner" },
          { accountId: bob.id, role: "member" },
        ]);
        const kick = (
          await store.append(r.id, { type: "member", actorId: alice.id, accountId: bob.id, change: "kick", reason: "spam" }, T0)
        ).event;
        assert.ok(kick.type === "member");
        assert.equal(kick.reason, "spam");
        const plain = await member(store, r.id, alice, alice.id, "leave");
        assert.ok(plain.type === "member");
        assert.equal(plain.reason, undefined);
        const [stored] = await store.eventsAfter(r.id, kick.seq - 1, 1);
        assert.ok(stored?.type === "member");
        assert.equal(stored.reason, "spam");
      });

      test("markRead moves forward only, clamps to lastSeq, and refuses non-members", async (store) => {
        const alice = await account(store, "alice");
        const bob = await account(store, "bob");
        const r = await room(store, "general", alice); // seq 1
        for (let i = 0; i < 5; i++) await post(store, r.id, alice, `m${i}`); // seqs 2..6
        assert.equal(await store.markRead(r.id, alice.id, 4), 4);
        assert.equal((await store.getMember(r.id, alice.id))?.readSeq, 4);
        assert.equal(await store.markRead(r.id, alice.id, 2), 4, "never moves back");
        assert.equal((await store.getMember(r.id, alice.id))?.readSeq, 4);
        assert.equal(await store.markRead(r.id, alice.id, 1000), 6, "clamped to the room's last seq");
        assert.equal((await store.getMember(r.id, alice.id))?.readSeq, 6);
        assert.equal((await store.memberships(alice.id))[0]?.readSeq, 6);
        await rejectsWith(store.markRead(r.id, bob.id, 3), "NOT_MEMBER");
        await rejectsWith(store.markRead(newId(), alice.id, 3), "NOT_MEMBER");
      });
    });

    describe("append", () => {
      test("a message: the event, the stored row and the room's lastSeq", async (store) => {
        const alice = await account(store, "alice");
        const r = await room(store, "general", alice); // seq 1
        const id = newId();
        const res = await store.append(
          r.id,
          { type: "message", id, actorId: alice.id, clientId: "c1", body: "hello", replyTo: null },
          T0 + 10,
        );
        assert.equal(res.duplicate, false);
        const expected: Message = {
          id,
          roomId: r.id,
          seq: 2,
          authorId: alice.id,
          author: "alice",
          clientId: "c1",
          body: "hello",
          replyTo: null,
          createdAt: T0 + 10,
          editedAt: null,
          deleted: false,
          reactions: {},
        };
        assert.deepEqual(res.event, {
          roomId: r.id,
          seq: 2,
          at: T0 + 10,
          actorId: alice.id,
          actor: "alice",
          type: "message",
          message: expected,
        });
        assert.deepEqual(await store.getMessage(id), expected);
        assert.equal((await store.getRoom(r.id))?.lastSeq, 2);

        const reply = await store.append(r.id, messageDraft(alice.id, "re", null, id), T0 + 11);
        assert.ok(reply.event.type === "message");
        assert.equal(reply.event.seq, 3);
        assert.equal(reply.event.message.replyTo, id);
        assert.equal(reply.event.message.clientId, null);
        assert.equal((await store.getMessage(reply.event.message.id))?.replyTo, id);
        assert.equal(await store.getMessage(newId()), null);
      });

      test("a reply to an unknown message or one in another room fails with NO_SUCH_MESSAGE", async (store) => {
        const alice = await account(store, "alice");
        const r = await room(store, "general", alice);
        const other = await room(store, "other", alice);
        const elsewhere = await post(store, other.id, alice, "over there");
        await rejectsWith(store.append(r.id, messageDraft(alice.id, "re", null, newId()), T0), "NO_SUCH_MESSAGE");
        await rejectsWith(store.append(r.id, messageDraft(alice.id, "re", null, elsewhere.id), T0), "NO_SUCH_MESSAGE");
        assert.equal((await store.getRoom(r.id))?.lastSeq, 1, "failed replies consume no seq");
        assert.equal((await store.history(r.id, { limit: 10 })).messages.length, 0);
      });

      test("edit updates body and editedAt; unknown, deleted or foreign messages fail with NO_SUCH_MESSAGE", async (store) => {
        const alice = await account(store, "alice");
        const r = await room(store, "general", alice);
        const other = await room(store, "other", alice);
        const m = await post(store, r.id, alice, "frist");
        const res = await store.append(r.id, { type: "edit", actorId: alice.id, messageId: m.id, body: "first" }, T0 + 50);
        assert.equal(res.duplicate, false);
        assert.deepEqual(res.event, {
          roomId: r.id,
          seq: 3,
          at: T0 + 50,
          actorId: alice.id,
          actor: "alice",
          type: "edit",
          messageId: m.id,
          body: "first",
        });
        const stored = await store.getMessage(m.id);
        assert.equal(stored?.body, "first");
        assert.equal(stored?.editedAt, T0 + 50);
        assert.equal(stored?.createdAt, T0);
        assert.equal(stored?.seq, m.seq, "an edit keeps the message's seq");

        await rejectsWith(
          store.append(r.id, { type: "edit", actorId: alice.id, messageId: newId(), body: "x" }, T0),
          "NO_SUCH_MESSAGE",
        );
        await rejectsWith(
          store.append(other.id, { type: "edit", actorId: alice.id, messageId: m.id, body: "x" }, T0),
          "NO_SUCH_MESSAGE",
        );
        await store.append(r.id, { type: "delete", actorId: alice.id, messageId: m.id }, T0);
        await rejectsWith(
          store.append(r.id, { type: "edit", actorId: alice.id, messageId: m.id, body: "x" }, T0),
          "NO_SUCH_MESSAGE",
        );
        assert.equal((await store.getMessage(m.id))?.body, "");
        assert.equal((await store.getRoom(r.id))?.lastSeq, 4, "failed edits consume no seq");
        assert.equal((await store.getRoom(other.id))?.lastSeq, 1);
      });

      test("delete blanks the body, marks it deleted and removes its reactions", async (store) => {
        const alice = await account(store, "alice");
        const bob = await account(store, "bob");
        const r = await room(store, "general", alice);
        const m = await post(store, r.id, alice, "regrettable");
        const keep = await post(store, r.id, alice, "fine");
        await store.append(r.id, { type: "react", actorId: bob.id, messageId: m.id, emoji: "👍" }, T0);
        await store.append(r.id, { type: "react", actorId: bob.id, messageId: keep.id, emoji: "👍" }, T0);
        const res = await store.append(r.id, { type: "delete", actorId: bob.id, messageId: m.id }, T0 + 3);
        assert.deepEqual(res.event, {
          roomId: r.id,
          seq: 6,
          at: T0 + 3,
          actorId: bob.id,
          actor: "bob",
          type: "delete",
          messageId: m.id,
        });
        const gone = await store.getMessage(m.id);
        assert.ok(gone);
        assert.equal(gone.deleted, true);
        assert.equal(gone.body, "");
        assert.deepEqual(gone.reactions, {});
        assert.equal(gone.seq, m.seq);
        assert.deepEqual((await store.getMessage(keep.id))?.reactions, { "👍": ["bob"] }, "other messages keep theirs");
        await rejectsWith(store.append(r.id, { type: "delete", actorId: bob.id, messageId: m.id }, T0), "NO_SUCH_MESSAGE");
        await rejectsWith(store.append(r.id, { type: "delete", actorId: bob.id, messageId: newId() }, T0), "NO_SUCH_MESSAGE");
        assert.equal((await store.getRoom(r.id))?.lastSeq, 6);
      });

      test("react toggles a reaction on and off; names come oldest first", async (store) => {
        const alice = await account(store, "alice");
        const bob = await account(store, "bob");
        const carol = await account(store, "carol");
        const r = await room(store, "general", alice);
        const m = await post(store, r.id, alice, "react to me");
        const react = (who: Account, emoji: string, at: number) =>
          store.append(r.id, { type: "react", actorId: who.id, messageId: m.id, emoji }, at);

        const on = await react(carol, "👍", T0 + 1);
        assert.deepEqual(on.event, {
          roomId: r.id,
          seq: 3,
          at: T0 + 1,
          actorId: carol.id,
          actor: "carol",
          type: "react",
          messageId: m.id,
          emoji: "👍",
          on: true,
        });
        await react(alice, "👍", T0 + 2);
        await react(bob, "🎉", T0 + 3);
        assert.deepEqual((await store.getMessage(m.id))?.reactions, { "👍": ["carol", "alice"], "🎉": ["bob"] });

        const off = await react(carol, "👍", T0 + 4);
        assert.ok(off.event.type === "react");
        assert.equal(off.event.on, false);
        assert.equal(off.event.seq, 6);
        assert.deepEqual((await store.getMessage(m.id))?.reactions, { "👍": ["alice"], "🎉": ["bob"] });
        await react(bob, "🎉", T0 + 5);
        assert.deepEqual((await store.getMessage(m.id))?.reactions, { "👍": ["alice"] }, "an emoji nobody uses disappears");
        const again = await react(carol, "👍", T0 + 6);
        assert.ok(again.event.type === "react");
        assert.equal(again.event.on, true);
        assert.deepEqual((await store.getMessage(m.id))?.reactions, { "👍": ["alice", "carol"] });
      });

      test("react to an unknown, deleted or foreign message fails with NO_SUCH_MESSAGE and consumes no seq", async (store) => {
        const alice = await account(store, "alice");
        const r = await room(store, "general", alice);
        const other = await room(store, "other", alice);
        const elsewhere = await post(store, other.id, alice, "over there");
        await rejectsWith(
          store.append(r.id, { type: "react", actorId: alice.id, messageId: elsewhere.id, emoji: "👍" }, T0),
          "NO_SUCH_MESSAGE",
        );
        assert.deepEqual((await store.getMessage(elsewhere.id))?.reactions, {});
        const m = await post(store, r.id, alice, "soon gone");
        await store.append(r.id, { type: "delete", actorId: alice.id, messageId: m.id }, T0);
        await rejectsWith(
          store.append(r.id, { type: "react", actorId: alice.id, messageId: newId(), emoji: "👍" }, T0),
          "NO_SUCH_MESSAGE",
        );
        await rejectsWith(
          store.append(r.id, { type: "react", actorId: alice.id, messageId: m.id, emoji: "👍" }, T0),
          "NO_SUCH_MESSAGE",
        );
        assert.deepEqual((await store.getMessage(m.id))?.reactions, {});
        assert.equal((await store.getRoom(r.id))?.lastSeq, 3);
      });

      test("topic updates the room's topic", async (store) => {
        const alice = await account(store, "alice");
        const r = await room(store, "general", alice);
        const res = await store.append(r.id, { type: "topic", actorId: alice.id, topic: "New topic" }, T0 + 8);
        assert.deepEqual(res.event, {
          roomId: r.id,
          seq: 2,
          at: T0 + 8,
          actorId: alice.id,
          actor: "alice",
          type: "topic",
          topic: "New topic",
        });
        const stored = await store.getRoom(r.id);
        assert.equal(stored?.topic, "New topic");
        assert.equal(stored?.lastSeq, 2);
        assert.equal((await store.findRoom("general"))?.topic, "New topic");
      });

      test("member events: join, role, mute, unmute, leave, kick, ban, unban, invite", async (store) => {
        const alice = await account(store, "alice");
        const bob = await account(store, "bob");
        const carol = await account(store, "carol");
        const r = await room(store, "general", alice); // seq 1

        const join = await store.append(r.id, { type: "member", actorId: bob.id, accountId: bob.id, change: "join" }, T0 + 2);
        assert.deepEqual(join.event, {
          roomId: r.id,
          seq: 2,
          at: T0 + 2,
          actorId: bob.id,
          actor: "bob",
          type: "member",
          accountId: bob.id,
          name: "bob",
          change: "join",
          role: "member",
        });
        assert.equal((await store.getMember(r.id, bob.id))?.role, "member");

        const op = await member(store, r.id, alice, bob.id, "role", "moderator");
        assert.ok(op.type === "member");
        assert.equal(op.role, "moderator");
        assert.equal(op.actor, "alice");
        assert.equal(op.name, "bob", "the event names the account it is about");
        assert.equal((await store.getMember(r.id, bob.id))?.role, "moderator");
        await member(store, r.id, alice, bob.id, "role", "member");
        assert.equal((await store.getMember(r.id, bob.id))?.role, "member");

        const mute = await member(store, r.id, alice, bob.id, "mute");
        assert.ok(mute.type === "member");
        assert.equal(mute.change, "mute");
        assert.equal(mute.role, null);
        assert.equal((await store.getMember(r.id, bob.id))?.muted, true);
        assert.equal((await store.memberships(bob.id))[0]?.muted, true);
        await member(store, r.id, alice, bob.id, "unmute");
        assert.equal((await store.getMember(r.id, bob.id))?.muted, false);

        const leave = await member(store, r.id, bob, bob.id, "leave");
        assert.ok(leave.type === "member");
        assert.equal(leave.role, null);
        assert.equal(await store.getMember(r.id, bob.id), null);
        assert.deepEqual(await store.memberships(bob.id), []);

        await member(store, r.id, carol, carol.id, "join");
        const kick = await member(store, r.id, alice, carol.id, "kick");
        assert.ok(kick.type === "member");
        assert.equal(kick.change, "kick");
        assert.equal(await store.getMember(r.id, carol.id), null);

        await member(store, r.id, bob, bob.id, "join");
        const ban = await member(store, r.id, alice, bob.id, "ban");
        assert.ok(ban.type === "member");
        assert.equal(ban.change, "ban");
        assert.equal(await store.getMember(r.id, bob.id), null);
        assert.equal(await store.isBanned(r.id, bob.id), true);
        await member(store, r.id, alice, bob.id, "unban");
        assert.equal(await store.isBanned(r.id, bob.id), false);
        assert.equal(await store.getMember(r.id, bob.id), null, "unban does not rejoin");

        await member(store, r.id, alice, carol.id, "invite");
        assert.equal(await store.isInvited(r.id, carol.id), true);
        assert.equal(await store.getMember(r.id, carol.id), null, "an invite is not a membership");

        const joinAs = await member(store, r.id, alice, carol.id, "join", "moderator");
        assert.ok(joinAs.type === "member");
        assert.equal(joinAs.role, "moderator");
        assert.equal((await store.getMember(r.id, carol.id))?.role, "moderator");

        const last = (await store.getRoom(r.id))!.lastSeq;
        assert.equal(last, 14);
        assert.deepEqual(seqs(await store.eventsAfter(r.id, 0, 100)), range(1, last));
      });

      test("append to an unknown room fails with NO_SUCH_ROOM", async (store) => {
        const alice = await account(store, "alice");
        await rejectsWith(store.append(newId(), messageDraft(alice.id, "into the void"), T0), "NO_SUCH_ROOM");
        await rejectsWith(store.append(newId(), { type: "topic", actorId: alice.id, topic: "t" }, T0), "NO_SUCH_ROOM");
      });
    });

    describe("idempotent sends", () => {
      test("the same author and clientId return the original event with duplicate: true", async (store) => {
        const alice = await account(store, "alice");
        const r = await room(store, "general", alice);
        const first = await store.append(r.id, messageDraft(alice.id, "once", "client-1"), T0 + 1);
        const retry = await store.append(r.id, messageDraft(alice.id, "once (retry)", "client-1"), T0 + 2);
        assert.equal(first.duplicate, false);
        assert.equal(retry.duplicate, true);
        assert.ok(first.event.type === "message" && retry.event.type === "message");
        assert.equal(retry.event.seq, first.event.seq);
        assert.equal(retry.event.message.id, first.event.message.id);
        assert.equal(retry.event.message.body, "once");
        assert.equal(retry.event.message.createdAt, T0 + 1);
        assert.equal((await store.getRoom(r.id))?.lastSeq, first.event.seq, "no new seq");
        assert.equal((await store.history(r.id, { limit: 10 })).messages.length, 1);

        const next = await store.append(r.id, messageDraft(alice.id, "two", "client-2"), T0 + 3);
        assert.equal(next.duplicate, false);
        assert.equal(next.event.seq, first.event.seq + 1, "no gap after a duplicate");
      });

      test("the same clientId from another author is a new message", async (store) => {
        const alice = await account(store, "alice");
        const bob = await account(store, "bob");
        const r = await room(store, "general", alice);
        const a = await store.append(r.id, messageDraft(alice.id, "from alice", "same"), T0);
        const b = await store.append(r.id, messageDraft(bob.id, "from bob", "same"), T0);
        assert.equal(b.duplicate, false);
        assert.equal(b.event.seq, a.event.seq + 1);
        assert.ok(b.event.type === "message");
        assert.equal(b.event.message.body, "from bob");
      });

      test("messages without a clientId are never duplicates", async (store) => {
        const alice = await account(store, "alice");
        const r = await room(store, "general", alice);
        const a = await store.append(r.id, messageDraft(alice.id, "same"), T0);
        const b = await store.append(r.id, messageDraft(alice.id, "same"), T0);
        assert.equal(b.duplicate, false);
        assert.equal(b.event.seq, a.event.seq + 1);
      });

      test("a retry racing the original (same batch) stores one message", async (store) => {
        const alice = await account(store, "alice");
        const r = await room(store, "general", alice);
        const results = await Promise.all([
          store.append(r.id, messageDraft(alice.id, "racy", "c"), T0),
          store.append(r.id, messageDraft(alice.id, "racy", "c"), T0),
          store.append(r.id, messageDraft(alice.id, "racy", "c"), T0),
        ]);
        assert.equal(results.filter((x) => !x.duplicate).length, 1);
        assert.equal(new Set(results.map((x) => x.event.seq)).size, 1);
        assert.equal(new Set(results.map((x) => (x.event.type === "message" ? x.event.message.id : ""))).size, 1);
        assert.equal((await store.getRoom(r.id))?.lastSeq, 2);
      });
    });

    describe("sequence numbers", () => {
      test("strictly increasing without gaps per room, independent between rooms", async (store) => {
        const alice = await account(store, "alice");
        const a = await room(store, "a", alice, []);
        const b = await room(store, "b", alice, []);
        const inA: number[] = [];
        const inB: number[] = [];
        for (let i = 0; i < 10; i++) {
          inA.push((await store.append(a.id, messageDraft(alice.id, `a${i}`), T0)).event.seq);
          if (i % 2 === 0)
            inB.push((await store.append(b.id, { type: "topic", actorId: alice.id, topic: `b${i}` }, T0)).event.seq);
        }
        assert.deepEqual(inA, range(1, 10));
        assert.deepEqual(inB, range(1, 5));
        assert.equal((await store.getRoom(a.id))?.lastSeq, 10);
        assert.equal((await store.getRoom(b.id))?.lastSeq, 5);
      });

      test("500 concurrent appends across 3 rooms all resolve with contiguous seqs", async (store) => {
        const alice = await account(store, "alice");
        const bob = await account(store, "bob");
        const rooms = [
          await room(store, "r0", alice, [
            { accountId: alice.id, role: "owner" },
            { accountId: bob.id, role: "member" },
          ]),
          await room(store, "r1", alice, []),
          await room(store, "r2", bob, []),
        ];
        const start = rooms.map((r) => r.lastSeq);
        const jobs: { roomIndex: number; p: Promise<Appended> }[] = [];
        for (let i = 0; i < 500; i++) {
          const roomIndex = i % 3;
          const author = i % 2 === 0 ? alice : bob;
          const draft: EventDraft =
            i % 10 === 9 ? { type: "topic", actorId: author.id, topic: `t${i}` } : messageDraft(author.id, `m${i}`, `c${i}`);
          jobs.push({ roomIndex, p: store.append(rooms[roomIndex]!.id, draft, T0 + i) });
        }
        const results = await Promise.all(jobs.map((j) => j.p));
        for (let k = 0; k < 3; k++) {
          const got = results.filter((_, i) => jobs[i]!.roomIndex === k).map((x) => x.event.seq);
          assert.ok(results.every((x) => !x.duplicate));
          const sorted = [...got].sort((x, y) => x - y);
          assert.deepEqual(sorted, range(start[k]! + 1, start[k]! + got.length), `room ${k}: contiguous and unique`);
          const r = await store.getRoom(rooms[k]!.id);
          assert.equal(r?.lastSeq, start[k]! + got.length);
          const events = await store.eventsAfter(rooms[k]!.id, start[k]!, 1000);
          assert.deepEqual(seqs(events), sorted);
          for (const e of events) assert.equal(e.roomId, rooms[k]!.id);
        }
        // Within one room, appends requested in order get sequence numbers in that order.
        const room0 = results.filter((_, i) => jobs[i]!.roomIndex === 0).map((x) => x.event.seq);
        assert.deepEqual(
          room0,
          [...room0].sort((x, y) => x - y),
        );
      });

      test("a failing append in a batch fails alone and consumes no seq", async (store) => {
        const alice = await account(store, "alice");
        const r = await room(store, "general", alice); // seq 1
        const settled = await Promise.allSettled([
          store.append(r.id, messageDraft(alice.id, "good 1"), T0),
          store.append(r.id, { type: "edit", actorId: alice.id, messageId: newId(), body: "bad" }, T0),
          store.append(r.id, messageDraft(alice.id, "good 2"), T0),
          store.append(newId(), messageDraft(alice.id, "nowhere"), T0),
          store.append(r.id, { type: "delete", actorId: alice.id, messageId: newId() }, T0),
          store.append(r.id, messageDraft(alice.id, "good 3"), T0),
        ]);
        const codes = settled.map((s) => (s.status === "fulfilled" ? "ok" : s.reason instanceof ChatError ? s.reason.code : "?"));
        assert.deepEqual(codes, ["ok", "NO_SUCH_MESSAGE", "ok", "NO_SUCH_ROOM", "NO_SUCH_MESSAGE", "ok"]);
        const good = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value.event.seq] : []));
        assert.deepEqual(good, [2, 3, 4]);
        assert.equal((await store.getRoom(r.id))?.lastSeq, 4);
        const events = await store.eventsAfter(r.id, 1, 100);
        assert.deepEqual(
          events.map((e) => (e.type === "message" ? e.message.body : e.type)),
          ["good 1", "good 2", "good 3"],
        );
      });

      test("a batch over several rooms with a duplicate and a failure leaves each room's lastSeq at its last event", async (store) => {
        const alice = await account(store, "alice");
        const bob = await account(store, "bob");
        const a = await room(store, "a", alice); // seq 1
        const b = await room(store, "b", bob); // seq 1
        await store.append(a.id, messageDraft(alice.id, "earlier", "dup"), T0); // a: 2
        // The first batch commits at once; the second, with a failing edit, again with a savepoint per append.
        const batches = [
          { failing: false, expected: [3, 2, "dup 2", 4, 3] },
          { failing: true, expected: [5, 4, "dup 2", "NO_SUCH_MESSAGE", 6, 5] },
        ];
        for (const { failing, expected } of batches) {
          const settled = await Promise.allSettled([
            store.append(a.id, messageDraft(alice.id, "a1"), T0),
            store.append(b.id, messageDraft(bob.id, "b1"), T0),
            store.append(a.id, messageDraft(alice.id, "again", "dup"), T0),
            ...(failing ? [store.append(b.id, { type: "edit", actorId: bob.id, messageId: newId(), body: "x" }, T0)] : []),
            store.append(a.id, messageDraft(alice.id, "a2"), T0),
            store.append(b.id, messageDraft(bob.id, "b2"), T0),
          ]);
          const got = settled.map((x) => {
            if (x.status === "rejected") return x.reason instanceof ChatError ? x.reason.code : "?";
            return x.value.duplicate ? `dup ${x.value.event.seq}` : x.value.event.seq;
          });
          assert.deepEqual(got, expected);
        }
        assert.equal((await store.getRoom(a.id))?.lastSeq, 6);
        assert.equal((await store.getRoom(b.id))?.lastSeq, 5);
        assert.equal((await store.append(b.id, messageDraft(bob.id, "after"), T0)).event.seq, 6);
      });
    });

    describe("reading", () => {
      /** A room with ten messages m0..m9 among other events; returns the messages as posted. */
      async function busyRoom(store: Store) {
        const alice = await account(store, "alice");
        const bob = await account(store, "bob");
        const r = await room(store, "general", alice, [
          { accountId: alice.id, role: "owner" },
          { accountId: bob.id, role: "member" },
        ]);
        const posted: Message[] = [];
        for (let i = 0; i < 10; i++) {
          posted.push(await post(store, r.id, i % 2 ? bob : alice, `m${i}`, T0 + i));
          if (i === 3) await store.append(r.id, { type: "topic", actorId: alice.id, topic: "mid" }, T0);
        }
        return { alice, bob, r, posted };
      }

      test("getMessage returns the current state, with reactions", async (store) => {
        const { bob, r, posted } = await busyRoom(store);
        const m = posted[2]!;
        await store.append(r.id, { type: "react", actorId: bob.id, messageId: m.id, emoji: "x" }, T0);
        assert.deepEqual(await store.getMessage(m.id), { ...m, reactions: { x: ["bob"] } });
      });

      test("history: the latest page, oldest first, with `more`", async (store) => {
        const { r, posted } = await busyRoom(store);
        const page = await store.history(r.id, { limit: 3 });
        assert.deepEqual(
          page.messages.map((m) => m.body),
          ["m7", "m8", "m9"],
        );
        assert.equal(page.more, true);
        assert.deepEqual(page.messages[2], posted[9]);
        const all = await store.history(r.id, { limit: 100 });
        assert.deepEqual(all.messages, posted);
        assert.equal(all.more, false);
        const exact = await store.history(r.id, { limit: 10 });
        assert.equal(exact.messages.length, 10);
        assert.equal(exact.more, false);
      });

      test("history before a seq", async (store) => {
        const { r, posted } = await busyRoom(store);
        const before = await store.history(r.id, { before: posted[5]!.seq, limit: 2 });
        assert.deepEqual(
          before.messages.map((m) => m.body),
          ["m3", "m4"],
        );
        assert.equal(before.more, true);
        const first = await store.history(r.id, { before: posted[2]!.seq, limit: 5 });
        assert.deepEqual(
          first.messages.map((m) => m.body),
          ["m0", "m1"],
        );
        assert.equal(first.more, false);
        const none = await store.history(r.id, { before: posted[0]!.seq, limit: 5 });
        assert.deepEqual(none, { messages: [], more: false });
      });

      test("history after a seq", async (store) => {
        const { r, posted } = await busyRoom(store);
        const after = await store.history(r.id, { after: posted[6]!.seq, limit: 2 });
        assert.deepEqual(
          after.messages.map((m) => m.body),
          ["m7", "m8"],
        );
        assert.equal(after.more, true);
        const tail = await store.history(r.id, { after: posted[8]!.seq, limit: 2 });
        assert.deepEqual(
          tail.messages.map((m) => m.body),
          ["m9"],
        );
        assert.equal(tail.more, false);
        const fromStart = await store.history(r.id, { after: 0, limit: 3 });
        assert.deepEqual(
          fromStart.messages.map((m) => m.body),
          ["m0", "m1", "m2"],
        );
        assert.equal(fromStart.more, true);
        assert.deepEqual(await store.history(r.id, { after: posted[9]!.seq, limit: 5 }), { messages: [], more: false });
      });

      test("history shows messages in their current state: edits, deletions, reactions", async (store) => {
        const { alice, bob, r, posted } = await busyRoom(store);
        await store.append(r.id, { type: "edit", actorId: alice.id, messageId: posted[8]!.id, body: "m8 edited" }, T0 + 100);
        await store.append(r.id, { type: "delete", actorId: bob.id, messageId: posted[7]!.id }, T0);
        await store.append(r.id, { type: "react", actorId: alice.id, messageId: posted[9]!.id, emoji: "🎉" }, T0);
        const page = await store.history(r.id, { limit: 3 });
        const [m7, m8, m9] = page.messages;
        assert.equal(m7?.id, posted[7]!.id);
        assert.equal(m7?.deleted, true);
        assert.equal(m7?.body, "");
        assert.equal(m8?.body, "m8 edited");
        assert.equal(m8?.editedAt, T0 + 100);
        assert.deepEqual(m9?.reactions, { "🎉": ["alice"] });
        assert.deepEqual(m9 && { ...m9, reactions: {} }, posted[9]);
      });

      test("the newest page follows every change made after it was read", async (store) => {
        const { alice, bob, r } = await busyRoom(store);
        const newest = async (limit = 3) => (await store.history(r.id, { limit })).messages;
        const bodies = async () => (await newest()).map((m) => m.body);
        assert.deepEqual(await bodies(), ["m7", "m8", "m9"]);
        const m10 = await post(store, r.id, alice, "m10", T0 + 10);
        assert.deepEqual(await bodies(), ["m8", "m9", "m10"]);
        await store.append(r.id, { type: "edit", actorId: alice.id, messageId: m10.id, body: "m10 edited" }, T0 + 11);
        assert.deepEqual(await bodies(), ["m8", "m9", "m10 edited"]);
        const react = { type: "react", actorId: bob.id, messageId: m10.id, emoji: "x" } as const;
        await store.append(r.id, react, T0);
        assert.deepEqual((await newest()).at(-1)?.reactions, { x: ["bob"] });
        await store.append(r.id, react, T0);
        assert.deepEqual((await newest()).at(-1)?.reactions, {});
        await store.append(r.id, { type: "delete", actorId: alice.id, messageId: m10.id }, T0);
        const [deleted] = (await newest(1)) ?? [];
        assert.equal(deleted?.deleted, true);
        assert.equal(deleted?.body, "");
        // A guest's rename is not a room event, and pages show the current name.
        const guest = await account(store, "visitor", { guest: true });
        await post(store, r.id, guest, "hello", T0 + 12);
        assert.equal((await newest(1))[0]?.author, "visitor");
        assert.equal(await store.renameGuest(guest.id, "Newcomer"), true);
        assert.equal((await newest(1))[0]?.author, "Newcomer");
        // What a caller does with a page does not change the next one.
        const page = await newest();
        page.pop();
        assert.equal((await newest()).length, 3);
        assert.deepEqual((await store.history(r.id, { limit: 2 })).more, true);
      });

      test("seqAt: the last message at or before a time, deleted ones included; 0 before the first", async (store) => {
        const { bob, r, posted } = await busyRoom(store); // m<i> posted at T0 + i; a topic event after m3
        assert.equal(await store.seqAt(r.id, T0 - 1), 0);
        assert.equal(await store.seqAt(r.id, T0), posted[0]!.seq);
        assert.equal(await store.seqAt(r.id, T0 + 3), posted[3]!.seq);
        assert.equal(await store.seqAt(r.id, T0 + 4), posted[4]!.seq);
        assert.equal(await store.seqAt(r.id, T0 + 1000), posted[9]!.seq);
        await store.append(r.id, { type: "delete", actorId: bob.id, messageId: posted[9]!.id }, T0 + 2000);
        assert.equal(await store.seqAt(r.id, T0 + 1000), posted[9]!.seq);
        assert.equal(await store.seqAt(newId(), T0 + 1000), 0);
      });

      test("history of a room without messages is empty", async (store) => {
        const alice = await account(store, "alice");
        const r = await room(store, "quiet", alice);
        assert.deepEqual(await store.history(r.id, { limit: 10 }), { messages: [], more: false });
        assert.deepEqual(await store.history(newId(), { limit: 10 }), { messages: [], more: false });
      });

      test("eventsAfter merges messages and other events in seq order, messages in their current state", async (store) => {
        const alice = await account(store, "alice");
        const bob = await account(store, "bob");
        const r = await room(store, "general", alice); // 1 join alice
        const appended: RoomEvent[] = [];
        const add = async (d: EventDraft, at = T0) => {
          const e = (await store.append(r.id, d, at)).event;
          appended.push(e);
          return e;
        };
        await add({ type: "member", actorId: bob.id, accountId: bob.id, change: "join" }); // 2
        const m1 = await add(messageDraft(alice.id, "one"), T0 + 1); // 3
        await add({ type: "topic", actorId: alice.id, topic: "t" }); // 4
        const m2 = await add(messageDraft(bob.id, "two"), T0 + 2); // 5
        assert.ok(m1.type === "message" && m2.type === "message");
        await add({ type: "react", actorId: bob.id, messageId: m1.message.id, emoji: "👍" }); // 6
        await add({ type: "edit", actorId: alice.id, messageId: m1.message.id, body: "one!" }, T0 + 9); // 7
        await add({ type: "delete", actorId: bob.id, messageId: m2.message.id }); // 8
        await add({ type: "member", actorId: alice.id, accountId: bob.id, change: "mute" }); // 9
        const m3 = await add(messageDraft(alice.id, "three"), T0 + 3); // 10

        const all = await store.eventsAfter(r.id, 0, 100);
        assert.deepEqual(seqs(all), range(1, 10));
        assert.deepEqual(
          all.map((e) => e.type),
          ["member", "member", "message", "topic", "message", "react", "edit", "delete", "member", "message"],
        );
        // Non-message events come back as they were appended.
        for (const e of appended) {
          if (e.type !== "message") assert.deepEqual(all[e.seq - 1], e, `event ${e.seq}`);
        }
        const one = all[2];
        const two = all[4];
        assert.ok(one?.type === "message" && two?.type === "message");
        assert.deepEqual(one, {
          ...m1,
          message: { ...m1.message, body: "one!", editedAt: T0 + 9, reactions: { "👍": ["bob"] } },
        });
        assert.equal(two.message.deleted, true);
        assert.equal(two.message.body, "");
        assert.deepEqual(all[9], m3);

        assert.deepEqual(seqs(await store.eventsAfter(r.id, 3, 2)), [4, 5]);
        assert.deepEqual(seqs(await store.eventsAfter(r.id, 2, 3)), [3, 4, 5]);
        assert.deepEqual(seqs(await store.eventsAfter(r.id, 5, 3)), [6, 7, 8]);
        assert.deepEqual(seqs(await store.eventsAfter(r.id, 8, 100)), [9, 10]);
        assert.deepEqual(await store.eventsAfter(r.id, 10, 100), []);
        assert.deepEqual(await store.eventsAfter(newId(), 0, 100), []);
      });

      test("eventsAfter respects the limit when messages dominate", async (store) => {
        const alice = await account(store, "alice");
        const r = await room(store, "general", alice);
        for (let i = 0; i < 20; i++) await post(store, r.id, alice, `m${i}`);
        assert.deepEqual(seqs(await store.eventsAfter(r.id, 0, 5)), [1, 2, 3, 4, 5]);
        assert.deepEqual(seqs(await store.eventsAfter(r.id, 1, 5)), [2, 3, 4, 5, 6]);
        assert.deepEqual(seqs(await store.eventsAfter(r.id, 18, 5)), [19, 20, 21]);
      });
    });

    describe("search", () => {
      const bodies = (page: { messages: Message[] }) => page.messages.map((m) => m.body);

      test("every term must occur, ignoring case, as a substring; newest first", async (store) => {
        const alice = await account(store, "alice");
        const r = await room(store, "general", alice);
        await post(store, r.id, alice, "The Deploy went fine", T0 + 1);
        await post(store, r.id, alice, "deployment tomorrow at noon", T0 + 2);
        await post(store, r.id, alice, "lunch at noon?", T0 + 3);
        await post(store, r.id, alice, "REDEPLOY at NOON", T0 + 4);
        assert.deepEqual(bodies(await store.search([r.id], ["deploy"], { limit: 10 })), [
          "REDEPLOY at NOON",
          "deployment tomorrow at noon",
          "The Deploy went fine",
        ]);
        assert.deepEqual(bodies(await store.search([r.id], ["deploy", "noon"], { limit: 10 })), [
          "REDEPLOY at NOON",
          "deployment tomorrow at noon",
        ]);
        assert.deepEqual(bodies(await store.search([r.id], ["at"], { limit: 10 })), [
          "REDEPLOY at NOON",
          "lunch at noon?",
          "deployment tomorrow at noon",
        ]);
        assert.deepEqual(bodies(await store.search([r.id], ["absent"], { limit: 10 })), []);
      });

      test("Chinese, Japanese and Korean text is found by words of one, two or more characters", async (store) => {
        const alice = await account(store, "alice");
        const r = await room(store, "general", alice);
        await post(store, r.id, alice, "我们明天用中文讨论部署", T0 + 1);
        await post(store, r.id, alice, "東京の天気は晴れです", T0 + 2);
        await post(store, r.id, alice, "오늘 회의는 취소되었습니다", T0 + 3);
        await post(store, r.id, alice, "Grüße aus München 👋", T0 + 4);
        assert.deepEqual(bodies(await store.search([r.id], ["中文"], { limit: 10 })), ["我们明天用中文讨论部署"]);
        assert.deepEqual(bodies(await store.search([r.id], ["讨论部署"], { limit: 10 })), ["我们明天用中文讨论部署"]);
        assert.deepEqual(bodies(await store.search([r.id], ["天気"], { limit: 10 })), ["東京の天気は晴れです"]);
        assert.deepEqual(bodies(await store.search([r.id], ["東京", "晴れ"], { limit: 10 })), ["東京の天気は晴れです"]);
        assert.deepEqual(bodies(await store.search([r.id], ["회의"], { limit: 10 })), ["오늘 회의는 취소되었습니다"]);
        assert.deepEqual(bodies(await store.search([r.id], ["취소되었"], { limit: 10 })), ["오늘 회의는 취소되었습니다"]);
        assert.deepEqual(bodies(await store.search([r.id], ["grüße", "münchen"], { limit: 10 })), ["Grüße aus München 👋"]);
        assert.deepEqual(bodies(await store.search([r.id], ["👋"], { limit: 10 })), ["Grüße aus München 👋"]);
      });

      test("LIKE and FTS operators in a query are plain characters", async (store) => {
        const alice = await account(store, "alice");
        const r = await room(store, "general", alice);
        await post(store, r.id, alice, "100% sure", T0 + 1);
        await post(store, r.id, alice, "1000 times", T0 + 2);
        await post(store, r.id, alice, 'she said "hi" AND left', T0 + 3);
        await post(store, r.id, alice, "snake_case names", T0 + 4);
        await post(store, r.id, alice, "snakeXcase names", T0 + 5);
        assert.deepEqual(bodies(await store.search([r.id], ["0%"], { limit: 10 })), ["100% sure"]);
        assert.deepEqual(bodies(await store.search([r.id], ["100%"], { limit: 10 })), ["100% sure"]);
        assert.deepEqual(bodies(await store.search([r.id], ['"hi"'], { limit: 10 })), ['she said "hi" AND left']);
        assert.deepEqual(bodies(await store.search([r.id], ["and left"], { limit: 10 })), ['she said "hi" AND left']);
        assert.deepEqual(bodies(await store.search([r.id], ["e_c"], { limit: 10 })), ["snake_case names"]);
        assert.deepEqual(bodies(await store.search([r.id], ["snake_case"], { limit: 10 })), ["snake_case names"]);
        assert.deepEqual(bodies(await store.search([r.id], ["*"], { limit: 10 })), []);
      });

      test("only the rooms given are searched", async (store) => {
        const alice = await account(store, "alice");
        const a = await room(store, "a", alice);
        const b = await room(store, "b", alice);
        const c = await room(store, "c", alice);
        await post(store, a.id, alice, "secret in a", T0 + 1);
        await post(store, b.id, alice, "secret in b", T0 + 2);
        await post(store, c.id, alice, "secret in c", T0 + 3);
        assert.deepEqual(bodies(await store.search([a.id, c.id], ["secret"], { limit: 10 })), ["secret in c", "secret in a"]);
        assert.deepEqual(bodies(await store.search([b.id], ["se"], { limit: 10 })), ["secret in b"]);
        assert.deepEqual(bodies(await store.search([], ["secret"], { limit: 10 })), []);
      });

      test("edits are found by their new text only; deleted messages never match", async (store) => {
        const alice = await account(store, "alice");
        const r = await room(store, "general", alice);
        const m1 = await post(store, r.id, alice, "original wording", T0 + 1);
        const m2 = await post(store, r.id, alice, "doomed wording", T0 + 2);
        await store.append(r.id, { type: "edit", actorId: alice.id, messageId: m1.id, body: "revised text" }, T0 + 3);
        await store.append(r.id, { type: "delete", actorId: alice.id, messageId: m2.id }, T0 + 4);
        assert.deepEqual(bodies(await store.search([r.id], ["original"], { limit: 10 })), []);
        assert.deepEqual(bodies(await store.search([r.id], ["wording"], { limit: 10 })), []);
        assert.deepEqual(bodies(await store.search([r.id], ["doomed"], { limit: 10 })), []);
        assert.deepEqual(bodies(await store.search([r.id], ["do"], { limit: 10 })), []);
        const found = await store.search([r.id], ["revised"], { limit: 10 });
        assert.deepEqual(bodies(found), ["revised text"]);
        assert.equal(found.messages[0]!.id, m1.id);
        assert.equal(found.messages[0]!.editedAt, T0 + 3);
      });

      test("results are whole messages with author and reactions", async (store) => {
        const alice = await account(store, "alice");
        const bob = await account(store, "bob");
        const r = await room(store, "general", alice, [
          { accountId: alice.id, role: "owner" },
          { accountId: bob.id, role: "member" },
        ]);
        const m = await post(store, r.id, bob, "react to this", T0 + 1);
        await store.append(r.id, { type: "react", actorId: alice.id, messageId: m.id, emoji: "👍" }, T0 + 2);
        const [found] = (await store.search([r.id], ["react"], { limit: 10 })).messages;
        assert.deepEqual(found, { ...m, reactions: { "👍": ["alice"] } });
      });

      test("pages: newest first, `more`, then older than the cursor, ties on time broken by id", async (store) => {
        const alice = await account(store, "alice");
        const r = await room(store, "general", alice);
        const posted: Message[] = [];
        // Pairs of messages share a timestamp, so the cursor must order by id within a time.
        for (let i = 0; i < 7; i++) posted.push(await post(store, r.id, alice, `note ${i}`, T0 + Math.floor(i / 2)));
        const newestFirst = [...posted].sort((x, y) => y.createdAt - x.createdAt || (y.id < x.id ? -1 : 1));
        const seen: string[] = [];
        let before: { at: number; id: Id } | undefined;
        for (const size of [3, 3, 1]) {
          const page = await store.search([r.id], ["note"], { before, limit: 3 });
          assert.equal(page.messages.length, size);
          assert.equal(page.more, seen.length + size < 7);
          seen.push(...page.messages.map((m) => m.id));
          const last = page.messages.at(-1)!;
          before = { at: last.createdAt, id: last.id };
        }
        assert.deepEqual(
          seen,
          newestFirst.map((m) => m.id),
        );
      });
    });

    describe("close", () => {
      test("an append in flight when the store closes still commits and resolves", async (store) => {
        const alice = await account(store, "alice");
        const r = await room(store, "general", alice);
        const pending = store.append(r.id, messageDraft(alice.id, "last words"), T0);
        await store.close();
        const res = await pending;
        assert.equal(res.event.seq, 2);
      });
    });
  });
}
