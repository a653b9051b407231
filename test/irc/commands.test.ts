// IRC against a real server: registration (CAP, NICK, USER, PASS, SASL PLAIN, REGISTER, guests,
// the welcome burst), then the commands — channels, messages, people, modes, server queries —
// with the error numerics for each failure.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { register, uniq } from "../helpers/http.ts";
import { LOOSE_LIMITS, startServer, type TestServer } from "../helpers/server.ts";
import { IrcTestClient, type IrcUser, ircUser, show } from "./irc-client.ts";

let srv: TestServer;
const clients: IrcTestClient[] = [];

before(async () => {
  srv = await startServer({
    irc: true,
    config: {
      limits: LOOSE_LIMITS,
      irc: {
        fakelag: { enabled: false },
        motd: ["line one", "line two"],
        networkName: "TestNet",
        opers: [{ name: "boss", password: "letmein-please" }],
      },
    },
  });
  await register(srv, "root");
});
after(async () => {
  for (const c of clients) c.close();
  await srv.stop();
});

type User = IrcUser;

const user = (caps: string[] = []) => ircUser(srv, clients, caps);

async function guest(nick = uniq("g"), caps: string[] = []): Promise<IrcTestClient> {
  const c = await IrcTestClient.register(srv.ircPort, { nick, caps });
  clients.push(c);
  return c;
}

