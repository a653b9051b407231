// One IRC connection: reads lines, registers (CAP, NICK, USER, PASS, SASL), then translates
// commands to core calls (commands/) and core events to IRC lines (events.ts).
//
// Lines are handled in order, each held back by fakelag first. A command's
// replies go into its ResponseBuffer; events the command itself caused (this account is the
// actor) while it runs join that buffer, so they carry its label. Everything else is written at
// once. Output is queued per client and written when the turn's callback and promise jobs are
// done (`process.nextTick`), or, right after a long flush (a busy room), a little later (see
// ../flush.ts): all lines of one store commit, or of several, leave in one socket write, one
// Buffer per client (fanout.ts encodes channel content once per capability set, and a queue
// holding only a room's content since the last flush is written as the Buffer every client with
// the same capabilities gets: see sendContent()). PRIVMSG and NOTICE to a
// shown target are pipelined (see pipeline()); every other line is handled alone, in order.

import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { LOBBY } from "../../core/chat.ts";
import type { Connection, Peer } from "../../core/connection.ts";
import { ChatError, toChatError } from "../../core/errors.ts";
import { checkAccountName, nameKey } from "../../core/names.ts";
import type { Account, Ephemeral, Id, Membership, Room, RoomEvent } from "../../core/types.ts";
import { whenDrained } from "../backpressure.ts";
import { FlushScheduler } from "../flush.ts";
import { CapSet } from "./caps.ts";
import { commands } from "./commands/index.ts";
import { renderChannelEvent, renderDirectEvent, renderEphemeral } from "./events.ts";
import { Fakelag } from "./fakelag.ts";
import { type ContentRun, contentPlace, contentStretch, encodedContent, endRun, isContent, placeRun } from "./fanout.ts";
import { defaultLineLimits, encodeLine, type IrcMessage, ParseError, parseLine } from "./message.ts";
import * as N from "./numerics.ts";
import type { IrcOptions } from "./options.ts";
import { chatErrorReply, FailReply, FatalReply, NumericReply } from "./replies.ts";
import { DirectSink, ResponseBuffer, type Sink, type Writer } from "./response.ts";
import { byName, type ChanMember, entry, joinRuns } from "./rooms.ts";
import type { IrcGateway } from "./server.ts";
import { sendWelcome } from "./welcome.ts";

/**
 * A room shown as a channel. `held` collects its events until the JOIN burst has been written.
 * `members` is the gateway's one list for the room (rooms.ts), shared by every client here that
 * has it open; member events change it there, never through a channel.
 */
export interface Channel {
  id: Id;
  name: string;
  kind: Room["kind"];
  topic: string;
  createdAt: number;
  members: ReadonlyMap<Id, ChanMember>;
  held: RoomEvent[] | null;
  /** The member events up to this sequence were in the NAMES of the JOIN burst. */
  shownSeq: number;
}

/**
 * A client's channels by room id, in the order they were added: the part of a Map's interface the
 * client uses, over an array. Clients are in few channels (CHANLIMIT bounds them), so a scan finds
 * one as fast as a hash would; and a Map's table costs ~150 B even with one entry, on every client.
 */
export class Channels {
  /**
   * Replaced on each change by concat(), slice() or map(), which make arrays of the exact length:
   * one grown by push() (or spread, or filter()) keeps room for 17 (~150 B again).
   */
  private list: readonly Channel[] = [];

  get(id: Id): Channel | undefined {
    for (const ch of this.list) if (ch.id === id) return ch;
    return undefined;
  }

  has(id: Id): boolean {
    return this.get(id) !== undefined;
  }

  /** Adds the channel, or replaces the one with its id (kept in its place). */
  set(ch: Channel): void {
    const i = this.list.findIndex((c) => c.id === ch.id);
    this.list = i < 0 ? this.list.concat([ch]) : this.list.map((c, j) => (j === i ? ch : c));
  }

  delete(id: Id): boolean {
    const i = this.list.findIndex((c) => c.id === id);
    if (i < 0) return false;
    this.list = this.list.slice(0, i).concat(this.list.slice(i + 1));
    return true;
  }

  values(): IterableIterator<Channel> {
    return this.list.values();
  }
}

/** A direct conversation, shown as private messages with `peerName`. */
export interface Direct {
  id: Id;
  peerId: Id;
  peerName: string;
  held: RoomEvent[] | null;
}

/** An inbound draft/multiline batch being assembled. */
interface InboundBatch {
  command: string;
  target: string;
  tags: Record<string, string>;
  label: string | null;
  text: string;
  lines: number;
  failed: boolean;
}

/** Lines longer than this (tags plus body) are not even buffered: the rest of the line is skipped. */
const MAX_RAW_LINE = defaultLineLimits.maxTagBytes + defaultLineLimits.maxBodyBytes;
const MAX_ORPHANS = 1000;
const NO_DIRECTS: ReadonlyMap<Id, Direct> = new Map();
/** Host part of every user's mask; Parley has no addresses to show. */
export const USER_HOST = "parley";

const kClient = Symbol("ircClient");
type ClientSocket = Socket & { [kClient]?: IrcClient };

/** The one "data" listener of every client socket. */
function onSocketData(this: ClientSocket, d: Buffer): void {
  this[kClient]?.onData(d);
}

/** The client of a socket the gateway accepted. */
export function clientOf(socket: Socket): IrcClient | undefined {
  return (socket as ClientSocket)[kClient];
}

/**
 * Pipelined messages in flight per client; past this the next line waits for them. Reading stops
 * meanwhile (maxQueuedLines), so a client cannot have more sends pending than this.
 */
const MAX_PIPELINED = 32;
/** Clients with output queued, written together (../flush.ts says when). */
export const flushes = new FlushScheduler();
/**
 * A client's queued text past this many UTF-16 units (~16 KB) is written at once, not at the next
 * flush: under load flushes are spaced (up to 30 ms), and a burst's lines held that long outlived
 * scavenges and were promoted — 10,000 JOIN bursts of a 10,000-member channel grew the old
 * generation to 115-220 MB (from ~60). A write this size costs ~9 µs plus its bytes, so writing
 * sooner costs little; channel content is queued as shared Buffers and does not count here.
 */
const EAGER_WRITE_CHARS = 16_384;

