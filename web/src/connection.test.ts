import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import { Connection, type ConnState } from "./connection.ts";

/** A stand-in for the browser's WebSocket: the test plays the server's side. */
class FakeSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly all: FakeSocket[] = [];
  readyState = FakeSocket.CONNECTING;
  sent: Record<string, unknown>[] = [];
  closedWith: number | null = null;
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: string }) => void) | null = null;
  onclose: ((ev: { code: number }) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close(code = 1000): void {
    this.closedWith = code;
  }
  // ---- the server's side
  open(): void {
    this.readyState = FakeSocket.OPEN;
    this.onopen?.();
  }
  receive(frame: Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
}

const g = globalThis as Record<string, unknown>;
const saved = { WebSocket: g.WebSocket, navigator: g.navigator, add: g.addEventListener, remove: g.removeEventListener };

describe("Connection", () => {
  beforeEach(() => {
    FakeSocket.all.length = 0;
    g.WebSocket = FakeSocket;
    Object.defineProperty(globalThis, "navigator", { value: { onLine: true }, configurable: true });
    g.addEventListener = () => {};
    g.removeEventListener = () => {};
    mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
  });

  afterEach(() => {
    mock.timers.reset();
    g.WebSocket = saved.WebSocket;
    Object.defineProperty(globalThis, "navigator", { value: saved.navigator, configurable: true });
    g.addEventListener = saved.add;
    g.removeEventListener = saved.remove;
  });

  function connect() {
    const states: ConnState["status"][] = [];
    const welcomes: unknown[] = [];
    const conn = new Connection({
      url: "ws://test/ws",
      hello: () => ({ type: "hello", token: "t" }),
      onWelcome: (w) => welcomes.push(w),
      onPush: () => {},
      onState: (s) => states.push(s.status),
      onRefused: () => assert.fail("refused"),
    });
    conn.start();
    return { conn, states, welcomes };
  }

  const welcome = (sock: FakeSocket) =>
    sock.receive({
      type: "welcome",
      id: sock.sent[0]?.id,
      account: { id: "a", name: "ann" },
      rooms: [],
      limits: { maxMessageBytes: 4000 },
    });

  it("starts over when the welcome does not come, instead of 'connecting' until TCP gives up", () => {
    const { conn, states, welcomes } = connect();
    const first = FakeSocket.all[0]!;
    first.open();
    assert.equal(first.sent[0]?.type, "hello");
    mock.timers.tick(19_999);
    assert.equal(first.closedWith, null, "still waiting within the allowance");
    mock.timers.tick(1);
    assert.equal(first.closedWith, 4000);
    assert.equal(conn.state.status, "offline");
    // The first retry comes within one backoff step (at most 500 ms) and is answered.
    mock.timers.tick(500);
    assert.equal(FakeSocket.all.length, 2);
    const second = FakeSocket.all[1]!;
    second.open();
    welcome(second);
    assert.equal(welcomes.length, 1);
    assert.deepEqual(states, ["connecting", "offline", "connecting", "online"]);
    // A late close event from the abandoned socket changes nothing.
    first.onclose?.({ code: 1006 });
    assert.equal(conn.state.status, "online");
    conn.stop();
  });

  it("a welcomed connection is not cut off by the handshake allowance", () => {
    const { conn } = connect();
    const sock = FakeSocket.all[0]!;
    sock.open();
    welcome(sock);
    mock.timers.tick(24_000); // past the allowance, before the first keep-alive ping
    assert.equal(sock.closedWith, null);
    assert.equal(conn.state.status, "online");
    assert.equal(FakeSocket.all.length, 1);
    conn.stop();
  });

  it("a socket that never even opens is given up on too", () => {
    const { conn } = connect();
    mock.timers.tick(20_000);
    assert.equal(FakeSocket.all[0]!.closedWith, 4000);
    assert.equal(conn.state.status, "offline");
    conn.stop();
  });
});
