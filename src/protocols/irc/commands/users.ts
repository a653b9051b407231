// About people: WHO (and WHOX), WHOIS, ISON, USERHOST, MONITOR, AWAY, SETNAME.
//
// Parley has no away status of its own: an account that is offline is shown away ("Offline"),
// and an AWAY set over IRC is known to this gateway process only. Real names likewise exist on
// IRC only; everyone else's real name is their account name.

import { nameKey } from "../../../core/names.ts";
import type { Id, Member } from "../../../core/types.ts";
import type { IrcClient } from "../client.ts";
import { USER_HOST } from "../client.ts";
import * as N from "../numerics.ts";
import { FailReply, NumericReply } from "../replies.ts";
import type { Sink } from "../response.ts";
import type { ChanMember } from "../rooms.ts";
import { globRegExp } from "./channels.ts";
import type { CommandTable } from "./types.ts";

const MONITOR_MAX = 100;

interface Person {
  accountId: Id;
  name: string;
  /** Channel prefix, when listed for a channel. */
  prefix: string;
  channel: string;
}

export const users: CommandTable = {
  WHO: {
    minParams: 0,
    needsRegistration: true,
    async run({ client: c, msg, rb }) {
      const mask = msg.params[0] ?? "*";
      const whox = parseWhox(msg.params[1]);
      const people: Person[] = [];
      if (c.isChannelName(mask)) {
        const ch = c.channelByName(mask);
        let members: ChanMember[] | Member[] = ch ? [...ch.members.values()] : [];
        if (!ch) {
          try {
            const room = await c.conn().roomByName(mask);
            members = await c.conn().members(room.id);
          } catch {
            members = [];
          }
        }
        const channel = ch ? `#${ch.name}` : mask;
        for (const m of members)
          people.push({ accountId: m.accountId, name: m.name, prefix: m.role === "member" ? "" : "@", channel });
      } else {
        const re = globRegExp(mask);
        const everyone = mask === "*" || mask === "0";
        for (const [accountId, name] of c.gw.onlineAccounts()) {
          if (everyone ? c.sharedChannels(accountId).length > 0 || accountId === c.accountId : re.test(name)) {
            people.push({ accountId, name, prefix: "", channel: "*" });
          }
        }
        if (people.length === 0 && !/[*?]/.test(mask)) {
          const found = await c.gw.chat.findAccount(mask).catch(() => null);
          if (found) people.push({ accountId: found.id, name: found.name, prefix: "", channel: "*" });
        }
      }
      await c.gw.resolveGuests(people);
      for (const p of people) rb.add(whoLine(c, p, whox));
      rb.add(c.numeric(N.RPL_ENDOFWHO, mask, "End of WHO list"));
    },
  },

  WHOIS: {
    minParams: 1,
    needsRegistration: true,
    async run({ client: c, msg, rb }) {
      // WHOIS [server] nick: the nick is the last parameter.
      const nick = msg.params[msg.params.length - 1]!.split(",")[0]!;
      const person = await findPerson(c, nick);
      if (!person) {
        rb.add(c.numeric(N.ERR_NOSUCHNICK, nick, "No such nick"));
        rb.add(c.numeric(N.RPL_ENDOFWHOIS, nick, "End of /WHOIS list"));
        return;
      }
      const { accountId, name, guest, admin } = person;
      rb.add(c.numeric(N.RPL_WHOISUSER, name, name, USER_HOST, "*", c.gw.realnameOf(accountId, name)));
      const chans = c.sharedChannels(accountId).map((ch) => {
        const m = ch.members.get(accountId)!;
        return `${c.prefixOf(m)}#${ch.name}`;
      });
      if (chans.length > 0) rb.add(c.numeric(N.RPL_WHOISCHANNELS, name, chans.join(" ")));
      rb.add(c.numeric(N.RPL_WHOISSERVER, name, c.serverName, `${c.opts.networkName} (Parley)`));
      if (c.gw.isOper(accountId)) rb.add(c.numeric(N.RPL_WHOISOPERATOR, name, "is an IRC operator"));
      if (admin) rb.add(c.numeric(N.RPL_WHOISSPECIAL, name, "is a Parley administrator"));
      if (c.gw.isBot(accountId)) rb.add(c.numeric(N.RPL_WHOISBOT, name, `is a Bot on ${c.opts.networkName}`));
      if (!guest) rb.add(c.numeric(N.RPL_WHOISACCOUNT, name, name, "is logged in as"));
      const away = c.awayMessage(accountId);
      if (away !== null) rb.add(c.numeric(N.RPL_AWAY, name, away));
      rb.add(c.numeric(N.RPL_ENDOFWHOIS, name, "End of /WHOIS list"));
    },
  },

  ISON: {
    minParams: 1,
    needsRegistration: true,
    run({ client: c, msg, rb }) {
      const wanted = msg.params.flatMap((p) => p.split(" ")).filter((n) => n !== "");
      const on = wanted.map((n) => c.gw.onlineByName(n)?.name).filter((n): n is string => n !== undefined);
      rb.add(c.numeric(N.RPL_ISON, on.join(" ")));
    },
  },

  USERHOST: {
    minParams: 1,
    needsRegistration: true,
    run({ client: c, msg, rb }) {
      const replies: string[] = [];
      for (const nick of msg.params.slice(0, 5)) {
        const found = c.gw.onlineByName(nick);
        if (!found) continue;
        const { accountId, name } = found;
        const oper = c.gw.isOper(accountId) ? "*" : "";
        const away = c.awayMessage(accountId) !== null ? "-" : "+";
        replies.push(`${name}${oper}=${away}${name}@${USER_HOST}`);
      }
      rb.add(c.numeric(N.RPL_USERHOST, replies.join(" ")));
    },
  },

  MONITOR: {
    minParams: 1,
    needsRegistration: true,
    run({ client: c, msg, rb }) {
      try {
        monitor(c, msg.params[0]!, msg.params[1] ?? "", rb);
      } finally {
        c.gw.notePresenceInterest(c);
      }
    },
  },

  AWAY: {
    minParams: 0,
    needsRegistration: true,
    run({ client: c, msg, rb }) {
      const text = msg.params[0] ?? "";
      const before = c.gw.awayOf(c.accountId);
      c.away = text === "" ? null : [...text].slice(0, c.opts.awayLength).join("");
      rb.add(
        c.away === null
          ? c.numeric(N.RPL_UNAWAY, "You are no longer marked as being away")
          : c.numeric(N.RPL_NOWAWAY, "You have been marked as being away"),
      );
      const after = c.gw.awayOf(c.accountId);
      if (before !== after) {
        c.notifyPeers(
          "away-notify",
          { tags: {}, source: c.source, command: "AWAY", params: after === null ? [] : [after] },
          false,
        );
      }
    },
  },

  SETNAME: {
    minParams: 1,
    needsRegistration: true,
    run({ client: c, msg, rb }) {
      const realname = msg.params[0]!;
      if (realname === "" || Buffer.byteLength(realname) > 200) {
        throw new FailReply("SETNAME", "INVALID_REALNAME", [], "Real names are 1 to 200 bytes");
      }
      c.realname = realname;
      const line = { tags: {}, source: c.source, command: "SETNAME", params: [realname] };
      if (c.caps.has("setname")) rb.add(line);
      c.notifyPeers("setname", line, false);
    },
  },
};

