// The terminal client's connection to the server: one WebSocket speaking the JSON protocol of
// src/protocols/ws/wire.ts. It says hello (token or guest name, plus the last sequence seen per
// room so the server replays what was missed), matches replies to requests by id, keeps every
// unacknowledged message in an outbox that is sent again — with the same client id, so the
// server stores it once — after a reconnect, and reconnects with exponential backoff and jitter.
// It knows nothing about the screen: frames go to the handlers, which feed the view model.

import WebSocket from "ws";
import type { ErrorCode } from "../core/errors.ts";
import type { Account, Membership } from "../core/types.ts";
import {
  type ClientFrame,
  decodeServerFrame,
  type Results,
  type ServerFrame,
  type WireLimits,
  type WireServerFrame,
} from "../protocols/ws/wire.ts";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A request frame without its id (the client numbers requests). */
export type RequestFrame = DistributiveOmit<Exclude<ClientFrame, { type: "hello" }>, "id">;
export type RequestType = RequestFrame["type"];
export type SendFrame = Omit<Extract<ClientFrame, { type: "send" }>, "id">;

export interface Welcome {
  account: Account;
  rooms: Membership[];
  limits: WireLimits;
}

export type Auth = { token: string } | { guest: string };

export type Status =
  | { state: "connecting"; attempt: number }
  | { state: "online" }
  | { state: "offline"; attempt: number; retryAt: number; reason: string }
  | { state: "closed" };

/** A request the server refused, or one that could not complete (DISCONNECTED, TIMEOUT). */
export class RequestFailed extends Error {
  override name = "RequestFailed";
  constructor(
    readonly code: ErrorCode | "DISCONNECTED" | "TIMEOUT" | "OFFLINE",
    message: string,
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

export type FailureKind = "auth" | "unreachable" | "tls" | "protocol";

/** Why connecting (or logging in) failed: maps to the exit code of `parley chat`. */
export class ConnectError extends Error {
  override name = "ConnectError";
  constructor(
    readonly kind: FailureKind,
    message: string,
    /** The server's error code (auth) or the system error code (network). */
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface Handlers {
  /** Each welcome, the first one included; `resumed` for those after a reconnect. */
  welcome(w: Welcome, resumed: boolean): void;
  /** Every frame that is not a reply: events, typing, presence, invited, joined. */
  frame(f: ServerFrame): void;
  status(s: Status): void;
  /** The server refused the session while reconnecting (token revoked): the client stops. */
  fatal(err: ConnectError): void;
}

export interface ClientOptions {
  /** ws:// or wss:// URL of the server's /ws endpoint. */
  url: string;
  auth: Auth;
  /** Room id → last sequence seen, sent in every hello. */
  resume: () => Record<string, number>;
  backoff?: { baseMs: number; maxMs: number };
  random?: () => number;
  requestTimeoutMs?: number;
  pingIntervalMs?: number;
  handshakeTimeoutMs?: number;
  /** Extra options for the `ws` client (e.g. TLS settings). */
  wsOptions?: WebSocket.ClientOptions;
}

/** Delay before reconnect attempt `attempt` (0-based): exponential, capped, with jitter in [50%, 100%]. */
export function backoffDelay(attempt: number, base = 300, max = 30_000, random = Math.random): number {
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling * (0.5 + random() / 2));
}

const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|EPROTO$|ERR_OSSL)/;
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "ECONNRESET",
  "EPIPE",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
]);

