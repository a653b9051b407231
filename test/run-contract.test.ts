// The run contract: `parley serve` flags, PARLEY_* environment variables, the config file,
// exit codes, #lobby on first start, /healthz and /metrics.

import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { serveOptions } from "../src/cli/serve.ts";
import { api, register, uniq } from "./helpers/http.ts";
import { LineClient } from "./helpers/line-client.ts";
import { LOOSE_LIMITS, runParley, startServer, type TestServer, tempDir } from "./helpers/server.ts";
import { WsClient } from "./helpers/ws-client.ts";

const FLAGS = [
  "--host",
  "--port",
  "--irc-port",
  "--line-port",
  "--data",
  "--database-url",
  "--redis-url",
  "--config",
  "--[no-]guests",
  "--log-level",
  "--log-format",
  "--help",
];

// Each case spawns a process (a second or more of start-up: tsx and every module), so the cases
// are few and run a few at a time.
describe("parley serve --help and usage errors", { concurrency: 3 }, () => {
  it("--help exits 0 and lists every flag with its environment variable", async () => {
    const r = await runParley(["serve", "--help"]);
    assert.equal(r.code, 0, r.stderr);
    for (const flag of FLAGS) assert.ok(r.stdout.includes(flag), `--help lacks ${flag}:\n${r.stdout}`);
    // Every option the command accepts, not only the ones the design names.
    for (const [name, spec] of Object.entries(serveOptions)) {
      const flag = spec.kind === "boolean" ? `--[no-]${name} ` : `--${name} `;
      assert.ok(r.stdout.includes(flag), `--help lacks ${flag}`);
      assert.ok(r.stdout.includes(`PARLEY_${name.toUpperCase().replace(/-/g, "_")}`), `--help lacks the variable of --${name}`);
    }
    for (const env of [
      "PARLEY_HOST",
      "PARLEY_PORT",
      "PARLEY_IRC_PORT",
      "PARLEY_LINE_PORT",
      "PARLEY_DATA",
      "PARLEY_DATABASE_URL",
      "PARLEY_REDIS_URL",
      "PARLEY_CONFIG",
    ]) {
      assert.ok(r.stdout.includes(env), `--help lacks ${env}`);
    }
  });

  // Host, ports and data are given as flags unless the case sets them through the environment.
  const bad: [string, string[], Record<string, string>?][] = [
    ["a port that is not a number", ["--port", "abc"]],
    ["an unknown flag", ["--bogus", "1"]],
    ["a bad PARLEY_PORT", [], { PARLEY_PORT: "eighty" }],
    ["a missing config file", ["--config", "/nonexistent/parley.json"]],
  ];
  for (const [what, args, env] of bad) {
    it(`exits 2 with a message on stderr for ${what}`, async () => {
      const data = tempDir();
      const standard = env?.PARLEY_PORT ? ["--line-port", "0"] : ["--port", "0", "--line-port", "0"];
      const r = await runParley(["serve", ...standard, "--irc-port", "0", "--data", data, ...args], { env: env ?? {} });
      assert.equal(r.code, 2, `exit code for ${args.join(" ")} ${JSON.stringify(env ?? {})}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /parley serve: /);
      assert.ok(!existsSync(join(data, "parley.db")), "no database is created on a usage error");
    });
  }

  it("exits 2 for a config file that is not a JSON object or has bad limits/ws/line settings", async () => {
    const dir = tempDir();
    const results = await Promise.all(
      ["{not json", JSON.stringify({ limits: { noSuchLimit: 1 } })].map((text, i) => {
        const file = join(dir, `bad${i}.json`);
        writeFileSync(file, text);
        return runParley(["serve", "--port", "0", "--line-port", "0", "--irc-port", "0", "--data", dir, "--config", file]);
      }),
    );
    const why = [/config file/, /limits\.noSuchLimit/];
    for (const [i, r] of results.entries()) {
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, why[i]!);
    }
  });
});

describe("a server started with flags", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ config: { limits: LOOSE_LIMITS } });
  });
  after(async () => {
    const exit = await srv.stop();
    assert.equal(exit.code, 0);
  });

  it("logs JSON lines, the first saying it is running with its addresses", () => {
    const running = srv.logRecords().find((r) => r.msg === "parley is running");
    assert.ok(running, srv.logs());
    assert.equal(running.level, "info");
    assert.equal(running.http, srv.httpUrl);
    assert.equal(running.ws, srv.wsUrl);
    assert.equal(running.line, `127.0.0.1:${srv.linePort}`);
  });

  it("keeps its data in --data", () => {
    assert.ok(existsSync(join(srv.dataDir, "parley.db")));
  });

  it("GET /healthz answers 200 with status ok", async () => {
    const r = await api(srv, "GET", "/healthz");
    assert.equal(r.status, 200);
    assert.equal(r.json.status, "ok");
    assert.equal(typeof r.json.version, "string");
    assert.equal(typeof r.json.connections, "number");
  });

  it("#lobby exists on first start (GET /api/rooms)", async () => {
    const noAuth = await api(srv, "GET", "/api/rooms");
    assert.equal(noAuth.status, 401);
    assert.equal(noAuth.json.error.code, "NOT_AUTHENTICATED");
    const a = await register(srv);
    const r = await api(srv, "GET", "/api/rooms", { token: a.token });
    assert.equal(r.status, 200);
    const lobby = r.json.rooms.find((room: { name: string }) => room.name === "lobby");
    assert.ok(lobby, JSON.stringify(r.json));
    assert.equal(lobby.kind, "public");
  });

  it("GET /metrics is Prometheus text with parley_connections, parley_messages_total, parley_commit_seconds and the flush counts", async () => {
    const a = await register(srv);
    const { client, welcome } = await WsClient.open(srv.wsUrl, { token: a.token });
    const lobby = welcome.rooms.find((m: { room: { name: string } }) => m.room.name === "lobby").room.id as string;
    await client.ok({ type: "send", room: lobby, clientId: "m1", body: "counted" });

    const r = await api(srv, "GET", "/metrics");
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /^text\/plain/);
    const text = r.text;
    assert.match(text, /^# TYPE parley_connections gauge$/m);
    assert.match(text, /^parley_connections\{protocol="ws"\} 1$/m, "one WebSocket connection is open");
    assert.match(text, /^# TYPE parley_messages_total counter$/m);
    const sent = /^parley_messages_total\{protocol="ws"\} (\d+)$/m.exec(text);
    assert.ok(sent && Number(sent[1]) >= 1, "parley_messages_total counts the send");
    assert.match(text, /^# TYPE parley_commit_seconds histogram$/m);
    assert.match(text, /^parley_commit_seconds_bucket\{le="\+Inf",type="message"\} \d+$/m);
    assert.match(text, /^parley_commit_seconds_count\{type="message"\} [1-9]\d*$/m);
    // The welcome, the ack and the event went out in at least one flush and one socket write.
    const flushes = /^parley_flushes_total\{protocol="ws"\} (\d+)$/m.exec(text);
    const writes = /^parley_flush_writes_total\{protocol="ws"\} (\d+)$/m.exec(text);
    assert.ok(flushes && Number(flushes[1]) >= 1, "parley_flushes_total counts the flushes");
    assert.ok(writes && Number(writes[1]) >= Number(flushes[1]), "each flush wrote at least one client");
    // Every sample line is `name{labels} value` or `name value`. prom-client spells NaN "Nan"
    // (Prometheus reads it in any case): the event-loop lag gauges before their first two samples,
    // 0.2 s after the server started (src/metrics.ts).
    for (const line of text.split("\n")) {
      if (line === "" || line.startsWith("#")) continue;
      assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? [-+]?(\d|NaN|Nan|Inf)/, `bad metrics line: ${line}`);
    }

    await client.close();
    await new Promise((r) => setTimeout(r, 100));
    const after = await api(srv, "GET", "/metrics");
    assert.match(after.text, /^parley_connections\{protocol="ws"\} 0$/m, "the closed connection is no longer counted");
  });

  it("a second server on the same port exits 1 and the first keeps serving", async () => {
    const r = await runParley([
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      String(srv.port),
      "--line-port",
      "0",
      "--irc-port",
      "0",
      "--data",
      tempDir(),
      "--log-format",
      "json",
    ]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal((await api(srv, "GET", "/healthz")).status, 200);
  });

  it("serves line mode on --line-port", async () => {
    const c = await LineClient.connect(srv.linePort);
    await c.waitForPrompt(/Your name: $/);
    c.close();
  });
});

describe("PARLEY_* environment variables", () => {
  it("are honoured for host, port, line port, IRC port, data and config", async () => {
    const srv = await startServer({
      via: "env",
      config: { limits: { maxMessageBytes: 123 }, ws: { maxFrameBytes: 3000 } },
      // A flag beats its variable: --log-format json over PARLEY_LOG_FORMAT=pretty.
      env: { PARLEY_GUESTS: "false", PARLEY_LOG_FORMAT: "pretty" },
      args: ["--log-format", "json"],
    });
    try {
      assert.equal((await api(srv, "GET", "/healthz")).status, 200);
      assert.ok(
        srv.logRecords().some((r) => r.msg === "parley is running"),
        `--log-format json wins:\n${srv.logs()}`,
      );
      assert.ok(existsSync(join(srv.dataDir, "parley.db")), "PARLEY_DATA is used");
      const line = await LineClient.connect(srv.linePort);
      await line.waitForPrompt(/Your name: $/);
      line.close();
      // PARLEY_CONFIG's limits reach the protocol.
      const a = await register(srv);
      const { client, welcome } = await WsClient.open(srv.wsUrl, { token: a.token });
      assert.equal(welcome.limits.maxMessageBytes, 123);
      assert.equal(welcome.limits.maxFrameBytes, 3000);
      await client.close();
      // PARLEY_GUESTS=false
      const g = await WsClient.connect(srv.wsUrl);
      const reply = await g.hello({ guest: "visitor" });
      assert.equal(reply.type, "error");
      assert.equal(reply.code, "GUESTS_DISABLED");
      await g.close();
    } finally {
      assert.equal((await srv.stop()).code, 0);
    }
  });
});

describe("--config FILE", () => {
  it("is honoured: options, limits and ws settings; flags beat it", async () => {
    const srv = await startServer({
      via: "config",
      config: {
        limits: { maxMessageBytes: 50, historyPageMax: 7 },
        ws: { maxFrameBytes: 2048 },
        "log-format": "pretty",
        guests: false,
      },
      args: ["--log-format", "json", "--guests"],
    });
    try {
      assert.equal((await api(srv, "GET", "/healthz")).status, 200);
      assert.ok(existsSync(join(srv.dataDir, "parley.db")), "data from the config file is used");
      assert.ok(
        srv.logRecords().some((r) => r.msg === "parley is running"),
        "--log-format json beats the file",
      );
      const a = await register(srv);
      const { client, welcome } = await WsClient.open(srv.wsUrl, { token: a.token });
      assert.deepEqual(welcome.limits, { maxFrameBytes: 2048, maxMessageBytes: 50, historyPageMax: 7 });
      const lobby = welcome.rooms[0].room.id as string;
      const tooLong = await client.error({ type: "send", room: lobby, clientId: "x", body: "y".repeat(51) });
      assert.equal(tooLong.code, "TOO_LARGE");
      await client.ok({ type: "send", room: lobby, clientId: "y", body: "y".repeat(50) });
      const frame = await client.error({ type: "ping", pad: "z".repeat(3000) } as never);
      assert.equal(frame.code, "TOO_LARGE");
      await client.close();
      const { client: guest, welcome: gw } = await WsClient.open(srv.wsUrl, { guest: uniq("g") });
      assert.equal(gw.account.guest, true, "--guests beats guests:false in the file");
      await guest.close();
    } finally {
      await srv.stop();
    }
  });
});
