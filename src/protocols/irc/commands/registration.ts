// Connection registration: CAP, NICK, USER, PASS, AUTHENTICATE (SASL PLAIN), REGISTER, and the
// commands usable at any time: PING, PONG, QUIT.

import { toChatError } from "../../../core/errors.ts";
import { nameKey } from "../../../core/names.ts";
import { capValue, isCap, offeredCaps } from "../caps.ts";
import type { IrcClient } from "../client.ts";
import * as N from "../numerics.ts";
import { FailReply, NumericReply } from "../replies.ts";
import type { Sink } from "../response.ts";
import type { CommandTable } from "./types.ts";

/** A SASL message is sent in chunks of 400 base64 bytes; anything longer than this is refused. */
const MAX_SASL_BYTES = 4096;

export const registration: CommandTable = {
  CAP: {
    minParams: 1,
    needsRegistration: false,
    run({ client: c, msg, rb }) {
      const sub = msg.params[0]!.toUpperCase();
      switch (sub) {
        case "LS": {
          if (!c.registered) c.capNegotiating = true;
          const version = Number(msg.params[1] ?? "301");
          if (Number.isFinite(version) && version > c.capVersion) c.capVersion = version;
          // cap-notify is implied by CAP LS 302.
          if (c.capVersion >= 302) c.caps.add("cap-notify");
          const caps = offeredCaps(c.opts).map((cap) => {
            const value = c.capVersion >= 302 ? capValue(cap, c.opts) : null;
            return value === null ? cap : `${cap}=${value}`;
          });
          capList(c, rb, "LS", caps);
          return;
        }
        case "LIST":
          capList(c, rb, "LIST", [...c.caps]);
          return;
        case "REQ": {
          if (!c.registered) c.capNegotiating = true;
          const requested = (msg.params[1] ?? "").trim();
          const changes = requested === "" ? [] : requested.split(/ +/);
          const ok = changes.every((ch) => {
            const name = ch.startsWith("-") ? ch.slice(1) : ch;
            return isCap(name) && (name !== "draft/account-registration" || c.opts.registration);
          });
          if (!ok || changes.length === 0) {
            rb.add(c.serverMessage("CAP", [c.nick, "NAK", requested]));
            return;
          }
          for (const ch of changes) {
            if (ch.startsWith("-")) c.caps.delete(ch.slice(1));
            else c.caps.add(ch);
          }
          c.gw.notePresenceInterest(c);
          rb.add(c.serverMessage("CAP", [c.nick, "ACK", requested]));
          return;
        }
        case "END":
          if (c.registered) return;
          c.capNegotiating = false;
          return c.tryRegister(rb);
        default:
          throw new NumericReply(N.ERR_INVALIDCAPCMD, [sub, "Invalid CAP command"]);
      }
    },
  },

  NICK: {
    minParams: 0,
    needsRegistration: false,
    async run({ client: c, msg, rb }) {
      const nick = msg.params[0] ?? "";
      if (nick === "") throw new NumericReply(N.ERR_NONICKNAMEGIVEN, ["No nickname given"]);
      c.checkNick(nick);
      if (!c.registered) {
        c.nick = nick;
        return c.tryRegister(rb);
      }
      if (nick === c.nick) return;
      const account = c.account!;
      if (!account.guest) {
        throw new NumericReply(N.ERR_NICKLOCKED, ["Your nick is your account name and cannot change"]);
      }
      try {
        c.account = await c.gw.chat.renameGuest(account, nick);
      } catch (err) {
        const e = toChatError(err);
        if (e.code === "NAME_TAKEN") throw new NumericReply(N.ERR_NICKNAMEINUSE, [nick, "Nickname is already in use"]);
        throw err;
      }
      const line = { tags: {}, source: c.source, command: "NICK", params: [nick] };
      c.nick = nick;
      rb.add(line);
      // IRC clients here that see this guest learn the new nick; the core has no rename event,
      // so web clients show it once they reload the member list. The gateway's member lists and
      // online list hold the name once for every client here.
      const renamed = new Set<unknown>();
      for (const table of c.gw.rooms.all()) if (table.rename(account.id, nick)) renamed.add(table.members);
      c.gw.renameOnline(account.id, nick);
      for (const other of c.gw.clients) {
        if (!other.registered || other === c) continue;
        let sees = other.accountId === account.id;
        for (const ch of other.channels.values()) if (renamed.has(ch.members)) sees = true;
        if (sees) other.direct.add(line);
      }
    },
  },

  USER: {
    minParams: 4,
    needsRegistration: false,
    run({ client: c, msg, rb }) {
      if (c.registered || c.user !== "") throw new NumericReply(N.ERR_ALREADYREGISTERED, ["You may not reregister"]);
      // Often both are the nick: then the client keeps one string, not three.
      const same = (s: string) => (s === c.nick ? c.nick : s);
      c.user = same(msg.params[0]!.slice(0, 32) || "user");
      c.realname = same(msg.params[3]!.slice(0, 200));
      return c.tryRegister(rb);
    },
  },

  PASS: {
    minParams: 1,
    needsRegistration: false,
    run({ client: c, msg }) {
      if (c.registered) throw new NumericReply(N.ERR_ALREADYREGISTERED, ["You may not reregister"]);
      c.pass = msg.params[0]!;
    },
  },

  AUTHENTICATE: {
    minParams: 1,
    needsRegistration: false,
    async run({ client: c, msg, rb }) {
      const arg = msg.params[0]!;
      if (c.registered || c.saslAccount) throw new NumericReply(N.ERR_SASLALREADY, ["You have already authenticated using SASL"]);
      if (arg === "*") {
        const was = c.saslBuffer !== null;
        c.saslBuffer = null;
        if (!was) throw new NumericReply(N.ERR_SASLABORTED, ["SASL authentication aborted"]);
        rb.add(c.numeric(N.ERR_SASLABORTED, "SASL authentication aborted"));
        return;
      }
      if (c.saslBuffer === null) {
        if (arg.toUpperCase() !== "PLAIN") {
          rb.add(c.numeric(N.RPL_SASLMECHS, "PLAIN", "are available SASL mechanisms"));
          throw new NumericReply(N.ERR_SASLFAIL, ["SASL authentication failed"]);
        }
        c.saslBuffer = "";
        rb.add({ tags: {}, source: null, command: "AUTHENTICATE", params: ["+"] });
        return;
      }
      if (arg !== "+") c.saslBuffer += arg;
      if (c.saslBuffer.length > MAX_SASL_BYTES) {
        c.saslBuffer = null;
        throw new NumericReply(N.ERR_SASLTOOLONG, ["SASL message too long"]);
      }
      // A chunk of exactly 400 bytes means more follows.
      if (arg.length === 400) return;
      const payload = c.saslBuffer;
      c.saslBuffer = null;
      await saslPlain(c, payload, rb);
    },
  },

  REGISTER: {
    minParams: 3,
    needsRegistration: false,
    async run({ client: c, msg, rb }) {
      const [given, , password] = msg.params as [string, string, string];
      const name = given === "*" ? c.nick : given;
      if (!c.opts.registration) throw new FailReply("REGISTER", "TEMPORARILY_UNAVAILABLE", [name], "Registration is disabled");
      if (c.registered) {
        throw new FailReply(
          "REGISTER",
          c.account?.guest ? "COMPLETE_CONNECTION_REQUIRED" : "ALREADY_AUTHENTICATED",
          [name],
          c.account?.guest
            ? "Register before connecting (CAP REQ draft/account-registration, then REGISTER before CAP END)"
            : "You are logged in already",
        );
      }
      if (c.saslAccount) throw new FailReply("REGISTER", "ALREADY_AUTHENTICATED", [name], "You are logged in already");
      if (name === "*") throw new FailReply("REGISTER", "NEED_NICK", ["*"], "Send NICK first, or give an account name");
      if (given !== "*" && nameKey(given) !== nameKey(c.nick)) {
        throw new FailReply("REGISTER", "ACCOUNT_NAME_MUST_BE_NICK", [name], "The account name must be your nick");
      }
      const wait = c.gw.loginWait(c.address);
      if (wait > 0) {
        throw new FailReply(
          "REGISTER",
          "TEMPORARILY_UNAVAILABLE",
          [name],
          `Too many attempts; try again in ${Math.ceil(wait / 1000)} s`,
        );
      }
      try {
        const account = await c.gw.chat.createAccount(name, password, c.address);
        c.saslAccount = account;
        c.gw.noteAccount(account.id, false);
        rb.add(c.serverMessage("REGISTER", ["SUCCESS", account.name, "Account created"]));
        rb.add(c.numeric(N.RPL_LOGGEDIN, c.mask(account.name), account.name, `You are now logged in as ${account.name}`));
      } catch (err) {
        const e = toChatError(err);
        const code =
          e.code === "NAME_TAKEN"
            ? "ACCOUNT_EXISTS"
            : e.code === "INVALID_NAME"
              ? "BAD_ACCOUNT_NAME"
              : e.code === "WEAK_PASSWORD" || e.code === "TOO_LARGE"
                ? "UNACCEPTABLE_PASSWORD"
                : e.code === "RATE_LIMITED" || e.code === "UNAVAILABLE"
                  ? "TEMPORARILY_UNAVAILABLE"
                  : null;
        if (code === null) throw err;
        throw new FailReply("REGISTER", code, [name], e.message);
      }
    },
  },

  PING: {
    minParams: 1,
    needsRegistration: false,
    run({ client: c, msg, rb }) {
      rb.add(c.serverMessage("PONG", [c.serverName, msg.params[0]!]));
    },
  },

  PONG: {
    minParams: 0,
    needsRegistration: false,
    run() {
      // Any input counts as alive (client.ts); nothing else to do.
    },
  },

  QUIT: {
    minParams: 0,
    needsRegistration: false,
    run({ client: c, msg }) {
      const reason = msg.params[0];
      c.quit(reason ? `Quit: ${reason}` : "Client Quit");
    },
  },
};

