// The benchmark's raw Socket.IO codec (bench/codecs/socketio.ts) against the real thing: the
// Socket.IO peer (bench/peers/socketio-broadcast.ts, a child process) with socket.io-client on
// the other side, messages both ways and rooms; and engine.io's heartbeat against a Socket.IO
// server with a short ping interval (a codec that did not answer pings would be disconnected).

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:http";
import { after, before, describe, it } from "node:test";
import { Server } from "socket.io";
import { type Socket as ClientSocket, io as ioClient } from "socket.io-client";
import type { Deliveries, Session } from "../../bench/codecs/codec.ts";
import { encodeEvent, SOCKETIO_PATH, socketioCodec } from "../../bench/codecs/socketio.ts";
import { type LoadConfig, makeBody } from "../../bench/lib.ts";
import { codecConfig } from "../helpers/load-config.ts";
import { eventually, freePort, ROOT } from "../helpers/server.ts";

interface Got {
  messages: { step: number; sentAt: number }[];
  errors: string[];
}

function collector(): Got & Deliveries {
  const got: Got & Deliveries = {
    messages: [],
    errors: [],
    message: (step, sentAt) => got.messages.push({ step, sentAt }),
    error: (text) => got.errors.push(text),
  };
  return got;
}

function config(port: number, transport: "raw" | "ws", rooms = 1): LoadConfig {
  return codecConfig(`ws://127.0.0.1:${port}${SOCKETIO_PATH}`, "socketio", { transport, rooms });
}

function clientEvents(socket: ClientSocket): { body: string; clientId: unknown }[] {
  const seen: { body: string; clientId: unknown }[] = [];
  socket.on("event", (e: { body: string; clientId: unknown }) => seen.push(e));
  return seen;
}

async function connected(socket: ClientSocket): Promise<void> {
  if (socket.connected) return;
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
}

describe("bench Socket.IO codec against the Socket.IO peer and socket.io-client", () => {
  let peer: ChildProcess;
  let port: number;
  const sessions: Session[] = [];
  const clients: ClientSocket[] = [];

  before(async () => {
    port = await freePort();
    peer = spawn(process.execPath, ["--import", "tsx", "bench/peers/socketio-broadcast.ts", "--port", String(port)], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve, reject) => {
      peer.stdout!.once("data", () => resolve());
      peer.once("exit", (code) => reject(new Error(`peer exited (${code})`)));
    });
  });

  after(async () => {
    for (const s of sessions) s.close();
    for (const c of clients) c.close();
    if (peer.exitCode === null && peer.pid !== undefined) {
      const exited = new Promise((r) => peer.once("exit", r));
      process.kill(peer.pid, "SIGTERM");
      await exited;
    }
  });

  for (const transport of ["raw", "ws"] as const) {
    it(`delivers both ways with socket.io-client (${transport} WebSocket client)`, async () => {
      const got = collector();
      const session = await socketioCodec(0, config(port, transport), got);
      sessions.push(session);
      const client = ioClient(`http://127.0.0.1:${port}`, { transports: ["websocket"], forceNew: true });
      clients.push(client);
      const seen = clientEvents(client);
      await connected(client);

      // codec → peer → socket.io-client (and back to the codec: io.to(room) includes the sender)
      const ours = makeBody(7, 1234.5, 64);
      session.send(ours);
      await eventually(() => seen.some((e) => e.body === ours), 5000, "socket.io-client got the codec's message");
      assert.equal(seen.find((e) => e.body === ours)?.clientId, "c0-1");
      await eventually(() => got.messages.some((m) => m.step === 7), 5000, "the codec got its own message");

      // socket.io-client → peer → codec, decoded to (step, send time)
      const theirs = makeBody(9, 42.125, 40);
      client.emit("send", { room: "lobby", clientId: "lib-1", body: theirs });
      await eventually(() => got.messages.some((m) => m.step === 9), 5000, "the codec got the library's message");
      assert.deepEqual(
        got.messages.filter((m) => m.step === 9),
        [{ step: 9, sentAt: 42.125 }],
      );
      assert.deepEqual(got.errors, []);
    });
  }

  it("keeps clients in their --rooms room only", async () => {
    const got = collector();
    // Client 1 of 2 rooms is in bench-1.
    const session = await socketioCodec(1, config(port, "raw", 2), got);
    sessions.push(session);
    const inRoom = ioClient(`http://127.0.0.1:${port}`, { transports: ["websocket"], forceNew: true });
    const inLobby = ioClient(`http://127.0.0.1:${port}`, { transports: ["websocket"], forceNew: true });
    clients.push(inRoom, inLobby);
    const seenInRoom = clientEvents(inRoom);
    const seenInLobby = clientEvents(inLobby);
    await connected(inRoom);
    await connected(inLobby);
    inRoom.emit("join", "bench-1");
    // The join is handled before a later event from the same socket: wait for an echo in the room.
    const probe = makeBody(3, 1, 30);
    inRoom.emit("send", { room: "bench-1", clientId: "probe", body: probe });
    await eventually(() => got.messages.some((m) => m.step === 3), 5000, "the codec got the room's probe");
    const body = makeBody(4, 2, 30);
    session.send(body);
    await eventually(() => seenInRoom.some((e) => e.body === body), 5000, "room member got it");
    // inLobby shares the socket.io server's event order: a lobby message sent after arrives after.
    const marker = makeBody(5, 3, 30);
    inLobby.emit("send", { room: "lobby", clientId: "marker", body: marker });
    await eventually(() => seenInLobby.some((e) => e.body === marker), 5000, "lobby marker");
    assert.ok(!seenInLobby.some((e) => e.body === body || e.body === probe), "a lobby client got a bench-1 message");
    assert.ok(!got.messages.some((m) => m.step === 5), "the codec in bench-1 got a lobby message");
  });
});

describe("bench Socket.IO codec: engine.io heartbeat and packet format", () => {
  it("answers the server's pings, so a short ping timeout does not close it", async () => {
    const http = createServer();
    const io = new Server(http, { transports: ["websocket"], pingInterval: 100, pingTimeout: 200 });
    io.on("connection", (socket) => socket.on("send", (m: { body: string }) => io.emit("event", { body: m.body })));
    const port = await freePort();
    await new Promise<void>((r) => http.listen(port, "127.0.0.1", r));
    const got = collector();
    const session = await socketioCodec(0, config(port, "raw"), got);
    let closed = false;
    session.onClose = () => {
      closed = true;
    };
    try {
      await new Promise((r) => setTimeout(r, 1200)); // 12 ping intervals, several ping timeouts
      assert.equal(closed, false, "the server closed the codec's connection (pings unanswered)");
      session.send(makeBody(1, 5, 30));
      await eventually(() => got.messages.length === 1, 5000, "delivery after the pings");
    } finally {
      session.close();
      io.close();
    }
  });

  it("writes event packets as socket.io-client does", () => {
    // socket.io v5 EVENT (2) in an engine.io v4 MESSAGE (4), main namespace, no ack id.
    assert.equal(encodeEvent("send", { body: "x" }), '42["send",{"body":"x"}]');
    assert.equal(encodeEvent("join", "bench-1"), '42["join","bench-1"]');
  });
});
