// Authorization over the wire: every cell of test/helpers/authorization-table.ts that a protocol
// offers, run against a real server, in a public, a private and a direct room. WebSocket gives
// every error code, so it must match the table exactly (every operation, every role); HTTP too
// for what it offers (history and search). IRC and line mode answer in their own idioms, so there
// the check is allowed or refused, and for reads: the room's secret word or member names appear
// only when allowed. What a protocol cannot express is listed in docs/security.md.
//
// One world per kind of room, built once over WebSocket; each protocol then acts in every role.
// Operations that change the world when allowed use fresh targets (a new victim to kick, a new
// message to delete, a throwaway room whose owner the admin kicks) or are undone (settings).

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Moderation } from "../src/core/connection.ts";
import type { IrcMessage } from "../src/protocols/irc/message.ts";
import {
  AUTHZ_OPS,
  AUTHZ_ROLES,
  type AuthzKind,
  type AuthzOp,
  type AuthzRole,
  expectedOutcome,
} from "./helpers/authorization-table.ts";
import { api, type Registered, register, uniq } from "./helpers/http.ts";
import { LineClient } from "./helpers/line-client.ts";
import { LOOSE_LIMITS, startServer, type TestServer } from "./helpers/server.ts";
import { type Frame, WsClient } from "./helpers/ws-client.ts";
import { IrcTestClient } from "./irc/irc-client.ts";

let srv: TestServer;
const closers: (() => void)[] = [];
let root: Registered;
/** Cells checked, per protocol, for the figures in docs/security.md. */
const cells: Record<string, number> = { ws: 0, http: 0, irc: 0, line: 0 };

before(async () => {
  srv = await startServer({ irc: true, config: { limits: LOOSE_LIMITS, irc: { fakelag: { enabled: false } } } });
  root = await register(srv, "root"); // the first account is the admin
});
after(async () => {
  console.log(`# authorization over the protocols: cells checked ${JSON.stringify(cells)}`);
  for (const close of closers) close();
  await srv.stop();
});

async function ws(hello: { token?: string; guest?: string }): Promise<WsClient> {
  const { client } = await WsClient.open(srv.wsUrl, hello);
  closers.push(() => client.terminate());
  return client;
}

interface World {
  kind: AuthzKind;
  /** The name to join by (a direct room's internal name, which is not joinable). */
  room: string;
  roomId: string;
  /** A word only this room's history holds. */
  secret: string;
  /** Sets the room up and undoes changes: the owner, or in a direct room its member. */
  owner: { reg: Registered; client: WsClient };
  /** A plain member who posts the messages actors act on (in a direct room, the other member). */
  poster: { reg: Registered; client: WsClient };
  /** Accounts and WebSocket clients of the roles that exist in the room (the guest has none). */
  accounts: Partial<Record<AuthzRole, Registered>>;
  clients: Partial<Record<AuthzRole, WsClient>>;
  /** A message the banned account posted before its ban. */
  bannedOwn: string | null;
}

/** A public or private room with one account in each role, built over WebSocket. */
async function buildRoom(kind: "public" | "private"): Promise<World> {
  const room = uniq("r");
  const owner = await register(srv, uniq("own"));
  const ownerWs = await ws({ token: owner.token });
  const roomId = (await ownerWs.ok({ type: "create", name: room, private: kind === "private" })).membership.room.id as string;
  const accounts: Partial<Record<AuthzRole, Registered>> = { owner, admin: root };
  const clients: Partial<Record<AuthzRole, WsClient>> = { owner: ownerWs };
  const joinAs = async (reg: Registered) => {
    if (kind === "private") await ownerWs.ok({ type: "invite", room: roomId, account: reg.name });
    const c = await ws({ token: reg.token });
    await c.ok({ type: "join", room });
    return c;
  };
  for (const role of ["member", "muted", "banned", "moderator"] as const) {
    accounts[role] = await register(srv, uniq(role.slice(0, 3)));
    clients[role] = await joinAs(accounts[role]!);
  }
  const posterReg = await register(srv, uniq("pos"));
  const poster = await joinAs(posterReg);
  clients.admin = await ws({ token: root.token });
  await clients.admin.ok({ type: "join", room }); // the admin needs no invitation
  const bannedOwn = (await clients.banned!.ok({ type: "send", room: roomId, clientId: uniq("c"), body: "before my ban" }))
    .messageId as string;
  const moderate = (account: string, action: Moderation) => ownerWs.ok({ type: "moderate", room: roomId, account, action });
  await moderate(accounts.moderator!.name, "op");
  await moderate(accounts.muted!.name, "mute");
  await moderate(accounts.banned!.name, "ban");
  const secret = uniq("secret");
  await clients.member!.ok({ type: "send", room: roomId, clientId: uniq("c"), body: `the word is ${secret}` });
  return {
    kind,
    room,
    roomId,
    secret,
    owner: { reg: owner, client: ownerWs },
    poster: { reg: posterReg, client: poster },
    accounts,
    clients,
    bannedOwn,
  };
}