export class IrcClient implements Peer, Writer {
  // ---- identity ----
  nick = "*";
  user = "";
  realname = "";
  account: Account | null = null;
  connection: Connection | null = null;
  registered = false;
  readonly caps = new CapSet();
  capNegotiating = false;
  capVersion = 0;
  pass: string | null = null;
  /** The account proven by SASL (or REGISTER) before registration. */
  saslAccount: Account | null = null;
  saslBuffer: string | null = null;
  away: string | null = null;
  bot = false;
  wallops = false;
  /** MONITOR targets (name keys); made by the first MONITOR +. */
  monitor: Set<string> | null = null;

  // ---- rooms ----
  // Most clients never use some of these: each is made when first needed, so an idle client
  // holds little more than its channels. Who is online is kept by the gateway (gw.online).
  readonly channels = new Channels();
  private directMap: Map<Id, Direct> | null = null;
  /** Per room, the newest read position this client has been shown (MARKREAD). */
  private readShown: Map<Id, number> | null = null;
  /** Rooms with a MARKREAD of this client in flight → the newest position pushed meanwhile (0: none). */
  readInFlight: Map<Id, number> | null = null;
  private orphans: Map<Id, RoomEvent[]> | null = null;
  private orphanCount = 0;

  // ---- io ----
  readonly direct: DirectSink;
  current: ResponseBuffer | null = null;
  /** Output queued for the next flush; null when there is none. */
  private out: Buffer[] | null = null;
  /**
   * Lines queued after the last Buffer in `out`, kept as text and joined at the flush: a burst of
   * lines (a JOIN burst's NAMES, a history page) reaches the socket as one string, which node
   * copies into memory it frees as soon as the write completes. As Buffers, each line and their
   * concatenation were memory outside the JS heap that only a later garbage collection frees:
   * thousands of clients connecting at once (the ~100 KB NAMES of a large channel each) left the
   * process's malloc heap grown for good.
   */
  private outText: string[] | null = null;
  /** The UTF-16 length of `outText`: past EAGER_WRITE_CHARS the queue is written at once. */
  private outTextChars = 0;
  /** While `out` is not null: its bytes plus what the socket had not sent when it was started. */
  private outBytes = 0;
  /**
   * While the queue holds only channel content that other clients get too: the run it is in,
   * the stretch of it queued (`sharedFrom` to `sharedTo`, excluded) and the capability set it is for
   * (fanout.ts). `out` is empty meanwhile; any other output first moves the stretch into it.
   */
  private shared: ContentRun | null = null;
  private sharedFrom = 0;
  private sharedTo = 0;
  private sharedVariant = 0;
  /** The parts of an input line not ended yet; null when there are none. */
  private chunks: Buffer[] | null = null;
  private buffered = 0;
  private discarding = false;
  /** Input lines waiting to be handled; null when there are none. */
  private queue: Buffer[] | null = null;
  private pumping = false;
  private paused = false;
  /** Made by the first command after registration: an idle client only answers PINGs, which it skips. */
  private fakelag: Fakelag | null = null;
  private readonly openedAt = Date.now();
  private lastInput = Date.now();
  private pingSent = 0;
  private closing = false;
  private registering = false;
  private inbound: Map<string, InboundBatch> | null = null;
  /** Starts the client id of every send from this connection (with its "-"), to know the echo; made by the first send. */
  private prefix: string | null = null;
  private sent = 0;
  /** The last pipelined command's answer (see pipeline()), and how many are in flight. */
  private inFlight: Promise<void> | null = null;
  private pipelined = 0;
  private linesBeforeRegistration = 0;
  readonly address: string;

  constructor(
    readonly gw: IrcGateway,
    private readonly socket: Socket,
    readonly tls: boolean,
  ) {
    this.address = socket.remoteAddress ?? "";
    this.direct = new DirectSink(this);
    socket.setNoDelay(true);
    // One listener function for every socket, not a closure per connection: the socket knows its client.
    (socket as ClientSocket)[kClient] = this;
    socket.on("data", onSocketData);
  }

  get opts(): IrcOptions {
    return this.gw.opts;
  }

  get serverName(): string {
    return this.gw.opts.serverName;
  }

  /** An IRC operator (OPER)? Kept by the gateway, which counts them for every welcome burst. */
  get oper(): boolean {
    return this.gw.opers.has(this);
  }

  setOper(oper: boolean): void {
    if (oper) this.gw.opers.add(this);
    else this.gw.opers.delete(this);
  }

  get accountId(): Id {
    return this.account?.id ?? "";
  }

  /** The core connection; only commands that need registration call this. */
  conn(): Connection {
    if (!this.connection) throw new NumericReply(N.ERR_NOTREGISTERED, ["You have not registered"]);
    return this.connection;
  }

  // ---- Writer ----

  nextBatchId(): string {
    return this.gw.nextBatchId();
  }

  write(m: IrcMessage): void {
    if (this.closing && m.command !== "ERROR") return;
    this.send(encodeLine(m));
  }

  /**
   * Queues bytes for the next flush. A client whose unsent output (the socket's and the queued)
   * passes maxBufferedBytes has stopped reading: it is dropped rather than buffered without
   * bound, and can fetch what it missed with CHATHISTORY when it comes back. The socket is looked
   * at once per flush, not per line: this runs once per recipient of every channel message.
   */
  private send(data: Buffer | string): void {
    let out = this.out;
    if (out === null) {
      out = this.startOutput();
      if (out === null) return;
    } else if (this.shared !== null) this.leaveRun(out);
    if (!this.count(data.length)) return;
    if (typeof data === "string") {
      if (this.outText === null) this.outText = [data];
      else this.outText.push(data);
      this.outTextChars += data.length;
      if (this.outTextChars > EAGER_WRITE_CHARS) this.flush();
      return;
    }
    const text = this.takeText();
    if (text !== "") out.push(Buffer.from(text, "utf8"));
    out.push(data);
  }

  /**
   * Queues positions `from` to `to` (excluded) of a content run, `length` bytes for this client's
   * capability set: as more of the stretch of that run this client's queue holds, when they
   * follow it; otherwise as any other output.
   */
  private sendContent(run: ContentRun, from: number, to: number, length: number): void {
    const v = this.caps.lineVariant;
    let out = this.out;
    if (out === null) {
      if (length === 0) return;
      out = this.startOutput();
      if (out === null) return;
      this.shared = run;
      this.sharedFrom = this.sharedTo = from;
      this.sharedVariant = v;
    }
    if (this.shared === run && this.sharedTo === from && this.sharedVariant === v) {
      if (!this.count(length)) return;
      this.sharedTo = to;
      return;
    }
    for (let i = from; i < to; i++) {
      const bytes = run.events[i]![v]!;
      if (bytes.length > 0) this.send(bytes);
    }
  }

