// The JSON-over-WebSocket codecs: Parley's own protocol (docs/protocol.md) and the bare `ws`
// broadcast peer's (bench/peers/ws-broadcast.ts). Both deliver `{"type":"event",…}` frames with
// the body inside; the generator reads it from the raw frame without parsing the JSON.

import { benchRoom, readBody } from "../lib.ts";
import { type Codec, type Deliveries, parsed, type Session } from "./codec.ts";
import { type Conn, openWebSocket } from "./ws-client.ts";

/** Reports the deliveries and errors in one server frame, `buf[start, end)`. */
function decode(buf: Buffer, start: number, end: number, now: number, out: Deliveries): void {
  // Every event frame starts with {"type":"event" (Parley and the bare peer alike); member joins
  // and other events carry no benchmark body.
  if (buf[start + 9] === 0x65 && buf[start + 10] === 0x76) {
    if (readBody(buf, start, end, parsed)) out.message(parsed.step, parsed.sentAt, now);
  } else if (buf[start + 9] === 0x65 && buf[start + 10] === 0x72) {
    // {"type":"error"
    out.error(buf.toString("utf8", start, Math.min(end, start + 300)));
  }
}

/** Sends `frame` and resolves with the first reply `pick` accepts (frames meanwhile are dropped). */
function request<T>(conn: Conn, frame: object, pick: (f: Record<string, unknown>) => boolean): Promise<T> {
  return new Promise((resolve, reject) => {
    conn.onText = (buf, start, end) => {
      const f = JSON.parse(buf.toString("utf8", start, end)) as Record<string, unknown>;
      if (pick(f)) resolve(f as T);
    };
    conn.onClose = () => reject(new Error("closed before the reply"));
    conn.send(JSON.stringify(frame));
  });
}

function session(conn: Conn, out: Deliveries, encode: (body: string) => string): Session {
  const s: Session = {
    send: (body) => {
      if (conn.open) conn.send(encode(body));
    },
    close: () => conn.terminate(),
    onClose: null,
  };
  conn.onText = (buf, start, end, now) => decode(buf, start, end, now, out);
  conn.onClose = () => s.onClose?.();
  return s;
}

/** Parley: `hello` as a guest (the welcome lists #lobby, which every new account is in), then `join` by name with --rooms. */
export const parleyCodec: Codec = async (i, cfg, out) => {
  const conn = await openWebSocket(cfg.url, cfg.transport);
  try {
    const welcome = await request<{ type?: string; rooms?: { room: { id: string; name: string } }[] }>(
      conn,
      { type: "hello", id: 1, guest: `${cfg.namePrefix}${i}` },
      () => true,
    );
    if (welcome.type !== "welcome") throw new Error(`hello refused: ${JSON.stringify(welcome).slice(0, 200)}`);
    let room = welcome.rooms?.find((m) => m.room.name === "lobby")?.room.id;
    if (!room) throw new Error("welcome has no #lobby");
    if (cfg.rooms > 1) {
      const name = benchRoom(i, cfg.rooms);
      const joined = await request<{ type?: string; result?: { membership?: { room: { id: string } } } }>(
        conn,
        { type: "join", id: 2, room: name },
        (f) => f.id === 2,
      );
      room = joined.type === "ok" ? joined.result?.membership?.room.id : undefined;
      if (!room) throw new Error(`join ${name} refused: ${JSON.stringify(joined).slice(0, 200)}`);
    }
    let sent = 0;
    return session(conn, out, (body) => {
      sent++;
      return JSON.stringify({ type: "send", id: sent, room, clientId: `c${i}-${sent}`, body });
    });
  } catch (err) {
    conn.terminate();
    throw err;
  }
};

/** The bare peer: every client starts in "lobby"; with --rooms a `join` frame (no reply) moves it. */
export const bareCodec: Codec = async (i, cfg, out) => {
  const conn = await openWebSocket(cfg.url, cfg.transport);
  const room = cfg.rooms > 1 ? benchRoom(i, cfg.rooms) : "lobby";
  if (cfg.rooms > 1) conn.send(JSON.stringify({ type: "join", room }));
  let sent = 0;
  return session(conn, out, (body) => {
    sent++;
    return JSON.stringify({ type: "send", room, clientId: `c${i}-${sent}`, body });
  });
};
