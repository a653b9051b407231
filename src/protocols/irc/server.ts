// The IRC gateway's listeners (plain TCP and optional TLS), the per-address connection limit,
// and what the gateway knows across its own clients: which IRC connections an account has here
// (for KILL, WALLOPS, AWAY and SETNAME, which have no counterpart in the core) and which
// accounts are guests (for account tags).

import { readFileSync } from "node:fs";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import type { Chat } from "../../core/chat.ts";
import { toChatError } from "../../core/errors.ts";
import { KeyedBuckets } from "../../core/rate-limit.ts";
import type { Id, Role } from "../../core/types.ts";
import type { Logger } from "../../log.ts";
import type { Metrics } from "../../metrics.ts";
import { type ChanMember, IrcClient } from "./client.ts";
import type { IrcOptions } from "./options.ts";

/** How many shared member entries the gateway remembers (IrcGateway.member). */
const MAX_SHARED_MEMBERS = 100_000;

export interface TlsFiles {
  cert: string;
  key: string;
}

export class IrcGateway {
  private readonly servers: Server[] = [];
  readonly clients = new Set<IrcClient>();
  private readonly byAccount = new Map<Id, Set<IrcClient>>();
  private readonly perAddress = new Map<string, number>();
  private readonly exempt: Set<string>;
  /** accountId → guest? Filled as accounts are met; an account never changes between the two. */
  private readonly guests = new Map<Id, boolean>();
  /** The one entry of each plain member (no role, not muted), shared by every client's channels. */
  private readonly plainMembers = new Map<Id, ChanMember>();
  /** Guest lookups in flight, by account id. */
  private readonly resolving = new Map<Id, Promise<void>>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly logins: KeyedBuckets;
  private closing = false;
  readonly createdAt = new Date();
  private batchCounter = 0;

