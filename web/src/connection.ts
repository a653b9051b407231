// One logical connection to /ws that survives network loss: it reconnects with backoff, says
// hello again (with the resume positions the caller provides), and matches replies to requests
// by id. Requests made while disconnected fail at once with code "OFFLINE"; the caller's outbox
// decides what to retry.

import { backoffDelay } from "./outbox.ts";
import { type ClientFrame, type ClientFrameType, decodeFrame, type Results, type ServerFrame } from "./wire.ts";

export type ConnState = { status: "connecting" } | { status: "online" } | { status: "offline"; retryAt: number };

type Welcome = Extract<ServerFrame, { type: "welcome" }>;
type Push = Exclude<ServerFrame, { type: "welcome" | "ok" | "error" }>;
type Request = Exclude<ClientFrame, { type: "hello" }>;

export class RequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

export interface ConnectionOptions {
  url: string;
  /** The hello frame (without id) for the next attempt; called on every (re)connect. */
  hello: () => Extract<ClientFrame, { type: "hello" }>;
  onWelcome: (w: Welcome) => void;
  onPush: (f: Push) => void;
  onState: (s: ConnState) => void;
  /** hello was refused for good (bad token, guests disabled, name taken on first connect). */
  onRefused: (code: string, message: string) => void;
}

/** Close codes after which reconnecting right away would only repeat the failure. */
const SLOW_RETRY = new Set([4001, 4008]);
const PING_EVERY_MS = 25_000;
const PING_TIMEOUT_MS = 10_000;
/**
 * From opening the socket to the welcome. A handshake that stalls (a proxy that accepted the
 * connection and went quiet, a server that never answered the hello) would otherwise leave the
 * client "connecting" until TCP gives up, minutes later; past this it starts over with backoff.
 */
const WELCOME_TIMEOUT_MS = 20_000;

export class Connection {
  private ws: WebSocket | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  private attempt = 0;
  private welcomed = false;
  private everWelcomed = false;
  private stopped = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private welcomeTimer: ReturnType<typeof setTimeout> | undefined;
  state: ConnState = { status: "connecting" };

  constructor(private readonly opts: ConnectionOptions) {
    addEventListener("online", this.onOnline);
    addEventListener("offline", this.onOffline);
  }

  start(): void {
    this.open();
  }

  stop(): void {
    this.stopped = true;
    removeEventListener("online", this.onOnline);
    removeEventListener("offline", this.onOffline);
    clearTimeout(this.retryTimer);
    clearTimeout(this.welcomeTimer);
    clearInterval(this.pingTimer);
    this.ws?.close(1000);
    this.failPending();
  }

  /** Reconnects now instead of waiting for the backoff. */
  retryNow(): void {
    if (this.state.status !== "offline" || this.stopped) return;
    clearTimeout(this.retryTimer);
    this.open();
  }

  get online(): boolean {
    return this.welcomed;
  }

  request<T extends Request["type"]>(frame: Extract<Request, { type: T }>): Promise<Results[T]> {
    const ws = this.ws;
    if (!ws || !this.welcomed || ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new RequestError("OFFLINE", "not connected"));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject });
      ws.send(JSON.stringify({ ...frame, id }));
    });
  }

  private setState(s: ConnState): void {
    this.state = s;
    this.opts.onState(s);
  }

  private open(): void {
    if (this.stopped) return;
    this.welcomed = false;
    this.setState({ status: "connecting" });
    const ws = new WebSocket(this.opts.url);
    this.ws = ws;
    const helloId = this.nextId++;
    clearTimeout(this.welcomeTimer);
    this.welcomeTimer = setTimeout(() => {
      // Not waiting for the close handshake either: the other end is not answering.
      if (this.ws === ws && !this.welcomed) this.abandon(ws, 4000);
    }, WELCOME_TIMEOUT_MS);
    ws.onopen = () => ws.send(JSON.stringify({ ...this.opts.hello(), id: helloId }));
    ws.onmessage = (ev) => {
      if (this.ws !== ws || typeof ev.data !== "string") return;
      const frame = decodeFrame(ev.data);
      if (!frame) return;
      this.dispatch(frame as ServerFrame, helloId, ws);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.lost(SLOW_RETRY.has(ev.code) ? 4 : 0);
    };
  }

  private dispatch(frame: ServerFrame, helloId: number, ws: WebSocket): void {
    switch (frame.type) {
      case "welcome":
        clearTimeout(this.welcomeTimer);
        this.welcomed = true;
        this.everWelcomed = true;
        this.attempt = 0;
        this.startPing();
        this.setState({ status: "online" });
        this.opts.onWelcome(frame);
        return;
      case "ok":
      case "error": {
        if (frame.type === "error" && frame.id === helloId) {
          this.helloRefused(frame.code, frame.message, ws);
          return;
        }
        const p = typeof frame.id === "number" ? this.pending.get(frame.id) : undefined;
        if (!p) return;
        this.pending.delete(frame.id as number);
        if (frame.type === "ok") p.resolve(frame.result);
        else p.reject(new RequestError(frame.code, frame.message, frame.retry_after));
        return;
      }
      default:
        this.opts.onPush(frame);
    }
  }

  private helloRefused(code: string, message: string, ws: WebSocket): void {
    // A guest whose previous connection the server has not noticed as gone yet finds its own
    // name taken: that clears up within a heartbeat, so keep retrying.
    const transient = code === "UNAVAILABLE" || (code === "NAME_TAKEN" && this.everWelcomed);
    if (transient) {
      ws.close(1000);
      return;
    }
    this.stop();
    this.opts.onRefused(code, message);
  }

  /** Drops the socket without waiting for its close handshake, and reconnects with backoff. */
  private abandon(ws: WebSocket, code: number): void {
    this.ws = null;
    ws.close(code);
    this.lost(0);
  }

  private lost(extraAttempts: number): void {
    this.ws = null;
    clearTimeout(this.welcomeTimer);
    this.welcomed = false;
    clearInterval(this.pingTimer);
    this.failPending();
    if (this.stopped) return;
    this.attempt += extraAttempts;
    const delay = navigator.onLine === false ? 60_000 : backoffDelay(this.attempt++);
    this.setState({ status: "offline", retryAt: Date.now() + delay });
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  private failPending(): void {
    for (const p of this.pending.values()) p.reject(new RequestError("OFFLINE", "connection lost"));
    this.pending.clear();
  }

  /** Notices a connection that died silently (no close seen) within PING_EVERY + PING_TIMEOUT. */
  private startPing(): void {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      const ws = this.ws;
      const timer = setTimeout(() => {
        if (this.ws === ws) ws?.close(4000);
      }, PING_TIMEOUT_MS);
      this.request({ type: "ping" }).then(
        () => clearTimeout(timer),
        () => clearTimeout(timer),
      );
    }, PING_EVERY_MS);
  }

  private readonly onOffline = (): void => {
    // The browser knows the network is gone: do not wait for TCP to notice.
    if (this.ws) this.abandon(this.ws, 1000);
  };

  private readonly onOnline = (): void => {
    if (this.state.status === "offline") this.retryNow();
  };
}

export type { ClientFrameType };
