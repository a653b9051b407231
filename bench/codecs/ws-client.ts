// WebSocket client transports for the load generator's codecs: the `ws` library, or a minimal
// RFC 6455 client (the default, several times cheaper per received frame). Both hand each text
// frame's payload to `onText` with the arrival time of the read that held it.

import { createHash, randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import WebSocket from "ws";
import { mono } from "../lib.ts";
import { connectReading, READ_BUFFER, traffic } from "./codec.ts";

/** One client socket: the `ws` library, or the minimal client below (the default, much cheaper per frame). */
export interface Conn {
  send(text: string): void;
  terminate(): void;
  readonly open: boolean;
  /**
   * Called with each text frame's payload, `buf[start, end)`, and the arrival time of the read that
   * held it. The bytes are only valid during the call: the minimal client reuses its read buffer.
   */
  onText: ((buf: Buffer, start: number, end: number, now: number) => void) | null;
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
          onText(f.data, 0, f.data.length, f.at);
        }
      },
      onClose: null,
    };
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      if (onText) onText(data, 0, data.length, mono());
      else early.push({ data, at: mono() });
    });
    ws.on("close", () => conn.onClose?.());
    ws.on("error", (err) => reject(err));
    ws.on("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode} on upgrade`)));
    ws.on("open", () => resolve(conn));
  });
}

// ---- transport 2: a minimal RFC 6455 client over a TCP socket ----
// Server frames are unmasked and small. Every socket reads into the shared READ_BUFFER; text
// payloads are handed over as offsets into it (no sub-buffer per frame), and only an incomplete
// frame at the end of a read is copied out until the rest arrives.

class RawConn implements Conn {
  onText: Conn["onText"] = null;
  onClose: (() => void) | null = null;
  /** The upgrade response so far, until it is complete; then null. */
  private head: Buffer | null = Buffer.alloc(0);
  /** A copy of an incomplete frame at the end of the last read. */
  private rest: Buffer | null = null;
  private fragments: Buffer[] = [];
  private closed = false;

  /**
   * `upgraded` is called once: with null when the server accepted the upgrade (`accept` is the
   * Sec-WebSocket-Accept it must send), or with the reason it did not.
   */
  constructor(
    readonly sock: Socket,
    private readonly accept: string,
    private readonly upgraded: (err: Error | null) => void,
  ) {
    sock.on("close", () => {
      this.closed = true;
      this.onClose?.();
    });
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

  /** One read: its `n` bytes are at the start of READ_BUFFER until the next read. */
  read(n: number): void {
    const now = mono();
    traffic.reads++;
    traffic.bytes += n;
    if (this.head) this.readHead(READ_BUFFER.subarray(0, n), now);
    else if (this.rest) {
      const whole = Buffer.concat([this.rest, READ_BUFFER.subarray(0, n)]);
      this.rest = null;
      this.frames(whole, whole.length, now);
    } else this.frames(READ_BUFFER, n, now);
  }

  private readHead(chunk: Buffer, now: number): void {
    const head = Buffer.concat([this.head!, chunk]);
    const end = head.indexOf("\r\n\r\n");
    if (end < 0) {
      if (head.length > 8192) this.fail(new Error("upgrade response too long"));
      else this.head = head;
      return;
    }
    const text = head.toString("latin1", 0, end);
    if (!/^HTTP\/1\.1 101/.test(text) || !text.includes(this.accept)) {
      this.fail(new Error(`upgrade refused: ${text.split("\r\n")[0]}`));
      return;
    }
    this.head = null;
    this.upgraded(null);
    // Frames right behind the response (a server that speaks first) are parsed once the caller,
    // resumed by the promise, has set onText.
    if (end + 4 < head.length) queueMicrotask(() => this.frames(head.subarray(end + 4), head.length - end - 4, now));
  }

  private fail(err: Error): void {
    this.head = null;
    this.sock.destroy();
    this.upgraded(err);
  }

  /** Parses the frames in `buf[0, n)`; keeps a copy of an incomplete one at the end. */
  private frames(buf: Buffer, n: number, now: number): void {
    let off = 0;
    for (;;) {
      if (n - off < 2) break;
      const b0 = buf[off]!;
      let len = buf[off + 1]! & 0x7f;
      let head = 2;
      if (len === 126) {
        if (n - off < 4) break;
        len = buf.readUInt16BE(off + 2);
        head = 4;
      } else if (len === 127) {
        if (n - off < 10) break;
        len = Number(buf.readBigUInt64BE(off + 2));
        head = 10;
      }
      const start = off + head;
      const end = start + len;
      if (end > n) break;
      off = end;
      const opcode = b0 & 0x0f;
      const fin = (b0 & 0x80) !== 0;
      if (opcode === 0x1 || opcode === 0x0) {
        if (!fin) {
          this.fragments.push(Buffer.from(buf.subarray(start, end)));
          continue;
        }
        if (this.fragments.length > 0) {
          this.fragments.push(buf.subarray(start, end));
          const whole = Buffer.concat(this.fragments);
          this.fragments = [];
          this.onText?.(whole, 0, whole.length, now);
        } else if (opcode === 0x1) this.onText?.(buf, start, end, now);
      } else if (opcode === 0x9)
        this.writeFrame(0xa, Buffer.from(buf.subarray(start, end))); // ping → pong
      else if (opcode === 0x8) this.sock.end();
    }
    if (off < n) this.rest = Buffer.from(buf.subarray(off, n));
  }
}

function rawConnect(url: string): Promise<Conn> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString("base64");
    const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
    const sock = connectReading(u.hostname, Number(u.port), (n) => conn.read(n));
    const conn = new RawConn(sock, accept, (err) => (err ? reject(err) : resolve(conn)));
    sock.on("error", (err) => {
      sock.destroy();
      reject(err);
    });
    sock.on("close", () => reject(new Error("closed during the upgrade")));
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
