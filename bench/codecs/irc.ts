// Plain IRC over TCP, so Parley's gateway, InspIRCd and ngIRCd get the same workload: each client
// registers (NICK/USER, no capabilities), joins its channel (#lobby, or #bench-<k> with --rooms)
// and sends `PRIVMSG <channel> :<body>`. Without echo-message an IRC server does not send a
// message back to its sender, so run.ts expects each message at every member but one.

import { connect as netConnect, type Socket } from "node:net";
import { benchRoom, mono, readBody } from "../lib.ts";
import { IRC_CHANNEL } from "../peers/irc-servers.ts";
import { type Codec, type Deliveries, parsed, type Session } from "./codec.ts";

const NL = 0x0a;
// The body is the last parameter; servers may send it without the ':' when it has no space.
const PRIVMSG = Buffer.from(" PRIVMSG ");
const BODY_MARK = Buffer.from("b~");
const PING = Buffer.from("PING ");
const ERROR = Buffer.from("ERROR ");

/** The channel client `i` is in. */
export const ircChannel = (i: number, rooms: number) => (rooms > 1 ? `#${benchRoom(i, rooms)}` : IRC_CHANNEL);

/** One client's line reader: reads are scanned in place, only complete lines, no per-line objects once registered. */
class IrcConn {
  private rest: Buffer | null = null;
  closed = false;
  /** During registration every line goes here instead of being counted. */
  onLine: ((line: string) => void) | null = null;
  onClose: (() => void) | null = null;

  constructor(
    readonly sock: Socket,
    private readonly out: Deliveries,
  ) {
    sock.on("data", (chunk: Buffer) => this.data(chunk));
    sock.on("close", () => {
      this.closed = true;
      this.onClose?.();
    });
    sock.on("error", () => {});
  }

  write(line: string): void {
    if (!this.closed) this.sock.write(`${line}\r\n`);
  }

  private data(chunk: Buffer): void {
    const now = mono();
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = null;
    const end = buf.lastIndexOf(NL) + 1; // lines complete in this read
    if (end < buf.length) this.rest = Buffer.from(buf.subarray(end));
    let at = 0;
    while (at < end) {
      const nl = buf.indexOf(NL, at);
      const line = buf.subarray(at, nl);
      at = nl + 1;
      if (this.onLine) this.onLine(line.toString("utf8").replace(/\r$/, ""));
      else if (readBody(line.subarray(Math.max(0, line.indexOf(PRIVMSG))), parsed, BODY_MARK)) {
        this.out.message(parsed.step, parsed.sentAt, now);
      } else if (line.subarray(0, PING.length).equals(PING)) {
        this.write(`PONG ${line.toString("utf8", PING.length).trim()}`);
      } else if (line.subarray(0, ERROR.length).equals(ERROR)) {
        this.out.error(line.toString("utf8", 0, Math.min(line.length, 300)));
      }
    }
  }
}

/** Connects, registers and joins the channel; resolves once the client is in it (366, end of NAMES). */
export const ircCodec: Codec = (i, cfg, out) => {
  const { hostname, port } = new URL(cfg.url);
  const nick = `${cfg.namePrefix}${i}`;
  const channel = ircChannel(i, cfg.rooms);
  return new Promise<Session>((resolve, reject) => {
    const sock = netConnect({ host: hostname, port: Number(port), noDelay: true });
    const conn = new IrcConn(sock, out);
    const fail = (err: Error) => {
      sock.destroy();
      reject(err);
    };
    let joined = false;
    conn.onLine = (line) => {
      const p = line.split(" ");
      if (p[0] === "PING") conn.write(`PONG ${p.slice(1).join(" ")}`);
      else if (p[0] === "ERROR") fail(new Error(line));
      else if (p[1] === "001" && !joined) {
        joined = true;
        conn.write(`JOIN ${channel}`);
      } else if (p[1] === "366" && p[3]?.toLowerCase() === channel) {
        conn.onLine = null;
        const s: Session = {
          send: (body) => conn.write(`PRIVMSG ${channel} :${body}`),
          close: () => sock.destroy(),
          onClose: null,
        };
        conn.onClose = () => s.onClose?.();
        resolve(s);
      } else if (/^4\d\d$/.test(p[1] ?? "") && p[1] !== "422") fail(new Error(`refused: ${line}`));
    };
    sock.on("error", fail);
    conn.onClose = () => fail(new Error("closed during registration"));
    sock.on("connect", () => sock.write(`NICK ${nick}\r\nUSER ${nick} 0 * :bench\r\n`));
  });
};