/** MONITOR + - C L S. */
function monitor(c: IrcClient, sub: string, list: string, rb: Sink): void {
  const targets = list.split(",").filter((t) => t !== "");
  switch (sub) {
    case "+": {
      c.monitor ??= new Set();
      const on: string[] = [];
      const off: string[] = [];
      for (const t of targets) {
        if (c.monitor.size >= MONITOR_MAX && !c.monitor.has(nameKey(t))) {
          rb.add(c.numeric(N.ERR_MONLISTFULL, String(MONITOR_MAX), targets.join(","), "Monitor list is full"));
          break;
        }
        c.monitor.add(nameKey(t));
        const name = onlineName(c, t);
        if (name) on.push(c.mask(name));
        else off.push(t);
      }
      if (on.length > 0) rb.add(c.numeric(N.RPL_MONONLINE, on.join(",")));
      if (off.length > 0) rb.add(c.numeric(N.RPL_MONOFFLINE, off.join(",")));
      return;
    }
    case "-":
      for (const t of targets) c.monitor?.delete(nameKey(t));
      return;
    case "C":
    case "c":
      c.monitor = null;
      return;
    case "L":
    case "l":
      if (c.monitor && c.monitor.size > 0) rb.add(c.numeric(N.RPL_MONLIST, [...c.monitor].join(",")));
      rb.add(c.numeric(N.RPL_ENDOFMONLIST, "End of MONITOR list"));
      return;
    case "S":
    case "s": {
      const monitored = [...(c.monitor ?? [])];
      const on = monitored.map((t) => onlineName(c, t)).filter((n): n is string => n !== null);
      const off = monitored.filter((t) => onlineName(c, t) === null);
      if (on.length > 0) rb.add(c.numeric(N.RPL_MONONLINE, on.map((n) => c.mask(n)).join(",")));
      if (off.length > 0) rb.add(c.numeric(N.RPL_MONOFFLINE, off.join(",")));
      return;
    }
    default:
      throw new NumericReply(N.ERR_UNKNOWNCOMMAND, ["MONITOR", "Unknown MONITOR subcommand"]);
  }
}