async function connect(): Promise<IrcTestClient> {
  const c = await IrcTestClient.connect(srv.ircPort);
  clients.push(c);
  return c;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** A fresh channel owned by `owner`, joined by the others (each waiting for their JOIN burst). */
async function channel(owner: User, ...others: User[]): Promise<string> {
  const name = `#${uniq("c")}`;
  await owner.c.exchange(`JOIN ${name}`);
  for (const o of others) {
    const from = owner.c.messages.length;
    await o.c.exchange(`JOIN ${name}`);
    await owner.c.waitFor((m) => m.command === "JOIN" && m.source?.startsWith(`${o.nick}!`) === true, { from });
  }
  return name;
}

const codes = (ms: { command: string }[]) => ms.map((m) => m.command);

describe("CAP", () => {
  it("LS 302 lists every capability with its value; LS without a version lists them bare", async () => {
    const c = await connect();
    c.send("CAP LS 302");
    const ls = await c.waitFor((m) => m.command === "CAP");
    assert.equal(ls.params[0], "*");
    assert.equal(ls.params[1], "LS");
    const caps = ls.params[ls.params.length - 1]!.split(" ");
    for (const cap of [
      "sasl=PLAIN",
      "server-time",
      "message-tags",
      "echo-message",
      "batch",
      "labeled-response",
      "account-tag",
      "account-notify",
      "extended-join",
      "away-notify",
      "multi-prefix",
      "userhost-in-names",
      "invite-notify",
      "cap-notify",
      "setname",
      "standard-replies",
      "draft/chathistory",
      "draft/read-marker",
      "draft/message-redaction",
      "draft/multiline=max-bytes=4000,max-lines=100",
      "draft/account-registration=before-connect",
    ]) {
      assert.ok(caps.includes(cap), `${cap} in ${caps.join(" ")}`);
    }
    const c2 = await connect();
    c2.send("CAP LS");
    const bare = await c2.waitFor((m) => m.command === "CAP");
    assert.ok(bare.params[bare.params.length - 1]!.split(" ").includes("sasl"));
  });

  it("REQ is acknowledged or refused as a whole; LIST shows what is on; registration waits for CAP END", async () => {
    const c = await connect();
    const replies = await c.exchange(
      "CAP LS 302",
      "NICK capper1",
      "USER u 0 * :U",
      "CAP REQ :server-time nonsense",
      "CAP REQ :server-time batch",
      "CAP LIST",
    );
    const caps = replies.filter((m) => m.command === "CAP").map((m) => m.params.slice(1).join(" "));
    assert.deepEqual(caps.slice(1, 3), ["NAK server-time nonsense", "ACK server-time batch"]);
    assert.equal(caps[3]!.split(" ")[0], "LIST");
    assert.deepEqual(caps[3]!.split(" ").slice(1).sort(), ["batch", "cap-notify", "server-time"]);
    assert.equal(replies.filter((m) => m.command === "001").length, 0, "no welcome before CAP END");
    const welcome = await c.exchange("CAP REQ :-batch", "CAP END");
    assert.ok(welcome.some((m) => show(m) === "CAP capper1 ACK -batch"));
    assert.ok(welcome.some((m) => m.command === "001"));
  });

  it("an unknown subcommand is 410", async () => {
    const c = await connect();
    const r = await c.exchange("CAP FOO");
    assert.equal(r[0]?.command, "410");
  });
});

describe("registration", () => {
  it("a guest gets the welcome burst: 001-005, LUSERS, MOTD, then #lobby joined with its names", async () => {
    const nick = uniq("guest");
    const c = await guest(nick);
    const cmds = c.messages.map((m) => m.command);
    const order = ["001", "002", "003", "004", "005", "251", "254", "255", "375", "372", "376"].map((n) => cmds.indexOf(n));
    assert.ok(
      order.every((i) => i >= 0),
      `all present: ${cmds.join(" ")}`,
    );
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      order,
      "in order",
    );
    const welcome = c.messages.find((m) => m.command === "001")!;
    assert.equal(welcome.params[0], nick);
    assert.match(welcome.params[1]!, new RegExp(`Welcome to the TestNet IRC Network ${nick}!`));
    const motd = c.messages.filter((m) => m.command === "372").map((m) => m.params[1]);
    assert.deepEqual(motd, ["- line one", "- line two"]);
    const isupport = c.messages.filter((m) => m.command === "005").flatMap((m) => m.params.slice(1, -1));
    for (const token of [
      "CASEMAPPING=ascii",
      "CHANTYPES=#",
      "PREFIX=(ov)@+",
      "CHANMODES=bq,,,inst",
      "NICKLEN=32",
      "CHANNELLEN=33",
      "TOPICLEN=300",
      "LINELEN=512",
      "CHATHISTORY=100",
      "MSGREFTYPES=msgid,timestamp",
      "UTF8ONLY",
      "BOT=B",
      "NETWORK=TestNet",
      "WHOX",
      "MONITOR=100",
    ]) {
      assert.ok(isupport.includes(token), `${token} in ${isupport.join(" ")}`);
    }
    const join = c.messages.find((m) => m.command === "JOIN");
    assert.equal(join?.source, `${nick}!${nick}@parley`);
    assert.deepEqual(join?.params, ["#lobby"]);
    assert.ok(c.messages.some((m) => m.command === "353" && m.params[3]!.split(" ").includes(nick)));
    assert.ok(c.messages.some((m) => m.command === "366" && m.params[1] === "#lobby"));
    assert.ok(c.messages.findIndex((m) => m.command === "JOIN") > cmds.indexOf("376"), "channels after the MOTD");
  });

  it("commands before registration are 451; NICK, USER and PASS again after it are refused", async () => {
    const c = await connect();
    const early = await c.exchange("JOIN #lobby", "PRIVMSG #lobby :hi");
    assert.deepEqual(
      early.map((m) => m.command),
      ["451", "451"],
    );
    const g = await guest();
    const late = await g.exchange("USER a 0 * :b", "PASS x");
    assert.deepEqual(
      late.map((m) => m.command),
      ["462", "462"],
    );
  });

  it("bad nicks are 432, a missing nick 431, and a guest cannot take a registered name (433)", async () => {
    const c = await connect();
    const bad = await c.exchange("NICK a!b", "NICK", `NICK ${"x".repeat(33)}`);
    assert.deepEqual(
      bad.map((m) => m.command),
      ["432", "431", "432"],
    );
    const reg = await register(srv, uniq("acct"));
    const taken = await c.exchange(`NICK ${reg.name}`, "USER u 0 * :U");
    const e = taken.find((m) => m.command === "433");
    assert.ok(e, taken.map(show).join("\n"));
    assert.match(e.params[2]!, /registered/);
    // Another nick goes through.
    const ok = await c.exchange(`NICK ${uniq("free")}`);
    assert.ok(ok.some((m) => m.command === "001"));
  });

  it("a guest nick in use by an online guest is 433", async () => {
    const nick = uniq("dup");
    await guest(nick);
    const c = await connect();
    const r = await c.exchange(`NICK ${nick}`, "USER u 0 * :U");
    assert.ok(
      r.some((m) => m.command === "433" && m.params[1] === nick),
      r.map(show).join("\n"),
    );
  });

  it("SASL PLAIN logs in a Parley account: 900 and 903; the nick becomes the account name", async () => {
    const reg = await register(srv, uniq("sasl"));
    const c = await connect();
    c.send("CAP LS 302");
    c.send("NICK whatever");
    c.send("USER u 0 * :U");
    const r = await c.exchange("CAP REQ :sasl", "AUTHENTICATE PLAIN");
    assert.ok(r.some((m) => show(m) === "AUTHENTICATE +"));
    const done = await c.exchange(`AUTHENTICATE ${b64(`\0${reg.name}\0${reg.password}`)}`);
    assert.deepEqual(
      done.map((m) => m.command),
      ["900", "903"],
    );
    assert.equal(done[0]!.params[2], reg.name);
    const welcome = await c.exchange("CAP END");
    const w = welcome.find((m) => m.command === "001");
    assert.equal(w?.params[0], reg.name);
  });

  it("SASL with a wrong password is 904 and the client may retry; * aborts (906); other mechanisms are 908 + 904", async () => {
    const reg = await register(srv, uniq("sasl"));
    const c = await connect();
    await c.exchange("CAP LS 302", "NICK x1", "USER u 0 * :U", "CAP REQ :sasl");
    const mech = await c.exchange("AUTHENTICATE EXTERNAL");
    assert.deepEqual(
      mech.map((m) => m.command),
      ["908", "904"],
    );
    await c.exchange("AUTHENTICATE PLAIN");
    const wrong = await c.exchange(`AUTHENTICATE ${b64(`\0${reg.name}\0nope-nope`)}`);
    assert.deepEqual(
      wrong.map((m) => m.command),
      ["904"],
    );
    await c.exchange("AUTHENTICATE PLAIN");
    const aborted = await c.exchange("AUTHENTICATE *");
    assert.deepEqual(
      aborted.map((m) => m.command),
      ["906"],
    );
    const garbage = await c.exchange("AUTHENTICATE PLAIN", "AUTHENTICATE !!!notbase64");
    assert.ok(garbage.some((m) => m.command === "904"));
    await c.exchange("AUTHENTICATE PLAIN");
    const ok = await c.exchange(`AUTHENTICATE ${b64(`${reg.name}\0${reg.name}\0${reg.password}`)}`);
    assert.ok(ok.some((m) => m.command === "903"));
    const again = await c.exchange("AUTHENTICATE PLAIN");
    assert.equal(again[0]?.command, "907");
  });

  it("SASL in 400-byte chunks", async () => {
    const reg = await register(srv, uniq("chunk"), "p".repeat(400));
    const c = await connect();
    await c.exchange("CAP LS 302", "NICK x2", "USER u 0 * :U", "CAP REQ :sasl", "AUTHENTICATE PLAIN");
    const payload = b64(`\0${reg.name}\0${reg.password}`);
    const chunks = payload.match(/.{1,400}/g)!;
    const lines = chunks.map((ch) => `AUTHENTICATE ${ch}`);
    if (chunks[chunks.length - 1]!.length === 400) lines.push("AUTHENTICATE +");
    const r = await c.exchange(...lines);
    assert.ok(
      r.some((m) => m.command === "903"),
      r.map(show).join("\n"),
    );
  });

  it("PASS with the account's password logs in the account named by NICK; a wrong one is 464 and closes", async () => {
    const reg = await register(srv, uniq("pass"));
    const c = await IrcTestClient.register(srv.ircPort, { nick: reg.name, pass: reg.password });
    clients.push(c);
    assert.equal(c.nick, reg.name);
    const bad = await connect();
    bad.send("PASS :wrong password");
    bad.send(`NICK ${reg.name}`);
    bad.send("USER u 0 * :U");
    await bad.waitFor((m) => m.command === "464");
    await bad.waitFor((m) => m.command === "ERROR");
    await bad.waitClosed();
  });

  it("PASS account:password works whatever the nick", async () => {
    const reg = await register(srv, uniq("pass"));
    const c = await IrcTestClient.register(srv.ircPort, { nick: "someoneelse", pass: `${reg.name}:${reg.password}` });
    clients.push(c);
    assert.equal(c.nick, reg.name);
  });

  it("a registered account starts in its rooms, with roles in NAMES", async () => {
    const reg = await register(srv, uniq("owner"));
    const c = await IrcTestClient.register(srv.ircPort, { nick: reg.name, sasl: { account: reg.name, password: reg.password } });
    clients.push(c);
    const room = uniq("room");
    const r = await c.exchange(`JOIN #${room}`);
    assert.ok(
      r.some((m) => m.command === "JOIN" && m.params[0] === `#${room}`),
      r.map(show).join("\n"),
    );
    c.close();
    const again = await IrcTestClient.register(srv.ircPort, {
      nick: reg.name,
      sasl: { account: reg.name, password: reg.password },
    });
    clients.push(again);
    assert.ok(again.messages.some((m) => m.command === "JOIN" && m.params[0] === `#${room}`));
    const names = again.messages.find((m) => m.command === "353" && m.params[2] === `#${room}`);
    assert.equal(names?.params[3], `@${reg.name}`);
  });

  it("REGISTER before CAP END creates an account and logs in", async () => {
    const name = uniq("newacct");
    const c = await connect();
    await c.exchange("CAP LS 302", "CAP REQ :draft/account-registration", `NICK ${name}`, "USER u 0 * :U");
    const weak = await c.exchange("REGISTER * * short");
    assert.ok(
      weak.some((m) => m.command === "FAIL" && m.params[1] === "UNACCEPTABLE_PASSWORD"),
      weak.map(show).join("\n"),
    );
    const taken = await c.exchange("REGISTER root * long-enough-password");
    assert.ok(taken.some((m) => m.command === "FAIL" && m.params[1] === "ACCOUNT_NAME_MUST_BE_NICK"));
    const r = await c.exchange("REGISTER * * long-enough-password");
    assert.ok(
      r.some((m) => show(m) === `REGISTER SUCCESS ${name} Account created`),
      r.map(show).join("\n"),
    );
    assert.ok(r.some((m) => m.command === "900"));
    const w = await c.exchange("CAP END");
    assert.ok(w.some((m) => m.command === "001" && m.params[0] === name));
    // The account exists: a guest may not take the name now.
    const other = await connect();
    const t = await other.exchange(`NICK ${name}`, "USER u 0 * :U");
    assert.ok(t.some((m) => m.command === "433"));
  });
});

