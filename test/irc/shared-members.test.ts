// The gateway keeps one member list per room and one online list for all its IRC clients
// (src/protocols/irc/rooms.ts): two clients in the same channel must still each see every
// membership change once, and NAMES must stay right after many joins, parts, kicks and renames,
// including changes made while no IRC client had the room open.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { IrcMessage } from "../../src/protocols/irc/message.ts";
import { register, uniq } from "../helpers/http.ts";
import { LOOSE_LIMITS, startServer, type TestServer } from "../helpers/server.ts";
import { WsClient } from "../helpers/ws-client.ts";
import { IrcTestClient, ircUser } from "./irc-client.ts";

let srv: TestServer;
const clients: { close(): void }[] = [];

before(async () => {
  srv = await startServer({ irc: true, config: { limits: LOOSE_LIMITS, irc: { fakelag: { enabled: false } } } });
  await register(srv, "root");
});
after(async () => {
  for (const c of clients) c.close();
  await srv.stop();
});

const user = (caps: string[] = []) => ircUser(srv, clients, caps);

async function guest(): Promise<IrcTestClient> {
  const c = await IrcTestClient.register(srv.ircPort, { nick: uniq("g") });
  clients.push(c);
  return c;
}

/** The names a NAMES reply lists (prefixes dropped), sorted. */
async function names(c: IrcTestClient, channel: string): Promise<string[]> {
  const r = await c.exchange(`NAMES ${channel}`);
  return r
    .filter((m) => m.command === "353")
    .flatMap((m) => m.params[3]!.split(" "))
    .map((n) => n.replace(/^@/, ""))
    .sort();
}

const from = (m: IrcMessage) => m.source?.split("!")[0];
/** Lines of `command` in `c`'s channel, as "COMMAND source [target]". */
function seen(c: IrcTestClient, channel: string, start: number): string[] {
  return c
    .since(start)
    .filter((m) => ["JOIN", "PART", "KICK", "NICK"].includes(m.command) && (m.command === "NICK" || m.params[0] === channel))
    .map((m) =>
      [m.command, from(m), ...(m.command === "KICK" ? [m.params[1]] : m.command === "NICK" ? [m.params[0]] : [])].join(" "),
    );
}

