// Property tests of the three input decoders against hostile input: they never throw anything
// but their documented error, and what they accept is well-formed. The live-server counterpart
// is test/fuzz.test.ts.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ircLines, lineInputs, wsPayloads } from "../../test/helpers/fuzz-inputs.ts";
import { ChatError, ErrorCodes } from "../core/errors.ts";
import { ParseError, parseLine as parseIrc } from "./irc/message.ts";
import { parseLine as parseLineMode } from "./line/format.ts";
import { decodeFrame, requestIdOf } from "./ws/decode.ts";

const RUNS = 3000;
const SEED = 20261127;

describe("decoders under fuzzing", () => {
  it(`WebSocket frames: ${RUNS} random and mutated payloads decode to a frame or a coded ChatError, never anything else`, () => {
    fc.assert(
      fc.property(wsPayloads("01abc"), (data) => {
        requestIdOf(data); // never throws
        try {
          const frame = decodeFrame(data, 64 * 1024);
          assert.equal(typeof frame.type, "string");
        } catch (err) {
          assert.ok(err instanceof ChatError, `threw ${String(err)}`);
          assert.ok(err.code in ErrorCodes);
          assert.ok(["BAD_REQUEST", "UNKNOWN_TYPE", "TOO_LARGE", "INVALID_UTF8"].includes(err.code), err.code);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it(`IRC lines: ${RUNS} random and mutated lines parse to a message, a ParseError or nothing, never a throw`, () => {
    fc.assert(
      fc.property(ircLines("#fuzz"), (line) => {
        const m = parseIrc(line);
        if (m === null || m instanceof ParseError) return;
        assert.match(m.command, /^[^ \r\n\0]+$/); // an unknown command is the dispatcher's 421, not the parser's problem
        for (const p of m.params) assert.ok(!/[\r\n\0]/.test(p), "no CR, LF or NUL survives in a parameter");
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it(`line mode: ${RUNS} random lines parse to a command, never a throw`, () => {
    fc.assert(
      fc.property(lineInputs, (line) => {
        const cmd = parseLineMode(line.toString("utf8"));
        assert.ok(typeof cmd.kind === "string");
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
