// The "busy small rooms" shape in a store, for the store-alone benches (append.ts, wal-pages.ts):
// 1,000 authors in 100 rooms, each author writing to room `author % 100`. Only the Store API is
// used, so these benches measure an older checkout too.

import { newId } from "../src/core/ids.ts";
import type { Appended, Store } from "../src/core/ports.ts";
import type { Id } from "../src/core/types.ts";

export const ROOMS = 100;
export const AUTHORS = 1000;
const BODY = "the quick brown fox jumps over the lazy dog 0123456789 — 敏捷的棕色狐狸";

export interface BusyRooms {
  authors: Id[];
  rooms: Id[];
}

/** Creates the guest authors and the rooms. */
export async function createBusyRooms(store: Store): Promise<BusyRooms> {
  const authors: Id[] = [];
  for (let i = 0; i < AUTHORS; i++) {
    const a = await store.createAccount({ id: newId(), name: `u${i}`, guest: true, passwordHash: null, createdAt: Date.now() });
    authors.push(a!.id);
  }
  const rooms: Id[] = [];
  for (let r = 0; r < ROOMS; r++) {
    const room = {
      id: newId(),
      name: `bench-${r}`,
      kind: "public" as const,
      topic: "",
      createdBy: authors[0]!,
      createdAt: Date.now(),
    };
    rooms.push((await store.createRoom(room, []))!.room.id);
  }
  return { authors, rooms };
}

/** Appends message number `n` (client id and body carry it) by `author` to the author's room. */
export function appendMessage(store: Store, shape: BusyRooms, n: number, author: number): Promise<Appended> {
  const draft = {
    type: "message" as const,
    id: newId(),
    actorId: shape.authors[author]!,
    clientId: `c${n}`,
    body: `${n} ${BODY}`,
    replyTo: null,
  };
  return store.append(shape.rooms[author % ROOMS]!, draft, Date.now());
}
