// HTTP: the REST API (/api/…), health and metrics, and the WebSocket upgrade on /ws.
// Handlers only translate: parse the request, call the core, write JSON.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Chat } from "../core/chat.ts";
import { ChatError, type ErrorCode, toChatError } from "../core/errors.ts";
import type { Account } from "../core/types.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { WsGateway } from "../protocols/ws/server.ts";
import type { StaticSite } from "./static.ts";

const MAX_BODY_BYTES = 64 * 1024;
export interface HttpOptions {
  /** A client must send its request headers within this long (slowloris) … */
  headersTimeoutMs: number;
  /** … and its whole request within this long. */
  requestTimeoutMs: number;
  /**
   * Requests of one connection being answered at once. Browsers do not pipeline; a client that
   * sends more before reading the answers is closed, so one read of pipelined requests cannot
   * set the server to work on thousands.
   */
  maxPipelinedRequests: number;
}

export const defaultHttpOptions: HttpOptions = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxPipelinedRequests: 16,
};

const STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  UNKNOWN_TYPE: 400,
  TOO_LARGE: 413,
  INVALID_UTF8: 400,
  NOT_AUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  INVALID_TOKEN: 401,
  NAME_TAKEN: 409,
  INVALID_NAME: 400,
  WEAK_PASSWORD: 400,
  GUESTS_DISABLED: 403,
  GUEST_FORBIDDEN: 403,
  NO_SUCH_ROOM: 404,
  NO_SUCH_MESSAGE: 404,
  NO_SUCH_ACCOUNT: 404,
  ROOM_EXISTS: 409,
  NOT_MEMBER: 403,
  FORBIDDEN: 403,
  INVITE_ONLY: 403,
  MUTED: 403,
  BANNED: 403,
  RATE_LIMITED: 429,
  LIMIT_REACHED: 403,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

interface Request {
  req: IncomingMessage;
  url: URL;
  /** The client's network address, for per-address limits. */
  address: string;
  params: Record<string, string>;
  /** The parsed JSON body (an object), or {} for requests without one. */
  body: Record<string, unknown>;
  account(): Promise<Account>;
}

interface Reply {
  status: number;
  body?: unknown;
  contentType?: string;
}

type Handler = (r: Request) => Promise<Reply>;

export interface HttpDeps {
  chat: Chat;
  ws: WsGateway;
  metrics: Metrics;
  log: Logger;
  version: string;
  /** The built web client; null serves the API only (GET / then lists the endpoints). */
  site?: StaticSite | null;
  http?: Partial<HttpOptions>;
}

