// Message search over WebSocket (`search`) and REST (GET /api/search, GET /api/rooms/{id}/search):
// membership decides what is searched, deleted messages never match, pages run newest first.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { api, type Json, type Registered, register, uniq } from "./helpers/http.ts";
import { LOOSE_LIMITS, startServer, type TestServer } from "./helpers/server.ts";
import { WsClient } from "./helpers/ws-client.ts";

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

async function connect(reg: Registered): Promise<WsClient> {
  const { client } = await WsClient.open(srv.wsUrl, { token: reg.token });
  clients.push(client);
  return client;
}

let sent = 0;
async function say(ws: WsClient, room: string, body: string): Promise<string> {
  const ack = await ws.ok<{ messageId: string }>({ type: "send", room, clientId: `s${++sent}`, body });
  return ack.messageId;
}

const bodies = (r: Json) => (r.messages as Json[]).map((m) => m.body);

describe("search", () => {
  // One word unique to this run, so that messages from other tests never match.
  const word = uniq("zq").toLowerCase();
  let alice: Registered;
  let bob: Registered;
  let aliceWs: WsClient;
  let bobWs: WsClient;
  let shared: string;
  let sharedName: string;
  let secret: string;

  before(async () => {
    alice = await register(srv, uniq("alice"));
    bob = await register(srv, uniq("bob"));
    aliceWs = await connect(alice);
    bobWs = await connect(bob);
    sharedName = uniq("shared");
    shared = (await aliceWs.ok({ type: "create", name: sharedName })).membership.room.id;
    await bobWs.ok({ type: "join", room: sharedName });
    secret = (await aliceWs.ok({ type: "create", name: uniq("secret"), private: true })).membership.room.id;
    await say(aliceWs, shared, `${word} first, about the 部署 plan`);
    await say(bobWs, shared, `${word} second from bob`);
    await say(aliceWs, secret, `${word} private note`);
  });

  it("searches every room of the caller, newest first, with the terms it read", async () => {
    const mine = await aliceWs.ok({ type: "search", query: `  ${word.toUpperCase()}  ` });
    assert.deepEqual(bodies(mine), [`${word} private note`, `${word} second from bob`, `${word} first, about the 部署 plan`]);
    assert.deepEqual(mine.terms, [word]);
    assert.equal(mine.more, false);
    const m = mine.messages[1];
    assert.equal(m.roomId, shared);
    assert.equal(m.author, bob.name);
    assert.equal(typeof m.seq, "number");
  });

  it("a private room the caller is not in is never searched, not even when named", async () => {
    const theirs = await bobWs.ok({ type: "search", query: word });
    assert.deepEqual(bodies(theirs), [`${word} second from bob`, `${word} first, about the 部署 plan`]);
    assert.equal((await bobWs.error({ type: "search", query: word, room: secret })).code, "NOT_MEMBER");
    const rest = await api(srv, "GET", `/api/rooms/${secret}/search?q=${word}`, { token: bob.token });
    assert.equal(rest.status, 403);
    assert.equal(rest.json.error.code, "NOT_MEMBER");
  });

  it("room narrows the search; every term must match; CJK words match inside sentences", async () => {
    const inRoom = await aliceWs.ok({ type: "search", query: word, room: shared });
    assert.equal(inRoom.messages.length, 2);
    assert.deepEqual(bodies(await aliceWs.ok({ type: "search", query: `${word} bob` })), [`${word} second from bob`]);
    assert.deepEqual(bodies(await aliceWs.ok({ type: "search", query: `${word} 部署` })), [`${word} first, about the 部署 plan`]);
    assert.deepEqual(bodies(await aliceWs.ok({ type: "search", query: `"${word} second"` })), [`${word} second from bob`]);
  });

  it("edited messages match their new text; deleted ones never match", async () => {
    const id = await say(aliceWs, shared, `${word} typo heer`);
    assert.deepEqual(bodies(await aliceWs.ok({ type: "search", query: `${word} heer` })), [`${word} typo heer`]);
    await aliceWs.ok({ type: "edit", message: id, body: `${word} typo here` });
    assert.deepEqual(bodies(await aliceWs.ok({ type: "search", query: `${word} heer` })), []);
    assert.deepEqual(bodies(await aliceWs.ok({ type: "search", query: `${word} here` })), [`${word} typo here`]);
    await aliceWs.ok({ type: "delete", message: id });
    assert.deepEqual(bodies(await aliceWs.ok({ type: "search", query: `${word} typo` })), []);
  });

  it("pages: limit, more, and before = the last id of the previous page", async () => {
    const pageWord = uniq("pg").toLowerCase();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await say(aliceWs, shared, `${pageWord} ${i}`));
    const first = await aliceWs.ok({ type: "search", query: pageWord, limit: 2 });
    assert.deepEqual(bodies(first), [`${pageWord} 4`, `${pageWord} 3`]);
    assert.equal(first.more, true);
    const second = await aliceWs.ok({ type: "search", query: pageWord, limit: 2, before: first.messages[1].id });
    assert.deepEqual(bodies(second), [`${pageWord} 2`, `${pageWord} 1`]);
    const rest = await api(srv, "GET", `/api/search?q=${pageWord}&limit=2&before=${second.messages[1].id}`, {
      token: alice.token,
    });
    assert.equal(rest.status, 200);
    assert.deepEqual(bodies(rest.json), [`${pageWord} 0`]);
    assert.equal(rest.json.more, false);
    assert.deepEqual(rest.json.terms, [pageWord]);
  });

  it("REST: GET /api/search and GET /api/rooms/{id}/search answer like the WebSocket op", async () => {
    const all = await api(srv, "GET", `/api/search?q=${encodeURIComponent(word)}`, { token: alice.token });
    assert.equal(all.status, 200);
    assert.deepEqual(all.json, await aliceWs.ok({ type: "search", query: word }));
    const one = await api(srv, "GET", `/api/rooms/${shared}/search?q=${encodeURIComponent(`${word} 部署`)}`, {
      token: alice.token,
    });
    assert.deepEqual(bodies(one.json), [`${word} first, about the 部署 plan`]);
    const viaParam = await api(srv, "GET", `/api/search?q=${word}&room=${shared}`, { token: alice.token });
    assert.deepEqual(viaParam.json, await aliceWs.ok({ type: "search", query: word, room: shared }));
  });

  it("bad searches get clear errors", async () => {
    const code = async (frame: Json) => (await aliceWs.error({ type: "search", ...frame })).code;
    assert.equal(await code({ query: "   " }), "BAD_REQUEST");
    assert.equal(await code({ query: "x".repeat(257) }), "BAD_REQUEST");
    assert.equal(await code({ query: "a b c d e f g h i" }), "BAD_REQUEST");
    assert.equal(await code({ query: "ok\u0000" }), "BAD_REQUEST");
    assert.equal(await code({ query: word, limit: 0 }), "BAD_REQUEST");
    assert.equal(await code({ query: word, before: "nosuchmessage" }), "BAD_REQUEST");
    assert.equal(await code({ query: word, room: "nosuchroom" }), "NO_SUCH_ROOM");
    const missing = await api(srv, "GET", "/api/search", { token: alice.token });
    assert.equal(missing.status, 400);
    assert.equal(missing.json.error.code, "BAD_REQUEST");
    const badLimit = await api(srv, "GET", `/api/search?q=${word}&limit=0`, { token: alice.token });
    assert.equal(badLimit.status, 400);
    const anon = await api(srv, "GET", `/api/search?q=${word}`);
    assert.equal(anon.status, 401);
    assert.equal(anon.json.error.code, "NOT_AUTHENTICATED");
    const post = await api(srv, "POST", "/api/search", { token: alice.token, body: {} });
    assert.equal(post.status, 405);
  });

  it("guests search the public rooms they are in", async () => {
    const { client } = await WsClient.open(srv.wsUrl, { guest: uniq("g") });
    clients.push(client);
    await client.ok({ type: "join", room: sharedName });
    const found = await client.ok({ type: "search", query: word });
    assert.deepEqual(bodies(found), [`${word} second from bob`, `${word} first, about the 部署 plan`]);
  });
});
