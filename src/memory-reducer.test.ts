import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setImmediate as turn } from "node:timers/promises";
import { silentLogger } from "./log.ts";
import { MemoryReducer, type MemoryReducerOptions, processProbe } from "./memory-reducer.ts";

const MiB = 1024 * 1024;
const OPTS: MemoryReducerOptions = { growthMiB: 32, idleMs: 2000, everyMs: 1000 };

/** A heap and an event loop set by the test; a collection brings the heap down to `afterCollect`. */
function fakeProbe(heapMiB: number) {
  const p = {
    heap: heapMiB * MiB,
    busy: 0,
    afterCollect: heapMiB * MiB,
    collections: 0,
    closed: false,
    heapBytes: () => p.heap,
    utilization: () => p.busy,
    async collect() {
      p.collections++;
      p.heap = p.afterCollect;
    },
    close() {
      p.closed = true;
    },
  };
  return p;
}

describe("MemoryReducer", () => {
  it("collects once the heap has grown by growthMiB and the event loop has been idle for idleMs", async () => {
    const probe = fakeProbe(20);
    const r = new MemoryReducer(OPTS, probe, silentLogger);
    probe.heap = 93 * MiB; // a connect burst
    probe.busy = 1;
    for (let i = 0; i < 5; i++) await r.tick();
    assert.equal(probe.collections, 0, "not while busy");
    probe.busy = 0.1; // idle, with the heartbeats of thousands of idle clients
    await r.tick();
    assert.equal(probe.collections, 0, "idle for 1 s of 2");
    probe.busy = 0.5;
    await r.tick();
    probe.busy = 0.1;
    await r.tick();
    assert.equal(probe.collections, 0, "a busy second starts the idle time again");
    probe.afterCollect = 55 * MiB;
    await r.tick();
    assert.equal(probe.collections, 1, "idle for 2 s after growing by 73 MiB");
    for (let i = 0; i < 5; i++) await r.tick();
    assert.equal(probe.collections, 1, "idle, but no growth since");
  });

  it("counts growth from the last collection, or from a heap V8 shrank by itself", async () => {
    const probe = fakeProbe(60);
    const r = new MemoryReducer(OPTS, probe, silentLogger);
    probe.heap = 30 * MiB; // V8's own mark-compact
    await r.tick();
    probe.heap = 61 * MiB;
    for (let i = 0; i < 3; i++) await r.tick();
    assert.equal(probe.collections, 0, "31 MiB over 30");
    probe.heap = 63 * MiB;
    probe.afterCollect = 40 * MiB;
    for (let i = 0; i < 3; i++) await r.tick();
    assert.equal(probe.collections, 1, "33 MiB over 30");
    probe.heap = 71 * MiB;
    for (let i = 0; i < 3; i++) await r.tick();
    assert.equal(probe.collections, 1, "31 MiB over the 40 left by the collection");
    probe.heap = 73 * MiB;
    for (let i = 0; i < 3; i++) await r.tick();
    assert.equal(probe.collections, 2);
  });

  it("with growthMiB 0 never looks; stop() lets the probe go", () => {
    const probe = fakeProbe(20);
    const r = new MemoryReducer({ ...OPTS, growthMiB: 0 }, probe, silentLogger);
    r.start();
    r.stop();
    assert.equal(probe.closed, true);
  });
});

describe("processProbe", () => {
  it("collect() runs a full collection in this process", async () => {
    const probe = processProbe();
    try {
      const ref = (() => new WeakRef({ garbage: new Array(1000).fill(1) }))();
      await turn(); // a WeakRef keeps its target until the job that made it is over
      assert.ok(probe.heapBytes() > 0);
      await probe.collect();
      assert.equal(ref.deref(), undefined);
      const u = probe.utilization();
      assert.ok(u >= 0 && u <= 1, `utilization ${u}`);
    } finally {
      probe.close();
    }
  });
});
