// The benchmark's IRC codec (bench/codecs/irc.ts) against a scripted server on loopback: it
// registers and joins, then counts the PRIVMSG lines that carry a benchmark body, however the
// server's writes split or batch them, answers PING, reports ERROR and ignores other lines.

import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Deliveries } from "../../bench/codecs/codec.ts";
import { ircCodec } from "../../bench/codecs/irc.ts";
import { makeBody } from "../../bench/lib.ts";
import { IRC_CHANNEL } from "../../bench/peers/irc-servers.ts";
import { codecConfig } from "../helpers/load-config.ts";
import { eventually } from "../helpers/server.ts";

describe("bench IRC codec", () => {
  let server: Server;
  let conn: Socket;
  const fromClient: string[] = [];
  const messages: { step: number; sentAt: number }[] = [];
  const errors: string[] = [];
  const out: Deliveries = {
    message: (step, sentAt) => messages.push({ step, sentAt }),
    error: (text) => errors.push(text),
  };

  before(async () => {
    server = createServer((s) => {
      conn = s;
      s.setEncoding("utf8");
      s.on("data", (d: string) => {
        for (const line of d.split("\r\n").filter((l) => l !== "")) {
          fromClient.push(line);
          if (line.startsWith("USER ")) s.write(":srv 001 t0 :Welcome\r\n");
          if (line.startsWith("JOIN "))
            s.write(`:t0!t0@h JOIN ${IRC_CHANNEL}\r\n:srv 366 t0 ${IRC_CHANNEL} :End of /NAMES list.\r\n`);
        }
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
  });

  after(() => {
    conn?.destroy();
    server.close();
  });

  it("registers, then counts body lines across split and batched reads", async () => {
    const port = (server.address() as { port: number }).port;
    const cfg = codecConfig(`irc://127.0.0.1:${port}`, "irc", { clients: 1, senders: 1 });
    const session = await ircCodec(0, cfg, out);
    assert.deepEqual(fromClient.slice(0, 3), ["NICK t0", "USER t0 0 * :bench", `JOIN ${IRC_CHANNEL}`]);

    const line = (step: number, at: number, colon = true) =>
      `:b1!~b1@127.0.0.1 PRIVMSG ${IRC_CHANNEL} ${colon ? ":" : ""}${makeBody(step, at, 64)}\r\n`;
    // Several lines in one write, one of them without the ':' (no space in the body), a PING,
    // a NOTICE that mentions the marker outside a PRIVMSG, and a line cut in two reads.
    const batch = `${line(1, 1000.5)}${line(1, 1001.25, false)}PING :srv\r\n:srv NOTICE t0 :b~9~9\r\n${line(2, 1002)}`;
    const cut = batch.length - 20;
    conn.write(batch.slice(0, cut));
    await eventually(() => messages.length === 2);
    conn.write(batch.slice(cut));
    await eventually(() => messages.length === 3);
    assert.deepEqual(messages, [
      { step: 1, sentAt: 1000.5 },
      { step: 1, sentAt: 1001.25 },
      { step: 2, sentAt: 1002 },
    ]);
    await eventually(() => fromClient.includes("PONG :srv"));

    session.send("hello");
    await eventually(() => fromClient.includes(`PRIVMSG ${IRC_CHANNEL} :hello`));
    conn.write("ERROR :Closing link (flooding)\r\n");
    await eventually(() => errors.length === 1);
    assert.match(errors[0]!, /^ERROR :Closing link \(flooding\)/);
    assert.equal(messages.length, 3);
    session.close();
  });
});
