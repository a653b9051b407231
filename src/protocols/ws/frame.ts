// Server-to-client WebSocket frames (RFC 6455 §5.2), built once and written as they are.
//
// An event goes to every member of a room: framing it here once gives one Buffer that is
// written to each socket. Server frames are never masked nor compressed (no extension is
// accepted, see handshake.ts).

const FIN_TEXT = 0x81;
const FIN_CLOSE = 0x88;
const FIN_PING = 0x89;
const FIN_PONG = 0x8a;

/** The keepalive ping, the same bytes for every connection. */
export const PING_FRAME = Buffer.from([FIN_PING, 0]);

/** A pong answering a ping whose payload (≤ 125 bytes) was `payload`. */
export function pongFrame(payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([FIN_PONG, payload.length]), payload]);
}

/** A close frame with `code` and a short `reason`, or an empty one when there is no code. */
export function closeFrame(code: number | undefined, reason: string): Buffer {
  if (code === undefined) return Buffer.from([FIN_CLOSE, 0]);
  const length = 2 + Buffer.byteLength(reason);
  if (length > 125) throw new RangeError("a close reason is at most 123 bytes");
  const frame = Buffer.allocUnsafe(2 + length);
  frame[0] = FIN_CLOSE;
  frame[1] = length;
  frame.writeUInt16BE(code, 2);
  frame.write(reason, 4, "utf8");
  return frame;
}

/** One unmasked, final text frame holding `payload` (UTF-8). */
export function textFrame(payload: string): Buffer {
  const length = Buffer.byteLength(payload);
  const header = headerLength(length);
  const frame = Buffer.allocUnsafe(header + length);
  writeHeader(frame, 0, length);
  frame.write(payload, header, "utf8");
  return frame;
}

/** Bytes of the header of a frame whose payload is `length` bytes. */
export function headerLength(length: number): number {
  return length < 126 ? 2 : length < 65536 ? 4 : 10;
}

/** Writes at `offset` the header of a final text frame whose payload is `length` bytes. */
export function writeHeader(frame: Buffer, offset: number, length: number): void {
  frame[offset] = FIN_TEXT;
  const header = headerLength(length);
  if (header === 2) {
    frame[offset + 1] = length;
  } else if (header === 4) {
    frame[offset + 1] = 126;
    frame.writeUInt16BE(length, offset + 2);
  } else {
    frame[offset + 1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), offset + 2);
    frame.writeUInt32BE(length >>> 0, offset + 6);
  }
}
