// Disk full on the data directory: the data directory is a small tmpfs (mounted here; tests run
// as root, under CI too), filled up with a filler file while the server runs. Sends then fail
// with UNAVAILABLE and a retry_after (temporary), reads keep working, nothing acknowledged is
// lost, and once the filler is removed sends work again. The store's invariants hold after.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, openSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { api, register, uniq } from "./helpers/http.ts";
import { storeViolations } from "./helpers/invariants.ts";
import { LOOSE_LIMITS, startServer, type TestServer, tempDir } from "./helpers/server.ts";
import { type Frame, RequestError, WsClient } from "./helpers/ws-client.ts";

let dataDir = "";
let mounted = false;
let srv: TestServer | null = null;

before(() => {
  dataDir = tempDir("parley-diskfull-");
  // Fails the test (rather than skipping it) where tmpfs cannot be mounted: this test needs root.
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=6m", "tmpfs", dataDir]);
  mounted = true;
});
after(async () => {
  await srv?.stop();
  if (mounted) execFileSync("umount", [dataDir]);
  rmSync(dataDir, { recursive: true, force: true });
});

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

describe("disk full", () => {
  it("sends fail with UNAVAILABLE + retry_after, reads keep working, sends recover when space returns; nothing acked is lost", async () => {
    srv = await startServer({ dataDir, config: { limits: LOOSE_LIMITS } });
    const a = await register(srv);
    const { client, welcome } = await WsClient.open(srv.wsUrl, { token: a.token });
    const lobby = welcome.rooms[0].room.id as string;
    const acked: string[] = [];
    const send = async (body: string): Promise<Frame | null> => {
      const clientId = uniq("d");
      try {
        await client.ok({ type: "send", room: lobby, clientId, body });
        acked.push(clientId);
        return null;
      } catch (err) {
        if (err instanceof RequestError) return err.frame;
        throw err;
      }
    };
    for (let i = 0; i < 20; i++) assert.equal(await send(`before ${i}`), null);

    const filler = join(dataDir, "filler");
    fill(filler);
    // SQLite may still have room in pages it already holds: send big bodies until one fails.
    let failure: Frame | null = null;
    for (let i = 0; i < 2000 && !failure; i++) failure = await send("x".repeat(3900));
    assert.ok(failure, "a send failed once the disk was full");
    assert.equal(failure.code, "UNAVAILABLE", JSON.stringify(failure));
    assert.ok(Number(failure.retry_after) > 0, "the error says when to retry");
    // It keeps failing cleanly, and the connection stays usable.
    const again = await send("still full?");
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
    assert.equal((await srv.stop()).code, 0);
    assert.deepEqual(storeViolations(join(dataDir, "parley.db")).violations, []);
    console.log(
      `# disk full: ${acked.length} acked sends checked, lost ${lost.length}; failure ${failure.code} retry_after ${failure.retry_after}`,
    );
  });
});
