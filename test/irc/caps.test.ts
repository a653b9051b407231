// IRCv3 capabilities against a real server, many of them with a WebSocket (web) user on the
// other side: the same room, messages both ways, edits, deletions, reactions, typing, replies,
// read markers and history. Last, a real IRC client library (irc-framework) with a web user.

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, before, describe, it } from "node:test";
import type { IrcMessage } from "../../src/protocols/irc/message.ts";
import { type Json, register, uniq } from "../helpers/http.ts";
import { eventually, LOOSE_LIMITS, sleep, startServer, type TestServer } from "../helpers/server.ts";
import { WsClient } from "../helpers/ws-client.ts";
import { IrcTestClient, type IrcUser, ircUser, show } from "./irc-client.ts";

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
const irc: IrcTestClient[] = [];
const web: WsClient[] = [];
const bots: IrcFrameworkClient[] = [];

before(async () => {
  srv = await startServer({ irc: true, config: { limits: LOOSE_LIMITS, irc: { fakelag: { enabled: false } } } });
  await register(srv, "root");
});
after(async () => {
  for (const b of bots) b.quit("done");
  for (const c of irc) c.close();
  for (const w of web) w.terminate();
  await srv.stop();
});

const ALL = [
  "server-time",
  "message-tags",
  "echo-message",
  "batch",
  "labeled-response",
  "account-tag",
  "extended-join",
  "userhost-in-names",
  "multi-prefix",
  "draft/chathistory",
  "draft/read-marker",
  "draft/message-redaction",
  "draft/multiline",
];

interface Pair extends IrcUser {
  /** The same account on the web. */
  w: WsClient;
}

async function account(caps: string[] = ALL): Promise<Pair> {
  const user = await ircUser(srv, irc, caps);
  const { client: w } = await WsClient.open(srv.wsUrl, { token: user.reg.token });
  web.push(w);
  return { ...user, w };
}

/** A room made by `owner` on IRC and joined by the others on IRC; returns its name and id. */
async function room(owner: Pair, ...others: Pair[]): Promise<{ name: string; id: string }> {
  const name = `#${uniq("r")}`;
  await owner.c.exchange(`JOIN ${name}`);
  const joined = await owner.w.ok<Json>({ type: "join", room: name });
  for (const o of others) await o.c.exchange(`JOIN ${name}`);
  return { name, id: joined.membership.room.id };
}

let sent = 0;
async function webSay(p: Pair, roomId: string, body: string, replyTo?: string): Promise<Json> {
  const r = await p.w.ok<Json>({ type: "send", room: roomId, clientId: `w${++sent}`, body, ...(replyTo ? { replyTo } : {}) });
  return r.message;
}

const isIso = (s: string | undefined) => typeof s === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(s);

