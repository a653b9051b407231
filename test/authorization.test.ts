// Authorization over the wire: the cells of test/helpers/authorization-table.ts that each protocol
// offers, run against a real server. WebSocket gives every error code, so it must match the table
// exactly; HTTP, IRC and line mode answer in their own idioms, so there the check is allowed or
// refused (and for reads: the room's secret text or member names appear only when allowed).

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { AUTHZ_ROLES, type AuthzKind, type AuthzOp, type AuthzRole, expectedOutcome } from "./helpers/authorization-table.ts";
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

async function ws(hello: { token?: string; guest?: string }): Promise<{ client: WsClient; welcome: Frame }> {
  const opened = await WsClient.open(srv.wsUrl, hello);
  closers.push(() => opened.client.terminate());
  return opened;
}

interface RoomWorld {
  kind: AuthzKind;
  room: string;
  roomId: string;
  secret: string;
  owner: { reg: Registered; client: WsClient };
  member: { reg: Registered; client: WsClient };
  /** A plain member whose messages the actors try to edit, delete and react to. */
  poster: WsClient;
  /** Registered accounts per role (the guest has none; each protocol's check registers its own non-member). */
  accounts: Partial<Record<AuthzRole, Registered>>;
}

/** A room of the kind with one account in each role, built over WebSocket. */
async function build(kind: "public" | "private"): Promise<RoomWorld> {
  const room = uniq("r");
  const owner = await register(srv, uniq("own"));
  const ownerWs = (await ws({ token: owner.token })).client;
  const created = await ownerWs.ok({ type: "create", name: room, private: kind === "private" });
  const roomId = created.membership.room.id as string;
  const accounts: Partial<Record<AuthzRole, Registered>> = { owner, admin: root };
  const joinAs = async (reg: Registered) => {
    if (kind === "private") await ownerWs.ok({ type: "invite", room: roomId, account: reg.name });
    const c = (await ws({ token: reg.token })).client;
    await c.ok({ type: "join", room });
    return c;
  };
  for (const role of ["member", "muted", "banned", "moderator"] as const) {
    accounts[role] = await register(srv, uniq(role.slice(0, 3)));
    await joinAs(accounts[role]!);
  }
  const memberWs = (await ws({ token: accounts.member!.token })).client;
  const poster = await joinAs(await register(srv, uniq("pos")));
  const rootWs = (await ws({ token: root.token })).client;
  await rootWs.ok({ type: "join", room }); // the admin needs no invitation
  await ownerWs.ok({ type: "moderate", room: roomId, account: accounts.moderator!.name, action: "op" });
  await ownerWs.ok({ type: "moderate", room: roomId, account: accounts.muted!.name, action: "mute" });
  await ownerWs.ok({ type: "moderate", room: roomId, account: accounts.banned!.name, action: "ban" });
  const secret = `secret-${uniq("s")}`;
  await memberWs.ok({ type: "send", room: roomId, clientId: uniq("c"), body: secret });
  return {
    kind,
    room,
    roomId,
    secret,
    owner: { reg: owner, client: ownerWs },
    member: { reg: accounts.member!, client: memberWs },
    poster,
    accounts,
  };
}

/** The account acting in a role: a fresh one for the non-member (an earlier check may have let one join). */
async function actor(w: RoomWorld, role: AuthzRole): Promise<Registered | undefined> {
  if (role === "nonMember") return register(srv, uniq("non"));
  return w.accounts[role];
}

/** A fresh plain member of the room, to be kicked. */
async function victim(w: RoomWorld): Promise<string> {
  const reg = await register(srv, uniq("vic"));
  if (w.kind === "private") await w.owner.client.ok({ type: "invite", room: w.roomId, account: reg.name });
  const c = (await ws({ token: reg.token })).client;
  await c.ok({ type: "join", room: w.room });
  return reg.name;
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (err) {
    return (err as { frame?: Frame }).frame?.code ?? String(err);
  }
}

const allowed = (expected: string) => (expected === "ok" ? "allowed" : "refused");

