// Plain IRC over TCP, so Parley's gateway, InspIRCd and ngIRCd get the same workload: each client
// registers (NICK/USER, no capabilities), joins its channel (#lobby, or #bench-<k> with --rooms)
// and sends `PRIVMSG <channel> :<body>`. Without echo-message an IRC server does not send a
// message back to its sender, so run.ts expects each message at every member but one.

import type { Socket } from "node:net";
import { benchRoom, mono, readBodyAt } from "../lib.ts";
import { IRC_CHANNEL } from "../peers/irc-servers.ts";
import { type Codec, connectReading, type Deliveries, parsed, READ_BUFFER, type Session, traffic } from "./codec.ts";

const NL = 0x0a;
const SPACE = 0x20;
const COLON = 0x3a;
const TILDE = 0x7e;
const B = 0x62;
const PRIVMSG = Buffer.from(" PRIVMSG ");
const PING = Buffer.from("PING ");
const ERROR = Buffer.from("ERROR ");

/** The channel client `i` is in. */
export const ircChannel = (i: number, rooms: number) => (rooms > 1 ? `#${benchRoom(i, rooms)}` : IRC_CHANNEL);

/** Whether `buf[at, nl)` starts with `word`. */
function startsWith(buf: Buffer, at: number, nl: number, word: Buffer): boolean {
  if (nl - at < word.length) return false;
  for (let k = 0; k < word.length; k++) if (buf[at + k] !== word[k]) return false;
  return true;
}

/**
 * One client's line reader: reads land in the shared READ_BUFFER and are scanned in place, only
 * complete lines, with no per-line objects once registered (no sub-buffers either: this runs for
 * every delivery, and the generator's core bounds how fast any server can be measured).
 */
class IrcConn {
  /** A copy of an incomplete line at the end of the last read. */
  private rest: Buffer | null = null;
  closed = false;
  /** During registration every line goes here instead of being counted. */
  onLine: ((line: string) => void) | null = null;
  onClose: (() => void) | null = null;

  constructor(
    readonly sock: Socket,
    private readonly out: Deliveries,
  ) {
    sock.on("close", () => {
      this.closed = true;
      this.onClose?.();
    });
    sock.on("error", () => {});
  }

  write(line: string): void {
    if (!this.closed) this.sock.write(`${line}\r\n`);
  }

  /** One read: its `n` bytes are at the start of READ_BUFFER until the next read. */
  read(n: number): void {
    const now = mono();
    traffic.reads++;
    traffic.bytes += n;
    let buf = READ_BUFFER;
    let len = n;
    if (this.rest) {
      buf = Buffer.concat([this.rest, READ_BUFFER.subarray(0, n)]);
      len = buf.length;
      this.rest = null;
    }
    const end = buf.lastIndexOf(NL, len - 1) + 1; // lines complete in this read
    if (end < len) this.rest = Buffer.from(buf.subarray(end, len));
    let at = 0;
    while (at < end) {
      const nl = buf.indexOf(NL, at);
      if (this.onLine) this.onLine(buf.toString("utf8", at, nl).replace(/\r$/, ""));
      else if (!this.delivery(buf, at, nl, now)) {
        if (startsWith(buf, at, nl, PING)) {
          this.write(`PONG ${buf.toString("utf8", at + PING.length, nl).trim()}`);
        } else if (startsWith(buf, at, nl, ERROR)) {
          this.out.error(buf.toString("utf8", at, Math.min(nl, at + 300)));
        }
      }
      at = nl + 1;
    }
  }

  /**
   * Counts the line buf[at, nl) if it is a PRIVMSG carrying a benchmark body: the command right
   * after the prefix, the body its last parameter (`:b~…`, or ` b~…` when sent without the colon),
   * found by scanning back from the line's end. Plain loops over a few dozen bytes: `indexOf` of a
   * multi-byte needle costs ~0.2–0.4 µs a call, and this runs for every delivery.
   */
  private delivery(buf: Buffer, at: number, nl: number, now: number): boolean {
    let cmd = at - 1; // the space before the command
    if (buf[at] === COLON) {
      cmd = at + 1;
      while (cmd < nl && buf[cmd] !== SPACE) cmd++;
    }
    if (!startsWith(buf, cmd, nl, PRIVMSG)) return false;
    for (let j = nl - 1; j >= cmd + PRIVMSG.length + 2; j--) {
      if (buf[j] === TILDE && buf[j - 1] === B && (buf[j - 2] === COLON || buf[j - 2] === SPACE)) {
        if (!readBodyAt(buf, j + 1, nl, parsed)) return false;
        this.out.message(parsed.step, parsed.sentAt, now);
        return true;
      }
    }
    return false;
  }
}

/** Connects, registers and joins the channel; resolves once the client is in it (366, end of NAMES). */
export const ircCodec: Codec = (i, cfg, out) => {
  const { hostname, port } = new URL(cfg.url);
  const nick = `${cfg.namePrefix}${i}`;
  const channel = ircChannel(i, cfg.rooms);
  return new Promise<Session>((resolve, reject) => {
    const sock = connectReading(hostname, Number(port), (n) => conn.read(n));
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
