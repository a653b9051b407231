// The IRC gateway's listeners (plain TCP and optional TLS), the per-address connection limit,
// and what the gateway knows across its own clients: which IRC connections an account has here
// (for KILL, WALLOPS, AWAY and SETNAME, which have no counterpart in the core), which accounts
// are guests (for account tags), the member list of each room its clients have open (rooms.ts)
// and who is online. Those two are kept once per gateway, not once per client: an idle client
// costs the same in a channel of ten as in a channel of ten thousand.

import { readFileSync } from "node:fs";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import type { Chat } from "../../core/chat.ts";
import { toChatError } from "../../core/errors.ts";
import { nameKey } from "../../core/names.ts";
import type { PresenceChange } from "../../core/presence.ts";
import { KeyedBuckets } from "../../core/rate-limit.ts";
import type { Id } from "../../core/types.ts";
import type { Logger } from "../../log.ts";
import type { Metrics } from "../../metrics.ts";
import { clientOf, flushes, IrcClient } from "./client.ts";
import { renderPresence } from "./events.ts";
import type { IrcOptions } from "./options.ts";
import { RoomTables } from "./rooms.ts";

export interface TlsFiles {
  cert: string;
  key: string;
}

export class IrcGateway {
  private readonly servers: Server[] = [];
  readonly clients = new Set<IrcClient>();
  /** Clients that are IRC operators (IrcClient.setOper). */
  readonly opers = new Set<IrcClient>();
  /** Each account's IRC connections here: an array, as an account has one or a few (a Set costs more). */
  private readonly byAccount = new Map<Id, IrcClient[]>();
  private readonly perAddress = new Map<string, number>();
  private readonly exempt: Set<string>;
  /** accountId → guest? Filled as accounts are met; an account never changes between the two. */
  private readonly guests = new Map<Id, boolean>();
  /** The member list of each room a local IRC client has open. */
  readonly rooms = new RoomTables();
  /**
   * Who is online is the core's list (hub.presence), read by every client here: not copied per
   * client. The gateway hears each change once and tells only the clients that show presence.
   */
  private readonly stopPresence: () => void;
  /** Clients with away-notify or a MONITOR list: the ones a presence change may concern. */
  private readonly presenceClients = new Set<IrcClient>();
  /** Online guests renamed here: id → name (the core keeps the name they came online with). */
  private readonly renamed = new Map<Id, string>();
  /** Guest lookups in flight, by account id. */
  private readonly resolving = new Map<Id, Promise<void>>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly logins: KeyedBuckets;
  private closing = false;
  /** Registered clients here (every connection in byAccount). */
  private registeredClients = 0;
  /** The number of public rooms for welcome bursts, and when it was read. */
  private roomCount: { at: number; count: Promise<number> } | null = null;
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
    metrics.flushers.set("irc", flushes);
    this.stopPresence = chat.hub.onPresence((p) => this.onPresence(p));
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
    socket.on("error", ignore);
    if (this.closing) {
      socket.destroy();
      return;
    }
    const address = socket.remoteAddress ?? "";
    try {
      this.chat.admission.admit(address);
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
      this.chat.admission.release(address);
      return;
    }
    this.perAddress.set(address, count);
    const client = new IrcClient(this, socket, tls);
    this.clients.add(client);
    this.metrics.connections.inc({ protocol: "irc" });
    this.metrics.connectionsTotal.inc({ protocol: "irc" });
    // 'close' comes once: `on` keeps no once-wrapper (~150 B) per connection.
    socket.on("close", onSocketClose);
  }

  /** A client's socket closed: everything the gateway counted for it is given back. */
  disconnected(client: IrcClient): void {
    if (!this.clients.delete(client)) return;
    this.chat.admission.release(client.address);
    const left = (this.perAddress.get(client.address) ?? 1) - 1;
    if (left <= 0) this.perAddress.delete(client.address);
    else this.perAddress.set(client.address, left);
    this.metrics.connections.dec({ protocol: "irc" });
    client.closed();
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweeper);
    this.stopPresence();
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
    const list = this.byAccount.get(accountId);
    if (list?.includes(c)) return;
    if (list) list.push(c);
    else this.byAccount.set(accountId, [c]);
    this.registeredClients++;
  }

  removeAccountClient(accountId: Id, c: IrcClient): void {
    const list = this.byAccount.get(accountId);
    const i = list?.indexOf(c) ?? -1;
    if (!list || i < 0) return;
    list.splice(i, 1);
    this.registeredClients--;
    if (list.length === 0) this.byAccount.delete(accountId);
  }

  /** How many clients here are registered. */
  get localUsers(): number {
    return this.registeredClients;
  }

  /**
   * How many public rooms there are, for a welcome burst's LUSERS. Read at most once a second:
   * the store counts every room's members to list them, and a crowd connecting at once would
   * have it do so for each of them.
   */
  publicRoomCount(): Promise<number> {
    const now = Date.now();
    if (this.roomCount === null || now - this.roomCount.at > 1000) {
      const count = this.chat.listRooms().then(
        (rooms) => rooms.length,
        () => 0,
      );
      this.roomCount = { at: now, count };
    }
    return this.roomCount.count;
  }

  clientsOf(accountId: Id): IrcClient[] {
    return [...(this.byAccount.get(accountId) ?? [])];
  }

  /** The away message an account set over IRC here, if every one of its IRC connections is away. */
  awayOf(accountId: Id): string | null {
    const list = this.byAccount.get(accountId);
    if (!list || list.length === 0) return null;
    let message: string | null = null;
    for (const c of list) {
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
    return this.opers.size;
  }

  // ---- who is online ----

  isOnline(accountId: Id): boolean {
    return this.chat.hub.presence.isOnline(accountId);
  }

  get onlineCount(): number {
    return this.chat.hub.presence.size;
  }

  /** Every online account as [id, name], with the names guests took here. */
  *onlineAccounts(): IterableIterator<[Id, string]> {
    for (const [accountId, name] of this.chat.hub.presence.entries()) yield [accountId, this.renamed.get(accountId) ?? name];
  }

  /** The online account with this name (any case), if any. */
  onlineByName(nick: string): { accountId: Id; name: string } | null {
    const key = nameKey(nick);
    for (const [accountId, name] of this.onlineAccounts()) if (nameKey(name) === key) return { accountId, name };
    return null;
  }

  /** An online guest took another name here. */
  renameOnline(accountId: Id, name: string): void {
    if (this.isOnline(accountId)) this.renamed.set(accountId, name);
  }

  /** Follows the client's interest in presence (away-notify, MONITOR): call after either changes, and once it closed. */
  notePresenceInterest(c: IrcClient, closed = false): void {
    if (!closed && (c.caps.has("away-notify") || (c.monitor?.size ?? 0) > 0)) this.presenceClients.add(c);
    else this.presenceClients.delete(c);
  }

  private onPresence(p: PresenceChange): void {
    const name = this.renamed.get(p.accountId) ?? p.name;
    if (!p.online) this.renamed.delete(p.accountId);
    for (const c of this.presenceClients) renderPresence(c, p.accountId, name, p.online);
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

/** Socket errors end in "close", which does the cleaning up; one shared listener for every socket. */
function ignore(): void {}

/** The one "close" listener of every client socket (no closure per connection). */
function onSocketClose(this: Socket): void {
  const client = clientOf(this);
  if (client) client.gw.disconnected(client);
}
