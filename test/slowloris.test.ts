// Slowloris and clients that never read, on every port: half-open connections that trickle a
// byte at a time and never finish their request, upgrade, hello, registration or login are cut
// off by the server's timeouts; an HTTP client that pipelines requests and never reads the answers
// and a line-mode client that never reads are dropped (the WebSocket and IRC cases are in
// slow-consumer.test.ts and irc/limits.test.ts). Memory stays bounded and a well-behaved client is
// served throughout.

import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { api, register } from "./helpers/http.ts";
import { LineClient } from "./helpers/line-client.ts";
import { eventually, LOOSE_LIMITS, sleep, startServer, type TestServer } from "./helpers/server.ts";
import { WsClient } from "./helpers/ws-client.ts";

const PER_PORT = 40;
const TIMEOUT_MS = 1000;

let srv: TestServer;
before(async () => {
  srv = await startServer({
    irc: true,
    config: {
      limits: LOOSE_LIMITS,
      http: { headersTimeoutMs: TIMEOUT_MS, requestTimeoutMs: 2 * TIMEOUT_MS },
      ws: { helloTimeoutMs: TIMEOUT_MS },
      line: { loginTimeoutMs: TIMEOUT_MS, maxBufferedBytes: 64 * 1024 },
      irc: { registrationTimeoutMs: TIMEOUT_MS, fakelag: { enabled: false } },
    },
  });
});
after(async () => {
  await srv.stop();
});

interface Loris {
  socket: Socket;
  closed: boolean;
}

/** Opens a socket that sends `opening`, then one byte of `trickle` every 100 ms (none if empty), until closed. */
async function loris(port: number, opening: string, trickle: string): Promise<Loris> {
  const socket = connect(port, "127.0.0.1");
  socket.on("error", () => {});
  socket.on("data", () => {}); // reads what the server says; a half-open client, not a non-reader
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  const l: Loris = { socket, closed: false };
  socket.once("close", () => {
    l.closed = true;
    clearInterval(timer);
  });
  socket.write(opening);
  let i = 0;
  const timer = setInterval(() => {
    if (!socket.destroyed && trickle !== "") socket.write(trickle[i++ % trickle.length]!);
  }, 100);
  return l;
}

async function metric(name: string, labels: string): Promise<number> {
  const text = (await api(srv, "GET", "/metrics")).text;
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(" ").pop()) : 0;
}

