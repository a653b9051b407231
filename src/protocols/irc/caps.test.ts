import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CapSet, LINE_CAPS, lineVariant } from "./caps.ts";

describe("CapSet", () => {
  it("adds, deletes and lists the offered capabilities; others are never on", () => {
    const caps = new CapSet();
    assert.equal(caps.has("server-time"), false);
    caps.add("server-time").add("batch").add("nonsense");
    assert.equal(caps.has("server-time"), true);
    assert.equal(caps.has("batch"), true);
    assert.equal(caps.has("nonsense"), false);
    assert.deepEqual([...caps].sort(), ["batch", "server-time"]);
    assert.equal(caps.delete("batch"), true);
    assert.equal(caps.delete("batch"), false);
    assert.deepEqual([...caps], ["server-time"]);
  });

  it("keeps its line variant in step with what it holds", () => {
    const caps = new CapSet();
    assert.equal(caps.lineVariant, 0);
    for (const cap of LINE_CAPS) caps.add(cap);
    caps.add("echo-message");
    assert.equal(caps.lineVariant, lineVariant(new Set(LINE_CAPS)));
    caps.delete("server-time");
    assert.equal(caps.lineVariant, lineVariant(new Set(LINE_CAPS.filter((c) => c !== "server-time"))));
  });
});