describe("channels", () => {
  it("JOIN creates a room for an account (owner: @), shows topic and names; others see the JOIN", async () => {
    const a = await user();
    const b = await user();
    const name = `#${uniq("c")}`;
    const r = await a.c.exchange(`JOIN ${name}`);
    assert.deepEqual(r.map(show), [
      `JOIN ${name}`,
      `353 ${a.nick} = ${name} @${a.nick}`,
      `366 ${a.nick} ${name} End of /NAMES list`,
    ]);
    const from = a.c.messages.length;
    const rb = await b.c.exchange(`JOIN ${name}`);
    assert.equal(
      show(rb.find((m) => m.command === "353")!),
      `353 ${b.nick} = ${name} ${[`@${a.nick}`, b.nick].sort((x, y) => (x.replace("@", "") < y.replace("@", "") ? -1 : 1)).join(" ")}`,
    );
    const seen = await a.c.waitFor((m) => m.command === "JOIN", { from });
    assert.equal(seen.source, `${b.nick}!${b.nick}@parley`);
    // Joining again does nothing.
    assert.deepEqual(await b.c.exchange(`JOIN ${name}`), []);
  });

  it("JOIN several channels at once, keys ignored; errors per channel", async () => {
    const a = await user();
    const x = `#${uniq("x")}`;
    const y = `#${uniq("y")}`;
    const r = await a.c.exchange(`JOIN ${x},nohash,${y},#bad!name key1,key2`);
    assert.deepEqual(
      r.filter((m) => m.command === "JOIN").map((m) => m.params[0]),
      [x, y],
    );
    assert.ok(r.some((m) => m.command === "403" && m.params[1] === "nohash"));
    assert.ok(r.some((m) => m.command === "479" && m.params[1] === "#bad!name"));
    const long = await a.c.exchange(`JOIN #${"a".repeat(33)}`);
    assert.equal(long[0]?.command, "479");
  });

  it("guests may join public rooms but not create any (477); JOIN with too few params is 461", async () => {
    const g = await guest();
    const r = await g.exchange(`JOIN #${uniq("new")}`, "JOIN");
    assert.deepEqual(codes(r), ["477", "461"]);
  });

  it("PART leaves (others see it); PART of a channel not joined is 442, of none 403; JOIN 0 parts all", async () => {
    const a = await user();
    const b = await user();
    const name = await channel(a, b);
    const from = a.c.messages.length;
    const r = await b.c.exchange(`PART ${name} :bye`);
    assert.deepEqual(r.map(show), [`PART ${name}`]);
    await a.c.waitFor((m) => m.command === "PART" && m.source?.startsWith(`${b.nick}!`) === true, { from });
    assert.deepEqual(codes(await b.c.exchange(`PART ${name}`)), ["442"]);
    assert.deepEqual(codes(await b.c.exchange(`PART #${uniq("nothing")}`)), ["403"]);
    const parts = await a.c.exchange("JOIN 0");
    assert.ok(parts.filter((m) => m.command === "PART").length >= 2, parts.map(show).join("\n"));
  });

  it("TOPIC: query (331/332), set by an operator, refused to members (482), 442 when not on it", async () => {
    const a = await user();
    const b = await user();
    const name = await channel(a, b);
    assert.deepEqual(codes(await a.c.exchange(`TOPIC ${name}`)), ["331"]);
    const from = b.c.messages.length;
    const set = await a.c.exchange(`TOPIC ${name} :the new topic`);
    assert.deepEqual(set.map(show), [`TOPIC ${name} the new topic`]);
    await b.c.waitFor((m) => show(m) === `TOPIC ${name} the new topic`, { from });
    assert.deepEqual((await b.c.exchange(`TOPIC ${name}`)).map(show), [`332 ${b.nick} ${name} the new topic`]);
    assert.deepEqual(codes(await b.c.exchange(`TOPIC ${name} :mine now`)), ["482"]);
    const c = await user();
    assert.deepEqual(codes(await c.c.exchange(`TOPIC ${name} :x`)), ["442"]);
  });

  it("NAMES of a joined channel, of a public one not joined, and with no argument", async () => {
    const a = await user();
    const b = await user();
    const name = await channel(a);
    const own = await a.c.exchange(`NAMES ${name}`);
    assert.deepEqual(codes(own), ["353", "366"]);
    const other = await b.c.exchange(`NAMES ${name}`);
    assert.equal(other[0]?.params[3], `@${a.nick}`);
    assert.deepEqual((await b.c.exchange("NAMES")).map(show), [`366 ${b.nick} * End of /NAMES list`]);
  });

  it("LIST shows public rooms with member counts and topics; a mask filters", async () => {
    const a = await user();
    const name = await channel(a);
    await a.c.exchange(`TOPIC ${name} :listed topic`);
    const r = await a.c.exchange("LIST");
    assert.equal(r[0]?.command, "321");
    assert.equal(r[r.length - 1]?.command, "323");
    const row = r.find((m) => m.command === "322" && m.params[1] === name);
    assert.deepEqual(row?.params.slice(2), ["1", "listed topic"]);
    const filtered = await a.c.exchange(`LIST ${name}`);
    assert.deepEqual(
      filtered.filter((m) => m.command === "322").map((m) => m.params[1]),
      [name],
    );
  });

  it("KICK by an operator, with its reason; by a member 482; of someone absent 441; of nobody 401", async () => {
    const a = await user();
    const b = await user();
    const c = await user();
    const name = await channel(a, b);
    assert.deepEqual(codes(await b.c.exchange(`KICK ${name} ${a.nick}`)), ["482"]);
    assert.deepEqual(codes(await a.c.exchange(`KICK ${name} ${c.nick}`)), ["441"]);
    assert.deepEqual(codes(await a.c.exchange(`KICK ${name} nobody${uniq()}`)), ["401"]);
    const from = b.c.messages.length;
    const r = await a.c.exchange(`KICK ${name} ${b.nick} :off topic, again`);
    assert.deepEqual(r.map(show), [`KICK ${name} ${b.nick} off topic, again`]);
    await b.c.waitFor((m) => show(m) === `KICK ${name} ${b.nick} off topic, again`, { from });
    assert.deepEqual(codes(await b.c.exchange(`PRIVMSG ${name} :still here?`)), ["404"]);
    // Without a reason, the line says who kicked.
    await b.c.exchange(`JOIN ${name}`);
    assert.deepEqual((await a.c.exchange(`KICK ${name} ${b.nick}`)).map(show), [`KICK ${name} ${b.nick} Kicked by ${a.nick}`]);
  });

  it("INVITE to an invite-only room lets the invitee in; 443 when already there; 401 for nobody", async () => {
    const a = await user(["invite-notify"]);
    const b = await user();
    const c = await user();
    // A private room is made on the web (IRC creates public ones).
    const ws = await import("../helpers/ws-client.ts");
    const { client } = await ws.WsClient.open(srv.wsUrl, { token: a.reg.token });
    const room = uniq("priv");
    await client.ok({ type: "create", name: room, private: true });
    const name = `#${room}`;
    await a.c.waitFor((m) => m.command === "JOIN" && m.params[0] === name);
    assert.deepEqual(codes(await b.c.exchange(`JOIN ${name}`)), ["473"]);
    const from = b.c.messages.length;
    const r = await a.c.exchange(`INVITE ${b.nick} ${name}`);
    assert.deepEqual(r.map(show), [`341 ${a.nick} ${b.nick} ${name}`]);
    const inv = await b.c.waitFor((m) => m.command === "INVITE", { from });
    assert.deepEqual(inv.params, [b.nick, name]);
    assert.ok((await b.c.exchange(`JOIN ${name}`)).some((m) => m.command === "JOIN"));
    assert.deepEqual(codes(await a.c.exchange(`INVITE ${b.nick} ${name}`)), ["443"]);
    assert.deepEqual(codes(await a.c.exchange(`INVITE nobody${uniq()} ${name}`)), ["401"]);
    assert.deepEqual(codes(await c.c.exchange(`INVITE ${b.nick} ${name}`)), ["442"]);
    // Guests cannot join private rooms at all.
    const g = await guest();
    assert.deepEqual(codes(await g.exchange(`JOIN ${name}`)), ["477"]);
    await client.close();
  });
});

