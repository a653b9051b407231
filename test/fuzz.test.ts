// A live server under fuzzing: thousands of random and mutated WebSocket frames, IRC lines and
// line-mode input (test/helpers/fuzz-inputs.ts, fixed seed), sent by attackers that reconnect
// whenever they are thrown out, while a well-behaved client keeps chatting. Afterwards the process
// is alive, healthy, every message acknowledged to the good client is in history, and the store's
// invariants hold.

import assert from "node:assert/strict";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import WebSocket from "ws";
import { ircLines, lineInputs, wsPayloads } from "./helpers/fuzz-inputs.ts";
import { api, register, uniq } from "./helpers/http.ts";
import { storeViolations } from "./helpers/invariants.ts";
import { LOOSE_LIMITS, startServer, type TestServer } from "./helpers/server.ts";
import { type Frame, WsClient } from "./helpers/ws-client.ts";

const SEED = 424242;
const WS_CASES = 2000;
const IRC_CASES = 1500;
const LINE_CASES = 1000;
const BATCH = 50;

let srv: TestServer;
before(async () => {
  srv = await startServer({ irc: true, config: { limits: LOOSE_LIMITS, irc: { fakelag: { enabled: false } } } });
});
after(async () => {
  await srv.stop();
});

/** Sends raw TCP input in batches, reconnecting whenever the server hangs up; resolves to the reconnect count. */
async function tcpAttack(port: number, greeting: string, inputs: Buffer[], probe: string, answered: RegExp): Promise<number> {
  let reconnects = 0;
  for (let i = 0; i < inputs.length; i += BATCH) {
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => {});
    let text = "";
    socket.on("data", (d: Buffer) => {
      text += d.toString("latin1");
    });
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write(greeting);
    for (const input of inputs.slice(i, i + BATCH)) socket.write(Buffer.concat([input, Buffer.from("\r\n")]));
    socket.write(probe);
    // Either the server answers the probe or it hangs up on us; both are fine, silence is not.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer and no hang-up; got: ${text.slice(-500)}`)), 15_000);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      socket.once("close", () => {
        reconnects++;
        done();
      });
      socket.on("data", () => {
        if (answered.test(text)) done();
      });
    });
    socket.destroy();
  }
  return reconnects;
}

async function wsAttack(token: string, room: string, inputs: Buffer[]): Promise<number> {
  let reconnects = 0;
  for (let i = 0; i < inputs.length; i += BATCH) {
    const ws = new WebSocket(srv.wsUrl, { perMessageDeflate: false });
    ws.on("error", () => {});
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("unexpected-response", () => reject(new Error("handshake refused")));
    });
    ws.send(JSON.stringify({ type: "hello", id: "h", token }));
    for (const input of inputs.slice(i, i + BATCH)) ws.send(input, { binary: false });
    ws.send(JSON.stringify({ type: "ping", id: "probe" }));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no answer to the probe and no close")), 15_000);
      ws.on("message", (d: Buffer) => {
        if (d.toString().includes('"id":"probe"')) {
          clearTimeout(timer);
          resolve();
        }
      });
      ws.once("close", () => {
        reconnects++;
        clearTimeout(timer);
        resolve();
      });
    });
    ws.terminate();
  }
  void room;
  return reconnects;
}

describe("fuzzing a live server", () => {
  it(`${WS_CASES} WebSocket frames, ${IRC_CASES} IRC lines and ${LINE_CASES} line-mode lines: no crash, no corruption, a good client stays served`, async () => {
    const attacker = await register(srv);
    const good = await register(srv);
    const { client, welcome } = await WsClient.open(srv.wsUrl, { token: good.token });
    const lobby = welcome.rooms[0].room.id as string;

    const ws = fc.sample(wsPayloads(lobby), { numRuns: WS_CASES, seed: SEED });
    const irc = fc.sample(ircLines("#lobby"), { numRuns: IRC_CASES, seed: SEED });
    const line = fc.sample(lineInputs, { numRuns: LINE_CASES, seed: SEED });

    // The good client sends and waits for each ack while the attacks run.
    let attacking = true;
    const acked: string[] = [];
    const goodLoop = (async () => {
      while (attacking) {
        const clientId = uniq("good");
        const ok = await client.ok<Frame>({ type: "send", room: lobby, clientId, body: `good ${clientId}` }, 15_000);
        assert.equal(ok.clientId, clientId);
        acked.push(clientId);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    const [wsReconnects, ircReconnects, lineReconnects] = await Promise.all([
      wsAttack(attacker.token, lobby, ws),
      tcpAttack(srv.ircPort, `NICK ${uniq("f")}\r\nUSER f 0 * :f\r\n`, irc, "PING :probe\r\n", /PONG \S+ :?probe/),
      tcpAttack(srv.linePort, `${uniq("l")}\r\n`, line, "/help\r\n", /Commands:/),
    ]);
    attacking = false;
    await goodLoop;

    assert.equal(srv.proc.exitCode, null, "the server is still running");
    assert.equal((await api(srv, "GET", "/healthz")).status, 200);
    assert.ok(acked.length > 0, "the good client was served during the attack");
    // Every acked message of the good client is in history.
    const stored = new Set<string>();
    let before: number | undefined;
    for (;;) {
      const page = await client.ok({ type: "history", room: lobby, limit: 100, ...(before ? { before } : {}) });
      for (const m of page.messages) if (m.clientId) stored.add(m.clientId);
      if (page.messages.length < 100) break;
      before = page.messages[0].seq;
    }
    const lost = acked.filter((id) => !stored.has(id));
    assert.deepEqual(lost, [], "no acked message lost");
    await client.close();

    const exit = await srv.stop();
    assert.equal(exit.code, 0, "a clean shutdown after the attack");
    const store = storeViolations(join(srv.dataDir, "parley.db"));
    assert.deepEqual(store.violations, []);
    assert.doesNotMatch(srv.logs(), /"level":"(error|fatal)"/, "no internal error was logged");
    console.log(
      `# fuzz: cases ${WS_CASES + IRC_CASES + LINE_CASES} (ws ${WS_CASES}, irc ${IRC_CASES}, line ${LINE_CASES}, seed ${SEED}); ` +
        `thrown out ws ${wsReconnects}, irc ${ircReconnects}, line ${lineReconnects}; crashes 0; good acks ${acked.length}, lost ${lost.length}; ` +
        `store: ${store.rooms} rooms, ${store.events} events, violations 0`,
    );
  });
});
