// Who may do what: every operation × every role × every kind of room, against the real core
// (SQLite in memory, local bus). Each case runs in a fresh world, so no case depends on another.
// The same table drives the protocol-level check in test/authorization.test.ts.

import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import {
  AUTHZ_OPS,
  AUTHZ_ROLES,
  type AuthzKind,
  type AuthzOp,
  type AuthzRole,
  expectedOutcome,
} from "../../test/helpers/authorization-table.ts";
import { LocalBus } from "../bus/local.ts";
import { SqliteStore } from "../store/sqlite/index.ts";
import { Chat } from "./chat.ts";
import type { Connection, Peer } from "./connection.ts";
import { ChatError } from "./errors.ts";
import type { Hasher } from "./ports.ts";
import type { Account, Id, Message } from "./types.ts";

const hasher: Hasher = { hash: async (pw) => `h:${pw}`, verify: async (h, pw) => h === `h:${pw}` };
const BIG = { burst: 100_000, perSecond: 100_000 };
const quietPeer: Peer = { roomEvents() {}, ephemeral() {}, ready: async () => {} };

interface World {
  kind: AuthzKind;
  chat: Chat;
  store: SqliteStore;
  roomId: Id;
  roomName: string;
  actor: Connection;
  actorAccount: Account;
  /** A plain member's message, and the actor's own (when the actor ever was a member). */
  othersMessage: Message;
  ownMessage: Message | null;
  conns: Connection[];
}

