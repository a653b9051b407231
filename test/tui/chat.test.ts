// End to end: the real terminal client (`parley chat`) in tmux against the real server, with a
// WebSocket client as the other participant. Types with send-keys and reads the screen with
// capture-pane: login without echo, send and receive, a CJK message wrapped by display width,
// scrollback that loads older pages, unread counts, typing, resize, and a server restart
// survived without losing or repeating a message.

import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import stringWidth from "string-width";
import { register } from "../helpers/http.ts";
import { eventually, LOOSE_LIMITS, ROOT, runParley, startServer, type TestServer, tempDir } from "../helpers/server.ts";
import { type Frame, WsClient } from "../helpers/ws-client.ts";
import { columnOf, haveTmux, shellQuote, Tmux } from "./tmux.ts";

const COLS = 100;
const ROWS = 30;
const PASSWORD = "alice's secret";
const CJK =
  "这是一条很长的中文消息，用来检查终端客户端是否按照显示宽度换行，而且列不会错位。日本語の文章も少し入れます。한국어 문장도 조금 넣어요 😀🎉 終わり";

// Without tmux the test cannot run; under CI it must (see DESIGN.md), so there it fails instead.
const skip = !haveTmux() && !process.env.CI ? "tmux is not installed" : false;

describe("parley chat in a terminal", { timeout: 90_000, skip }, () => {
  let server: TestServer;
  let bob: WsClient;
  let bobToken: string;
  let lobby: string;
  const tmux = new Tmux();
  const home = tempDir("parley-tui-home-");
  const env = { HOME: home, XDG_CONFIG_HOME: join(home, "config"), TZ: "UTC", LANG: "C.UTF-8" };
  const configFile = join(home, "config", "parley", "config.json");

  const body = (f: Frame) => (f.type === "event" && f.event.type === "message" ? f.event.message.body : undefined);
  /** Rows of the message log (right of the room list's bar). */
  const logRows = (rows: string[]) => rows.slice(0, ROWS - 3).map((r) => r.slice(r.indexOf("│") + 2));
  const count = (rows: string[], text: string) => rows.filter((r) => r.includes(text)).length;

  before(async () => {
    server = await startServer({ config: { limits: LOOSE_LIMITS } });
    const alice = await register(server, "alice", PASSWORD);
    const b = await register(server, "bob", "bobs password");
    bobToken = b.token;
    const opened = await WsClient.open(server.wsUrl, { token: bobToken });
    bob = opened.client;
    lobby = opened.welcome.rooms.find((m: { room: { name: string } }) => m.room.name === "lobby").room.id;
    // History from before the client starts: more than one page.
    for (let i = 1; i <= 80; i++) {
      await bob.ok({ type: "send", room: lobby, clientId: `old-${i}`, body: `old ${String(i).padStart(3, "0")}` });
    }
    // A room alice is in but does not open: /goto must load its older pages to reach the needle.
    const archive = (await bob.ok({ type: "create", name: "zarchive" })).membership.room.id;
    const aliceWs = await WsClient.open(server.wsUrl, { token: alice.token });
    await aliceWs.client.ok({ type: "join", room: "zarchive" });
    await aliceWs.client.close();
    await bob.ok({ type: "send", room: archive, clientId: "needle", body: "the haystack needle 针" });
    for (let i = 1; i <= 120; i++) await bob.ok({ type: "send", room: archive, clientId: `hay-${i}`, body: `hay ${i}` });
  });

  after(async () => {
    tmux.kill();
    await bob?.close();
    await server?.stop();
  });

  it("asks for the password without echoing it, then opens #lobby (even with CI set)", async () => {
    const vars = Object.entries(env).map(([k, v]) => `${k}=${shellQuote(v)}`);
    const cmd = `cd ${shellQuote(ROOT)} && env CI=true ${vars.join(" ")} ${shellQuote(process.execPath)} bin/parley.js chat --server ${server.httpUrl} --user alice`;
    tmux.start(cmd, COLS, ROWS);
    await tmux.waitFor("Password for alice", "the password prompt", 20_000);
    tmux.type(PASSWORD);
    const typed = tmux.screen().join("\n");
    assert.ok(!typed.includes("secret"), `the password is echoed:\n${typed}`);
    tmux.keys("Enter");
    const rows = await tmux.waitFor(
      (r) => r.join("\n").includes("old 080") && r.join("\n").includes("[online]"),
      "the lobby",
      20_000,
    );
    assert.match(rows[1]!, /^1 #lobby\s+│/);
    assert.match(rows[ROWS - 3]!, /^ \[online\] #lobby: Welcome to Parley/);
    assert.match(rows[ROWS - 2]!, /^>/);
    const config = JSON.parse(readFileSync(configFile, "utf8"));
    assert.equal(statSync(configFile).mode & 0o777, 0o600);
    assert.equal(typeof config.servers[server.httpUrl].token, "string");
  });

  it("receives a message from the other participant, with time and author", async () => {
    await bob.ok({ type: "send", room: lobby, clientId: "hello-1", body: "hello alice, from bob" });
    const rows = await tmux.waitFor("hello alice, from bob");
    assert.ok(rows.some((r) => /│ \d\d:\d\d <bob> hello alice, from bob/.test(r)));
    // The author's name has a colour of its own (and brackets, for terminals without colour).
    const styled = tmux.screen(true).find((r) => r.includes("hello alice, from bob"))!;
    const ESC = String.fromCharCode(27);
    assert.match(styled, new RegExp(`${ESC}\\[3[1-7]m(?:${ESC}\\[[0-9;]*m)*<bob> `));
  });

  it("sends what is typed (Enter), and the other participant receives it", async () => {
    const from = bob.frames.length;
    tmux.type("hi bob, 你好 👋");
    tmux.keys("Enter");
    await bob.waitFor((f) => body(f) === "hi bob, 你好 👋", { from, timeout: 10_000 });
    const rows = await tmux.waitFor((r) => r.some((l) => /<alice> hi bob, 你好 👋$/.test(l)), "own message acknowledged");
    assert.ok(!rows.join("\n").includes("(sending"));
  });

  it("edits the input line: cursor keys, Up for history, Alt+Enter for a second line", async () => {
    tmux.keys("Up");
    await tmux.waitFor((r) => r[ROWS - 2] === "> hi bob, 你好 👋", "the last line recalled");
    tmux.keys("C-u");
    tmux.type("hllo wrld");
    tmux.keys("C-a", "Right");
    tmux.type("e");
    tmux.keys("End", "Left", "Left", "Left");
    tmux.type("o");
    tmux.keys("End", "M-Enter");
    tmux.type("second line");
    await tmux.waitFor((r) => r[ROWS - 3] === "> hello world" && r[ROWS - 2] === "  second line", "two input lines");
    const from = bob.frames.length;
    tmux.keys("Enter");
    await bob.waitFor((f) => body(f) === "hello world\nsecond line", { from, timeout: 10_000 });
    await tmux.waitFor((r) => r[ROWS - 2] === ">", "an empty input line");
  });

  it("wraps a long CJK message by display width without breaking the columns", async () => {
    await bob.ok({ type: "send", room: lobby, clientId: "cjk-1", body: CJK });
    const rows = await tmux.waitFor("終わり", "the CJK message");
    const bar = columnOf(rows[0]!, "│");
    assert.ok(bar > 0);
    for (const r of rows.slice(0, ROWS - 3)) {
      assert.equal(columnOf(r, "│"), bar, `the room list's bar moved in ${JSON.stringify(r)}`);
      assert.ok(stringWidth(r) <= COLS, `row wider than the terminal: ${JSON.stringify(r)}`);
    }
    const first = rows.findIndex((r) => r.includes("<bob> 这是"));
    const last = rows.findIndex((r) => r.includes("終わり"));
    assert.ok(first !== -1 && last > first, rows.join("\n"));
    const lines = rows.slice(first, last + 1);
    const textColumn = columnOf(lines[0]!, "这是");
    for (const l of lines.slice(1)) {
      const rest = l.slice(l.indexOf("│") + 1);
      const indent = rest.length - rest.trimStart().length;
      assert.equal(stringWidth(l.slice(0, l.indexOf("│") + 1)) + indent, textColumn, `continuation not under the text: ${l}`);
    }
    const joined = lines.map((l, i) => (i === 0 ? l.slice(l.indexOf("这是")) : l.slice(l.indexOf("│") + 1).trim())).join("");
    assert.equal(joined.replace(/ /g, ""), CJK.replace(/ /g, ""));
  });

  it("scrolls back with PageUp, loading older pages from the server, and returns with Esc", async () => {
    for (let i = 0; i < 20 && !tmux.screen().join("\n").includes("old 001"); i++) {
      tmux.keys("PPage");
      await new Promise((r) => setTimeout(r, 150));
    }
    const top = await tmux.waitFor("old 001", "the oldest message");
    assert.ok(top.join("\n").includes("beginning of #lobby"), top.join("\n"));
    assert.equal(count(top, "old 001"), 1);
    assert.match(top[ROWS - 3]!, /scrolled up/);
    tmux.keys("PPage", "NPage");
    tmux.keys("Escape");
    const bottom = await tmux.waitFor("終わり", "back at the bottom");
    assert.doesNotMatch(bottom[ROWS - 3]!, /scrolled up/);
  });

  it("creates a room, counts unread messages there, and switches with Alt+number and Ctrl+N", async () => {
    tmux.type("/create #dev");
    tmux.keys("Enter");
    await tmux.waitFor((r) => r.some((l) => /^2 #dev\s+│/.test(l)) && r[ROWS - 3]!.includes("#dev"), "#dev open");
    tmux.keys("M-1");
    await tmux.waitFor((r) => r[ROWS - 3]!.includes("#lobby"), "back in #lobby");
    const joined = await bob.ok({ type: "join", room: "dev" });
    const dev = joined.membership.room.id;
    await bob.ok({ type: "send", room: dev, clientId: "dev-1", body: "first in dev" });
    await bob.ok({ type: "send", room: dev, clientId: "dev-2", body: "second in dev" });
    await tmux.waitFor((r) => r.some((l) => /^2 #dev\s+2 │/.test(l)), "2 unread in #dev");
    tmux.keys("C-n");
    const rows = await tmux.waitFor((r) => r[ROWS - 3]!.includes("#dev") && r.join("\n").includes("second in dev"), "#dev");
    assert.ok(
      rows.some((l) => /^2 #dev\s+│/.test(l)),
      "the count is cleared",
    );
    assert.ok(
      rows.some((l) => l.includes("new messages")),
      "the new-messages line marks the read position",
    );
    // The read position reached the server (shared with the web client).
    const token = JSON.parse(readFileSync(configFile, "utf8")).servers[server.httpUrl].token;
    await eventually(
      async () => {
        const probe = await WsClient.open(server.wsUrl, { token });
        await probe.client.close();
        const m = probe.welcome.rooms.find((x: { room: { id: string } }) => x.room.id === dev);
        return m.readSeq === m.room.lastSeq && m.unread === 0;
      },
      5000,
      "the read position on the server",
    );
    tmux.keys("M-1");
    await tmux.waitFor((r) => r[ROWS - 3]!.includes("#lobby"), "back in #lobby");
  });

  it("shows who is typing in the status line", async () => {
    await bob.ok({ type: "typing", room: lobby, typing: true });
    await tmux.waitFor((r) => r[ROWS - 3]!.includes("bob is typing"), "bob is typing");
  });

  it("redraws for a new terminal size", async () => {
    tmux.resize(70, 20);
    const small = await tmux.waitFor((r) => r.length === 20 && /^ \[online\]/.test(r[17]!), "the 70x20 layout");
    for (const r of small) assert.ok(stringWidth(r) <= 70, JSON.stringify(r));
    const bar = columnOf(small[0]!, "│");
    for (const r of small.slice(0, 17)) assert.equal(columnOf(r, "│"), bar, JSON.stringify(r));
    tmux.resize(COLS, ROWS);
    await tmux.waitFor((r) => r.length === ROWS && /^ \[online\]/.test(r[ROWS - 3]!), "the 100x30 layout again");
  });

  it("survives a server restart: queued messages go out once, missed ones arrive once", async () => {
    const lastSeq = bob.lastSeq(lobby);
    await bob.close();
    await server.stop();
    await tmux.waitFor((r) => /\[(offline|reconnecting|connecting)/.test(r[ROWS - 3]!), "offline status");
    tmux.type("typed while offline");
    tmux.keys("Enter");
    await tmux.waitFor("typed while offline (waiting for the connection)", "the queued message");
    await server.restart();
    const again = await WsClient.open(server.wsUrl, { token: bobToken, resume: { [lobby]: lastSeq } });
    bob = again.client;
    await bob.ok({ type: "send", room: lobby, clientId: "outage-1", body: "sent while you were away" });
    const rows = await tmux.waitFor(
      (r) => r.join("\n").includes("sent while you were away") && /<alice> typed while offline$/m.test(r.join("\n")),
      "both messages after the reconnect",
      30_000,
    );
    assert.match(rows[ROWS - 3]!, /\[online\]/);
    await bob.waitFor((f) => body(f) === "typed while offline", { timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 500));
    const final = tmux.screen();
    assert.equal(count(final, "sent while you were away"), 1);
    assert.equal(count(final, "typed while offline"), 1);
    assert.equal(bob.eventsIn(lobby).filter((e) => e.type === "message" && e.message.body === "typed while offline").length, 1);
    // No message line appears twice on the screen.
    const messages = logRows(final).filter((l) => /^\d\d:\d\d <\w+> /.test(l));
    assert.equal(new Set(messages).size, messages.length, messages.join("\n"));
  });

  it("/search lists highlighted results from every room, /goto opens one, /react reacts", async () => {
    const dev = (await bob.ok({ type: "join", room: "dev" })).membership.room.id;
    await bob.ok({ type: "send", room: dev, clientId: "find-1", body: "the 部署 checklist is in the wiki" });
    tmux.type("/search 部署 WIKI");
    tmux.keys("Enter");
    const rows = await tmux.waitFor(
      (r) => r.some((l) => /1\. #dev \d\d:\d\d <bob> the 部署 checklist is in the wiki/.test(l)),
      "a result",
    );
    assert.ok(
      rows.some((l) => l.includes('Search "部署 WIKI", newest first:')),
      rows.join("\n"),
    );
    // The terms are in reverse video (SGR 7), in any case.
    const styled = tmux.screen(true).find((r) => r.includes("checklist"))!;
    const ESC = String.fromCharCode(27);
    assert.match(styled, new RegExp(`${ESC}\\[[0-9;]*7[0-9;]*m(?:${ESC}\\[[0-9;]*m)*部署`), JSON.stringify(styled));
    assert.match(styled, new RegExp(`${ESC}\\[[0-9;]*7[0-9;]*m(?:${ESC}\\[[0-9;]*m)*wiki`), JSON.stringify(styled));

    // A result far back in a room not opened yet: its pages load until the message is on screen.
    tmux.type("/search 针 haystack");
    tmux.keys("Enter");
    await tmux.waitFor((r) => r.some((l) => /1\. #zarchive .*<bob> the haystack needle 针/.test(l)), "the needle");
    tmux.type("/goto 1");
    tmux.keys("Enter");
    const shown = await tmux.waitFor(
      (r) => r[ROWS - 3]!.includes("scrolled up") && logRows(r).some((l) => /^\d\d:\d\d <bob> the haystack needle 针$/.test(l)),
      "#zarchive scrolled to the needle",
    );
    assert.match(shown[ROWS - 3]!, /#zarchive/);
    assert.ok(
      logRows(shown).some((l) => l.includes("beginning of #zarchive")),
      shown.join("\n"),
    );
    tmux.keys("Escape");
    await tmux.waitFor((r) => !r[ROWS - 3]!.includes("scrolled up") && r.join("\n").includes("hay 120"), "back at the bottom");
    tmux.keys("M-1");
    await tmux.waitFor((r) => r[ROWS - 3]!.includes("#lobby"), "back in #lobby");

    const from = bob.frames.length;
    await bob.ok({ type: "send", room: lobby, clientId: "react-me", body: "react to this one" });
    await tmux.waitFor("react to this one");
    tmux.type("/react 👍");
    tmux.keys("Enter");
    const reacted = await bob.waitFor((f) => f.type === "event" && f.event.type === "react", { from, timeout: 10_000 });
    assert.equal(reacted.event.emoji, "👍");
    assert.equal(reacted.event.on, true);
    await tmux.waitFor((r) => r.some((l) => l.includes("react to this one [👍 1]")), "the reaction shown");
  });

  it("a read position set by another client of the same account clears the unread count live", async () => {
    const dev = (await bob.ok({ type: "join", room: "dev" })).membership.room.id;
    await bob.ok({ type: "send", room: dev, clientId: "sync-1", body: "unread one" });
    const last = await bob.ok<{ seq: number }>({ type: "send", room: dev, clientId: "sync-2", body: "unread two" });
    // At least these two are unread (the search test left one more there).
    await tmux.waitFor((r) => r.some((l) => /^2 #dev\s+(?:[2-9]|\d\d+) │/.test(l)), "unread messages in #dev");
    const token = JSON.parse(readFileSync(configFile, "utf8")).servers[server.httpUrl].token;
    const web = await WsClient.open(server.wsUrl, { token });
    await web.client.ok({ type: "read", room: dev, seq: last.seq });
    await web.client.close();
    await tmux.waitFor((r) => r.some((l) => /^2 #dev\s+│/.test(l)), "the count cleared without a reconnect");
  });

  it("/quit exits with 0 and remembers the room", async () => {
    tmux.keys("C-n");
    await tmux.waitFor((r) => r[ROWS - 3]!.includes("#dev"), "#dev");
    tmux.type("/quit");
    tmux.keys("Enter");
    assert.equal(await tmux.waitExit(15_000), 0, tmux.screen().join("\n"));
    const config = JSON.parse(readFileSync(configFile, "utf8"));
    assert.equal(config.servers[server.httpUrl].lastRoom?.alice, "dev", JSON.stringify(config));
    assert.equal(config.server, server.httpUrl);
  });

  it("--logout ends the session and forgets the token", async () => {
    const token = JSON.parse(readFileSync(configFile, "utf8")).servers[server.httpUrl].token;
    const r = await runParley(["chat", "--server", server.httpUrl, "--logout"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Logged out/);
    const config = JSON.parse(readFileSync(configFile, "utf8"));
    assert.equal(config.servers[server.httpUrl].token, undefined);
    assert.equal(statSync(configFile).mode & 0o777, 0o600);
    const refused = await WsClient.connect(server.wsUrl);
    const reply = await refused.hello({ token });
    await refused.close();
    assert.equal(reply.code, "INVALID_TOKEN");
  });
});