describe("message tags, time and echo", () => {
  it("a web message reaches IRC with server-time, msgid (the Parley id) and account", async () => {
    const a = await account();
    const b = await account();
    const r = await room(a, b);
    const from = b.c.messages.length;
    const m = await webSay(a, r.id, "from the browser");
    const got = await b.c.waitFor((x) => x.command === "PRIVMSG", { from });
    assert.deepEqual(got.params, [r.name, "from the browser"]);
    assert.equal(got.tags.msgid, m.id);
    assert.equal(got.tags.time, new Date(m.createdAt).toISOString());
    assert.equal(got.tags.account, a.nick);
  });

  it("clients without the caps get no tags", async () => {
    const a = await account();
    const plain = await account([]);
    const r = await room(a, plain);
    const from = plain.c.messages.length;
    await webSay(a, r.id, "untagged");
    const got = await plain.c.waitFor((x) => x.command === "PRIVMSG", { from });
    assert.deepEqual(got.tags, {});
  });

  it("guests have no account tag; extended-join shows account (or *) and real name", async () => {
    const a = await account();
    const r = await room(a);
    const g = await IrcTestClient.register(srv.ircPort, { nick: uniq("g"), realname: "Guest Person" });
    irc.push(g);
    const from = a.c.messages.length;
    await g.exchange(`JOIN ${r.name}`);
    const join = await a.c.waitFor((x) => x.command === "JOIN" && x.source?.startsWith(`${g.nick}!`) === true, { from });
    assert.deepEqual(join.params, [r.name, "*", "Guest Person"]);
    assert.ok(isIso(join.tags.time));
    await g.exchange(`PRIVMSG ${r.name} :guest words`);
    const msg = await a.c.waitFor((x) => x.command === "PRIVMSG" && x.params[1] === "guest words", { from });
    assert.equal(msg.tags.account, undefined);
    const b = await account();
    const from2 = a.c.messages.length;
    await b.c.exchange(`JOIN ${r.name}`);
    const joinB = await a.c.waitFor((x) => x.command === "JOIN" && x.source?.startsWith(`${b.nick}!`) === true, { from: from2 });
    assert.deepEqual(joinB.params, [r.name, b.nick, b.nick]);
  });

  it("echo-message: the sender gets its PRIVMSG back with msgid and time; the web sees it too", async () => {
    const a = await account();
    const r = await room(a);
    const got = await a.c.exchange(`PRIVMSG ${r.name} :echo me`);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.command, "PRIVMSG");
    assert.ok(got[0]!.tags.msgid);
    assert.ok(isIso(got[0]!.tags.time));
    const e = await a.w.waitForEvent(r.id, (ev) => ev.type === "message" && ev.message.body === "echo me");
    assert.equal(e.type === "message" && e.message.id, got[0]!.tags.msgid);
    const n = await a.c.exchange(`NOTICE ${r.name} :a notice`);
    assert.equal(n[0]?.command, "NOTICE", "a NOTICE echoes as NOTICE");
  });

  it("userhost-in-names shows masks", async () => {
    const a = await account(["userhost-in-names"]);
    const r = await room(a);
    const names = await a.c.exchange(`NAMES ${r.name}`);
    assert.equal(names[0]!.params[3], `@${a.nick}!${a.nick}@parley`);
  });
});

describe("labeled-response and batch", () => {
  it("one reply carries the label, several come in a labeled-response batch, none is an ACK", async () => {
    const a = await account();
    const r = await room(a);
    const one = await a.c.exchange(`@label=l1 TOPIC ${r.name}`);
    assert.deepEqual(
      one.map((m) => [m.tags.label, m.command]),
      [["l1", "331"]],
    );
    const many = await a.c.exchange(`@label=l2 NAMES ${r.name}`);
    assert.equal(show(many[0]!).split(" ").slice(0, 2).join(" "), `BATCH ${many[0]!.params[0]}`);
    assert.equal(many[0]!.params[1], "labeled-response");
    assert.equal(many[0]!.tags.label, "l2");
    const ref = many[0]!.params[0]!.slice(1);
    assert.ok(many.slice(1, -1).every((m) => m.tags.batch === ref));
    assert.deepEqual(many[many.length - 1]!.params, [`-${ref}`]);
    const none = await a.c.exchange(`@label=l3 PONG x`);
    assert.deepEqual(
      none.map((m) => [m.command, m.tags.label]),
      [["ACK", "l3"]],
    );
    const echo = await a.c.exchange(`@label=l4 PRIVMSG ${r.name} :labeled`);
    assert.equal(echo[0]?.tags.label, "l4");
    assert.equal(echo[0]?.command, "PRIVMSG");
    const err = await a.c.exchange("@label=l5 FOOBAR");
    assert.deepEqual(
      err.map((m) => [m.command, m.tags.label]),
      [["421", "l5"]],
    );
  });
});

