// A raw IRC test client over TCP (or TLS): send lines, wait for parsed messages. No assertions.

import { type Socket, connect as tcpConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { type IrcMessage, ParseError, parseLine } from "../../src/protocols/irc/message.ts";
import { type Registered, register, uniq } from "../helpers/http.ts";
import type { TestServer } from "../helpers/server.ts";

export interface RegisterOptions {
  nick: string;
  user?: string;
  realname?: string;
  caps?: string[];
  /** SASL PLAIN with these credentials. */
  sasl?: { account: string; password: string };
  pass?: string;
  tls?: boolean;
  /** Connect from this local address (127.0.0.x), to be counted apart from other tests. */
  localAddress?: string;
}

export class IrcTestClient {
  /** Every message received, parsed, in order. */
  readonly messages: IrcMessage[] = [];
  /** The raw lines, for debugging failures. */
  readonly raw: string[] = [];
  readonly closed: Promise<void>;
  private waiters: (() => void)[] = [];
  private buf = Buffer.alloc(0);
  private syncs = 0;
  nick = "";

  private constructor(readonly socket: Socket) {
    socket.on("data", (d: Buffer) => this.onData(d));
    socket.on("error", () => {});
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    void this.closed.then(() => this.wake());
  }

  static connect(port: number, opts: { tls?: boolean; localAddress?: string } = {}): Promise<IrcTestClient> {
    return new Promise((resolve, reject) => {
      const socket = opts.tls
        ? tlsConnect({ port, host: "127.0.0.1", rejectUnauthorized: false })
        : tcpConnect({ port, host: "127.0.0.1", localAddress: opts.localAddress });
      socket.once(opts.tls ? "secureConnect" : "connect", () => resolve(new IrcTestClient(socket)));
      socket.once("error", reject);
    });
  }

  /** Connects, negotiates `caps` (all must be ACKed), logs in if asked, and waits until the welcome burst is over. */
  static async register(port: number, o: RegisterOptions): Promise<IrcTestClient> {
    const c = await IrcTestClient.connect(port, { tls: o.tls, localAddress: o.localAddress });
    const caps = [...(o.caps ?? [])];
    if (o.sasl && !caps.includes("sasl")) caps.push("sasl");
    c.send("CAP LS 302");
    if (o.pass !== undefined) c.send(`PASS :${o.pass}`);
    c.send(`NICK ${o.nick}`);
    c.send(`USER ${o.user ?? o.nick} 0 * :${o.realname ?? o.nick}`);
    if (caps.length > 0) {
      c.send(`CAP REQ :${caps.join(" ")}`);
      const ack = await c.waitFor((m) => m.command === "CAP" && (m.params[1] === "ACK" || m.params[1] === "NAK"));
      if (ack.params[1] !== "ACK") throw new Error(`caps refused: ${ack.params[2]}`);
    }
    if (o.sasl) {
      c.send("AUTHENTICATE PLAIN");
      await c.waitFor((m) => m.command === "AUTHENTICATE");
      c.send(`AUTHENTICATE ${Buffer.from(`\0${o.sasl.account}\0${o.sasl.password}`).toString("base64")}`);
      const done = await c.waitFor((m) => m.command === "903" || m.command === "904");
      if (done.command !== "903") throw new Error(`SASL failed: ${c.raw.join("\n")}`);
    }
    c.send("CAP END");
    const welcome = await c.waitFor(
      (m) => m.command === "001" || m.command === "433" || m.command === "ERROR" || m.command === "464",
    );
    if (welcome.command !== "001") throw new Error(`registration failed: ${c.raw.join("\n")}`);
    c.nick = welcome.params[0]!;
    await c.sync();
    return c;
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    let nl = this.buf.indexOf(10);
    while (nl !== -1) {
      const line = this.buf.subarray(0, nl);
      this.buf = this.buf.subarray(nl + 1);
      this.raw.push(line.toString("utf8").replace(/\r$/, ""));
      const m = parseLine(line, { maxBodyBytes: 1 << 20, maxTagBytes: 1 << 20 });
      if (m !== null && !(m instanceof ParseError)) this.messages.push(m);
      nl = this.buf.indexOf(10);
    }
    this.wake();
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  /** Resolves when something arrives (or the connection closes), or after `ms`; leaves no timer behind. */
  private changed(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  send(line: string | Buffer): void {
    this.socket.write(typeof line === "string" ? `${line}\r\n` : Buffer.concat([line, Buffer.from("\r\n")]));
  }

  get open(): boolean {
    return !this.socket.destroyed;
  }

  /** The first message from index `from` on that matches. */
  async waitFor(pred: (m: IrcMessage) => boolean, opts: { from?: number; timeout?: number } = {}): Promise<IrcMessage> {
    const deadline = Date.now() + (opts.timeout ?? 5000);
    let i = opts.from ?? 0;
    for (;;) {
      for (; i < this.messages.length; i++) if (pred(this.messages[i]!)) return this.messages[i]!;
      if (this.socket.destroyed) throw new Error(`connection closed while waiting; got:\n${this.raw.slice(-30).join("\n")}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting; got:\n${this.raw.slice(-40).join("\n")}`);
      await this.changed(left);
    }
  }

  /** Resolves when everything the server sent before answering a PING has arrived. */
  async sync(timeout = 10_000): Promise<void> {
    const token = `sync${++this.syncs}`;
    this.send(`PING ${token}`);
    await this.waitFor((m) => m.command === "PONG" && m.params[m.params.length - 1] === token, { timeout });
  }

  /** Sends lines, waits for the server to have handled them, and returns what came back meanwhile (PONG excluded). */
  async exchange(...lines: string[]): Promise<IrcMessage[]> {
    const from = this.messages.length;
    for (const l of lines) this.send(l);
    await this.sync();
    return this.messages.slice(from).filter((m) => m.command !== "PONG");
  }

  since(from: number): IrcMessage[] {
    return this.messages.slice(from);
  }

  async waitClosed(timeout = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.closed,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("still open")), timeout);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Short text for a message, for assertions: "COMMAND p1 p2 …". */
export function show(m: IrcMessage): string {
  return [m.command, ...m.params].join(" ");
}

/** A registered account logged in over IRC with SASL. */
export interface IrcUser {
  reg: Registered;
  c: IrcTestClient;
  nick: string;
}

/** Registers a fresh account and connects it over IRC; the client is added to `clients` for closing. */
export async function ircUser(srv: TestServer, clients: { close(): void }[], caps: string[] = []): Promise<IrcUser> {
  const reg = await register(srv, uniq("u"));
  const c = await IrcTestClient.register(srv.ircPort, {
    nick: reg.name,
    sasl: { account: reg.name, password: reg.password },
    caps,
  });
  clients.push(c);
  return { reg, c, nick: reg.name };
}