/** Turns a network error (from ws or fetch) into a ConnectError with a message a person understands. */
export function classifyNetworkError(err: unknown, where: string): ConnectError {
  // fetch wraps the system error in `cause`.
  let e = err as { code?: string; message?: string; cause?: unknown } | undefined;
  while (e && !e.code && e.cause) e = e.cause as typeof e;
  const code = e?.code;
  const message = e?.message ?? String(err);
  if (code && TLS_CODES.test(code)) return new ConnectError("tls", `TLS failure talking to ${where}: ${message} (${code})`, code);
  if (/certificate|tls|ssl/i.test(message) && !code?.startsWith("E")) {
    return new ConnectError("tls", `TLS failure talking to ${where}: ${message}`, code);
  }
  if (code === "ECONNREFUSED") return new ConnectError("unreachable", `cannot reach ${where}: connection refused`, code);
  if (code === "ENOTFOUND" || code === "EAI_AGAIN")
    return new ConnectError("unreachable", `cannot reach ${where}: host not found`, code);
  if (code && UNREACHABLE_CODES.has(code))
    return new ConnectError("unreachable", `cannot reach ${where}: ${message} (${code})`, code);
  if (/Unexpected server response/i.test(message)) {
    return new ConnectError("protocol", `${where} answered, but not as a Parley server (${message})`);
  }
  if (/timed? ?out/i.test(message)) return new ConnectError("unreachable", `cannot reach ${where}: timed out`, code);
  return new ConnectError("unreachable", `cannot reach ${where}: ${message}`, code);
}

/** Server error codes that mean the credentials themselves are refused. */
const AUTH_CODES = new Set<string>(["INVALID_TOKEN", "INVALID_CREDENTIALS", "NAME_TAKEN", "INVALID_NAME", "GUESTS_DISABLED"]);

interface Pending {
  resolve: (result: unknown) => void;
  reject: (err: RequestFailed) => void;
  timer: NodeJS.Timeout;
}

interface Outgoing {
  frame: SendFrame;
  resolve: (r: Results["send"]) => void;
  reject: (err: RequestFailed) => void;
  retry: NodeJS.Timeout | null;
}

export class ChatClient {
  private ws: WebSocket | null = null;
  private online = false;
  private attempt = 0;
  private stopped = false;
  private everConnected = false;
  private nextId = 1;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private readonly pending = new Map<string, Pending>();
  /** Messages not yet acknowledged, in the order they were typed, by client id. */
  private readonly outbox = new Map<string, Outgoing>();
  private handlers: Handlers | null = null;
  private readonly early: ((h: Handlers) => void)[] = [];
  private readonly random: () => number;
  private lastStatus: Status = { state: "connecting", attempt: 0 };

  constructor(private readonly opts: ClientOptions) {
    this.random = opts.random ?? Math.random;
  }

  /**
   * Opens the first connection and resolves with the welcome. Rejects with a ConnectError when
   * the server cannot be reached or refuses the credentials; no retry happens then.
   */
  connect(): Promise<Welcome> {
    return new Promise((resolve, reject) => this.open({ resolve, reject }));
  }

  /** Starts delivering frames (those that arrived since the welcome first). */
  listen(h: Handlers): void {
    this.handlers = h;
    for (const call of this.early.splice(0)) call(h);
    h.status(this.lastStatus);
  }

  get isOnline(): boolean {
    return this.online;
  }

  /** Messages typed but not yet acknowledged by the server. */
  get unacked(): number {
    return this.outbox.size;
  }

