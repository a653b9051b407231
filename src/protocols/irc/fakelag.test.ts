import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultFakelag, Fakelag } from "./fakelag.ts";
import { defaultIrcOptions, IrcConfigError, motdLines, resolveIrcOptions } from "./options.ts";

describe("Fakelag", () => {
  it("is on by default: 5 lines at once, then one every 500 ms", () => {
    assert.equal(defaultFakelag.enabled, true);
    const f = new Fakelag(defaultFakelag);
    const waits = Array.from({ length: 8 }, () => f.touch(1000));
    assert.deepEqual(waits, [0, 0, 0, 0, 0, 500, 1000, 1500]);
  });

  it("a client that keeps to the pace is not delayed further", () => {
    const f = new Fakelag(defaultFakelag);
    for (let i = 0; i < 6; i++) f.touch(0);
    // Throttled now (the sixth line was held until 500); lines 500 ms apart go straight through.
    assert.equal(f.touch(1000), 0);
    assert.equal(f.touch(1500), 0);
    assert.equal(f.touch(1600), 400);
  });

  it("after the cooldown the client may burst again", () => {
    const f = new Fakelag(defaultFakelag);
    for (let i = 0; i < 7; i++) f.touch(0);
    const later = 10_000;
    assert.deepEqual(
      Array.from({ length: 5 }, () => f.touch(later)),
      [0, 0, 0, 0, 0],
    );
  });

  it("does nothing when disabled", () => {
    const f = new Fakelag({ ...defaultFakelag, enabled: false });
    for (let i = 0; i < 100; i++) assert.equal(f.touch(0), 0);
  });
});

describe("resolveIrcOptions", () => {
  it("gives the defaults for no object, and merges a partial one (fakelag too)", () => {
    assert.deepEqual(resolveIrcOptions(undefined), defaultIrcOptions);
    const o = resolveIrcOptions({ serverName: "irc.example.org", fakelag: { burstLimit: 10 }, motd: "a\nb" });
    assert.equal(o.serverName, "irc.example.org");
    assert.deepEqual(o.fakelag, { ...defaultFakelag, burstLimit: 10 });
    assert.deepEqual(motdLines(o), ["a", "b"]);
    assert.deepEqual(motdLines(resolveIrcOptions({ motd: "" })), []);
  });

  it("refuses unknown keys, wrong types and out-of-range lengths", () => {
    for (const bad of [
      "x",
      { nope: 1 },
      { nickLength: "9" },
      { nickLength: 40 },
      { channelLength: 1 },
      { serverName: "bad name" },
      { networkName: "two words" },
      { opers: [{ name: "a" }] },
      { fakelag: { speed: 1 } },
      { motd: [1] },
      { maxConnectionsPerAddress: -1 },
    ]) {
      assert.throws(() => resolveIrcOptions(bad), IrcConfigError, JSON.stringify(bad));
    }
  });
});