describe("messages", () => {
  it("PRIVMSG to a channel reaches the other members (not the sender without echo-message)", async () => {
    const a = await user();
    const b = await user();
    const name = await channel(a, b);
    const from = b.c.messages.length;
    assert.deepEqual(await a.c.exchange(`PRIVMSG ${name} :hello there`), []);
    const m = await b.c.waitFor((x) => x.command === "PRIVMSG", { from });
    assert.equal(m.source, `${a.nick}!${a.nick}@parley`);
    assert.deepEqual(m.params, [name, "hello there"]);
  });

  it("NOTICE is delivered like a message and never answered with an error", async () => {
    const a = await user();
    const b = await user();
    const name = await channel(a, b);
    const from = b.c.messages.length;
    await a.c.exchange(`NOTICE ${name} :notice text`);
    await b.c.waitFor((x) => x.command === "PRIVMSG" && x.params[1] === "notice text", { from });
    assert.deepEqual(await a.c.exchange(`NOTICE #${uniq("nowhere")} :x`, "NOTICE nobody123456 :x", "NOTICE"), []);
  });

  it("PRIVMSG to a nick is a direct conversation, both ways", async () => {
    const a = await user();
    const b = await user();
    const from = b.c.messages.length;
    await a.c.exchange(`PRIVMSG ${b.nick} :psst`);
    const m = await b.c.waitFor((x) => x.command === "PRIVMSG", { from });
    assert.equal(m.source?.split("!")[0], a.nick);
    assert.deepEqual(m.params, [b.nick, "psst"]);
    const from2 = a.c.messages.length;
    await b.c.exchange(`PRIVMSG ${a.nick} :hi back`);
    const back = await a.c.waitFor((x) => x.command === "PRIVMSG", { from: from2 });
    assert.deepEqual(back.params, [a.nick, "hi back"]);
  });

  it("CTCP ACTION is a /me message; other CTCP goes nowhere", async () => {
    const a = await user();
    const b = await user();
    const name = await channel(a, b);
    const from = b.c.messages.length;
    await a.c.exchange(`PRIVMSG ${name} :\x01VERSION\x01`, `PRIVMSG ${name} :\x01ACTION waves\x01`);
    const m = await b.c.waitFor((x) => x.command === "PRIVMSG", { from });
    assert.equal(m.params[1], "\x01ACTION waves\x01");
    assert.equal(b.c.since(from).filter((x) => x.command === "PRIVMSG").length, 1);
  });

  it("errors: 411 no recipient, 412 no text, 401 no such nick, 403 no such channel, 404 not joined, 477 guest DM", async () => {
    const a = await user();
    const other = await user();
    const name = await channel(other);
    const r = await a.c.exchange(
      "PRIVMSG",
      "PRIVMSG #x",
      `PRIVMSG nobody${uniq()} :hi`,
      `PRIVMSG #${uniq("none")} :hi`,
      `PRIVMSG ${name} :hi`,
    );
    assert.deepEqual(codes(r), ["411", "412", "401", "403", "404"]);
    const g = await guest();
    assert.deepEqual(codes(await g.exchange(`PRIVMSG ${a.nick} :hi`)), ["477"]);
  });

  it("a muted member gets 404", async () => {
    const a = await user();
    const b = await user();
    const name = await channel(a, b);
    await a.c.exchange(`MODE ${name} +q ${b.nick}`);
    const r = await b.c.exchange(`PRIVMSG ${name} :can I talk?`);
    assert.deepEqual(codes(r), ["404"]);
    assert.match(r[0]!.params[2]!, /muted/);
  });
});

