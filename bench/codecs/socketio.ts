// Socket.IO 4 without socket.io-client: engine.io protocol v4 and socket.io protocol v5 spoken
// directly over a WebSocket (the websocket transport from the start, no polling), several times
// cheaper per delivery than the client library, so the generator is not what limits the peer.
// test/bench-codecs.test.ts checks it against socket.io-client and a real Socket.IO server.
//
// Engine.io packets are one WebSocket text frame each: "0{…}" open, "2" ping, "3" pong, "4…" message.
// A socket.io packet rides in a message: "40" connect (reply "40{sid}", or "44{…}" refused), "42[…]"
// event. What the peer (bench/peers/socketio-broadcast.ts) speaks:
//   client → server  42["join","bench-3"]                          (with --rooms; starts in "lobby")
//   client → server  42["send",{"room":…,"clientId":…,"body":…}]
//   server → client  42["event",{"seq":n,"at":ms,"clientId":…,"body":…}]

import { benchRoom, readBody } from "../lib.ts";
import { type Codec, parsed, type Session } from "./codec.ts";
import { type Conn, openWebSocket } from "./ws-client.ts";

/** The path of the engine.io endpoint, straight onto the websocket transport. */
export const SOCKETIO_PATH = "/socket.io/?EIO=4&transport=websocket";

/** A socket.io event packet in its engine.io message, as socket.io-client would write it. */
export function encodeEvent(name: string, data: unknown): string {
  return `42${JSON.stringify([name, data])}`;
}

const ENGINE_PING = 0x32; // "2"
const ENGINE_MESSAGE = 0x34; // "4"
const SIO_EVENT = 0x32; // "2"
const SIO_CONNECT_ERROR = 0x34; // "4"

/** Waits for the engine.io open packet, then connects to the main namespace. */
function handshake(conn: Conn): Promise<void> {
  return new Promise((resolve, reject) => {
    conn.onClose = () => reject(new Error("closed during the Socket.IO handshake"));
    conn.onText = (buf, start, end) => {
      const text = buf.toString("utf8", start, end);
      if (text.startsWith("0{")) conn.send("40");
      else if (text.startsWith("40")) resolve();
      else if (text.startsWith("44")) reject(new Error(`Socket.IO connect refused: ${text.slice(0, 200)}`));
      else if (text === "2") conn.send("3");
    };
  });
}

export const socketioCodec: Codec = async (i, cfg, out) => {
  const conn = await openWebSocket(cfg.url, cfg.transport);
  try {
    await handshake(conn);
  } catch (err) {
    conn.terminate();
    throw err;
  }
  const room = cfg.rooms > 1 ? benchRoom(i, cfg.rooms) : "lobby";
  if (cfg.rooms > 1) conn.send(encodeEvent("join", room));
  let sent = 0;
  const s: Session = {
    send: (body) => {
      sent++;
      if (conn.open) conn.send(encodeEvent("send", { room, clientId: `c${i}-${sent}`, body }));
    },
    close: () => conn.terminate(),
    onClose: null,
  };
  conn.onText = (buf, start, end, now) => {
    if (buf[start] === ENGINE_MESSAGE && buf[start + 1] === SIO_EVENT) {
      if (readBody(buf, start, end, parsed)) out.message(parsed.step, parsed.sentAt, now);
    } else if (buf[start] === ENGINE_PING && end - start === 1) conn.send("3");
    else if (buf[start] === ENGINE_MESSAGE && buf[start + 1] === SIO_CONNECT_ERROR)
      out.error(buf.toString("utf8", start, Math.min(end, start + 300)));
  };
  conn.onClose = () => s.onClose?.();
  return s;
};
