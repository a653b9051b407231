// The benchmark's minimal WebSocket client (bench/codecs/ws-client.ts, which reads every socket
// into one shared buffer) under the bare peer's JSON codec, against a scripted server on loopback:
// frames split across reads and batched in one, a frame in the same write as the upgrade
// response, 16-bit lengths, a fragmented message, a ping, events without a body, and two clients
// whose reads interleave (one holding half a frame while the other reads).

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Deliveries } from "../../bench/codecs/codec.ts";
import { bareCodec } from "../../bench/codecs/json.ts";
import { makeBody } from "../../bench/lib.ts";
import { codecConfig } from "../helpers/load-config.ts";
import { eventually } from "../helpers/server.ts";

/** An unmasked server frame. */
function frame(opcode: number, payload: string, fin = true): Buffer {
  const data = Buffer.from(payload);
  const head = data.length < 126 ? Buffer.from([0, data.length]) : Buffer.from([0, 126, data.length >> 8, data.length & 0xff]);
  head[0] = (fin ? 0x80 : 0) | opcode;
  return Buffer.concat([head, data]);
}

const event = (step: number, at: number, bytes = 64) =>
  frame(0x1, JSON.stringify({ type: "event", event: { seq: 1, at: 0, clientId: "c", body: makeBody(step, at, bytes) } }));

/** Unmasks the client's frames in `buf` (enough for these tests: one read holds whole frames). */
function clientFrames(buf: Buffer): { opcode: number; text: string }[] {
  const out: { opcode: number; text: string }[] = [];
  for (let off = 0; off + 6 <= buf.length; ) {
    const len = buf[off + 1]! & 0x7f; // < 126 here
    const mask = buf.subarray(off + 2, off + 6);
    const data = Buffer.from(buf.subarray(off + 6, off + 6 + len));
    for (let i = 0; i < data.length; i++) data[i]! ^= mask[i & 3]!;
    out.push({ opcode: buf[off]! & 0x0f, text: data.toString() });
    off += 6 + len;
  }
  return out;
}

describe("bench WebSocket client (shared read buffer) with the JSON codec", () => {
  let server: Server;
  const conns: Socket[] = [];
  const fromClients: { opcode: number; text: string }[][] = [];
  /** Bytes to send right behind each upgrade response, by connection number. */
  const early: Buffer[] = [];

  before(async () => {
    server = createServer((s) => {
      const n = conns.push(s) - 1;
      fromClients.push([]);
      let head = "";
      s.on("data", (d: Buffer) => {
        if (!head.endsWith("\r\n\r\n")) {
          head += d.toString("latin1");
          if (!head.endsWith("\r\n\r\n")) return;
          const key = /Sec-WebSocket-Key: (.*)\r\n/.exec(head)![1]!;
          const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
          const response = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`;
          s.write(Buffer.concat([Buffer.from(response), early[n] ?? Buffer.alloc(0)]));
          return;
        }
        fromClients[n]!.push(...clientFrames(d));
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
  });

  after(() => {
    for (const c of conns) c.destroy();
    server.close();
  });

  it("counts every body however the frames are split, batched or fragmented", async () => {
    const port = (server.address() as { port: number }).port;
    const cfg = codecConfig(`ws://127.0.0.1:${port}/`, "bare");
    const got: { client: number; step: number; sentAt: number }[] = [];
    const errors: string[] = [];
    const out = (client: number): Deliveries => ({
      message: (step, sentAt) => got.push({ client, step, sentAt }),
      error: (text) => errors.push(text),
    });
    early[0] = event(1, 1000.5); // in the same write as the 101
    const a = await bareCodec(0, cfg, out(0));
    const b = await bareCodec(1, cfg, out(1));
    await eventually(() => got.length === 1);

    // Client 0: a member event (no body), two bodies and half of a 16-bit-length frame in one
    // write; client 1 reads a whole batch meanwhile, long enough to overwrite where client 0's
    // half frame lay in the shared buffer (so it must have been copied); then the rest of it.
    const member = frame(0x1, JSON.stringify({ type: "event", event: { type: "member", name: "b~x" } }));
    const long = event(3, 1003.125, 300);
    conns[0]!.write(Buffer.concat([member, event(2, 1002), event(2, 1002.25), long.subarray(0, 100)]));
    await eventually(() => got.length === 3);
    conns[1]!.write(Buffer.concat([event(7, 7, 400), event(7, 7.5, 400)]));
    await eventually(() => got.length === 5);
    conns[0]!.write(long.subarray(100));
    await eventually(() => got.length === 6);

    // A fragmented message (text + continuation), a ping, and an error frame.
    const body = JSON.stringify({ type: "event", event: { body: makeBody(4, 1004, 64) } });
    conns[0]!.write(Buffer.concat([frame(0x1, body.slice(0, 30), false), frame(0x9, "hb"), frame(0x0, body.slice(30))]));
    await eventually(() => got.length === 7);
    conns[0]!.write(frame(0x1, JSON.stringify({ type: "error", code: "RATE_LIMITED" })));
    await eventually(() => errors.length === 1);

    assert.deepEqual(got, [
      { client: 0, step: 1, sentAt: 1000.5 },
      { client: 0, step: 2, sentAt: 1002 },
      { client: 0, step: 2, sentAt: 1002.25 },
      { client: 1, step: 7, sentAt: 7 },
      { client: 1, step: 7, sentAt: 7.5 },
      { client: 0, step: 3, sentAt: 1003.125 },
      { client: 0, step: 4, sentAt: 1004 },
    ]);
    assert.match(errors[0]!, /^\{"type":"error","code":"RATE_LIMITED"/);
    await eventually(() => fromClients[0]!.some((f) => f.opcode === 0xa && f.text === "hb"));

    a.send("hello");
    await eventually(() => fromClients[0]!.some((f) => f.opcode === 0x1));
    assert.deepEqual(JSON.parse(fromClients[0]!.find((f) => f.opcode === 0x1)!.text), {
      type: "send",
      room: "lobby",
      clientId: "c0-1",
      body: "hello",
    });
    a.close();
    b.close();
  });
});