/** A direct conversation: its member (the actor in the member role) and the other one. */
async function buildDirect(): Promise<World> {
  const a = await register(srv, uniq("da"));
  const b = await register(srv, uniq("db"));
  const ca = await ws({ token: a.token });
  const cb = await ws({ token: b.token });
  const room = (await ca.ok({ type: "direct", account: b.name })).membership.room;
  const secret = uniq("dmsecret");
  await ca.ok({ type: "send", room: room.id, clientId: uniq("c"), body: `the word is ${secret}` });
  return {
    kind: "direct",
    room: room.name as string,
    roomId: room.id as string,
    secret,
    owner: { reg: a, client: ca },
    poster: { reg: b, client: cb },
    accounts: { member: a, admin: root },
    clients: { member: ca },
    bannedOwn: null,
  };
}

/** The account acting in a role: a fresh one for the non-member (an earlier check may have let one join). */
async function actor(w: World, role: AuthzRole): Promise<Registered | undefined> {
  if (role === "nonMember") return register(srv, uniq("non"));
  return w.accounts[role];
}

// ---- fixtures: fresh targets, so that an allowed operation changes nothing the next check relies on ----

/** A new message by the poster. */
async function othersMessage(w: World): Promise<string> {
  return (await w.poster.client.ok({ type: "send", room: w.roomId, clientId: uniq("c"), body: "by poster" })).messageId;
}

/** A new message of the actor's own; the banned its pre-ban one; without one, someone else's (as in the core test). */
async function ownMessage(w: World, role: AuthzRole): Promise<string> {
  const c = w.clients[role];
  if (role === "banned") return w.bannedOwn!;
  if (!c) return othersMessage(w);
  const post = async () => (await c.ok({ type: "send", room: w.roomId, clientId: uniq("c"), body: "mine" })).messageId;
  if (role !== "muted") return post();
  const mute = (action: Moderation) =>
    w.owner.client.ok({ type: "moderate", room: w.roomId, account: w.accounts.muted!.name, action });
  await mute("unmute");
  try {
    return await post();
  } finally {
    await mute("mute");
  }
}

/** A fresh plain member to kick, ban, mute or op (in a direct room, the other member). */
async function victim(w: World): Promise<string> {
  if (w.kind === "direct") return w.poster.reg.name;
  const reg = await register(srv, uniq("vic"));
  if (w.kind === "private") await w.owner.client.ok({ type: "invite", room: w.roomId, account: reg.name });
  const c = await ws({ token: reg.token });
  await c.ok({ type: "join", room: w.room });
  return reg.name;
}

/** A fresh moderator, to be kicked. */
async function moderatorVictim(w: World): Promise<string> {
  const name = await victim(w);
  await w.owner.client.ok({ type: "moderate", room: w.roomId, account: name, action: "op" });
  return name;
}

/**
 * The owner to kick: the world's, where the kick will be refused; where it is allowed (the admin),
 * the owner of a throwaway room of the same kind, which the actor joins first.
 */
async function ownerToKick(w: World, role: AuthzRole): Promise<{ room: string; roomId: string; owner: string }> {
  if (expectedOutcome(w.kind, role, "kickOwner") !== "ok") return { room: w.room, roomId: w.roomId, owner: w.owner.reg.name };
  const reg = await register(srv, uniq("own"));
  const c = await ws({ token: reg.token });
  const room = uniq("t");
  const created = await c.ok({ type: "create", name: room, private: w.kind === "private" });
  return { room, roomId: created.membership.room.id, owner: reg.name };
}

