// IRC commands against a real server: channels, messages, people, modes, server queries, and
// the error numerics for each failure.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Registered, register, uniq } from "../helpers/http.ts";
import { LOOSE_LIMITS, startServer, type TestServer } from "../helpers/server.ts";
import { IrcTestClient, show } from "./irc-client.ts";

let srv: TestServer;
const clients: IrcTestClient[] = [];

before(async () => {
  srv = await startServer({
    irc: true,
    config: { limits: LOOSE_LIMITS, irc: { fakelag: { enabled: false }, opers: [{ name: "boss", password: "letmein-please" }] } },
  });
  await register(srv, "root");
});
after(async () => {
  for (const c of clients) c.close();
  await srv.stop();
});

interface User {
  reg: Registered;
  c: IrcTestClient;
  nick: string;
}

async function user(caps: string[] = []): Promise<User> {
  const reg = await register(srv, uniq("u"));
  const c = await IrcTestClient.register(srv.ircPort, {
    nick: reg.name,
    sasl: { account: reg.name, password: reg.password },
    caps,
  });
  clients.push(c);
  return { reg, c, nick: reg.name };
}

async function guest(): Promise<IrcTestClient> {
  const c = await IrcTestClient.register(srv.ircPort, { nick: uniq("g") });
  clients.push(c);
  return c;
}

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

  it("KICK by an operator; by a member 482; of someone absent 441; of nobody 401", async () => {
    const a = await user();
    const b = await user();
    const c = await user();
    const name = await channel(a, b);
    assert.deepEqual(codes(await b.c.exchange(`KICK ${name} ${a.nick}`)), ["482"]);
    assert.deepEqual(codes(await a.c.exchange(`KICK ${name} ${c.nick}`)), ["441"]);
    assert.deepEqual(codes(await a.c.exchange(`KICK ${name} nobody${uniq()}`)), ["401"]);
    const from = b.c.messages.length;
    const r = await a.c.exchange(`KICK ${name} ${b.nick} :out`);
    assert.deepEqual(r.map(show), [`KICK ${name} ${b.nick} Kicked by ${a.nick}`]);
    await b.c.waitFor((m) => m.command === "KICK" && m.params[1] === b.nick, { from });
    assert.deepEqual(codes(await b.c.exchange(`PRIVMSG ${name} :still here?`)), ["404"]);
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

  it("a guest may change nick; an account may not (902)", async () => {
    const g = await guest();
    const nick = uniq("renamed");
    const r = await g.exchange(`NICK ${nick}`);
    assert.deepEqual(r.map(show), [`NICK ${nick}`]);
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
    const r = await a.c.exchange(`MODE ${name} +b ${b.nick}!*@*`);
    assert.deepEqual(r.map(show), [`MODE ${name} +b ${b.nick}!*@*`, `KICK ${name} ${b.nick} Banned by ${a.nick}`]);
    assert.deepEqual(codes(await b.c.exchange(`JOIN ${name}`)), ["474"]);
    assert.deepEqual(codes(await a.c.exchange(`MODE ${name} +b *!*@host`)), ["696"]);
    assert.deepEqual((await a.c.exchange(`MODE ${name} -b ${b.nick}`)).map(show), [`MODE ${name} -b ${b.nick}!*@*`]);
    assert.ok((await b.c.exchange(`JOIN ${name}`)).some((m) => m.command === "JOIN"));
    assert.deepEqual(codes(await a.c.exchange(`MODE ${name} b`)), ["368"]);
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

  it("i n s t are fixed (FAIL, or nothing when already so); unknown modes are 472; other users' modes 502", async () => {
    const a = await user();
    const name = await channel(a);
    assert.deepEqual(await a.c.exchange(`MODE ${name} +nt`), []);
    const r = await a.c.exchange(`MODE ${name} +i`, `MODE ${name} +m`, `MODE ${name} +k key`, "MODE someone +i");
    assert.deepEqual(codes(r), ["FAIL", "472", "472", "502"]);
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
