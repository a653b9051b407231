// CHATHISTORY (draft/chathistory) and MARKREAD (draft/read-marker), on the core's history pages
// and read positions. A reference is "*", msgid=<Parley message id> or timestamp=<ISO 8601>;
// each becomes a position in the room's sequence:
//
//   msgid=X      the message's own sequence number
//   timestamp=T  between the messages sent before T and those sent at or after it
//
// and BEFORE / AFTER / LATEST / AROUND / BETWEEN become history pages before or after it.
// Deleted messages are left out; edited ones come in their current text.

import { toChatError } from "../../../core/errors.ts";
import type { Id, Message } from "../../../core/types.ts";
import type { IrcClient } from "../client.ts";
import { storedMessageLines } from "../events.ts";
import type { IrcMessage } from "../message.ts";
import { FailReply } from "../replies.ts";
import type { CommandTable } from "./types.ts";

type Ref = { kind: "none" } | { kind: "msgid"; id: Id } | { kind: "time"; at: number };

/** A history target resolved: the room, how it is named in replies, and whether it is a direct conversation. */
interface Target {
  roomId: Id;
  name: string;
  peer: string | null;
}

export const history: CommandTable = {
  CHATHISTORY: {
    minParams: 1,
    needsRegistration: true,
    async run({ client: c, msg, rb }) {
      const sub = msg.params[0]!.toUpperCase();
      const fail = (code: string, context: string[], description: string) =>
        new FailReply("CHATHISTORY", code, context, description);
      const max = c.gw.chat.limits.historyPageMax;
      const limitOf = (raw: string | undefined) => {
        const n = Number(raw);
        if (!/^\d+$/.test(raw ?? "") || n < 1) throw fail("INVALID_PARAMS", [sub], "The limit must be a positive number");
        return Math.min(n, max);
      };

      if (sub === "TARGETS") {
        if (msg.params.length < 4) throw fail("NEED_MORE_PARAMS", [sub], "CHATHISTORY TARGETS <timestamp> <timestamp> <limit>");
        const a = parseRef(msg.params[1]!);
        const b = parseRef(msg.params[2]!);
        if (a.kind !== "time" || b.kind !== "time")
          throw fail("INVALID_PARAMS", [sub], "TARGETS takes two timestamp= references");
        const limit = limitOf(msg.params[3]);
        const [from, to] = a.at <= b.at ? [a.at, b.at] : [b.at, a.at];
        const found: { name: string; at: number }[] = [];
        const rooms: { id: Id; name: string }[] = [
          ...[...c.channels.values()].map((ch) => ({ id: ch.id, name: `#${ch.name}` })),
          ...[...c.directs.values()].map((d) => ({ id: d.id, name: d.peerName })),
        ];
        await Promise.all(
          rooms.map(async (r) => {
            const page = await c.conn().history(r.id, { limit: 1 });
            const last = page.messages[0];
            if (last && last.createdAt > from && last.createdAt < to) found.push({ name: r.name, at: last.createdAt });
          }),
        );
        found.sort((x, y) => x.at - y.at);
        const lines = found
          .slice(0, limit)
          .map((f) => c.serverMessage("CHATHISTORY", ["TARGETS", f.name, new Date(f.at).toISOString()]));
        rb.batch("draft/chathistory-targets", [], lines);
        return;
      }

      if (!["LATEST", "BEFORE", "AFTER", "AROUND", "BETWEEN"].includes(sub)) {
        throw fail("UNKNOWN_COMMAND", [sub], "Unknown CHATHISTORY subcommand");
      }
      const needed = sub === "BETWEEN" ? 5 : 4;
      if (msg.params.length < needed) throw fail("NEED_MORE_PARAMS", [sub], "Not enough parameters");
      const targetName = msg.params[1]!;
      const ref = usable(parseRef(msg.params[2]!), sub);
      const ref2 = sub === "BETWEEN" ? usable(parseRef(msg.params[3]!), sub) : null;
      const limit = limitOf(msg.params[needed - 1]);
      if (ref.kind === "none" && sub !== "LATEST") throw fail("INVALID_PARAMS", [sub], "Only LATEST takes *");
      if (ref2?.kind === "none") throw fail("INVALID_PARAMS", [sub], "BETWEEN takes two references");

      const target = await resolveTarget(c, targetName, sub);
      let messages: Message[] = [];
      if (target) {
        try {
          messages = await query(c, target.roomId, sub, ref, ref2, limit);
        } catch (err) {
          if (err instanceof FailReply) throw err;
          const e = toChatError(err);
          if (e.code === "NO_SUCH_MESSAGE")
            throw fail("MESSAGE_ERROR", [sub, targetName], "No such message in that conversation");
          if (e.code === "NOT_MEMBER" || e.code === "NO_SUCH_ROOM")
            throw fail("INVALID_TARGET", [sub, targetName], "No history there");
          throw err;
        }
      }
      const lines: IrcMessage[] = [];
      for (const m of messages) {
        if (m.deleted) continue;
        lines.push(...storedMessageLines(c, m, historyTarget(c, target!, m)));
      }
      rb.batch("chathistory", [target?.name ?? targetName], lines);
    },
  },

  MARKREAD: {
    minParams: 1,
    needsRegistration: true,
    async run({ client: c, msg, rb }) {
      const name = msg.params[0]!;
      const target = await resolveTarget(c, name, null);
      if (!target) throw new FailReply("MARKREAD", "INVALID_TARGET", [name], "You are not in that conversation");
      let seq = 0;
      if (msg.params.length > 1) {
        const ref = parseRef(msg.params[1]!);
        if (ref.kind !== "time") throw new FailReply("MARKREAD", "INVALID_PARAMS", [name], "MARKREAD takes timestamp=…");
        seq = await c.conn().seqAt(target.roomId, ref.at);
      }
      // The core tells every connection of the account, this one too: this reply stands for that.
      c.readInFlight ??= new Map();
      c.readInFlight.set(target.roomId, 0);
      let later = 0;
      let stored: number;
      try {
        stored = await c.conn().markRead(target.roomId, seq);
      } finally {
        later = c.readInFlight?.get(target.roomId) ?? 0;
        c.readInFlight?.delete(target.roomId);
      }
      c.noteRead(target.roomId, stored);
      rb.add(c.serverMessage("MARKREAD", [target.name, `timestamp=${await c.readTimestamp(target.roomId, stored)}`]));
      if (later > stored) await c.pushRead(target.roomId, later);
    },
  },
};

