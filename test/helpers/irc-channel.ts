// An IRC client's view of a channel with no members and nothing held: what the gateway's unit
// tests and bench/irc-writes.ts put a client in without going through JOIN.

import type { Channel } from "../../src/protocols/irc/client.ts";

export function emptyChannel(id = "r1", name = "lobby"): Channel {
  return { id, name, kind: "public", topic: "", createdAt: 0, members: new Map(), held: null, shownSeq: 0 };
}