  /** Starts a queue for the next flush; null when the socket takes no more. */
  private startOutput(): Buffer[] | null {
    const socket = this.socket;
    if (socket.destroyed || !socket.writable) return null;
    this.outBytes = socket.writableLength;
    flushes.add(this);
    this.out = [];
    return this.out;
  }

  /** The run's stretch this client holds, moved into `out` as that client's own Buffers. */
  private leaveRun(out: Buffer[]): void {
    const run = this.shared!;
    this.shared = null;
    for (let i = this.sharedFrom; i < this.sharedTo; i++) {
      const bytes = run.events[i]![this.sharedVariant]!;
      if (bytes.length > 0) out.push(bytes);
    }
  }

  /**
   * Counts `length` more queued; false (and the client dropped) past maxBufferedBytes.
   * A line's length in UTF-16 units: its bytes for ASCII, at least a third of them otherwise
   * (counting bytes would flatten every line). Only this flush's lines are counted so; what
   * the socket holds from earlier flushes (writableLength) is in bytes.
   */
  private count(length: number): boolean {
    this.outBytes += length;
    if (this.outBytes <= this.gw.opts.maxBufferedBytes) return true;
    this.gw.metrics.disconnects.inc({ protocol: "irc", reason: "slow_consumer" });
    this.out = null;
    this.shared = null;
    this.takeText();
    this.socket.destroy();
    return false;
  }

  /** The queued text as one string ("" when none), the text queue emptied. */
  private takeText(): string {
    const text = this.outText;
    if (text === null) return "";
    this.outText = null;
    this.outTextChars = 0;
    return text.length === 1 ? text[0]! : text.join("");
  }

  /**
   * Writes the queued output in one socket write: one string or one Buffer (copied together
   * when there are several), so the stream keeps no per-line bookkeeping and the kernel gets one
   * contiguous write.
   */
  flush(): void {
    const out = this.out;
    if (out === null) return;
    this.out = null;
    endRun();
    const run = this.shared;
    if (run !== null) {
      // The queue is the stretch alone.
      this.shared = null;
      if (this.sharedTo > this.sharedFrom && !this.socket.destroyed) {
        const bytes = run.joined(this.sharedVariant, this.sharedFrom, this.sharedTo);
        if (bytes.length > 0) this.socket.write(bytes);
      }
      return;
    }
    const text = this.takeText();
    if (this.socket.destroyed) return;
    if (out.length === 0) {
      if (text !== "") this.socket.write(text, "utf8");
      return;
    }
    if (text !== "") out.push(Buffer.from(text, "utf8"));
    this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  }

  // ---- message helpers ----

  /** A numeric from the server, addressed to this client. */
  numeric(code: string, ...params: string[]): IrcMessage {
    return { tags: {}, source: this.serverName, command: code, params: [this.nick, ...params] };
  }

  /** A standard reply; `kind` FAIL, WARN or NOTE. */
  standard(kind: "FAIL" | "WARN" | "NOTE", command: string, code: string, context: string[], description: string): IrcMessage {
    return { tags: {}, source: this.serverName, command: kind, params: [command, code, ...context, description] };
  }

  serverMessage(command: string, params: string[], tags: Record<string, string> = {}): IrcMessage {
    return { tags, source: this.serverName, command, params };
  }

  /** nick!user@host of anyone. */
  mask(name: string): string {
    return `${name}!${name}@${USER_HOST}`;
  }

  get source(): string {
    return this.mask(this.nick);
  }

  /** server-time tag (when negotiated) for an event at `at`. */
  timeTag(at: number, tags: Record<string, string> = {}): Record<string, string> {
    if (this.caps.has("server-time")) tags.time = new Date(at).toISOString();
    return tags;
  }

  /** account tag (when negotiated) for a registered account. */
  accountTag(accountId: Id, name: string, tags: Record<string, string>): Record<string, string> {
    if (this.caps.has("account-tag") && this.gw.isGuest(accountId) === false) tags.account = name;
    return tags;
  }

  // ---- channels and directs ----

  channelByName(name: string): Channel | undefined {
    const bare = name.startsWith("#") ? name.slice(1) : name;
    // A scan rather than a second map per client: clients are in few channels (CHANLIMIT bounds it).
    const key = nameKey(bare);
    for (const ch of this.channels.values()) if (nameKey(ch.name) === key) return ch;
    return undefined;
  }

  /** The direct conversations shown (none until the first). */
  get directs(): ReadonlyMap<Id, Direct> {
    return this.directMap ?? NO_DIRECTS;
  }

  directByPeer(nick: string): Direct | undefined {
    const key = nameKey(nick);
    for (const d of this.directs.values()) if (nameKey(d.peerName) === key) return d;
    return undefined;
  }

  /** Is `accountId` online? This client's own account always is. */
  isOnline(accountId: Id): boolean {
    return accountId === this.accountId || this.gw.isOnline(accountId);
  }

  /** Channel names start with '#'. */
  isChannelName(target: string): boolean {
    return target.startsWith("#");
  }

  /**
   * Creates the state of a channel about to be announced; its events wait until then. The room's
   * member list (the gateway's) is held open until the channel is removed.
   */
  private addChannel(room: Room): Channel {
    let ch = this.channels.get(room.id);
    if (ch) return ch;
    const table = this.gw.rooms.open(room.id);
    ch = {
      id: table.share(room.id),
      name: table.share(room.name),
      kind: table.share(room.kind),
      topic: table.share(room.topic),
      createdAt: room.createdAt,
      members: table.members,
      held: this.takeOrphans(room.id),
      shownSeq: 0,
    };
    this.channels.set(ch);
    return ch;
  }

  removeChannel(ch: Channel): void {
    if (this.channels.get(ch.id) !== ch) return;
    this.channels.delete(ch.id);
    this.gw.rooms.close(ch.id);
  }

  private takeOrphans(roomId: Id): RoomEvent[] {
    const list = this.orphans?.get(roomId) ?? [];
    this.orphans?.delete(roomId);
    this.orphanCount -= list.length;
    if (this.orphanCount === 0) this.orphans = null;
    return list;
  }

  /**
   * Shows a room as joined: JOIN, topic, read marker and NAMES, then whatever happened in it
   * meanwhile. Does nothing for a channel already shown.
   */
  async openChannel(m: Membership, sink: Sink): Promise<void> {
    const ch = this.addChannel(m.room);
    if (ch.held === null) return;
    const loaded = await this.loadChannel(ch, m.room.lastSeq, m.readSeq);
    this.announceChannel(ch, loaded, sink);
  }

