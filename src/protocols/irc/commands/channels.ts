// Channels are Parley rooms: JOIN, PART, TOPIC, NAMES, LIST, KICK, INVITE.

import { toChatError } from "../../../core/errors.ts";
import { checkRoomName, nameKey } from "../../../core/names.ts";
import type { Membership } from "../../../core/types.ts";
import type { IrcClient } from "../client.ts";
import { truncateUtf8 } from "../message.ts";
import * as N from "../numerics.ts";
import { chatErrorReply, NumericReply } from "../replies.ts";
import type { Sink } from "../response.ts";
import { entry } from "../rooms.ts";
import type { CommandTable } from "./types.ts";

export const channels: CommandTable = {
  JOIN: {
    minParams: 1,
    needsRegistration: true,
    async run({ client: c, msg, rb }) {
      if (msg.params[0] === "0") {
        for (const ch of [...c.channels.values()]) await each(c, rb, "PART", `#${ch.name}`, () => c.conn().leave(ch.id));
        return;
      }
      // Keys (the second parameter) are accepted and ignored: Parley rooms have none.
      for (const name of msg.params[0]!.split(",")) {
        if (name === "") continue;
        await each(c, rb, "JOIN", name, () => join(c, name, rb));
      }
    },
  },

  PART: {
    minParams: 1,
    needsRegistration: true,
    async run({ client: c, msg, rb }) {
      for (const name of msg.params[0]!.split(",")) {
        if (name === "") continue;
        await each(c, rb, "PART", name, async () => {
          const ch = c.channelByName(name);
          if (!ch) {
            await c.conn().roomByName(name); // 403 when there is no such room
            throw new NumericReply(N.ERR_NOTONCHANNEL, [name, "You're not on that channel"]);
          }
          await c.conn().leave(ch.id);
        });
      }
    },
  },

  TOPIC: {
    minParams: 1,
    needsRegistration: true,
    async run({ client: c, msg, rb }) {
      const name = msg.params[0]!;
      const ch = c.channelByName(name);
      if (msg.params.length < 2) {
        const room = ch ? { name: ch.name, topic: ch.topic } : await readable(c, name);
        if (room.topic === "") rb.add(c.numeric(N.RPL_NOTOPIC, `#${room.name}`, "No topic is set"));
        else rb.add(c.numeric(N.RPL_TOPIC, `#${room.name}`, c.topicText(room.topic)));
        return;
      }
      if (!ch) {
        await c.conn().roomByName(name);
        throw new NumericReply(N.ERR_NOTONCHANNEL, [name, "You're not on that channel"]);
      }
      const max = Math.min(c.opts.topicLength, c.gw.chat.limits.maxTopicChars);
      const topic = [...msg.params[1]!].slice(0, max).join("");
      await c.conn().setTopic(ch.id, topic);
    },
  },

  NAMES: {
    minParams: 0,
    needsRegistration: true,
    async run({ client: c, msg, rb }) {
      const name = msg.params[0];
      if (!name) {
        rb.add(c.numeric(N.RPL_ENDOFNAMES, "*", "End of /NAMES list"));
        return;
      }
      const target = name.split(",")[0]!;
      const ch = c.channelByName(target);
      if (ch && ch.held === null) {
        c.names(ch, rb);
        return;
      }
      // Not joined: a public room's names are readable by anyone; otherwise only the end.
      try {
        const room = await c.conn().roomByName(target);
        const members = await c.conn().members(room.id);
        c.names(
          {
            id: room.id,
            name: room.name,
            kind: room.kind,
            topic: room.topic,
            createdAt: room.createdAt,
            held: null,
            shownSeq: 0,
            members: new Map(members.map((m) => [m.accountId, entry(m.accountId, m.name, m.role, m.muted)])),
          },
          rb,
        );
      } catch {
        rb.add(c.numeric(N.RPL_ENDOFNAMES, target, "End of /NAMES list"));
      }
    },
  },

  LIST: {
    minParams: 0,
    needsRegistration: true,
    async run({ client: c, msg, rb }) {
      const rooms = await c.conn().listRooms();
      const wanted =
        msg.params[0] && !msg.params[0].startsWith("<") && !msg.params[0].startsWith(">") ? msg.params[0].split(",") : null;
      const patterns = wanted?.map((w) => globRegExp(w.startsWith("#") ? w.slice(1) : w));
      const seen = new Set<string>();
      const lines = rooms.filter((r) => !patterns || patterns.some((p) => p.test(r.name)));
      // Private rooms this account is in are listed too (to it), as +s channels are to their members.
      for (const ch of c.channels.values()) {
        if (ch.kind === "private" && (!patterns || patterns.some((p) => p.test(ch.name)))) {
          lines.push({ ...ch, createdBy: "", lastSeq: 0, members: ch.members.size });
        }
      }
      rb.add(c.numeric(N.RPL_LISTSTART, "Channel", "Users  Name"));
      for (const r of lines) {
        if (seen.has(r.id)) continue;
        seen.add(r.id);
        rb.add(c.numeric(N.RPL_LIST, `#${r.name}`, String(r.members), truncateUtf8(c.topicText(r.topic), 300)));
      }
      rb.add(c.numeric(N.RPL_LISTEND, "End of /LIST"));
    },
  },

  KICK: {
    minParams: 2,
    needsRegistration: true,
    async run({ client: c, msg, rb }) {
      const name = msg.params[0]!;
      const ch = c.channelByName(name);
      if (!ch) {
        await c.conn().roomByName(name);
        throw new NumericReply(N.ERR_NOTONCHANNEL, [name, "You're not on that channel"]);
      }
      // The reason is kept with the kick, so web clients show it too.
      const reason = msg.params[2] ?? "";
      for (const nick of msg.params[1]!.split(",")) {
        if (nick === "") continue;
        await each(c, rb, "KICK", name, async () => {
          try {
            await c.conn().moderate(ch.id, nick, "kick", reason);
          } catch (err) {
            throw targetError(err, nick, name);
          }
        });
      }
    },
  },

  INVITE: {
    minParams: 2,
    needsRegistration: true,
    async run({ client: c, msg, rb }) {
      const [nick, name] = msg.params as [string, string];
      const ch = c.channelByName(name);
      if (!ch) {
        await c.conn().roomByName(name);
        throw new NumericReply(N.ERR_NOTONCHANNEL, [name, "You're not on that channel"]);
      }
      for (const m of ch.members.values()) {
        if (nameKey(m.name) === nameKey(nick)) throw new NumericReply(N.ERR_USERONCHANNEL, [nick, name, "is already on channel"]);
      }
      try {
        await c.conn().invite(ch.id, nick);
      } catch (err) {
        if (toChatError(err).code === "NO_SUCH_ACCOUNT") throw new NumericReply(N.ERR_NOSUCHNICK, [nick, "No such nick"]);
        throw err;
      }
      rb.add(c.numeric(N.RPL_INVITING, nick, `#${ch.name}`));
    },
  },
};

