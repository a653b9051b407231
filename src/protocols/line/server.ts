// Line mode: the original socket chat over plain TCP (`nc host 5000`). The server asks for a
// name, shows the last lines of #lobby, then every line typed is a message to the current room.
// A registered name is asked for its password; any other name joins as a guest.

import { isUtf8 } from "node:buffer";
import { randomBytes } from "node:crypto";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { type Chat, LOBBY } from "../../core/chat.ts";
import type { Connection, Peer } from "../../core/connection.ts";
import { ChatError, toChatError } from "../../core/errors.ts";
import type { Account, Ephemeral, Id, Membership, RoomEvent } from "../../core/types.ts";
import type { Logger } from "../../log.ts";
import type { Metrics } from "../../metrics.ts";
import { whenDrained } from "../backpressure.ts";
import { ACTION, formatEvent, formatMessage, HELP, parseLine } from "./format.ts";

export interface LineOptions {
  maxLineBytes: number;
  maxBufferedBytes: number;
  /** Time to give a name (and password) before the connection is closed. */
  loginTimeoutMs: number;
  historyLines: number;
}

export const defaultLineOptions: LineOptions = {
  maxLineBytes: 8192,
  maxBufferedBytes: 1024 * 1024,
  loginTimeoutMs: 60_000,
  historyLines: 20,
};

function ignore(): void {}

export class LineServer {
  private readonly server: Server;
  private readonly clients = new Set<LineClient>();
  readonly opts: LineOptions;

  constructor(
    readonly chat: Chat,
    readonly log: Logger,
    readonly metrics: Metrics,
    opts: Partial<LineOptions> = {},
  ) {
    this.opts = { ...defaultLineOptions, ...opts };
    this.server = createServer((socket) => {
      socket.on("error", ignore); // a reset; 'close' follows
      const address = socket.remoteAddress ?? "";
      try {
        chat.admission.admit(address);
      } catch (err) {
        metrics.disconnects.inc({ protocol: "line", reason: "too_many_connections" });
        socket.end(`! ${toChatError(err).message}\r\n`);
        return;
      }
      const client = new LineClient(this, socket);
      this.clients.add(client);
      metrics.connections.inc({ protocol: "line" });
      metrics.connectionsTotal.inc({ protocol: "line" });
      // One listener ('close' comes once): each `once` would add a wrapper per connection.
      socket.on("close", () => {
        chat.admission.release(address);
        this.clients.delete(client);
        metrics.connections.dec({ protocol: "line" });
        client.closed();
      });
    });
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => resolve(this.server.address() as AddressInfo));
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all([...this.clients].map((c) => c.shutdown()));
    await closed;
  }
}

type State = "name" | "password" | "chat" | "closing";

class LineClient implements Peer {
  private state: State = "name";
  private pendingName = "";
  private connection: Connection | null = null;
  private account: Account | null = null;
  private current: Id = "";
  private readonly roomNames = new Map<Id, string>();
  /** Live events wait here until the history shown on login has been written. */
  private held: RoomEvent[] | null = [];
  private chunks: Buffer[] = [];
  private buffered = 0;
  private discarding = false;
  private queue: Promise<void> = Promise.resolve();
  private readonly clientPrefix = randomBytes(6).toString("base64url");
  private sent = 0;
  /** Until a name is given; dropped then, so an idle logged-in client holds no timer. */
  private loginTimer: NodeJS.Timeout | null;

  constructor(
    private readonly srv: LineServer,
    private readonly socket: Socket,
  ) {
    socket.setNoDelay(true);
    socket.on("data", (data: Buffer) => this.onData(data));
    this.loginTimer = setTimeout(() => {
      this.say("! no name given, bye");
      this.socket.end();
    }, srv.opts.loginTimeoutMs);
    this.say("Welcome to Parley.");
    this.prompt("Your name: ");
  }

  // ---- Peer ----

  roomEvents(run: readonly RoomEvent[]): void {
    if (this.held) {
      this.held.push(...run);
      return;
    }
    for (const e of run) this.show(e);
  }

  ephemeral(e: Ephemeral): void {
    if (e.type === "joined") this.remember(e.membership);
    if (e.type === "invited") this.say(`* ${e.by} invited you to #${e.room}; /join #${e.room}`);
    if (e.type === "revoked") {
      this.say("! your password was changed; log in again");
      this.socket.end();
    }
  }