for (const kind of ["public", "private"] as const) {
  describe(`authorization over the protocols: ${kind} room`, () => {
    let w: RoomWorld;
    before(async () => {
      w = await build(kind);
    });

    it("WebSocket: every operation the table lists, exact error codes", async () => {
      const mismatches: string[] = [];
      for (const role of AUTHZ_ROLES) {
        const reg = await actor(w, role);
        const c = reg ? (await ws({ token: reg.token })).client : (await ws({ guest: uniq("g") })).client;
        const check = async (op: AuthzOp, run: () => Promise<unknown>) => {
          const expected = expectedOutcome(kind, role, op);
          if (expected === null) return;
          cells.ws!++;
          const got = await code(run());
          if (got !== expected) mismatches.push(`${role} ${op}: expected ${expected}, got ${got}`);
        };
        const fresh = async () =>
          (await w.poster.ok({ type: "send", room: w.roomId, clientId: uniq("c"), body: "by poster" })).messageId;
        await check("readHistory", async () => {
          const page = await c.ok({ type: "history", room: w.roomId, limit: 100 });
          assert.ok(
            page.messages.some((m: Frame) => m.body === w.secret),
            "history holds the room's messages",
          );
        });
        await check("members", () => c.ok({ type: "members", room: w.roomId }));
        await check("post", () => c.ok({ type: "send", room: w.roomId, clientId: uniq("c"), body: "hi" }));
        const other = await fresh();
        await check("editOther", () => c.ok({ type: "edit", message: other, body: "x" }));
        await check("react", () => c.ok({ type: "react", message: other, emoji: "👍" }));
        await check("deleteOther", () => c.ok({ type: "delete", message: other }));
        await check("topic", () => c.ok({ type: "topic", room: w.roomId, topic: `by ${role}` }));
        await check("invite", async () =>
          c.ok({ type: "invite", room: w.roomId, account: (await register(srv, uniq("inv"))).name }),
        );
        for (const action of ["kick", "ban", "mute"] as const) {
          const name = await victim(w);
          await check(action, () => c.ok({ type: "moderate", room: w.roomId, account: name, action }));
        }
        const name = await victim(w);
        await check("op", () => c.ok({ type: "moderate", room: w.roomId, account: name, action: "op" }));
        await check("join", () => c.ok({ type: "join", room: w.room }));
      }
      assert.deepEqual(mismatches, []);
    });

    it("HTTP: GET /api/rooms/{id}/messages is allowed exactly where reading history is", async () => {
      const mismatches: string[] = [];
      for (const role of AUTHZ_ROLES) {
        if (role === "guest") continue; // guests have no HTTP session
        const expected = expectedOutcome(kind, role, "readHistory")!;
        cells.http!++;
        const res = await api(srv, "GET", `/api/rooms/${w.roomId}/messages?limit=100`, { token: (await actor(w, role))!.token });
        const got = res.status === 200 ? "ok" : res.json?.error?.code;
        if (got !== expected) mismatches.push(`${role}: expected ${expected}, got ${res.status} ${got}`);
        if (res.status !== 200) assert.ok(!res.text.includes(w.secret), "a refusal leaks nothing");
      }
      assert.deepEqual(mismatches, []);
    });

    it("IRC: CHATHISTORY, NAMES, PRIVMSG, TOPIC, KICK and JOIN are allowed exactly where the table says", async () => {
      const caps = ["draft/chathistory", "batch", "message-tags", "server-time", "echo-message"];
      const mismatches: string[] = [];
      const chan = `#${w.room}`;
      for (const role of AUTHZ_ROLES) {
        if (role === "admin" || role === "owner") continue; // their nicks are connected elsewhere with other roles' checks
        const reg = await actor(w, role);
        const nick = reg?.name ?? uniq("ig");
        const c = await IrcTestClient.register(srv.ircPort, {
          nick,
          caps,
          ...(reg ? { sasl: { account: reg.name, password: reg.password } } : {}),
        });
        closers.push(() => c.close());
        await c.sync();
        const isError = (m: { command: string }) => m.command === "FAIL" || /^4\d\d$/.test(m.command);
        const note = (op: AuthzOp, got: "allowed" | "refused") => {
          const expected = expectedOutcome(kind, role, op);
          if (expected !== null) cells.irc!++;
          if (expected !== null && allowed(expected) !== got)
            mismatches.push(`${role} ${op}: expected ${allowed(expected)}, got ${got}`);
        };

        const history = await c.exchange(`CHATHISTORY LATEST ${chan} * 100`);
        const sawSecret = history.some((m) => m.command === "PRIVMSG" && m.params[1] === w.secret);
        note("readHistory", sawSecret ? "allowed" : "refused");
        if (!sawSecret) assert.ok(history.some(isError), `${role}: a refused CHATHISTORY says so`);

        const names = await c.exchange(`NAMES ${chan}`);
        const listed = names.some((m) => m.command === "353" && m.params.join(" ").includes(w.member.reg.name));
        note("members", listed ? "allowed" : "refused");

        const post = await c.exchange(`PRIVMSG ${chan} :from ${role}`);
        note("post", post.some(isError) ? "refused" : "allowed");

        const topic = await c.exchange(`TOPIC ${chan} :topic by ${role}`);
        note("topic", topic.some(isError) ? "refused" : "allowed");

        const target = await victim(w);
        const kick = await c.exchange(`KICK ${chan} ${target} :bye`);
        note("kick", kick.some(isError) ? "refused" : "allowed");

        const join = await c.exchange(`JOIN ${chan}`);
        note("join", join.some(isError) ? "refused" : "allowed");
        c.close();
      }
      assert.deepEqual(mismatches, []);
    });

    it("line mode: /join shows the room's history only where joining is allowed", async () => {
      const mismatches: string[] = [];
      for (const role of ["guest", "nonMember", "banned", "member"] as const) {
        const reg = await actor(w, role);
        const c = reg
          ? await LineClient.login(srv.linePort, reg.name, reg.password)
          : await LineClient.login(srv.linePort, uniq("lg"));
        closers.push(() => c.close());
        const from = c.since(0).length;
        c.send(`/join #${w.room}`);
        const reply = await c.waitForLine(new RegExp(`^(! |\\* you joined|.*#${w.room})`), { from });
        await new Promise((r) => setTimeout(r, 100));
        const text = c.since(from).join("\n");
        const got = reply.startsWith("! ") ? "refused" : "allowed";
        const expected = allowed(expectedOutcome(kind, role, "join")!);
        cells.line!++;
        if (got !== expected) mismatches.push(`${role} join: expected ${expected}, got ${got}: ${text}`);
        if (got === "refused") assert.ok(!text.includes(w.secret), `${role}: refused, and nothing of the room shown`);
        c.close();
      }
      assert.deepEqual(mismatches, []);
    });
  });
}

