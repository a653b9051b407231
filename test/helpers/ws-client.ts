// A promise-based WebSocket test client for the /ws JSON protocol, plus a raw one (a plain TCP
// socket that does the handshake itself, for clients that misbehave at the transport level).

import { randomBytes } from "node:crypto";
import { type Socket, connect as tcpConnect } from "node:net";
import WebSocket from "ws";
import type { RoomEvent } from "../../src/core/types.ts";
import { type ClientFrame, decodeServerFrame, type WireServerFrame } from "../../src/protocols/ws/wire.ts";
import type { Json } from "./http.ts";

/** Any frame the server sends, loosely typed so tests can look at whatever they assert on. */
export type Frame = { type: string; id?: string | number; [key: string]: Json };

/** A request frame without its id (the client numbers requests itself). */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type Request = DistributiveOmit<ClientFrame, "id"> & { id?: string | number };

export interface HelloArgs {
  token?: string;
  guest?: string;
  resume?: Record<string, number>;
  presence?: boolean;
}

export class RequestError extends Error {
  constructor(readonly frame: Frame) {
    super(`${frame.code}: ${frame.message}`);
  }
}

interface Waiter {
  pred: (f: Frame) => boolean;
  resolve: (f: Frame) => void;
}

export class WsClient {
  /** Every frame received, in order, decoded as a client does (compact Messages made complete). */
  readonly frames: Frame[] = [];
  /** The same frames as the server sent them (JSON text). */
  readonly raw: string[] = [];
  /** Durable room events received, per room id, in arrival order. */
  readonly events = new Map<string, RoomEvent[]>();
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Once set, frames still arriving are ignored (as if the connection were already gone). */
  private detached = false;
  private nextId = 1;
  private readonly pending = new Map<string | number, (f: Frame) => void>();
  private waiters: Waiter[] = [];
  closeInfo: { code: number; reason: string } | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on("error", () => {}); // 'close' follows
    this.closed = new Promise((resolve) => {
      ws.once("close", (code: number, reason: Buffer) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
      });
    });
  }

  /** `localAddress` picks the client's address (127.0.0.x) for tests of per-address limits. */
  static connect(
    url: string,
    { timeoutMs = 5000, localAddress }: { timeoutMs?: number; localAddress?: string } = {},
  ): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, {
        perMessageDeflate: false,
        handshakeTimeout: timeoutMs,
        maxPayload: 256 * 1024 * 1024,
        localAddress,
      });
      const client = new WsClient(ws);
      ws.once("open", () => resolve(client));
      ws.once("error", reject);
    });
  }

  /** Connects and says hello; throws if the server answers with an error. */
  static async open(url: string, hello: HelloArgs, localAddress?: string): Promise<{ client: WsClient; welcome: Frame }> {
    const client = await WsClient.connect(url, { localAddress });
    const welcome = await client.hello(hello);
    if (welcome.type !== "welcome") {
      client.terminate();
      throw new RequestError(welcome);
    }
    return { client, welcome };
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.detached) return;
    if (isBinary) throw new Error("server sent a binary frame");
    const text = data.toString("utf8");
    this.raw.push(text);
    const frame = decodeServerFrame(JSON.parse(text) as WireServerFrame) as unknown as Frame;
    this.frames.push(frame);
    if (frame.type === "event") {
      const e = frame.event as RoomEvent;
      let list = this.events.get(e.roomId);
      if (!list) {
        list = [];
        this.events.set(e.roomId, list);
      }
      list.push(e);
    }
    if ((frame.type === "ok" || frame.type === "error" || frame.type === "welcome") && frame.id !== undefined) {
      const resolve = this.pending.get(frame.id);
      if (resolve) {
        this.pending.delete(frame.id);
        resolve(frame);
      }
    }
    if (this.waiters.length > 0) {
      const still: Waiter[] = [];
      for (const w of this.waiters) {
        if (w.pred(frame)) w.resolve(frame);
        else still.push(w);
      }
      this.waiters = still;
    }
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends hello and resolves with the `welcome` or `error` reply. */
  hello(args: HelloArgs, timeoutMs = 10_000): Promise<Frame> {
    return this.request({ type: "hello", ...args } as Request, timeoutMs);
  }

  /** Sends a request (numbering it unless it has an id) and resolves with its `ok` / `error` reply. */
  request(frame: Request, timeoutMs = 10_000): Promise<Frame> {
    const id = frame.id ?? `r${this.nextId++}`;
    const out = { ...frame, id };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no reply to ${JSON.stringify(out).slice(0, 200)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, (f) => {
        clearTimeout(timer);
        resolve(f);
      });
      void this.closed.then((c) => {
        if (!this.pending.has(id)) return;
        this.pending.delete(id);
        clearTimeout(timer);
        reject(new Error(`connection closed (${c.code} ${c.reason}) before the reply to ${out.type} ${id}`));
      });
      this.ws.send(JSON.stringify(out));
    });
  }

  /** A request that must succeed: resolves with its `result`. */
  async ok<T = Json>(frame: Request, timeoutMs?: number): Promise<T> {
    const reply = await this.request(frame, timeoutMs);
    if (reply.type !== "ok") throw new RequestError(reply);
    return reply.result as T;
  }

  /** A request that must fail: resolves with the error frame. */
  async error(frame: Request, timeoutMs?: number): Promise<Frame> {
    const reply = await this.request(frame, timeoutMs);
    if (reply.type !== "error")
      throw new Error(`expected an error for ${frame.type}, got ${JSON.stringify(reply).slice(0, 300)}`);
    return reply;
  }

  /** Sends bytes as they are: a text frame unless `binary`. */
  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /**
   * Resolves with the first frame matching `pred`, looking at frames already received from
   * index `from` (default: all of them) and then at new ones.
   */
  waitFor(pred: (f: Frame) => boolean, opts: { timeout?: number; from?: number; what?: string } = {}): Promise<Frame> {
    for (let i = opts.from ?? 0; i < this.frames.length; i++) {
      const f = this.frames[i]!;
      if (pred(f)) return Promise.resolve(f);
    }
    const timeout = opts.timeout ?? 5000;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        pred,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeout} ms waiting for ${opts.what ?? pred.toString().slice(0, 200)}`));
      }, timeout);
      this.waiters.push(waiter);
    });
  }

  /** Waits for a durable room event matching `pred` in `roomId`. */
  waitForEvent(
    roomId: string,
    pred: (e: RoomEvent) => boolean,
    opts: { timeout?: number; from?: number } = {},
  ): Promise<RoomEvent> {
    return this.waitFor((f) => f.type === "event" && f.event.roomId === roomId && pred(f.event as RoomEvent), {
      ...opts,
      what: `an event in ${roomId}`,
    }).then((f) => f.event as RoomEvent);
  }

  /** Waits until the room's events reach sequence `seq`. */
  waitForSeq(roomId: string, seq: number, timeout = 10_000): Promise<RoomEvent> {
    return this.waitForEvent(roomId, (e) => e.seq >= seq, { timeout });
  }

  eventsIn(roomId: string): RoomEvent[] {
    return this.events.get(roomId) ?? [];
  }

  lastSeq(roomId: string): number {
    const list = this.eventsIn(roomId);
    return list.length === 0 ? 0 : list[list.length - 1]!.seq;
  }

  /** Resolves with the close code and reason, or rejects after `timeout`. */
  async waitClose(timeout = 5000): Promise<{ code: number; reason: string }> {
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connection still open after ${timeout} ms`)), timeout);
    });
    try {
      return await Promise.race([this.closed, t]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes cleanly; frames arriving afterwards are ignored. */
  async close(): Promise<void> {
    this.detached = true;
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close(1000);
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, 2000))]);
    if ((this.ws.readyState as number) !== WebSocket.CLOSED) this.ws.terminate();
  }

  /** Drops the TCP connection at once, like a network loss; later frames are ignored. */
  terminate(): void {
    this.detached = true;
    this.ws.terminate();
  }
}

