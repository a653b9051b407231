// Wires the adapters to the core and starts the listeners: what `parley serve` runs.

import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalBus } from "./bus/local.ts";
import { RedisBus } from "./bus/redis.ts";
import { Chat } from "./core/chat.ts";
import type { Limits } from "./core/limits.ts";
import type { Bus, RateLimiter, Store } from "./core/ports.ts";
import { LocalRateLimiter } from "./core/rate-limit.ts";
import { argon2Hasher } from "./hasher/argon2.ts";
import { createHttpServer, type HttpOptions } from "./http/server.ts";
import { loadStaticSite } from "./http/static.ts";
import type { Logger } from "./log.ts";
import { MemoryReducer, type MemoryReducerOptions, processProbe } from "./memory-reducer.ts";
import { createMetrics } from "./metrics.ts";
import type { IrcOptions } from "./protocols/irc/options.ts";
import { IrcGateway, type TlsFiles } from "./protocols/irc/server.ts";
import { type LineOptions, LineServer } from "./protocols/line/server.ts";
import { WsGateway, type WsOptions } from "./protocols/ws/server.ts";
import { RedisRateLimiter } from "./rate-limit/redis.ts";
import { PgStore } from "./store/postgres/index.ts";
import { SqliteStore } from "./store/sqlite/index.ts";
import { VERSION } from "./version.ts";

/** How long after a write the SQLite store's WAL is checkpointed, from a worker thread (see store/sqlite/checkpointer.ts). */
const WAL_CHECKPOINT_MS = 100;

export interface ServerConfig {
  host: string;
  port: number;
  linePort: number;
  /** IRC gateway port, 0 = off. */
  ircPort: number;
  /** IRC over TLS, 0 = off; needs ircTls. */
  ircTlsPort: number;
  ircTls: TlsFiles | null;
  irc: IrcOptions;
  dataDir: string;
  /** SQLite: least time in ms between the starts of two group commits (default 0: one per event-loop turn). */
  commitWindowMs?: number;
  /** postgres://… to use PostgreSQL instead of SQLite in dataDir. */
  databaseUrl: string;
  /** PostgreSQL schema of the tables (default "public"). */
  databaseSchema?: string;
  /** redis://… to use Redis as the bus between server processes. */
  redisUrl: string;
  /** Prefix of the Redis channel and key names (default "parley:"), so deployments can share one Redis. */
  redisPrefix?: string;
  allowGuests: boolean;
  limits: Partial<Limits>;
  ws: Partial<WsOptions>;
  http: Partial<HttpOptions>;
  line: Partial<LineOptions>;
  /** The built web client to serve (default: the package's web/dist). */
  webDir?: string;
  /** Full collections once the server idles after its heap grew (memory-reducer.ts); absent: never. */
  memoryReducer?: MemoryReducerOptions;
  log: Logger;
}

export interface RunningServer {
  http: AddressInfo;
  line: AddressInfo | null;
  irc: AddressInfo | null;
  ircTls: AddressInfo | null;
  /** Graceful: stop accepting, let requests in flight commit, close clients (1001), close the store. */
  close(): Promise<void>;
}

export async function startServer(cfg: ServerConfig): Promise<RunningServer> {
  const metrics = createMetrics();
  const store: Store = cfg.databaseUrl
    ? await PgStore.open(cfg.databaseUrl, {
        schema: cfg.databaseSchema,
        onError: (err) => cfg.log.warn("database connection error", { err }),
      })
    : new SqliteStore({
        path: join(cfg.dataDir, "parley.db"),
        commitWindowMs: cfg.commitWindowMs,
        checkpointEveryMs: WAL_CHECKPOINT_MS,
      });
  const bus: Bus = cfg.redisUrl
    ? new RedisBus(cfg.redisUrl, {
        prefix: cfg.redisPrefix,
        onError: (err) => cfg.log.warn("redis connection error", { err }),
      })
    : new LocalBus();
  // Per-account, per-address and per-name limits are shared by every process on the same Redis.
  const limiter: RateLimiter = cfg.redisUrl
    ? new RedisRateLimiter(cfg.redisUrl, {
        prefix: cfg.redisPrefix,
        onError: (err) => cfg.log.warn("rate limiter", { err }),
      })
    : new LocalRateLimiter({ now: () => Date.now() });
  const chat = new Chat({
    store,
    bus,
    limiter,
    hasher: argon2Hasher,
    limits: cfg.limits,
    allowGuests: cfg.allowGuests,
    onCommit: (ms, type) => metrics.commitSeconds.observe({ type }, ms / 1000),
  });
  await chat.start();

  const ws = new WsGateway(chat, cfg.log.child({ protocol: "ws" }), metrics, cfg.ws);
  const webDir = cfg.webDir ?? fileURLToPath(new URL("../web/dist", import.meta.url));
  const site = loadStaticSite(webDir);
  if (!site) cfg.log.warn("no web client build; serving the API only (npm run build:web builds it)", { webDir });
  const http = createHttpServer({
    chat,
    ws,
    metrics,
    log: cfg.log.child({ protocol: "http" }),
    version: VERSION,
    site,
    http: cfg.http,
  });
  const httpAddress = await new Promise<AddressInfo>((resolve, reject) => {
    http.once("error", reject);
    http.listen(cfg.port, cfg.host, () => resolve(http.address() as AddressInfo));
  });

  let line: LineServer | null = null;
  let lineAddress: AddressInfo | null = null;
  if (cfg.linePort !== 0) {
    line = new LineServer(chat, cfg.log.child({ protocol: "line" }), metrics, cfg.line);
    lineAddress = await line.listen(cfg.linePort, cfg.host);
  }

  let irc: IrcGateway | null = null;
  let ircAddress: AddressInfo | null = null;
  let ircTlsAddress: AddressInfo | null = null;
  if (cfg.ircPort !== 0 || cfg.ircTlsPort !== 0) {
    irc = new IrcGateway(chat, cfg.log.child({ protocol: "irc" }), metrics, cfg.irc, VERSION);
    if (cfg.ircPort !== 0) ircAddress = await irc.listen(cfg.ircPort, cfg.host);
    if (cfg.ircTlsPort !== 0 && cfg.ircTls) ircTlsAddress = await irc.listenTls(cfg.ircTlsPort, cfg.host, cfg.ircTls);
  }

  const reducer = cfg.memoryReducer ? new MemoryReducer(cfg.memoryReducer, processProbe(), cfg.log) : null;
  reducer?.start();

  return {
    http: httpAddress,
    line: lineAddress,
    irc: ircAddress,
    ircTls: ircTlsAddress,
    async close() {
      reducer?.stop();
      const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
      await Promise.all([ws.close(), line?.close(), irc?.close()]);
      http.closeAllConnections();
      await httpClosed;
      await chat.stop();
      await store.close();
      await bus.close();
      await limiter.close();
    },
  };
}
