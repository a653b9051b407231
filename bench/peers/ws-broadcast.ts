// The baseline for the benchmark: a bare `ws` broadcast server with no accounts, no storage and
// no checks. Every inbound `send` frame is parsed, wrapped in an `event` frame, serialized once
// and the same buffer is sent to every client in the sender's room (the sender included, as
// Parley does).
//
//   node --import tsx bench/peers/ws-broadcast.ts --port 9000 [--host 127.0.0.1] [--batch]
//
// Wire (what bench/load.ts speaks to it):
//   client → server  {"type":"join","room":"…"}   (optional: every client starts in room "lobby"
//                    and is in one room at a time; `npm run bench -- --rooms N` uses it)
//   client → server  {"type":"send","room":"…","clientId":"…","body":"…"}
//   server → client  {"type":"event","event":{"seq":n,"at":ms,"clientId":"…","body":"…"}}
// GET /healthz answers 200, so the bench knows it is up.
//
// With --batch, a socket is corked the first time something is written to it in an event-loop
// turn, and every corked socket is uncorked once after that turn (setImmediate), so several
// messages to one client leave in one write: the same scheme as src/protocols/ws/server.ts.

import { createServer } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { peerArgs } from "./cli.ts";

interface Client {
  ws: WebSocket;
  socket: Duplex;
  corked: boolean;
  room: Set<Client>;
}

const { host, port, flag } = peerArgs("ws-broadcast.ts --port N [--host ADDR] [--batch]");
const batch = flag("--batch");

const clients = new Set<Client>();
/** Room name → its clients. */
const rooms = new Map<string, Set<Client>>([["lobby", new Set()]]);
let seq = 0;

let corked: Client[] = [];
function uncorkAll(): void {
  const list = corked;
  corked = [];
  for (const c of list) {
    c.corked = false;
    c.socket.uncork();
  }
}

function write(c: Client, frame: Buffer): void {
  if (c.ws.readyState !== c.ws.OPEN) return;
  if (batch && !c.corked) {
    c.corked = true;
    c.socket.cork();
    if (corked.push(c) === 1) setImmediate(uncorkAll);
  }
  c.ws.send(frame, { binary: false });
}

function onMessage(from: Client, data: Buffer): void {
  let f: { type?: unknown; room?: unknown; clientId?: unknown; body?: unknown };
  try {
    f = JSON.parse(data.toString("utf8"));
  } catch {
    return;
  }
  if (f.type === "join" && typeof f.room === "string") {
    from.room.delete(from);
    let room = rooms.get(f.room);
    if (!room) {
      room = new Set();
      rooms.set(f.room, room);
    }
    room.add(from);
    from.room = room;
    return;
  }
  if (f.type !== "send" || typeof f.body !== "string") return;
  const frame = Buffer.from(
    JSON.stringify({ type: "event", event: { seq: ++seq, at: Date.now(), clientId: f.clientId, body: f.body } }),
  );
  for (const c of from.room) write(c, frame);
}

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, skipUTF8Validation: true, maxPayload: 1 << 20 });
const http = createServer((req, res) => {
  res.writeHead(req.url === "/healthz" ? 200 : 404, { "content-type": "text/plain" });
  res.end(req.url === "/healthz" ? "ok\n" : "not found\n");
});
http.on("upgrade", (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => {
    const lobby = rooms.get("lobby")!;
    const c: Client = { ws, socket, corked: false, room: lobby };
    clients.add(c);
    lobby.add(c);
    ws.on("message", (data: Buffer) => onMessage(c, data));
    ws.on("error", () => {});
    ws.on("close", () => {
      clients.delete(c);
      c.room.delete(c);
    });
  });
});
http.listen(port, host, () => {
  process.stdout.write(`ws-broadcast listening on ${host}:${port}${batch ? " (batched)" : ""}\n`);
});

function stop(): void {
  for (const c of clients) c.ws.terminate();
  http.close();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
