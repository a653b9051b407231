// Client-to-server WebSocket frames (RFC 6455 §5): bytes in, whole messages and control frames
// out to a sink. Pure: it never touches a socket, so every rule is tested byte by byte.
//
// Chunks are parsed where they lie; only an unfinished frame is copied out, into a buffer that
// grows (doubling, never past what the frame needs) as its bytes come, and a fragmented message
// the same way: a frame claiming a megabyte costs at most twice what has arrived of it, not a
// megabyte. Idle, a reader holds its sink, its limit and a few numbers.

import { isUtf8 } from "node:buffer";
import { CloseCodes } from "./wire.ts";

export interface FrameSink {
  /** A whole message (its fragments joined); text is not checked for UTF-8 here. */
  message(data: Buffer, binary: boolean): void;
  ping(payload: Buffer): void;
  pong(): void;
  /** The peer's close frame: its code (undefined when it carried none) and reason. No frame follows. */
  peerClosed(code: number | undefined, reason: string): void;
  /** The peer broke the protocol; close with `code`. No frame follows. */
  protocolError(code: number, reason: string): void;
}

// Opcodes (text is 0x1).
const OP_CONTINUATION = 0x0;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

const EMPTY = Buffer.alloc(0);

/** Close codes a peer may send (RFC 6455 §7.4; 1005, 1006 and 1015 are never on the wire). */
export function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/** `src` appended at `used` in `dst`, grown (doubling, at most `cap`) when it does not fit. */
function append(dst: Buffer, used: number, src: Buffer, cap: number): Buffer {
  const size = used + src.length;
  if (size > dst.length) {
    const grown = Buffer.allocUnsafeSlow(Math.min(cap, Math.max(size, dst.length * 2)));
    dst.copy(grown, 0, 0, used);
    dst = grown;
  }
  src.copy(dst, used);
  return dst;
}

export class FrameReader {
  /** The start of an unfinished frame, and how many bytes it holds. */
  private pending: Buffer | null = null;
  private pendingBytes = 0;
  /** Bytes `pending` must hold before it can be parsed further (the header, then the whole frame). */
  private need = 0;
  /** A fragmented message being gathered: its bytes so far, and whether it is binary. */
  private fragments: Buffer | null = null;
  private fragmentBytes = 0;
  private fragmentsBinary = false;
  /** After a close frame or a protocol error nothing more is read. */
  private done = false;

  constructor(
    private readonly sink: FrameSink,
    /** Largest message (and frame) payload; larger ones close with 1009. */
    private readonly maxBytes: number,
  ) {}

  push(chunk: Buffer): void {
    let off = 0;
    while (this.pending !== null) {
      if (this.done) return;
      const take = Math.min(this.need - this.pendingBytes, chunk.length - off);
      this.pending = append(this.pending, this.pendingBytes, chunk.subarray(off, off + take), this.need);
      this.pendingBytes += take;
      off += take;
      if (this.pendingBytes < this.need) return;
      const buf = this.pending.subarray(0, this.pendingBytes);
      // `pending` holds exactly what it needed: a whole frame, or a header that says how long the frame is.
      if (this.parse(buf, 0) === buf.length) {
        this.pending = null;
        this.pendingBytes = 0;
      }
    }
    if (off === chunk.length || this.done) return;
    const stop = this.parse(chunk, off);
    if (stop < chunk.length && !this.done) {
      this.pending = append(EMPTY, 0, chunk.subarray(stop), this.need);
      this.pendingBytes = chunk.length - stop;
    }
  }

  /** Reads the frames of `buf` from `off`; returns where an unfinished frame starts (and sets `need`), or `buf.length`. */
  private parse(buf: Buffer, off: number): number {
    while (off < buf.length) {
      const avail = buf.length - off;
      if (avail < 2) return this.wait(off, 2);
      const b0 = buf[off]!;
      const b1 = buf[off + 1]!;
      const opcode = b0 & 0x0f;
      const len7 = b1 & 0x7f;
      const error = this.headerError(b0, b1);
      if (error !== null) {
        this.fail(CloseCodes.PROTOCOL_ERROR, error);
        return buf.length;
      }
      const lengthBytes = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
      const header = 2 + lengthBytes + 4;
      if (avail < header) return this.wait(off, header);
      const length =
        len7 === 126
          ? buf.readUInt16BE(off + 2)
          : len7 === 127
            ? buf.readUInt32BE(off + 2) * 2 ** 32 + buf.readUInt32BE(off + 6)
            : len7;
      if (length > this.maxBytes || (opcode === OP_CONTINUATION && this.fragmentBytes + length > this.maxBytes)) {
        this.fail(CloseCodes.FRAME_TOO_LARGE, "message too big");
        return buf.length;
      }
      if (avail < header + length) return this.wait(off, header + length);
      const payload = buf.subarray(off + header, off + header + length);
      unmask(payload, buf, off + header - 4);
      off += header + length;
      if (opcode >= OP_CLOSE) this.control(opcode, payload);
      else this.data(opcode, (b0 & 0x80) !== 0, payload);
      if (this.done) return buf.length;
    }
    return off;
  }

