// The REST API: accounts and sessions, rooms, history pages, and bad requests.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { api, type Json, type Registered, register, uniq } from "./helpers/http.ts";
import { LOOSE_LIMITS, startServer, type TestServer } from "./helpers/server.ts";
import { WsClient } from "./helpers/ws-client.ts";

let srv: TestServer;
before(async () => {
  srv = await startServer({ config: { limits: LOOSE_LIMITS } });
});
after(async () => {
  await srv.stop();
});

function errorOf(r: { json: Json }): string {
  return r.json?.error?.code;
}

describe("accounts", () => {
  it("the first registered account is the admin, later ones are not", async () => {
    const first = await api(srv, "POST", "/api/register", { body: { name: "Root", password: "password-1" } });
    assert.equal(first.status, 201, first.text);
    assert.equal(first.json.account.name, "Root");
    assert.equal(first.json.account.admin, true);
    assert.equal(first.json.account.guest, false);
    assert.equal(typeof first.json.token, "string");
    assert.ok(first.json.token.length >= 20);
    assert.equal(first.json.account.passwordHash, undefined, "no password hash leaks");
    const second = await api(srv, "POST", "/api/register", { body: { name: uniq(), password: "password-2" } });
    assert.equal(second.status, 201);
    assert.equal(second.json.account.admin, false);
  });

  it("register refuses a taken name (case-insensitive), bad names, weak passwords and missing fields", async () => {
    const taken = await api(srv, "POST", "/api/register", { body: { name: "ROOT", password: "password-1" } });
    assert.equal(taken.status, 409);
    assert.equal(errorOf(taken), "NAME_TAKEN");
    for (const name of ["", "has space", "-dash", "x".repeat(33), "semi;colon"]) {
      const r = await api(srv, "POST", "/api/register", { body: { name, password: "password-1" } });
      assert.equal(r.status, 400, name);
      assert.equal(errorOf(r), "INVALID_NAME", name);
    }
    const weak = await api(srv, "POST", "/api/register", { body: { name: uniq(), password: "short" } });
    assert.equal(weak.status, 400);
    assert.equal(errorOf(weak), "WEAK_PASSWORD");
    const missing = await api(srv, "POST", "/api/register", { body: { name: uniq() } });
    assert.equal(missing.status, 400);
    assert.equal(errorOf(missing), "BAD_REQUEST");
    const wrongType = await api(srv, "POST", "/api/register", { body: { name: 42, password: "password-1" } });
    assert.equal(wrongType.status, 400);
    assert.equal(errorOf(wrongType), "BAD_REQUEST");
  });

  it("login returns a working token; a wrong password or unknown account is 401 INVALID_CREDENTIALS", async () => {
    const a = await register(srv);
    const ok = await api(srv, "POST", "/api/login", { body: { name: a.name.toUpperCase(), password: a.password } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.account.id, a.account.id);
    assert.notEqual(ok.json.token, a.token, "each login is a new session");
    const me = await api(srv, "GET", "/api/me", { token: ok.json.token });
    assert.equal(me.status, 200);
    assert.equal(me.json.account.name, a.name);

    const wrong = await api(srv, "POST", "/api/login", { body: { name: a.name, password: "not the password" } });
    assert.equal(wrong.status, 401);
    assert.equal(errorOf(wrong), "INVALID_CREDENTIALS");
    assert.equal(wrong.json.token, undefined);
    const unknown = await api(srv, "POST", "/api/login", { body: { name: uniq("nobody"), password: "whatever1" } });
    assert.equal(unknown.status, 401);
    assert.equal(errorOf(unknown), "INVALID_CREDENTIALS");
  });

  it("GET /api/me needs a valid bearer token", async () => {
    const a = await register(srv);
    const me = await api(srv, "GET", "/api/me", { token: a.token });
    assert.equal(me.status, 200);
    assert.deepEqual(me.json.account, a.account);
    const none = await api(srv, "GET", "/api/me");
    assert.equal(none.status, 401);
    assert.equal(errorOf(none), "NOT_AUTHENTICATED");
    const garbage = await api(srv, "GET", "/api/me", { token: "not-a-real-token" });
    assert.equal(garbage.status, 401);
    assert.equal(errorOf(garbage), "INVALID_TOKEN");
  });

  it("logout revokes that token (then 401 INVALID_TOKEN, also on WebSocket hello) and only that one", async () => {
    const a = await register(srv);
    const other = await api(srv, "POST", "/api/login", { body: { name: a.name, password: a.password } });
    const out = await api(srv, "POST", "/api/logout", { token: a.token });
    assert.equal(out.status, 204);
    const me = await api(srv, "GET", "/api/me", { token: a.token });
    assert.equal(me.status, 401);
    assert.equal(errorOf(me), "INVALID_TOKEN");
    const again = await api(srv, "POST", "/api/logout", { token: a.token });
    assert.equal(again.status, 401);
    assert.equal(errorOf(again), "INVALID_TOKEN");
    const ws = await WsClient.connect(srv.wsUrl);
    const hello = await ws.hello({ token: a.token });
    assert.equal(hello.type, "error");
    assert.equal(hello.code, "INVALID_TOKEN");
    await ws.close();
    const stillIn = await api(srv, "GET", "/api/me", { token: other.json.token });
    assert.equal(stillIn.status, 200, "the account's other session is untouched");
  });

  it("POST /api/password changes the password and revokes every older session", async () => {
    const a = await register(srv);
    const second = (await api(srv, "POST", "/api/login", { body: { name: a.name, password: a.password } })).json.token;
    const { client: live } = await WsClient.open(srv.wsUrl, { token: a.token });

    const wrongOld = await api(srv, "POST", "/api/password", {
      token: a.token,
      body: { oldPassword: "wrong-password", newPassword: "new-password-1" },
    });
    assert.equal(wrongOld.status, 401);
    assert.equal(errorOf(wrongOld), "INVALID_CREDENTIALS");
    const weak = await api(srv, "POST", "/api/password", { token: a.token, body: { oldPassword: a.password, newPassword: "x" } });
    assert.equal(weak.status, 400);
    assert.equal(errorOf(weak), "WEAK_PASSWORD");

    const changed = await api(srv, "POST", "/api/password", {
      token: a.token,
      body: { oldPassword: a.password, newPassword: "new-password-1" },
    });
    assert.equal(changed.status, 200, changed.text);
    const fresh = changed.json.token as string;
    assert.equal(typeof fresh, "string");

    for (const old of [a.token, second]) {
      const r = await api(srv, "GET", "/api/me", { token: old });
      assert.equal(r.status, 401);
      assert.equal(errorOf(r), "INVALID_TOKEN");
    }
    assert.equal((await api(srv, "GET", "/api/me", { token: fresh })).status, 200);
    const oldLogin = await api(srv, "POST", "/api/login", { body: { name: a.name, password: a.password } });
    assert.equal(oldLogin.status, 401);
    const newLogin = await api(srv, "POST", "/api/login", { body: { name: a.name, password: "new-password-1" } });
    assert.equal(newLogin.status, 200);
    const ws = await WsClient.connect(srv.wsUrl);
    assert.equal((await ws.hello({ token: second })).code, "INVALID_TOKEN");
    await ws.close();
    await live.close();
  });
});

describe("rooms", () => {
  let owner: Registered;
  before(async () => {
    owner = await register(srv);
  });

  it("GET /api/rooms lists the public rooms with member counts, #lobby among them", async () => {
    const r = await api(srv, "GET", "/api/rooms", { token: owner.token });
    assert.equal(r.status, 200);
    const lobby = r.json.rooms.find((x: Json) => x.name === "lobby");
    assert.ok(lobby);
    assert.ok(lobby.members >= 1);
  });

  it("POST /api/rooms creates a room owned by the caller; it is listed; duplicates and bad names are refused", async () => {
    const name = uniq("room");
    const created = await api(srv, "POST", "/api/rooms", { token: owner.token, body: { name: `#${name}`, topic: "hello" } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.room.name, name, "the leading # is not part of the name");
    assert.equal(created.json.room.kind, "public");
    assert.equal(created.json.room.topic, "hello");
    const list = await api(srv, "GET", "/api/rooms", { token: owner.token });
    const listed = list.json.rooms.find((x: Json) => x.id === created.json.room.id);
    assert.ok(listed, "the new room is listed");
    assert.equal(listed.members, 1);

    const dup = await api(srv, "POST", "/api/rooms", { token: owner.token, body: { name: name.toUpperCase() } });
    assert.equal(dup.status, 409);
    assert.equal(errorOf(dup), "ROOM_EXISTS");
    const bad = await api(srv, "POST", "/api/rooms", { token: owner.token, body: { name: "no spaces allowed" } });
    assert.equal(bad.status, 400);
    assert.equal(errorOf(bad), "INVALID_NAME");
    const badPrivate = await api(srv, "POST", "/api/rooms", { token: owner.token, body: { name: uniq("r"), private: "yes" } });
    assert.equal(badPrivate.status, 400);
    assert.equal(errorOf(badPrivate), "BAD_REQUEST");
    const anon = await api(srv, "POST", "/api/rooms", { body: { name: uniq("r") } });
    assert.equal(anon.status, 401);
  });

  it("a private room is not listed and its history is closed to non-members", async () => {
    const created = await api(srv, "POST", "/api/rooms", { token: owner.token, body: { name: uniq("secret"), private: true } });
    assert.equal(created.status, 201);
    assert.equal(created.json.room.kind, "private");
    const stranger = await register(srv);
    const list = await api(srv, "GET", "/api/rooms", { token: stranger.token });
    assert.ok(!list.json.rooms.some((x: Json) => x.id === created.json.room.id));
    const history = await api(srv, "GET", `/api/rooms/${created.json.room.id}/messages`, { token: stranger.token });
    assert.equal(history.status, 403);
    assert.equal(errorOf(history), "NOT_MEMBER");
    const mine = await api(srv, "GET", `/api/rooms/${created.json.room.id}/messages`, { token: owner.token });
    assert.equal(mine.status, 200);
  });
});

describe("history pages", () => {
  const TOTAL = 130;
  let token: string;
  let roomId: string;
  /** seq of message i (1-based body "m<i>"). */
  const seqs: number[] = [];

  before(async () => {
    const a = await register(srv);
    token = a.token;
    const created = await api(srv, "POST", "/api/rooms", { token, body: { name: uniq("hist") } });
    roomId = created.json.room.id;
    const { client } = await WsClient.open(srv.wsUrl, { token });
    const acks = await Promise.all(
      Array.from({ length: TOTAL }, (_, i) =>
        client.ok<{ seq: number }>({ type: "send", room: roomId, clientId: `h${i + 1}`, body: `m${i + 1}` }),
      ),
    );
    for (const ack of acks) seqs.push(ack.seq);
    await client.close();
  });

  const page = (query: string) => api(srv, "GET", `/api/rooms/${roomId}/messages${query}`, { token });

  it("without parameters: the newest 50, oldest first, more=true", async () => {
    const r = await page("");
    assert.equal(r.status, 200);
    assert.equal(r.json.messages.length, 50);
    assert.deepEqual(
      r.json.messages.map((m: Json) => m.body),
      Array.from({ length: 50 }, (_, i) => `m${TOTAL - 50 + i + 1}`),
    );
    assert.equal(r.json.more, true);
  });

  it("limit is capped at 100", async () => {
    const r = await page("?limit=1000");
    assert.equal(r.status, 200);
    assert.equal(r.json.messages.length, 100);
    assert.equal(r.json.more, true);
    const exact = await page("?limit=100");
    assert.equal(exact.json.messages.length, 100);
  });

  it("before pages backwards to the first message, with more=false at the end", async () => {
    const seen: string[] = [];
    let before: number | null = null;
    let more = true;
    let pages = 0;
    while (more) {
      const r = await page(before === null ? "?limit=40" : `?before=${before}&limit=40`);
      assert.equal(r.status, 200);
      const msgs = r.json.messages as { seq: number; body: string }[];
      assert.ok(msgs.length <= 40);
      for (let i = 1; i < msgs.length; i++) assert.ok(msgs[i]!.seq > msgs[i - 1]!.seq, "oldest first within a page");
      for (const m of msgs) assert.ok(before === null || m.seq < before);
      seen.unshift(...msgs.map((m) => m.body));
      more = r.json.more;
      before = msgs[0]!.seq;
      pages++;
    }
    assert.equal(pages, Math.ceil(TOTAL / 40));
    assert.deepEqual(
      seen,
      Array.from({ length: TOTAL }, (_, i) => `m${i + 1}`),
    );
  });

  it("after pages forwards, with more=false at the newest", async () => {
    const r = await page(`?after=${seqs[9]}&limit=5`);
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.json.messages.map((m: Json) => m.body),
      ["m11", "m12", "m13", "m14", "m15"],
    );
    assert.equal(r.json.more, true);
    const last = await page(`?after=${seqs[TOTAL - 4]}&limit=5`);
    assert.deepEqual(
      last.json.messages.map((m: Json) => m.body),
      [`m${TOTAL - 2}`, `m${TOTAL - 1}`, `m${TOTAL}`],
    );
    assert.equal(last.json.more, false);
    const none = await page(`?after=${seqs[TOTAL - 1]}`);
    assert.deepEqual(none.json.messages, []);
    assert.equal(none.json.more, false);
  });

  it("bad query values are 400 BAD_REQUEST; an unknown room is 404 NO_SUCH_ROOM", async () => {
    for (const q of ["?limit=abc", "?before=-1", "?after=1.5", "?limit=", "?limit=0", `?before=${seqs[5]}&after=${seqs[1]}`]) {
      const r = await page(q);
      assert.equal(r.status, 400, q);
      assert.equal(errorOf(r), "BAD_REQUEST", q);
    }
    const unknown = await api(srv, "GET", "/api/rooms/nosuchroom/messages", { token });
    assert.equal(unknown.status, 404);
    assert.equal(errorOf(unknown), "NO_SUCH_ROOM");
    const anon = await api(srv, "GET", `/api/rooms/${roomId}/messages`);
    assert.equal(anon.status, 401);
  });
});

describe("bad requests", () => {
  it("malformed JSON is 400 BAD_REQUEST", async () => {
    for (const raw of ["{", "{name:", "not json", "[1,2]", "null", '"a string"']) {
      const r = await api(srv, "POST", "/api/login", { raw, headers: { "content-type": "application/json" } });
      assert.equal(r.status, 400, raw);
      assert.equal(errorOf(r), "BAD_REQUEST", raw);
      assert.equal(typeof r.json.error.message, "string");
    }
  });

  it("a body that is not UTF-8 is 400 INVALID_UTF8", async () => {
    const r = await api(srv, "POST", "/api/login", { raw: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) });
    assert.equal(r.status, 400);
    assert.equal(errorOf(r), "INVALID_UTF8");
  });

  it("a body over 64 KiB is 413 TOO_LARGE", async () => {
    const raw = JSON.stringify({ name: "x", password: "y".repeat(70 * 1024) });
    let r: Awaited<ReturnType<typeof api>>;
    try {
      r = await api(srv, "POST", "/api/register", { raw, headers: { "content-type": "application/json" } });
    } catch (err) {
      assert.fail(`the server should answer 413, not drop the connection: ${String(err)}`);
    }
    assert.equal(r.status, 413);
    assert.equal(errorOf(r), "TOO_LARGE");
    // The server is fine afterwards.
    assert.equal((await api(srv, "GET", "/healthz")).status, 200);
  });

  it("an unknown path is 404 NOT_FOUND, also for the WebSocket upgrade", async () => {
    for (const path of ["/nope", "/api/nothing", "/api/rooms/x/y/z"]) {
      const r = await api(srv, "GET", path);
      assert.equal(r.status, 404, path);
      assert.equal(errorOf(r), "NOT_FOUND");
    }
    await assert.rejects(WsClient.connect(`${srv.httpUrl.replace("http", "ws")}/elsewhere`), /404/);
  });

  it("a known path with another method is 405 METHOD_NOT_ALLOWED", async () => {
    for (const [method, path] of [
      ["POST", "/healthz"],
      ["GET", "/api/login"],
      ["DELETE", "/api/rooms"],
      ["PUT", "/api/me"],
    ] as const) {
      const r = await api(srv, method, path);
      assert.equal(r.status, 405, `${method} ${path}`);
      assert.equal(errorOf(r), "METHOD_NOT_ALLOWED");
    }
  });

  it("every error body is { error: { code, message } } with JSON content type", async () => {
    const r = await api(srv, "POST", "/api/login", { body: {} });
    assert.equal(r.status, 400);
    assert.match(r.headers.get("content-type") ?? "", /application\/json/);
    assert.deepEqual(Object.keys(r.json), ["error"]);
    assert.deepEqual(Object.keys(r.json.error).sort(), ["code", "message"]);
  });
});
