// Pipelined messages: a client that writes several PRIVMSG/NOTICE lines at once has them all in
// flight together (one store commit for the lot), yet the room keeps the client's order and every
// reply — echo, error, label — comes back in line order, before the replies of later lines.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { IrcMessage } from "../../src/protocols/irc/message.ts";
import { register, uniq } from "../helpers/http.ts";
import { LOOSE_LIMITS, startServer, type TestServer } from "../helpers/server.ts";
import { IrcTestClient, show } from "./irc-client.ts";

let loose: TestServer;
let strict: TestServer;
const clients: IrcTestClient[] = [];

before(async () => {
  [loose, strict] = await Promise.all([
    startServer({ irc: true, config: { limits: LOOSE_LIMITS, irc: { fakelag: { enabled: false } } } }),
    startServer({
      irc: true,
      config: {
        limits: { ...LOOSE_LIMITS, connectionMessages: { burst: 3, perSecond: 0.001 }, floodStrikes: 3 },
        irc: { fakelag: { enabled: false } },
      },
    }),
  ]);
});
after(async () => {
  for (const c of clients) c.close();
  await Promise.all([loose.stop(), strict.stop()]);
});

async function join(srv: TestServer, chan: string, caps: string[] = []): Promise<IrcTestClient> {
  const reg = await register(srv);
  const c = await IrcTestClient.register(srv.ircPort, {
    nick: reg.name,
    caps,
    sasl: { account: reg.name, password: reg.password },
  });
  clients.push(c);
  c.send(`JOIN ${chan}`);
  await c.waitFor((m) => m.command === "366" && m.params[1] === chan);
  return c;
}

/** A sender with `caps` and a plain reader in a new channel; the sender has seen the reader join. */
async function pair(srv: TestServer, caps: string[]): Promise<{ chan: string; a: IrcTestClient; b: IrcTestClient }> {
  const chan = `#${uniq("p")}`;
  const a = await join(srv, chan, caps);
  const b = await join(srv, chan);
  // (b's JOIN of #lobby, where every account starts, reaches a too: wait for the one of `chan`.)
  await a.waitFor((m) => m.command === "JOIN" && m.params[0] === chan && m.source?.startsWith(`${b.nick}!`) === true);
  return { chan, a, b };
}

/** Writes all lines in one TCP write, so the server reads them in one go. */
function burst(c: IrcTestClient, lines: string[]): void {
  c.socket.write(lines.map((l) => `${l}\r\n`).join(""));
}

const said = (ms: IrcMessage[], chan: string) =>
  ms.filter((m) => (m.command === "PRIVMSG" || m.command === "NOTICE") && m.params[0] === chan).map((m) => m.params[1]);

