import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { accountTopic, Hub, PRESENCE_TOPIC, roomTopic, type Subscriber } from "./hub.ts";
import type { Bus, BusMessage, Store } from "./ports.ts";
import type { Ephemeral, Id, RoomEvent } from "./types.ts";

/** A bus the test drives by hand: it records subscriptions and delivers what the test says, when it says. */
class FakeBus implements Bus {
  readonly topics = new Set<string>();
  readonly published: { topic: string; msg: BusMessage }[] = [];
  private handler: ((topic: string, msg: BusMessage) => void) | null = null;

  async publish(topic: string, msg: BusMessage): Promise<void> {
    this.published.push({ topic, msg });
  }
  async subscribe(topic: string): Promise<void> {
    this.topics.add(topic);
  }
  async unsubscribe(topic: string): Promise<void> {
    this.topics.delete(topic);
  }
  onMessage(handler: (topic: string, msg: BusMessage) => void): void {
    this.handler = handler;
  }
  reconnected: (() => void) | null = null;
  onReconnect(handler: () => void): void {
    this.reconnected = handler;
  }
  async close(): Promise<void> {}

  /** Resolves once what the hub queued is delivered (it delivers a microtask after a batch of bus messages). */
  async deliver(topic: string, msg: BusMessage): Promise<void> {
    assert.ok(this.topics.has(topic), `the hub should be subscribed to ${topic}`);
    this.handler?.(topic, msg);
    await null;
  }
}

/** The two Store methods the hub uses, over an in-memory log. */
class FakeStore {
  readonly log = new Map<Id, RoomEvent[]>();
  readonly eventsAfterCalls: { roomId: Id; afterSeq: number }[] = [];
  /** When set, getRoom waits for it: lets a test act while an attach is in progress. */
  gate: Promise<void> | null = null;

  add(e: RoomEvent): RoomEvent {
    const list = this.log.get(e.roomId) ?? [];
    list.push(e);
    this.log.set(e.roomId, list);
    return e;
  }

  async getRoom(id: Id) {
    if (this.gate) await this.gate;
    const list = this.log.get(id) ?? [];
    return { id, name: id, kind: "public", topic: "", createdBy: "", createdAt: 0, lastSeq: list.at(-1)?.seq ?? 0 };
  }

  async eventsAfter(roomId: Id, afterSeq: number, limit: number): Promise<RoomEvent[]> {
    this.eventsAfterCalls.push({ roomId, afterSeq });
    return (this.log.get(roomId) ?? []).filter((e) => e.seq > afterSeq).slice(0, limit);
  }
}

class Sub implements Subscriber {
  readonly events: RoomEvent[] = [];
  readonly ephemerals: Ephemeral[] = [];
  readonly joined: RoomEvent[] = [];
  constructor(
    readonly accountId: Id,
    readonly wantsPresence = false,
    readonly session: string | null = null,
  ) {}
  /** The runs handed over, as they came. */
  readonly runs: RoomEvent[][] = [];
  onRoomEvents(run: readonly RoomEvent[]): void {
    this.runs.push([...run]);
    this.events.push(...run);
  }
  onEphemeral(e: Ephemeral): void {
    this.ephemerals.push(e);
  }
  onJoined(e: RoomEvent): void {
    this.joined.push(e);
  }
}

function topicEvent(roomId: Id, seq: number): RoomEvent {
  return { roomId, seq, at: seq, actorId: "x", actor: "x", type: "topic", topic: `t${seq}` };
}

const room = (e: RoomEvent): BusMessage => ({ kind: "room", event: e });
const seqsOf = (s: Sub) => s.events.map((e) => e.seq);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Announcements of alice on other nodes, each node's numbered 1, 2, … as a node numbers its own. */
function announcer(): (node: string, online: boolean) => BusMessage {
  const seqs = new Map<string, number>();
  return (node, online) => {
    const seq = (seqs.get(node) ?? 0) + 1;
    seqs.set(node, seq);
    return { kind: "presence", accountId: "a", name: "alice", online, node, seq };
  };
}

function setup(gapWaitMs = 20, timing: { heartbeatMs?: number; nodeTimeoutMs?: number } = {}) {
  const bus = new FakeBus();
  const store = new FakeStore();
  const hub = new Hub(store as unknown as Store, bus, "node-1", { gapWaitMs, ...timing });
  return { bus, store, hub };
}

