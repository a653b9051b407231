// The server's half of the WebSocket opening handshake (RFC 6455 §4.2): an upgrade request in,
// the 101 answer or the HTTP error that refuses it out.

import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { STATUS_CODES } from "node:http";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** Base64 of 16 bytes. */
const KEY = /^[+/0-9A-Za-z]{22}==$/;
/** An HTTP token (RFC 7230 §3.2.6). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export interface Refusal {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

/**
 * The 101 response accepting `req`, or why it is refused. No extension is ever accepted. A client
 * that asks for subprotocols gets its first one echoed, as the `ws` library did: browsers fail a
 * connection whose answer names none of those they asked for.
 */
export function acceptUpgrade(req: IncomingMessage): string | Refusal {
  if (req.method !== "GET") return { status: 405, message: "Invalid HTTP method" };
  if (req.headers.upgrade?.toLowerCase() !== "websocket") return { status: 400, message: "Invalid Upgrade header" };
  if (!(req.headers.connection ?? "").split(",").some((t) => t.trim().toLowerCase() === "upgrade")) {
    return { status: 400, message: "Invalid Connection header" };
  }
  const key = req.headers["sec-websocket-key"];
  if (key === undefined || !KEY.test(key)) return { status: 400, message: "Missing or invalid Sec-WebSocket-Key header" };
  if (req.headers["sec-websocket-version"] !== "13") {
    return { status: 426, message: "Unsupported WebSocket version", headers: { "Sec-WebSocket-Version": "13" } };
  }
  const lines = [
    "HTTP/1.1 101 Switching Protocols",
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Accept: ${createHash("sha1")
      .update(key + GUID)
      .digest("base64")}`,
  ];
  const requested = req.headers["sec-websocket-protocol"];
  if (requested !== undefined) {
    const protocols = requested.split(",").map((p) => p.trim());
    if (protocols.some((p) => !TOKEN.test(p)) || new Set(protocols).size !== protocols.length) {
      return { status: 400, message: "Invalid Sec-WebSocket-Protocol header" };
    }
    lines.push(`Sec-WebSocket-Protocol: ${protocols[0]}`);
  }
  return `${lines.join("\r\n")}\r\n\r\n`;
}

/** The HTTP answer refusing an upgrade; the connection closes after it. */
export function refusalResponse(r: Refusal): string {
  const headers = {
    Connection: "close",
    "Content-Type": "text/html",
    "Content-Length": String(Buffer.byteLength(r.message)),
    ...r.headers,
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `HTTP/1.1 ${r.status} ${STATUS_CODES[r.status]}\r\n${lines.join("\r\n")}\r\n\r\n${r.message}`;
}
