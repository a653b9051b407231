// The core's abuse limits over IRC (test/limits.test.ts checks them over WebSocket and HTTP):
// message rate per connection and per account, joins, room creations, rooms per account,
// registrations per address and message size each refuse with a clear IRC reply. Fakelag is off
// here, so what refuses is the core's limit, not the gateway's flood control. Connections per
// address and in all are checked on the IRC port by test/limits.test.ts and irc/limits.test.ts.
//
// Only 127.0.0.1 is exempt from the per-address limits here: accounts are registered over HTTP
// from it, and each check that counts per address connects from its own 127.0.0.x.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { IrcMessage } from "../../src/protocols/irc/message.ts";
import { type Registered, register, uniq } from "../helpers/http.ts";
import { startServer, type TestServer } from "../helpers/server.ts";
import { IrcTestClient, show } from "./irc-client.ts";

let srv: TestServer;
const clients: IrcTestClient[] = [];
let nextAddress = 20;
const freshAddress = () => `127.0.0.${nextAddress++}`;
const NONE = { burst: 1_000_000, perSecond: 1_000_000 };
const ONCE = (burst: number) => ({ burst, perSecond: 0.001 });

before(async () => {
  srv = await startServer({
    irc: true,
    config: {
      limits: {
        exemptAddresses: ["127.0.0.1"],
        connectionMessages: ONCE(3),
        accountMessages: ONCE(5),
        connectionRequests: NONE,
        joins: ONCE(3),
        roomCreations: ONCE(2),
        registrations: ONCE(2),
        maxRoomsPerAccount: 4,
        maxMessageBytes: 100,
      },
      irc: { fakelag: { enabled: false } },
    },
  });
});
after(async () => {
  for (const c of clients) c.close();
  await srv.stop();
});

async function irc(reg: Registered, caps: string[] = []): Promise<IrcTestClient> {
  const c = await IrcTestClient.register(srv.ircPort, {
    nick: reg.name,
    caps,
    sasl: { account: reg.name, password: reg.password },
    localAddress: freshAddress(),
  });
  clients.push(c);
  return c;
}

/** The FAIL or error numeric among the replies, as text; fails when there is none. */
function refusal(replies: IrcMessage[]): string {
  const r = replies.find((m) => m.command === "FAIL" || /^4\d\d$/.test(m.command));
  assert.ok(r, `a refusal, got: ${replies.map(show).join(" | ")}`);
  return show(r);
}
const errors = (replies: IrcMessage[]) => replies.filter((m) => m.command === "FAIL" || /^4\d\d$/.test(m.command)).map(show);