/** The room's kind after a settings change was allowed: put back by the owner. */
async function restoreKind(w: World): Promise<void> {
  await w.owner.client.ok({ type: "settings", room: w.roomId, private: w.kind === "private" });
}

const otherKind = (w: World) => w.kind !== "private"; // settings asks for the other kind: private ⇄ public

// ---- WebSocket: every operation, exact codes ----

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (err) {
    return (err as { frame?: Frame }).frame?.code ?? String(err);
  }
}

type WsRun = (w: World, role: AuthzRole, c: WsClient) => Promise<unknown>;
const moderateWs =
  (action: Moderation, target: (w: World) => Promise<string>): WsRun =>
  async (w, _role, c) =>
    c.ok({ type: "moderate", room: w.roomId, account: await target(w), action });

const WS_OPS: Record<AuthzOp, WsRun> = {
  readHistory: async (w, _role, c) => {
    const page = await c.ok({ type: "history", room: w.roomId, limit: 100 });
    assert.ok(
      page.messages.some((m: Frame) => String(m.body).includes(w.secret)),
      "history holds the room's messages",
    );
  },
  members: (w, _role, c) => c.ok({ type: "members", room: w.roomId }),
  post: (w, _role, c) => c.ok({ type: "send", room: w.roomId, clientId: uniq("c"), body: "hi" }),
  editOwn: async (w, role, c) => c.ok({ type: "edit", message: await ownMessage(w, role), body: "edited" }),
  editOther: async (w, _role, c) => c.ok({ type: "edit", message: await othersMessage(w), body: "edited" }),
  deleteOwn: async (w, role, c) => c.ok({ type: "delete", message: await ownMessage(w, role) }),
  deleteOther: async (w, _role, c) => c.ok({ type: "delete", message: await othersMessage(w) }),
  react: async (w, _role, c) => c.ok({ type: "react", message: await othersMessage(w), emoji: "👍" }),
  topic: (w, role, c) => c.ok({ type: "topic", room: w.roomId, topic: `by ${role}` }),
  invite: async (w, _role, c) => c.ok({ type: "invite", room: w.roomId, account: (await register(srv, uniq("inv"))).name }),
  kick: moderateWs("kick", victim),
  ban: moderateWs("ban", victim),
  mute: moderateWs("mute", victim),
  op: moderateWs("op", victim),
  settings: (w, _role, c) => c.ok({ type: "settings", room: w.roomId, private: otherKind(w) }),
  kickModerator: moderateWs("kick", moderatorVictim),
  kickOwner: async (w, role, c) => {
    const t = await ownerToKick(w, role);
    if (t.roomId !== w.roomId) await c.ok({ type: "join", room: t.room });
    return c.ok({ type: "moderate", room: t.roomId, account: t.owner, action: "kick" });
  },
  join: (w, _role, c) => c.ok({ type: "join", room: w.room }),
};

async function checkWs(w: World): Promise<string[]> {
  const mismatches: string[] = [];
  for (const role of AUTHZ_ROLES) {
    if (AUTHZ_OPS.every((op) => expectedOutcome(w.kind, role, op) === null)) continue; // no such role here
    const reg = await actor(w, role);
    const c = reg ? await ws({ token: reg.token }) : await ws({ guest: uniq("g") });
    for (const op of AUTHZ_OPS) {
      const expected = expectedOutcome(w.kind, role, op);
      if (expected === null) continue;
      cells.ws!++;
      const got = await code(WS_OPS[op](w, role, c));
      if (got !== expected) mismatches.push(`${role} ${op}: expected ${expected}, got ${got}`);
      if (op === "settings" && got === "ok") await restoreKind(w);
    }
  }
  return mismatches;
}

// ---- HTTP: history and search (guests have no HTTP session) ----

/** Whether a page of messages (history or search; a search also echoes its terms) holds the text. */
const shows = (page: { messages?: { body: string }[] }, text: string) => (page.messages ?? []).some((m) => m.body.includes(text));

