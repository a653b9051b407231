import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Member, MemberChange, Role } from "../../core/types.ts";
import { joinRuns, type MemberEvent, RoomTable, RoomTables } from "./rooms.ts";

const member = (accountId: string, name: string, role: Role = "member"): Member => ({
  roomId: "r",
  accountId,
  name,
  role,
  muted: false,
  joinedAt: 0,
  readSeq: 0,
});

function event(seq: number, change: MemberChange, accountId: string, name: string, role: Role | null = null): MemberEvent {
  return { roomId: "r", seq, at: 0, actorId: accountId, actor: name, type: "member", accountId, name, change, role };
}

const names = (t: RoomTable) => [...t.members.values()].map((m) => `${m.name}${m.role === "member" ? "" : "@"}`).sort();

describe("RoomTable", () => {
  it("applies each member event once and tells every client what the member was before it", async () => {
    const t = new RoomTable();
    assert.equal(await t.load(5, async () => [member("a", "ana", "owner")]), true);
    const join = event(6, "join", "b", "bo");
    // Three clients get the same event: the first applies it, all see "not a member before".
    for (let i = 0; i < 3; i++) assert.equal(t.before(join), undefined);
    assert.deepEqual(names(t), ["ana@", "bo"]);
    const op = event(7, "role", "b", "bo", "moderator");
    assert.equal(t.before(op)?.role, "member");
    assert.equal(t.before(op)?.role, "member", "the second client sees the same");
    assert.deepEqual(names(t), ["ana@", "bo@"]);
    const leave = event(8, "leave", "b", "bo");
    assert.equal(t.before(leave)?.name, "bo");
    assert.equal(t.before(join), undefined, "an older event: what it was before it, still");
    assert.deepEqual(names(t), ["ana@"], "an old event is not applied again");
    assert.equal(t.before(event(4, "leave", "a", "ana"))?.name, "ana", "an event the read already had changes nothing");
    assert.deepEqual(names(t), ["ana@"]);
  });

  it("events that arrive while the list is read wait for it; a failed read is tried again by the next opener", async () => {
    const t = new RoomTable();
    t.apply(event(3, "join", "x", "xi")); // nobody reads the list yet: the read will include it
    let release: (list: Member[]) => void = () => {};
    const reading = t.load(3, () => new Promise<Member[]>((resolve) => (release = resolve)));
    assert.equal(
      t.load(3, async () => []),
      reading,
      "one read for every opener",
    );
    t.apply(event(4, "join", "y", "yu"));
    t.apply(event(5, "leave", "x", "xi"));
    release([member("x", "xi"), member("y", "yu")]); // the read already saw y's join, not x's leave
    assert.equal(await reading, true);
    assert.deepEqual(names(t), ["yu"]);

    const failing = new RoomTable();
    assert.equal(await failing.load(0, () => Promise.reject(new Error("store down"))), false);
    assert.equal(await failing.load(0, async () => [member("a", "ana")]), true);
    assert.deepEqual(names(failing), ["ana"]);
  });

  it("a guest's rename shows in the list and in NAMES runs, which are joined once until the list changes", async () => {
    const t = new RoomTable();
    await t.load(0, async () => [member("b", "bo"), member("a", "ana", "owner")]);
    const show = (m: { name: string; role: Role }) => (m.role === "member" ? "" : "@") + m.name;
    const runs = t.namesRuns("nick", 400, show);
    assert.deepEqual(runs, ["@ana bo"]);
    assert.equal(t.namesRuns("nick", 400, show), runs, "the same runs for the next client");
    assert.equal(t.rename("b", "cy"), true);
    assert.equal(t.rename("zz", "cy"), false);
    assert.deepEqual(t.namesRuns("nick", 400, show), ["@ana cy"]);
  });

  it("RoomTables keeps a table while a client has the room open", () => {
    const tables = new RoomTables();
    const t = tables.open("r");
    assert.equal(tables.open("r"), t);
    tables.close("r");
    assert.equal(tables.get("r"), t);
    tables.close("r");
    assert.equal(tables.get("r"), undefined);
  });
});

describe("joinRuns", () => {
  it("fills runs up to the byte budget (each entry and its space), never leaving one empty", () => {
    assert.deepEqual(joinRuns(["aa", "bb", "cc"], 6), ["aa bb", "cc"]);
    assert.deepEqual(joinRuns(["toolong"], 3), ["toolong"]);
    assert.deepEqual(joinRuns(["é", "é"], 3), ["é", "é"], "bytes, not characters");
    assert.deepEqual(joinRuns([], 10), []);
  });
});