describe("slowloris and non-readers", () => {
  it(`${PER_PORT} trickling half-open connections per port (HTTP headers, HTTP body, WebSocket without hello, IRC, line mode) are all cut off; a good client is served; memory stays bounded`, async () => {
    const good = await register(srv);
    const { client, welcome } = await WsClient.open(srv.wsUrl, { token: good.token });
    const lobby = welcome.rooms[0].room.id as string;
    const rssBefore = srv.rss();

    const upgrade = (port: number) =>
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
    const all: Loris[] = [];
    for (let i = 0; i < PER_PORT; i++) {
      all.push(
        // Headers that never end.
        await loris(srv.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n", "X-Slow: a\r\n"),
        // A body that never ends.
        await loris(srv.port, "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", "a"),
        // A WebSocket that never says hello.
        await loris(srv.port, upgrade(srv.port), ""),
        // IRC registration that never completes, line-mode login that never ends its line.
        await loris(srv.ircPort, "NICK slow\r\n", "a"),
        await loris(srv.linePort, "", "a"),
      );
    }

    // While they hang on, the good client is served.
    let served = 0;
    const serving = (async () => {
      while (all.some((l) => !l.closed)) {
        await client.ok({ type: "send", room: lobby, clientId: `g${served}`, body: `still here ${served}` });
        served++;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const peakRss = await (async () => {
      let peak = srv.rss();
      await eventually(
        () => {
          peak = Math.max(peak, srv.rss());
          return all.every((l) => l.closed);
        },
        20_000,
        "every slow connection cut off",
      );
      return peak;
    })();
    await serving;
    assert.ok(served > 0, "the good client was served while the slow connections hung on");
    await client.ok({ type: "ping" });
    const growth = peakRss - rssBefore;
    assert.ok(growth < 64 * 1024 * 1024, `RSS grew by ${Math.round(growth / 1024 / 1024)} MiB`);
    assert.ok((await metric("parley_disconnects_total", 'protocol="ws",reason="hello_timeout"')) >= PER_PORT);
    await client.close();
    console.log(
      `# slowloris: ${all.length} trickling connections on 4 ports all cut off; good client served ${served} sends; peak RSS growth ${Math.round(growth / 1024 / 1024)} MiB`,
    );
  });

  it("an HTTP connection that never sends a byte is closed without an answer (a browser may still use it)", async () => {
    const socket = connect(srv.port, "127.0.0.1");
    let received = "";
    socket.setEncoding("utf8").on("data", (d: string) => {
      received += d;
    });
    await new Promise<void>((resolve) => socket.once("close", () => resolve()));
    assert.equal(received, "", "a timed-out idle connection must not get a response it never asked for");
  });

  it("an HTTP client that pipelines requests and never reads is closed past http.maxPipelinedRequests; others are served; memory bounded", async () => {
    const rssBefore = srv.rss();
    const dropsBefore = await metric("parley_disconnects_total", 'protocol="http",reason="pipelining"');
    const socket = connect(srv.port, "127.0.0.1");
    socket.on("error", () => {});
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.pause(); // never reads
    let closed = false;
    socket.once("close", () => {
      closed = true;
    });
    // Each answer is a few KiB of metrics. Write requests until the server closes the connection,
    // or our writes back up (it stopped reading), or 64 MiB have gone out.
    const request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    const batch = request.repeat(1000);
    let requests = 0;
    const started = Date.now();
    while (requests * request.length < 64 * 1024 * 1024 && !closed) {
      requests += 1000;
      if (!socket.write(batch)) {
        await Promise.race([new Promise((resolve) => socket.once("drain", resolve)), sleep(500)]);
        if (socket.writableNeedDrain) break;
      }
    }
    // The server closed it (a paused socket does not see the close until it reads again).
    await eventually(
      async () => (await metric("parley_disconnects_total", 'protocol="http",reason="pipelining"')) === dropsBefore + 1,
      10_000,
      "the pipelining client closed by the server",
    );
    const closedAfterMs = Date.now() - started;
    socket.resume();
    await eventually(() => closed, 5000, "the client sees the close");
    // A well-behaved client is served, and memory did not follow the requests.
    assert.equal((await api(srv, "GET", "/healthz")).status, 200);
    const growth = srv.rss() - rssBefore;
    assert.ok(growth < 64 * 1024 * 1024, `RSS grew ${growth} bytes`);
    console.log(
      `# HTTP pipelining non-reader: ${requests} requests written (${Math.round((requests * request.length) / 1024)} KiB), ` +
        `closed after ${closedAfterMs} ms; RSS growth ${Math.round(growth / 1024 / 1024)} MiB`,
    );
  });

  it("a line-mode client that never reads is dropped past line.maxBufferedBytes; the server goes on", async () => {
    const sender = await register(srv);
    const { client, welcome } = await WsClient.open(srv.wsUrl, { token: sender.token });
    const lobby = welcome.rooms[0].room.id as string;
    const reader = await LineClient.login(srv.linePort, "nonreader");
    reader.socket.pause(); // never reads again
    const before = await metric("parley_disconnects_total", 'protocol="line",reason="slow_consumer"');
    const body = "z".repeat(3000);
    let sent = 0;
    await eventually(
      async () => {
        for (let i = 0; i < 50; i++) await client.ok({ type: "send", room: lobby, clientId: `nr${sent++}`, body });
        return (await metric("parley_disconnects_total", 'protocol="line",reason="slow_consumer"')) > before;
      },
      30_000,
      "the non-reading line client dropped",
    );
    // The server still serves everyone else.
    const other = await LineClient.login(srv.linePort, "reader2");
    other.close();
    await client.ok({ type: "ping" });
    await client.close();
    reader.socket.destroy();
    console.log(`# line non-reader dropped after ${sent} messages of 3000 bytes (bound 64 KiB)`);
  });
});