describe("people", () => {
  it("WHO for a channel: 352 per member with flags, 315; WHOX fields and token", async () => {
    const a = await user();
    const b = await user();
    const name = await channel(a, b);
    const r = await a.c.exchange(`WHO ${name}`);
    const rows = r.filter((m) => m.command === "352");
    assert.equal(rows.length, 2);
    const mine = rows.find((m) => m.params[5] === a.nick)!;
    assert.deepEqual(mine.params.slice(1, 7), [name, a.nick, "parley", "parley.local", a.nick, "H@"]);
    assert.equal(r[r.length - 1]?.command, "315");
    const x = await a.c.exchange(`WHO ${name} %tcnfa,42`);
    const xr = x.filter((m) => m.command === "354");
    assert.deepEqual(xr.find((m) => m.params[3] === b.nick)?.params.slice(1), ["42", name, b.nick, "H", b.nick]);
  });

  it("WHOIS shows user, channels, server, account; 401 for nobody; offline accounts are away", async () => {
    const a = await user();
    const b = await user();
    const name = await channel(a, b);
    const r = await a.c.exchange(`WHOIS ${b.nick}`);
    assert.deepEqual(codes(r), ["311", "319", "312", "330", "318"]);
    assert.ok(r[1]!.params[2]!.split(" ").includes(name));
    const offline = await register(srv, uniq("off"));
    const o = await a.c.exchange(`WHOIS ${offline.name}`);
    assert.ok(o.some((m) => m.command === "301" && m.params[2] === "Offline"));
    assert.deepEqual(codes(await a.c.exchange(`WHOIS nobody${uniq()}`)), ["401", "318"]);
  });

  it("ISON and USERHOST for online nicks", async () => {
    const a = await user();
    const b = await user();
    const r = await a.c.exchange(`ISON ${b.nick} nobody123 ${a.nick.toUpperCase()}`, `USERHOST ${b.nick} nobody`);
    assert.deepEqual(r[0]!.params.slice(1), [`${b.nick} ${a.nick}`]);
    assert.deepEqual(r[1]!.params.slice(1), [`${b.nick}=+${b.nick}@parley`]);
  });

  it("MONITOR + reports online/offline now and on change; L lists; - and C remove", async () => {
    const a = await user();
    const b = await register(srv, uniq("mon"));
    const r = await a.c.exchange(`MONITOR + ${b.name}`);
    assert.deepEqual(r.filter((m) => m.command !== "JOIN").map(show), [`731 ${a.nick} ${b.name}`]);
    const from = a.c.messages.length;
    const bc = await IrcTestClient.register(srv.ircPort, { nick: b.name, sasl: { account: b.name, password: b.password } });
    clients.push(bc);
    const on = await a.c.waitFor((m) => m.command === "730", { from });
    assert.equal(on.params[1], `${b.name}!${b.name}@parley`);
    assert.deepEqual(codes(await a.c.exchange("MONITOR L")), ["732", "733"]);
    const from2 = a.c.messages.length;
    bc.close();
    await a.c.waitFor((m) => m.command === "731", { from: from2 });
    await a.c.exchange("MONITOR C");
    assert.deepEqual(codes(await a.c.exchange("MONITOR L")), ["733"]);
  });

  it("AWAY sets and clears (306/305), shows in WHOIS and WHO, and reaches away-notify peers", async () => {
    const a = await user(["away-notify"]);
    const b = await user();
    const name = await channel(a, b);
    const from = a.c.messages.length;
    assert.deepEqual(codes(await b.c.exchange("AWAY :lunch")), ["306"]);
    const note = await a.c.waitFor((m) => m.command === "AWAY", { from });
    assert.deepEqual(note.params, ["lunch"]);
    assert.ok((await a.c.exchange(`WHOIS ${b.nick}`)).some((m) => m.command === "301" && m.params[2] === "lunch"));
    const who = await a.c.exchange(`WHO ${name}`);
    assert.equal(who.find((m) => m.command === "352" && m.params[5] === b.nick)?.params[6], "G");
    assert.deepEqual(codes(await b.c.exchange("AWAY")), ["305"]);
    await a.c.waitFor((m) => m.command === "AWAY" && m.params.length === 0, { from });
  });

  it("SETNAME changes the real name (WHOIS shows it); 461 without one", async () => {
    const a = await user(["setname"]);
    const r = await a.c.exchange("SETNAME :New Name");
    assert.deepEqual(r.map(show), ["SETNAME New Name"]);
    const w = await a.c.exchange(`WHOIS ${a.nick}`);
    assert.equal(w[0]?.params[5], "New Name");
    assert.deepEqual(codes(await a.c.exchange("SETNAME")), ["461"]);
  });

  it("a guest may change nick (IRC clients sharing a channel see it); an account may not (902)", async () => {
    const g = await guest();
    const watcher = await guest();
    const old = g.nick;
    const nick = uniq("renamed");
    const from = watcher.messages.length;
    const r = await g.exchange(`NICK ${nick}`);
    assert.deepEqual(r.map(show), [`NICK ${nick}`]);
    const seen = await watcher.waitFor((m) => m.command === "NICK", { from });
    assert.equal(seen.source, `${old}!${old}@parley`);
    const names = await watcher.exchange("NAMES #lobby");
    assert.ok(names.some((m) => m.command === "353" && m.params[3]!.split(" ").includes(nick)));
    const a = await user();
    assert.deepEqual(codes(await a.c.exchange("NICK other")), ["902"]);
    assert.deepEqual(codes(await g.exchange(`NICK ${a.nick}`)), ["433"]);
  });
});

