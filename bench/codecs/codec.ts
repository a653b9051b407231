// What the load generator (bench/load.ts) needs from a wire protocol: connect a client, log it in
// and put it in its room; encode a send; decode what arrives into deliveries. Everything else
// (IPC with run.ts, connecting in batches, the open-loop send schedule, timestamps, histograms)
// is the generator's and the same for every protocol.

import { connect as netConnect, type Socket } from "node:net";
import type { LoadConfig } from "../lib.ts";

/** Where a codec reports what arrives for its client. */
export interface Deliveries {
  /** A benchmark message arrived: the step and send time read from its body, and when it arrived. */
  message(step: number, sentAt: number, now: number): void;
  /** The server answered with an error (e.g. a rate limit the bench failed to lift). */
  error(text: string): void;
}

/** One connected, logged-in client in its room. */
export interface Session {
  /** Sends one benchmark body to the client's room. */
  send(body: string): void;
  close(): void;
  /** Called when the connection closes after the codec resolved. */
  onClose: (() => void) | null;
}

/**
 * Connects client `i` (named `cfg.namePrefix + i`), logs it in and joins its room (`benchRoom(i,
 * cfg.rooms)`, or the default room when `cfg.rooms` is 1); resolves once its deliveries are
 * reported to `out`.
 */
export type Codec = (i: number, cfg: LoadConfig, out: Deliveries) => Promise<Session>;

/** The step and send time of the last body read (one object, reused: no allocation per delivery). */
export const parsed = { step: 0, sentAt: 0 };

/**
 * What this generator's sockets have read since the current step began (reset by load.ts): how
 * many reads and bytes its cost per delivery comes from. The `ws` library's client does not count.
 */
export const traffic = { reads: 0, bytes: 0 };

/**
 * The read buffer all of a generator's sockets share (net's `onread`): no Buffer and no stream
 * event per read. A read is parsed before the next one lands in it, so a codec copies out only an
 * incomplete frame or line at its end.
 */
export const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** A TCP connection (no Nagle) whose reads land in READ_BUFFER: `read(n)` is called with each one's length. */
export function connectReading(host: string, port: number, read: (n: number) => void): Socket {
  return netConnect({
    host,
    port,
    noDelay: true,
    onread: {
      buffer: READ_BUFFER,
      callback: (n) => {
        read(n);
        return true;
      },
    },
  });
}
