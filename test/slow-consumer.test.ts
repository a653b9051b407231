// Guarantee 3: a client that stops reading is cut off once its outgoing buffer passes the bound,
// while the other members of the room keep receiving everything and the server's memory stays flat.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { api, register, uniq } from "./helpers/http.ts";
import { eventually, LOOSE_LIMITS, startServer, type TestServer } from "./helpers/server.ts";
import { contiguous, encodeClientFrame, rawWebSocket, WsClient } from "./helpers/ws-client.ts";

const MAX_BUFFERED = 65536;
// Each round delivers 3 × 20 events of about 4 KB to every member, several times the bound,
// mostly in one or two turns: readers that keep up must not be taken for slow ones.
const BODY = "x".repeat(3900);
const SENDERS = 3;
const ROUND = 20; // messages per sender per round

let srv: TestServer;
before(async () => {
  srv = await startServer({ config: { limits: LOOSE_LIMITS, ws: { maxBufferedBytes: MAX_BUFFERED } } });
});
after(async () => {
  await srv.stop();
});

async function metric(name: string, labels: string): Promise<number> {
  const text = (await api(srv, "GET", "/metrics")).text;
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(" ").pop()) : 0;
}

/** Parses complete server frames (unmasked, text) out of a byte stream. */
function parseFrames(buf: Buffer): { frames: string[]; closeFrame: boolean } {
  const frames: string[] = [];
  let closeFrame = false;
  let i = 0;
  while (i + 2 <= buf.length) {
    const opcode = buf[i]! & 0x0f;
    let len = buf[i + 1]! & 0x7f;
    let at = i + 2;
    if (len === 126) {
      if (at + 2 > buf.length) break;
      len = buf.readUInt16BE(at);
      at += 2;
    } else if (len === 127) {
      if (at + 8 > buf.length) break;
      len = Number(buf.readBigUInt64BE(at));
      at += 8;
    }
    if (at + len > buf.length) break;
    if (opcode === 1) frames.push(buf.subarray(at, at + len).toString("utf8"));
    if (opcode === 8) closeFrame = true;
    i = at + len;
  }
  return { frames, closeFrame };
}