  /**
   * Makes sure the gateway has the channel's member list (read once for every client here) and
   * reads this account's read position for the JOIN burst. `lastSeq` is the room's newest
   * sequence as known before (see RoomTable.load), `readSeq` this account's read position.
   */
  async loadChannel(ch: Channel, lastSeq: number, readSeq: number): Promise<{ readTime: string | null } | null> {
    const table = this.gw.rooms.get(ch.id);
    // Closed meanwhile: nothing to show (and a read for the others must not fail on this client).
    if (!table || this.connection === null || this.channels.get(ch.id) !== ch) return null;
    const ok = await table.load(lastSeq, async () => {
      // The list's entries are made as soon as the rows are read, so the rows are garbage before
      // the guest lookups (one store query per member) start: held across those, the rows of a
      // 10,000-member room were promoted to the old generation and left it fragmented.
      const members = (await this.conn().members(ch.id)).map((m) => entry(m.accountId, m.name, m.role, m.muted));
      await this.gw.resolveGuests(members);
      return members;
    });
    if (!ok) return null; // the store is unreachable: the channel is shown without its member list
    try {
      let readTime: string | null = null;
      if (this.caps.has("draft/read-marker")) {
        this.noteRead(ch.id, readSeq);
        readTime = await this.readTimestamp(ch.id, readSeq);
      }
      return { readTime };
    } catch {
      return { readTime: null };
    }
  }

  /**
   * Writes the JOIN burst. The NAMES show the gateway's list as it is now, which already has every
   * member event this client held meanwhile: those are not shown again (but the departure of this
   * account is, and every other event).
   */
  announceChannel(ch: Channel, loaded: { readTime: string | null } | null, sink: Sink): void {
    if (ch.held === null || this.channels.get(ch.id) !== ch) return;
    ch.shownSeq = this.gw.rooms.get(ch.id)?.seq ?? 0;
    const target = `#${ch.name}`;
    sink.add(this.joinLine(this.accountId, this.nick, target, Date.now()));
    if (ch.topic !== "") sink.add(this.numeric(N.RPL_TOPIC, target, this.topicText(ch.topic)));
    if (loaded?.readTime !== undefined && loaded.readTime !== null && this.caps.has("draft/read-marker")) {
      sink.add(this.serverMessage("MARKREAD", [target, `timestamp=${loaded.readTime}`]));
    }
    this.names(ch, sink);
    const held = ch.held;
    ch.held = null;
    for (const e of held) renderChannelEvent(this, ch, e, sink);
  }

  /** A JOIN line for `name` joining `target`, extended when negotiated. */
  joinLine(accountId: Id, name: string, target: string, at: number): IrcMessage {
    const params = [target];
    if (this.caps.has("extended-join")) {
      params.push(this.gw.isGuest(accountId) === false ? name : "*", this.gw.realnameOf(accountId, name));
    }
    return { tags: this.timeTag(at), source: this.mask(name), command: "JOIN", params };
  }

  topicText(topic: string): string {
    return topic.replace(/\r?\n/g, " ");
  }

  prefixOf(m: ChanMember): string {
    return m.role === "member" ? "" : "@";
  }

  /**
   * RPL_NAMREPLY lines (split to fit 512 bytes) and RPL_ENDOFNAMES. For an open channel the lines'
   * entries are joined once per variant by the gateway's list, not once per client. This client
   * is listed even before its own join reached the list.
   */
  names(ch: Channel, sink: Sink): void {
    const target = `#${ch.name}`;
    const symbol = ch.kind === "public" ? "=" : "@";
    const userhost = this.caps.has("userhost-in-names");
    const show = (m: ChanMember) => this.prefixOf(m) + (userhost ? this.mask(m.name) : m.name);
    const head = `:${this.serverName} ${N.RPL_NAMREPLY} ${this.nick} ${symbol} ${target} :`;
    const room = 512 - Buffer.byteLength(`${head}\r\n`);
    const table = this.gw.rooms.get(ch.id);
    const open = this.channels.get(ch.id) === ch && this.account !== null;
    let runs: readonly string[];
    if (table?.members === ch.members && (!open || ch.members.has(this.accountId))) {
      runs = table.namesRuns(userhost ? "userhost" : "nick", room, show);
    } else {
      const members = [...ch.members.values()];
      if (open && !ch.members.has(this.accountId)) members.push(entry(this.accountId, this.nick, "member", false));
      runs = joinRuns(members.sort(byName).map(show), room);
    }
    if (sink === this.direct) {
      // The bulk of a JOIN burst (~200 lines for 10,000 members): queued as the text it is. The
      // runs are sized to fit 512 bytes with this head and a direct line takes no tags, so
      // encodeLine's check and copies, and a message object per line, would only make garbage:
      // 487 → 175 KiB of JS heap per burst, which a crowd connecting at once makes 10,000 times.
      if (!this.closing) for (const run of runs) this.send(`${head}${run}\r\n`);
    } else for (const run of runs) sink.add(this.numeric(N.RPL_NAMREPLY, symbol, target, run));
    sink.add(this.numeric(N.RPL_ENDOFNAMES, target, "End of /NAMES list"));
  }

  /** Starts showing a direct conversation (its peer's name is read first; its events wait). */
  async openDirect(room: Room, known?: { peerId: Id; peerName: string }): Promise<Direct> {
    const existing = this.directs.get(room.id);
    if (existing) return existing;
    const peerId = known?.peerId ?? directPeer(room.name, this.accountId);
    const d: Direct = { id: room.id, peerId, peerName: known?.peerName ?? "", held: this.takeOrphans(room.id) };
    this.directMap ??= new Map();
    this.directMap.set(room.id, d);
    if (!known) {
      try {
        const members = await this.conn().members(room.id);
        const peer = members.find((m) => m.accountId === peerId) ?? members.find((m) => m.accountId !== this.accountId);
        d.peerName = peer?.name ?? (peerId === this.accountId ? this.nick : "unknown");
        await this.gw.resolveGuests(members);
      } catch {
        d.peerName ||= "unknown";
      }
    }
    const held = d.held ?? [];
    d.held = null;
    for (const e of held) renderDirectEvent(this, d, e, this.direct);
    return d;
  }

  /** The direct conversation with `nick`, opened in the core if needed. */
  async directWith(nick: string): Promise<Direct> {
    const found = this.directByPeer(nick);
    if (found) return found;
    const m = await this.conn().openDirect(nick);
    const peer = await this.gw.chat.findAccount(nick);
    return this.openDirect(m.room, peer ? { peerId: peer.id, peerName: peer.name } : undefined);
  }

