import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import { acceptUpgrade, type Refusal, refusalResponse } from "./handshake.ts";

const good = {
  upgrade: "websocket",
  connection: "keep-alive, Upgrade",
  "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
  "sec-websocket-version": "13",
};

function request(headers: Record<string, string | undefined>, method = "GET"): IncomingMessage {
  return { method, headers: { ...good, ...headers } } as unknown as IncomingMessage;
}

function refusal(r: string | Refusal): Refusal {
  assert.equal(typeof r, "object", `accepted: ${String(r)}`);
  return r as Refusal;
}

describe("acceptUpgrade", () => {
  it("answers 101 with the accept value of RFC 6455's own example, and no subprotocol unasked", () => {
    assert.equal(
      acceptUpgrade(request({})),
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
    );
  });

  it("echoes the first subprotocol asked for; a malformed list is 400", () => {
    assert.match(
      acceptUpgrade(request({ "sec-websocket-protocol": "chat, superchat" })) as string,
      /\r\nSec-WebSocket-Protocol: chat\r\n\r\n$/,
    );
    for (const bad of ["chat,,x", "a b", "chat, chat", ""]) {
      assert.equal(refusal(acceptUpgrade(request({ "sec-websocket-protocol": bad }))).status, 400, bad);
    }
  });

  it("refuses what is not a version 13 WebSocket upgrade", () => {
    assert.equal(refusal(acceptUpgrade(request({}, "POST"))).status, 405);
    assert.equal(refusal(acceptUpgrade(request({ upgrade: "h2c" }))).status, 400);
    assert.equal(refusal(acceptUpgrade(request({ upgrade: undefined }))).status, 400);
    assert.equal(refusal(acceptUpgrade(request({ connection: "keep-alive" }))).status, 400);
    for (const key of [undefined, "", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZXg="]) {
      assert.equal(refusal(acceptUpgrade(request({ "sec-websocket-key": key }))).status, 400, String(key));
    }
    for (const version of [undefined, "8", "12", "14", "13, 8"]) {
      const r = refusal(acceptUpgrade(request({ "sec-websocket-version": version })));
      assert.equal(r.status, 426, String(version));
      assert.deepEqual(r.headers, { "Sec-WebSocket-Version": "13" });
    }
  });

  it("writes a refusal as a closing HTTP response", () => {
    assert.equal(
      refusalResponse({ status: 426, message: "Unsupported WebSocket version", headers: { "Sec-WebSocket-Version": "13" } }),
      "HTTP/1.1 426 Upgrade Required\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: 29\r\nSec-WebSocket-Version: 13\r\n\r\nUnsupported WebSocket version",
    );
  });
});