describe("slow consumer", () => {
  it("a client that never reads is dropped past the buffer bound; a normal client gets everything; RSS stays bounded", async () => {
    const owner = await register(srv, uniq("own"));
    const { client: ownerWs } = await WsClient.open(srv.wsUrl, { token: owner.token });
    const name = uniq("busy");
    const roomId = (await ownerWs.ok({ type: "create", name })).membership.room.id as string;

    const senders: WsClient[] = [];
    for (let i = 0; i < SENDERS; i++) {
      const { client } = await WsClient.open(srv.wsUrl, { token: (await register(srv, uniq(`s${i}`))).token });
      await client.ok({ type: "join", room: name });
      senders.push(client);
    }
    const { client: normal } = await WsClient.open(srv.wsUrl, { token: (await register(srv, uniq("normal"))).token });
    await normal.ok({ type: "join", room: name });
    const startSeq = normal.lastSeq(roomId);

    // The slow one: a member of the room whose raw socket completes the handshake and hello, then stops reading.
    const slowReg = await register(srv, uniq("slow"));
    const { client: joiner } = await WsClient.open(srv.wsUrl, { token: slowReg.token });
    await joiner.ok({ type: "join", room: name });
    await joiner.close();
    const raw = await rawWebSocket(srv.port);
    let received = raw.received().length;
    raw.socket.on("data", (d: Buffer) => {
      received += d.length;
    });
    raw.socket.write(encodeClientFrame(Buffer.from(JSON.stringify({ type: "hello", id: 1, token: slowReg.token }))));
    await eventually(() => raw.received().includes("welcome"), 5000, "the slow client's welcome");
    raw.socket.pause();
    const receivedBeforePause = received;
    await eventually(async () => (await metric("parley_connections", 'protocol="ws"')) === SENDERS + 3, 5000, "connections");

    const baseline = srv.rss();
    let peak = baseline;
    let sentBytes = 0;
    const acks: { seq: number; messageId: string }[] = [];
    let round = 0;
    let droppedAfterRound = -1;
    let seqAtDrop = 0;
    // Send rounds until the slow client is dropped, then a few more rounds for good measure.
    while (round < 200 && (droppedAfterRound < 0 || round < droppedAfterRound + 5)) {
      const batch = await Promise.all(
        senders.flatMap((s, k) =>
          Array.from({ length: ROUND }, (_, j) =>
            s.ok<{ seq: number; messageId: string }>({
              type: "send",
              room: roomId,
              clientId: `r${round}-${k}-${j}`,
              body: BODY,
            }),
          ),
        ),
      );
      acks.push(...batch);
      sentBytes += batch.length * BODY.length;
      round++;
      peak = Math.max(peak, srv.rss());
      if (droppedAfterRound < 0 && (await metric("parley_disconnects_total", 'protocol="ws",reason="slow_consumer"')) >= 1) {
        droppedAfterRound = round;
        seqAtDrop = Math.max(...acks.map((a) => a.seq));
      }
    }
    assert.ok(droppedAfterRound > 0, `the slow client was never dropped after ${sentBytes} bytes`);
    assert.equal(await metric("parley_disconnects_total", 'protocol="ws",reason="slow_consumer"'), 1, "only the slow client");
    await eventually(async () => (await metric("parley_connections", 'protocol="ws"')) === SENDERS + 2, 5000, "connection count");

    // The normal client kept receiving every event, in order, without gaps.
    const newest = Math.max(...acks.map((a) => a.seq));
    await normal.waitForSeq(roomId, newest, 30_000);
    const seqs = normal
      .eventsIn(roomId)
      .map((e) => e.seq)
      .filter((seq) => seq > startSeq);
    assert.equal(contiguous(seqs, startSeq + 1), null);
    assert.equal(seqs[seqs.length - 1], newest);
    const delivered = new Set(
      normal
        .eventsIn(roomId)
        .filter((e) => e.type === "message")
        .map((e) => (e.type === "message" ? e.message.id : "")),
    );
    for (const a of acks) assert.ok(delivered.has(a.messageId));
    for (const s of senders) assert.ok(s.open, "senders were not slowed down or dropped");

    // Memory: the server did not keep the undelivered output around.
    const growth = peak - baseline;
    assert.ok(growth < 100 * 1024 * 1024, `RSS grew by ${Math.round(growth / 1048576)} MiB while sending ${sentBytes} bytes`);

    // The slow client, reading again, finds its stream cut short: no close frame, and far less than was sent.
    raw.socket.resume();
    await new Promise<void>((resolve) => {
      raw.socket.once("close", () => resolve());
      raw.socket.once("end", () => resolve());
    });
    assert.ok(received > receivedBeforePause, "it had been sent events before it was dropped");
    const { frames, closeFrame } = parseFrames(raw.received());
    assert.equal(closeFrame, false, "a dropped client gets no close frame (1006 on its side)");
    assert.ok(frames.some((f) => f.includes('"welcome"')));

    // It resumes from the last seq it saw and gets the rest.
    const lastSeen = frames
      .map((f) => JSON.parse(f) as { type: string; event?: { roomId: string; seq: number } })
      .filter((f) => f.type === "event" && f.event?.roomId === roomId)
      .map((f) => f.event!.seq);
    const from = lastSeen.length > 0 ? lastSeen[lastSeen.length - 1]! : startSeq;
    assert.equal(contiguous(lastSeen), null, "what it did get was in order");
    assert.ok(from <= seqAtDrop, `nothing sent after the drop reached it (got ${from}, dropped at ${seqAtDrop})`);
    assert.ok(newest > seqAtDrop, "messages were sent after the drop");
    // What it missed is stored, and it resumes from `from`.
    const missed = await api(srv, "GET", `/api/rooms/${roomId}/messages?after=${from}&limit=100`, { token: slowReg.token });
    assert.equal(missed.status, 200);
    assert.ok(missed.json.messages.length > 0);
    assert.equal(missed.json.messages[0].seq, from + 1);

    const { client: back } = await WsClient.open(srv.wsUrl, { token: slowReg.token, resume: { [roomId]: from } });
    await back.waitForSeq(roomId, newest, 30_000);
    assert.equal(
      contiguous(
        back.eventsIn(roomId).map((e) => e.seq),
        from + 1,
      ),
      null,
      "it resumed without loss or duplicates",
    );

    for (const c of [ownerWs, normal, back, ...senders]) await c.close();
  });

  it("a reader that keeps up is not dropped when one commit batch delivers more than the bound at once", async () => {
    const a = await register(srv, uniq("fast"));
    const b = await register(srv, uniq("fast"));
    const { client: sender } = await WsClient.open(srv.wsUrl, { token: a.token });
    const name = uniq("big");
    const roomId = (await sender.ok({ type: "create", name })).membership.room.id as string;
    const { client: reader } = await WsClient.open(srv.wsUrl, { token: b.token });
    await reader.ok({ type: "join", room: name });
    const before = await metric("parley_disconnects_total", 'protocol="ws",reason="slow_consumer"');
    // 100 messages of 1000 bytes sent at once: about 120 KB of events, committed in a batch or two.
    // Both clients read continuously; neither is slow.
    const acks = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        sender.ok<{ seq: number }>({ type: "send", room: roomId, clientId: `big${i}`, body: "y".repeat(1000) }),
      ),
    );
    await reader.waitForSeq(roomId, Math.max(...acks.map((x) => x.seq)), 10_000);
    assert.equal(await metric("parley_disconnects_total", 'protocol="ws",reason="slow_consumer"'), before);
    assert.ok(sender.open && reader.open);
    await Promise.all([sender.close(), reader.close()]);
  });

  it("a dropped client resumes from its last seq even when it missed more than the bound's worth of events", async () => {
    const a = await register(srv, uniq("res"));
    const b = await register(srv, uniq("res"));
    const { client: sender } = await WsClient.open(srv.wsUrl, { token: a.token });
    const name = uniq("gap");
    const roomId = (await sender.ok({ type: "create", name })).membership.room.id as string;
    const { client: reader } = await WsClient.open(srv.wsUrl, { token: b.token });
    await reader.ok({ type: "join", room: name });
    const from = reader.lastSeq(roomId);
    await reader.close();
    // 200 missed events of about 700 bytes: 140 KB, about twice the bound, in pages of 100.
    let newest = 0;
    for (let i = 0; i < 200; i += 10) {
      const acks = await Promise.all(
        Array.from({ length: 10 }, (_, j) =>
          sender.ok<{ seq: number }>({ type: "send", room: roomId, clientId: `g${i + j}`, body: BODY }),
        ),
      );
      newest = Math.max(newest, ...acks.map((x) => x.seq));
    }
    const { client: back } = await WsClient.open(srv.wsUrl, { token: b.token, resume: { [roomId]: from } });
    await back.waitForSeq(roomId, newest, 10_000);
    assert.equal(
      contiguous(
        back.eventsIn(roomId).map((e) => e.seq),
        from + 1,
      ),
      null,
    );
    assert.ok(back.open);
    await Promise.all([sender.close(), back.close()]);
  });
});