/** Asserts that sequence numbers are strictly contiguous (no gap, no duplicate), starting at `first` if given. */
export function contiguous(seqs: number[], first?: number): string | null {
  if (seqs.length === 0) return null;
  if (first !== undefined && seqs[0] !== first) return `first seq is ${seqs[0]}, expected ${first}`;
  for (let i = 1; i < seqs.length; i++) {
    if (seqs[i] !== seqs[i - 1]! + 1) return `seq ${seqs[i]} follows ${seqs[i - 1]} at index ${i}`;
  }
  return null;
}

// ---- raw WebSocket over a plain TCP socket ----

/** Encodes one masked client frame (opcode 1 = text, 2 = binary, 8 = close). */
export function encodeClientFrame(payload: Buffer, opcode = 1): Buffer {
  const mask = randomBytes(4);
  let header: Buffer;
  if (payload.length < 126) {
    header = Buffer.from([0x80 | opcode, 0x80 | payload.length]);
  } else if (payload.length < 65536) {
    header = Buffer.alloc(4);
    header[0] = 0x80 | opcode;
    header[1] = 0x80 | 126;
    header.writeUInt16BE(payload.length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  const masked = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) masked[i] = payload[i]! ^ mask[i & 3]!;
  return Buffer.concat([header, mask, masked]);
}

/**
 * Opens a TCP socket to the server, completes the WebSocket handshake on /ws and returns the
 * socket with whatever arrived after the handshake response. The caller drives it from there.
 */
export function rawWebSocket(port: number, timeoutMs = 5000): Promise<{ socket: Socket; received: () => Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let upgraded = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("raw WebSocket handshake timed out"));
    }, timeoutMs);
    socket.on("error", (err) => {
      if (!upgraded) reject(err);
    });
    socket.on("connect", () => {
      socket.write(
        [
          "GET /ws HTTP/1.1",
          `Host: 127.0.0.1:${port}`,
          "Upgrade: websocket",
          "Connection: Upgrade",
          `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}`,
          "Sec-WebSocket-Version: 13",
          "",
          "",
        ].join("\r\n"),
      );
    });
    socket.on("data", (d: Buffer) => {
      chunks.push(d);
      if (upgraded) return;
      const all = Buffer.concat(chunks);
      const end = all.indexOf("\r\n\r\n");
      if (end === -1) return;
      const head = all.subarray(0, end).toString("latin1");
      if (!/^HTTP\/1\.1 101/.test(head)) {
        clearTimeout(timer);
        socket.destroy();
        reject(new Error(`handshake refused: ${head}`));
        return;
      }
      upgraded = true;
      clearTimeout(timer);
      chunks.length = 0;
      chunks.push(all.subarray(end + 4));
      resolve({ socket, received: () => Buffer.concat(chunks) });
    });
  });
}
