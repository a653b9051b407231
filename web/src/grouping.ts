// Turns a room's messages into the rows of the log: day separators, the "new messages" divider
// at the read position, and author groups (a new group starts when the author or the minute
// changes). Pure, so it is unit-tested without a browser.

import type { Message } from "./wire.ts";

export type Row =
  | { kind: "day"; key: string; at: number }
  | { kind: "unread"; key: string }
  | { kind: "msg"; key: string; message: Message; head: boolean };

/** Local calendar day of a timestamp, as a comparable key. */
export function dayKey(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

/**
 * @param dividerSeq the read position when the room was opened: the divider goes before the first
 *   later message written by someone else. null for no divider.
 */
export function buildRows(messages: readonly Message[], dividerSeq: number | null, myId: string): Row[] {
  const rows: Row[] = [];
  let prev: Message | null = null;
  let divided = dividerSeq === null;
  for (const m of messages) {
    const day = dayKey(m.createdAt);
    let head = prev === null || prev.authorId !== m.authorId || minute(prev.createdAt) !== minute(m.createdAt);
    if (prev === null || dayKey(prev.createdAt) !== day) {
      rows.push({ kind: "day", key: `day-${day}`, at: m.createdAt });
      head = true;
    }
    if (!divided && m.seq > (dividerSeq ?? 0) && m.authorId !== myId) {
      rows.push({ kind: "unread", key: "unread" });
      divided = true;
      head = true;
    }
    rows.push({ kind: "msg", key: m.id, message: m, head });
    prev = m;
  }
  return rows;
}

function minute(ms: number): number {
  return Math.floor(ms / 60_000);
}
