// Bytes in, a typed ClientFrame out, or a coded error. The only place inbound WebSocket data is parsed.

import { isUtf8 } from "node:buffer";
import { Compile } from "typebox/compile";
import { ChatError } from "../../core/errors.ts";
import { type ClientFrame, ClientFrameSchema } from "./wire.ts";

const check = Compile(ClientFrameSchema);
/** One compiled validator per frame type, used only to explain why a frame was rejected. */
const byType = new Map(ClientFrameSchema.anyOf.map((s) => [s.properties.type.const as string, Compile(s)]));

export function decodeFrame(data: Buffer, maxBytes: number): ClientFrame {
  if (data.length > maxBytes) throw new ChatError("TOO_LARGE", `frames are at most ${maxBytes} bytes`);
  if (!isUtf8(data)) throw new ChatError("INVALID_UTF8");
  let value: unknown;
  try {
    value = JSON.parse(data.toString("utf8"));
  } catch {
    throw new ChatError("BAD_REQUEST", "frame is not valid JSON");
  }
  if (check.Check(value)) return value;
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ChatError("BAD_REQUEST", "a frame is a JSON object");
  }
  const validator = typeof type === "string" ? byType.get(type) : undefined;
  if (!validator) throw new ChatError("UNKNOWN_TYPE", `unknown frame type ${JSON.stringify(type)}`);
  const first = [...validator.Errors(value)][0];
  const where = first?.instancePath ? first.instancePath.slice(1) : "frame";
  if (first?.message === "schema is false") throw new ChatError("BAD_REQUEST", `${type}: unknown field ${where}`);
  throw new ChatError("BAD_REQUEST", `${type}: ${where} ${first?.message ?? "is invalid"}`);
}

/** The request id of a frame that failed to decode, when one can be read, so the error can carry it. */
export function requestIdOf(data: Buffer): string | number | undefined {
  try {
    const id = (JSON.parse(data.toString("utf8")) as { id?: unknown }).id;
    return typeof id === "string" || typeof id === "number" ? id : undefined;
  } catch {
    return undefined;
  }
}
