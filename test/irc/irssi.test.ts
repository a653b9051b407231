// A scripted irssi session under tmux: irssi logs in with PASS, joins a room and exchanges a
// message with a WebSocket (web) client. Skipped where irssi or tmux is missing, except under
// CI (.ci/run installs irssi).

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { type Json, register, uniq } from "../helpers/http.ts";
import { eventually, LOOSE_LIMITS, startServer, type TestServer, tempDir } from "../helpers/server.ts";
import { WsClient } from "../helpers/ws-client.ts";

const have = (tool: string) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
const missing = ["irssi", "tmux"].filter((t) => !have(t));
if (missing.length > 0 && process.env.CI) throw new Error(`CI needs ${missing.join(" and ")} for the irssi test`);
const skip = missing.length > 0 ? `${missing.join(" and ")} not installed` : false;

/** A tmux server of our own (its own socket), so nothing else running tmux is touched. */
const SOCKET = `parley-irssi-${process.pid}`;
const SESSION = "irssi";
const tmux = (...args: string[]) => execFileSync("tmux", ["-L", SOCKET, ...args], { encoding: "utf8" });
const screen = () => tmux("capture-pane", "-p", "-J", "-t", SESSION, "-S", "-200");

let srv: TestServer;
let ws: WsClient | null = null;
let started = false;

before(async () => {
  if (skip) return;
  srv = await startServer({ irc: true, config: { limits: LOOSE_LIMITS, irc: { fakelag: { enabled: false } } } });
});
after(async () => {
  if (started) {
    try {
      tmux("kill-server");
    } catch {
      // already gone
    }
  }
  ws?.terminate();
  await srv?.stop();
});

it("irssi joins a room and exchanges messages with the web", { skip, timeout: 60_000 }, async () => {
  await register(srv, "root");
  const password = "irssi-secret-1";
  const alice = await register(srv, uniq("irssi"), password);
  const bob = await register(srv, uniq("web"));
  const room = uniq("room");
  const web = await WsClient.open(srv.wsUrl, { token: bob.token });
  ws = web.client;
  const created = await ws.ok<Json>({ type: "create", name: room });
  const roomId = created.membership.room.id as string;

  const home = tempDir("parley-irssi-home-");
  // A minimal config: no scripts, no theme surprises, timestamps off so lines are easy to find.
  writeFileSync(
    join(home, "config"),
    'settings = { core = { real_name = "Irssi Test"; }; "fe-common/core" = { timestamps = "no"; }; };\n',
  );
  const cmd = ["irssi", `--home=${home}`, "-n", alice.name, "-c", "127.0.0.1", "-p", String(srv.ircPort), "-w", password].join(
    " ",
  );
  tmux("new-session", "-d", "-s", SESSION, "-x", "200", "-y", "50", cmd);
  started = true;

  // Logged in (PASS with the account's password) and #lobby shown.
  await eventually(() => /Welcome to the Parley IRC Network/.test(screen()), 20_000, "irssi registered");
  tmux("send-keys", "-t", SESSION, `/join #${room}`, "Enter");
  await ws.waitForEvent(roomId, (e) => e.type === "member" && e.change === "join" && e.name === alice.name, { timeout: 15_000 });

  // irssi → web
  tmux("send-keys", "-t", SESSION, "hello from irssi", "Enter");
  const e = await ws.waitForEvent(roomId, (ev) => ev.type === "message" && ev.message.body === "hello from irssi", {
    timeout: 15_000,
  });
  assert.equal(e.type === "message" && e.message.author, alice.name);

  // web → irssi
  await ws.ok({ type: "send", room: roomId, clientId: "w1", body: "hello from the web" });
  const seen = await eventually(
    () =>
      screen()
        .split("\n")
        .find((l) => l.includes("hello from the web")),
    15_000,
    "the message in irssi",
  );
  assert.match(seen ?? "", new RegExp(bob.name));
});
