import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { FrameReader, type FrameSink } from "./reader.ts";

type Seen =
  | { message: string; binary: boolean }
  | { ping: string }
  | { pong: true }
  | { closed: number | undefined; reason: string }
  | { error: number };

class Recorder implements FrameSink {
  seen: Seen[] = [];
  message(data: Buffer, binary: boolean): void {
    this.seen.push({ message: data.toString("latin1"), binary });
  }
  ping(payload: Buffer): void {
    this.seen.push({ ping: payload.toString("latin1") });
  }
  pong(): void {
    this.seen.push({ pong: true });
  }
  peerClosed(code: number | undefined, reason: string): void {
    this.seen.push({ closed: code, reason });
  }
  protocolError(code: number): void {
    this.seen.push({ error: code });
  }
}

interface FrameOptions {
  fin?: boolean;
  rsv?: number;
  masked?: boolean;
  /** Force the 64-bit length form, as a client may. */
  long?: boolean;
}

/** A frame as a client sends it: masked (with a mask that changes the bytes) unless told otherwise. */
function frame(opcode: number, payload: Buffer | string, o: FrameOptions = {}): Buffer {
  const data = typeof payload === "string" ? Buffer.from(payload, "latin1") : payload;
  const n = data.length;
  const lengthBytes = o.long || n > 65535 ? 8 : n > 125 ? 2 : 0;
  const masked = o.masked ?? true;
  const header = Buffer.alloc(2 + lengthBytes + (masked ? 4 : 0));
  header[0] = ((o.fin ?? true) ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | opcode;
  header[1] = (masked ? 0x80 : 0) | (lengthBytes === 8 ? 127 : lengthBytes === 2 ? 126 : n);
  if (lengthBytes === 2) header.writeUInt16BE(n, 2);
  if (lengthBytes === 8) header.writeBigUInt64BE(BigInt(n), 2);
  if (!masked) return Buffer.concat([header, data]);
  const mask = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  mask.copy(header, 2 + lengthBytes);
  const body = Buffer.from(data.map((b, i) => b ^ mask[i & 3]!));
  return Buffer.concat([header, body]);
}

function closePayload(code: number, reason = ""): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, Buffer.from(reason)]);
}

/** What a reader reports when given `chunks` one after another (each copied: the reader unmasks in place). */
function read(chunks: Buffer[], maxBytes = 1024): Seen[] {
  const sink = new Recorder();
  const reader = new FrameReader(sink, maxBytes);
  for (const c of chunks) reader.push(Buffer.from(c));
  return sink.seen;
}

const TEXT = 0x1;
const BINARY = 0x2;
const CONT = 0x0;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;

// A little of everything: small and 16-bit frames, a fragmented message with a ping inside, a pong, a close.
const stream = Buffer.concat([
  frame(TEXT, '{"type":"hello"}'),
  frame(BINARY, "\x00\x01\x02"),
  frame(TEXT, "x".repeat(300)),
  frame(TEXT, "frag", { fin: false }),
  frame(PING, "are you there"),
  frame(CONT, "men", { fin: false }),
  frame(CONT, "", { fin: false }),
  frame(CONT, "ted"),
  frame(PONG, ""),
  frame(TEXT, "long form", { long: true }),
  frame(CLOSE, closePayload(1000, "bye")),
]);
const expected: Seen[] = [
  { message: '{"type":"hello"}', binary: false },
  { message: "\x00\x01\x02", binary: true },
  { message: "x".repeat(300), binary: false },
  { ping: "are you there" },
  { message: "fragmented", binary: false },
  { pong: true },
  { message: "long form", binary: false },
  { closed: 1000, reason: "bye" },
];

