// The WebSocket endpoint (`/ws`): translates frames to core calls and core events to frames.
//
// Writes are batched: frames for a client are queued in the client, and the first one queued
// makes it join the shared flush scheduler (../flush.ts), which writes every client's queue
// together — at the end of the current turn, so all events of one store commit reach each client
// in one TCP write, or, right after a long flush (a busy server), a little later, so several
// commits' events share it. A queue leaves as one Buffer in one socket.write: cheaper than a
// corked socket's stream entry per frame and the writev they become. Each run of events the hub
// hands over (a commit's events in a room) is serialized, framed and joined once for all its
// recipients, and that one Buffer is queued for every socket (see frame.ts).
//
// The protocol itself (handshake.ts, reader.ts, frame.ts) is ours, not a library's: an idle
// connection keeps its WsClient, a FrameReader and the socket, nothing else — no stream, no
// per-connection closure or listener table beyond the socket's own.

import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Chat } from "../../core/chat.ts";
import type { Connection, Peer } from "../../core/connection.ts";
import { ChatError, type ErrorCode, toChatError } from "../../core/errors.ts";
import { Bucket } from "../../core/rate-limit.ts";
import type { Account, Ephemeral, HistoryPage, RoomEvent } from "../../core/types.ts";
import type { Logger } from "../../log.ts";
import type { Metrics } from "../../metrics.ts";
import { whenDrained } from "../backpressure.ts";
import { type Flushable, FlushScheduler } from "../flush.ts";
import { decodeFrame, requestIdOf } from "./decode.ts";
import { closeFrame, PING_FRAME, pongFrame, textFrame } from "./frame.ts";
import { handlers } from "./handlers.ts";
import { acceptUpgrade, type Refusal, refusalResponse } from "./handshake.ts";
import { historyReplyFrame } from "./history-frame.ts";
import { FrameReader, type FrameSink } from "./reader.ts";
import { type ClientFrame, CloseCodes, eventToWire, type RequestIdValue, type WireServerFrame } from "./wire.ts";

export interface WsOptions {
  /** Largest frame answered with TOO_LARGE; frames over `hardFrameBytes` close the connection (1009). */
  maxFrameBytes: number;
  hardFrameBytes: number;
  /** A client whose unsent output exceeds this is dropped (and resumes when it reconnects). */
  maxBufferedBytes: number;
  helloTimeoutMs: number;
  heartbeatMs: number;
  /** Protocol errors in a row (malformed frames, requests before hello) before the connection is closed. */
  maxStrikes: number;
  /**
   * Origins (e.g. "https://chat.example.com") whose pages may open a WebSocket, besides the
   * server's own origin; "*" allows any. Clients that send no Origin (not browsers) are allowed.
   */
  allowedOrigins: string[];
}

export const defaultWsOptions: WsOptions = {
  maxFrameBytes: 64 * 1024,
  hardFrameBytes: 1024 * 1024,
  maxBufferedBytes: 4 * 1024 * 1024,
  helloTimeoutMs: 10_000,
  heartbeatMs: 30_000,
  maxStrikes: 20,
  allowedOrigins: [],
};

/** How long a closing connection may take to answer the close frame before its socket is destroyed. */
const CLOSE_GRACE_MS = 2000;

/** Errors that count toward closing the connection when they come `maxStrikes` times in a row. */
const STRIKES = new Set<ErrorCode>([
  "BAD_REQUEST",
  "UNKNOWN_TYPE",
  "TOO_LARGE",
  "INVALID_UTF8",
  "NOT_AUTHENTICATED",
  "RATE_LIMITED",
]);
/** Message frames are limited by the core's message buckets; every other request by `connectionRequests`. */
const MESSAGE_FRAMES = new Set<string>(["send", "edit", "react"]);

// The hub hands a room's run of new events (a store commit's) to all of the room's connections
// in a row, the same array to each: remembering the last run framed is enough to frame each event,
// and join the run's frames, once for all of them.
let lastRun: readonly RoomEvent[] | null = null;
let lastRunFrames: Buffer = Buffer.alloc(0);

/** The frames of a run of events as one Buffer, built once however many clients it goes to. */
function eventFrames(run: readonly RoomEvent[]): Buffer {
  if (run !== lastRun) {
    const frames = run.map((e) => textFrame(JSON.stringify({ type: "event", event: eventToWire(e) } satisfies WireServerFrame)));
    lastRunFrames = frames.length === 1 ? frames[0]! : Buffer.concat(frames);
    lastRun = run;
  }
  return lastRunFrames;
}

/** Clients with output queued, written together (see the top of this file). */
const flushes = new FlushScheduler();

export class WsGateway {
  private readonly clients = new Set<WsClient>();
  private readonly sweeper: NodeJS.Timeout;
  private closing = false;
  readonly opts: WsOptions;

