// Line mode over plain TCP, as `nc host port` would use it.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { api, type Json, register, uniq } from "./helpers/http.ts";
import { LineClient } from "./helpers/line-client.ts";
import { LOOSE_LIMITS, sleep, startServer, type TestServer } from "./helpers/server.ts";
import { WsClient } from "./helpers/ws-client.ts";

let srv: TestServer;
const lines: LineClient[] = [];
const sockets: WsClient[] = [];

before(async () => {
  srv = await startServer({ config: { limits: LOOSE_LIMITS } });
});
after(async () => {
  for (const l of lines) l.close();
  for (const s of sockets) s.terminate();
  await srv.stop();
});

async function login(name = uniq("nc"), password?: string): Promise<LineClient> {
  const c = await LineClient.login(srv.linePort, name, password);
  lines.push(c);
  return c;
}

async function wsUser(): Promise<{ ws: WsClient; name: string; token: string; lobby: string }> {
  const reg = await register(srv, uniq("web"));
  const { client, welcome } = await WsClient.open(srv.wsUrl, { token: reg.token });
  sockets.push(client);
  return {
    ws: client,
    name: reg.name,
    token: reg.token,
    lobby: welcome.rooms.find((m: Json) => m.room.name === "lobby").room.id,
  };
}

function hhmm(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** A chat line as line mode shows it: `[HH:MM] name: text`. */
const said = (name: string, text: string) => new RegExp(`^\\[\\d\\d:\\d\\d\\] ${reEscape(name)}: ${reEscape(text)}$`);

describe("line mode", () => {
  it("greets, prompts for a name, then shows the last 20 #lobby messages as [HH:MM] name: text", async () => {
    const web = await wsUser();
    for (let i = 1; i <= 25; i++) await web.ws.ok({ type: "send", room: web.lobby, clientId: `h${i}`, body: `history ${i}` });
    const recent = (await api(srv, "GET", `/api/rooms/${web.lobby}/messages?limit=20`, { token: web.token })).json.messages;

    const c = await LineClient.connect(srv.linePort);
    lines.push(c);
    await c.waitForLine(/^Welcome to Parley\.$/);
    await c.waitForPrompt(/Your name: $/);
    c.send(""); // an empty name asks again
    await c.waitForPrompt(/^Your name: Your name: $/);
    const name = uniq("nc");
    c.send(name);
    const greeting = await c.waitForLine(new RegExp(`^Hi ${name}! You are in #lobby\\. /help lists the commands\\.$`));
    const at = c.lines.indexOf(greeting);
    await c.waitForLine(/history 25$/);
    const shown = c.lines.slice(at + 1, at + 21);
    assert.deepEqual(
      shown,
      recent.map((m: Json) => `[${hhmm(m.createdAt)}] ${web.name}: ${m.body}`),
    );
    assert.deepEqual(
      shown.map((l) => l.replace(/^.*: /, "")),
      Array.from({ length: 20 }, (_, i) => `history ${i + 6}`),
    );
    assert.ok(!c.lines.some((l) => / history [1-5]$/.test(l)), "only the last 20");
  });

  it("a line becomes a #lobby message that WebSocket clients see, and the other way round", async () => {
    const web = await wsUser();
    const name = uniq("nc");
    const c = await login(name);
    const from = web.ws.frames.length;
    c.send("hello from a terminal");
    const e = await web.ws.waitForEvent(
      web.lobby,
      (x) => x.type === "message" && x.message.author === name && x.message.body === "hello from a terminal",
      { from },
    );
    assert.equal(e.type === "message" && e.message.roomId, web.lobby);

    await web.ws.ok({ type: "send", room: web.lobby, clientId: uniq("c"), body: "hello from the web" });
    await c.waitForLine(said(web.name, "hello from the web"));
    // The typed line is not echoed back to its author.
    await sleep(100);
    assert.ok(!c.lines.some((l) => said(name, "hello from a terminal").test(l)));
  });

  it("two nc-style clients chat with each other", async () => {
    const alice = uniq("ncA");
    const bob = uniq("ncB");
    const a = await login(alice);
    const b = await login(bob);
    const fromB = b.lines.length;
    a.send("hi bob");
    await b.waitForLine(said(alice, "hi bob"), { from: fromB });
    const fromA = a.lines.length;
    b.send("hi alice");
    await a.waitForLine(said(bob, "hi alice"), { from: fromA });
    a.send("/me waves");
    await b.waitForLine(new RegExp(`^\\[\\d\\d:\\d\\d\\] \\* ${alice} waves$`), { from: fromB });
    a.send("//slash at the start");
    await b.waitForLine(said(alice, "/slash at the start"), { from: fromB });
  });

  it("/join #room switches rooms: lines go to that room, other rooms' lines are prefixed", async () => {
    const web = await wsUser();
    const room = uniq("den");
    const created = await web.ws.ok({ type: "create", name: room, topic: "the den" });
    const roomId = created.membership.room.id;
    await web.ws.ok({ type: "send", room: roomId, clientId: uniq("c"), body: "before you came" });
    const name = uniq("nc");
    const c = await login(name);
    const from = c.lines.length;
    c.send(`/join #${room}`);
    await c.waitForLine(new RegExp(`^\\* you are in #${room} — the den$`), { from });
    await c.waitForLine(said(web.name, "before you came"), { from });
    await web.ws.waitForEvent(roomId, (e) => e.type === "member" && e.change === "join" && e.name === name);

    assert.ok(!c.lines.some((l) => l.includes(`${name} joined`)), "its own join is not shown");

    c.send("in the den");
    const e = await web.ws.waitForEvent(roomId, (x) => x.type === "message" && x.message.author === name);
    assert.equal(e.type === "message" && e.message.body, "in the den");
    await web.ws.ok({ type: "send", room: web.lobby, clientId: uniq("c"), body: "meanwhile in the lobby" });
    await c.waitForLine(new RegExp(`^\\[\\d\\d:\\d\\d\\] #lobby ${web.name}: meanwhile in the lobby$`));

    const before = c.lines.length;
    c.send(`/join #${uniq("nowhere")}`);
    await c.waitForLine(/^! no such room$/, { from: before });
    c.send("still in the den");
    await web.ws.waitForEvent(roomId, (x) => x.type === "message" && x.message.body === "still in the den");

    const rooms = c.lines.length;
    c.send("/rooms");
    await c.waitForLine(new RegExp(`^\\* #${room} \\(2\\) — the den$`), { from: rooms });
    await c.waitForLine(/^\* #lobby \(\d+\)/, { from: rooms });

    const part = c.lines.length;
    c.send("/part");
    await c.waitForLine(new RegExp(`^\\* you left #${room} and are back in #lobby$`), { from: part });
    await web.ws.waitForEvent(roomId, (x) => x.type === "member" && x.change === "leave" && x.name === name);
    c.send("back in the lobby");
    await web.ws.waitForEvent(web.lobby, (x) => x.type === "message" && x.message.body === "back in the lobby");
    c.send("/part");
    await c.waitForLine(/^! this is #lobby; \/quit to leave$/, { from: part });
  });

  it("/nick renames a guest; a registered name cannot be taken", async () => {
    const web = await wsUser();
    const c = await login();
    const newName = uniq("renamed");
    c.send(`/nick ${newName}`);
    await c.waitForLine(new RegExp(`^\\* you are now ${newName}`));
    c.send("under a new name");
    const e = await web.ws.waitForEvent(web.lobby, (x) => x.type === "message" && x.message.body === "under a new name");
    assert.equal(e.type === "message" && e.message.author, newName);
    const from = c.lines.length;
    c.send(`/nick ${web.name}`);
    await c.waitForLine(/^! /, { from });
    assert.match(c.lines.slice(from).find((l) => l.startsWith("! "))!, /name/);
  });

  it("/who lists the people in the current room", async () => {
    const web = await wsUser();
    const name = uniq("nc");
    const c = await login(name);
    const from = c.lines.length;
    c.send("/who");
    const who = await c.waitForLine(/^\* in #lobby: /, { from });
    const names = who.replace(/^\* in #lobby: /, "").split(", ");
    assert.ok(names.includes(name), who);
    assert.ok(names.includes(web.name), who);
  });

  it("/help lists the commands", async () => {
    const c = await login();
    const from = c.lines.length;
    c.send("/help");
    await c.waitForLine(/\/quit/, { from });
    const help = c.lines.slice(from).join("\n");
    for (const cmd of ["/join #room", "/nick NAME", "/who", "/help", "/quit"])
      assert.ok(help.includes(cmd), `${cmd} in:\n${help}`);
    c.send("/frobnicate");
    await c.waitForLine(/^! unknown command \/frobnicate/, { from });
  });

  it("/quit says goodbye and closes the connection", async () => {
    const c = await login();
    c.send("/quit");
    await c.waitForLine(/^Bye\.$/);
    await c.ended;
  });

  it("a registered name asks for the password; a wrong one is refused, the right one logs in", async () => {
    const reg = await register(srv, uniq("member"), "line-password");
    const c = await LineClient.connect(srv.linePort);
    lines.push(c);
    await c.waitForPrompt(/Your name: $/);
    c.send(reg.name);
    await c.waitForPrompt(new RegExp(`Password for ${reg.name} \\(shown as you type\\): $`));
    c.send("not-the-password");
    await c.waitForLine(/^! wrong account name or password$/);
    await c.waitForPrompt(/Your name: $/);
    c.send(reg.name);
    await c.waitForPrompt(/Password for .*: $/);
    c.send("line-password");
    await c.waitForLine(new RegExp(`^Hi ${reg.name}! You are in #lobby\\.`));
    const web = await wsUser();
    c.send("logged in");
    const e = await web.ws.waitForEvent(web.lobby, (x) => x.type === "message" && x.message.body === "logged in");
    assert.equal(e.type === "message" && e.message.authorId, reg.account.id);
    c.send(`/nick ${uniq("other")}`);
    await c.waitForLine(/^! registered accounts keep their name$/);
  });

  it("an account that left #lobby is joined to it again when it logs in over line mode", async () => {
    const reg = await register(srv, uniq("leaver"), "line-password");
    const { client, welcome } = await WsClient.open(srv.wsUrl, { token: reg.token });
    const lobby = welcome.rooms.find((m: Json) => m.room.name === "lobby").room.id;
    await client.ok({ type: "leave", room: lobby });
    await client.close();
    const c = await login(reg.name, "line-password");
    const web = await wsUser();
    c.send("back in the lobby");
    const e = await web.ws.waitForEvent(web.lobby, (x) => x.type === "message" && x.message.author === reg.name);
    assert.equal(e.type === "message" && e.message.body, "back in the lobby");
  });

  it("a bad name at the prompt is refused and asked again", async () => {
    const c = await LineClient.connect(srv.linePort);
    lines.push(c);
    await c.waitForPrompt(/Your name: $/);
    c.send("not a valid name!");
    await c.waitForLine(/^! names are/);
    await c.waitForPrompt(/Your name: $/);
    const name = uniq("ok");
    c.send(name);
    await c.waitForLine(new RegExp(`^Hi ${name}!`));
  });

  it("an invalid UTF-8 line is an error and the connection stays usable", async () => {
    const web = await wsUser();
    const name = uniq("nc");
    const c = await login(name);
    const from = c.lines.length;
    c.send(Buffer.from([0x68, 0x69, 0x20, 0xff, 0xfe, 0xc3, 0x28]));
    await c.waitForLine(/^! that line was not valid UTF-8; ignored$/, { from });
    c.send("valid again ✓");
    const e = await web.ws.waitForEvent(web.lobby, (x) => x.type === "message" && x.message.author === name);
    assert.equal(e.type === "message" && e.message.body, "valid again ✓", "the invalid line was not sent");
  });

  it("an overlong line is an error and the connection stays usable", async () => {
    const web = await wsUser();
    const name = uniq("nc");
    const c = await login(name);
    const from = c.lines.length;
    c.send("z".repeat(20_000));
    await c.waitForLine(/^! line too long \(at most 8192 bytes\); ignored$/, { from });
    // Over the message limit but within the line limit: the message is refused.
    c.send("y".repeat(5000));
    await c.waitForLine(/^! messages are at most 4000 bytes$/, { from });
    c.send("short again");
    const e = await web.ws.waitForEvent(web.lobby, (x) => x.type === "message" && x.message.author === name);
    assert.equal(e.type === "message" && e.message.body, "short again", "neither long line was sent");
    assert.equal(c.lines.slice(from).filter((l) => l.startsWith("! line too long")).length, 1, "one error per long line");
  });

  it("a guest name that is online cannot be taken by a second connection", async () => {
    const name = uniq("nc");
    await login(name);
    const c = await LineClient.connect(srv.linePort);
    lines.push(c);
    await c.waitForPrompt(/Your name: $/);
    c.send(name);
    await c.waitForLine(/^! a guest with that name is online$/);
    await c.waitForPrompt(/Your name: $/);
  });
});
