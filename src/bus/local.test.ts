import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BusMessage } from "../core/ports.ts";
import { busContract } from "./bus.contract.ts";
import { LocalBus } from "./local.ts";

busContract(
  "local",
  async () => {
    const bus = new LocalBus();
    return { buses: [bus], cleanup: () => bus.close() };
  },
  { maxBuses: 1 }, // one process, one bus
);

describe("LocalBus", () => {
  it("delivers asynchronously, never inside publish", async () => {
    const bus = new LocalBus();
    const got: BusMessage[] = [];
    bus.onMessage((_, msg) => got.push(msg));
    await bus.subscribe("t");
    const msg: BusMessage = { kind: "typing", roomId: "r", accountId: "a", name: "n", typing: true, node: "n" };
    const p = bus.publish("t", msg);
    assert.equal(got.length, 0);
    await p;
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(got, [msg]);
    await bus.close();
  });
});
