import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { newId } from "./ids.ts";

describe("newId", () => {
  it("gives distinct 20-character base32 ids across refills of the random pool, sorted by time", () => {
    // 10 random bytes per id from a 4 KiB pool: 2,000 ids refill it several times.
    const ids = Array.from({ length: 2000 }, (_, i) => newId(1_700_000_000_000 + i));
    for (const id of ids) assert.match(id, /^[0-9a-hjkmnp-tv-z]{20}$/);
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(new Set(ids.map((id) => id.slice(10))).size, ids.length, "the random halves differ too");
    assert.deepEqual([...ids].sort(), ids);
  });
});
