import type { Rate } from "./rate-limit.ts";

/** Every limit the core enforces. All are configurable (config file `limits`, see docs/protocol.md). */
export interface Limits {
  /** Largest message body, in UTF-8 bytes. */
  maxMessageBytes: number;
  maxTopicChars: number;
  /** Requests other than messages (history, members, joins, typing …) per connection. */
  connectionRequests: Rate;
  /** Messages (send, edit, react) per connection. */
  connectionMessages: Rate;
  /** Messages per account, across all its connections. */
  accountMessages: Rate;
  joins: Rate;
  roomCreations: Rate;
  /** Rate-limited requests in a row after which the connection is closed for flooding. */
  floodStrikes: number;
  maxRoomsPerAccount: number;
  historyPageMax: number;
  /** Session lifetime in milliseconds, counted from login (absolute: using a session does not extend it). */
  sessionTtl: number;
  /** Password checks (login, password change, IRC SASL/PASS, line mode) per client address. */
  logins: Rate;
  /** Failed password checks per account name, from any address; names that do not exist count alike. */
  accountLogins: Rate;
  /** Account registrations per client address. */
  registrations: Rate;
  /** Open connections (WebSocket, HTTP, IRC, line mode together) per client address; 0 = no limit. */
  maxConnectionsPerAddress: number;
  /** Open connections in all; 0 = no limit. */
  maxConnections: number;
  /** Addresses the per-address limits (connections, logins, registrations) do not apply to. */
  exemptAddresses: string[];
}

export const defaultLimits: Limits = {
  maxMessageBytes: 4000,
  maxTopicChars: 300,
  connectionRequests: { burst: 60, perSecond: 20 },
  connectionMessages: { burst: 20, perSecond: 5 },
  accountMessages: { burst: 30, perSecond: 8 },
  joins: { burst: 20, perSecond: 1 },
  roomCreations: { burst: 5, perSecond: 0.1 },
  floodStrikes: 20,
  maxRoomsPerAccount: 500,
  historyPageMax: 100,
  sessionTtl: 30 * 24 * 3600 * 1000,
  logins: { burst: 10, perSecond: 0.2 },
  accountLogins: { burst: 10, perSecond: 1 / 60 },
  registrations: { burst: 5, perSecond: 1 / 60 },
  maxConnectionsPerAddress: 32,
  maxConnections: 20_000,
  // A loopback client is the operator, a test, or a reverse proxy in front of everyone.
  exemptAddresses: ["127.0.0.1", "::1", "::ffff:127.0.0.1"],
};
