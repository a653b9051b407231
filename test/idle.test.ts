// An idle server leaves its event loop asleep: no timer wakes it many times a second. Each wake
// costs CPU whether or not there is work (~40 µs here), and a 10 ms timer (prom-client's default
// event-loop lag sampling) was most of what 10,000 idle connections cost (docs/benchmarks.md,
// session 10, `idlecpu`). The wakes are counted as the voluntary context switches of the
// server's main thread (Linux /proc): each is the loop going back to sleep in its poll.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { after, before, it } from "node:test";
import { sleep, startServer, type TestServer } from "./helpers/server.ts";
import { WsClient } from "./helpers/ws-client.ts";

/** Wakes per second an idle server may take: its second-scale timers (sweeps, heartbeats, lag samples). */
const MAX_WAKES_PER_S = 30;

let srv: TestServer;
before(async () => {
  srv = await startServer({ irc: true });
});
after(() => srv.stop());

function wakes(pid: number): number {
  const m = /voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/task/${pid}/status`, "utf8"));
  assert.ok(m, "no voluntary_ctxt_switches in /proc");
  return Number(m[1]);
}

it("an idle server with a client connected wakes its event loop only a few times a second", {
  skip: !existsSync("/proc/self/task"),
}, async () => {
  const { client } = await WsClient.open(srv.wsUrl, { guest: "idler" });
  await sleep(1000); // the login's own work done
  const pid = srv.proc.pid!;
  const [w0, t0] = [wakes(pid), performance.now()];
  await sleep(3000);
  const perS = ((wakes(pid) - w0) * 1000) / (performance.now() - t0);
  await client.close();
  assert.ok(perS < MAX_WAKES_PER_S, `${perS.toFixed(1)} wakes/s`);
});
