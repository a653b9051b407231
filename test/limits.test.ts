// Abuse limits over the real protocols: login throttling (per address and per account name, no
// account enumeration), registrations per address, connections per address and in all, joins,
// room creations and rooms per account, and the WebSocket origin check. Each test speaks from its
// own loopback address (127.0.0.N), so the per-address buckets of one test never touch another's.

import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import WebSocket from "ws";
import { type Registered, uniq } from "./helpers/http.ts";
import { LineClient } from "./helpers/line-client.ts";
import { eventually, LOOSE_LIMITS, startServer, type TestServer } from "./helpers/server.ts";
import { WsClient } from "./helpers/ws-client.ts";
import { IrcTestClient } from "./irc/irc-client.ts";

let srv: TestServer;
const closers: (() => void)[] = [];
let nextAddress = 10;
/** A loopback address no other test uses. */
const freshAddress = () => `127.0.0.${nextAddress++}`;

before(async () => {
  srv = await startServer({
    irc: true,
    config: {
      limits: {
        ...LOOSE_LIMITS,
        exemptAddresses: [],
        logins: { burst: 3, perSecond: 0.001 },
        accountLogins: { burst: 3, perSecond: 0.001 },
        registrations: { burst: 4, perSecond: 0.001 },
        joins: { burst: 3, perSecond: 0.001 },
        roomCreations: { burst: 2, perSecond: 0.001 },
        maxRoomsPerAccount: 4,
        maxConnectionsPerAddress: 3,
      },
      ws: { allowedOrigins: ["https://chat.example.com"] },
      irc: { fakelag: { enabled: false }, exemptAddresses: [] },
    },
  });
});
after(async () => {
  for (const close of closers) close();
  await srv.stop();
});

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read parsed JSON freely
  json: any;
  headers: Record<string, string | string[] | undefined>;
}

/** A JSON request sent from a chosen local address (fetch cannot choose one). */
function post(path: string, body: unknown, localAddress: string, token?: string): Promise<Reply> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: srv.port,
        path,
        method: "POST",
        localAddress,
        agent: false,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(data),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (d: string) => {
          text += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : null, headers: res.headers }));
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

async function registerFrom(address: string, name = uniq("u")): Promise<Registered> {
  const res = await post("/api/register", { name, password: "correct horse" }, address);
  assert.equal(res.status, 201, JSON.stringify(res.json));
  return { name, password: "correct horse", token: res.json.token, account: res.json.account };
}

/** Opens a WebSocket from an address; resolves to the HTTP status of a refused handshake, or the open socket. */
function wsFrom(
  localAddress: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; ws?: WebSocket; body?: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(srv.wsUrl, { localAddress, headers, perMessageDeflate: false });
    ws.on("open", () => {
      closers.push(() => ws.terminate());
      resolve({ status: 101, ws });
    });
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => {
        body += d;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on("error", () => {});
  });
}

describe("login throttling", () => {
  it("per address: after `logins.burst` password checks, 429 RATE_LIMITED with retry_after, over HTTP and IRC alike", async () => {
    const addr = freshAddress();
    const victim = await registerFrom(freshAddress());
    for (let i = 0; i < 3; i++) {
      const res = await post("/api/login", { name: uniq("nobody"), password: "wrong password" }, addr);
      assert.equal(res.status, 401);
    }
    const limited = await post("/api/login", { name: victim.name, password: victim.password }, addr);
    assert.equal(limited.status, 429);
    assert.equal(limited.json.error.code, "RATE_LIMITED");
    assert.ok(limited.json.error.retry_after > 0);
    assert.ok(Number(limited.headers["retry-after"]) > 0);
    // The same address over IRC (SASL PLAIN) is throttled too: the bucket is the core's.
    const irc = await IrcTestClient.connect(srv.ircPort, { localAddress: addr });
    closers.push(() => irc.close());
    const b64 = Buffer.from(`\0${victim.name}\0${victim.password}`).toString("base64");
    irc.send("CAP LS 302");
    irc.send("NICK someone");
    irc.send("USER someone 0 * :someone");
    irc.send("CAP REQ :sasl");
    irc.send("AUTHENTICATE PLAIN");
    await irc.waitFor((m) => m.command === "AUTHENTICATE");
    irc.send(`AUTHENTICATE ${b64}`);
    const fail = await irc.waitFor((m) => m.command === "904" || m.command === "903");
    assert.equal(fail.command, "904");
    assert.match(fail.params.at(-1)!, /too many login attempts/);
    // Another address logs in fine.
    assert.equal((await post("/api/login", { name: victim.name, password: victim.password }, freshAddress())).status, 200);
  });

  it("per account name, from any address: failures throttle the name; an unknown name behaves the same (no enumeration)", async () => {
    const known = await registerFrom(freshAddress());
    const unknown = uniq("ghost");
    const trace = async (name: string) => {
      const out: string[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await post("/api/login", { name, password: "wrong password" }, freshAddress());
        out.push(`${res.status} ${res.json.error.code} ${res.json.error.message}`);
      }
      return out;
    };
    const a = await trace(known.name);
    const b = await trace(unknown);
    assert.deepEqual(a, b, "the same answers whether the account exists or not");
    assert.match(a[3]!, /^429 RATE_LIMITED/);
    assert.match(a[0]!, /^401 INVALID_CREDENTIALS wrong account name or password$/);
    // While the name is throttled even the right password is refused (with a time to wait).
    const right = await post("/api/login", { name: known.name, password: known.password }, freshAddress());
    assert.equal(right.status, 429);
    assert.ok(right.json.error.retry_after > 0);
  });
});