  constructor(
    readonly chat: Chat,
    readonly log: Logger,
    readonly metrics: Metrics,
    opts: Partial<WsOptions> = {},
  ) {
    this.opts = { ...defaultWsOptions, ...opts };
    this.sweeper = setInterval(() => this.sweep(), 1000);
    this.sweeper.unref();
    metrics.flushers.set("ws", flushes);
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    // Node's HTTP server let go of the socket when it emitted 'upgrade': an error here is ours to take.
    socket.on("error", destroySocket);
    if (!originAllowed(req, this.opts.allowedOrigins)) {
      // Another site's page must not use its visitor's browser to talk to us (cross-site WebSocket hijacking).
      this.metrics.disconnects.inc({ protocol: "ws", reason: "origin" });
      const message = JSON.stringify({ error: { code: "FORBIDDEN", message: "this origin may not open a WebSocket here" } });
      refuse(socket, { status: 403, message, headers: { "Content-Type": "application/json; charset=utf-8" } });
      return;
    }
    const accepted = acceptUpgrade(req);
    if (typeof accepted !== "string") {
      refuse(socket, accepted);
      return;
    }
    // A client that already hung up.
    if (!socket.readable || !socket.writable) {
      socket.destroy();
      return;
    }
    socket.write(accepted);
    // Node's HTTP server upgrades net (or TLS) sockets, whatever its types say.
    const client = new WsClient(this, socket as ClientSocket);
    this.clients.add(client);
    this.metrics.connections.inc({ protocol: "ws" });
    this.metrics.connectionsTotal.inc({ protocol: "ws" });
    // Frames that came in the request's packet are read like later ones (the client is registered by now).
    if (head.length > 0) socket.unshift(head);
  }

  removed(client: WsClient): void {
    this.clients.delete(client);
    this.metrics.connections.dec({ protocol: "ws" });
  }

  get size(): number {
    return this.clients.size;
  }

  /** Stops taking frames, waits for requests in flight (their sends commit), then closes every client with 1001. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweeper);
    await Promise.all([...this.clients].map((c) => c.drainRequests()));
    for (const c of this.clients) c.close(CloseCodes.GOING_AWAY, "server shutting down");
    const deadline = Date.now() + 2000;
    while (this.clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const c of this.clients) c.terminate();
  }

  get wireLimits() {
    return {
      maxFrameBytes: this.opts.maxFrameBytes,
      maxMessageBytes: this.chat.limits.maxMessageBytes,
      historyPageMax: this.chat.limits.historyPageMax,
    };
  }

  get shuttingDown(): boolean {
    return this.closing;
  }

  private sweep(): void {
    const now = Date.now();
    for (const c of this.clients) c.tick(now);
  }
}

/** Same origin (the Origin's host is the Host the request was sent to), a listed origin, or no Origin at all. */
export function originAllowed(req: IncomingMessage, allowed: string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allowed.includes("*") || allowed.includes(origin)) return true;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false; // "null" (sandboxed frames, file: pages) and garbage
  }
  return host !== "" && host.toLowerCase() === (req.headers.host ?? "").toLowerCase();
}

const kClient = Symbol("wsClient");
/** The upgraded socket, with a slot for its client: the socket listeners below are shared by every connection. */
type ClientSocket = Socket & { [kClient]: WsClient };

function destroySocket(this: Duplex): void {
  this.destroy();
}

/** Answers a refused upgrade; once the answer is out the socket goes, whether or not the client closes its side. */
function refuse(socket: Duplex, r: Refusal): void {
  socket.once("finish", destroySocket);
  socket.end(refusalResponse(r));
}

function onSocketData(this: ClientSocket, chunk: Buffer): void {
  this[kClient].data(chunk);
}

function onSocketEnd(this: ClientSocket): void {
  this[kClient].ended();
}

function onSocketClose(this: ClientSocket): void {
  this[kClient].closed();
}

/** Where a connection stands: it takes and sends frames, it sent its close frame (or its peer left), or its socket closed. */
const OPEN = 0;
const CLOSING = 1;
const CLOSED = 2;

class WsClient implements Peer, Flushable, FrameSink {
  private readonly reader: FrameReader;
  private state = OPEN;
  /** The peer's close frame came, or its frames broke the protocol: nothing more will be read. */
  private readingDone = false;
  private connection: Connection | null = null;
  private authenticating = false;
  private strikes = 0;
  private inFlight = 0;
  /** Waiting for the requests in flight to finish (shutdown, flood close); made when first needed. */
  private idle: (() => void)[] | null = null;
  /** Closing for flooding: no new frames are taken, the answers to those in flight still go out. */
  private flooded = false;
  private readonly openedAt = Date.now();
  private lastPing = Date.now();
  private alive = true;
  /** Frames written since the last flush, in order (see the top of this file). */
  private queued: Buffer[] = [];
  /** Made at the first request it limits: a bucket made later starts as full as an untouched one would be. */
  private requests: Bucket | null = null;

