// The Socket.IO 4 peer of the benchmark: a plain Socket.IO broadcast server with no accounts, no
// storage and no checks, written the way its documentation shows. Every `send` event is wrapped
// in an `event` with the same shape as the bare `ws` peer's and broadcast with
// `io.to(room).emit`, which reaches the sender too (as Parley and the bare peer do).
//
//   node --import tsx bench/peers/socketio-broadcast.ts --port 9000 [--host 127.0.0.1]
//
// Events (bench/codecs/socketio.ts speaks them without socket.io-client):
//   client → server  "join", "<room>"       (every client starts in room "lobby", in one room at a time)
//   client → server  "send", {room, clientId, body}
//   server → client  "event", {seq, at, clientId, body}
// WebSocket transport only (no long-polling, no upgrade round), no compression, as the other
// peers. GET /healthz answers 200, so the bench knows it is up.

import { createServer } from "node:http";
import { Server } from "socket.io";
import { peerArgs } from "./cli.ts";

const { host, port } = peerArgs("socketio-broadcast.ts --port N [--host ADDR]");

const http = createServer((req, res) => {
  // socket.io answers its own path (/socket.io/) before this handler is called.
  res.writeHead(req.url === "/healthz" ? 200 : 404, { "content-type": "text/plain" });
  res.end(req.url === "/healthz" ? "ok\n" : "not found\n");
});
const io = new Server(http, {
  transports: ["websocket"],
  serveClient: false,
  perMessageDeflate: false,
  maxHttpBufferSize: 1 << 20,
});

let seq = 0;

io.on("connection", (socket) => {
  let room = "lobby";
  socket.join(room);
  socket.on("join", (name: unknown) => {
    if (typeof name !== "string") return;
    socket.leave(room);
    room = name;
    socket.join(room);
  });
  socket.on("send", (m: { clientId?: unknown; body?: unknown }) => {
    if (typeof m?.body !== "string") return;
    io.to(room).emit("event", { seq: ++seq, at: Date.now(), clientId: m.clientId, body: m.body });
  });
});

http.listen(port, host, () => {
  process.stdout.write(`socketio-broadcast listening on ${host}:${port}\n`);
});

function stop(): void {
  io.close();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
