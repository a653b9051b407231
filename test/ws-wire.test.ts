// The WebSocket protocol itself, spoken byte by byte over a raw TCP socket: the upgrade, frames
// sent with it, ping/pong, fragments, the close handshake and the frames that break RFC 6455.
// (The JSON protocol on top is ws-protocol.test.ts; malformed JSON and limits are bad-input.test.ts.)

import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { eventually, startServer, type TestServer } from "./helpers/server.ts";

let srv: TestServer;
before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv.stop();
});

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

interface ServerFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** A raw client: what the server sent (the HTTP answer, then its frames) and whether it ended the connection. */
class Raw {
  received = Buffer.alloc(0);
  ended = false;
  closed = false;
  constructor(readonly socket: Socket) {
    socket.on("data", (d: Buffer) => {
      this.received = Buffer.concat([this.received, d]);
    });
    socket.on("end", () => {
      this.ended = true;
    });
    socket.on("close", () => {
      this.closed = true;
    });
    socket.on("error", () => {});
  }

  /**
   * Whether the server let go of the connection entirely, not just ended its side: this client
   * keeps its own side open, so only a reset (the answer to bytes sent to a closed socket) closes it.
   */
  async serverClosed(): Promise<boolean> {
    for (let i = 0; i < 50 && !this.closed; i++) {
      if (this.socket.writable) this.socket.write("x");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return this.closed;
  }

  get head(): string {
    const end = this.received.indexOf("\r\n\r\n");
    return end < 0 ? "" : this.received.subarray(0, end).toString("latin1");
  }

  /** The server's frames after the 101 answer (server frames are never masked). */
  frames(): ServerFrame[] {
    const out: ServerFrame[] = [];
    let off = this.received.indexOf("\r\n\r\n") + 4;
    while (off + 2 <= this.received.length) {
      const b1 = this.received[off + 1]!;
      assert.equal(b1 & 0x80, 0, "server frames are not masked");
      let length = b1 & 0x7f;
      let header = 2;
      if (length === 126) {
        length = this.received.readUInt16BE(off + 2);
        header = 4;
      } else if (length === 127) {
        length = Number(this.received.readBigUInt64BE(off + 2));
        header = 10;
      }
      if (off + header + length > this.received.length) break;
      const b0 = this.received[off]!;
      out.push({
        fin: (b0 & 0x80) !== 0,
        opcode: b0 & 0x0f,
        payload: this.received.subarray(off + header, off + header + length),
      });
      off += header + length;
    }
    return out;
  }

  send(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }
}

function upgradeRequest(headers: Record<string, string> = {}): string {
  const all = {
    Host: `127.0.0.1:${srv.port}`,
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": KEY,
    "Sec-WebSocket-Version": "13",
    ...headers,
  };
  return `GET /ws HTTP/1.1\r\n${Object.entries(all)
    .map(([k, v]) => `${k}: ${v}`)
    .join("\r\n")}\r\n\r\n`;
}

/** Connects and sends the upgrade request, with `first` in the same write. */
async function open(headers: Record<string, string> = {}, first: Buffer = Buffer.alloc(0)): Promise<Raw> {
  // Half-open allowed: the tests see what the server does with a client that never closes its side.
  const socket = connect({ port: srv.port, host: "127.0.0.1", allowHalfOpen: true });
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  const raw = new Raw(socket);
  socket.write(Buffer.concat([Buffer.from(upgradeRequest(headers)), first]));
  await eventually(() => raw.head !== "", 5000, "the server answers the upgrade");
  return raw;
}

/** A masked client frame. */
function frame(opcode: number, payload: Buffer | string, { fin = true, masked = true } = {}): Buffer {
  const data = Buffer.from(payload);
  assert.ok(data.length < 126);
  const mask = Buffer.from([1, 2, 3, 4]);
  const head = Buffer.from([(fin ? 0x80 : 0) | opcode, (masked ? 0x80 : 0) | data.length]);
  if (!masked) return Buffer.concat([head, data]);
  return Buffer.concat([head, mask, Buffer.from(data.map((b, i) => b ^ mask[i & 3]!))]);
}

function closePayload(code: number, reason: string): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, Buffer.from(reason)]);
}

const hello = '{"type":"ping","id":7}';