describe("both ways with the web", () => {
  it("edits on the web reach IRC as a marked new line replying to the message", async () => {
    const a = await account();
    const plain = await account([]);
    const r = await room(a, plain);
    const m = await webSay(a, r.id, "first version");
    await plain.c.waitFor((x) => x.params[1] === "first version");
    const from = plain.c.messages.length;
    const fromA = a.c.messages.length;
    await a.w.ok({ type: "edit", message: m.id, body: "second version" });
    const edit = await plain.c.waitFor((x) => x.command === "PRIVMSG", { from });
    assert.deepEqual(edit.params, [r.name, "[edited] second version"]);
    const tagged = await a.c.waitFor((x) => x.command === "PRIVMSG" && x.params[1] === "[edited] second version", {
      from: fromA,
    });
    assert.equal(tagged.tags["+draft/reply"], m.id);
  });

  it("deletions on the web reach IRC as REDACT; REDACT on IRC deletes for the web", async () => {
    const a = await account();
    const b = await account();
    const r = await room(a, b);
    const m = await webSay(a, r.id, "to be deleted");
    const from = b.c.messages.length;
    const fromA = a.c.messages.length;
    await a.w.ok({ type: "delete", message: m.id });
    const red = await b.c.waitFor((x) => x.command === "REDACT", { from });
    assert.deepEqual(red.params, [r.name, m.id]);
    assert.equal(red.source?.split("!")[0], a.nick);
    // a's IRC connection gets the REDACT too; under load it can arrive after a's next command was sent.
    await a.c.waitFor((x) => x.command === "REDACT", { from: fromA });
    // The other way: an IRC message deleted from IRC.
    const mine = await a.c.exchange(`PRIVMSG ${r.name} :oops`);
    const id = mine[0]!.tags.msgid!;
    assert.deepEqual(await b.c.exchange(`REDACT ${r.name} ${id}`).then((x) => x.map((y) => y.params[1])), ["REDACT_FORBIDDEN"]);
    const done = await a.c.exchange(`REDACT ${r.name} ${id} :typo`);
    assert.deepEqual(done.map(show), [`REDACT ${r.name} ${id}`]);
    await a.w.waitForEvent(r.id, (e) => e.type === "delete" && e.messageId === id);
    const unknown = await a.c.exchange(`REDACT ${r.name} nosuchid`);
    assert.equal(unknown[0]?.params[1], "UNKNOWN_MSGID");
  });

  it("replies: +reply on IRC becomes a Parley reply; a web reply carries +draft/reply and +reply", async () => {
    const a = await account();
    const b = await account();
    const r = await room(a, b);
    const parent = await webSay(a, r.id, "parent");
    await b.c.exchange(`@+reply=${parent.id} PRIVMSG ${r.name} :child from irc`);
    const e = await a.w.waitForEvent(r.id, (ev) => ev.type === "message" && ev.message.body === "child from irc");
    assert.equal(e.type === "message" && e.message.replyTo, parent.id);
    const from = b.c.messages.length;
    await webSay(a, r.id, "child from web", parent.id);
    const got = await b.c.waitFor((x) => x.params[1] === "child from web", { from });
    assert.equal(got.tags["+draft/reply"], parent.id);
    assert.equal(got.tags["+reply"], parent.id);
  });

  it("reactions: +draft/react TAGMSG reacts (idempotently); web reactions arrive as TAGMSG; +draft/unreact removes", async () => {
    const a = await account();
    const b = await account();
    const r = await room(a, b);
    const m = await webSay(a, r.id, "react to me");
    await b.c.exchange(`@+draft/react=👍;+draft/reply=${m.id} TAGMSG ${r.name}`);
    await a.w.waitForEvent(r.id, (e) => e.type === "react" && e.on && e.emoji === "👍");
    const from = a.c.messages.length;
    await b.c.exchange(`@+draft/react=👍;+draft/reply=${m.id} TAGMSG ${r.name}`); // already on: nothing
    await a.w.ok({ type: "react", message: m.id, emoji: "🎉" });
    const t = await b.c.waitFor((x) => x.command === "TAGMSG" && x.tags["+draft/react"] === "🎉");
    assert.equal(t.tags["+draft/reply"], m.id);
    await b.c.exchange(`@+draft/unreact=👍;+draft/reply=${m.id} TAGMSG ${r.name}`);
    await a.w.waitForEvent(r.id, (e) => e.type === "react" && !e.on && e.emoji === "👍");
    const reacts = a.c.since(from).filter((x) => x.command === "TAGMSG" && x.tags["+draft/react"] === "👍");
    assert.equal(reacts.length, 0, "the second +draft/react changed nothing");
    const bad = await b.c.exchange(`@+draft/react=x TAGMSG ${r.name}`);
    assert.equal(bad[0]?.command, "FAIL");
  });

  it("typing: +typing from IRC reaches the web; web typing reaches IRC as TAGMSG", async () => {
    const a = await account();
    const b = await account();
    const r = await room(a, b);
    const webFrom = a.w.frames.length;
    await b.c.exchange(`@+typing=active TAGMSG ${r.name}`);
    await a.w.waitFor((f) => f.type === "typing" && f.roomId === r.id && f.typing === true, { from: webFrom });
    const from = b.c.messages.length;
    await a.w.ok({ type: "typing", room: r.id, typing: true });
    const t = await b.c.waitFor((x) => x.command === "TAGMSG" && x.tags["+typing"] === "active", { from });
    assert.equal(t.source?.split("!")[0], a.nick);
    // Typing at a nick with no conversation yet opens none, and says nothing.
    assert.deepEqual(await b.c.exchange(`@+typing=active TAGMSG ${a.nick}`), []);
    const { client: again, welcome } = await WsClient.open(srv.wsUrl, { token: a.reg.token });
    web.push(again);
    assert.ok(!(welcome.rooms as Json[]).some((m) => m.room.kind === "direct"));
  });

  it("multiline: web text with newlines is one batch for draft/multiline clients, separate lines otherwise", async () => {
    const a = await account();
    const b = await account();
    const plain = await account(["server-time", "message-tags"]);
    const r = await room(a, b, plain);
    const from = b.c.messages.length;
    const fromP = plain.c.messages.length;
    const m = await webSay(a, r.id, "line one\nline two\n\nline four");
    const start = await b.c.waitFor((x) => x.command === "BATCH" && x.params[1] === "draft/multiline", { from });
    assert.deepEqual(start.params.slice(2), [r.name]);
    assert.equal(start.tags.msgid, m.id);
    const ref = start.params[0]!.slice(1);
    await b.c.waitFor((x) => x.command === "BATCH" && x.params[0] === `-${ref}`, { from });
    const inside = b.c.since(from).filter((x) => x.tags.batch === ref);
    assert.deepEqual(
      inside.map((x) => x.params[1]),
      ["line one", "line two", "", "line four"],
    );
    await plain.c.waitFor((x) => x.params[1] === "line four", { from: fromP });
    const lines = plain.c.since(fromP).filter((x) => x.command === "PRIVMSG");
    assert.deepEqual(
      lines.map((x) => x.params[1]),
      ["line one", "line two", "line four"],
    );
    assert.equal(lines[0]!.tags.msgid, m.id);
    assert.equal(lines[1]!.tags.msgid, undefined, "one msgid, on the first line");
  });

  it("multiline from IRC: a batch becomes one message with newlines (concat joins without one)", async () => {
    const a = await account();
    const r = await room(a);
    const echo = await a.c.exchange(
      `@label=ml BATCH +m1 draft/multiline ${r.name}`,
      `@batch=m1 PRIVMSG ${r.name} :first`,
      `@batch=m1 PRIVMSG ${r.name} :second, `,
      `@batch=m1;draft/multiline-concat PRIVMSG ${r.name} :continued`,
      "BATCH -m1",
    );
    const e = await a.w.waitForEvent(r.id, (ev) => ev.type === "message" && ev.message.body.startsWith("first"));
    assert.equal(e.type === "message" && e.message.body, "first\nsecond, continued");
    // The echo is a multiline batch, labeled with the label of BATCH +.
    assert.equal(echo[0]?.command, "BATCH");
    assert.equal(echo[0]?.tags.label, "ml");
    assert.equal(echo.filter((x) => x.command === "ACK").length, 0);
    const bad = await a.c.exchange(`BATCH +m2 draft/multiline ${r.name}`, "@batch=m2 PRIVMSG #elsewhere :x", "BATCH -m2");
    assert.equal(bad[0]?.params[1], "MULTILINE_INVALID_TARGET");
  });

  it("a long topic set on the web is cut to fit 512 bytes on IRC", async () => {
    const a = await account();
    const r = await room(a);
    const from = a.c.messages.length;
    await a.w.ok({ type: "topic", room: r.id, topic: "語".repeat(300) });
    await a.c.waitFor((x) => x.command === "TOPIC", { from });
    const raw = a.c.raw.find((l) => l.includes(" TOPIC "))!;
    const body = raw.slice(raw.indexOf(" ") + 1);
    assert.ok(Buffer.byteLength(body) + 2 <= 512, `${Buffer.byteLength(body)} bytes`);
    assert.ok(!raw.includes("\uFFFD"));
  });

  it("a long web message is split to fit 512 bytes (multiline: concat lines)", async () => {
    const a = await account();
    const plain = await account([]);
    const r = await room(a, plain);
    const body = "word ".repeat(300).trim();
    const from = plain.c.messages.length;
    await webSay(a, r.id, body);
    await plain.c.sync();
    await sleep(100);
    const parts = plain.c.since(from).filter((x) => x.command === "PRIVMSG");
    assert.ok(parts.length >= 3, `${parts.length} parts`);
    for (const raw of plain.c.raw.slice(-parts.length)) assert.ok(Buffer.byteLength(raw) + 2 <= 512, raw);
    assert.equal(parts.map((x) => x.params[1]).join(""), body);
  });
});