describe("registrations per address", () => {
  it("after `registrations.burst` new accounts (or guest names) from one address, RATE_LIMITED; other addresses are unaffected", async () => {
    const addr = freshAddress();
    for (let i = 0; i < 3; i++) await registerFrom(addr);
    // A new guest name costs the same token, here over line mode.
    const line = await LineClient.connect(srv.linePort, "127.0.0.1", addr);
    closers.push(() => line.close());
    await line.waitForPrompt(/Your name: $/);
    line.send(uniq("g"));
    await line.waitForLine(/^Hi /);
    line.close();
    const res = await post("/api/register", { name: uniq("u"), password: "correct horse" }, addr);
    assert.equal(res.status, 429);
    assert.equal(res.json.error.code, "RATE_LIMITED");
    assert.match(res.json.error.message, /too many new accounts/);
    await registerFrom(freshAddress());
  });
});

describe("connections", () => {
  it("per address across protocols: the 4th connection is refused with a clear message on each port; freeing one lets a new one in", async () => {
    const addr = freshAddress();
    const held: { close(): void }[] = [];
    const a = await wsFrom(addr);
    assert.equal(a.status, 101);
    held.push({ close: () => a.ws!.terminate() });
    const line = await LineClient.connect(srv.linePort, "127.0.0.1", addr);
    held.push(line);
    const irc = await IrcTestClient.connect(srv.ircPort, { localAddress: addr });
    held.push(irc);
    await line.waitForPrompt(/Your name: $/);

    const ws4 = await wsFrom(addr);
    assert.equal(ws4.status, 429);
    assert.equal(JSON.parse(ws4.body!).error.code, "LIMIT_REACHED");
    assert.match(JSON.parse(ws4.body!).error.message, /too many connections from your address \(at most 3\)/);
    const line4 = await LineClient.connect(srv.linePort, "127.0.0.1", addr);
    await line4.waitForLine(/^! too many connections from your address/);
    await line4.ended;
    const irc4 = await IrcTestClient.connect(srv.ircPort, { localAddress: addr });
    await irc4.waitFor((m) => m.command === "ERROR");
    assert.match(irc4.messages.at(-1)!.params[0]!, /too many connections/);
    await irc4.closed;
    // Another address is not affected.
    const other = await wsFrom(freshAddress());
    assert.equal(other.status, 101);
    other.ws!.terminate();

    held.pop()!.close();
    await eventually(
      async () => {
        const again = await wsFrom(addr);
        again.ws?.terminate();
        return again.status === 101;
      },
      5000,
      "a freed slot",
    );
    for (const h of held) h.close();
  });

  it("in all (limits.maxConnections): a full server refuses with UNAVAILABLE on every port, and takes connections again once some close", async () => {
    const small = await startServer({ irc: true, config: { limits: { maxConnections: 3 } } });
    try {
      const held: LineClient[] = [];
      let refused = "";
      for (let i = 0; i < 4 && !refused; i++) {
        const c = await LineClient.connect(small.linePort);
        await c.waitForLine(/^(Welcome|! )/);
        const first = c.since(0)[0] ?? "";
        if (first.startsWith("! ")) refused = first;
        else held.push(c);
      }
      assert.match(refused, /^! the server is full \(at most 3 connections\)/);
      assert.ok(held.length <= 3);
      // Fill the rest, if the health check's socket has gone meanwhile, then check the other ports.
      for (;;) {
        const c = await LineClient.connect(small.linePort);
        await c.waitForLine(/^(Welcome|! )/);
        if (c.since(0)[0]!.startsWith("! ")) break;
        held.push(c);
      }
      const ws = await new Promise<number>((resolve) => {
        const s = new WebSocket(small.wsUrl);
        s.on("open", () => {
          s.terminate();
          resolve(101);
        });
        s.on("unexpected-response", (_q, res) => resolve(res.statusCode ?? 0));
        s.on("error", () => {});
      });
      assert.equal(ws, 503);
      const irc = await IrcTestClient.connect(small.ircPort);
      await irc.waitFor((m) => m.command === "ERROR");
      assert.match(irc.messages.at(-1)!.params[0]!, /the server is full/);
      for (const c of held) c.close();
      await eventually(
        async () => {
          const c = await LineClient.connect(small.linePort);
          await c.waitForLine(/^(Welcome|! )/);
          const ok = c.since(0)[0]!.startsWith("Welcome");
          c.close();
          return ok;
        },
        5000,
        "room again",
      );
    } finally {
      await small.stop();
    }
  });
});

