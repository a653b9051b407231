// `parley admin migrate | export | import`: a deployment moves from SQLite to PostgreSQL and back
// through a JSON-lines file, and comes out the same: accounts log in with their passwords, old
// sessions still work, rooms, memberships, read positions and history are intact.

import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { freshSchema, PG_URL } from "./cluster/cluster.ts";
import { api, type Registered, register, uniq } from "./helpers/http.ts";
import { pipeParley, runParley, startServer, type TestServer, tempDir } from "./helpers/server.ts";
import { WsClient } from "./helpers/ws-client.ts";

let db: Awaited<ReturnType<typeof freshSchema>>;
let source: TestServer;
let alice: Registered;
let bob: Registered;
let roomId: string;
const room = uniq("moved");

before(async () => {
  db = await freshSchema();
  source = await startServer();
  alice = await register(source);
  bob = await register(source);
  const wa = (await WsClient.open(source.wsUrl, { token: alice.token })).client;
  roomId = (await wa.ok({ type: "create", name: room, topic: "before the move" })).membership.room.id as string;
  const wb = (await WsClient.open(source.wsUrl, { token: bob.token })).client;
  await wb.ok({ type: "join", room });
  const sent = [];
  for (let i = 0; i < 5; i++) sent.push(await wa.ok({ type: "send", room: roomId, clientId: `m${i}`, body: `message ${i}` }));
  await wb.ok({ type: "react", message: sent[0].messageId, emoji: "👍" });
  await wa.ok({ type: "edit", message: sent[1].messageId, body: "message 1, edited" });
  await wb.ok({ type: "read", room: roomId, seq: sent[2].seq });
  wa.terminate();
  wb.terminate();
  await source.stop();
});

after(async () => {
  await db.drop();
});

/** The rows of an export, without its header (which has the time of the export). */
function rowsOf(file: string): string[] {
  return readFileSync(file, "utf8").trim().split("\n").slice(1);
}

async function pgServer(): Promise<TestServer> {
  return startServer({ args: ["--database-url", PG_URL, "--database-schema", db.schema] });
}

