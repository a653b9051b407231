// An idle server leaves its threads asleep: no timer wakes them many times a second. Each wake
// costs CPU whether or not there is work (~40 µs on the main thread here, ~300 µs for a worker
// thread with its own V8 isolate), and two such timers were most of what 10,000 idle
// connections cost (docs/benchmarks.md, session 10, `idlecpu`): prom-client's event-loop lag
// sampling every 10 ms, and the WAL checkpointer's worker checking every 100 ms. The wakes are
// counted as the voluntary context switches of the server's threads (Linux /proc): each is a
// thread going back to sleep.

import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { after, before, it } from "node:test";
import { sleep, startServer, type TestServer } from "./helpers/server.ts";
import { WsClient } from "./helpers/ws-client.ts";

/** Wakes per second the main thread may take: its second-scale timers (sweeps, heartbeats, lag samples). */
const MAX_MAIN_WAKES_PER_S = 30;
/** Wakes per second all the other threads together may take (V8's and libuv's workers, the checkpointer). */
const MAX_OTHER_WAKES_PER_S = 5;

let srv: TestServer;
before(async () => {
  srv = await startServer({ irc: true });
});
after(() => srv.stop());

/** Voluntary context switches of the main thread, and of all the others together. */
function wakes(pid: number): { main: number; others: number } {
  const w = { main: 0, others: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8");
    } catch {
      continue; // the thread ended meanwhile
    }
    const n = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1]);
    if (tid === String(pid)) w.main += n;
    else w.others += n;
  }
  return w;
}

it("an idle server with a client connected wakes only a few times a second", {
  skip: !existsSync("/proc/self/task"),
}, async () => {
  const { client } = await WsClient.open(srv.wsUrl, { guest: "idler" });
  await sleep(1000); // the login's own work done, its commit checkpointed
  const pid = srv.proc.pid!;
  const [w0, t0] = [wakes(pid), performance.now()];
  await sleep(3000);
  const w1 = wakes(pid);
  const s = (performance.now() - t0) / 1000;
  await client.close();
  const main = (w1.main - w0.main) / s;
  const others = (w1.others - w0.others) / s;
  assert.ok(main < MAX_MAIN_WAKES_PER_S, `main thread: ${main.toFixed(1)} wakes/s`);
  assert.ok(others < MAX_OTHER_WAKES_PER_S, `other threads: ${others.toFixed(1)} wakes/s`);
});