describe("modes", () => {
  it("channel mode query: +nt for public rooms, creation time", async () => {
    const a = await user();
    const name = await channel(a);
    const r = await a.c.exchange(`MODE ${name}`);
    assert.deepEqual(codes(r), ["324", "329"]);
    assert.equal(r[0]!.params[2], "+nt");
  });

  it("+o/-o make and unmake moderators (owners only); members get 482", async () => {
    const a = await user(["multi-prefix"]);
    const b = await user();
    const c = await user();
    const name = await channel(a, b, c);
    assert.deepEqual(codes(await b.c.exchange(`MODE ${name} +o ${c.nick}`)), ["482"]);
    const from = b.c.messages.length;
    const r = await a.c.exchange(`MODE ${name} +o ${b.nick}`);
    assert.deepEqual(r.map(show), [`MODE ${name} +o ${b.nick}`]);
    await b.c.waitFor((m) => show(m) === `MODE ${name} +o ${b.nick}`, { from });
    const names = await a.c.exchange(`NAMES ${name}`);
    assert.ok(names[0]!.params[3]!.split(" ").includes(`@${b.nick}`));
    // A moderator may not appoint others.
    assert.deepEqual(codes(await b.c.exchange(`MODE ${name} +o ${c.nick}`)), ["482"]);
    assert.deepEqual((await a.c.exchange(`MODE ${name} -o ${b.nick}`)).map(show), [`MODE ${name} -o ${b.nick}`]);
  });

  it("+b bans (and removes), -b unbans; the banned get 474; wildcard masks are 696", async () => {
    const a = await user();
    const b = await user();
    const name = await channel(a, b);
    const from = b.c.messages.length;
    const r = await a.c.exchange(`MODE ${name} +b ${b.nick}!*@*`);
    assert.deepEqual(r.map(show), [`MODE ${name} +b ${b.nick}!*@*`, `KICK ${name} ${b.nick} Banned by ${a.nick}`]);
    // b's KICK can reach this process in the same read as a's PONG: wait for it before b's next exchange.
    await b.c.waitFor((m) => m.command === "KICK", { from });
    assert.deepEqual(codes(await b.c.exchange(`JOIN ${name}`)), ["474"]);
    assert.deepEqual(codes(await a.c.exchange(`MODE ${name} +b *!*@host`)), ["696"]);
    assert.deepEqual((await a.c.exchange(`MODE ${name} -b ${b.nick}`)).map(show), [`MODE ${name} -b ${b.nick}!*@*`]);
    assert.ok((await b.c.exchange(`JOIN ${name}`)).some((m) => m.command === "JOIN"));
    assert.deepEqual(codes(await a.c.exchange(`MODE ${name} b`)), ["368"]);
    // The ban list is the room's bans, whoever set them (here: the web), readable by members.
    const c = await user();
    await c.c.exchange(`JOIN ${name}`);
    const kicked = b.c.messages.length;
    await a.c.exchange(`MODE ${name} +b ${c.nick}`, `MODE ${name} +b ${b.nick}`);
    await b.c.waitFor((m) => m.command === "KICK", { from: kicked });
    assert.deepEqual(codes(await b.c.exchange(`JOIN ${name}`)), ["474"]);
    const byKey = [b.nick, c.nick].sort((x, y) => (x.toLowerCase() < y.toLowerCase() ? -1 : 1));
    assert.deepEqual((await a.c.exchange(`MODE ${name} +b`)).map(show), [
      ...byKey.map((n) => `367 ${a.nick} ${name} ${n}!*@*`),
      `368 ${a.nick} ${name} End of channel ban list`,
    ]);
  });

  it("+q / -v mute, -q / +v unmute; the quiet list shows the muted", async () => {
    const a = await user();
    const b = await user();
    const name = await channel(a, b);
    assert.deepEqual((await a.c.exchange(`MODE ${name} -v ${b.nick}`)).map(show), [`MODE ${name} +q ${b.nick}!*@*`]);
    assert.deepEqual((await a.c.exchange(`MODE ${name} q`)).map(show), [
      `728 ${a.nick} ${name} q ${b.nick}!*@*`,
      `729 ${a.nick} ${name} q End of channel quiet list`,
    ]);
    assert.deepEqual((await a.c.exchange(`MODE ${name} +v ${b.nick}`)).map(show), [`MODE ${name} -q ${b.nick}!*@*`]);
  });

  it("n t are fixed (FAIL, or nothing when already so); unknown modes are 472; other users' modes 502", async () => {
    const a = await user();
    const name = await channel(a);
    assert.deepEqual(await a.c.exchange(`MODE ${name} +nt`), []);
    const r = await a.c.exchange(`MODE ${name} -t`, `MODE ${name} +m`, `MODE ${name} +k key`, "MODE someone +i");
    assert.deepEqual(codes(r), ["FAIL", "472", "472", "502"]);
  });

  it("+i/+s make the room private (invite-only, unlisted), -i/-s public again; operators only", async () => {
    const a = await user();
    const b = await user();
    const c = await user();
    const name = await channel(a, b);
    assert.deepEqual(codes(await b.c.exchange(`MODE ${name} +i`)), ["482"]);
    const from = b.c.messages.length;
    assert.deepEqual((await a.c.exchange(`MODE ${name} +is`)).map(show), [`MODE ${name} +is`], "one change for both letters");
    await b.c.waitFor((m) => show(m) === `MODE ${name} +is`, { from });
    assert.deepEqual(await a.c.exchange(`MODE ${name} +s`), [], "already so");
    assert.equal((await a.c.exchange(`MODE ${name}`)).map(show)[0], `324 ${a.nick} ${name} +inst`);
    assert.ok(!(await c.c.exchange("LIST")).some((m) => m.command === "322" && m.params[1] === name), "unlisted");
    assert.deepEqual(codes(await c.c.exchange(`JOIN ${name}`)), ["473"]);
    assert.deepEqual((await a.c.exchange(`MODE ${name} -i`)).map(show), [`MODE ${name} -is`]);
    assert.ok((await c.c.exchange(`JOIN ${name}`)).some((m) => m.command === "JOIN"));
  });

  it("user modes: query 221, +B (bot, shown in WHO and WHOIS), +w, unknown 501", async () => {
    const a = await user();
    const r = await a.c.exchange(`MODE ${a.nick}`, `MODE ${a.nick} +Bw`, `MODE ${a.nick} +Z`);
    assert.deepEqual(r.map(show), [`221 ${a.nick} +i`, `MODE ${a.nick} +Bw`, `501 ${a.nick} Unknown MODE flag`]);
    assert.ok((await a.c.exchange(`WHOIS ${a.nick}`)).some((m) => m.command === "335"));
  });
});