describe("WebSocket origin", () => {
  it("same origin, a listed origin and no Origin are accepted; any other origin gets 403 before the upgrade", async () => {
    const addr = freshAddress();
    const same = await wsFrom(addr, { origin: `http://127.0.0.1:${srv.port}` });
    assert.equal(same.status, 101);
    same.ws!.terminate();
    const listed = await wsFrom(addr, { origin: "https://chat.example.com" });
    assert.equal(listed.status, 101);
    listed.ws!.terminate();
    const none = await wsFrom(addr);
    assert.equal(none.status, 101);
    none.ws!.terminate();
    for (const origin of [
      "https://evil.example",
      "null",
      `http://127.0.0.1:${srv.port + 1}`,
      "https://chat.example.com.evil.example",
    ]) {
      const bad = await wsFrom(addr, { origin });
      assert.equal(bad.status, 403, origin);
      assert.equal(JSON.parse(bad.body!).error.code, "FORBIDDEN");
    }
  });
});

describe("joins, room creations and rooms per account", () => {
  it("joins beyond `limits.joins` are RATE_LIMITED with retry_after; creations beyond `roomCreations` too; rooms beyond maxRoomsPerAccount are LIMIT_REACHED", async () => {
    // Each account connects from its own address, so sockets left on 127.0.0.1 by earlier tests
    // (idle keep-alive HTTP) do not count against maxConnectionsPerAddress here.
    const ownerAddress = freshAddress();
    const owner = await registerFrom(ownerAddress);
    const { client: o } = await WsClient.open(srv.wsUrl, { token: owner.token }, ownerAddress);
    closers.push(() => o.terminate());
    // Creations: 2 allowed, the 3rd limited.
    const rooms = [uniq("r"), uniq("r")];
    for (const r of rooms) await o.ok({ type: "create", name: r });
    const third = await o.error({ type: "create", name: uniq("r") });
    assert.equal(third.code, "RATE_LIMITED");
    assert.ok(Number(third.retry_after) > 0);

    // Joins: a second account joins 3 rooms, the 4th join is limited.
    const joinerAddress = freshAddress();
    const joiner = await registerFrom(joinerAddress);
    const { client: j } = await WsClient.open(srv.wsUrl, { token: joiner.token }, joinerAddress);
    closers.push(() => j.terminate());
    const otherAddress = freshAddress();
    const other = await registerFrom(otherAddress);
    const { client: c2 } = await WsClient.open(srv.wsUrl, { token: other.token }, otherAddress);
    closers.push(() => c2.terminate());
    const more = [uniq("r"), uniq("r")];
    for (const r of more) await c2.ok({ type: "create", name: r });
    for (const r of [...rooms, more[0]!]) await j.ok({ type: "join", room: r });
    const limited = await j.error({ type: "join", room: more[1]! });
    assert.equal(limited.code, "RATE_LIMITED");
    assert.match(String(limited.message), /too many joins/);

    // Rooms per account (4: #lobby + 3).
    for (const c of [o, j, c2]) await c.close();
    const fullAddress = freshAddress();
    const full = await registerFrom(fullAddress);
    const { client: f } = await WsClient.open(srv.wsUrl, { token: full.token }, fullAddress);
    closers.push(() => f.terminate());
    await f.ok({ type: "create", name: uniq("r") });
    await f.ok({ type: "create", name: uniq("r") });
    await f.ok({ type: "join", room: rooms[0]! });
    const over = await f.error({ type: "join", room: rooms[1]! });
    assert.equal(over.code, "LIMIT_REACHED");
    assert.match(String(over.message), /at most 4 rooms per account/);
  });
});
