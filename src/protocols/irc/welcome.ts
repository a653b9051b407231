// The registration burst (001–005, LUSERS, MOTD) and the replies that repeat parts of it.

import type { IrcClient } from "./client.ts";
import * as N from "./numerics.ts";
import { motdLines } from "./options.ts";
import type { Sink } from "./response.ts";

/** User modes: i (invisible, always set), w (wallops), o (operator), B (bot). */
export const USER_MODES = "Biow";
/** Channel modes: b and q are lists; i, n, s, t follow the room's kind. */
export const CHANNEL_MODES = "bimnoqstv";
export const CHANNEL_MODES_WITH_PARAM = "boqv";

/** ISUPPORT tokens, each KEY or KEY=value. */
export function isupport(c: IrcClient): string[] {
  const o = c.opts;
  const limits = c.gw.chat.limits;
  return [
    `AWAYLEN=${o.awayLength}`,
    "BOT=B",
    "CASEMAPPING=ascii",
    `CHANLIMIT=#:${limits.maxRoomsPerAccount}`,
    "CHANMODES=bq,,,inst",
    `CHANNELLEN=${o.channelLength}`,
    "CHANTYPES=#",
    `CHATHISTORY=${limits.historyPageMax}`,
    "HOSTLEN=64",
    "KICKLEN=255",
    "LINELEN=512",
    "MAXLIST=bq:500",
    "MODES=4",
    "MONITOR=100",
    "MSGREFTYPES=msgid,timestamp",
    `NETWORK=${o.networkName}`,
    `NICKLEN=${o.nickLength}`,
    "PREFIX=(ov)@+",
    "SAFELIST",
    "TARGMAX=JOIN:,PART:,KICK:1,NAMES:1,WHOIS:1,PRIVMSG:4,NOTICE:4,TAGMSG:1,MONITOR:,ISON:,USERHOST:5",
    `TOPICLEN=${Math.min(o.topicLength, limits.maxTopicChars)}`,
    "USERLEN=32",
    "UTF8ONLY",
    "WHOX",
  ];
}

export function sendIsupport(c: IrcClient, sink: Sink): void {
  const tokens = isupport(c);
  for (let i = 0; i < tokens.length; i += 13) {
    sink.add(c.numeric(N.RPL_ISUPPORT, ...tokens.slice(i, i + 13), "are supported by this server"));
  }
}

export function sendWelcome(c: IrcClient, sink: Sink, counts: { channels: number; users: number }): void {
  const o = c.opts;
  sink.add(c.numeric(N.RPL_WELCOME, `Welcome to the ${o.networkName} IRC Network ${c.source}`));
  sink.add(c.numeric(N.RPL_YOURHOST, `Your host is ${o.serverName}, running version parley-${c.gw.version}`));
  sink.add(c.numeric(N.RPL_CREATED, `This server was created ${c.gw.createdAt.toUTCString()}`));
  sink.add(c.numeric(N.RPL_MYINFO, o.serverName, `parley-${c.gw.version}`, USER_MODES, CHANNEL_MODES, CHANNEL_MODES_WITH_PARAM));
  sendIsupport(c, sink);
  sendLusers(c, sink, counts);
  sendMotd(c, sink);
  sink.add({ tags: {}, source: c.source, command: "MODE", params: [c.nick, "+i"] });
}

export function sendLusers(c: IrcClient, sink: Sink, counts: { channels: number; users: number }): void {
  const local = c.gw.localUsers;
  sink.add(c.numeric(N.RPL_LUSERCLIENT, `There are ${counts.users} users and 0 invisible on 1 servers`));
  sink.add(c.numeric(N.RPL_LUSEROP, String(c.gw.opersOnline()), "operator(s) online"));
  sink.add(c.numeric(N.RPL_LUSERCHANNELS, String(counts.channels), "channels formed"));
  sink.add(c.numeric(N.RPL_LUSERME, `I have ${local} clients and 0 servers`));
  sink.add(c.numeric(N.RPL_LOCALUSERS, String(local), String(local), `Current local users ${local}, max ${local}`));
  sink.add(
    c.numeric(
      N.RPL_GLOBALUSERS,
      String(counts.users),
      String(counts.users),
      `Current global users ${counts.users}, max ${counts.users}`,
    ),
  );
}

export function sendMotd(c: IrcClient, sink: Sink): void {
  const lines = motdLines(c.opts);
  if (lines.length === 0) {
    sink.add(c.numeric(N.ERR_NOMOTD, "MOTD File is missing"));
    return;
  }
  sink.add(c.numeric(N.RPL_MOTDSTART, `- ${c.opts.serverName} Message of the day - `));
  for (const line of lines) sink.add(c.numeric(N.RPL_MOTD, `- ${line}`));
  sink.add(c.numeric(N.RPL_ENDOFMOTD, "End of /MOTD command."));
}
