import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { emptyChannel } from "../../../test/helpers/irc-channel.ts";
import { Channels } from "./client.ts";

const channel = (id: string, name = id) => emptyChannel(id, name);

describe("Channels", () => {
  it("finds, replaces in place, deletes and lists in the order added, as the Map it replaced", () => {
    const chans = new Channels();
    assert.equal(chans.get("a"), undefined);
    assert.equal(chans.delete("a"), false);
    chans.set(channel("a"));
    chans.set(channel("b"));
    chans.set(channel("c"));
    const b2 = channel("b", "renamed");
    chans.set(b2);
    assert.equal(chans.get("b"), b2);
    assert.equal(chans.has("c"), true);
    assert.deepEqual(
      [...chans.values()].map((ch) => ch.name),
      ["a", "renamed", "c"],
    );
    assert.equal(chans.delete("a"), true);
    assert.equal(chans.has("a"), false);
    assert.deepEqual(
      [...chans.values()].map((ch) => ch.id),
      ["b", "c"],
    );
  });
});
