import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Presence } from "./presence.ts";

describe("Presence", () => {
  it("an account is online while any node has it", () => {
    const p = new Presence();
    assert.equal(p.isOnline("a"), false);
    assert.equal(p.set("a", "alice", "n1", true), true, "first node: a change");
    assert.equal(p.isOnline("a"), true);
    assert.equal(p.set("a", "alice", "n2", true), false, "second node: no change");
    assert.equal(p.set("a", "alice", "n1", true), false, "the same node again: no change");
    assert.equal(p.set("a", "alice", "n1", false), false, "n2 still has it");
    assert.equal(p.isOnline("a"), true);
    assert.equal(p.set("a", "alice", "n2", false), true, "last node gone: a change");
    assert.equal(p.isOnline("a"), false);
  });

  it("going offline on a node that never had the account changes nothing", () => {
    const p = new Presence();
    assert.equal(p.set("a", "alice", "n1", false), false);
    p.set("a", "alice", "n1", true);
    assert.equal(p.set("a", "alice", "n9", false), false);
    assert.equal(p.isOnline("a"), true);
    assert.equal(p.set("a", "alice", "n1", false), true);
    assert.equal(p.set("a", "alice", "n1", false), false, "already offline");
  });

  it("lists who is online with their names", () => {
    const p = new Presence();
    p.set("a", "alice", "n1", true);
    p.set("b", "bob", "n2", true);
    p.set("c", "carol", "n1", true);
    p.set("c", "carol", "n1", false);
    const list = p.list().sort((x, y) => x.accountId.localeCompare(y.accountId));
    assert.deepEqual(list, [
      { accountId: "a", name: "alice" },
      { accountId: "b", name: "bob" },
    ]);
    assert.equal(p.isOnline("c"), false);
  });
});