describe("Hub", () => {
  it("delivers a room's events in seq order even when the bus reorders them", async () => {
    const { bus, store, hub } = setup(1000);
    const sub = new Sub("a");
    await hub.attach(sub, "r");
    const [e1, e2, e3] = [1, 2, 3].map((s) => store.add(topicEvent("r", s)));
    await bus.deliver(roomTopic("r"), room(e3!));
    assert.deepEqual(seqsOf(sub), [], "3 waits for 1 and 2");
    await bus.deliver(roomTopic("r"), room(e1!));
    assert.deepEqual(seqsOf(sub), [1]);
    await bus.deliver(roomTopic("r"), room(e2!));
    assert.deepEqual(seqsOf(sub), [1, 2, 3]);
    assert.deepEqual(sub.events, [e1, e2, e3]);
    assert.deepEqual(store.eventsAfterCalls, [], "no store read when the bus delivered everything");
  });

  it("drops duplicates and events already delivered", async () => {
    const { bus, store, hub } = setup(1000);
    const sub = new Sub("a");
    await hub.attach(sub, "r");
    const [e1, e2, e3] = [1, 2, 3].map((s) => store.add(topicEvent("r", s)));
    for (const e of [e1, e1, e2, e1, e3, e2, e3, e3]) await bus.deliver(roomTopic("r"), room(e!));
    assert.deepEqual(seqsOf(sub), [1, 2, 3]);
  });

  it("ignores events up to the position the room had when it was attached", async () => {
    const { bus, store, hub } = setup(1000);
    for (const s of [1, 2, 3]) store.add(topicEvent("r", s));
    const sub = new Sub("a");
    assert.equal(await hub.attach(sub, "r"), 3, "attach resolves with the live position");
    await bus.deliver(roomTopic("r"), room(topicEvent("r", 2)));
    await bus.deliver(roomTopic("r"), room(topicEvent("r", 3)));
    await bus.deliver(roomTopic("r"), room(store.add(topicEvent("r", 4))));
    assert.deepEqual(seqsOf(sub), [4]);
  });

  it("bus messages in a row reach each subscriber as one run per room, in order, rooms apart", async () => {
    const { bus, store, hub } = setup(1000);
    const [inR, inQ, inBoth] = [new Sub("a"), new Sub("b"), new Sub("c")];
    await hub.attach(inR, "r");
    await hub.attach(inQ, "q");
    await hub.attach(inBoth, "r");
    await hub.attach(inBoth, "q");
    const r = [1, 2, 3].map((s) => store.add(topicEvent("r", s)));
    const q = [1, 2].map((s) => store.add(topicEvent("q", s)));
    // As a store commit's appends publish: one bus message each, in the same turn.
    for (const e of [r[0]!, q[0]!, r[2]!, r[1]!]) void bus.deliver(roomTopic(e.roomId), room(e));
    await bus.deliver(roomTopic("q"), room(q[1]!));
    assert.deepEqual(inR.runs, [r], "one call for the room's three events, in seq order");
    assert.deepEqual(inQ.runs, [q]);
    assert.deepEqual(inBoth.runs, [r, q], "one run per room, in the order the rooms first had news");
  });

  it("a run stops at a gap; the store's gap fill and what waited behind it come as the next run", async () => {
    const { bus, store, hub } = setup(20);
    const sub = new Sub("a");
    await hub.attach(sub, "r");
    const [e1, , e3, e4] = [1, 2, 3, 4].map((s) => store.add(topicEvent("r", s)));
    void bus.deliver(roomTopic("r"), room(e1!));
    void bus.deliver(roomTopic("r"), room(e3!));
    await bus.deliver(roomTopic("r"), room(e4!));
    assert.deepEqual(
      sub.runs.map((run) => run.map((e) => e.seq)),
      [[1]],
      "2 is missing: 3 and 4 wait",
    );
    await sleep(60);
    assert.deepEqual(
      sub.runs.map((run) => run.map((e) => e.seq)),
      [[1], [2, 3, 4]],
    );
    assert.deepEqual(store.eventsAfterCalls, [{ roomId: "r", afterSeq: 1 }]);
  });

  it("a message on another topic goes after the room events that came before it on the bus", async () => {
    const { bus, store, hub } = setup(1000);
    const sub = new Sub("a");
    await hub.attach(sub, "r");
    await hub.addAccount(sub);
    const e1 = store.add(topicEvent("r", 1));
    const kick: RoomEvent = {
      roomId: "r",
      seq: 2,
      at: 2,
      actorId: "x",
      actor: "x",
      type: "member",
      accountId: "a",
      name: "ana",
      change: "kick",
      role: null,
    };
    store.add(kick);
    void bus.deliver(roomTopic("r"), room(e1));
    void bus.deliver(roomTopic("r"), room(kick));
    const typing: BusMessage = { kind: "typing", roomId: "r", accountId: "z", name: "zed", typing: true, node: "n2" };
    void bus.deliver(roomTopic("r"), typing);
    await bus.deliver(accountTopic("a"), room(kick));
    assert.deepEqual(sub.runs, [[e1, kick], [kick]], "the room's run first, then the account's copy");
    assert.equal(sub.ephemerals.length, 1, "and the typing");
  });

  it("fills a gap that never arrives from the store after gapWaitMs", async () => {
    const { bus, store, hub } = setup(20);
    const sub = new Sub("a");
    await hub.attach(sub, "r");
    const events = [1, 2, 3, 4, 5].map((s) => store.add(topicEvent("r", s)));
    await bus.deliver(roomTopic("r"), room(events[0]!));
    await bus.deliver(roomTopic("r"), room(events[1]!));
    await bus.deliver(roomTopic("r"), room(events[4]!)); // 3 and 4 are lost
    assert.deepEqual(seqsOf(sub), [1, 2]);
    await sleep(5);
    assert.deepEqual(seqsOf(sub), [1, 2], "waits a little before reading the store");
    await sleep(60);
    assert.deepEqual(seqsOf(sub), [1, 2, 3, 4, 5]);
    assert.deepEqual(sub.events, events);
    assert.deepEqual(store.eventsAfterCalls, [{ roomId: "r", afterSeq: 2 }], "one read for the gap");
    await bus.deliver(roomTopic("r"), room(events[2]!)); // the lost one turns up late
    assert.deepEqual(seqsOf(sub), [1, 2, 3, 4, 5]);
  });

  it("after the bus reconnects, reads what was published meanwhile, even in a room that stays quiet", async () => {
    const { bus, store, hub } = setup(1000);
    const sub = new Sub("a");
    const quiet = new Sub("b");
    await hub.attach(sub, "r");
    await hub.attach(quiet, "q");
    const events = Array.from({ length: 250 }, (_, i) => store.add(topicEvent("r", i + 1)));
    store.add(topicEvent("q", 1));
    await bus.deliver(roomTopic("r"), room(events[0]!));
    // The bus was down for the rest: nothing else arrives, and no later event exposes the gap.
    bus.reconnected?.();
    for (let i = 0; i < 50 && (sub.events.length < 250 || quiet.events.length < 1); i++) await sleep(10);
    assert.deepEqual(
      seqsOf(sub),
      events.map((e) => e.seq),
      "every missed event, in order, past one page",
    );
    assert.deepEqual(seqsOf(quiet), [1]);
  });

  it("a revoked session closes its own connections; a revoked account closes all of them", async () => {
    const { bus, hub } = setup();
    const s1 = new Sub("a", false, "hash-1");
    const s2 = new Sub("a", false, "hash-2");
    const line = new Sub("a", false, null);
    const other = new Sub("b", false, "hash-3");
    for (const s of [s1, s2, line, other]) await hub.addAccount(s);
    const revoked = (s: Sub) => s.ephemerals.filter((e) => e.type === "revoked").length;
    await bus.deliver(accountTopic("a"), { kind: "revoked", accountId: "a", session: "hash-1" });
    assert.deepEqual([s1, s2, line, other].map(revoked), [1, 0, 0, 0], "logout ends one session");
    await bus.deliver(accountTopic("a"), { kind: "revoked", accountId: "a", session: null });
    assert.deepEqual([s1, s2, line, other].map(revoked), [2, 1, 1, 0], "a password change ends them all");
  });

  it("does not read the store when the missing event arrives in time", async () => {
    const { bus, store, hub } = setup(30);
    const sub = new Sub("a");
    await hub.attach(sub, "r");
    const [e1, e2] = [1, 2].map((s) => store.add(topicEvent("r", s)));
    await bus.deliver(roomTopic("r"), room(e2!));
    await sleep(5);
    await bus.deliver(roomTopic("r"), room(e1!));
    assert.deepEqual(seqsOf(sub), [1, 2]);
    await sleep(60);
    assert.deepEqual(store.eventsAfterCalls, []);
    assert.deepEqual(seqsOf(sub), [1, 2]);
  });

  it("holds events that arrive while the room's position is being read", async () => {
    const { bus, store, hub } = setup(1000);
    for (const s of [1, 2]) store.add(topicEvent("r", s));
    let open!: () => void;
    store.gate = new Promise((r) => {
      open = r;
    });
    const sub = new Sub("a");
    const attaching = hub.attach(sub, "r");
    await sleep(1);
    assert.ok(bus.topics.has(roomTopic("r")), "subscribed before reading the position");
    const e3 = store.add(topicEvent("r", 3));
    await bus.deliver(roomTopic("r"), room(e3));
    await bus.deliver(roomTopic("r"), room(topicEvent("r", 2)));
    assert.deepEqual(seqsOf(sub), []);
    store.gate = null;
    open();
    await attaching;
    // The store said 3 (it was committed before the read), so 3 is not delivered again by the hub.
    assert.deepEqual(seqsOf(sub), []);
    await bus.deliver(roomTopic("r"), room(store.add(topicEvent("r", 4))));
    assert.deepEqual(seqsOf(sub), [4]);
  });

  it("delivers to every subscriber of the room, and stops after detach", async () => {
    const { bus, store, hub } = setup(1000);
    const a = new Sub("a");
    const b = new Sub("b");
    await hub.attach(a, "r");
    await hub.attach(b, "r");
    await hub.attach(a, "other");
    await bus.deliver(roomTopic("r"), room(store.add(topicEvent("r", 1))));
    assert.deepEqual(seqsOf(a), [1]);
    assert.deepEqual(seqsOf(b), [1]);
    hub.detach(a, "r");
    await bus.deliver(roomTopic("r"), room(store.add(topicEvent("r", 2))));
    assert.deepEqual(seqsOf(a), [1]);
    assert.deepEqual(seqsOf(b), [1, 2]);
    hub.detach(b, "r");
    await sleep(1);
    assert.equal(bus.topics.has(roomTopic("r")), false, "the last one out unsubscribes");
    assert.equal(bus.topics.has(roomTopic("other")), true);
  });

  it("typing reaches the room's other accounts, not the typist", async () => {
    const { bus, hub } = setup();
    const a = new Sub("a");
    const b = new Sub("b");
    const c = new Sub("c");
    await hub.attach(a, "r");
    await hub.attach(b, "r");
    await hub.attach(c, "elsewhere");
    await bus.deliver(roomTopic("r"), { kind: "typing", roomId: "r", accountId: "a", name: "alice", typing: true, node: "n1" });
    assert.deepEqual(a.ephemerals, []);
    assert.deepEqual(b.ephemerals, [{ type: "typing", roomId: "r", accountId: "a", name: "alice", typing: true }]);
    assert.deepEqual(c.ephemerals, []);
  });

  it("presence goes to connections that asked for it, once per change", async () => {
    const { bus, hub } = setup();
    await hub.start();
    assert.ok(bus.topics.has(PRESENCE_TOPIC));
    const watcher = new Sub("w", true);
    const other = new Sub("o", false);
    assert.equal(await hub.addAccount(watcher), true);
    assert.equal(await hub.addAccount(other), true);
    const online = announcer();
    await bus.deliver(PRESENCE_TOPIC, online("n1", true));
    await bus.deliver(PRESENCE_TOPIC, online("n2", true)); // no change: already online
    await bus.deliver(PRESENCE_TOPIC, online("n1", false)); // still on n2
    assert.equal(hub.presence.isOnline("a"), true);
    await bus.deliver(PRESENCE_TOPIC, online("n2", false));
    assert.equal(hub.presence.isOnline("a"), false);
    assert.deepEqual(watcher.ephemerals, [
      { type: "presence", accountId: "a", name: "alice", online: true },
      { type: "presence", accountId: "a", name: "alice", online: false },
    ]);
    assert.deepEqual(other.ephemerals, []);
    hub.removeAccount(watcher);
    await bus.deliver(PRESENCE_TOPIC, online("n1", true));
    assert.equal(watcher.ephemerals.length, 2, "a closed connection hears nothing");
  });

  it("presence listeners hear each change once, before the watching connections, until they stop", async () => {
    const { bus, hub } = setup();
    await hub.start();
    const heard: string[] = [];
    const watcher = new Sub("w", true);
    await hub.addAccount(watcher);
    const stop = hub.onPresence((p) => heard.push(`${p.name}:${p.online}:${watcher.ephemerals.length}`));
    const online = announcer();
    await bus.deliver(PRESENCE_TOPIC, online("n1", true));
    await bus.deliver(PRESENCE_TOPIC, online("n2", true)); // no change
    void hub.announce("b", "bob", true);
    await bus.deliver(PRESENCE_TOPIC, online("n1", false)); // still on n2
    await bus.deliver(PRESENCE_TOPIC, online("n2", false));
    // Each entry also says how many the watcher had when the listener heard it: one fewer.
    assert.deepEqual(heard, ["alice:true:0", "bob:true:1", "alice:false:2"]);
    stop();
    await bus.deliver(PRESENCE_TOPIC, online("n1", true));
    assert.equal(heard.length, 3, "a stopped listener hears nothing");
    assert.equal(hub.presence.size, 2);
    assert.deepEqual([...hub.presence.entries()].sort(), [
      ["a", "alice"],
      ["b", "bob"],
    ]);
    assert.equal(hub.presence.nameOf("b"), "bob");
    assert.equal(hub.presence.nameOf("nobody"), undefined);
  });

  it("account topics: joins become onJoined, other membership changes room events, invites ephemerals", async () => {
    const { bus, hub } = setup();
    const a1 = new Sub("a");
    const a2 = new Sub("a");
    const b = new Sub("b");
    assert.equal(await hub.addAccount(a1), true, "the account's first local connection");
    assert.equal(await hub.addAccount(a2), false);
    assert.equal(await hub.addAccount(b), true);
    assert.equal(hub.localConnections(), 3);
    assert.ok(bus.topics.has(accountTopic("a")));
    const base = {
      roomId: "r",
      at: 0,
      actorId: "b",
      actor: "bob",
      type: "member" as const,
      accountId: "a",
      name: "alice",
      role: null,
    };
    const join: RoomEvent = { ...base, seq: 1, change: "join", role: "member" };
    const kick: RoomEvent = { ...base, seq: 2, change: "kick" };
    await bus.deliver(accountTopic("a"), room(join));
    await bus.deliver(accountTopic("a"), room(kick));
    for (const s of [a1, a2]) {
      assert.deepEqual(s.joined, [join]);
      assert.deepEqual(s.events, [kick]);
    }
    assert.deepEqual(b.joined, []);
    await bus.deliver(accountTopic("a"), { kind: "invited", roomId: "r", room: "secret", accountId: "a", by: "bob" });
    assert.deepEqual(a1.ephemerals, [{ type: "invited", roomId: "r", room: "secret", by: "bob" }]);
    assert.deepEqual(b.ephemerals, []);

    assert.equal(hub.removeAccount(a1), false);
    assert.equal(hub.removeAccount(a2), true, "the account's last local connection");
    assert.equal(hub.localConnections(), 1);
    await sleep(1);
    assert.equal(bus.topics.has(accountTopic("a")), false);
  });
});

