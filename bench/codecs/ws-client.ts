// WebSocket client transports for the load generator's codecs: the `ws` library, or a minimal
// RFC 6455 client (the default, several times cheaper per received frame). Both hand each text
// frame's payload to `onText` with the arrival time of the read that held it.

import { createHash, randomBytes } from "node:crypto";
import { connect as netConnect, type Socket } from "node:net";
import WebSocket from "ws";
import { mono } from "../lib.ts";
import { traffic } from "./codec.ts";

/** One client socket: the `ws` library, or the minimal client below (the default, much cheaper per frame). */
export interface Conn {
  send(text: string): void;
  terminate(): void;
  readonly open: boolean;
  /** Called with each text frame's payload; `now` is the arrival time of the read that held it. */
  onText: ((payload: Buffer, now: number) => void) | null;
  onClose: (() => void) | null;
}

// ---- transport 1: the ws library ----

function wsConnect(url: string): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
    // A server that speaks first (engine.io's open packet) can have its frame emitted before the
    // caller has set onText: such frames wait here and are handed over when it is set.
    const early: { data: Buffer; at: number }[] = [];
    let onText: Conn["onText"] = null;
    const conn: Conn = {
      send: (text) => ws.send(text),
      terminate: () => ws.terminate(),
      get open() {
        return ws.readyState === WebSocket.OPEN;
      },
      get onText() {
        return onText;
      },
      set onText(h) {
        onText = h;
        while (onText && early.length > 0) {
          const f = early.shift()!;
          onText(f.data, f.at);
        }
      },
      onClose: null,
    };
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      if (onText) onText(data, mono());
      else early.push({ data, at: mono() });
    });
    ws.on("close", () => conn.onClose?.());
    ws.on("error", (err) => reject(err));
    ws.on("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode} on upgrade`)));
    ws.on("open", () => resolve(conn));
  });
}

// ---- transport 2: a minimal RFC 6455 client over a TCP socket ----
// Server frames are unmasked and small; the parser walks each read's frames in place, answers
// pings, and hands text payloads over as views into the read buffer (no copy, no events per frame).

class RawConn implements Conn {
  onText: ((payload: Buffer, now: number) => void) | null = null;
  onClose: (() => void) | null = null;
  private rest: Buffer | null = null;
  private fragments: Buffer[] = [];
  private closed = false;

  constructor(private readonly sock: Socket) {
    sock.on("close", () => {
      this.closed = true;
      this.onClose?.();
    });
    sock.on("error", () => {});
  }

  get open(): boolean {
    return !this.closed;
  }

  send(text: string): void {
    this.writeFrame(0x1, Buffer.from(text));
  }

  terminate(): void {
    this.sock.destroy();
  }

  private writeFrame(opcode: number, payload: Buffer): void {
    if (this.closed) return;
    const n = payload.length;
    const headLen = n < 126 ? 2 : n < 65536 ? 4 : 10;
    const frame = Buffer.allocUnsafe(headLen + 4 + n);
    frame[0] = 0x80 | opcode;
    if (n < 126) frame[1] = 0x80 | n;
    else if (n < 65536) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(n, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeBigUInt64BE(BigInt(n), 2);
    }
    const mask = randomBytes(4);
    mask.copy(frame, headLen);
    for (let i = 0; i < n; i++) frame[headLen + 4 + i] = payload[i]! ^ mask[i & 3]!;
    this.sock.write(frame);
  }

  data(chunk: Buffer): void {
    const now = mono();
    traffic.reads++;
    traffic.bytes += chunk.length;
    let buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = null;
    let off = 0;
    for (;;) {
      if (buf.length - off < 2) break;
      const b0 = buf[off]!;
      let len = buf[off + 1]! & 0x7f;
      let head = 2;
      if (len === 126) {
        if (buf.length - off < 4) break;
        len = buf.readUInt16BE(off + 2);
        head = 4;
      } else if (len === 127) {
        if (buf.length - off < 10) break;
        len = Number(buf.readBigUInt64BE(off + 2));
        head = 10;
      }
      if (buf.length - off < head + len) break;
      const payload = buf.subarray(off + head, off + head + len);
      off += head + len;
      const opcode = b0 & 0x0f;
      const fin = (b0 & 0x80) !== 0;
      if (opcode === 0x1 || opcode === 0x0) {
        if (!fin) {
          this.fragments.push(Buffer.from(payload));
          continue;
        }
        if (this.fragments.length > 0) {
          this.fragments.push(payload);
          const whole = Buffer.concat(this.fragments);
          this.fragments = [];
          this.onText?.(whole, now);
        } else if (opcode === 0x1) this.onText?.(payload, now);
      } else if (opcode === 0x9)
        this.writeFrame(0xa, Buffer.from(payload)); // ping → pong
      else if (opcode === 0x8) this.sock.end();
    }
    if (off < buf.length) {
      buf = buf.subarray(off);
      // Keep a copy: the socket may reuse its read buffer.
      this.rest = Buffer.from(buf);
    }
  }
}

function rawConnect(url: string): Promise<Conn> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = netConnect({ host: u.hostname, port: Number(u.port), noDelay: true });
    const key = randomBytes(16).toString("base64");
    const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
    let head = Buffer.alloc(0);
    const onHead = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) {
        if (head.length > 8192) fail(new Error("upgrade response too long"));
        return;
      }
      const text = head.toString("latin1", 0, end);
      if (!/^HTTP\/1\.1 101/.test(text) || !text.includes(accept)) {
        fail(new Error(`upgrade refused: ${text.split("\r\n")[0]}`));
        return;
      }
      sock.off("data", onHead);
      sock.off("error", fail);
      const conn = new RawConn(sock);
      sock.on("data", (c: Buffer) => conn.data(c));
      resolve(conn);
      const leftover = head.subarray(end + 4);
      if (leftover.length > 0) queueMicrotask(() => conn.data(Buffer.from(leftover)));
    };
    const fail = (err: Error) => {
      sock.destroy();
      reject(err);
    };
    sock.on("error", fail);
    sock.on("data", onHead);
    sock.on("connect", () => {
      sock.write(
        `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
  });
}

/** Opens a WebSocket to `url` with the chosen client. */
export function openWebSocket(url: string, transport: "raw" | "ws"): Promise<Conn> {
  return transport === "ws" ? wsConnect(url) : rawConnect(url);
}