describe("authorization over the protocols: direct room", () => {
  it("only its two members read or post (WebSocket exact codes; HTTP and IRC refuse outsiders, the admin included)", async () => {
    const a = await register(srv, uniq("da"));
    const b = await register(srv, uniq("db"));
    const outsider = await register(srv, uniq("do"));
    const ca = (await ws({ token: a.token })).client;
    const dm = await ca.ok({ type: "direct", account: b.name });
    const roomId = dm.membership.room.id as string;
    const secret = `dm-secret-${uniq("s")}`;
    await ca.ok({ type: "send", room: roomId, clientId: uniq("c"), body: secret });
    const mismatches: string[] = [];
    for (const [role, reg] of [
      ["member", b],
      ["nonMember", outsider],
      ["admin", root],
    ] as const) {
      const c = (await ws({ token: reg.token })).client;
      for (const [op, frame] of [
        ["readHistory", { type: "history", room: roomId }],
        ["members", { type: "members", room: roomId }],
        ["post", { type: "send", room: roomId, clientId: uniq("c"), body: "x" }],
        ["topic", { type: "topic", room: roomId, topic: "x" }],
      ] as const) {
        const expected = expectedOutcome("direct", role, op);
        cells.ws!++;
        const got = await code(c.ok(frame));
        if (got !== expected) mismatches.push(`${role} ${op}: expected ${expected}, got ${got}`);
      }
      const res = await api(srv, "GET", `/api/rooms/${roomId}/messages`, { token: reg.token });
      const expected = expectedOutcome("direct", role, "readHistory");
      cells.http!++;
      if ((res.status === 200 ? "ok" : res.json?.error?.code) !== expected)
        mismatches.push(`${role} HTTP history: ${res.status}`);
      if (role !== "member") assert.ok(!res.text.includes(secret));
    }
    assert.deepEqual(mismatches, []);
  });
});
