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
  /** Session lifetime in milliseconds. */
  sessionTtl: number;
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
};