/** Runs one target of a multi-target command; its error is answered and the next target goes on. */
async function each(c: IrcClient, sink: Sink, command: string, target: string, work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (err) {
    const reply = err instanceof NumericReply ? err : chatErrorReply(command, err, target);
    c.replyError(sink, command, reply, target);
    if (toChatError(err).fatal) throw err;
  }
}

/** Joins (or, for a name no room has, creates) a room and shows it as a channel. */
async function join(c: IrcClient, name: string, sink: Sink): Promise<void> {
  if (!c.isChannelName(name)) throw new NumericReply(N.ERR_NOSUCHCHANNEL, [name, "No such channel (channel names start with #)"]);
  if ([...name].length > c.opts.channelLength) throw new NumericReply(N.ERR_BADCHANNAME, [name, "Channel name too long"]);
  const existing = c.channelByName(name);
  if (existing) return; // already on it: joining again does nothing
  const conn = c.conn();
  let joined: Membership;
  try {
    joined = await conn.join(name);
  } catch (err) {
    if (toChatError(err).code !== "NO_SUCH_ROOM") throw err;
    try {
      checkRoomName(name);
      joined = await conn.createRoom(name, "public");
    } catch (e) {
      if (toChatError(e).code !== "ROOM_EXISTS") throw e;
      joined = await conn.join(name); // someone created it a moment ago
    }
  }
  await c.openChannel(joined, sink);
}

/** A room's name and topic, if this account may read it (public rooms, or its own). */
async function readable(c: IrcClient, name: string): Promise<{ name: string; topic: string }> {
  const room = await c.conn().roomByName(name);
  if (room.kind !== "public") throw new NumericReply(N.ERR_NOTONCHANNEL, [name, "You're not on that channel"]);
  return room;
}

/** Errors about the target of a KICK or MODE change: 441 when the nick is not in the channel, 401 when there is no such nick. */
export function targetError(err: unknown, nick: string, channel: string): unknown {
  const e = toChatError(err);
  if (e.code === "NOT_MEMBER") return new NumericReply(N.ERR_USERNOTINCHANNEL, [nick, channel, "They aren't on that channel"]);
  if (e.code === "NO_SUCH_ACCOUNT") return new NumericReply(N.ERR_NOSUCHNICK, [nick, "No such nick"]);
  return err;
}

/** A case-insensitive matcher for an IRC glob (* and ?). */
export function globRegExp(glob: string): RegExp {
  const re = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${re}$`, "i");
}
