// MODE: channel modes mapped to Parley's room kinds and roles, and this client's user modes.
//
//   +o/-o nick   moderator / member (only owners and admins appoint moderators)
//   +b/-b mask   ban / unban the account named in the mask's nick part
//   +q/-q mask   mute / unmute (a "quiet"); +v/-v nick unmutes / mutes, for clients that devoice
//   +i/+s, -i/-s make the room private (invite-only) or public; both letters are the one setting
//   n t          always set: only members speak, only moderators set the topic
//   anything else (m, k, l …) is ERR_UNKNOWNMODE (472)

import type { Moderation } from "../../../core/connection.ts";
import type { Channel, IrcClient } from "../client.ts";
import { banMask } from "../events.ts";
import * as N from "../numerics.ts";
import { FailReply, NumericReply } from "../replies.ts";
import type { Sink } from "../response.ts";
import { targetError } from "./channels.ts";
import type { CommandTable } from "./types.ts";

const MAX_CHANGES = 4;

export const modes: CommandTable = {
  MODE: {
    minParams: 1,
    needsRegistration: true,
    async run({ client: c, msg, rb }) {
      const target = msg.params[0]!;
      if (!c.isChannelName(target)) return userMode(c, target, msg.params[1], rb);
      const ch = c.channelByName(target);
      if (!ch) {
        const room = await c.conn().roomByName(target);
        if (msg.params.length < 2 && room.kind === "public") {
          rb.add(c.numeric(N.RPL_CHANNELMODEIS, `#${room.name}`, "+nt"));
          return;
        }
        throw new NumericReply(N.ERR_NOTONCHANNEL, [target, "You're not on that channel"]);
      }
      const name = `#${ch.name}`;
      if (msg.params.length < 2) {
        rb.add(c.numeric(N.RPL_CHANNELMODEIS, name, channelModes(ch)));
        rb.add(c.numeric(N.RPL_CREATIONTIME, name, String(Math.floor(ch.createdAt / 1000))));
        return;
      }
      await channelMode(c, ch, msg.params[1]!, msg.params.slice(2), rb);
    },
  },
};

export function channelModes(ch: Channel): string {
  return ch.kind === "public" ? "+nt" : "+inst";
}

async function channelMode(c: IrcClient, ch: Channel, modestring: string, args: string[], rb: Sink): Promise<void> {
  const name = `#${ch.name}`;
  let adding = true;
  let changes = 0;
  let argIndex = 0;
  const mine = ch.members.get(c.accountId);
  const isOp = mine ? mine.role !== "member" : false;
  // The kind as this command leaves it: "+is" changes it once, not twice.
  let kind = ch.kind;
  for (const ch_ of modestring) {
    if (ch_ === "+" || ch_ === "-") {
      adding = ch_ === "+";
      continue;
    }
    switch (ch_) {
      case "b":
      case "q": {
        const mask = args[argIndex++];
        if (mask === undefined) {
          await listMode(c, ch, ch_, rb);
          continue;
        }
        if (++changes > MAX_CHANGES) return;
        const nick = maskNick(mask);
        if (nick === null) {
          rb.add(
            c.numeric(
              N.ERR_INVALIDMODEPARAM,
              name,
              ch_,
              mask,
              "Parley bans and mutes accounts by name: use nick or nick!*@* without wildcards",
            ),
          );
          continue;
        }
        const action: Moderation = ch_ === "b" ? (adding ? "ban" : "unban") : adding ? "mute" : "unmute";
        await moderate(c, ch, nick, action, rb);
        continue;
      }
      case "o":
      case "v": {
        const nick = args[argIndex++];
        if (nick === undefined) {
          rb.add(c.numeric(N.ERR_NEEDMOREPARAMS, "MODE", "Not enough parameters"));
          continue;
        }
        if (++changes > MAX_CHANGES) return;
        const action: Moderation = ch_ === "o" ? (adding ? "op" : "deop") : adding ? "unmute" : "mute";
        await moderate(c, ch, nick, action, rb);
        continue;
      }
      case "i":
      case "s": {
        if ((kind === "private") === adding) continue; // already so
        if (!isOp && !c.account?.admin) {
          rb.add(c.numeric(N.ERR_CHANOPRIVSNEEDED, name, "You're not a channel operator"));
          continue;
        }
        if (++changes > MAX_CHANGES) return;
        try {
          await c.conn().setKind(ch.id, adding ? "private" : "public");
          kind = adding ? "private" : "public";
        } catch (err) {
          c.replyError(rb, "MODE", err, name);
        }
        continue;
      }
      case "n":
      case "t": {
        if (adding) continue; // always set
        if (!isOp && !c.account?.admin) {
          rb.add(c.numeric(N.ERR_CHANOPRIVSNEEDED, name, "You're not a channel operator"));
          continue;
        }
        c.replyError(
          rb,
          "MODE",
          new FailReply(
            "MODE",
            "CANNOT_CHANGE_MODE",
            [name, `-${ch_}`],
            "Only moderators set the topic, and only members speak, in every Parley room",
          ),
          name,
        );
        continue;
      }
      default:
        rb.add(c.numeric(N.ERR_UNKNOWNMODE, ch_, "is not a recognised channel mode"));
    }
  }
}