  /** Why a frame starting with these two bytes breaks the protocol, or null. */
  private headerError(b0: number, b1: number): string | null {
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    if ((b0 & 0x70) !== 0) return "reserved bits set";
    if ((b1 & 0x80) === 0) return "client frames must be masked";
    if (opcode >= OP_CLOSE) {
      if (opcode > OP_PONG) return `unknown opcode ${opcode}`;
      if (!fin) return "fragmented control frame";
      if ((b1 & 0x7f) > 125) return "control frame over 125 bytes";
      return null;
    }
    if (opcode > OP_BINARY) return `unknown opcode ${opcode}`;
    if (opcode === OP_CONTINUATION && this.fragments === null) return "continuation of no message";
    if (opcode !== OP_CONTINUATION && this.fragments !== null) return "new message inside a fragmented one";
    return null;
  }

  private data(opcode: number, fin: boolean, payload: Buffer): void {
    if (opcode !== OP_CONTINUATION) {
      if (fin) {
        this.sink.message(payload, opcode === OP_BINARY);
        return;
      }
      this.fragmentsBinary = opcode === OP_BINARY;
      this.fragments = EMPTY;
    }
    this.fragments = append(this.fragments!, this.fragmentBytes, payload, this.maxBytes);
    this.fragmentBytes += payload.length;
    if (!fin) return;
    const message = this.fragments.subarray(0, this.fragmentBytes);
    this.fragments = null;
    this.fragmentBytes = 0;
    this.sink.message(message, this.fragmentsBinary);
  }

  private control(opcode: number, payload: Buffer): void {
    if (opcode === OP_PING) this.sink.ping(payload);
    else if (opcode === OP_PONG) this.sink.pong();
    else this.close(payload);
  }

  private close(payload: Buffer): void {
    if (payload.length === 1) {
      this.fail(CloseCodes.PROTOCOL_ERROR, "close frame of one byte");
      return;
    }
    const code = payload.length === 0 ? undefined : payload.readUInt16BE(0);
    if (code !== undefined && !validCloseCode(code)) {
      this.fail(CloseCodes.PROTOCOL_ERROR, `invalid close code ${code}`);
      return;
    }
    const reason = payload.subarray(2);
    if (!isUtf8(reason)) {
      this.fail(CloseCodes.INVALID_PAYLOAD, "close reason is not UTF-8");
      return;
    }
    this.stop();
    this.sink.peerClosed(code, reason.toString("utf8"));
  }

  private wait(off: number, need: number): number {
    this.need = need;
    return off;
  }

  private fail(code: number, reason: string): void {
    this.stop();
    this.sink.protocolError(code, reason);
  }

  /** Reads nothing more, and lets go of anything gathered. */
  private stop(): void {
    this.done = true;
    this.pending = null;
    this.fragments = null;
  }
}

/** XORs `payload` in place with the 4-byte mask at `maskAt` in `buf`. */
function unmask(payload: Buffer, buf: Buffer, maskAt: number): void {
  const m0 = buf[maskAt]!;
  const m1 = buf[maskAt + 1]!;
  const m2 = buf[maskAt + 2]!;
  const m3 = buf[maskAt + 3]!;
  const n = payload.length;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    payload[i] = payload[i]! ^ m0;
    payload[i + 1] = payload[i + 1]! ^ m1;
    payload[i + 2] = payload[i + 2]! ^ m2;
    payload[i + 3] = payload[i + 3]! ^ m3;
  }
  for (; i < n; i++) payload[i] = payload[i]! ^ buf[maskAt + (i & 3)]!;
}
