// Disk full where the messages are stored: a small tmpfs (mounted here; tests run as root, under
// CI too), filled up with a filler file while the server runs. For SQLite the tmpfs is the data
// directory; for PostgreSQL it is a tablespace holding a whole test database (its write-ahead log
// stays in the cluster's own directory, as on a real server whose data volume fills up). Sends
// then fail with UNAVAILABLE and a retry_after (temporary), reads keep working, nothing
// acknowledged is lost, and once the filler is removed sends work again.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync, rmSync, statSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import pg from "pg";
import { PG_URL } from "./cluster/cluster.ts";
import { api, register, uniq } from "./helpers/http.ts";
import { storeViolations } from "./helpers/invariants.ts";
import { LOOSE_LIMITS, startServer, type TestServer, tempDir } from "./helpers/server.ts";
import { type Frame, RequestError, WsClient } from "./helpers/ws-client.ts";

/** Clean-ups, run in reverse order after the tests (also when one fails half-way). */
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const clean of cleanups.reverse()) await clean();
});

/** A tmpfs of `size` at a fresh directory, its root owned by `owner` (uid:gid); unmounted after. */
function mountTmpfs(prefix: string, size: string, owner?: { uid: number; gid: number }): string {
  const dir = tempDir(prefix);
  const ownerOpts = owner ? `,uid=${owner.uid},gid=${owner.gid},mode=0700` : "";
  // Fails the test (rather than skipping it) where tmpfs cannot be mounted: this test needs root.
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}${ownerOpts}`, "tmpfs", dir]);
  cleanups.push(() => {
    execFileSync("umount", [dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

async function start(o: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const srv = await startServer(o);
  cleanups.push(async () => {
    await srv.stop();
  });
  return srv;
}

/** Writes zeros to `path` until the file system is full; returns the bytes written. */
function fill(path: string): number {
  const fd = openSync(path, "w");
  const chunk = Buffer.alloc(64 * 1024);
  let written = 0;
  try {
    for (;;) {
      try {
        written += writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOSPC") break;
        throw err;
      }
    }
    // Whatever is left is less than a chunk: take it byte by byte, in smaller steps.
    for (const size of [4096, 512, 1]) {
      const small = Buffer.alloc(size);
      for (;;) {
        try {
          written += writeSync(fd, small);
        } catch {
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

interface Outcome {
  acked: number;
  lost: number;
  failure: Frame;
}

/**
 * The scenario, on a running server whose store lives on the tmpfs at `fullDir`: sends until the
 * disk is full, checks the failure, reads and recovery, then that every acked send is stored.
 * `body` makes the big messages that use up what space the store still holds.
 */
async function diskFull(srv: TestServer, fullDir: string, body: () => string): Promise<Outcome> {
  const a = await register(srv);
  const { client, welcome } = await WsClient.open(srv.wsUrl, { token: a.token });
  const lobby = welcome.rooms[0].room.id as string;
  const acked: string[] = [];
  const send = async (text: string): Promise<Frame | null> => {
    const clientId = uniq("d");
    try {
      await client.ok({ type: "send", room: lobby, clientId, body: text });
      acked.push(clientId);
      return null;
    } catch (err) {
      if (err instanceof RequestError) return err.frame;
      throw err;
    }
  };
  for (let i = 0; i < 20; i++) assert.equal(await send(`before ${i}`), null);

  const filler = join(fullDir, "filler");
  fill(filler);
  // The store may still have room in pages it already holds: send big bodies until one fails.
  let failure: Frame | null = null;
  for (let i = 0; i < 2000 && !failure; i++) failure = await send(body());
  assert.ok(failure, "a send failed once the disk was full");
  assert.equal(failure.code, "UNAVAILABLE", JSON.stringify(failure));
  assert.ok(Number(failure.retry_after) > 0, "the error says when to retry");
  // It keeps failing cleanly, and the connection stays usable. (A short message may still fit in
  // a page the store holds, so the next try is a big one too.)
  const again = await send(body());
  assert.equal(again?.code, "UNAVAILABLE");
  await client.ok({ type: "ping" });

  // Reads keep working, over WebSocket and HTTP.
  const page = await client.ok({ type: "history", room: lobby, limit: 100 });
  assert.ok(page.messages.length > 0);
  const http = await api(srv, "GET", `/api/rooms/${lobby}/messages?limit=5`, { token: a.token });
  assert.equal(http.status, 200);
  assert.equal((await api(srv, "GET", "/healthz")).status, 200);

  // Space returns: sends work again, on the same connection and on a new one.
  unlinkSync(filler);
  assert.equal(await send("after recovery"), null);
  const other = await WsClient.open(srv.wsUrl, { token: a.token });
  await other.client.ok({ type: "send", room: lobby, clientId: uniq("n"), body: "new connection" });
  await other.client.close();

  // Every acked send is stored, once.
  const stored = new Set<string>();
  let afterSeq = 0;
  for (;;) {
    const r = await api(srv, "GET", `/api/rooms/${lobby}/messages?after=${afterSeq}&limit=100`, { token: a.token });
    for (const m of r.json.messages) if (m.clientId) stored.add(m.clientId);
    if (!r.json.more) break;
    afterSeq = r.json.messages.at(-1).seq;
  }
  const lost = acked.filter((id) => !stored.has(id));
  assert.deepEqual(lost, []);
  await client.close();
  return { acked: acked.length, lost: lost.length, failure };
}

describe("disk full", () => {
  it("SQLite: sends fail with UNAVAILABLE + retry_after, reads keep working, sends recover when space returns; nothing acked is lost", async () => {
    const dataDir = mountTmpfs("parley-diskfull-", "6m");
    const srv = await start({ dataDir, config: { limits: LOOSE_LIMITS } });
    const o = await diskFull(srv, dataDir, () => "x".repeat(3900));
    assert.equal((await srv.stop()).code, 0);
    assert.deepEqual(storeViolations(join(dataDir, "parley.db")).violations, []);
    console.log(
      `# disk full (SQLite): ${o.acked} acked sends checked, lost ${o.lost}; failure ${o.failure.code} retry_after ${o.failure.retry_after}`,
    );
  });

  it("PostgreSQL: the same with the database in a tablespace on a full tmpfs", async () => {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    cleanups.push(() => admin.end());
    // The tablespace directory must belong to the server's user: the owner of its data directory.
    const { uid, gid } = statSync((await admin.query("SHOW data_directory")).rows[0].data_directory);
    const dir = mountTmpfs("parley-pgfull-", "32m", { uid, gid });
    const name = uniq("parley_full_").toLowerCase();
    await admin.query(`CREATE TABLESPACE ${name} LOCATION '${dir}'`);
    cleanups.push(async () => {
      await admin.query(`DROP TABLESPACE IF EXISTS ${name}`);
    });
    await admin.query(`CREATE DATABASE ${name} TABLESPACE ${name}`);
    cleanups.push(async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    });
    const url = new URL(PG_URL);
    url.pathname = `/${name}`;
    const srv = await start({ args: ["--database-url", url.href], config: { limits: LOOSE_LIMITS } });
    // Random text: PostgreSQL compresses long values, so repeated characters would take no room.
    const o = await diskFull(srv, dir, () => randomBytes(2900).toString("base64"));
    assert.equal((await srv.stop()).code, 0);
    console.log(
      `# disk full (PostgreSQL): ${o.acked} acked sends checked, lost ${o.lost}; failure ${o.failure.code} retry_after ${o.failure.retry_after}`,
    );
  });
});