describe("chathistory", () => {
  async function history(p: Pair, line: string): Promise<IrcMessage[]> {
    const r = await p.c.exchange(line);
    const start = r[0]!;
    assert.equal(start.command, "BATCH", r.map(show).join("\n"));
    const ref = start.params[0]!.slice(1);
    return r.filter((x) => x.tags.batch === ref && x.command === "PRIVMSG");
  }

  it("LATEST, BEFORE, AFTER, AROUND, BETWEEN with msgid and timestamp; TARGETS", async () => {
    const a = await account();
    const r = await room(a);
    const msgs: Json[] = [];
    for (let i = 0; i < 10; i++) {
      msgs.push(await webSay(a, r.id, `h${i}`));
      await sleep(3);
    }
    const bodies = (ms: IrcMessage[]) => ms.map((m) => m.params[1]);
    const ts = (i: number) => new Date(msgs[i].createdAt).toISOString();

    assert.deepEqual(bodies(await history(a, `CHATHISTORY LATEST ${r.name} * 3`)), ["h7", "h8", "h9"]);
    const latest = await history(a, `CHATHISTORY LATEST ${r.name} * 3`);
    assert.equal(latest[0]!.tags.msgid, msgs[7].id);
    assert.equal(latest[0]!.tags.time, ts(7));
    assert.deepEqual(bodies(await history(a, `CHATHISTORY LATEST ${r.name} msgid=${msgs[7].id} 10`)), ["h8", "h9"]);
    assert.deepEqual(bodies(await history(a, `CHATHISTORY BEFORE ${r.name} msgid=${msgs[5].id} 2`)), ["h3", "h4"]);
    assert.deepEqual(bodies(await history(a, `CHATHISTORY BEFORE ${r.name} timestamp=${ts(5)} 2`)), ["h3", "h4"]);
    assert.deepEqual(bodies(await history(a, `CHATHISTORY AFTER ${r.name} msgid=${msgs[5].id} 2`)), ["h6", "h7"]);
    assert.deepEqual(bodies(await history(a, `CHATHISTORY AFTER ${r.name} timestamp=${ts(5)} 2`)), ["h6", "h7"]);
    assert.deepEqual(bodies(await history(a, `CHATHISTORY AROUND ${r.name} msgid=${msgs[5].id} 3`)), ["h4", "h5", "h6"]);
    assert.deepEqual(bodies(await history(a, `CHATHISTORY BETWEEN ${r.name} msgid=${msgs[2].id} msgid=${msgs[6].id} 10`)), [
      "h3",
      "h4",
      "h5",
    ]);
    assert.deepEqual(bodies(await history(a, `CHATHISTORY BETWEEN ${r.name} timestamp=${ts(6)} timestamp=${ts(2)} 2`)), [
      "h4",
      "h5",
    ]);
    assert.deepEqual(bodies(await history(a, `CHATHISTORY BETWEEN ${r.name} timestamp=${ts(2)} msgid=${msgs[6].id} 2`)), [
      "h3",
      "h4",
    ]);

    const targets = await a.c.exchange(
      `CHATHISTORY TARGETS timestamp=${ts(0)} timestamp=${new Date(Date.now() + 60_000).toISOString()} 50`,
    );
    assert.equal(targets[0]?.params[1], "draft/chathistory-targets");
    assert.ok(targets.some((x) => x.command === "CHATHISTORY" && x.params[1] === r.name && x.params[2] === ts(9)));

    const errors = await a.c.exchange(
      `CHATHISTORY BEFORE ${r.name} * 5`,
      `CHATHISTORY LATEST ${r.name} * 0`,
      `CHATHISTORY FOO ${r.name} * 5`,
      `CHATHISTORY LATEST ${r.name} bogus 5`,
      `CHATHISTORY AFTER ${r.name} msgid=nosuchmessage 5`,
      `CHATHISTORY AFTER ${r.name} seq=5 5`,
      `CHATHISTORY LATEST #${uniq("none")} * 5`,
    );
    assert.deepEqual(
      errors.map((x) => `${x.command} ${x.params[1]}`),
      [
        "FAIL INVALID_PARAMS",
        "FAIL INVALID_PARAMS",
        "FAIL UNKNOWN_COMMAND",
        "FAIL INVALID_PARAMS",
        "FAIL MESSAGE_ERROR",
        "FAIL INVALID_MSGREFTYPE",
        "FAIL INVALID_TARGET",
      ],
    );
  });

  it("a client that reconnects fetches what it missed; private messages have history too", async () => {
    const a = await account();
    const b = await account();
    const r = await room(a, b);
    const seen = await a.c.exchange(`PRIVMSG ${r.name} :before the drop`);
    const last = seen[0]!.tags.msgid!;
    b.c.close();
    await webSay(a, r.id, "missed one");
    await webSay(a, r.id, "missed two");
    const again = await IrcTestClient.register(srv.ircPort, {
      nick: b.nick,
      sasl: { account: b.nick, password: b.reg.password },
      caps: ALL,
    });
    irc.push(again);
    const got = await again.exchange(`CHATHISTORY AFTER ${r.name} msgid=${last} 50`);
    assert.deepEqual(
      got.filter((x) => x.command === "PRIVMSG").map((x) => x.params[1]),
      ["missed one", "missed two"],
    );
    await a.c.exchange(`PRIVMSG ${b.nick} :a private word`);
    const dm = await again.exchange(`CHATHISTORY LATEST ${a.nick} * 10`);
    const pm = dm.filter((x) => x.command === "PRIVMSG");
    assert.deepEqual(
      pm.map((x) => [x.source?.split("!")[0], x.params[0], x.params[1]]),
      [[a.nick, b.nick, "a private word"]],
    );
    const none = await again.exchange("CHATHISTORY LATEST nobodyatall * 10");
    assert.deepEqual(
      none.map((x) => x.command),
      ["BATCH", "BATCH"],
    );
  });
});

