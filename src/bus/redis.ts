// The Bus between server processes: Redis pub/sub through ioredis.
//
// Two connections, as Redis requires: one publishes, one subscribes. Topics become channels named
// `<prefix><topic>`, so deployments and tests can share one Redis; messages travel as JSON.
//
// Redis pub/sub is at most once, which is what the port promises: the core fills gaps from the
// Store by sequence number. So this bus never waits for Redis to come back:
// - publish rejects at once while the publisher is disconnected (no offline queue), and a publish
//   whose reply does not come within commandTimeoutMs rejects too (it is never resent);
// - subscribe resolves once Redis confirms the subscription (the core subscribes before reading
//   the room's position, so that nothing committed in between is missed), and rejects at once
//   while disconnected.
// Both connections reconnect by themselves. Subscriptions are the bus's own record of what was
// asked for (subscribe/unsubscribe calls, in call order, set semantics as in LocalBus), not
// Redis's: on every (re)connection the subscriber subscribes to all of them again, including one
// whose subscribe was refused during an outage, and drops what was unsubscribed meanwhile.
// Messages on a topic not in that record are not delivered, so an unsubscribe takes effect when
// it is called, even while Redis is unreachable.

import { Redis, type RedisOptions } from "ioredis";
import type { Bus, BusMessage } from "../core/ports.ts";

export interface RedisBusOptions {
  /** Prepended to every topic to name its channel. Default "parley:". */
  prefix?: string;
  /** Connection names (CLIENT LIST) are `<name>:pub` and `<name>:sub`. Default "parley". */
  name?: string;
  /** A command without a reply after this long rejects. Default 2000 ms. */
  commandTimeoutMs?: number;
  /** How long the first connection may take before subscribe/publish give up. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Upper bound of the delay between reconnection attempts. Default 2000 ms. */
  maxRetryDelayMs?: number;
  /** Connection errors (each reconnection attempt reports one) and malformed messages. Ignored by default. */
  onError?: (err: Error) => void;
}

export class RedisBusUnavailableError extends Error {
  constructor(message = "the Redis bus is not connected") {
    super(message);
    this.name = "RedisBusUnavailableError";
  }
}