  constructor(
    readonly chat: Chat,
    readonly log: Logger,
    readonly metrics: Metrics,
    readonly opts: IrcOptions,
    readonly version: string,
  ) {
    this.exempt = new Set(opts.exemptAddresses);
    this.logins = new KeyedBuckets(opts.loginRate);
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const c of this.clients) c.tick(now);
    }, 1000);
    this.sweeper.unref();
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return this.start(
      createServer((socket) => this.accept(socket, false)),
      port,
      host,
    );
  }

  listenTls(port: number, host: string, files: TlsFiles): Promise<AddressInfo> {
    const server = createTlsServer({ cert: readFileSync(files.cert), key: readFileSync(files.key) }, (socket) =>
      this.accept(socket, true),
    );
    // A failed handshake (a plain-text client on the TLS port) is that client's problem only.
    server.on("tlsClientError", () => {});
    return this.start(server, port, host);
  }

  private start(server: Server, port: number, host: string): Promise<AddressInfo> {
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve(server.address() as AddressInfo));
    });
  }

  private accept(socket: Socket, tls: boolean): void {
    socket.on("error", () => {});
    if (this.closing) {
      socket.destroy();
      return;
    }
    const address = socket.remoteAddress ?? "";
    let release: () => void;
    try {
      release = this.chat.admission.admit(address);
    } catch (err) {
      this.metrics.disconnects.inc({ protocol: "irc", reason: "too_many_connections" });
      socket.end(`ERROR :${toChatError(err).message}\r\n`);
      return;
    }
    const limit = this.opts.maxConnectionsPerAddress;
    const count = (this.perAddress.get(address) ?? 0) + 1;
    if (limit > 0 && count > limit && !this.exempt.has(address)) {
      this.metrics.disconnects.inc({ protocol: "irc", reason: "too_many_connections" });
      socket.end(`ERROR :Too many connections from your address (at most ${limit})\r\n`);
      release();
      return;
    }
    this.perAddress.set(address, count);
    const client = new IrcClient(this, socket, tls);
    this.clients.add(client);
    this.metrics.connections.inc({ protocol: "irc" });
    this.metrics.connectionsTotal.inc({ protocol: "irc" });
    socket.once("close", () => {
      release();
      this.clients.delete(client);
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left <= 0) this.perAddress.delete(address);
      else this.perAddress.set(address, left);
      this.metrics.connections.dec({ protocol: "irc" });
      client.closed();
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweeper);
    const closed = this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    await Promise.all([...this.clients].map((c) => c.shutdown()));
    await Promise.all(closed);
  }

  /**
   * Takes one password check (or account registration) for an address. Returns 0 when allowed,
   * else the milliseconds to wait: each check costs a memory-hard hash, and guessing is slowed.
   */
  loginWait(address: string): number {
    if (this.exempt.has(address)) return 0;
    return this.logins.take(address, Date.now());
  }

  nextBatchId(): string {
    this.batchCounter = (this.batchCounter + 1) % 1_000_000_000;
    return `b${this.batchCounter.toString(36)}`;
  }

  // ---- IRC connections by account (this process only) ----

  addAccountClient(accountId: Id, c: IrcClient): void {
    let set = this.byAccount.get(accountId);
    if (!set) {
      set = new Set();
      this.byAccount.set(accountId, set);
    }
    set.add(c);
  }

  removeAccountClient(accountId: Id, c: IrcClient): void {
    const set = this.byAccount.get(accountId);
    if (!set?.delete(c)) return;
    if (set.size === 0) this.byAccount.delete(accountId);
  }

  clientsOf(accountId: Id): IrcClient[] {
    return [...(this.byAccount.get(accountId) ?? [])];
  }

  /** The away message an account set over IRC here, if every one of its IRC connections is away. */
  awayOf(accountId: Id): string | null {
    const set = this.byAccount.get(accountId);
    if (!set || set.size === 0) return null;
    let message: string | null = null;
    for (const c of set) {
      if (c.away === null) return null;
      message = c.away;
    }
    return message;
  }

  realnameOf(accountId: Id, name: string): string {
    for (const c of this.byAccount.get(accountId) ?? []) if (c.realname) return c.realname;
    return name;
  }

  isBot(accountId: Id): boolean {
    for (const c of this.byAccount.get(accountId) ?? []) if (c.bot) return true;
    return false;
  }

  isOper(accountId: Id): boolean {
    for (const c of this.byAccount.get(accountId) ?? []) if (c.oper) return true;
    return false;
  }

  opersOnline(): number {
    let n = 0;
    for (const c of this.clients) if (c.oper) n++;
    return n;
  }

  // ---- channel members ----

  /**
   * A channel member entry. Every IRC client keeps the member list of each of its channels, so a
   * room of n IRC clients holds n² entries: plain members (most of them) share one object per
   * account instead of one per client. Entries are replaced, never changed, except a guest's
   * name, which changes for every client at once.
   */
  member(accountId: Id, name: string, role: Role, muted: boolean): ChanMember {
    if (role !== "member" || muted) return { accountId, name, role, muted };
    let m = this.plainMembers.get(accountId);
    if (m === undefined) {
      m = { accountId, name, role, muted };
      // Every guest is a new account: start over now and then rather than keep them all. Entries
      // handed out stay valid; later ones are shared anew.
      if (this.plainMembers.size >= MAX_SHARED_MEMBERS) this.plainMembers.clear();
      this.plainMembers.set(accountId, m);
    } else if (m.name !== name) {
      m.name = name;
    }
    return m;
  }

  // ---- guests ----

  /** True for a guest, false for a registered account, undefined when not known yet. */
  isGuest(accountId: Id): boolean | undefined {
    return this.guests.get(accountId);
  }

  noteAccount(accountId: Id, guest: boolean): void {
    this.guests.set(accountId, guest);
  }

  /**
   * Finds out which of these accounts are guests (a registered account is found by name with the
   * same id). One lookup per account at a time: a join reaches every IRC client here at once, and
   * each of them asks about the newcomer.
   */
  async resolveGuests(accounts: { accountId: Id; name: string }[]): Promise<void> {
    const unknown = accounts.filter((a) => !this.guests.has(a.accountId));
    for (let i = 0; i < unknown.length; i += 32) {
      await Promise.all(unknown.slice(i, i + 32).map((a) => this.resolveGuest(a.accountId, a.name)));
    }
  }

  private resolveGuest(accountId: Id, name: string): Promise<void> {
    let pending = this.resolving.get(accountId);
    if (!pending) {
      pending = this.chat
        .findAccount(name)
        .then(
          (found) => {
            this.guests.set(accountId, found?.id !== accountId);
          },
          () => {}, // unknown for now; asked again next time
        )
        .finally(() => this.resolving.delete(accountId));
      this.resolving.set(accountId, pending);
    }
    return pending;
  }
}