describe("the core's abuse limits over IRC", () => {
  it("message rate per connection: past `connectionMessages` a PRIVMSG is FAIL PRIVMSG RATE_LIMITED with the wait", async () => {
    const c = await irc(await register(srv));
    const chan = `#${uniq("m")}`;
    assert.deepEqual(errors(await c.exchange(`JOIN ${chan}`)), []);
    for (let i = 0; i < 3; i++) assert.deepEqual(errors(await c.exchange(`PRIVMSG ${chan} :m${i}`)), []);
    assert.match(refusal(await c.exchange(`PRIVMSG ${chan} :one too many`)), /^FAIL PRIVMSG RATE_LIMITED .*retry in \d+ s/);
  });

  it("message rate per account, across connections: past `accountMessages` in all, RATE_LIMITED on a fresh connection too", async () => {
    const reg = await register(srv);
    const a = await irc(reg);
    const chan = `#${uniq("m")}`;
    await a.exchange(`JOIN ${chan}`);
    for (let i = 0; i < 3; i++) assert.deepEqual(errors(await a.exchange(`PRIVMSG ${chan} :a${i}`)), []);
    const b = await irc(reg);
    await b.exchange(`JOIN ${chan}`);
    for (let i = 0; i < 2; i++) assert.deepEqual(errors(await b.exchange(`PRIVMSG ${chan} :b${i}`)), []);
    // b has sent 2 of its own 3: what refuses is the account's budget of 5.
    assert.match(refusal(await b.exchange(`PRIVMSG ${chan} :sixth`)), /^FAIL PRIVMSG RATE_LIMITED /);
  });

  it("room creations, joins and rooms per account: FAIL JOIN RATE_LIMITED, then 405 ERR_TOOMANYCHANNELS", async () => {
    // Creations: JOIN of a new name creates it; 2 allowed, the 3rd limited.
    const owner = await irc(await register(srv));
    const rooms = [`#${uniq("r")}`, `#${uniq("r")}`];
    for (const r of rooms) assert.deepEqual(errors(await owner.exchange(`JOIN ${r}`)), []);
    assert.match(refusal(await owner.exchange(`JOIN #${uniq("r")}`)), /^FAIL JOIN RATE_LIMITED .*too many room creations/);

    // Joins: 3 allowed, the 4th limited.
    const other = await irc(await register(srv));
    const more = [`#${uniq("r")}`, `#${uniq("r")}`];
    for (const r of more) await other.exchange(`JOIN ${r}`);
    const joiner = await irc(await register(srv));
    for (const r of [...rooms, more[0]!]) assert.deepEqual(errors(await joiner.exchange(`JOIN ${r}`)), []);
    assert.match(refusal(await joiner.exchange(`JOIN ${more[1]}`)), /^FAIL JOIN RATE_LIMITED .*too many joins/);

    // Rooms per account (4: #lobby and 3 more), with joins and creations to spare.
    const full = await irc(await register(srv));
    for (const r of [`#${uniq("r")}`, `#${uniq("r")}`, rooms[0]!]) assert.deepEqual(errors(await full.exchange(`JOIN ${r}`)), []);
    assert.match(refusal(await full.exchange(`JOIN ${rooms[1]}`)), /^405 \S+ #\S+ /);
  });

  it("registrations per address: the 3rd REGISTER from one address is FAIL REGISTER TEMPORARILY_UNAVAILABLE; a new guest nick costs the same", async () => {
    const address = freshAddress();
    const attempt = async (): Promise<IrcMessage[]> => {
      const c = await IrcTestClient.connect(srv.ircPort, { localAddress: address });
      clients.push(c);
      const nick = uniq("n");
      c.send("CAP LS 302");
      c.send("CAP REQ draft/account-registration");
      c.send(`NICK ${nick}`);
      c.send(`USER ${nick} 0 * :${nick}`);
      const replies = await c.exchange("REGISTER * * :correct horse battery");
      c.close();
      return replies;
    };
    for (let i = 0; i < 2; i++) {
      const ok = await attempt();
      assert.ok(
        ok.some((m) => m.command === "REGISTER" && m.params[0] === "SUCCESS"),
        ok.map(show).join(" | "),
      );
    }
    assert.match(refusal(await attempt()), /^FAIL REGISTER TEMPORARILY_UNAVAILABLE \S+ .*too many new accounts/);
    // A guest (a new nick without an account) from the same address is refused as clearly.
    const g = await IrcTestClient.connect(srv.ircPort, { localAddress: address });
    clients.push(g);
    const nick = uniq("g");
    g.send(`NICK ${nick}`);
    g.send(`USER ${nick} 0 * :${nick}`);
    const answer = await g.waitFor((m) => m.command === "FAIL" || m.command === "001" || m.command === "ERROR");
    assert.match(show(answer), /^FAIL NICK RATE_LIMITED \S+ too many new accounts/);
  });

  it("message size: a body over `maxMessageBytes` is FAIL PRIVMSG MESSAGE_TOO_LONG, and nothing is stored", async () => {
    const c = await irc(await register(srv), ["echo-message"]);
    const chan = `#${uniq("s")}`;
    await c.exchange(`JOIN ${chan}`);
    const replies = await c.exchange(`PRIVMSG ${chan} :${"x".repeat(101)}`);
    assert.match(refusal(replies), /^FAIL PRIVMSG MESSAGE_TOO_LONG /);
    assert.ok(!replies.some((m) => m.command === "PRIVMSG"), "not echoed: not stored");
  });
});
