// Helpers for the cluster suite: server processes sharing one PostgreSQL schema and one Redis key
// prefix, a private redis-server that a test may stop and start, and a TCP proxy in front of
// PostgreSQL that a test can cut and restore. Everything is on loopback and cleaned up.

import { type ChildProcess, spawn } from "node:child_process";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { Redis } from "ioredis";
import pg from "pg";
import { uniq } from "../helpers/http.ts";
import { freePort, LOOSE_LIMITS, sleep, startServer, type TestServer } from "../helpers/server.ts";

export const PG_URL = process.env.PARLEY_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const REDIS_URL = process.env.PARLEY_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** A fresh schema in the test database; drop() removes it with everything in it. */
export async function freshSchema(): Promise<{ schema: string; drop(): Promise<void> }> {
  const schema = uniq("cluster_").toLowerCase();
  return {
    schema,
    async drop() {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

export interface NodeOptions {
  databaseUrl?: string;
  schema: string;
  redisUrl?: string;
  prefix: string;
  irc?: boolean;
  args?: string[];
  /** Limits over the test's loose ones. */
  limits?: Record<string, unknown>;
}

/** One Parley server process of the cluster (its own ports, a shared database and bus). */
export function startNode(o: NodeOptions): Promise<TestServer> {
  return startServer({
    irc: o.irc,
    // Three processes compiling TypeScript at once on a busy machine can take a while.
    startTimeoutMs: 120_000,
    config: { limits: { ...LOOSE_LIMITS, ...o.limits } },
    args: [
      "--database-url",
      o.databaseUrl ?? PG_URL,
      "--database-schema",
      o.schema,
      "--redis-url",
      o.redisUrl ?? REDIS_URL,
      "--redis-prefix",
      o.prefix,
      ...(o.args ?? []),
    ],
  });
}

/**
 * Keys under a prefix that would stay behind. The bus uses channels only; the rate limiter's
 * buckets (`<prefix>rl:…`) expire by themselves: each must have an expiry, and they are deleted
 * here so the test leaves nothing. A bucket without an expiry is returned like any other key.
 */
export async function keysLeft(prefix: string, url = REDIS_URL): Promise<string[]> {
  const r = new Redis(url, { lazyConnect: true });
  await r.connect();
  try {
    const left: string[] = [];
    for (const key of await r.keys(`${prefix}*`)) {
      const ttl = await r.pttl(key);
      // -2: the key expired between KEYS and PTTL (a rate-limit bucket refilling), so it is gone.
      if (ttl === -2) continue;
      if (key.startsWith(`${prefix}rl:`) && ttl > 0) await r.del(key);
      else left.push(key);
    }
    return left;
  } finally {
    r.disconnect();
  }
}

/** A redis-server of our own on a free loopback port, which a test may stop and start again. */
export class PrivateRedis {
  private proc: ChildProcess | null = null;
  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const r = new PrivateRedis(await freePort());
    await r.start();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const proc = spawn(
      "redis-server",
      ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
      { stdio: "ignore" },
    );
    this.proc = proc;
    process.once("exit", () => proc.kill("SIGKILL"));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
      if (await answers(this.port)) return;
      if (Date.now() > deadline) throw new Error("redis-server did not start");
      await sleep(50);
    }
  }

  /** kill -9: the server vanishes with every connection. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once("exit", resolve));
    proc.kill("SIGKILL");
    await exited;
    this.proc = null;
  }
}

async function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, "127.0.0.1");
    s.once("connect", () => s.write("PING\r\n"));
    s.once("data", (d) => {
      s.destroy();
      resolve(d.toString().startsWith("+PONG"));
    });
    s.once("error", () => resolve(false));
  });
}

/**
 * A TCP proxy on a free loopback port in front of `target`. cut() drops every connection and
 * refuses new ones (as when the database is down); restore() lets connections through again.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private up = true;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number, targetHost = "127.0.0.1"): Promise<TcpProxy> {
    let proxy!: TcpProxy;
    const server = createServer((client) => {
      if (!proxy.up) {
        client.destroy();
        return;
      }
      const upstream = tcpConnect(targetPort, targetHost);
      for (const s of [client, upstream]) {
        proxy.sockets.add(s);
        s.on("error", () => {});
        s.once("close", () => {
          proxy.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
    });
    proxy = new TcpProxy(server, port);
    return proxy;
  }

  cut(): void {
    this.up = false;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.up = true;
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
