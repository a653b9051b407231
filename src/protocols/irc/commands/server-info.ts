// About the server: MOTD, LUSERS, VERSION, TIME, HELP; and operators: OPER, KILL, WALLOPS.
// KILL and WALLOPS act on IRC connections to this gateway process (the core has no notion of
// server operators or of cutting off other protocols' connections).

import { nameKey } from "../../../core/names.ts";
import { constantTimeEqual } from "../client.ts";
import * as N from "../numerics.ts";
import { NumericReply } from "../replies.ts";
import { sendIsupport, sendLusers, sendMotd } from "../welcome.ts";
import type { CommandTable } from "./types.ts";

export const serverInfo: CommandTable = {
  MOTD: {
    minParams: 0,
    needsRegistration: true,
    run({ client: c, rb }) {
      sendMotd(c, rb);
    },
  },

  LUSERS: {
    minParams: 0,
    needsRegistration: true,
    async run({ client: c, rb }) {
      const rooms = await c.conn().listRooms();
      sendLusers(c, rb, { channels: rooms.length, users: Math.max(c.gw.onlineCount, 1) });
    },
  },

  VERSION: {
    minParams: 0,
    needsRegistration: true,
    run({ client: c, rb }) {
      rb.add(c.numeric(N.RPL_VERSION, `parley-${c.gw.version}`, c.serverName, "IRC gateway of Parley"));
      sendIsupport(c, rb);
    },
  },

  TIME: {
    minParams: 0,
    needsRegistration: true,
    run({ client: c, rb }) {
      const now = new Date();
      rb.add(c.numeric(N.RPL_TIME, c.serverName, String(Math.floor(now.getTime() / 1000)), "0", now.toUTCString()));
    },
  },

  HELP: {
    minParams: 0,
    needsRegistration: true,
    run({ client: c, msg }) {
      throw new NumericReply(N.ERR_HELPNOTFOUND, [
        msg.params[0] ?? "*",
        `See the ${c.opts.networkName} documentation: docs/irc.md`,
      ]);
    },
  },

  OPER: {
    minParams: 2,
    needsRegistration: true,
    run({ client: c, msg, rb }) {
      const [name, password] = msg.params as [string, string];
      if (c.gw.loginWait(c.address) > 0) throw new NumericReply(N.ERR_PASSWDMISMATCH, ["Too many attempts; try again later"]);
      const oper = c.opts.opers.find((o) => o.name === name);
      // Compared either way, so an unknown name takes as long as a wrong password.
      const ok = constantTimeEqual(password, oper?.password ?? "\0no such operator");
      if (!oper || !ok) {
        c.gw.log.warn("failed OPER attempt", { name, address: c.address });
        throw new NumericReply(N.ERR_PASSWDMISMATCH, ["Password incorrect"]);
      }
      c.setOper(true);
      rb.add(c.numeric(N.RPL_YOUREOPER, "You are now an IRC operator"));
      rb.add({ tags: {}, source: c.source, command: "MODE", params: [c.nick, "+o"] });
    },
  },

  KILL: {
    minParams: 2,
    needsRegistration: true,
    run({ client: c, msg, rb }) {
      if (!c.oper) throw new NumericReply(N.ERR_NOPRIVILEGES, ["Permission Denied- You're not an IRC operator"]);
      const [nick, reason] = msg.params as [string, string];
      const victims = [...c.gw.clients].filter((x) => x.registered && nameKey(x.nick) === nameKey(nick));
      if (victims.length === 0) throw new NumericReply(N.ERR_NOSUCHNICK, [nick, "No such nick"]);
      c.gw.log.info("KILL", { by: c.nick, nick, reason });
      for (const v of victims) {
        v.direct.add({ tags: {}, source: c.source, command: "KILL", params: [v.nick, reason] });
        v.quit(`Killed (${c.nick} (${reason}))`);
      }
      void rb;
    },
  },

  WALLOPS: {
    minParams: 1,
    needsRegistration: true,
    run({ client: c, msg }) {
      if (!c.oper) throw new NumericReply(N.ERR_NOPRIVILEGES, ["Permission Denied- You're not an IRC operator"]);
      const line = { tags: {}, source: c.source, command: "WALLOPS", params: [msg.params[0]!] };
      for (const x of c.gw.clients) if (x.registered && (x.wallops || x.oper)) x.direct.add(line);
    },
  },
};
