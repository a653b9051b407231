// The IRC gateway's settings: the config file's "irc" object, checked once at startup.
// Every key, its default and its meaning is documented in docs/irc.md.

import type { Rate } from "../../core/rate-limit.ts";
import { defaultFakelag, type FakelagOptions } from "./fakelag.ts";

export interface OperCredentials {
  name: string;
  /** Compared in constant time. Keep the config file private. */
  password: string;
}

export interface IrcOptions {
  /** The server's name in replies and as the source of server messages. */
  serverName: string;
  /** NETWORK in ISUPPORT and the welcome line. */
  networkName: string;
  /** Message of the day, one string per line ("" or [] for none). */
  motd: string | string[];
  /** A connection password every client must send with PASS; "" for none. */
  password: string;
  /** Nicknames longer than this are refused (432); at most 32, Parley's name limit. */
  nickLength: number;
  /** Channel names longer than this, with the "#", are refused (479); at most 33. */
  channelLength: number;
  /** Topics are cut to this many characters (at most the core's maxTopicChars). */
  topicLength: number;
  /** Away messages are cut to this many characters. */
  awayLength: number;
  /** Open IRC connections from one address; more are refused. 0 = no limit. */
  maxConnectionsPerAddress: number;
  /** Addresses that the per-address limit does not apply to. */
  exemptAddresses: string[];
  /** Time to complete registration (NICK, USER, CAP END) before the connection is closed. */
  registrationTimeoutMs: number;
  /** After this long without input the server sends PING … */
  pingIntervalMs: number;
  /** … and closes the connection when nothing comes back within this long. */
  pingTimeoutMs: number;
  /** A client whose unsent output exceeds this is dropped (it fetches what it missed with CHATHISTORY). */
  maxBufferedBytes: number;
  /** Lines read but not yet handled (held back by fakelag) before the server stops reading from the socket. */
  maxQueuedLines: number;
  fakelag: FakelagOptions;
  /** Password checks (SASL, PASS, OPER) and REGISTERs per address; exempt addresses are not limited. */
  loginRate: Rate;
  /** Lines a client may send before it completes registration. */
  maxLinesBeforeRegistration: number;
  /** Accounts may be registered from IRC (draft/account-registration REGISTER). */
  registration: boolean;
  /** Largest message assembled from a draft/multiline batch, and its most lines. */
  multilineMaxBytes: number;
  multilineMaxLines: number;
  /** Operator credentials for OPER. */
  opers: OperCredentials[];
}

export const defaultIrcOptions: IrcOptions = {
  serverName: "parley.local",
  networkName: "Parley",
  motd: ["Welcome to Parley.", "Rooms are channels; your Parley account logs in with SASL PLAIN or PASS."],
  password: "",
  nickLength: 32,
  channelLength: 33,
  topicLength: 300,
  awayLength: 200,
  maxConnectionsPerAddress: 16,
  exemptAddresses: ["127.0.0.1", "::1", "::ffff:127.0.0.1"],
  registrationTimeoutMs: 60_000,
  pingIntervalMs: 90_000,
  pingTimeoutMs: 60_000,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxQueuedLines: 64,
  fakelag: defaultFakelag,
  loginRate: { burst: 10, perSecond: 0.2 },
  maxLinesBeforeRegistration: 100,
  registration: true,
  multilineMaxBytes: 4000,
  multilineMaxLines: 100,
  opers: [],
};

export class IrcConfigError extends Error {
  override name = "IrcConfigError";
}

/** Merges the config file's "irc" object over the defaults, refusing unknown keys and wrong types. */
export function resolveIrcOptions(raw: unknown): IrcOptions {
  if (raw === undefined || raw === null) return { ...defaultIrcOptions };
  if (typeof raw !== "object" || Array.isArray(raw)) throw new IrcConfigError('"irc" must be an object');
  const given = raw as Record<string, unknown>;
  const out: Record<string, unknown> = { ...defaultIrcOptions };
  for (const [key, value] of Object.entries(given)) {
    if (!(key in defaultIrcOptions)) throw new IrcConfigError(`irc.${key} is not a setting (see docs/irc.md)`);
    const def = (defaultIrcOptions as unknown as Record<string, unknown>)[key];
    out[key] = check(key, def, value);
  }
  const o = out as unknown as IrcOptions;
  if (o.nickLength < 1 || o.nickLength > 32) throw new IrcConfigError("irc.nickLength must be 1-32");
  if (o.channelLength < 2 || o.channelLength > 33) throw new IrcConfigError("irc.channelLength must be 2-33");
  if (!/^[A-Za-z0-9.-]+$/.test(o.serverName))
    throw new IrcConfigError("irc.serverName must be a host name (letters, digits, '.', '-')");
  if (/[\s]/.test(o.networkName) || o.networkName === "") throw new IrcConfigError("irc.networkName must be one word");
  return o;
}

function check(key: string, def: unknown, value: unknown): unknown {
  if (key === "motd") {
    if (typeof value === "string") return value;
    if (Array.isArray(value) && value.every((l) => typeof l === "string")) return value;
    throw new IrcConfigError("irc.motd must be a string or an array of strings");
  }
  if (key === "exemptAddresses") {
    if (Array.isArray(value) && value.every((l) => typeof l === "string")) return value;
    throw new IrcConfigError("irc.exemptAddresses must be an array of addresses");
  }
  if (key === "opers") {
    if (
      Array.isArray(value) &&
      value.every(
        (o) =>
          typeof o === "object" &&
          o !== null &&
          typeof (o as OperCredentials).name === "string" &&
          typeof (o as OperCredentials).password === "string" &&
          (o as OperCredentials).password !== "",
      )
    ) {
      return value.map((o: OperCredentials) => ({ name: o.name, password: o.password }));
    }
    throw new IrcConfigError('irc.opers must be an array of {"name": …, "password": …}');
  }
  if (key === "fakelag") {
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw new IrcConfigError("irc.fakelag must be an object");
    const out: Record<string, unknown> = { ...defaultFakelag };
    for (const [k, v] of Object.entries(value)) {
      if (!(k in defaultFakelag)) throw new IrcConfigError(`irc.fakelag.${k} is not a setting`);
      out[k] = check(`fakelag.${k}`, (defaultFakelag as unknown as Record<string, unknown>)[k], v);
    }
    return out;
  }
  if (key === "loginRate") {
    const r = value as Partial<Rate> | null;
    const ok = (n: unknown) => typeof n === "number" && Number.isFinite(n) && n > 0;
    if (typeof r !== "object" || r === null || !ok(r.burst) || !ok(r.perSecond) || Object.keys(r).length !== 2) {
      throw new IrcConfigError('irc.loginRate must be { "burst": N, "perSecond": N } with positive numbers');
    }
    return { burst: r.burst, perSecond: r.perSecond };
  }
  if (typeof def === "number") {
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0)
      throw new IrcConfigError(`irc.${key} must be a non-negative number`);
    return value;
  }
  if (typeof def !== typeof value) throw new IrcConfigError(`irc.${key} must be a ${typeof def}`);
  return value;
}

export function motdLines(o: IrcOptions): string[] {
  const lines = typeof o.motd === "string" ? o.motd.split(/\r?\n/) : o.motd;
  return lines.length === 1 && lines[0] === "" ? [] : lines;
}
