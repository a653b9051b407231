// Plain IRC over TCP, so Parley's gateway, InspIRCd and ngIRCd get the same workload: each client
// registers (NICK/USER, no capabilities), joins its channel (#lobby, or #bench-<k> with --rooms)
// and sends `PRIVMSG <channel> :<body>`. Without echo-message an IRC server does not send a
// message back to its sender, so run.ts expects each message at every member but one.

import { connect as netConnect, type Socket } from "node:net";
import { benchRoom, mono, readBodyAt } from "../lib.ts";
import { IRC_CHANNEL } from "../peers/irc-servers.ts";
import { type Codec, type Deliveries, parsed, type Session, traffic } from "./codec.ts";

const NL = 0x0a;
// The body is the last parameter; servers may send it without the ':' when it has no space.
const PRIVMSG = Buffer.from(" PRIVMSG ");
const BODY_MARK = Buffer.from("b~");
const PING = Buffer.from("PING ");
const ERROR = Buffer.from("ERROR ");

/** The channel client `i` is in. */
export const ircChannel = (i: number, rooms: number) => (rooms > 1 ? `#${benchRoom(i, rooms)}` : IRC_CHANNEL);

/**
 * One client's line reader: reads are scanned in place, only complete lines, no per-line objects
 * once registered (no sub-buffers either: this runs for every delivery, and the generator's core
 * bounds how fast any server can be measured).
 */
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
    traffic.reads++;
    traffic.bytes += chunk.length;
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = null;
    const end = buf.lastIndexOf(NL) + 1; // lines complete in this read
    if (end < buf.length) this.rest = Buffer.from(buf.subarray(end));
    let at = 0;
    while (at < end) {
      const nl = buf.indexOf(NL, at);
      if (this.onLine) this.onLine(buf.toString("utf8", at, nl).replace(/\r$/, ""));
      else if (!this.delivery(buf, at, nl, now)) {
        if (buf.compare(PING, 0, PING.length, at, Math.min(nl, at + PING.length)) === 0) {
          this.write(`PONG ${buf.toString("utf8", at + PING.length, nl).trim()}`);
        } else if (buf.compare(ERROR, 0, ERROR.length, at, Math.min(nl, at + ERROR.length)) === 0) {
          this.out.error(buf.toString("utf8", at, Math.min(nl, at + 300)));
        }
      }
      at = nl + 1;
    }
  }

  /** Counts the line buf[at, nl) if it is a PRIVMSG carrying a benchmark body. */
  private delivery(buf: Buffer, at: number, nl: number, now: number): boolean {
    const cmd = buf.indexOf(PRIVMSG, at);
    if (cmd < 0 || cmd > nl) return false;
    const body = buf.indexOf(BODY_MARK, cmd + PRIVMSG.length);
    if (body < 0 || body > nl || !readBodyAt(buf, body + BODY_MARK.length, parsed)) return false;
    this.out.message(parsed.step, parsed.sentAt, now);
    return true;
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