describe("FrameReader", () => {
  it("reads frames of every kind, several in one chunk", () => {
    assert.deepEqual(read([stream]), expected);
  });

  it("reads the same whatever byte the stream is split at, once or twice", () => {
    for (let i = 0; i <= stream.length; i++) {
      assert.deepEqual(read([stream.subarray(0, i), stream.subarray(i)]), expected, `split at ${i}`);
    }
    for (let i = 0; i <= stream.length; i += 7) {
      for (let j = i; j <= stream.length; j += 5) {
        const parts = [stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)];
        assert.deepEqual(read(parts), expected, `split at ${i} and ${j}`);
      }
    }
  });

  it("reads the same one byte at a time", () => {
    assert.deepEqual(read([...stream].map((b) => Buffer.from([b]))), expected);
  });

  it("reads 7-, 16- and 64-bit lengths at their edges", () => {
    for (const n of [0, 125, 126, 127, 65535, 65536, 70000]) {
      const body = Buffer.alloc(n, "a");
      assert.deepEqual(read([frame(TEXT, body)], 100_000), [{ message: body.toString("latin1"), binary: false }], `${n} bytes`);
    }
  });

  it("a frame or a message over the limit closes with 1009 as soon as its header says so", () => {
    assert.deepEqual(read([frame(TEXT, "a".repeat(100))], 100), [{ message: "a".repeat(100), binary: false }]);
    // Only the header of a 101-byte frame has come.
    assert.deepEqual(read([frame(TEXT, "a".repeat(101)).subarray(0, 6)], 100), [{ error: 1009 }]);
    // A 64-bit length no buffer could hold.
    const huge = Buffer.from([0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
    assert.deepEqual(read([huge], 100), [{ error: 1009 }]);
    const fragments = [frame(TEXT, "a".repeat(60), { fin: false }), frame(CONT, "b".repeat(40))];
    assert.deepEqual(read(fragments, 100), [{ message: `${"a".repeat(60)}${"b".repeat(40)}`, binary: false }]);
    const over = [frame(TEXT, "a".repeat(60), { fin: false }), frame(CONT, "b".repeat(41))];
    assert.deepEqual(read(over, 100), [{ error: 1009 }]);
  });

  it("closes with 1002 on frames that break the protocol, and reads nothing after", () => {
    const after = frame(TEXT, "ignored");
    const broken: [string, Buffer][] = [
      ["unmasked", frame(TEXT, "hi", { masked: false })],
      ["RSV1", frame(TEXT, "hi", { rsv: 4 })],
      ["RSV2", frame(TEXT, "hi", { rsv: 2 })],
      ["RSV3", frame(TEXT, "hi", { rsv: 1 })],
      ["fragmented ping", frame(PING, "hi", { fin: false })],
      ["ping of 126 bytes", frame(PING, "p".repeat(126))],
      ["close of 126 bytes", frame(CLOSE, closePayload(1000, "r".repeat(124)))],
      ["continuation of nothing", frame(CONT, "hi")],
      ["new message inside a fragmented one", Buffer.concat([frame(TEXT, "a", { fin: false }), frame(TEXT, "b")])],
      ["close frame of one byte", frame(CLOSE, "\x03")],
      ...[3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf].map((op): [string, Buffer] => [`opcode ${op}`, frame(op, "")]),
      ...[0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535].map((code): [string, Buffer] => [
        `close code ${code}`,
        frame(CLOSE, closePayload(code)),
      ]),
    ];
    for (const [name, bytes] of broken) {
      assert.deepEqual(read([Buffer.concat([bytes, after])]), [{ error: 1002 }], name);
    }
  });

  it("answers every valid close frame, and reads nothing after it", () => {
    const after = frame(TEXT, "ignored");
    assert.deepEqual(read([frame(CLOSE, ""), after]), [{ closed: undefined, reason: "" }]);
    for (const code of [1000, 1001, 1003, 1007, 1014, 3000, 4999]) {
      assert.deepEqual(read([frame(CLOSE, closePayload(code, "€")), after]), [{ closed: code, reason: "€" }]);
    }
  });

  it("a close reason that is not UTF-8 closes with 1007", () => {
    assert.deepEqual(read([frame(CLOSE, Buffer.concat([closePayload(1000), Buffer.from([0xc3, 0x28])]))]), [{ error: 1007 }]);
  });

  it("passes text on unchecked: invalid UTF-8 is the INVALID_UTF8 error of decode.ts, not a close", () => {
    assert.deepEqual(read([frame(TEXT, Buffer.from([0xff, 0xfe]))]), [{ message: "\xff\xfe", binary: false }]);
  });

  it("gives the same frames however random chunks cut a random stream", () => {
    const pieces = fc.array(
      fc.oneof(
        fc.record({
          op: fc.constantFrom(TEXT, BINARY),
          body: fc.uint8Array({ maxLength: 300 }),
          parts: fc.integer({ min: 1, max: 4 }),
        }),
        fc.record({ op: fc.constantFrom(PING, PONG), body: fc.uint8Array({ maxLength: 125 }), parts: fc.constant(1) }),
      ),
      { maxLength: 12 },
    );
    fc.assert(
      fc.property(pieces, fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 40 }), (ps, cuts) => {
        const frames: Buffer[] = [];
        const want: Seen[] = [];
        for (const p of ps) {
          const body = Buffer.from(p.body);
          const text = body.toString("latin1");
          if (p.op === PING) want.push({ ping: text });
          else if (p.op === PONG) want.push({ pong: true });
          else want.push({ message: text, binary: p.op === BINARY });
          // A message sent in `parts` fragments.
          const size = Math.ceil(body.length / p.parts);
          for (let i = 0; i < p.parts; i++) {
            const last = i === p.parts - 1;
            frames.push(
              frame(i === 0 ? p.op : CONT, body.subarray(i * size, last ? body.length : (i + 1) * size), { fin: last }),
            );
          }
        }
        const bytes = Buffer.concat(frames);
        const chunks: Buffer[] = [];
        for (let off = 0, k = 0; off < bytes.length; k++) {
          const n = cuts[k % cuts.length]!;
          chunks.push(bytes.subarray(off, off + n));
          off += n;
        }
        assert.deepEqual(read(chunks, 1024), want);
      }),
      { numRuns: 500, seed: 20261127 },
    );
  });

  it("never throws on random bytes: it reports frames or one error", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { maxLength: 20 }), (chunks) => {
        const seen = read(chunks.map((c) => Buffer.from(c)));
        const last = seen.findIndex((s) => "error" in s || "closed" in s);
        assert.ok(last === -1 || last === seen.length - 1, "nothing is reported after an error or a close");
      }),
      { numRuns: 2000, seed: 20261127 },
    );
  });
});