async function world(kind: AuthzKind, role: AuthzRole): Promise<World> {
  const store = new SqliteStore({ path: ":memory:" });
  const chat = new Chat({
    store,
    bus: new LocalBus(),
    hasher,
    limits: { connectionMessages: BIG, accountMessages: BIG, joins: BIG, roomCreations: BIG },
  });
  await chat.start();
  const conns: Connection[] = [];
  const connect = async (account: Account) => {
    const { connection } = await chat.connect(account, quietPeer);
    conns.push(connection);
    return connection;
  };
  const reg = async (name: string) => (await chat.register(name, `pw-of-${name}`)).account;
  const root = await reg("root"); // the first account: the admin
  const owner = await reg("owner");
  const target = await reg("target");
  const mod2 = await reg("mod2");
  await reg("newbie");
  const ownerConn = await connect(owner);
  const targetConn = await connect(target);

  let roomId: Id;
  let roomName: string;
  if (kind === "direct") {
    const m = await ownerConn.openDirect("target");
    roomId = m.room.id;
    roomName = m.room.name;
  } else {
    const m = await ownerConn.createRoom("room", kind);
    roomId = m.room.id;
    roomName = "room";
    for (const name of ["target", "mod2"]) {
      if (kind === "private") await ownerConn.invite(roomId, name);
    }
    await targetConn.join("room");
    const mod2Conn = await connect(mod2);
    await mod2Conn.join("room");
    await ownerConn.moderate(roomId, "mod2", "op");
  }
  await sleep(5);
  const othersMessage = (await targetConn.send(roomId, "by target", "t1", null)).message;

  // The actor, in its role.
  let actorAccount: Account;
  let actor: Connection;
  let ownMessage: Message | null = null;
  const memberActor = async (name: string, then?: (a: Account) => Promise<void>) => {
    const account = name === "root" ? root : await reg(name);
    if (kind === "private" && name !== "root") await ownerConn.invite(roomId, name);
    const conn = await connect(account);
    await conn.join(roomName); // root, the admin, needs no invitation
    ownMessage = (await conn.send(roomId, "mine", "m1", null)).message;
    await then?.(account);
    return { account, conn };
  };
  switch (role) {
    case "guest":
      actorAccount = await chat.guest("visitor");
      actor = await connect(actorAccount);
      break;
    case "nonMember":
      actorAccount = await reg("stranger");
      actor = await connect(actorAccount);
      break;
    case "admin":
      if (kind === "direct") {
        actorAccount = root;
        actor = await connect(root);
        break;
      }
      ({ account: actorAccount, conn: actor } = await memberActor("root"));
      break;
    case "member":
      if (kind === "direct") {
        actorAccount = owner;
        actor = ownerConn;
        ownMessage = (await ownerConn.send(roomId, "mine", "m1", null)).message;
        break;
      }
      ({ account: actorAccount, conn: actor } = await memberActor("member"));
      break;
    case "muted":
      ({ account: actorAccount, conn: actor } = await memberActor("muted", async () => {
        await ownerConn.moderate(roomId, "muted", "mute");
      }));
      break;
    case "banned":
      ({ account: actorAccount, conn: actor } = await memberActor("banned", async () => {
        await ownerConn.moderate(roomId, "banned", "ban");
      }));
      break;
    case "moderator":
      ({ account: actorAccount, conn: actor } = await memberActor("moderator", async () => {
        await ownerConn.moderate(roomId, "moderator", "op");
      }));
      break;
    case "owner":
      actorAccount = owner;
      actor = ownerConn;
      ownMessage = (await ownerConn.send(roomId, "mine", "m1", null)).message;
      break;
  }
  await sleep(5); // let the actor's connection see the moderation of itself
  return { kind, chat, store, roomId, roomName, actor, actorAccount, othersMessage, ownMessage, conns };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Performs the operation as the actor; resolves to "ok" or the error code. */
async function perform(w: World, op: AuthzOp): Promise<string> {
  const c = w.actor;
  const run = async (): Promise<unknown> => {
    switch (op) {
      case "readHistory":
        return c.history(w.roomId, { limit: 10 });
      case "members":
        return c.members(w.roomId);
      case "post":
        return c.send(w.roomId, "hello", "p1", null);
      case "editOwn":
        return c.edit((w.ownMessage ?? w.othersMessage).id, "edited");
      case "editOther":
        return c.edit(w.othersMessage.id, "edited");
      case "deleteOwn":
        return c.remove((w.ownMessage ?? w.othersMessage).id);
      case "deleteOther":
        return c.remove(w.othersMessage.id);
      case "react":
        return c.react(w.othersMessage.id, "👍");
      case "topic":
        return c.setTopic(w.roomId, "new topic");
      case "invite":
        return c.invite(w.roomId, "newbie");
      case "kick":
        return c.moderate(w.roomId, "target", "kick");
      case "ban":
        return c.moderate(w.roomId, "target", "ban");
      case "mute":
        return c.moderate(w.roomId, "target", "mute");
      case "op":
        return c.moderate(w.roomId, "target", "op");
      case "settings": // the other kind: a public room made private, a private (or direct) one public
        return c.setKind(w.roomId, w.kind === "public" ? "private" : "public");
      case "kickModerator":
        return c.moderate(w.roomId, "mod2", "kick");
      case "kickOwner":
        return c.moderate(w.roomId, "owner", "kick");
      case "join":
        return c.join(w.roomName);
    }
  };
  try {
    await run();
    return "ok";
  } catch (err) {
    if (err instanceof ChatError) return err.code;
    throw err;
  }
}

let total = 0;
after(() => console.log(`# authorization (core): ${total} cells checked`));

describe("authorization: every operation × role × room kind (core)", () => {
  for (const kind of ["public", "private", "direct"] as const) {
    describe(`${kind} room`, () => {
      for (const role of AUTHZ_ROLES) {
        if (AUTHZ_OPS.every((op) => expectedOutcome(kind, role, op) === null)) continue; // no such role here
        it(`as ${role}`, async () => {
          const mismatches: string[] = [];
          let cases = 0;
          for (const op of AUTHZ_OPS) {
            const expected = expectedOutcome(kind, role, op);
            if (expected === null) continue; // the role does not exist in this kind of room
            const w = await world(kind, role);
            try {
              const got = await perform(w, op);
              cases++;
              total++;
              if (got !== expected) mismatches.push(`${op}: expected ${expected}, got ${got}`);
              if (got === "ok" && (op === "readHistory" || op === "members")) {
                // Reading a private room's history or member list needs membership.
                const member = await w.store.getMember(w.roomId, w.actorAccount.id);
                assert.ok(kind === "public" || member, `${role} read a ${kind} room without membership`);
              }
            } finally {
              for (const c of w.conns) c.close();
              await w.store.close();
            }
          }
          assert.deepEqual(mismatches, [], `${kind} room, as ${role}`);
          assert.ok(cases > 0);
        });
      }
    });
  }
});