describe("one member list per room, shared by the gateway's clients", () => {
  it("two clients in a channel each see every join, part, kick and guest rename once; NAMES stays right", async () => {
    const a = await user();
    const b = await user(["away-notify"]);
    const channel = `#${uniq("c")}`;
    await a.c.exchange(`JOIN ${channel}`);
    await b.c.exchange(`JOIN ${channel}`);
    const startA = a.c.messages.length;
    const startB = b.c.messages.length;

    const guests: IrcTestClient[] = [];
    for (let i = 0; i < 8; i++) {
      const g = await guest();
      await g.exchange(`JOIN ${channel}`);
      guests.push(g);
    }
    const expected: string[] = guests.map((g) => `JOIN ${g.nick}`);
    // Some leave, one is kicked, one comes back, one renames.
    for (const g of guests.slice(0, 3)) {
      await g.exchange(`PART ${channel}`);
      expected.push(`PART ${g.nick}`);
    }
    await a.c.exchange(`KICK ${channel} ${guests[3]!.nick} :out`);
    expected.push(`KICK ${a.nick} ${guests[3]!.nick}`);
    await guests[0]!.exchange(`JOIN ${channel}`);
    expected.push(`JOIN ${guests[0]!.nick}`);
    const renamed = guests[4]!;
    const old = renamed.nick;
    renamed.nick = uniq("n");
    await renamed.exchange(`NICK ${renamed.nick}`);
    expected.push(`NICK ${old} ${renamed.nick}`);

    const members = [a.nick, b.nick, guests[0]!.nick, ...guests.slice(4).map((g) => g.nick)].sort();
    for (const c of [a.c, b.c]) {
      // Wait for the last change, then compare everything seen since the start.
      await c.waitFor((m) => m.command === "NICK" && m.params[0] === renamed.nick);
      assert.deepEqual(await names(c, channel), members);
    }
    assert.deepEqual(seen(a.c, channel, startA), expected);
    assert.deepEqual(seen(b.c, channel, startB), expected);

    // A guest that disconnects stays a member (Parley has no QUIT from rooms): listed, shown away.
    const quitter = guests[5]!;
    const at = b.c.messages.length;
    quitter.close();
    const away = await b.c.waitFor((m) => m.command === "AWAY" && from(m) === quitter.nick, { from: at });
    assert.deepEqual(away.params, ["Offline"]);
    assert.deepEqual(await names(b.c, channel), members);
    const who = await a.c.exchange(`WHO ${channel}`);
    const line = who.find((m) => m.command === "352" && m.params[5] === quitter.nick);
    assert.ok(line?.params[6]?.startsWith("G"), "an offline member is shown gone");
  });

  it("NAMES after many joins and parts, and a list read again after nobody here had the room open", async () => {
    const a = await user();
    const b = await user();
    const channel = `#${uniq("c")}`;
    await a.c.exchange(`JOIN ${channel}`);
    await b.c.exchange(`JOIN ${channel}`);
    const guests: IrcTestClient[] = [];
    for (let i = 0; i < 12; i++) guests.push(await guest());
    const inside = new Set<string>([a.nick, b.nick]);
    // Join and part in an interleaved order, several times over.
    for (let round = 0; round < 3; round++) {
      for (const [i, g] of guests.entries()) {
        if ((i + round) % 3 === 0 && inside.has(g.nick)) {
          await g.exchange(`PART ${channel}`);
          inside.delete(g.nick);
        } else if (!inside.has(g.nick)) {
          await g.exchange(`JOIN ${channel}`);
          inside.add(g.nick);
        }
      }
    }
    await a.c.sync();
    await b.c.sync();
    assert.deepEqual(await names(a.c, channel), [...inside].sort());
    assert.deepEqual(await names(b.c, channel), [...inside].sort());
    // A client joining now gets the same list in its JOIN burst.
    const late = await user();
    const burst = await late.c.exchange(`JOIN ${channel}`);
    const listed = burst
      .filter((m) => m.command === "353")
      .flatMap((m) => m.params[3]!.split(" "))
      .map((n) => n.replace(/^@/, ""))
      .sort();
    assert.deepEqual(listed, [...inside, late.nick].sort());

    // Every IRC client here leaves the room, so the gateway drops its list; someone joins on the
    // web meanwhile; coming back shows them.
    for (const g of guests) if (inside.has(g.nick)) await g.exchange(`PART ${channel}`);
    await a.c.exchange(`PART ${channel}`);
    await b.c.exchange(`PART ${channel}`);
    await late.c.exchange(`PART ${channel}`);
    const web = await register(srv, uniq("w"));
    const { client: w } = await WsClient.open(srv.wsUrl, { token: web.token });
    clients.push(w);
    await w.ok({ type: "join", room: channel });
    await a.c.exchange(`JOIN ${channel}`);
    assert.deepEqual(await names(a.c, channel), [a.nick, web.name].sort());
    const at = a.c.messages.length;
    await b.c.exchange(`JOIN ${channel}`);
    await a.c.waitFor((m) => m.command === "JOIN" && from(m) === b.nick, { from: at });
    assert.deepEqual(await names(b.c, channel), [a.nick, b.nick, web.name].sort());
  });

  it("a guest that renames is found under its new nick by WHOIS, ISON and MONITOR", async () => {
    const watcher = await user();
    const g = await guest();
    const old = g.nick;
    g.nick = uniq("n");
    await g.exchange(`NICK ${g.nick}`);
    await watcher.c.waitFor((m) => m.command === "NICK" && m.params[0] === g.nick);
    const ison = await watcher.c.exchange(`ISON ${g.nick} ${old}`);
    assert.deepEqual(ison[0]?.params.slice(1), [g.nick]);
    const mon = await watcher.c.exchange(`MONITOR + ${g.nick}`);
    assert.equal(mon[0]?.command, "730");
    const whois = await watcher.c.exchange(`WHOIS ${g.nick}`);
    assert.equal(whois[0]?.command, "311");
    // Going offline is told to the one that monitors it.
    const at = watcher.c.messages.length;
    g.close();
    const off = await watcher.c.waitFor((m) => m.command === "731", { from: at });
    assert.equal(off.params[1], g.nick);
  });
});