export function createHttpServer(deps: HttpDeps): Server {
  const { chat, metrics } = deps;
  const routes: [method: string, pattern: RegExp, handler: Handler][] = [
    ["GET", /^\/$/, async () => ({ status: 200, contentType: "text/plain; charset=utf-8", body: index(deps.version) })],
    [
      "GET",
      /^\/healthz$/,
      async () => {
        try {
          await chat.store.countAccounts(); // the database answers
        } catch {
          throw new ChatError("UNAVAILABLE", "the database does not answer");
        }
        return { status: 200, body: { status: "ok", version: deps.version, connections: chat.hub.localConnections() } };
      },
    ],
    [
      "GET",
      /^\/metrics$/,
      async () => ({
        status: 200,
        contentType: metrics.registry.contentType,
        body: await metrics.registry.metrics(),
      }),
    ],
    [
      "POST",
      /^\/api\/register$/,
      async (r) => {
        const { account, token } = await chat.register(str(r.body, "name"), str(r.body, "password"), r.address);
        return { status: 201, body: { account, token } };
      },
    ],
    [
      "POST",
      /^\/api\/login$/,
      async (r) => ({ status: 200, body: await chat.login(str(r.body, "name"), str(r.body, "password"), r.address) }),
    ],
    [
      "POST",
      /^\/api\/logout$/,
      async (r) => {
        await r.account();
        await chat.logout(bearer(r.req));
        return { status: 204 };
      },
    ],
    ["GET", /^\/api\/me$/, async (r) => ({ status: 200, body: { account: await r.account() } })],
    [
      "POST",
      /^\/api\/password$/,
      async (r) => {
        const account = await r.account();
        const token = await chat.changePassword(account.name, str(r.body, "oldPassword"), str(r.body, "newPassword"), r.address);
        return { status: 200, body: { token } };
      },
    ],
    [
      "GET",
      /^\/api\/rooms$/,
      async (r) => {
        await r.account();
        return { status: 200, body: { rooms: await chat.listRooms() } };
      },
    ],
    [
      "POST",
      /^\/api\/rooms$/,
      async (r) => {
        const account = await r.account();
        const kind = optBool(r.body, "private") ? "private" : "public";
        const topic = typeof r.body.topic === "string" ? r.body.topic : "";
        const { room, events } = await chat.createRoom(account, str(r.body, "name"), kind, topic);
        for (const e of events) await chat.publish(e);
        return { status: 201, body: { room } };
      },
    ],
    [
      "GET",
      /^\/api\/rooms\/(?<room>[^/]+)\/messages$/,
      async (r) => {
        const account = await r.account();
        const q = r.url.searchParams;
        const page = await chat.history(account, r.params.room ?? "", {
          before: optInt(q, "before"),
          after: optInt(q, "after"),
          limit: optInt(q, "limit", 1),
        });
        return { status: 200, body: page };
      },
    ],
    ["GET", /^\/api\/search$/, (r) => search(r, r.url.searchParams.get("room") ?? undefined)],
    ["GET", /^\/api\/rooms\/(?<room>[^/]+)\/search$/, (r) => search(r, r.params.room)],
  ];

  /** GET /api/search?q=…[&room=][&before=][&limit=] and GET /api/rooms/{id}/search?q=… */
  async function search(r: Request, room: string | undefined): Promise<Reply> {
    const account = await r.account();
    const q = r.url.searchParams;
    const query = q.get("q");
    if (query === null) throw new ChatError("BAD_REQUEST", "q (the search words) is required");
    const before = q.get("before") ?? undefined;
    return { status: 200, body: await chat.search(account, { query, room, before, limit: optInt(q, "limit", 1) }) };
  }

  const opts = { ...defaultHttpOptions, ...deps.http };
  // A client that sends its request headers (or body) slowly is cut off: slowloris. Node checks
  // these timeouts every connectionsCheckingInterval, so that follows the shortest of them.
  const server = createServer(
    {
      headersTimeout: opts.headersTimeoutMs,
      requestTimeout: opts.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(opts.headersTimeoutMs / 2, 30_000)),
    },
    async (req, res) => {
      if (!admitRequest(req.socket, res)) return;
      const url = new URL(req.url ?? "/", "http://localhost");
      let reply: Reply;
      try {
        if (deps.site && (req.method === "GET" || req.method === "HEAD") && isSitePath(url.pathname)) {
          if (deps.site.serve(req, res, url.pathname)) return;
        }
        const route = routes.find(
          ([m, p]) => p.test(url.pathname) && (m === req.method || (m === "GET" && req.method === "HEAD")),
        );
        if (!route) {
          const known = routes.some(([, p]) => p.test(url.pathname));
          throw known
            ? new ChatError("METHOD_NOT_ALLOWED", `method ${req.method} is not allowed here`)
            : new ChatError("NOT_FOUND");
        }
        const [, pattern, handler] = route;
        const body = req.method === "POST" ? await readJson(req) : {};
        let account: Promise<Account> | null = null;
        reply = await handler({
          req,
          url,
          address: req.socket.remoteAddress ?? "",
          params: pattern.exec(url.pathname)?.groups ?? {},
          body,
          account: () => {
            account ??= chat.authenticate(bearer(req));
            return account;
          },
        });
      } catch (err) {
        const e = toChatError(err);
        if (e.code === "INTERNAL") deps.log.error("http request failed", { err, path: url.pathname });
        metrics.errors.inc({ protocol: "http", code: e.code });
        reply = { status: STATUS[e.code], body: { error: errorBody(e) } };
        if (e.retryAfter !== undefined) res.setHeader("Retry-After", Math.ceil(e.retryAfter / 1000));
      }
      send(res, reply, req.method === "HEAD");
    },
  );

  /** Requests of each connection being answered. */
  const inFlight = new WeakMap<Socket, number>();
  /** Counts the connection's requests in flight; past the bound the connection is closed, unanswered. */
  function admitRequest(socket: Socket, res: ServerResponse): boolean {
    if (socket.destroyed) return false; // more requests parsed from the read that closed it
    const n = (inFlight.get(socket) ?? 0) + 1;
    if (n > opts.maxPipelinedRequests) {
      metrics.disconnects.inc({ protocol: "http", reason: "pipelining" });
      socket.destroy();
      return false;
    }
    inFlight.set(socket, n);
    res.once("close", () => inFlight.set(socket, (inFlight.get(socket) ?? 1) - 1));
    return true;
  }

  // Every socket (a WebSocket starts as one) counts toward the per-address and total limits.
  // One listener function for every socket, added with `on` ('close' comes once): `once` would
  // keep a wrapper and its state per connection for as long as it is open (~150 B). The address
  // read at admission is the socket's, cached, when it closes.
  function released(this: Socket): void {
    chat.admission.release(this.remoteAddress ?? "");
  }
  server.on("connection", (socket: Socket) => {
    try {
      chat.admission.admit(socket.remoteAddress ?? "");
      socket.on("close", released);
    } catch (err) {
      metrics.disconnects.inc({ protocol: "http", reason: "too_many_connections" });
      const e = toChatError(err);
      const body = JSON.stringify({ error: errorBody(e) });
      socket.on("error", () => {});
      socket.end(
        `HTTP/1.1 ${e.code === "UNAVAILABLE" ? "503 Service Unavailable" : "429 Too Many Requests"}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    }
  });

  server.on("upgrade", (req, socket, head) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path !== "/ws") {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    deps.ws.handleUpgrade(req, socket, head);
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    // A timed-out connection is closed without an answer: it may be a browser's preconnected or
    // idle keep-alive socket that has sent nothing yet, and a 400 written there would be read as
    // the answer to the next page the browser asks for on it.
    if (err.code === "ERR_HTTP_REQUEST_TIMEOUT" || !socket.writable) {
      socket.destroy();
      return;
    }
    socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  });
  return server;
}

/** Paths the API owns; everything else may be the web client. */
function isSitePath(pathname: string): boolean {
  return !/^\/(?:api(?:\/|$)|ws$|healthz$|metrics$)/.test(pathname);
}

function errorBody(e: ChatError) {
  return e.retryAfter === undefined
    ? { code: e.code, message: e.message }
    : { code: e.code, message: e.message, retry_after: e.retryAfter };
}

function send(res: ServerResponse, reply: Reply, head: boolean): void {
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "no-referrer");
  res.setHeader("Cache-Control", "no-store");
  if (reply.body === undefined) {
    res.writeHead(reply.status).end();
    return;
  }
  const text = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    "Content-Type": reply.contentType ?? "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(head ? undefined : text);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ChatError("TOO_LARGE", `request bodies are at most ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks)));
  } catch (err) {
    throw err instanceof TypeError ? new ChatError("INVALID_UTF8") : new ChatError("BAD_REQUEST", "body is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new ChatError("BAD_REQUEST", "body must be a JSON object");
  return value as Record<string, unknown>;
}

function bearer(req: IncomingMessage): string {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
  if (!m?.[1]) throw new ChatError("NOT_AUTHENTICATED", "send Authorization: Bearer <token>");
  return m[1];
}

function str(body: Record<string, unknown>, key: string): string {
  const v = body[key];
  if (typeof v !== "string") throw new ChatError("BAD_REQUEST", `${key} must be a string`);
  return v;
}

function optBool(body: Record<string, unknown>, key: string): boolean {
  const v = body[key];
  if (v === undefined) return false;
  if (typeof v !== "boolean") throw new ChatError("BAD_REQUEST", `${key} must be true or false`);
  return v;
}

function optInt(q: URLSearchParams, key: string, min = 0): number | undefined {
  const v = q.get(key);
  if (v === null) return undefined;
  if (!/^\d{1,15}$/.test(v) || Number(v) < min)
    throw new ChatError("BAD_REQUEST", `${key} must be an integer of at least ${min}`);
  return Number(v);
}

function index(version: string): string {
  return [
    `Parley ${version}`,
    "",
    "WebSocket:  /ws        (see docs/protocol.md)",
    "REST:       /api/register, /api/login, /api/logout, /api/me, /api/password, /api/rooms, /api/rooms/{id}/messages,",
    "            /api/search, /api/rooms/{id}/search",
    "Health:     /healthz   Metrics: /metrics",
    "",
  ].join("\n");
}