async function checkHttp(w: World): Promise<string[]> {
  const mismatches: string[] = [];
  for (const role of AUTHZ_ROLES) {
    const expected = expectedOutcome(w.kind, role, "readHistory");
    if (role === "guest" || expected === null) continue;
    const token = (await actor(w, role))!.token;
    for (const path of [
      `/api/rooms/${w.roomId}/messages?limit=100`,
      `/api/rooms/${w.roomId}/search?q=${w.secret}`,
      `/api/search?room=${w.roomId}&q=${w.secret}`,
    ]) {
      cells.http!++;
      const res = await api(srv, "GET", path, { token });
      const got = res.status === 200 ? "ok" : res.json?.error?.code;
      if (got !== expected) mismatches.push(`${role} GET ${path}: expected ${expected}, got ${res.status} ${got}`);
      if (res.status === 200) assert.ok(shows(res.json, w.secret), `${role} GET ${path}: the room's text is there`);
      else assert.ok(!res.text.includes(w.secret), "a refusal leaks nothing");
    }
    // Searching every room of one's own never reaches a room the table keeps the role out of.
    cells.http!++;
    const all = await api(srv, "GET", `/api/search?q=${w.secret}`, { token });
    if (shows(all.json, w.secret) && expected !== "ok") mismatches.push(`${role} GET /api/search: shows the room's text`);
    // The room list shows public rooms only.
    const rooms = await api(srv, "GET", "/api/rooms", { token });
    assert.equal(
      rooms.json.rooms.some((r: { id: string }) => r.id === w.roomId),
      w.kind === "public",
      "GET /api/rooms lists public rooms only",
    );
  }
  return mismatches;
}

// ---- IRC: every command that maps to an operation ----

type Verdict = "allowed" | "refused";
const allowed = (expected: string): Verdict => (expected === "ok" ? "allowed" : "refused");
const isError = (m: IrcMessage) => m.command === "FAIL" || /^4\d\d$/.test(m.command);
const byErrors = (replies: IrcMessage[]): Verdict => (replies.some(isError) ? "refused" : "allowed");

interface IrcCtx {
  w: World;
  role: AuthzRole;
  c: IrcTestClient;
  chan: string;
}
type IrcRun = (x: IrcCtx) => Promise<Verdict>;
const CAPS = ["draft/chathistory", "batch", "message-tags", "server-time", "echo-message", "draft/message-redaction"];

/** Each operation's IRC commands, named for the report; edits have no IRC command. */
const IRC_OPS: Partial<Record<AuthzOp, Record<string, IrcRun>>> = {
  readHistory: {
    CHATHISTORY: async ({ w, c, chan }) => {
      const replies = await c.exchange(`CHATHISTORY LATEST ${chan} * 100`);
      const saw = replies.some((m) => m.command === "PRIVMSG" && m.params[1]?.includes(w.secret));
      if (!saw) assert.ok(replies.some(isError), "a refused CHATHISTORY says so");
      return saw ? "allowed" : "refused";
    },
  },
  members: {
    NAMES: async ({ w, c, chan }) => {
      const replies = await c.exchange(`NAMES ${chan}`);
      return replies.some((m) => m.command === "353" && m.params.join(" ").includes(w.poster.reg.name)) ? "allowed" : "refused";
    },
    WHO: async ({ w, c, chan }) => {
      const replies = await c.exchange(`WHO ${chan}`);
      return replies.some((m) => m.command === "352" && m.params.includes(w.poster.reg.name)) ? "allowed" : "refused";
    },
  },
  post: {
    PRIVMSG: async ({ c, chan }) => byErrors(await c.exchange(`PRIVMSG ${chan} :hello`)),
    // A NOTICE is never answered with an error: allowed is its echo coming back.
    NOTICE: async ({ c, chan }) => {
      const text = uniq("notice");
      const replies = await c.exchange(`NOTICE ${chan} :${text}`);
      return replies.some((m) => m.command === "NOTICE" && m.params[1] === text) ? "allowed" : "refused";
    },
  },
  deleteOwn: {
    REDACT: async ({ w, role, c, chan }) => byErrors(await c.exchange(`REDACT ${chan} ${await ownMessage(w, role)}`)),
  },
  deleteOther: { REDACT: async ({ w, c, chan }) => byErrors(await c.exchange(`REDACT ${chan} ${await othersMessage(w)}`)) },
  react: {
    TAGMSG: async ({ w, c, chan }) =>
      byErrors(await c.exchange(`@+draft/react=👍;+draft/reply=${await othersMessage(w)} TAGMSG ${chan}`)),
  },
  topic: { TOPIC: async ({ role, c, chan }) => byErrors(await c.exchange(`TOPIC ${chan} :topic by ${role}`)) },
  invite: {
    INVITE: async ({ c, chan }) => byErrors(await c.exchange(`INVITE ${(await register(srv, uniq("inv"))).name} ${chan}`)),
  },
  kick: { KICK: async ({ w, c, chan }) => byErrors(await c.exchange(`KICK ${chan} ${await victim(w)} :bye`)) },
  ban: { "MODE +b": async ({ w, c, chan }) => byErrors(await c.exchange(`MODE ${chan} +b ${await victim(w)}`)) },
  mute: { "MODE +q": async ({ w, c, chan }) => byErrors(await c.exchange(`MODE ${chan} +q ${await victim(w)}`)) },
  op: { "MODE +o": async ({ w, c, chan }) => byErrors(await c.exchange(`MODE ${chan} +o ${await victim(w)}`)) },
  settings: {
    "MODE +i/-i": async ({ w, c, chan }) => byErrors(await c.exchange(`MODE ${chan} ${otherKind(w) ? "+i" : "-i"}`)),
    "MODE +s/-s": async ({ w, c, chan }) => byErrors(await c.exchange(`MODE ${chan} ${otherKind(w) ? "+s" : "-s"}`)),
  },
  kickModerator: { KICK: async ({ w, c, chan }) => byErrors(await c.exchange(`KICK ${chan} ${await moderatorVictim(w)} :bye`)) },
  kickOwner: {
    KICK: async ({ w, role, c }) => {
      const t = await ownerToKick(w, role);
      if (t.roomId !== w.roomId) await c.exchange(`JOIN #${t.room}`);
      return byErrors(await c.exchange(`KICK #${t.room} ${t.owner} :bye`));
    },
  },
  join: { JOIN: async ({ c, chan }) => byErrors(await c.exchange(`JOIN ${chan}`)) },
};

