// Limits, bad input, flood control and the operator's settings (config "irc" object, TLS):
// nothing a client sends crashes or stalls the server.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { api, type Json, register, uniq } from "../helpers/http.ts";
import { freePort, LOOSE_LIMITS, startServer, type TestServer, tempDir } from "../helpers/server.ts";
import { WsClient } from "../helpers/ws-client.ts";
import { IrcTestClient } from "./irc-client.ts";

let open: TestServer;
let strict: TestServer;
let tlsPort = 0;
const clients: IrcTestClient[] = [];

before(async () => {
  const dir = tempDir("parley-tls-");
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost"],
    {
      stdio: "ignore",
    },
  );
  tlsPort = await freePort();
  [open, strict] = await Promise.all([
    startServer({
      irc: true,
      config: {
        limits: LOOSE_LIMITS,
        irc: {
          fakelag: { enabled: false },
          maxConnectionsPerAddress: 6,
          exemptAddresses: [],
          registrationTimeoutMs: 1500,
          pingIntervalMs: 1500,
          pingTimeoutMs: 1000,
          loginRate: { burst: 3, perSecond: 0.1 },
          maxBufferedBytes: 256 * 1024,
          maxLinesBeforeRegistration: 40,
        },
      },
    }),
    startServer({
      irc: true,
      args: ["--no-guests", "--irc-tls-port", String(tlsPort), "--irc-tls-cert", cert, "--irc-tls-key", key],
      config: {
        limits: LOOSE_LIMITS,
        irc: {
          password: "sekrit pass",
          serverName: "irc.example.test",
          nickLength: 10,
          // Flood control is on by default (see fakelag.test.ts); here its settings are shortened.
          fakelag: { burstLimit: 3, messagesPerWindow: 4, cooldownMs: 500 },
        },
      },
    }),
  ]);
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
after(async () => {
  await Promise.all([open.stop(), strict.stop()]);
});

async function connect(srv: TestServer): Promise<IrcTestClient> {
  const c = await IrcTestClient.connect(srv.ircPort);
  clients.push(c);
  return c;
}

async function guest(): Promise<IrcTestClient> {
  const c = await IrcTestClient.register(open.ircPort, { nick: uniq("g") });
  clients.push(c);
  return c;
}

describe("line limits and bad input", () => {
  it("a body of 512 bytes with CR LF passes; one more byte is 417, and the connection stays", async () => {
    const c = await guest();
    const head = "PRIVMSG #lobby :";
    const ok = await c.exchange(head + "x".repeat(510 - head.length));
    assert.deepEqual(ok, []);
    const long = await c.exchange(head + "x".repeat(511 - head.length));
    assert.deepEqual(
      long.map((m) => m.command),
      ["417"],
    );
    assert.ok(c.open);
  });

  it("tags over 8191 bytes are 417; a huge line without a newline is skipped with one 417", async () => {
    const c = await guest();
    const tags = await c.exchange(`@+x=${"a".repeat(9000)} PRIVMSG #lobby :hi`);
    assert.deepEqual(
      tags.map((m) => m.command),
      ["417"],
    );
    c.socket.write("PRIVMSG #lobby :");
    for (let i = 0; i < 20; i++) c.socket.write("y".repeat(10_000));
    const huge = await c.exchange("");
    assert.deepEqual(
      huge.map((m) => m.command),
      ["417"],
    );
    assert.ok(c.open);
  });

  it("invalid UTF-8 is FAIL * INVALID_UTF8; NUL is refused; unknown commands are 421", async () => {
    const c = await guest();
    const from = c.messages.length;
    c.send(Buffer.concat([Buffer.from("PRIVMSG #lobby :"), Buffer.from([0xc3, 0x28, 0xff])]));
    c.send("PRIVMSG #lobby :a\0b");
    c.send("NOSUCHCOMMAND x");
    await c.sync();
    assert.deepEqual(
      c
        .since(from)
        .filter((m) => m.command !== "PONG")
        .map((m) => `${m.command} ${m.params.slice(0, 2).join(" ")}`),
      ["FAIL * INVALID_UTF8", "FAIL * INVALID_MESSAGE", `421 ${c.nick} NOSUCHCOMMAND`],
    );
  });

  it("random bytes and random IRC-ish lines never crash or stall the server", async () => {
    const c = await guest();
    const words = [
      "PRIVMSG",
      "JOIN",
      "MODE",
      "#lobby",
      ":",
      "@",
      "+",
      "-",
      "TAGMSG",
      "BATCH",
      "CHATHISTORY",
      "WHO",
      "%",
      ",",
      "*",
      "\x01",
    ];
    for (let i = 0; i < 300; i++) {
      if (i % 3 === 0) c.send(randomBytes(1 + (i % 200)));
      else {
        const n = 1 + (i % 7);
        c.send(Array.from({ length: n }, (_, j) => words[(i * 7 + j * 13) % words.length]).join(i % 2 ? " " : ""));
      }
    }
    await c.sync(20_000);
    const other = await guest();
    assert.ok(other.open);
    assert.equal((await api(open, "GET", "/healthz")).status, 200);
    assert.ok(
      !open.logs().includes('"level":"error"'),
      open
        .logs()
        .split("\n")
        .filter((l) => l.includes('"error"'))
        .join("\n"),
    );
  });

  it("a client that sends nothing is dropped after the registration timeout", async () => {
    const c = await connect(open);
    await c.waitFor((m) => m.command === "ERROR" && /Registration timed out/.test(m.params[0]!), { timeout: 5000 });
    await c.waitClosed();
  });

  it("a registered client that stops answering PING is dropped", async () => {
    const c = await guest();
    const ping = await c.waitFor((m) => m.command === "PING", { timeout: 5000 });
    assert.deepEqual(ping.params, ["parley.local"]);
    await c.waitFor((m) => m.command === "ERROR" && /Ping timeout/.test(m.params[0]!), { timeout: 5000 });
  });

  it("password checks per address are limited: the fourth SASL attempt is refused without a check", async () => {
    const reg = await register(open, uniq("sasl"));
    const c = await connect(open);
    await c.exchange("CAP LS 302", "NICK x", "USER u 0 * :U", "CAP REQ :sasl");
    const attempt = async (password: string) => {
      await c.exchange("AUTHENTICATE PLAIN");
      const r = await c.exchange(`AUTHENTICATE ${Buffer.from(`\0${reg.name}\0${password}`).toString("base64")}`);
      return r.map((m) => `${m.command} ${m.params[1]}`);
    };
    for (let i = 0; i < 3; i++) assert.deepEqual(await attempt("wrong password"), ["904 SASL authentication failed"]);
    const throttled = await attempt(reg.password);
    assert.equal(throttled.length, 1);
    assert.match(throttled[0]!, /^904 Too many login attempts/);
  });

  it("a client that sends too many lines without registering is dropped", async () => {
    const c = await connect(open);
    for (let i = 0; i < 45; i++) c.send(`NICK n${i}`);
    await c.waitFor((m) => m.command === "ERROR" && /before registration/.test(m.params[0]!));
    await c.waitClosed();
  });

  it("a client that stops reading is dropped once its output passes maxBufferedBytes; the server goes on", async () => {
    const reg = await register(open, uniq("slow"));
    const { client: w } = await WsClient.open(open.wsUrl, { token: reg.token });
    try {
      const room = (await w.ok<Json>({ type: "create", name: uniq("big") })).membership.room;
      const body = "x".repeat(3900);
      for (let i = 0; i < 100; i++) await w.ok({ type: "send", room: room.id, clientId: `b${i}`, body });
      const c = await guest();
      c.socket.pause();
      // Each answer is about 400 KB; the kernel's buffers take a few MB, then the bound is hit.
      for (let i = 0; i < 60; i++) c.send(`CHATHISTORY LATEST #${room.name} * 100`);
      await new Promise((r) => setTimeout(r, 1500));
      c.socket.resume();
      await c.waitClosed(15_000);
      const metrics = await api(open, "GET", "/metrics");
      assert.match(metrics.text, /parley_disconnects_total\{protocol="irc",reason="slow_consumer"\} [1-9]/);
      const other = await guest();
      assert.ok(other.open);
    } finally {
      await w.close();
    }
  });

  it("connections from one address are limited", async () => {
    const mine: IrcTestClient[] = [];
    try {
      let refused: IrcTestClient | null = null;
      for (let i = 0; i < 10 && !refused; i++) {
        const c = await IrcTestClient.connect(open.ircPort);
        mine.push(c);
        await new Promise((r) => setTimeout(r, 30));
        if (c.messages.some((m) => m.command === "ERROR")) refused = c;
      }
      assert.ok(refused, "one of 10 connections was refused");
      const error = await refused.waitFor((m) => m.command === "ERROR");
      assert.match(error.params[0]!, /Too many connections/);
      assert.ok(mine.length <= 7, `refused after ${mine.length}`);
    } finally {
      for (const c of mine) c.close();
    }
  });
});

describe("settings", () => {
  it("the connection password: a wrong PASS is 464 and closes; with it and SASL, the welcome uses the server name", async () => {
    const bad = await connect(strict);
    bad.send("PASS :wrong one");
    bad.send("NICK someone");
    bad.send("USER u 0 * :U");
    await bad.waitFor((m) => m.command === "464");
    await bad.waitClosed();
    const reg = await register(strict, uniq("a").slice(0, 10));
    const c = await IrcTestClient.register(strict.ircPort, {
      nick: reg.name,
      pass: "sekrit pass",
      sasl: { account: reg.name, password: reg.password },
    });
    clients.push(c);
    const w = c.messages.find((m) => m.command === "001")!;
    assert.equal(w.source, "irc.example.test");
    assert.ok(c.messages.some((m) => m.command === "005" && m.params.includes("NICKLEN=10")));
  });

  it("without guests, a connection without an account gets FAIL ACCOUNT_REQUIRED and is closed", async () => {
    const c = await connect(strict);
    c.send("PASS :sekrit pass");
    c.send("NICK nobodyhere");
    c.send("USER u 0 * :U");
    const fail = await c.waitFor((m) => m.command === "FAIL");
    assert.deepEqual(fail.params.slice(0, 2), ["*", "ACCOUNT_REQUIRED"]);
    await c.waitClosed();
  });

  it("nicks longer than the configured NICKLEN are 432", async () => {
    const c = await connect(strict);
    const r = await c.exchange("NICK elevenchars");
    assert.deepEqual(
      r.map((m) => m.command),
      ["432"],
    );
  });

  it("IRC over TLS", async () => {
    const reg = await register(strict, uniq("t").slice(0, 10));
    const c = await IrcTestClient.connect(tlsPort, { tls: true });
    clients.push(c);
    const r = await c.exchange("PASS :sekrit pass", "CAP LS 302");
    assert.ok(r.some((m) => m.command === "CAP"));
    const t = await IrcTestClient.register(tlsPort, {
      nick: reg.name,
      tls: true,
      pass: "sekrit pass",
      sasl: { account: reg.name, password: reg.password },
    });
    clients.push(t);
    assert.equal(t.nick, reg.name);
  });

  it("fakelag from the config: a burst passes, then lines are spaced out, and nothing is lost", async () => {
    const reg = await register(strict, uniq("f").slice(0, 10));
    const c = await IrcTestClient.register(strict.ircPort, {
      nick: reg.name,
      pass: "sekrit pass",
      sasl: { account: reg.name, password: reg.password },
    });
    clients.push(c);
    await new Promise((r) => setTimeout(r, 600)); // past the cooldown: a fresh burst
    const started = Date.now();
    const from = c.messages.length;
    for (let i = 0; i < 9; i++) c.send("TIME");
    await c.waitFor((m) => m.command === "391" && c.since(from).filter((x) => x.command === "391").length === 9, {
      from,
      timeout: 10_000,
    });
    const elapsed = Date.now() - started;
    // 3 at once, then 6 more at 4 per second: about 1.5 seconds.
    assert.ok(elapsed >= 1200, `took ${elapsed} ms`);
    assert.ok(elapsed < 5000, `took ${elapsed} ms`);
  });

  it("a client flooding thousands of lines is throttled without stalling others", async () => {
    const reg = await register(strict, uniq("f").slice(0, 10));
    const flooder = await IrcTestClient.register(strict.ircPort, {
      nick: reg.name,
      pass: "sekrit pass",
      sasl: { account: reg.name, password: reg.password },
    });
    clients.push(flooder);
    const lines = Array.from({ length: 5000 }, (_, i) => `PRIVMSG #lobby :flood ${i}`).join("\r\n");
    flooder.socket.write(`${lines}\r\n`);
    const reg2 = await register(strict, uniq("o").slice(0, 10));
    const other = await IrcTestClient.register(strict.ircPort, {
      nick: reg2.name,
      pass: "sekrit pass",
      sasl: { account: reg2.name, password: reg2.password },
    });
    clients.push(other);
    const started = Date.now();
    await other.sync();
    assert.ok(Date.now() - started < 2000, "others are answered at once");
    assert.equal((await api(strict, "GET", "/healthz")).status, 200);
    flooder.close();
  });
});