describe("WebSocket wire", () => {
  it("answers the RFC's example key, and reads a frame sent in the same packet as the upgrade", async () => {
    const raw = await open({}, frame(0x1, hello));
    assert.match(raw.head, /^HTTP\/1\.1 101 /);
    assert.match(raw.head, /\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=(\r\n|$)/);
    assert.doesNotMatch(raw.head, /Sec-WebSocket-(Protocol|Extensions)/i);
    await eventually(() => raw.frames().length === 1, 5000, "the frame is answered");
    const [reply] = raw.frames();
    assert.equal(reply!.opcode, 0x1);
    assert.deepEqual(JSON.parse(reply!.payload.toString()), {
      type: "error",
      id: 7,
      code: "NOT_AUTHENTICATED",
      message: "send hello first",
    });
    raw.socket.destroy();
  });

  it("echoes the first subprotocol asked for and accepts no extension", async () => {
    const raw = await open({ "Sec-WebSocket-Protocol": "parley, other", "Sec-WebSocket-Extensions": "permessage-deflate" });
    assert.match(raw.head, /\r\nSec-WebSocket-Protocol: parley(\r\n|$)/);
    assert.doesNotMatch(raw.head, /Sec-WebSocket-Extensions/i);
    raw.socket.destroy();
  });

  it("refuses another version with 426 and a bad key with 400", async () => {
    const old = await open({ "Sec-WebSocket-Version": "8" });
    assert.match(old.head, /^HTTP\/1\.1 426 /);
    assert.match(old.head, /\r\nSec-WebSocket-Version: 13(\r\n|$)/);
    await eventually(() => old.ended, 5000, "the connection closes");
    assert.ok(await old.serverClosed(), "the server closes a refused connection the client keeps open");
    const bad = await open({ "Sec-WebSocket-Key": "short" });
    assert.match(bad.head, /^HTTP\/1\.1 400 /);
    await eventually(() => bad.ended, 5000, "the connection closes");
    assert.ok(await bad.serverClosed(), "the server closes a refused connection the client keeps open");
  });

  it("refuses another site's origin with 403 and closes the connection", async () => {
    const raw = await open({ Origin: "https://evil.example" });
    assert.match(raw.head, /^HTTP\/1\.1 403 /);
    await eventually(() => raw.ended, 5000, "the server ends its side");
    assert.ok(await raw.serverClosed(), "the server closes a refused connection the client keeps open");
  });

  it("answers a ping with its payload, and joins fragments with a ping between them", async () => {
    const raw = await open();
    raw.send(frame(0x9, "hi there"));
    raw.send(frame(0x1, hello.slice(0, 5), { fin: false }), frame(0x9, "mid"), frame(0x0, hello.slice(5, 9), { fin: false }));
    raw.send(frame(0x0, hello.slice(9)));
    await eventually(() => raw.frames().length === 3, 5000, "two pongs and a reply");
    const [pong, pong2, reply] = raw.frames();
    assert.deepEqual([pong!.opcode, pong!.payload.toString()], [0xa, "hi there"]);
    assert.deepEqual([pong2!.opcode, pong2!.payload.toString()], [0xa, "mid"]);
    assert.equal(JSON.parse(reply!.payload.toString()).id, 7);
    raw.socket.destroy();
  });

  it("answers a close frame with the same code and reason, then ends the connection", async () => {
    const raw = await open();
    raw.send(frame(0x8, closePayload(4321, "bye")));
    await eventually(() => raw.ended, 5000, "the server ends the connection");
    const [close] = raw.frames();
    assert.equal(close!.opcode, 0x8);
    assert.equal(close!.payload.readUInt16BE(0), 4321);
    assert.equal(close!.payload.subarray(2).toString(), "bye");
    raw.socket.destroy();
  });

  it("answers an empty close frame with an empty one", async () => {
    const raw = await open();
    raw.send(frame(0x8, ""));
    await eventually(() => raw.ended, 5000, "the server ends the connection");
    assert.deepEqual(
      raw.frames().map((f) => [f.opcode, f.payload.length]),
      [[0x8, 0]],
    );
    raw.socket.destroy();
  });

  it("closes with 1002 on an unmasked frame, and with 1007 on a close reason that is not UTF-8", async () => {
    const unmasked = await open();
    unmasked.send(frame(0x1, hello, { masked: false }));
    await eventually(() => unmasked.ended, 5000, "the server ends the connection");
    const [close] = unmasked.frames();
    assert.equal(close!.opcode, 0x8);
    assert.equal(close!.payload.readUInt16BE(0), 1002);
    unmasked.socket.destroy();

    const badReason = await open();
    badReason.send(frame(0x8, Buffer.concat([closePayload(1000, ""), Buffer.from([0xff])])));
    await eventually(() => badReason.ended, 5000, "the server ends the connection");
    assert.equal(badReason.frames()[0]!.payload.readUInt16BE(0), 1007);
    badReason.socket.destroy();
  });
});