  constructor(
    private readonly gw: WsGateway,
    private readonly socket: ClientSocket,
  ) {
    this.reader = new FrameReader(this, gw.opts.hardFrameBytes);
    socket[kClient] = this;
    // An idle socket must not time out, and frames go out as soon as they are written.
    socket.setTimeout(0);
    socket.setNoDelay(true);
    socket.on("data", onSocketData);
    socket.on("end", onSocketEnd);
    socket.on("close", onSocketClose);
  }

  // ---- Peer ----

  roomEvents(run: readonly RoomEvent[]): void {
    this.write(eventFrames(run));
  }

  ephemeral(e: Ephemeral): void {
    if (e.type === "revoked") {
      this.close(CloseCodes.SESSION_REVOKED, "session revoked");
      return;
    }
    this.reply(e.type === "joined" ? { type: "joined", membership: e.membership } : e);
  }

  ready(): Promise<void> {
    // A replay queues a page between calls: it goes to the socket now, so that the socket's
    // buffer, which 'drain' follows, holds it.
    this.flush();
    return whenDrained(this.socket, () => this.socket.writableLength, this.gw.opts.maxBufferedBytes / 4);
  }

  // ---- lifecycle ----

  /** The socket closed ('close' comes once). */
  closed(): void {
    this.state = CLOSED;
    this.gw.removed(this);
    this.connection?.close();
    this.connection = null;
  }

  /**
   * Sends the close frame (after what is queued: acks go first) and waits for the peer's; one
   * that never answers (a half-open socket, slowloris) is cut off after CLOSE_GRACE_MS. With no
   * `code` the close frame is empty (answering a peer's empty one).
   */
  close(code: number | undefined, reason: string): void {
    if (this.state !== OPEN) return;
    this.flush();
    this.state = CLOSING;
    this.socket.write(closeFrame(code, reason));
    if (this.readingDone) this.socket.end();
    setTimeout(destroySocket.bind(this.socket), CLOSE_GRACE_MS).unref();
  }

  terminate(): void {
    if (this.state === OPEN) this.state = CLOSING;
    this.socket.destroy();
  }

