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

  it("an account on three nodes stays online until the last one drops it, in any order", () => {
    const p = new Presence();
    for (const n of ["n1", "n2", "n3"]) p.set("a", "alice", n, true);
    assert.equal(p.set("a", "alice", "n2", false), false);
    assert.equal(p.set("a", "alice", "n2", false), false, "gone from n2 already");
    assert.equal(p.set("a", "alice", "n1", false), false, "n3 still has it");
    assert.equal(p.set("a", "alice", "n1", true), false, "back on n1");
    assert.equal(p.set("a", "alice", "n3", false), false, "n1 has it");
    assert.equal(p.isOnline("a"), true);
    assert.equal(p.set("a", "alice", "n1", false), true, "the last node: offline");
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

describe("Presence per node", () => {
  it("a heartbeat replaces what is known of its node and reports the overall changes", () => {
    const p = new Presence();
    p.set("a", "alice", "n1", true);
    p.set("b", "bob", "n1", true);
    p.set("b", "bob", "n2", true);
    const changes = p.replaceNode("n1", [
      { accountId: "b", name: "bob" },
      { accountId: "c", name: "carol" },
    ]);
    assert.deepEqual(changes, [
      { accountId: "a", name: "alice", online: false },
      { accountId: "c", name: "carol", online: true },
    ]);
    assert.deepEqual(
      p.accountsOf("n1").map((x) => x.accountId),
      ["b", "c"],
    );
    assert.deepEqual(p.replaceNode("n1", p.accountsOf("n1")), [], "the same list again changes nothing");
  });

  it("dropping a dead node takes its accounts offline unless another node has them", () => {
    const p = new Presence();
    p.set("a", "alice", "dead", true);
    p.set("b", "bob", "dead", true);
    p.set("b", "bob", "alive", true);
    assert.deepEqual(p.dropNode("dead"), [{ accountId: "a", name: "alice", online: false }]);
    assert.equal(p.isOnline("b"), true);
    assert.deepEqual(p.accountsOf("dead"), []);
    assert.deepEqual(p.dropNode("dead"), [], "twice changes nothing");
  });
});