describe("server", () => {
  it("PING, MOTD, LUSERS, VERSION, TIME; unknown commands 421; missing params 461", async () => {
    const a = await user();
    const from = a.c.messages.length;
    const r = await a.c.exchange("PING :tok en", "MOTD", "LUSERS", "VERSION", "TIME", "FROBNICATE", "KICK");
    assert.equal(show(a.c.messages[from]!), "PONG parley.local tok en");
    const cs = codes(r);
    for (const n of ["375", "372", "376", "251", "255", "351", "005", "391", "421", "461"])
      assert.ok(cs.includes(n), `${n} in ${cs}`);
  });

  it("OPER with config credentials (381), then WALLOPS and KILL; without it 481; wrong password 464", async () => {
    const a = await user();
    const b = await user();
    assert.deepEqual(codes(await a.c.exchange("KILL x :y", "WALLOPS :hi")), ["481", "481"]);
    assert.deepEqual(codes(await a.c.exchange("OPER boss wrong")), ["464"]);
    const r = await a.c.exchange("OPER boss letmein-please");
    assert.deepEqual(r.map(show), [`381 ${a.nick} You are now an IRC operator`, `MODE ${a.nick} +o`]);
    await b.c.exchange(`MODE ${b.nick} +w`);
    const from = b.c.messages.length;
    await a.c.exchange("WALLOPS :attention");
    await b.c.waitFor((m) => m.command === "WALLOPS" && m.params[0] === "attention", { from });
    await a.c.exchange(`KILL ${b.nick} :enough`);
    await b.c.waitFor((m) => m.command === "ERROR" && /Killed/.test(m.params[0]!), { from });
    await b.c.waitClosed();
    assert.deepEqual(codes(await a.c.exchange(`KILL nobody${uniq()} :x`)), ["401"]);
  });
});