function onlineName(c: IrcClient, nick: string): string | null {
  if (nameKey(nick) === nameKey(c.nick) && c.account) return c.nick;
  return c.gw.onlineByName(nick)?.name ?? null;
}

async function findPerson(
  c: IrcClient,
  nick: string,
): Promise<{ accountId: Id; name: string; guest: boolean; admin: boolean } | null> {
  const registered = await c.gw.chat.findAccount(nick).catch(() => null);
  if (registered) return { accountId: registered.id, name: registered.name, guest: false, admin: registered.admin };
  const online = c.gw.onlineByName(nick);
  return online ? { ...online, guest: true, admin: false } : null;
}

/** The fields a WHOX request asks for (`%tcuhnf,token`), or null for a plain WHO. */
function parseWhox(arg: string | undefined): { fields: string; token: string } | null {
  if (!arg?.includes("%")) return null;
  const [fields = "", token = "0"] = arg.slice(arg.indexOf("%") + 1).split(",");
  return { fields, token: token.slice(0, 3) };
}

function whoLine(c: IrcClient, p: Person, whox: { fields: string; token: string } | null) {
  const away = c.awayMessage(p.accountId) !== null;
  const flags = `${away ? "G" : "H"}${c.gw.isOper(p.accountId) ? "*" : ""}${p.prefix}${c.gw.isBot(p.accountId) ? "B" : ""}`;
  const realname = c.gw.realnameOf(p.accountId, p.name);
  if (!whox) return c.numeric(N.RPL_WHOREPLY, p.channel, p.name, USER_HOST, c.serverName, p.name, flags, `0 ${realname}`);
  const account = c.gw.isGuest(p.accountId) === false ? p.name : "0";
  const values: Record<string, string> = {
    t: whox.token,
    c: p.channel,
    u: p.name,
    i: "255.255.255.255",
    h: USER_HOST,
    s: c.serverName,
    n: p.name,
    f: flags,
    d: "0",
    l: "0",
    a: account,
    o: "n/a",
    r: realname,
  };
  // Fields come in this fixed order whatever order they were asked in.
  const params = [..."tcuihsnfdlaor"].filter((f) => whox.fields.includes(f)).map((f) => values[f]!);
  return c.numeric(N.RPL_WHOSPCRPL, ...params);
}

export type { Sink };