async function moderate(c: IrcClient, ch: Channel, nick: string, action: Moderation, rb: Sink): Promise<void> {
  const name = `#${ch.name}`;
  try {
    await c.conn().moderate(ch.id, nick, action);
  } catch (err) {
    c.replyError(rb, "MODE", targetError(err, nick, name), name);
  }
}

/** The ban list is the room's banned accounts, as masks; the quiet list is the muted members. */
async function listMode(c: IrcClient, ch: Channel, mode: "b" | "q", rb: Sink): Promise<void> {
  const name = `#${ch.name}`;
  if (mode === "b") {
    for (const b of await c.conn().bans(ch.id)) rb.add(c.numeric(N.RPL_BANLIST, name, banMask(b.name)));
    rb.add(c.numeric(N.RPL_ENDOFBANLIST, name, "End of channel ban list"));
    return;
  }
  for (const m of ch.members.values()) {
    if (m.muted) rb.add(c.numeric(N.RPL_QUIETLIST, name, "q", banMask(m.name)));
  }
  rb.add(c.numeric(N.RPL_ENDOFQUIETLIST, name, "q", "End of channel quiet list"));
}

/** The nick a ban mask names: "nick", "nick!*@*" or "nick!user@host"; null for masks with wildcards in the nick. */
export function maskNick(mask: string): string | null {
  const nick = mask.split("!")[0]!.split("@")[0]!;
  if (nick === "" || /[*?]/.test(nick)) return null;
  return nick;
}

function userMode(c: IrcClient, target: string, modestring: string | undefined, rb: Sink): void {
  if (target.toLowerCase() !== c.nick.toLowerCase()) {
    throw new NumericReply(N.ERR_USERSDONTMATCH, ["Can't change mode for other users"]);
  }
  const current = () => `+i${c.bot ? "B" : ""}${c.oper ? "o" : ""}${c.wallops ? "w" : ""}`;
  if (modestring === undefined) {
    rb.add(c.numeric(N.RPL_UMODEIS, current()));
    return;
  }
  let adding = true;
  let applied = "";
  let unknown = false;
  for (const m of modestring) {
    if (m === "+" || m === "-") {
      adding = m === "+";
      continue;
    }
    if (m === "B" && c.bot !== adding) c.bot = adding;
    else if (m === "w" && c.wallops !== adding) c.wallops = adding;
    else if (m === "o" && !adding && c.oper) c.setOper(false);
    else if (m === "i" || m === "B" || m === "w" || m === "o") continue;
    else {
      unknown = true;
      continue;
    }
    applied += `${adding ? "+" : "-"}${m}`;
  }
  if (unknown) rb.add(c.numeric(N.ERR_UMODEUNKNOWNFLAG, "Unknown MODE flag"));
  if (applied !== "") rb.add({ tags: {}, source: c.source, command: "MODE", params: [c.nick, compactModes(applied)] });
}

/** "+B+w-o" → "+Bw-o". */
function compactModes(s: string): string {
  let out = "";
  let sign = "";
  for (let i = 0; i < s.length; i += 2) {
    if (s[i] !== sign) {
      sign = s[i]!;
      out += sign;
    }
    out += s[i + 1];
  }
  return out;
}
