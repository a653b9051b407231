// `parley chat` outside the terminal: exit codes and messages for the ways starting can fail
// (wrong password, unreachable server, TLS failure, not a Parley server, bad usage), and the
// login with a password read from stdin when it is not a terminal.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { register } from "../helpers/http.ts";
import { BIN, freePort, ROOT, startServer, type TestServer, tempDir } from "../helpers/server.ts";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `parley chat …` with `input` on stdin (a pipe, not a terminal) and a private HOME. */
function chat(args: string[], input = "", home = tempDir("parley-cli-home-")): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("PARLEY_")) env[k] = v;
    Object.assign(env, { HOME: home, XDG_CONFIG_HOME: join(home, "config") });
    const child = spawn(process.execPath, [BIN, "chat", ...args], { cwd: ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    // A guard against a client that hangs, not a speed requirement: on a loaded 2-core machine
    // eight clients starting at once took over 30 s.
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`parley chat ${args.join(" ")} did not exit\n${stdout}\n${stderr}`));
    }, 90_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      setImmediate(() => resolve({ code, stdout, stderr }));
    });
    child.stdin.end(input);
  });
}

describe("parley chat: exit codes and errors", { timeout: 240_000 }, () => {
  let server: TestServer;
  let notParley: Server;
  let notParleyUrl: string;

  before(async () => {
    server = await startServer();
    await register(server, "carol", "carols password");
    notParley = createServer((_req, res) => res.writeHead(404).end("nothing here"));
    await new Promise<void>((r) => notParley.listen(0, "127.0.0.1", r));
    notParleyUrl = `http://127.0.0.1:${(notParley.address() as AddressInfo).port}`;
  });

  after(async () => {
    await server?.stop();
    await new Promise((r) => notParley?.close(r));
  });

  it("explains each failure with its exit code", async () => {
    const closed = await freePort();
    const [wrong, unreachable, tls, foreign, both, badFlag, taken, noTty] = await Promise.all([
      chat(["--server", server.httpUrl, "--user", "carol"], "not the password\n"),
      chat(["--server", `http://127.0.0.1:${closed}`, "--guest", "dave"]),
      chat(["--server", `https://127.0.0.1:${server.port}`, "--guest", "dave"]),
      chat(["--server", notParleyUrl, "--guest", "dave"]),
      chat(["--user", "a", "--guest", "b"]),
      chat(["--colour"]),
      chat(["--server", server.httpUrl, "--guest", "carol"]),
      chat(["--server", server.httpUrl, "--guest", "erin"]),
    ]);
    assert.equal(wrong.code, 3, wrong.stderr);
    assert.match(wrong.stderr, /wrong account name or password/);
    assert.ok(!wrong.stderr.includes("not the password"));
    assert.equal(unreachable.code, 4, unreachable.stderr);
    assert.match(unreachable.stderr, /cannot reach http:\/\/127\.0\.0\.1:\d+: connection refused/);
    assert.equal(tls.code, 4, tls.stderr);
    assert.match(tls.stderr, /TLS failure/);
    assert.equal(foreign.code, 4, foreign.stderr);
    assert.match(foreign.stderr, /not as a Parley server/);
    assert.equal(both.code, 2, both.stderr);
    assert.match(both.stderr, /--user and --guest/);
    assert.equal(badFlag.code, 2, badFlag.stderr);
    assert.match(badFlag.stderr, /unknown option --colour/);
    assert.equal(taken.code, 3, taken.stderr);
    assert.match(taken.stderr, /registered account.*another guest name/);
    assert.equal(noTty.code, 2, noTty.stderr);
    assert.match(noTty.stderr, /needs a terminal/);
  });

  it("logs in again when the saved session is no longer valid, and saves the new token (mode 0600)", async () => {
    const home = tempDir("parley-cli-home-");
    const dir = join(home, "config", "parley");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "config.json");
    writeFileSync(
      file,
      JSON.stringify({ server: server.httpUrl, servers: { [server.httpUrl]: { user: "carol", token: "stale" } } }),
    );
    const r = await chat([], "carols password\n", home);
    assert.match(r.stderr, /saved session has expired or was ended/);
    assert.equal(r.code, 2, r.stderr); // logged in and connected; then no terminal for the screen
    const saved = JSON.parse(readFileSync(file, "utf8"));
    assert.equal(saved.servers[server.httpUrl].user, "carol");
    assert.notEqual(saved.servers[server.httpUrl].token, "stale");
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  it("documents the exit codes in --help", async () => {
    const r = await chat(["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Usage: parley chat/);
    for (const line of [/0 +normal exit/, /2 +bad usage/, /3 +authentication failed/, /4 +server unreachable.*TLS/s]) {
      assert.match(r.stdout, line);
    }
  });
});