describe("Hub presence across nodes", () => {
  const beat = (node: string, ...names: string[]): BusMessage => ({
    kind: "node",
    node,
    seq: 1,
    accounts: names.map((n) => ({ accountId: n[0]!, name: n })),
  });
  const presenceOf = (s: Sub) => s.ephemerals.filter((e) => e.type === "presence");

  it("a heartbeat brings in the accounts of a node started earlier, and answers a node it had not heard of", async () => {
    const { bus, hub } = setup(20, { heartbeatMs: 60_000 });
    await hub.start();
    const watcher = new Sub("w", true);
    await hub.addAccount(watcher);
    void hub.announce("w", "walter", true);
    const before = bus.published.filter((p) => p.msg.kind === "node").length;
    await bus.deliver(PRESENCE_TOPIC, beat("n2", "alice", "bob"));
    assert.deepEqual(
      hub.presence
        .list()
        .map((a) => a.name)
        .sort(),
      ["alice", "bob", "walter"],
    );
    assert.deepEqual(
      presenceOf(watcher).map((e) => e.type === "presence" && `${e.name}:${e.online}`),
      ["walter:true", "alice:true", "bob:true"],
    );
    await sleep(0);
    const mine = bus.published.filter((p) => p.msg.kind === "node").slice(before);
    assert.deepEqual(
      mine.map((p) => p.msg),
      [{ kind: "node", node: "node-1", seq: 1, accounts: [{ accountId: "w", name: "walter" }] }],
      "the newcomer hears our accounts at once",
    );
    await bus.deliver(PRESENCE_TOPIC, beat("n2", "bob"));
    assert.equal(hub.presence.isOnline("a"), false, "a later heartbeat without alice takes her offline");
    await hub.stop();
  });

  it("heartbeats carry the full list only when someone needs it: at start, on reconnect, when asked", async () => {
    const { bus, hub } = setup(20, { heartbeatMs: 60_000 });
    await hub.start();
    await hub.announce("w", "walter", true);
    const beats = () => bus.published.filter((p) => p.msg.kind === "node").map((p) => p.msg);
    assert.deepEqual(beats(), [{ kind: "node", node: "node-1", seq: 0, accounts: [] }], "the first beat lists everything");
    await bus.deliver(PRESENCE_TOPIC, { kind: "sync", node: "n2" });
    await sleep(0);
    assert.equal(beats().length, 1, "a request for another node's list is not ours to answer");
    void bus.deliver(PRESENCE_TOPIC, { kind: "sync", node: "node-1" });
    await bus.deliver(PRESENCE_TOPIC, { kind: "sync", node: "node-1" });
    await sleep(0);
    assert.deepEqual(
      beats().slice(1),
      [{ kind: "node", node: "node-1", seq: 1, accounts: [{ accountId: "w", name: "walter" }] }],
      "two requests in one turn get one full beat",
    );
    bus.reconnected?.();
    await sleep(0);
    assert.equal(beats().length, 3);
    assert.deepEqual(beats()[2], { kind: "node", node: "node-1", seq: 1, accounts: [{ accountId: "w", name: "walter" }] });
    await hub.stop();
  });

  it("a missed announcement is noticed by its seq, and the node is asked for its full list", async () => {
    const { bus, hub } = setup(20, { heartbeatMs: 60_000 });
    await hub.start();
    const asked = () => bus.published.filter((p) => p.msg.kind === "sync").map((p) => p.msg);
    const announce = (accountId: string, online: boolean, seq: number): BusMessage => ({
      kind: "presence",
      accountId,
      name: accountId,
      online,
      node: "n2",
      seq,
    });
    await bus.deliver(PRESENCE_TOPIC, { kind: "node", node: "n2", seq: 3, accounts: [{ accountId: "a", name: "a" }] });
    await bus.deliver(PRESENCE_TOPIC, { kind: "node", node: "n2", seq: 3 });
    await bus.deliver(PRESENCE_TOPIC, announce("b", true, 4));
    await bus.deliver(PRESENCE_TOPIC, { kind: "node", node: "n2", seq: 4 });
    assert.deepEqual(asked(), [], "in step: nothing to ask");
    await bus.deliver(PRESENCE_TOPIC, announce("a", true, 2));
    await bus.deliver(PRESENCE_TOPIC, announce("b", false, 4));
    assert.equal(hub.presence.isOnline("b"), true, "announcements the list already holds are ignored");
    await bus.deliver(PRESENCE_TOPIC, announce("c", true, 6)); // 5 was lost
    assert.equal(hub.presence.isOnline("c"), true, "applied anyway");
    assert.deepEqual(asked(), [{ kind: "sync", node: "n2" }]);
    await bus.deliver(PRESENCE_TOPIC, { kind: "node", node: "n2", seq: 6 });
    assert.equal(asked().length, 1, "asked once per heartbeat period");
    await bus.deliver(PRESENCE_TOPIC, {
      kind: "node",
      node: "n2",
      seq: 6,
      accounts: [
        { accountId: "a", name: "a" },
        { accountId: "c", name: "c" },
      ],
    });
    assert.equal(hub.presence.isOnline("b"), false, "the full list repairs what announcement 5 said");
    await bus.deliver(PRESENCE_TOPIC, announce("d", true, 7));
    await bus.deliver(PRESENCE_TOPIC, { kind: "node", node: "n2", seq: 7 });
    assert.equal(asked().length, 1, "in step again");
    await bus.deliver(PRESENCE_TOPIC, { kind: "node", node: "n2", seq: 8 }); // announcement 8 was lost
    assert.equal(asked().length, 2, "a heartbeat ahead of us asks too");
    await hub.stop();
  });

  it("a node that stops beating is dropped with its accounts, but only while our own heartbeat comes back", async () => {
    const { bus, hub } = setup(20, { heartbeatMs: 20, nodeTimeoutMs: 100 });
    await hub.start();
    const watcher = new Sub("w", true);
    await hub.addAccount(watcher);
    await bus.deliver(PRESENCE_TOPIC, beat("n2", "alice"));
    await bus.deliver(PRESENCE_TOPIC, beat("n3", "bob"));
    // Our own beats are not coming back (the bus is down): silence proves nothing.
    await sleep(250);
    assert.equal(hub.presence.isOnline("a"), true);
    // The bus works again: n3 keeps beating, n2 stays silent.
    const deadline = Date.now() + 5000;
    while (hub.presence.isOnline("a") && Date.now() < deadline) {
      await bus.deliver(PRESENCE_TOPIC, beat("node-1"));
      await bus.deliver(PRESENCE_TOPIC, beat("n3", "bob"));
      await sleep(20);
    }
    assert.equal(hub.presence.isOnline("a"), false, "the silent node's account went offline");
    assert.equal(hub.presence.isOnline("b"), true);
    assert.deepEqual(
      presenceOf(watcher).map((e) => e.type === "presence" && `${e.name}:${e.online}`),
      ["alice:true", "bob:true", "alice:false"],
    );
    await hub.stop();
  });

  it("typing on a node that dies or leaves stops: the room hears typing false for it", async () => {
    const { bus, hub } = setup(20, { heartbeatMs: 20, nodeTimeoutMs: 100 });
    await hub.start();
    const reader = new Sub("r");
    await hub.attach(reader, "room");
    const typing = (accountId: string, node: string, on = true): BusMessage => ({
      kind: "typing",
      roomId: "room",
      accountId,
      name: accountId,
      typing: on,
      node,
    });
    await bus.deliver(PRESENCE_TOPIC, beat("n2", "alice"));
    await bus.deliver(PRESENCE_TOPIC, beat("n3", "bob"));
    await bus.deliver(roomTopic("room"), typing("a", "n2"));
    await bus.deliver(roomTopic("room"), typing("c", "n2"));
    await bus.deliver(roomTopic("room"), typing("c", "n2", false)); // carol stopped by herself
    await bus.deliver(roomTopic("room"), typing("b", "n3"));
    const typingOf = () =>
      reader.ephemerals.filter((e) => e.type === "typing").map((e) => e.type === "typing" && `${e.accountId}:${e.typing}`);
    // n2 falls silent while n3 and our own heartbeat keep coming.
    const deadline = Date.now() + 5000;
    while (!typingOf().includes("a:false") && Date.now() < deadline) {
      await bus.deliver(PRESENCE_TOPIC, beat("node-1"));
      await bus.deliver(PRESENCE_TOPIC, beat("n3", "bob"));
      await sleep(20);
    }
    assert.deepEqual(typingOf(), ["a:true", "c:true", "c:false", "b:true", "a:false"]);
    // A node that says it is leaving stops its typists at once.
    await bus.deliver(PRESENCE_TOPIC, { kind: "node", node: "n3", seq: 1, gone: true });
    assert.equal(typingOf().at(-1), "b:false");
    await hub.stop();
  });

  it("a node shutting down is dropped at once; our own echoes never override what we applied locally", async () => {
    const { bus, hub } = setup(20, { heartbeatMs: 60_000 });
    await hub.start();
    await bus.deliver(PRESENCE_TOPIC, beat("n2", "alice"));
    await bus.deliver(PRESENCE_TOPIC, { kind: "node", node: "n2", seq: 1, gone: true });
    assert.equal(hub.presence.isOnline("a"), false);
    void hub.announce("c", "carol", true);
    void hub.announce("c", "carol", false);
    await bus.deliver(PRESENCE_TOPIC, { kind: "presence", accountId: "c", name: "carol", online: true, node: "node-1", seq: 1 });
    assert.equal(hub.presence.isOnline("c"), false, "a late echo of our own announcement is ignored");
    await hub.stop();
    assert.deepEqual(bus.published.at(-1)?.msg, { kind: "node", node: "node-1", seq: 2, gone: true });
  });
});