export class RedisBus implements Bus {
  readonly prefix: string;
  private readonly pub: Redis;
  private readonly sub: Redis;
  /** Topics asked for, in the order of the calls; the source of truth for what is delivered. */
  private readonly topics = new Set<string>();
  /** Topics unsubscribed while Redis may still have them (the UNSUBSCRIBE did not go through). */
  private readonly stale = new Set<string>();
  private handler: ((topic: string, msg: BusMessage) => void) | null = null;
  private reconnected: (() => void) | null = null;
  /** The subscriber has been connected before: its next "ready" is a reconnection. */
  private connectedBefore = false;
  private readonly connectTimeoutMs: number;
  private readonly onError: (err: Error) => void;
  /** Connections that have been ready at least once: after that, a disconnection fails fast. */
  private readonly beenReady = new Set<Redis>();
  /** Callers waiting in whenReady(), woken (with an error) by close(). */
  private readonly waiters = new Set<(err: Error) => void>();
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(url = "redis://127.0.0.1:6379", opts: RedisBusOptions = {}) {
    this.prefix = opts.prefix ?? "parley:";
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
    this.onError = opts.onError ?? (() => {});
    const maxDelay = opts.maxRetryDelayMs ?? 2000;
    const name = opts.name ?? "parley";
    const common: RedisOptions = {
      // Fail fast instead of queueing while disconnected; reconnect forever with backoff.
      enableOfflineQueue: false,
      commandTimeout: opts.commandTimeoutMs ?? 2000,
      connectTimeout: this.connectTimeoutMs,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), maxDelay),
    };
    // A publish cut off by a disconnection is not sent again after reconnecting: at most once.
    this.pub = new Redis(url, { ...common, connectionName: `${name}:pub`, autoResendUnfulfilledCommands: false });
    // ioredis resubscribes what it had on reconnect (autoResubscribe); resync() below also covers
    // what was asked for or dropped while disconnected.
    this.sub = new Redis(url, { ...common, connectionName: `${name}:sub`, autoResubscribe: true });
    for (const r of [this.pub, this.sub]) {
      r.on("error", (err: Error) => this.onError(err));
      r.on("ready", () => this.beenReady.add(r));
    }
    this.sub.on("message", (channel: string, payload: string) => this.deliver(channel, payload));
    this.sub.on("ready", () => this.resync());
  }

  async publish(topic: string, msg: BusMessage): Promise<void> {
    await this.whenReady(this.pub);
    await this.pub.publish(this.prefix + topic, JSON.stringify(msg));
  }

  async subscribe(topic: string): Promise<void> {
    if (this.closed) throw new RedisBusUnavailableError("the bus is closed");
    this.topics.add(topic);
    this.stale.delete(topic);
    await this.whenReady(this.sub);
    await this.sub.subscribe(this.prefix + topic);
  }

  async unsubscribe(topic: string): Promise<void> {
    if (!this.topics.delete(topic) || this.closed) return;
    // Delivery stops now (deliver() checks the record); Redis is told when it can be.
    try {
      await this.whenReady(this.sub);
      await this.sub.unsubscribe(this.prefix + topic);
    } catch {
      if (!this.topics.has(topic)) this.stale.add(topic);
    }
  }

  onMessage(handler: (topic: string, msg: BusMessage) => void): void {
    this.handler = handler;
  }

  onReconnect(handler: () => void): void {
    this.reconnected = handler;
  }

  /** Stops delivery at once, then quits both connections. Safe to call twice. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      this.handler = null;
      this.topics.clear();
      this.stale.clear();
      for (const wake of this.waiters) wake(new RedisBusUnavailableError("the bus is closed"));
      this.closing = Promise.all([quit(this.pub), quit(this.sub)]).then(() => {});
    }
    return this.closing;
  }

  private deliver(channel: string, payload: string): void {
    if (this.closed || !channel.startsWith(this.prefix)) return;
    const topic = channel.slice(this.prefix.length);
    if (!this.topics.has(topic)) return;
    let msg: BusMessage;
    try {
      msg = JSON.parse(payload) as BusMessage;
    } catch {
      this.onError(new Error(`ignored a message that is not JSON on ${channel}`));
      return;
    }
    this.handler?.(topic, msg);
  }

  /**
   * After each (re)connection: subscribe to everything asked for, drop what was given up
   * meanwhile, and after a reconnection tell the core that messages may have been lost.
   */
  private resync(): void {
    if (this.closed) return;
    const again = this.connectedBefore;
    this.connectedBefore = true;
    const wanted = [...this.topics].map((t) => this.prefix + t);
    const subscribed = wanted.length > 0 ? this.sub.subscribe(...wanted) : Promise.resolve();
    subscribed.then(
      () => {
        if (again && !this.closed) this.reconnected?.();
      },
      (err: Error) => this.onError(err),
    );
    const dropped = [...this.stale].filter((t) => !this.topics.has(t));
    this.stale.clear();
    if (dropped.length > 0) {
      this.sub.unsubscribe(...dropped.map((t) => this.prefix + t)).catch((err: Error) => {
        for (const t of dropped) if (!this.topics.has(t)) this.stale.add(t);
        this.onError(err);
      });
    }
  }

  /**
   * Resolves when the connection can take a command. Only the very first connection is waited for
   * (up to connectTimeoutMs); once a connection has been up, a disconnection fails at once.
   */
  private whenReady(r: Redis): Promise<void> {
    if (this.closed) return Promise.reject(new RedisBusUnavailableError("the bus is closed"));
    if (r.status === "ready") return Promise.resolve();
    if (r.status === "end" || this.beenReady.has(r)) return Promise.reject(new RedisBusUnavailableError());
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        r.off("ready", onReady);
        r.off("end", onEnd);
        this.waiters.delete(done);
        if (err) reject(err);
        else resolve();
      };
      const onReady = () => done();
      const onEnd = () => done(new RedisBusUnavailableError());
      const timer = setTimeout(() => done(new RedisBusUnavailableError("timed out connecting to Redis")), this.connectTimeoutMs);
      r.on("ready", onReady);
      r.on("end", onEnd);
      this.waiters.add(done);
    });
  }
}

async function quit(r: Redis): Promise<void> {
  if (r.status === "end") return;
  if (r.status === "ready") {
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 1000).unref());
    await Promise.race([r.quit().catch(() => {}), timeout]);
  }
  r.disconnect();
}