async function ircClient(reg: Registered | undefined): Promise<IrcTestClient> {
  const c = await IrcTestClient.register(srv.ircPort, {
    nick: reg?.name ?? uniq("ig"),
    caps: CAPS,
    ...(reg ? { sasl: { account: reg.name, password: reg.password } } : {}),
  });
  closers.push(() => c.close());
  await c.sync();
  return c;
}

async function checkIrc(w: World): Promise<string[]> {
  const mismatches: string[] = [];
  for (const role of AUTHZ_ROLES) {
    const c = await ircClient(await actor(w, role));
    const x: IrcCtx = { w, role, c, chan: `#${w.room}` };
    for (const op of AUTHZ_OPS) {
      const expected = expectedOutcome(w.kind, role, op);
      if (expected === null) continue;
      for (const [command, run] of Object.entries(IRC_OPS[op] ?? {})) {
        cells.irc!++;
        const got = await run(x);
        if (got !== allowed(expected)) mismatches.push(`${role} ${op} (${command}): expected ${allowed(expected)}, got ${got}`);
        if (op === "settings" && got === "allowed") await restoreKind(w);
      }
    }
    c.close();
  }
  return mismatches;
}

/** A direct room has no channel: its member addresses it by the other's nick; nobody else can name it. */
async function checkIrcDirect(w: World): Promise<string[]> {
  const mismatches: string[] = [];
  const peer = w.poster.reg.name;
  const history = async (c: IrcTestClient, nick: string) =>
    (await c.exchange(`CHATHISTORY LATEST ${nick} * 100`)).some((m) => m.params.some((p) => p.includes(w.secret)));
  for (const role of AUTHZ_ROLES) {
    if (expectedOutcome("direct", role, "readHistory") === null) continue;
    const c = await ircClient(await actor(w, role));
    if (role === "member") {
      const note = (op: AuthzOp, got: Verdict) => {
        cells.irc!++;
        const expected = allowed(expectedOutcome("direct", role, op)!);
        if (got !== expected) mismatches.push(`direct ${role} ${op}: expected ${expected}, got ${got}`);
      };
      note("readHistory", (await history(c, peer)) ? "allowed" : "refused");
      note("post", byErrors(await c.exchange(`PRIVMSG ${peer} :hi`)));
      note("deleteOwn", byErrors(await c.exchange(`REDACT ${peer} ${await ownMessage(w, role)}`)));
      note("deleteOther", byErrors(await c.exchange(`REDACT ${peer} ${await othersMessage(w)}`)));
      note("react", byErrors(await c.exchange(`@+draft/react=👍;+draft/reply=${await othersMessage(w)} TAGMSG ${peer}`)));
    } else {
      // Outsiders (the admin included): no conversation with either member shows the room's text.
      for (const nick of [w.owner.reg.name, peer]) {
        cells.irc!++;
        if (await history(c, nick)) mismatches.push(`direct ${role} readHistory: CHATHISTORY ${nick} shows the room's text`);
      }
    }
    c.close();
  }
  return mismatches;
}