function parseRef(raw: string): Ref | { kind: "invalid" } | { kind: "unsupported"; type: string } {
  if (raw === "*") return { kind: "none" };
  if (raw.startsWith("msgid=") && raw.length > 6) return { kind: "msgid", id: raw.slice(6) };
  if (raw.startsWith("timestamp=")) {
    const at = Date.parse(raw.slice(10));
    return Number.isFinite(at) ? { kind: "time", at } : { kind: "invalid" };
  }
  const eq = raw.indexOf("=");
  if (eq > 0) return { kind: "unsupported", type: raw.slice(0, eq) };
  return { kind: "invalid" };
}

/** The reference, or the standard reply for one of a type Parley does not know (or a malformed one). */
function usable(r: ReturnType<typeof parseRef>, sub: string): Ref {
  if (r.kind === "unsupported") {
    throw new FailReply("CHATHISTORY", "INVALID_MSGREFTYPE", [sub, r.type], "References are msgid=… or timestamp=…");
  }
  if (r.kind === "invalid") {
    throw new FailReply("CHATHISTORY", "INVALID_PARAMS", [sub], "References are *, msgid=<id> or timestamp=<ISO 8601>");
  }
  return r;
}

/** A channel (joined, or public) or a nick with whom a direct conversation exists; null when there is none. */
async function resolveTarget(c: IrcClient, name: string, sub: string | null): Promise<Target | null> {
  const joinedOnly = sub === null;
  if (c.isChannelName(name)) {
    const ch = c.channelByName(name);
    if (ch) return { roomId: ch.id, name: `#${ch.name}`, peer: null };
    if (joinedOnly) return null;
    try {
      const room = await c.conn().roomByName(name);
      return { roomId: room.id, name: `#${room.name}`, peer: null };
    } catch {
      throw new FailReply("CHATHISTORY", "INVALID_TARGET", [sub ?? "*", name], "No such channel");
    }
  }
  const d = c.directByPeer(name);
  return d ? { roomId: d.id, name: d.peerName, peer: d.peerName } : null;
}

/** Private messages are addressed as they were live: to the peer when this account wrote them. */
function historyTarget(c: IrcClient, t: Target, m: Message): string {
  if (t.peer === null) return t.name;
  return m.authorId === c.accountId ? t.peer : c.nick;
}

/** The sequence position of a reference: messages before it have seq < bound(ref, "before"), after it seq > bound(ref, "after"). */
async function bound(c: IrcClient, roomId: Id, ref: Ref, side: "before" | "after"): Promise<number> {
  switch (ref.kind) {
    case "none":
      return side === "before" ? Number.MAX_SAFE_INTEGER : 0;
    case "msgid": {
      const m = await c.conn().message(ref.id);
      if (m.roomId !== roomId)
        throw new FailReply("CHATHISTORY", "MESSAGE_ERROR", [ref.id], "That message is not in this conversation");
      return m.seq;
    }
    case "time":
      // seqAt(t) is the last message sent at or before t.
      return side === "before" ? (await c.conn().seqAt(roomId, ref.at - 1)) + 1 : c.conn().seqAt(roomId, ref.at);
  }
}

async function query(c: IrcClient, roomId: Id, sub: string, ref: Ref, ref2: Ref | null, limit: number): Promise<Message[]> {
  const conn = c.conn();
  switch (sub) {
    case "LATEST": {
      const after = await bound(c, roomId, ref, "after");
      const page = await conn.history(roomId, { limit });
      return page.messages.filter((m) => m.seq > after);
    }
    case "BEFORE":
      return (await conn.history(roomId, { before: await bound(c, roomId, ref, "before"), limit })).messages;
    case "AFTER":
      return (await conn.history(roomId, { after: await bound(c, roomId, ref, "after"), limit })).messages;
    case "AROUND": {
      // The reference itself (a message) counts among the older half.
      const pivot = await bound(c, roomId, ref, "after");
      const older = (await conn.history(roomId, { before: pivot + 1, limit: Math.ceil(limit / 2) })).messages;
      const newer =
        limit - older.length > 0 ? (await conn.history(roomId, { after: pivot, limit: limit - older.length })).messages : [];
      return [...older, ...newer];
    }
    default: {
      // BETWEEN: from the first reference towards the second, exclusive at both ends.
      const second = ref2!;
      const a = await bound(c, roomId, ref, "after");
      const b = await bound(c, roomId, second, "after");
      const ascending = ref.kind === "time" && second.kind === "time" ? ref.at <= second.at : a <= b;
      if (ascending) {
        const upper = await bound(c, roomId, second, "before");
        return (await conn.history(roomId, { after: a, limit })).messages.filter((m) => m.seq < upper);
      }
      const upper = await bound(c, roomId, ref, "before");
      return (await conn.history(roomId, { before: upper, limit })).messages.filter((m) => m.seq > b);
    }
  }
}
