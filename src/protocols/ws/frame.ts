// Server-to-client WebSocket text frames (RFC 6455 §5.2), built once and written as they are.
//
// An event goes to every member of a room: framing it here once gives one Buffer that is
// written to each socket, instead of `ws.send` framing it again per recipient (a header Buffer,
// an options object and two stream writes each). Valid because the server never compresses
// (perMessageDeflate is off) and server frames are not masked; `ws` writes its own frames
// (ping, pong, close) synchronously, so frames written here stay in order with them.

const FIN_TEXT = 0x81;

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
