import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { type WebSocket, WebSocketServer } from "ws";
import {
  backoffDelay,
  ChatClient,
  type ConnectError,
  classifyNetworkError,
  type Handlers,
  normalizeServer,
  type Status,
  wsUrl,
} from "./client.ts";

type Frame = { type: string; id?: string | number; [k: string]: unknown };

/** A scripted stand-in for the server: records frames, answers hello with a welcome unless told otherwise. */
class FakeServer {
  readonly wss: WebSocketServer;
  readonly sockets: WebSocket[] = [];
  readonly received: Frame[] = [];
  onFrame: (ws: WebSocket, f: Frame) => void = (ws, f) => this.standard(ws, f);
  helloError: string | null = null;

  constructor() {
    this.wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    this.wss.on("connection", (ws) => {
      this.sockets.push(ws);
      ws.on("message", (d) => {
        const f = JSON.parse(d.toString()) as Frame;
        this.received.push(f);
        this.onFrame(ws, f);
      });
    });
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}/ws`;
  }

  standard(ws: WebSocket, f: Frame): void {
    if (f.type === "hello") {
      if (this.helloError) ws.send(JSON.stringify({ type: "error", id: f.id, code: this.helloError, message: "no" }));
      else ws.send(JSON.stringify({ type: "welcome", id: f.id, account: { id: "a", name: "alice" }, rooms: [], limits: {} }));
    } else if (f.type === "send") {
      ws.send(JSON.stringify({ type: "ok", id: f.id, result: { clientId: f.clientId, seq: 1, duplicate: false } }));
    } else ws.send(JSON.stringify({ type: "ok", id: f.id, result: { echo: f.type } }));
  }

  dropAll(): void {
    for (const s of this.sockets) s.terminate();
  }

  close(): Promise<void> {
    this.dropAll();
    return new Promise((r) => this.wss.close(() => r()));
  }
}

interface Recorder extends Handlers {
  statuses: Status[];
  welcomes: number;
  fatals: ConnectError[];
}

function handlers(): Recorder {
  const r: Recorder = {
    statuses: [],
    welcomes: 0,
    fatals: [],
    welcome: () => {
      r.welcomes++;
    },
    frame: () => {},
    status: (s) => {
      r.statuses.push(s);
    },
    fatal: (e) => {
      r.fatals.push(e);
    },
  };
  return r;
}

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const servers: FakeServer[] = [];
const clients: ChatClient[] = [];
after(async () => {
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => s.close()));
});

async function make(opts: Partial<ConstructorParameters<typeof ChatClient>[0]> = {}) {
  const server = new FakeServer();
  servers.push(server);
  await new Promise((r) => server.wss.once("listening", r));
  let resume: Record<string, number> = { r1: 4 };
  const client = new ChatClient({
    url: server.url,
    auth: { token: "tok" },
    resume: () => resume,
    backoff: { baseMs: 20, maxMs: 100 },
    ...opts,
  });
  clients.push(client);
  return { server, client, setResume: (r: Record<string, number>) => (resume = r) };
}

describe("backoff and addresses", () => {
  it("grows exponentially up to the cap, with jitter between half and all of it", () => {
    assert.equal(
      backoffDelay(0, 500, 30_000, () => 1),
      500,
    );
    assert.equal(
      backoffDelay(0, 500, 30_000, () => 0),
      250,
    );
    assert.equal(
      backoffDelay(3, 500, 30_000, () => 1),
      4000,
    );
    assert.equal(
      backoffDelay(20, 500, 30_000, () => 1),
      30_000,
    );
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(4, 500, 30_000);
      assert.ok(d >= 4000 && d <= 8000);
    }
  });

  it("normalises server addresses and derives the WebSocket URL", () => {
    assert.equal(normalizeServer("example.org:8080"), "http://example.org:8080");
    assert.equal(normalizeServer("https://chat.example.org/some/path"), "https://chat.example.org");
    assert.equal(normalizeServer("ws://127.0.0.1:9"), "http://127.0.0.1:9");
    assert.equal(wsUrl("http://127.0.0.1:9"), "ws://127.0.0.1:9/ws");
    assert.equal(wsUrl("https://chat.example.org"), "wss://chat.example.org/ws");
    assert.throws(() => normalizeServer("ftp://x"));
  });

  it("classifies network errors: unreachable, TLS", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" });
    assert.equal(classifyNetworkError(refused, "http://h").kind, "unreachable");
    const fetchStyle = Object.assign(new TypeError("fetch failed"), {
      cause: Object.assign(new Error("certificate has expired"), { code: "CERT_HAS_EXPIRED" }),
    });
    const tls = classifyNetworkError(fetchStyle, "https://h");
    assert.equal(tls.kind, "tls");
    assert.match(tls.message, /TLS failure.*certificate has expired/);
    const self = Object.assign(new Error("self-signed certificate"), { code: "DEPTH_ZERO_SELF_SIGNED_CERT" });
    assert.equal(classifyNetworkError(self, "https://h").kind, "tls");
    assert.equal(classifyNetworkError(new Error("Unexpected server response: 404"), "http://h").kind, "protocol");
  });
});

describe("ChatClient", () => {
  it("says hello with the token and the resume map, and matches replies to requests", async () => {
    const { server, client } = await make();
    const w = await client.connect();
    assert.equal(w.account.name, "alice");
    const hello = server.received[0]!;
    assert.deepEqual(
      { ...hello, id: undefined },
      { type: "hello", id: undefined, token: "tok", resume: { r1: 4 }, presence: false },
    );
    const [a, b] = await Promise.all([client.request({ type: "rooms" }), client.request({ type: "ping" })]);
    assert.deepEqual([a, b], [{ echo: "rooms" }, { echo: "ping" }]);
    client.close();
  });

  it("fails at once on an unreachable server, and with 'auth' when hello is refused", async () => {
    const dead = new ChatClient({ url: "ws://127.0.0.1:1/ws", auth: { guest: "x" }, resume: () => ({}) });
    await assert.rejects(dead.connect(), (e: ConnectError) => e.kind === "unreachable" && /refused/.test(e.message));
    const { server, client } = await make();
    server.helloError = "INVALID_TOKEN";
    await assert.rejects(client.connect(), (e: ConnectError) => e.kind === "auth" && e.code === "INVALID_TOKEN");
  });

  it("reconnects with backoff, resumes from the current positions, and resends unacknowledged messages with the same client id", async () => {
    const { server, client, setResume } = await make();
    await client.connect();
    const h = handlers();
    client.listen(h);
    // The server takes the message but the connection dies before the ack.
    let dropped = 0;
    server.onFrame = (ws, f) => {
      if (f.type === "send" && dropped++ === 0) ws.terminate();
      else server.standard(ws, f);
    };
    setResume({ r1: 9 });
    const sent = client.send({ type: "send", room: "r1", clientId: "c-1", body: "hello" });
    const ack = await sent;
    assert.equal(ack.clientId, "c-1");
    const sends = server.received.filter((f) => f.type === "send");
    assert.deepEqual(
      sends.map((f) => f.clientId),
      ["c-1", "c-1"],
    );
    const hellos = server.received.filter((f) => f.type === "hello");
    assert.deepEqual(hellos[1]!.resume, { r1: 9 });
    assert.equal(h.welcomes, 1);
    assert.ok(h.statuses.some((s) => s.state === "offline"));
    assert.equal(h.statuses.at(-1)!.state, "online");
    assert.equal(client.unacked, 0);
    client.close();
  });

  it("keeps messages typed while offline and sends them in order after the welcome", async () => {
    const { server, client } = await make();
    await client.connect();
    client.listen(handlers());
    server.helloError = "UNAVAILABLE"; // the next hellos are refused for a while
    server.dropAll();
    await until(() => !client.isOnline, "offline");
    const a = client.send({ type: "send", room: "r1", clientId: "c-a", body: "one" });
    const b = client.send({ type: "send", room: "r1", clientId: "c-b", body: "two" });
    await assert.rejects(client.request({ type: "ping" }), /not connected/);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(server.received.filter((f) => f.type === "send").length, 0);
    server.helloError = null;
    await Promise.all([a, b]);
    const order = server.received.filter((f) => f.type === "send" || f.type === "hello").map((f) => f.clientId ?? f.type);
    assert.deepEqual(order.slice(-3), ["hello", "c-a", "c-b"]);
    client.close();
  });

  it("retries a rate-limited message after retry_after, and gives up on a refused one", async () => {
    const { server, client } = await make();
    await client.connect();
    client.listen(handlers());
    let limited = 0;
    server.onFrame = (ws, f) => {
      if (f.type === "send" && f.clientId === "c-slow" && limited++ === 0) {
        ws.send(JSON.stringify({ type: "error", id: f.id, code: "RATE_LIMITED", message: "slow down", retry_after: 30 }));
      } else if (f.type === "send" && f.clientId === "c-muted") {
        ws.send(JSON.stringify({ type: "error", id: f.id, code: "MUTED", message: "you are muted" }));
      } else server.standard(ws, f);
    };
    await client.send({ type: "send", room: "r1", clientId: "c-slow", body: "x" });
    assert.equal(limited, 2);
    await assert.rejects(client.send({ type: "send", room: "r1", clientId: "c-muted", body: "x" }), /muted/);
    assert.equal(client.unacked, 0);
    client.close();
  });

  it("stops and reports when the session is refused on reconnect", async () => {
    const { server, client } = await make();
    await client.connect();
    const h = handlers();
    client.listen(h);
    server.helloError = "INVALID_TOKEN";
    server.dropAll();
    await until(() => h.fatals.length === 1, "fatal");
    assert.equal(h.fatals[0]!.code, "INVALID_TOKEN");
    assert.equal(h.statuses.at(-1)!.state, "closed");
  });
});