function capList(c: IrcClient, sink: Sink, sub: string, caps: string[]): void {
  // Split so that each line stays well inside 512 bytes; "*" marks continuation (302).
  const lines: string[] = [];
  let line = "";
  for (const cap of caps) {
    if (line !== "" && line.length + cap.length + 1 > 380) {
      lines.push(line);
      line = "";
    }
    line = line === "" ? cap : `${line} ${cap}`;
  }
  lines.push(line);
  lines.forEach((l, i) => {
    const more = i < lines.length - 1 && c.capVersion >= 302;
    sink.add(c.serverMessage("CAP", more ? [c.nick, sub, "*", l] : [c.nick, sub, l]));
  });
}

async function saslPlain(c: IrcClient, payload: string, rb: Sink): Promise<void> {
  const fail = () => new NumericReply(N.ERR_SASLFAIL, ["SASL authentication failed"]);
  if (payload === "" || payload.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(payload)) throw fail();
  const raw = Buffer.from(payload, "base64");
  const parts = raw.toString("utf8").split("\0");
  if (parts.length !== 3) throw fail();
  const [authzid, authcid, password] = parts as [string, string, string];
  if (authzid !== "" && nameKey(authzid) !== nameKey(authcid)) throw fail();
  const wait = c.gw.loginWait(c.address);
  if (wait > 0) {
    throw new NumericReply(N.ERR_SASLFAIL, [`Too many login attempts; try again in ${Math.ceil(wait / 1000)} s`]);
  }
  try {
    const account = await c.gw.chat.verifyPassword(authcid, password, c.address);
    c.saslAccount = account;
    c.gw.noteAccount(account.id, false);
    rb.add(c.numeric(N.RPL_LOGGEDIN, c.mask(account.name), account.name, `You are now logged in as ${account.name}`));
    rb.add(c.numeric(N.RPL_SASLSUCCESS, "SASL authentication successful"));
  } catch (err) {
    const e = toChatError(err);
    if (e.code === "INVALID_CREDENTIALS" || e.code === "INVALID_NAME" || e.code === "BAD_REQUEST") throw fail();
    if (e.code === "RATE_LIMITED") {
      throw new NumericReply(N.ERR_SASLFAIL, [`${e.message}; try again in ${Math.ceil((e.retryAfter ?? 1000) / 1000)} s`]);
    }
    throw err;
  }
}