  /** Sends a request and resolves with its result; rejects with RequestFailed. Fails at once when offline. */
  request<T extends RequestType>(frame: Extract<RequestFrame, { type: T }>, timeoutMs?: number): Promise<Results[T]> {
    if (!this.online || !this.ws) {
      return Promise.reject(new RequestFailed("OFFLINE", "not connected to the server; try again when the connection is back"));
    }
    const id = `r${this.nextId++}`;
    const ws = this.ws;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.pending.delete(id);
          reject(new RequestFailed("TIMEOUT", `the server did not answer ${frame.type} in time`));
        },
        timeoutMs ?? this.opts.requestTimeoutMs ?? 20_000,
      );
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject, timer });
      ws.send(JSON.stringify({ ...frame, id }));
    });
  }

  /**
   * Sends a message. It stays in the outbox until the server acknowledges it and is sent again
   * after every reconnect with the same client id, so it is stored exactly once. Rejects only
   * when the server refuses it (muted, too large, not a member …).
   */
  send(frame: SendFrame): Promise<Results["send"]> {
    return new Promise((resolve, reject) => {
      const entry: Outgoing = { frame, resolve, reject, retry: null };
      this.outbox.set(frame.clientId, entry);
      if (this.online) this.write(entry);
    });
  }

  /** Stops for good: closes the socket, cancels timers, fails requests in flight. */
  close(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.stopPing();
    for (const o of this.outbox.values()) if (o.retry) clearTimeout(o.retry);
    const ws = this.ws;
    this.ws = null;
    this.online = false;
    this.failPending("DISCONNECTED");
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      ws.close(1000, "bye");
      setTimeout(() => ws.terminate(), 500).unref();
    }
    this.setStatus({ state: "closed" });
  }

  // ---- connection lifecycle ----

  private open(first?: { resolve: (w: Welcome) => void; reject: (e: ConnectError) => void }): void {
    if (this.stopped) return;
    this.setStatus({ state: "connecting", attempt: this.attempt });
    const ws = new WebSocket(this.opts.url, {
      perMessageDeflate: false,
      handshakeTimeout: this.opts.handshakeTimeoutMs ?? 10_000,
      ...this.opts.wsOptions,
    });
    this.ws = ws;
    let welcomed = false;
    let lastError: unknown = null;
    let refused: ConnectError | null = null;

    ws.on("open", () => {
      const hello: ClientFrame = { type: "hello", id: "hello", ...this.opts.auth, resume: this.opts.resume(), presence: false };
      ws.send(JSON.stringify(hello));
    });
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary || this.ws !== ws) return;
      let f: ServerFrame;
      try {
        f = decodeServerFrame(JSON.parse(data.toString("utf8")) as WireServerFrame);
      } catch {
        return;
      }
      if (!welcomed) {
        if (f.type === "welcome") {
          welcomed = true;
          this.welcomed(ws, { account: f.account, rooms: f.rooms, limits: f.limits }, first);
        } else if (f.type === "error" && f.id === "hello") {
          refused = AUTH_CODES.has(f.code)
            ? new ConnectError("auth", f.message, f.code)
            : new ConnectError("protocol", `the server refused the connection: ${f.message}`, f.code);
          ws.close(1000, "refused");
        } else this.deliver(f);
        return;
      }
      this.onFrame(f);
    });
    ws.on("error", (err) => {
      lastError = err;
    });
    ws.on("close", (code: number) => {
      if (this.ws !== ws) return;
      this.ws = null;
      const wasOnline = this.online;
      this.online = false;
      this.stopPing();
      this.failPending("DISCONNECTED");
      for (const o of this.outbox.values()) {
        if (o.retry) clearTimeout(o.retry);
        o.retry = null;
      }
      if (this.stopped) return;
      const failure =
        refused ?? (welcomed ? null : classifyNetworkError(lastError ?? new Error(`closed (${code})`), this.where()));
      if (first && !welcomed) {
        this.stopped = true;
        this.setStatus({ state: "closed" });
        first.reject(failure ?? new ConnectError("unreachable", `cannot reach ${this.where()}`));
        return;
      }
      // Refused on reconnect: a guest name still held by our own dead connection clears soon; a
      // revoked token does not.
      if (refused && refused.kind === "auth" && refused.code !== "NAME_TAKEN") {
        this.stopped = true;
        this.setStatus({ state: "closed" });
        this.emit((h) => h.fatal(refused!));
        return;
      }
      // A server going away (restart) comes back soon: try at once the first time.
      const delay = wasOnline && code === 1001 ? Math.round(200 * (0.5 + this.random() / 2)) : this.backoff(this.attempt);
      this.attempt++;
      const reason = refused?.message ?? (wasOnline ? closeReason(code) : (failure?.message ?? "connection lost"));
      this.setStatus({ state: "offline", attempt: this.attempt, retryAt: Date.now() + delay, reason });
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = null;
        this.open();
      }, delay);
    });
  }

  private backoff(attempt: number): number {
    const b = this.opts.backoff ?? { baseMs: 300, maxMs: 30_000 };
    return backoffDelay(attempt, b.baseMs, b.maxMs, this.random);
  }

  private welcomed(ws: WebSocket, w: Welcome, first?: { resolve: (w: Welcome) => void }): void {
    const resumed = this.everConnected;
    this.everConnected = true;
    this.online = true;
    this.attempt = 0;
    this.setStatus({ state: "online" });
    if (first) first.resolve(w);
    else this.emit((h) => h.welcome(w, resumed));
    // Everything typed while offline goes out now, in order, with its original client id.
    for (const entry of this.outbox.values()) if (this.ws === ws) this.write(entry);
    this.startPing(ws);
  }

  private write(entry: Outgoing): void {
    if (!this.ws || !this.online) return;
    this.ws.send(JSON.stringify({ ...entry.frame, id: `send:${entry.frame.clientId}` }));
  }

  private onFrame(f: ServerFrame): void {
    if ((f.type === "ok" || f.type === "error") && f.id !== undefined) {
      const id = String(f.id);
      if (id.startsWith("send:")) {
        this.onSendReply(id.slice(5), f);
        return;
      }
      const p = this.pending.get(id);
      if (p) {
        this.pending.delete(id);
        clearTimeout(p.timer);
        if (f.type === "ok") p.resolve(f.result);
        else p.reject(new RequestFailed(f.code, f.message, f.retry_after));
      }
      return;
    }
    this.deliver(f);
  }

  private onSendReply(clientId: string, f: Extract<ServerFrame, { type: "ok" | "error" }>): void {
    const entry = this.outbox.get(clientId);
    if (!entry) return; // an answer to a copy sent before a reconnect
    if (f.type === "ok") {
      this.outbox.delete(clientId);
      entry.resolve(f.result as Results["send"]);
      return;
    }
    if (f.code === "RATE_LIMITED" || f.code === "UNAVAILABLE") {
      const wait = Math.max(100, f.retry_after ?? 1000);
      entry.retry = setTimeout(() => {
        entry.retry = null;
        this.write(entry);
      }, wait);
      return;
    }
    this.outbox.delete(clientId);
    entry.reject(new RequestFailed(f.code, f.message, f.retry_after));
  }

  private deliver(f: ServerFrame): void {
    this.emit((h) => h.frame(f));
  }

  private emit(call: (h: Handlers) => void): void {
    if (this.handlers) call(this.handlers);
    else this.early.push(call);
  }

  private setStatus(s: Status): void {
    this.lastStatus = s;
    if (this.handlers) this.handlers.status(s);
  }

  private failPending(code: "DISCONNECTED"): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new RequestFailed(code, "the connection was lost before the server answered"));
      this.pending.delete(id);
    }
  }

  /** A request every interval; a server that does not answer within one interval is treated as gone. */
  private startPing(ws: WebSocket): void {
    const every = this.opts.pingIntervalMs ?? 20_000;
    this.pingTimer = setInterval(() => {
      if (this.ws !== ws) return;
      this.request({ type: "ping" }, every).catch((err: RequestFailed) => {
        if (err.code === "TIMEOUT" && this.ws === ws) ws.terminate();
      });
    }, every);
    this.pingTimer.unref();
  }

  private stopPing(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  private where(): string {
    try {
      const u = new URL(this.opts.url);
      return `${u.protocol === "wss:" ? "https" : "http"}://${u.host}`;
    } catch {
      return this.opts.url;
    }
  }
}

function closeReason(code: number): string {
  switch (code) {
    case 1001:
      return "the server is restarting";
    case 1006:
      return "connection lost";
    case 4008:
      return "disconnected for flooding";
    default:
      return `connection closed (${code})`;
  }
}

/** http://host:port (or ws://…, or host:port) → ws://host:port/ws; https → wss. */
export function wsUrl(server: string): string {
  const u = new URL(server);
  u.protocol = u.protocol === "https:" || u.protocol === "wss:" ? "wss:" : "ws:";
  u.pathname = "/ws";
  u.search = "";
  u.hash = "";
  return u.toString();
}

/**
 * The canonical form of a server address, used as its key in the config file: scheme, host and
 * port only. "example.org:8080" means http; ws:// and wss:// mean http:// and https://.
 */
export function normalizeServer(server: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(server) ? server : `http://${server}`;
  const u = new URL(withScheme);
  if (u.protocol === "ws:") u.protocol = "http:";
  else if (u.protocol === "wss:") u.protocol = "https:";
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new TypeError(`unsupported scheme ${u.protocol}`);
  return u.origin;
}