  /**
   * The room id for a message target: a channel, or a nick (its direct conversation, opened in the
   * core when `open`; otherwise only an existing one, NO_SUCH_ACCOUNT when there is none).
   */
  async roomFor(target: string, open = true): Promise<Id> {
    if (this.isChannelName(target)) {
      const ch = this.channelByName(target);
      if (ch) return ch.id;
      const room = await this.conn().roomByName(target);
      return room.id;
    }
    if (!open) {
      const d = this.directByPeer(target);
      if (!d) throw new ChatError("NO_SUCH_ACCOUNT", "no conversation with that nick");
      return d.id;
    }
    return (await this.directWith(target)).id;
  }

  /** ISO time of the newest message at or before `seq`, or "*" when there is none. */
  /** Records a read position this client has been shown; false when it knew one as far already. */
  noteRead(roomId: Id, seq: number): boolean {
    if (seq <= (this.readShown?.get(roomId) ?? -1)) return false;
    this.readShown ??= new Map();
    this.readShown.set(roomId, seq);
    return true;
  }

  /**
   * The account's read position moved (here or on the web): tells this client with MARKREAD.
   * While this client's own MARKREAD is in flight for the room, its reply carries the position;
   * a newer one that arrives meanwhile is sent after it (see MARKREAD in commands/history.ts).
   */
  async pushRead(roomId: Id, seq: number): Promise<void> {
    if (!this.caps.has("draft/read-marker")) return;
    const inFlight = this.readInFlight?.get(roomId);
    if (inFlight !== undefined) {
      this.readInFlight!.set(roomId, Math.max(inFlight, seq));
      return;
    }
    const ch = this.channels.get(roomId);
    const d = this.directs.get(roomId);
    const target = ch ? `#${ch.name}` : d ? d.peerName : null;
    if (target === null || !this.noteRead(roomId, seq)) return;
    const time = await this.readTimestamp(roomId, seq);
    this.direct.add(this.serverMessage("MARKREAD", [target, `timestamp=${time}`]));
  }

  async readTimestamp(roomId: Id, seq: number): Promise<string> {
    if (seq <= 0) return "*";
    const page = await this.conn().history(roomId, { before: seq + 1, limit: 1 });
    const m = page.messages[0];
    return m ? new Date(m.createdAt).toISOString() : "*";
  }

  /** A fresh client id for a send from this connection; the echo is recognised by its prefix. */
  nextClientId(notice: boolean): string {
    return `${this.clientPrefix}${notice ? "n" : ""}${++this.sent}`;
  }

  get clientPrefix(): string {
    this.prefix ??= `${randomBytes(6).toString("base64url")}-`;
    return this.prefix;
  }

  isOwnClientId(clientId: string | null): boolean {
    return this.prefix !== null && clientId?.startsWith(this.prefix) === true;
  }

  /** Is this account away (offline, or away on every IRC connection here)? Returns the message. */
  awayMessage(accountId: Id): string | null {
    if (!this.isOnline(accountId)) return "Offline";
    return this.gw.awayOf(accountId);
  }

  /** Channels of this client that `accountId` is in. */
  sharedChannels(accountId: Id): Channel[] {
    return [...this.channels.values()].filter((ch) => ch.held === null && ch.members.has(accountId));
  }

  /** Sends `m` to every local IRC client with `cap` that shares a channel with this account (and to this one if `self`). */
  notifyPeers(cap: string, m: IrcMessage, self: boolean): void {
    for (const c of this.gw.clients) {
      if (!c.registered || !c.caps.has(cap)) continue;
      if (c === this) {
        if (self) c.direct.add(m);
        continue;
      }
      if (c.accountId === this.accountId || c.sharedChannels(this.accountId).length > 0) c.direct.add(m);
    }
  }

  // ---- Peer ----

  roomEvents(run: readonly RoomEvent[]): void {
    const roomId = run[0]!.roomId;
    let ch = this.channels.get(roomId);
    // Most members of a busy channel: shown, no command of theirs running (its sink would take
    // their own events), no message of their own to skip (they never sent one). A run of content
    // is then the same stretch for every such member with the same capabilities: queued in one step.
    if (ch && !ch.held && this.current === null && this.prefix === null && !this.closing) {
      const stretch = contentStretch(this, run, ch.name);
      if (stretch !== null) {
        this.sendContent(stretch.run, stretch.from, stretch.to, stretch.length);
        return;
      }
    }
    if (ch) placeRun(run, ch.name);
    for (const e of run) {
      this.event(e, ch);
      // A membership change may show or close the channel.
      if (e.type === "member") ch = this.channels.get(roomId);
    }
  }

  /** `ch` is the event's channel, if this client shows it. */
  private event(e: RoomEvent, ch: Channel | undefined): void {
    // Applied to the gateway's member list as it arrives, even while this client holds it back.
    if (e.type === "member") this.gw.rooms.apply(e);
    if (!ch) {
      const d = this.directs.get(e.roomId);
      if (d) {
        if (d.held) d.held.push(e);
        else renderDirectEvent(this, d, e, this.sinkFor(e));
        return;
      }
      // A room this connection is joining right now: the command shows it, with these.
      if (this.orphanCount >= MAX_ORPHANS) return;
      this.orphans ??= new Map();
      const list = this.orphans.get(e.roomId) ?? [];
      list.push(e);
      this.orphans.set(e.roomId, list);
      this.orphanCount++;
      return;
    }
    if (ch.held) {
      ch.held.push(e);
      return;
    }
    if (isContent(e) && this.sinkFor(e) === this.direct) {
      // The same bytes for every client with these capabilities; the sender's echo is the command's.
      if (e.type === "message" && this.isOwnClientId(e.message.clientId)) return;
      if (this.closing) return;
      const { length } = encodedContent(this, e, ch.name);
      const { run, at } = contentPlace();
      this.sendContent(run, at, at + 1, length);
      return;
    }
    renderChannelEvent(this, ch, e, this.sinkFor(e));
  }

  ephemeral(e: Ephemeral): void {
    if (e.type === "read") {
      void this.pushRead(e.roomId, e.readSeq).catch(() => {}); // the store is unreachable: the next MARKREAD tells
      return;
    }
    if (e.type === "joined") {
      const room = e.membership.room;
      if (room.kind === "direct") void this.openDirect(room).catch(() => {});
      else if (!this.channels.has(room.id)) void this.openChannel(e.membership, this.direct).catch(() => {});
      return;
    }
    renderEphemeral(this, e);
  }