describe("parley admin", () => {
  it("migrate copies a SQLite data directory into PostgreSQL, verified, and the server runs on it", async () => {
    const to = ["--to", PG_URL, "--to-schema", db.schema];
    const r = await runParley(["admin", "migrate", "--from", source.dataDir, ...to]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /counts verified/);
    assert.match(r.stderr, /accounts\s+2\n/);
    assert.match(r.stderr, /messages\s+5\n/);

    const again = await runParley(["admin", "migrate", "--from", source.dataDir, ...to]);
    assert.equal(again.code, 2, "a target with data is refused");
    assert.match(again.stderr, /already holds data \(2 accounts, .*\); use --replace/);
    const replaced = await runParley(["admin", "migrate", "--from", source.dataDir, ...to, "--replace"]);
    assert.equal(replaced.code, 0, replaced.stderr);

    const srv = await pgServer();
    try {
      const login = await api(srv, "POST", "/api/login", { body: { name: alice.name, password: alice.password } });
      assert.equal(login.status, 200, "the password hash came along");
      const { client: wb, welcome } = await WsClient.open(srv.wsUrl, { token: bob.token });
      const m = (
        welcome.rooms as { room: { id: string; topic: string; lastSeq: number }; readSeq: number; unread: number }[]
      ).find((x) => x.room.id === roomId);
      assert.ok(m, "bob's old session and membership work");
      assert.equal(m.room.topic, "before the move");
      assert.equal(m.unread, 2, "the read position came along");
      const page = await wb.ok({ type: "history", room: roomId, limit: 10 });
      const msgs = page.messages as { body: string; seq: number; reactions: Record<string, unknown>; editedAt: number | null }[];
      assert.deepEqual(
        msgs.map((x) => x.body),
        ["message 0", "message 1, edited", "message 2", "message 3", "message 4"],
      );
      assert.ok(Object.keys(msgs[0]!.reactions).length === 1, "reactions came along");
      const next = await wb.ok({ type: "send", room: roomId, clientId: "after", body: "after the move" });
      assert.equal(next.seq, m.room.lastSeq + 1, "the room's sequence continues");
      // Idempotency survives the move: alice's first clientId still names her first message.
      const { client: wa } = await WsClient.open(srv.wsUrl, { token: alice.token });
      const retry = await wa.ok({ type: "send", room: roomId, clientId: "m0", body: "message 0" });
      assert.equal(retry.duplicate, true);
      wa.terminate();
      wb.terminate();
    } finally {
      await srv.stop();
    }
  });

  it("export and import move a deployment both ways through JSON lines, row for row", async () => {
    const dir = tempDir("parley-export-");
    const fromSqlite = join(dir, "sqlite.jsonl");
    const fromPg = join(dir, "pg.jsonl");
    const roundTrip = join(dir, "roundtrip.jsonl");
    // The PostgreSQL copy got one more message in the previous test; start from the SQLite one.
    let r = await runParley(["admin", "export", "--from", source.dataDir, "--out", fromSqlite]);
    assert.equal(r.code, 0, r.stderr);
    r = await runParley(["admin", "import", "--to", PG_URL, "--schema", db.schema, "--in", fromSqlite, "--replace"]);
    assert.equal(r.code, 0, r.stderr);
    r = await runParley(["admin", "export", "--from", PG_URL, "--schema", db.schema, "--out", fromPg]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(rowsOf(fromPg), rowsOf(fromSqlite), "PostgreSQL holds exactly what SQLite held");

    const fresh = tempDir("parley-imported-");
    r = await runParley(["admin", "import", "--to", fresh, "--in", fromPg]);
    assert.equal(r.code, 0, r.stderr);
    r = await runParley(["admin", "export", "--from", fresh, "--out", roundTrip]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(rowsOf(roundTrip), rowsOf(fromSqlite), "and back to SQLite, row for row");

    const srv = await startServer({ dataDir: fresh });
    try {
      const login = await api(srv, "POST", "/api/login", { body: { name: bob.name, password: bob.password } });
      assert.equal(login.status, 200);
      // Imported messages are searchable like written ones (the edited body, not the original).
      const found = await api(srv, "GET", `/api/search?q=${encodeURIComponent("edited")}`, { token: login.json.token });
      assert.equal(found.status, 200, found.text);
      assert.deepEqual(
        found.json.messages.map((m: { body: string }) => m.body),
        ["message 1, edited"],
      );
    } finally {
      await srv.stop();
    }
  });

  it("export to standard output pipes into import from standard input, SQLite to PostgreSQL and back", async () => {
    const piped = await freshSchema();
    try {
      const fresh = tempDir("parley-piped-");
      const toPg = await pipeParley(
        ["admin", "export", "--from", source.dataDir],
        ["admin", "import", "--to", PG_URL, "--schema", piped.schema],
      );
      for (const r of toPg) assert.equal(r.code, 0, r.stderr);
      assert.match(toPg[1].stderr, /messages\s+5\n/);
      const back = await pipeParley(
        ["admin", "export", "--from", PG_URL, "--schema", piped.schema, "--out", "-"],
        ["admin", "import", "--to", fresh, "--in", "-"],
      );
      for (const r of back) assert.equal(r.code, 0, r.stderr);
      const [fromSource, roundTrip] = await Promise.all([
        runParley(["admin", "export", "--from", source.dataDir]),
        runParley(["admin", "export", "--from", fresh]),
      ]);
      assert.equal(fromSource.code, 0, fromSource.stderr);
      const rows = (out: string) => out.trim().split("\n").slice(1);
      assert.ok(rows(fromSource.stdout).length > 10);
      assert.deepEqual(
        rows(roundTrip.stdout),
        rows(fromSource.stdout),
        "SQLite → pipe → PostgreSQL → pipe → SQLite, row for row",
      );
    } finally {
      await piped.drop();
    }
  });

  it("refuses bad or truncated input with the line at fault, and writes nothing", async () => {
    const dir = tempDir("parley-bad-");
    const good = join(dir, "good.jsonl");
    assert.equal((await runParley(["admin", "export", "--from", source.dataDir, "--out", good])).code, 0);
    const lines = readFileSync(good, "utf8").trim().split("\n");
    const cases: [string, string[], RegExp][] = [
      ["truncated", lines.slice(0, -1), /ends without its closing line: truncated/],
      ["not json", [lines[0]!, "{nope", ...lines.slice(1)], /line 2: not JSON/],
      ["no header", lines.slice(1), /line 1: not a Parley export/],
      [
        "unknown column",
        [lines[0]!, lines[1]!.replace('"name":', '"nom":'), ...lines.slice(2)],
        /line 2: accounts has no column nom/,
      ],
      [
        "counts lie",
        [...lines.slice(0, -1), lines.at(-1)!.replace('"accounts":2', '"accounts":3')],
        /the file says 3 accounts but holds 2/,
      ],
    ];
    // Each case on its own empty target, all at once (every run is a process start).
    const targets = cases.map(() => tempDir("parley-bad-target-"));
    const results = await Promise.all(
      cases.map(([what, content], k) => {
        const file = join(dir, `${what.replace(/ /g, "-")}.jsonl`);
        writeFileSync(file, `${content.join("\n")}\n`);
        return runParley(["admin", "import", "--to", targets[k]!, "--in", file]);
      }),
    );
    for (const [k, [what, , error]] of cases.entries()) {
      const r = results[k]!;
      assert.equal(r.code, 1, `${what}: ${r.stderr}`);
      assert.match(r.stderr, error, what);
      assert.match(r.stderr, /nothing was written/);
    }
    // Nothing was written: the good file still goes into a target without --replace.
    const ok = await runParley(["admin", "import", "--to", targets[0]!, "--in", good]);
    assert.equal(ok.code, 0, ok.stderr);

    const [usage, unknown, unreachable] = await Promise.all([
      runParley(["admin", "export"]),
      runParley(["admin", "frobnicate"]),
      runParley(["admin", "export", "--from", "postgres://postgres@127.0.0.1:1/test"]),
    ]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--from is required/);
    assert.equal(unknown.code, 2);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /the database is unreachable/);
  });
});