describe("pipelined PRIVMSG and NOTICE", () => {
  it("keeps the sender's order in the room, and echoes with labels in line order", async () => {
    const caps = ["echo-message", "labeled-response", "batch", "message-tags", "server-time"];
    const { chan, a, b } = await pair(loose, caps);
    const from = { a: a.messages.length, b: b.messages.length };
    const lines = Array.from({ length: 20 }, (_, i) => `@label=L${i} ${i === 7 ? "NOTICE" : "PRIVMSG"} ${chan} :m${i}`);
    burst(a, lines);
    await b.waitFor((m) => m.params[1] === "m19", { from: from.b });
    await a.sync();

    const expected = Array.from({ length: 20 }, (_, i) => `m${i}`);
    assert.deepEqual(said(b.since(from.b), chan), expected, "the room has them in the order sent");
    const echoes = a.since(from.a).filter((m) => m.command !== "PONG");
    assert.deepEqual(
      echoes.map((m) => `${m.tags.label} ${m.command} ${m.params[1]}`),
      expected.map((t, i) => `L${i} ${i === 7 ? "NOTICE" : "PRIVMSG"} ${t}`),
      "one echo per line, labelled, in line order",
    );
    // The echoes carry the stored ids, in the room's order.
    const ids = echoes.map((m) => m.tags.msgid);
    assert.equal(new Set(ids).size, 20);
    const history = await a.exchange(`CHATHISTORY LATEST ${chan} * 20`);
    assert.deepEqual(
      history.filter((m) => m.command === "PRIVMSG" || m.command === "NOTICE").map((m) => m.tags.msgid),
      ids,
      "history holds them in the same order as the echoes",
    );
  });

  it("an error in the middle is answered in its place; the lines around it still go through", async () => {
    const { chan, a, b } = await pair(loose, ["echo-message", "labeled-response", "batch"]);
    const from = { a: a.messages.length, b: b.messages.length };
    burst(a, [
      `@label=1 PRIVMSG ${chan} :first`,
      `@label=2 PRIVMSG ${chan} :`, // 412: no text
      `@label=3 PRIVMSG ${chan} :second`,
      `@label=4 PRIVMSG #${uniq("nowhere")} :lost`, // not a shown channel: runs alone, after 1–3 are answered
      `@label=5 PRIVMSG ${chan} :third`,
      `@label=6 NOTICE ${chan} :`, // a NOTICE that fails is never answered: an ACK for its label
      `@label=7 PRIVMSG ${chan} :fourth`,
    ]);
    await b.waitFor((m) => m.params[1] === "fourth", { from: from.b });
    await a.sync();
    const replies = a.since(from.a).filter((m) => m.command !== "PONG");
    assert.deepEqual(
      replies.map((m) => `${m.tags.label} ${m.command}`),
      ["1 PRIVMSG", "2 412", "3 PRIVMSG", "4 403", "5 PRIVMSG", "6 ACK", "7 PRIVMSG"],
      replies.map(show).join(" | "),
    );
    assert.deepEqual(said(b.since(from.b), chan), ["first", "second", "third", "fourth"]);
  });

  it("without echo-message, an error comes back before the answer to a later PING", async () => {
    const { chan, a, b } = await pair(loose, []);
    const from = b.messages.length;
    const replies = await a.exchange(`PRIVMSG ${chan} :one`, `PRIVMSG ${chan} :`, `PRIVMSG ${chan} :two`);
    assert.deepEqual(
      replies.map((m) => m.command),
      ["412"],
    );
    await b.waitFor((m) => m.params[1] === "two", { from });
    assert.deepEqual(said(b.since(from), chan), ["one", "two"]);
  });

  it("rate limits: past the burst each line is refused in its place; the flood verdict closes after the earlier replies", async () => {
    const { chan, a, b } = await pair(strict, ["echo-message", "labeled-response"]);
    const from = { a: a.messages.length, b: b.messages.length };
    burst(
      a,
      Array.from({ length: 8 }, (_, i) => `@label=${i + 1} PRIVMSG ${chan} :n${i + 1}`),
    );
    await a.waitClosed();
    const replies = a.since(from.a);
    // 1–3 pass (the burst); 4 and 5 are refused (strikes 1 and 2); 6 is the third strike: the
    // connection is closed, and nothing is written for 6–8 but the ERROR.
    assert.deepEqual(
      replies.map((m) => `${m.tags.label ?? "-"} ${m.command} ${m.params[0] === chan ? m.params[1] : (m.params[1] ?? "")}`),
      ["1 PRIVMSG n1", "2 PRIVMSG n2", "3 PRIVMSG n3", "4 FAIL RATE_LIMITED", "5 FAIL RATE_LIMITED", "- ERROR "],
      replies.map(show).join(" | "),
    );
    assert.match(replies.at(-1)!.params[0]!, /Excess Flood/);
    await b.sync();
    assert.deepEqual(said(b.since(from.b), chan), ["n1", "n2", "n3"], "only the accepted messages reach the room");
  });

  it("a command after pipelined messages sees them done: TOPIC, then NAMES, in order with the echoes", async () => {
    const chan = `#${uniq("p")}`;
    const a = await join(loose, chan, ["echo-message"]);
    const from = a.messages.length;
    burst(a, [`PRIVMSG ${chan} :x1`, `PRIVMSG ${chan} :x2`, `TOPIC ${chan} :after the messages`, `PRIVMSG ${chan} :x3`]);
    await a.waitFor((m) => m.command === "PRIVMSG" && m.params[1] === "x3", { from });
    const got = a.since(from).map((m) => `${m.command} ${m.params.at(-1)}`);
    assert.deepEqual(got, ["PRIVMSG x1", "PRIVMSG x2", "TOPIC after the messages", "PRIVMSG x3"]);
  });
});