// ---- line mode: /join (which shows the room's recent lines), saying, /me and /who ----

async function checkLine(w: World): Promise<string[]> {
  const mismatches: string[] = [];
  const note = (role: AuthzRole, op: AuthzOp, what: string, got: Verdict, text: string) => {
    cells.line!++;
    const expected = allowed(expectedOutcome(w.kind, role, op)!);
    if (got !== expected) mismatches.push(`${role} ${op} (${what}): expected ${expected}, got ${got}: ${text}`);
  };
  for (const role of AUTHZ_ROLES) {
    // The secret again, so that it is among the recent lines a /join shows.
    await w.clients.member!.ok({ type: "send", room: w.roomId, clientId: uniq("c"), body: `the word is ${w.secret}` });
    const reg = await actor(w, role);
    const c = reg
      ? await LineClient.login(srv.linePort, reg.name, reg.password)
      : await LineClient.login(srv.linePort, uniq("lg"));
    closers.push(() => c.close());
    /** Sends a line, then /help, whose first line marks that the line was handled; returns what came between. */
    const exchange = async (line: string) => {
      const from = c.since(0).length;
      c.send(line);
      c.send("/help");
      await c.waitForLine(/^Type a line and press Enter/, { from });
      const lines = c.since(from);
      return lines
        .slice(
          0,
          lines.findIndex((l) => l.startsWith("Type a line and press Enter")),
        )
        .join("\n");
    };
    const wasMember = w.clients[role] !== undefined && role !== "banned";
    const joined = await exchange(`/join #${w.room}`);
    const got: Verdict = /^! /m.test(joined) ? "refused" : "allowed";
    note(role, "join", "/join", got, joined);
    if (got === "refused") assert.ok(!joined.includes(w.secret), `${role}: refused, and nothing of the room shown`);
    else assert.ok(joined.includes(w.secret), `${role}: joined, and the room's recent lines shown`);
    // Line mode speaks in the room it is in, so the rest is for roles that were members already.
    if (wasMember && got === "allowed") {
      for (const [what, line] of [
        ["say", `hello from ${role}`],
        ["/me", `/me waves`],
      ] as const) {
        const out = await exchange(line);
        note(role, "post", what, /^! /m.test(out) ? "refused" : "allowed", out);
      }
      const who = await exchange("/who");
      note(role, "members", "/who", who.includes(w.poster.reg.name) ? "allowed" : "refused", who);
    }
    c.close();
  }
  return mismatches;
}

for (const kind of ["public", "private"] as const) {
  describe(`authorization over the protocols: ${kind} room`, () => {
    let w: World;
    before(async () => {
      w = await buildRoom(kind);
    });
    it("WebSocket: every operation × role, exact error codes", async () => assert.deepEqual(await checkWs(w), []));
    it("HTTP: history, room search and search are allowed exactly where reading history is", async () =>
      assert.deepEqual(await checkHttp(w), []));
    it("IRC: every command that maps to an operation, allowed or refused as the table says", async () =>
      assert.deepEqual(await checkIrc(w), []));
    it("line mode: /join, saying, /me and /who, allowed or refused as the table says", async () =>
      assert.deepEqual(await checkLine(w), []));
  });
}

describe("authorization over the protocols: direct room", () => {
  let w: World;
  before(async () => {
    w = await buildDirect();
  });
  it("WebSocket: every operation × role, exact error codes", async () => assert.deepEqual(await checkWs(w), []));
  it("HTTP: only its two members read it, the admin not either", async () => assert.deepEqual(await checkHttp(w), []));
  it("IRC: its member reads, posts, deletes and reacts by the other's nick; outsiders never see it", async () =>
    assert.deepEqual(await checkIrcDirect(w), []));
});
