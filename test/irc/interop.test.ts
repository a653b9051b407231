// Real clients in one room: irc-framework (a full IRC client library) and a WebSocket (web)
// client. Messages go both ways; IRC gets the Parley message id and time.

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, before, it } from "node:test";
import { type Json, register, uniq } from "../helpers/http.ts";
import { eventually, LOOSE_LIMITS, startServer, type TestServer } from "../helpers/server.ts";
import { WsClient } from "../helpers/ws-client.ts";

/** The part of irc-framework's (untyped, CommonJS) API this test uses. */
interface IrcFrameworkClient {
  connect(o: Record<string, unknown>): void;
  on(event: string, fn: (e: Json) => void): void;
  join(channel: string): void;
  say(target: string, text: string): void;
  quit(msg?: string): void;
  user: { nick: string };
  network: { cap: { isEnabled(cap: string): boolean }; options: Record<string, string> };
}
const IRC = createRequire(import.meta.url)("irc-framework") as { Client: new () => IrcFrameworkClient };

let srv: TestServer;
let bot: IrcFrameworkClient | null = null;
let ws: WsClient | null = null;

before(async () => {
  srv = await startServer({ irc: true, config: { limits: LOOSE_LIMITS, irc: { fakelag: { enabled: false } } } });
});
after(async () => {
  bot?.quit("done");
  ws?.terminate();
  await srv.stop();
});

it("irc-framework and a WebSocket client talk in one room, with server-time and msgid", async () => {
  await register(srv, "root");
  const alice = await register(srv, uniq("alice"));
  const bob = await register(srv, uniq("bob"));
  const room = uniq("interop");

  const ircMessages: Json[] = [];
  const client = new IRC.Client();
  bot = client;
  const registered = new Promise<void>((resolve) => client.on("registered", () => resolve()));
  const joined = new Promise<void>((resolve) =>
    client.on("join", (e) => {
      if (e.channel === `#${room}` && e.nick === alice.name) resolve();
    }),
  );
  client.on("message", (e) => ircMessages.push(e));
  client.connect({
    host: "127.0.0.1",
    port: srv.ircPort,
    nick: alice.name,
    username: alice.name,
    gecos: "Alice via irc-framework",
    account: { account: alice.name, password: alice.password },
    enable_echomessage: true,
    auto_reconnect: false,
  });
  await registered;
  assert.equal(client.user.nick, alice.name);
  for (const cap of ["sasl", "server-time", "message-tags", "batch"]) assert.ok(client.network.cap.isEnabled(cap), cap);
  assert.equal(client.network.options.NETWORK, "Parley");
  client.join(`#${room}`);
  await joined;

  const opened = await WsClient.open(srv.wsUrl, { token: bob.token });
  ws = opened.client;
  const membership = (await ws.ok<Json>({ type: "join", room })).membership;
  const roomId = membership.room.id as string;

  // Web → IRC, with the message's time and id.
  const sent = await ws.ok<Json>({ type: "send", room: roomId, clientId: "web-1", body: "hello from the web 🌍" });
  const got = await eventually(() => ircMessages.find((m) => m.message === "hello from the web 🌍"), 5000, "the message on IRC");
  assert.equal(got.nick, bob.name);
  assert.equal(got.target, `#${room}`);
  assert.equal(got.tags.msgid, sent.message.id);
  assert.equal(got.time, sent.message.createdAt, "server-time is the time the message was stored");
  assert.equal(got.tags.account, bob.name);

  // IRC → web.
  client.say(`#${room}`, "hello from IRC");
  const e = await ws.waitForEvent(roomId, (ev) => ev.type === "message" && ev.message.body === "hello from IRC");
  assert.equal(e.type === "message" && e.message.author, alice.name);
  // echo-message: irc-framework sees its own message with the same id.
  const echo = await eventually(() => ircMessages.find((m) => m.message === "hello from IRC"), 5000, "the echo");
  assert.equal(echo.tags.msgid, e.type === "message" ? e.message.id : "");
  // An action from IRC is a /me message on the web.
  client.say(`#${room}`, "\x01ACTION waves\x01");
  await ws.waitForEvent(roomId, (ev) => ev.type === "message" && ev.message.body === "/me waves");
});