  ready(): Promise<void> {
    return whenDrained(this.socket, () => this.socket.writableLength, this.srv.opts.maxBufferedBytes / 4);
  }

  // ---- lifecycle ----

  closed(): void {
    this.stopLoginTimer();
    this.connection?.close();
    this.connection = null;
  }

  async shutdown(): Promise<void> {
    this.state = "closing";
    await this.queue;
    this.say("* server shutting down; reconnect in a moment");
    this.socket.end();
  }

  // ---- input ----

  private onData(data: Buffer): void {
    let start = 0;
    for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10, start)) {
      this.take(data.subarray(start, nl));
      const line = Buffer.concat(this.chunks);
      const wasDiscarding = this.discarding;
      this.chunks = [];
      this.buffered = 0;
      this.discarding = false;
      if (!wasDiscarding) this.enqueue(line);
      start = nl + 1;
    }
    this.take(data.subarray(start));
  }

  /** Buffers part of a line; a line over the limit is dropped with one error. */
  private take(part: Buffer): void {
    if (this.discarding || part.length === 0) return;
    this.buffered += part.length;
    if (this.buffered > this.srv.opts.maxLineBytes) {
      this.chunks = [];
      this.buffered = 0;
      this.discarding = true;
      this.say(`! line too long (at most ${this.srv.opts.maxLineBytes} bytes); ignored`);
      this.srv.metrics.errors.inc({ protocol: "line", code: "TOO_LARGE" });
      return;
    }
    this.chunks.push(part);
  }

  /** Lines are handled one at a time, in the order typed. */
  private enqueue(raw: Buffer): void {
    this.queue = this.queue.then(() => this.handle(raw)).catch((err) => this.fail(err));
  }

  private async handle(raw: Buffer): Promise<void> {
    if (this.state === "closing" || this.socket.destroyed) return;
    if (!isUtf8(raw)) throw new ChatError("INVALID_UTF8", "that line was not valid UTF-8; ignored");
    const line = raw.toString("utf8").replace(/\r$/, "");
    switch (this.state) {
      case "name":
        return this.onName(line.trim());
      case "password":
        return this.onPassword(line);
      case "chat":
        return this.onChat(line);
    }
  }

  private async onName(name: string): Promise<void> {
    if (name === "") return this.prompt("Your name: ");
    try {
      if (await this.srv.chat.findAccount(name)) {
        this.pendingName = name;
        this.state = "password";
        return this.prompt(`Password for ${name} (shown as you type): `);
      }
      await this.enter(await this.srv.chat.guest(name, this.socket.remoteAddress ?? ""));
    } catch (err) {
      this.fail(err);
      this.prompt("Your name: ");
    }
  }

  private async onPassword(password: string): Promise<void> {
    try {
      await this.enter(await this.srv.chat.verifyPassword(this.pendingName, password, this.socket.remoteAddress ?? ""));
    } catch (err) {
      this.fail(err);
      this.state = "name";
      this.prompt("Your name: ");
    }
  }

  private stopLoginTimer(): void {
    if (this.loginTimer) clearTimeout(this.loginTimer);
    this.loginTimer = null;
  }

  private async enter(account: Account): Promise<void> {
    this.stopLoginTimer();
    this.account = account;
    let lobby: Membership | undefined;
    const { connection } = await this.srv.chat.connect(account, this, {
      onWelcome: (connection, rooms) => {
        this.connection = connection;
        for (const m of rooms) this.remember(m);
        lobby = rooms.find((m) => m.room.name === LOBBY);
      },
    });
    this.state = "chat";
    if (!lobby) lobby = await connection.join(LOBBY);
    this.current = lobby.room.id;
    this.say(`Hi ${account.name}! You are in #${lobby.room.name}. /help lists the commands.`);
    await this.showRecent(lobby.room.id, lobby.room.lastSeq);
  }

  /** The last lines of a room, then whatever arrived live meanwhile. */
  private async showRecent(roomId: Id, upTo: number): Promise<void> {
    this.held ??= [];
    const connection = this.connection;
    if (!connection) return;
    try {
      const page = await connection.history(roomId, { before: upTo + 1, limit: this.srv.opts.historyLines });
      for (const m of page.messages) this.say(formatMessage(m));
    } finally {
      const held = this.held ?? [];
      this.held = null;
      for (const e of held) if (e.roomId !== roomId || e.seq > upTo) this.show(e);
    }
  }

  private async onChat(line: string): Promise<void> {
    const connection = this.connection;
    if (!connection || !this.account) return;
    const cmd = parseLine(line);
    switch (cmd.kind) {
      case "empty":
        return;
      case "say":
      case "me": {
        const body = cmd.kind === "me" ? ACTION + cmd.text : cmd.text;
        await connection.send(this.current, body, `${this.clientPrefix}-${++this.sent}`, null);
        this.srv.metrics.messageSent("line");
        return;
      }
      case "join": {
        const m = await connection.join(cmd.room);
        this.remember(m);
        this.current = m.room.id;
        this.say(`* you are in #${m.room.name}${m.room.topic ? ` — ${m.room.topic}` : ""}`);
        await this.showRecent(m.room.id, m.room.lastSeq);
        return;
      }
      case "part": {
        const name = this.roomNames.get(this.current) ?? "";
        if (name === LOBBY) throw new ChatError("BAD_REQUEST", "this is #lobby; /quit to leave");
        await connection.leave(this.current);
        const lobby = await connection.join(LOBBY);
        this.current = lobby.room.id;
        this.say(`* you left #${name} and are back in #${LOBBY}`);
        return;
      }
      case "nick": {
        this.account = await this.srv.chat.renameGuest(this.account, cmd.name);
        this.say(`* you are now ${this.account.name} (reconnect to show it in member lists)`);
        return;
      }
      case "who": {
        const members = await connection.members(this.current);
        const names = members.map((m) => `${m.name}${m.online ? "" : " (away)"}${m.role === "member" ? "" : ` [${m.role}]`}`);
        this.say(`* in #${this.roomNames.get(this.current)}: ${names.join(", ")}`);
        return;
      }
      case "rooms": {
        const rooms = await connection.listRooms();
        for (const r of rooms) this.say(`* #${r.name} (${r.members})${r.topic ? ` — ${r.topic}` : ""}`);
        return;
      }
      case "help":
        return this.say(HELP);
      case "quit":
        this.say("Bye.");
        this.socket.end();
        return;
      case "error":
        throw new ChatError("BAD_REQUEST", cmd.message);
    }
  }

  // ---- output ----

  private remember(m: Membership): void {
    this.roomNames.set(m.room.id, m.room.kind === "direct" ? "direct" : m.room.name);
  }

  private show(e: RoomEvent): void {
    // Lines this connection typed are already on the user's screen, and its own joins are
    // confirmed by "you are in #room".
    if (e.type === "message" && e.message.clientId?.startsWith(`${this.clientPrefix}-`)) return;
    if (e.type === "member" && e.change === "join" && e.accountId === this.account?.id) return;
    const text = formatEvent(e, this.roomNames.get(e.roomId) ?? "?", e.roomId === this.current);
    if (text !== null) this.say(text);
  }

  private fail(err: unknown): void {
    const e = toChatError(err);
    if (e.code === "INTERNAL") this.srv.log.error("line command failed", { err });
    this.srv.metrics.errors.inc({ protocol: "line", code: e.code });
    const wait = e.retryAfter !== undefined ? ` (retry in ${Math.ceil(e.retryAfter / 1000)} s)` : "";
    this.say(`! ${e.message}${wait}`);
    if (e.fatal) {
      this.srv.metrics.disconnects.inc({ protocol: "line", reason: "flood" });
      this.say("! disconnecting for flooding");
      this.socket.end();
    }
  }

  private prompt(text: string): void {
    this.write(text);
  }

  private say(text: string): void {
    this.write(`${text.replace(/\n/g, "\r\n")}\r\n`);
  }

  private write(text: string): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    if (this.socket.writableLength > this.srv.opts.maxBufferedBytes) {
      this.srv.metrics.disconnects.inc({ protocol: "line", reason: "slow_consumer" });
      this.socket.destroy();
      return;
    }
    this.socket.write(text);
  }
}