  ready(): Promise<void> {
    // A replay checks the socket's backlog between pages: what is queued for the next flush
    // must be in it, or pages would pile up in the queue until the slow-consumer bound.
    this.flush();
    return whenDrained(this.socket, () => this.socket.writableLength, this.opts.maxBufferedBytes / 4);
  }

  /** Events this account caused while one of its commands runs are that command's replies. */
  private sinkFor(e: RoomEvent): Sink {
    return this.current && e.actorId === this.accountId ? this.current : this.direct;
  }

  // ---- input ----

  /** Bytes from the socket (see onSocketData). */
  onData(data: Buffer): void {
    this.lastInput = Date.now();
    this.pingSent = 0;
    let start = 0;
    for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10, start)) {
      this.take(data.subarray(start, nl));
      const wasDiscarding = this.discarding;
      const chunks = this.chunks;
      this.chunks = null;
      this.buffered = 0;
      this.discarding = false;
      if (wasDiscarding) this.tooLong();
      else if (chunks !== null) this.enqueue(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      start = nl + 1;
    }
    this.take(data.subarray(start));
    if ((this.queue?.length ?? 0) >= this.opts.maxQueuedLines && !this.paused) {
      // Held back by fakelag: stop reading until the backlog is handled (TCP pushes back).
      this.paused = true;
      this.socket.pause();
    }
    void this.pump();
  }

  private take(part: Buffer): void {
    if (this.discarding || part.length === 0) return;
    this.buffered += part.length;
    if (this.buffered > MAX_RAW_LINE) {
      this.chunks = null;
      this.buffered = 0;
      this.discarding = true;
      return;
    }
    if (this.chunks === null) this.chunks = [Buffer.from(part)];
    else this.chunks.push(Buffer.from(part));
  }

  private enqueue(line: Buffer): void {
    if (this.queue === null) this.queue = [line];
    else this.queue.push(line);
  }

  private tooLong(): void {
    this.gw.metrics.errors.inc({ protocol: "irc", code: "TOO_LARGE" });
    this.direct.add(this.numeric(N.ERR_INPUTTOOLONG, "Input line was too long"));
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let queue = this.queue; queue !== null && !this.closing && !this.socket.destroyed; queue = this.queue) {
        const raw = queue.shift()!;
        // Emptied, the array would keep the backing store it grew to: an idle client keeps none.
        if (queue.length === 0) this.queue = null;
        if (this.paused && queue.length < this.opts.maxQueuedLines / 2) {
          this.paused = false;
          this.socket.resume();
        }
        await this.handleLine(raw);
        if (this.pipelined >= MAX_PIPELINED) await this.settled();
      }
    } finally {
      this.pumping = false;
    }
  }

  private async handleLine(raw: Buffer): Promise<void> {
    const parsed = parseLine(raw);
    if (parsed === null) return;
    if (!(parsed instanceof ParseError) && this.canPipeline(parsed)) {
      if (!this.oper) {
        this.fakelag ??= new Fakelag(this.opts.fakelag);
        const wait = this.fakelag.touch(Date.now());
        if (wait > 0) await sleep(wait);
        if (this.closing || this.socket.destroyed) return;
      }
      this.pipeline(parsed);
      return;
    }
    // Anything else is answered after the messages sent before it, and runs alone.
    await this.settled();
    if (this.closing || this.socket.destroyed) return;
    if (parsed instanceof ParseError) {
      switch (parsed.code) {
        case "INPUT_TOO_LONG":
        case "TAGS_TOO_LONG":
          return this.tooLong();
        case "INVALID_UTF8":
          this.gw.metrics.errors.inc({ protocol: "irc", code: "INVALID_UTF8" });
          this.direct.add(this.standard("FAIL", "*", "INVALID_UTF8", [], "Message rejected: it is not valid UTF-8"));
          return;
        default:
          this.gw.metrics.errors.inc({ protocol: "irc", code: "BAD_REQUEST" });
          this.direct.add(this.standard("FAIL", "*", "INVALID_MESSAGE", [], parsed.detail));
          return;
      }
    }
    const msg = parsed;
    if (!this.registered && ++this.linesBeforeRegistration > this.opts.maxLinesBeforeRegistration) {
      this.gw.metrics.disconnects.inc({ protocol: "irc", reason: "flood" });
      this.quit("Too many lines before registration");
      return;
    }
    // Lines inside an open draft/multiline batch are parts of one message: collected, not run.
    const ref = msg.tags.batch;
    const batch = ref !== undefined ? this.inbound?.get(ref) : undefined;
    if (batch) {
      this.collect(batch, msg);
      return;
    }
    if (this.registered && !this.oper && msg.command !== "PONG" && msg.command !== "PING") {
      this.fakelag ??= new Fakelag(this.opts.fakelag);
      const wait = this.fakelag.touch(Date.now());
      if (wait > 0) await sleep(wait);
      if (this.closing || this.socket.destroyed) return;
    }
    await this.dispatch(msg);
  }

  /** Runs one command: shared checks first (registration, parameter count), then its handler. */
  async dispatch(msg: IrcMessage): Promise<void> {
    const rb = this.responseFor(msg);
    this.current = rb;
    try {
      await this.run(msg, rb);
    } catch (err) {
      this.replyError(rb, msg.command, err, msg.params[0] ?? "*");
    } finally {
      this.current = null;
      rb.flush();
    }
  }

  private responseFor(msg: IrcMessage): ResponseBuffer {
    const label = this.caps.has("labeled-response") && Object.hasOwn(msg.tags, "label") ? msg.tags.label! : null;
    return new ResponseBuffer(this, label);
  }

  private async run(msg: IrcMessage, rb: ResponseBuffer): Promise<void> {
    const cmd = Object.hasOwn(commands, msg.command) ? commands[msg.command] : undefined;
    if (!cmd) {
      if (!this.registered) throw new NumericReply(N.ERR_NOTREGISTERED, ["You have not registered"]);
      throw new NumericReply(N.ERR_UNKNOWNCOMMAND, [msg.command, "Unknown command"]);
    }
    if (cmd.needsRegistration && !this.registered) throw new NumericReply(N.ERR_NOTREGISTERED, ["You have not registered"]);
    if (msg.params.length < cmd.minParams) throw new NumericReply(N.ERR_NEEDMOREPARAMS, [msg.command, "Not enough parameters"]);
    await cmd.run({ client: this, msg, rb });
  }

  // ---- pipelined messages ----
  //
  // A PRIVMSG or NOTICE to one channel or conversation this client already shows does not wait
  // for the one before it to commit: it starts at once, so a client that sends several messages in
  // a row gets them into the same store commit instead of one commit round trip each. Sends to one
  // room take the same path (the same awaits) and so reach the core in line order: the room keeps
  // the client's order. Each command's replies (echo, errors, label) are written only after those
  // of the command before it, and any other line waits until every pipelined command is answered
  // (settled()), so replies stay in line order too.

  /** True for a line that may run while the messages before it are still in flight. */
  private canPipeline(msg: IrcMessage): boolean {
    if (!this.registered || (msg.command !== "PRIVMSG" && msg.command !== "NOTICE")) return false;
    const tags = msg.tags;
    // A batch line is collected, not run; a reply reads its parent first (an await more than others).
    if (tags.batch !== undefined || tags["+reply"] !== undefined || tags["+draft/reply"] !== undefined) return false;
    const target = msg.params[0] ?? "";
    if (target.includes(",")) return false; // several targets are sent one after the other
    // A target not shown yet is looked up (or a conversation opened) first: it runs alone.
    return this.isChannelName(target) ? this.channelByName(target) !== undefined : this.directByPeer(target) !== undefined;
  }

  private pipeline(msg: IrcMessage): void {
    const rb = this.responseFor(msg);
    const before = this.inFlight;
    const ran = this.run(msg, rb).then(
      () => null,
      (err: unknown) => ({ err }),
    );
    const answered = ran.then(async (failed) => {
      if (before) await before;
      try {
        if (failed) this.replyError(rb, msg.command, failed.err, msg.params[0] ?? "*");
        rb.flush();
      } catch (err) {
        // Never rejects: the next command's answer and settled() wait on this one.
        this.gw.log.error("irc reply failed", { command: msg.command, err });
      }
    });
    this.inFlight = answered;
    this.pipelined++;
    void answered.finally(() => {
      this.pipelined--;
      if (this.inFlight === answered) this.inFlight = null;
    });
  }

  /** Resolves once every pipelined command has been answered. */
  private async settled(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  /** Turns anything a handler threw into its reply. Unexpected errors are logged, never fatal to the server. */
  replyError(sink: Sink, command: string, err: unknown, target: string): void {
    if (err instanceof NumericReply) {
      sink.add(this.numeric(err.numeric, ...err.params));
      this.gw.metrics.errors.inc({ protocol: "irc", code: err.numeric });
      return;
    }
    if (err instanceof FailReply) {
      sink.add(this.standard("FAIL", err.command, err.code, err.context, err.message));
      this.gw.metrics.errors.inc({ protocol: "irc", code: err.code });
      return;
    }
    if (err instanceof FatalReply) {
      this.quit(err.message);
      return;
    }
    if (!(err instanceof ChatError)) this.gw.log.error("irc command failed", { command, err });
    const e = toChatError(err);
    const reply = chatErrorReply(command, e, target);
    this.replyError(sink, command, reply, target);
    if (e.fatal) {
      this.gw.metrics.disconnects.inc({ protocol: "irc", reason: "flood" });
      this.quit("Excess Flood");
    }
  }

  // ---- inbound multiline batches ----

  openInbound(ref: string, batch: Omit<InboundBatch, "text" | "lines" | "failed">): void {
    this.inbound ??= new Map();
    if (this.inbound.size >= 4) throw new FailReply("BATCH", "TOO_MANY_BATCHES", [ref], "Too many open batches");
    this.inbound.set(ref, { ...batch, text: "", lines: 0, failed: false });
  }

  closeInbound(ref: string): InboundBatch | undefined {
    const b = this.inbound?.get(ref);
    this.inbound?.delete(ref);
    if (this.inbound?.size === 0) this.inbound = null;
    return b;
  }

  private collect(b: InboundBatch, msg: IrcMessage): void {
    if (b.failed) return;
    const problem = this.lineProblem(b, msg);
    if (problem) {
      b.failed = true;
      this.direct.add(this.standard("FAIL", "BATCH", problem[0], [], problem[1]));
    }
  }

  /** Adds a line to a multiline batch; returns [code, description] when the batch breaks a rule. */
  private lineProblem(b: InboundBatch, msg: IrcMessage): [string, string] | null {
    if (b.command === "") b.command = msg.command;
    if ((msg.command !== "PRIVMSG" && msg.command !== "NOTICE") || msg.command !== b.command) {
      return ["MULTILINE_INVALID", "A multiline batch holds PRIVMSG (or NOTICE) lines only, all of one command"];
    }
    if ((msg.params[0] ?? "") !== b.target) return ["MULTILINE_INVALID_TARGET", "Every line must go to the batch's target"];
    const text = msg.params[1] ?? "";
    const concat = Object.hasOwn(msg.tags, "draft/multiline-concat");
    if (concat && text === "") return ["MULTILINE_INVALID", "A concatenated line cannot be blank"];
    b.text += b.lines === 0 || concat ? text : `\n${text}`;
    b.lines++;
    if (b.lines > this.opts.multilineMaxLines) return ["MULTILINE_MAX_LINES", `At most ${this.opts.multilineMaxLines} lines`];
    if (Buffer.byteLength(b.text) > this.opts.multilineMaxBytes) {
      return ["MULTILINE_MAX_BYTES", `At most ${this.opts.multilineMaxBytes} bytes`];
    }
    return null;
  }

  // ---- registration ----

  /** Completes registration once NICK and USER are in, CAP negotiation is over and SASL is not mid-way. */
  async tryRegister(sink: Sink): Promise<void> {
    if (this.registered || this.registering || this.closing) return;
    if (this.nick === "*" || this.user === "" || this.capNegotiating || this.saslBuffer !== null) return;
    this.registering = true;
    try {
      const account = await this.resolveAccount();
      if (this.socket.destroyed) return;
      await this.start(account);
    } catch (err) {
      if (err instanceof FatalReply) {
        this.replyError(sink, "*", err, "*");
        return;
      }
      const e = err instanceof NumericReply || err instanceof FailReply ? err : chatErrorReply("NICK", err, this.nick);
      this.replyError(sink, "NICK", e, this.nick);
    } finally {
      this.registering = false;
    }
  }

  /** Who this connection is: the SASL account, a PASS login, or a guest with the nick. */
  private async resolveAccount(): Promise<Account> {
    const chat = this.gw.chat;
    if (this.opts.password !== "" && !constantTimeEqual(this.pass ?? "", this.opts.password)) {
      this.direct.add(this.numeric(N.ERR_PASSWDMISMATCH, "Password incorrect"));
      throw new FatalReply("Bad password");
    }
    if (this.saslAccount) return this.saslAccount;
    if (this.pass !== null && this.opts.password === "") {
      if (this.gw.loginWait(this.address) > 0) {
        this.direct.add(this.numeric(N.ERR_PASSWDMISMATCH, "Too many login attempts from your address; try again later"));
        throw new FatalReply("Too many login attempts");
      }
      // PASS is the account's password: "password" for the account named like the nick, or "account:password".
      const colon = this.pass.indexOf(":");
      const [name, password] =
        colon > 0 && !(await chat.findAccount(this.nick))
          ? [this.pass.slice(0, colon), this.pass.slice(colon + 1)]
          : [this.nick, this.pass];
      try {
        return await chat.verifyPassword(name, password, this.address);
      } catch (err) {
        const e = toChatError(err);
        if (e.code === "RATE_LIMITED") {
          this.direct.add(this.numeric(N.ERR_PASSWDMISMATCH, `${e.message}; try again later`));
          throw new FatalReply("Too many login attempts");
        }
        if (e.code !== "INVALID_CREDENTIALS") throw err;
        this.direct.add(this.numeric(N.ERR_PASSWDMISMATCH, "Password incorrect"));
        throw new FatalReply("Bad password");
      }
    }
    try {
      return await chat.guest(this.nick, this.address);
    } catch (err) {
      const e = toChatError(err);
      if (e.code === "GUESTS_DISABLED") {
        this.direct.add(
          this.standard("FAIL", "*", "ACCOUNT_REQUIRED", [], "This server has no guests: log in with SASL PLAIN or PASS"),
        );
        throw new FatalReply("An account is required");
      }
      if (e.code === "NAME_TAKEN") {
        const registered = await chat.findAccount(this.nick).catch(() => null);
        throw new NumericReply(N.ERR_NICKNAMEINUSE, [
          this.nick,
          registered ? "Nickname is registered: log in with SASL or PASS, or choose another" : "Nickname is already in use",
        ]);
      }
      throw e;
    }
  }

  /** Opens the core connection and writes the welcome burst, then each room as a joined channel. */
  private async start(account: Account): Promise<void> {
    this.account = account;
    this.nick = account.name;
    this.gw.noteAccount(account.id, account.guest);
    const chat = this.gw.chat;
    const roomCount = await this.gw.publicRoomCount();
    const channels: Membership[] = [];
    const directs: Membership[] = [];
    const { connection } = await chat.connect(account, this, {
      // Presence reaches the gateway once (IrcGateway.onPresence), not every IRC connection.
      presence: false,
      onWelcome: (connection, memberships) => {
        this.connection = connection;
        this.registered = true;
        this.gw.addAccountClient(account.id, this);
        // Written at once, not with the command's replies: nothing may reach the client before 001.
        sendWelcome(this, this.direct, { channels: roomCount, users: Math.max(this.gw.onlineCount, 1) });
        for (const m of memberships) {
          if (m.room.kind === "direct") directs.push(m);
          else {
            this.addChannel(m.room);
            channels.push(m);
          }
        }
      },
    });
    if (this.socket.destroyed) {
      this.closed(); // it may have closed before the connection was made: nothing is kept
      connection.close();
      return;
    }
    // Guests and accounts that left every room still start in #lobby, as on the other protocols.
    if (channels.length === 0 && directs.length === 0) {
      try {
        const m = await connection.join(LOBBY);
        this.addChannel(m.room);
        channels.push(m);
      } catch {
        // no lobby to join: nothing to show
      }
    }
    const opened = channels.flatMap((m) => {
      const ch = this.channels.get(m.room.id);
      return ch ? [{ ch, m }] : [];
    });
    const loaded = await Promise.all(opened.map(({ ch, m }) => this.loadChannel(ch, m.room.lastSeq, m.readSeq)));
    opened.forEach(({ ch }, i) => {
      this.announceChannel(ch, loaded[i] ?? null, this.direct);
    });
    await Promise.all(directs.map((m) => this.openDirect(m.room)));
  }

  // ---- lifecycle ----

  tick(now: number): void {
    if (this.closing) return;
    if (!this.registered) {
      if (now - this.openedAt > this.opts.registrationTimeoutMs) {
        this.gw.metrics.disconnects.inc({ protocol: "irc", reason: "registration_timeout" });
        this.quit("Registration timed out");
      }
      return;
    }
    const idle = now - this.lastInput;
    if (this.pingSent === 0 && idle > this.opts.pingIntervalMs) {
      this.pingSent = now;
      this.direct.add({ tags: {}, source: null, command: "PING", params: [this.serverName] });
    } else if (this.pingSent !== 0 && now - this.pingSent > this.opts.pingTimeoutMs) {
      this.gw.metrics.disconnects.inc({ protocol: "irc", reason: "heartbeat" });
      this.quit(`Ping timeout: ${Math.round((now - this.lastInput) / 1000)} seconds`);
    }
  }

  /** Sends ERROR and closes. */
  quit(reason: string): void {
    if (this.closing) return;
    this.write({ tags: {}, source: null, command: "ERROR", params: [`Closing Link: ${this.address} (${reason})`] });
    this.closing = true;
    this.flush();
    this.socket.end();
    // A client that does not close its side is cut off.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  closed(): void {
    this.closing = true;
    if (this.account) this.gw.removeAccountClient(this.account.id, this);
    for (const ch of [...this.channels.values()]) this.removeChannel(ch);
    this.gw.notePresenceInterest(this, true);
    this.setOper(false);
    this.connection?.close();
    this.connection = null;
  }

  async shutdown(): Promise<void> {
    this.quit("Server shutting down");
  }

  // ---- small helpers used by commands ----

  /** Validates a nick for this server: Parley's name rules and the configured length. */
  checkNick(nick: string): void {
    if ([...nick].length > this.opts.nickLength) throw new NumericReply(N.ERR_ERRONEUSNICKNAME, [nick, "Nickname too long"]);
    try {
      checkAccountName(nick);
    } catch {
      throw new NumericReply(N.ERR_ERRONEUSNICKNAME, [nick, "Erroneous nickname: use letters, digits, '_' or '-'"]);
    }
  }
}

/** The other account of a direct room named dm:<id>:<id> (itself for a conversation with oneself). */
function directPeer(roomName: string, me: Id): Id {
  const [, a = "", b = ""] = roomName.split(":");
  return a === me ? b : a;
}

function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export { constantTimeEqual };