  drainRequests(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.idle ??= [];
      this.idle.push(resolve);
    });
  }

  tick(now: number): void {
    // Closing: no ping may follow the close frame, and the timeout was counted once.
    if (this.state !== OPEN) return;
    if (!this.connection && now - this.openedAt > this.gw.opts.helloTimeoutMs) {
      this.gw.metrics.disconnects.inc({ protocol: "ws", reason: "hello_timeout" });
      this.close(CloseCodes.HELLO_TIMEOUT, "no hello");
      return;
    }
    if (now - this.lastPing < this.gw.opts.heartbeatMs) return;
    if (!this.alive) {
      this.gw.metrics.disconnects.inc({ protocol: "ws", reason: "heartbeat" });
      this.terminate();
      return;
    }
    this.alive = false;
    this.lastPing = now;
    this.socket.write(PING_FRAME);
  }

  // ---- inbound ----

  data(chunk: Buffer): void {
    this.reader.push(chunk);
  }

  /** The peer ended its side, with or without a close frame: so does the server. */
  ended(): void {
    if (this.state === OPEN) this.state = CLOSING;
    this.socket.end();
  }

  ping(payload: Buffer): void {
    if (this.state === OPEN) this.socket.write(pongFrame(payload));
  }

  pong(): void {
    this.alive = true;
  }

  peerClosed(code: number | undefined, reason: string): void {
    this.stopReading(code, reason);
  }

  protocolError(code: number, reason: string): void {
    this.gw.metrics.disconnects.inc({ protocol: "ws", reason: "protocol" });
    this.stopReading(code, reason);
  }

  /** The reader will read nothing more: answer with `code` unless our close frame went first (then the handshake is complete). */
  private stopReading(code: number | undefined, reason: string): void {
    this.readingDone = true;
    if (this.state !== OPEN) this.socket.end();
    else this.close(code, reason);
  }

  message(data: Buffer, isBinary: boolean): void {
    if (this.gw.shuttingDown || this.flooded) return;
    let frame: ClientFrame;
    try {
      if (isBinary) throw new ChatError("BAD_REQUEST", "frames are UTF-8 JSON text");
      frame = decodeFrame(data, this.gw.opts.maxFrameBytes);
    } catch (err) {
      this.fail(requestIdOf(data), err);
      return;
    }
    if (frame.type === "hello") {
      this.track(this.hello(frame));
      return;
    }
    const connection = this.connection;
    if (!connection) {
      this.fail(frame.id, new ChatError("NOT_AUTHENTICATED", "send hello first"));
      return;
    }
    if (!MESSAGE_FRAMES.has(frame.type)) {
      const now = Date.now();
      this.requests ??= new Bucket(this.gw.chat.limits.connectionRequests, now);
      const wait = this.requests.take(now);
      if (wait > 0) {
        this.fail(frame.id, new ChatError("RATE_LIMITED", "too many requests", { retryAfter: wait }));
        return;
      }
    }
    const handler = handlers[frame.type] as (c: Connection, f: ClientFrame) => Promise<unknown>;
    const id = frame.id;
    this.track(
      handler(connection, frame).then(
        (result) => {
          this.strikes = 0;
          if (frame.type === "send" && !(result as { duplicate: boolean }).duplicate) {
            this.gw.metrics.messageSent("ws");
          }
          // A page of messages is written straight into its frame (history-frame.ts: the same
          // bytes, without the wire objects and the JSON string on the way).
          if (frame.type === "history") this.write(historyReplyFrame(id, result as HistoryPage));
          else this.reply({ type: "ok", id, result } as WireServerFrame);
        },
        (err) => this.fail(id, err),
      ),
    );
  }

  private async hello(f: Extract<ClientFrame, { type: "hello" }>): Promise<void> {
    if (this.connection || this.authenticating) {
      this.fail(f.id, new ChatError("BAD_REQUEST", "hello was already sent"));
      return;
    }
    this.authenticating = true;
    try {
      let account: Account;
      if (f.token !== undefined) account = await this.gw.chat.authenticate(f.token);
      // A new guest name is limited per address like a registration (line mode and IRC do the same).
      else if (f.guest !== undefined) account = await this.gw.chat.guest(f.guest, this.socket.remoteAddress ?? "");
      else throw new ChatError("BAD_REQUEST", "hello needs a token or a guest name");
      if (this.state !== OPEN) return;
      const { connection } = await this.gw.chat.connect(account, this, {
        token: f.token,
        resume: f.resume,
        presence: f.presence,
        onWelcome: (connection, rooms) => {
          this.connection = connection;
          this.strikes = 0;
          this.reply({ type: "welcome", id: f.id, account, rooms, limits: this.gw.wireLimits });
        },
      });
      // The socket closed while the connection was opening: 'close' already ran.
      if (this.state !== OPEN) connection.close();
    } catch (err) {
      this.fail(f.id, err);
    } finally {
      this.authenticating = false;
    }
  }

  private track(p: Promise<void>): void {
    this.inFlight++;
    void p.finally(() => {
      if (--this.inFlight > 0 || !this.idle) return;
      const waiting = this.idle;
      this.idle = null;
      for (const resolve of waiting) resolve();
    });
  }

  // ---- outbound ----

  private reply(frame: WireServerFrame): void {
    this.write(textFrame(JSON.stringify(frame)));
  }

  private fail(id: RequestIdValue | undefined, err: unknown): void {
    const e = toChatError(err);
    if (e.code === "INTERNAL") this.gw.log.error("request failed", { err });
    this.gw.metrics.errors.inc({ protocol: "ws", code: e.code });
    const frame: WireServerFrame = { type: "error", id, code: e.code, message: e.message };
    if (e.retryAfter !== undefined) frame.retry_after = e.retryAfter;
    this.reply(frame);
    const strike = STRIKES.has(e.code) && ++this.strikes >= this.gw.opts.maxStrikes;
    if ((e.fatal || strike) && !this.flooded) {
      this.flooded = true;
      this.gw.metrics.disconnects.inc({ protocol: "ws", reason: "flood" });
      // Sends accepted before the verdict still commit; their acks go out before the close frame.
      void this.drainRequests().then(() => this.close(CloseCodes.FLOOD, "too many errors"));
    }
  }

  private write(frame: Buffer): void {
    if (this.state !== OPEN) return;
    if (this.queued.length === 0) {
      // What is still unsent from earlier flushes is what the client failed to read; this turn's
      // own writes do not count. Past the bound it is dropped rather than let its buffer grow;
      // it resumes on reconnect.
      if (this.socket.writableLength > this.gw.opts.maxBufferedBytes) {
        this.gw.metrics.disconnects.inc({ protocol: "ws", reason: "slow_consumer" });
        this.terminate();
        return;
      }
      flushes.add(this);
    }
    this.queued.push(frame);
  }

  /**
   * Sends the frames queued since the last flush in one write. Ping, pong and close frames go
   * straight to the socket; close() flushes first so the close frame comes last.
   * A connection that closed or was terminated meanwhile drops what is queued, as a terminated
   * socket drops anything unsent.
   */
  flush(): void {
    const queued = this.queued;
    if (queued.length === 0) return;
    this.queued = [];
    if (this.state !== OPEN) return;
    this.socket.write(queued.length === 1 ? queued[0]! : Buffer.concat(queued));
  }
}
