// IRC registration against a real server: CAP, NICK, USER, PASS, SASL PLAIN, REGISTER, guests,
// and the welcome burst (001–005, LUSERS, MOTD, the rooms as joined channels).

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { register, uniq } from "../helpers/http.ts";
import { LOOSE_LIMITS, startServer, type TestServer } from "../helpers/server.ts";
import { IrcTestClient, show } from "./irc-client.ts";

let srv: TestServer;
const clients: IrcTestClient[] = [];

before(async () => {
  srv = await startServer({
    irc: true,
    config: {
      limits: LOOSE_LIMITS,
      irc: { fakelag: { enabled: false }, motd: ["line one", "line two"], networkName: "TestNet" },
    },
  });
  await register(srv, "root");
});
after(async () => {
  for (const c of clients) c.close();
  await srv.stop();
});

async function connect(): Promise<IrcTestClient> {
  const c = await IrcTestClient.connect(srv.ircPort);
  clients.push(c);
  return c;
}

async function guest(nick = uniq("g"), caps: string[] = []): Promise<IrcTestClient> {
  const c = await IrcTestClient.register(srv.ircPort, { nick, caps });
  clients.push(c);
  return c;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

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
