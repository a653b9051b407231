// One entry per request frame: what it does in the core and what its `ok` reply carries.
// Shape checks happened in decode.ts; authorization happens in the core.

import type { Connection } from "../../core/connection.ts";
import type { HistoryPage } from "../../core/types.ts";
import { type ClientFrame, type ClientFrameType, messageToWire, type WireResults } from "./wire.ts";

type RequestType = Exclude<ClientFrameType, "hello">;
/** Each handler's `ok` result as it is sent, except history's: its page is encoded by historyReplyFrame. */
type HandlerResults = Omit<WireResults, "history"> & { history: HistoryPage };
type Handler<T extends RequestType> = (c: Connection, f: Extract<ClientFrame, { type: T }>) => Promise<HandlerResults[T]>;

const empty = {} as Record<string, never>;

export const handlers: { [T in RequestType]: Handler<T> } = {
  join: async (c, f) => ({ membership: await c.join(f.room) }),
  leave: async (c, f) => {
    await c.leave(f.room);
    return empty;
  },
  send: async (c, f) => {
    const { message, duplicate } = await c.send(f.room, f.body, f.clientId, f.replyTo ?? null);
    return { messageId: message.id, seq: message.seq, clientId: f.clientId, duplicate, message: messageToWire(message) };
  },
  edit: async (c, f) => ({ seq: (await c.edit(f.message, f.body)).seq }),
  delete: async (c, f) => ({ seq: (await c.remove(f.message)).seq }),
  react: async (c, f) => {
    const e = await c.react(f.message, f.emoji);
    return { seq: e.seq, on: e.type === "react" && e.on };
  },
  topic: async (c, f) => ({ seq: (await c.setTopic(f.room, f.topic)).seq }),
  settings: async (c, f) => ({ seq: (await c.setKind(f.room, f.private ? "private" : "public"))?.seq ?? null }),
  create: async (c, f) => ({ membership: await c.createRoom(f.name, f.private ? "private" : "public", f.topic ?? "") }),
  invite: async (c, f) => {
    await c.invite(f.room, f.account);
    return empty;
  },
  direct: async (c, f) => ({ membership: await c.openDirect(f.account) }),
  moderate: async (c, f) => ({ seq: (await c.moderate(f.room, f.account, f.action, f.reason)).seq }),
  members: async (c, f) => ({ members: await c.members(f.room) }),
  online: async (c) => ({ accounts: c.online() }),
  rooms: async (c) => ({ rooms: await c.listRooms() }),
  history: (c, f) => c.history(f.room, { before: f.before, after: f.after, limit: f.limit }),
  search: async (c, f) => c.search({ query: f.query, room: f.room, before: f.before, limit: f.limit }),
  read: async (c, f) => ({ readSeq: await c.markRead(f.room, f.seq) }),
  typing: async (c, f) => {
    await c.typing(f.room, f.typing);
    return empty;
  },
  ping: async () => empty,
};