describe("read markers", () => {
  it("MARKREAD sets and reads the position the web shares; JOIN shows it", async () => {
    const a = await account();
    const r = await room(a);
    const m1 = await webSay(a, r.id, "one");
    await sleep(3);
    const m2 = await webSay(a, r.id, "two");
    const t1 = new Date(m1.createdAt).toISOString();
    await a.c.waitFor((x) => x.params[1] === "two");
    const set = await a.c.exchange(`MARKREAD ${r.name} timestamp=${t1}`);
    assert.deepEqual(set.map(show), [`MARKREAD ${r.name} timestamp=${t1}`]);
    const readSeq = (await a.w.ok<Json>({ type: "read", room: r.id, seq: 0 })).readSeq;
    assert.equal(readSeq, m1.seq, "the web sees the IRC read position");
    const t2 = new Date(m2.createdAt).toISOString();
    await a.w.ok({ type: "read", room: r.id, seq: m2.seq });
    // Moved on the web: pushed to IRC at once.
    await a.c.waitFor((x) => show(x) === `MARKREAD ${r.name} timestamp=${t2}`);
    const q = await a.c.exchange(`MARKREAD ${r.name}`);
    assert.deepEqual(q.map(show), [`MARKREAD ${r.name} timestamp=${new Date(m2.createdAt).toISOString()}`]);
    // Never backwards.
    const back = await a.c.exchange(`MARKREAD ${r.name} timestamp=${t1}`);
    assert.equal(back[0]!.params[1], `timestamp=${new Date(m2.createdAt).toISOString()}`);
    const again = await IrcTestClient.register(srv.ircPort, {
      nick: a.nick,
      sasl: { account: a.nick, password: a.reg.password },
      caps: ALL,
    });
    irc.push(again);
    const onJoin = again.messages.find((x) => x.command === "MARKREAD" && x.params[0] === r.name);
    assert.equal(onJoin?.params[1], `timestamp=${new Date(m2.createdAt).toISOString()}`);
    // Moved on one IRC connection: the other hears it; the mover only gets its reply.
    const m3 = await webSay(a, r.id, "three");
    const t3 = new Date(m3.createdAt).toISOString();
    await a.c.waitFor((x) => x.params[1] === "three");
    await again.waitFor((x) => x.params[1] === "three");
    const moved = await again.exchange(`MARKREAD ${r.name} timestamp=${t3}`);
    assert.deepEqual(moved.map(show), [`MARKREAD ${r.name} timestamp=${t3}`]);
    await a.c.waitFor((x) => show(x) === `MARKREAD ${r.name} timestamp=${t3}`);
    await again.sync();
    assert.equal(again.messages.filter((x) => show(x) === `MARKREAD ${r.name} timestamp=${t3}`).length, 1);
    const bad = await a.c.exchange(`MARKREAD #${uniq("no")}`, `MARKREAD ${r.name} junk`);
    assert.deepEqual(
      bad.map((x) => x.params[1]),
      ["INVALID_TARGET", "INVALID_PARAMS"],
    );
  });
});

describe("interop", () => {
  it("irc-framework and a WebSocket client talk in one room, with server-time and msgid", async () => {
    const alice = await register(srv, uniq("alice"));
    const bob = await register(srv, uniq("bob"));
    const room = uniq("interop");

    const ircMessages: Json[] = [];
    const client = new IRC.Client();
    bots.push(client);
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
    const ws = opened.client;
    web.push(ws);
    const membership = (await ws.ok<Json>({ type: "join", room })).membership;
    const roomId = membership.room.id as string;

    // Web → IRC, with the message's time and id.
    const sent = await ws.ok<Json>({ type: "send", room: roomId, clientId: "web-1", body: "hello from the web 🌍" });
    const got = await eventually(
      () => ircMessages.find((m) => m.message === "hello from the web 🌍"),
      5000,
      "the message on IRC",
    );
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
});
