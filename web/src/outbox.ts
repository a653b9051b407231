// Messages sent but not yet acknowledged. Each keeps its clientId for life, so resending after a
// reconnect (or a reload: the outbox is persisted) can never post a message twice: the server
// answers a repeated clientId with the original message.

export interface OutboxEntry {
  clientId: string;
  roomId: string;
  body: string;
  replyTo: string | null;
  createdAt: number;
  /** Set when the server refused the message (it will not be retried). */
  error?: string;
}

export class Outbox {
  private entries: OutboxEntry[];

  constructor(entries: OutboxEntry[] = []) {
    this.entries = entries.filter((e) => typeof e?.clientId === "string" && typeof e.roomId === "string");
  }

  add(entry: OutboxEntry): void {
    this.entries.push(entry);
  }

  remove(clientId: string): boolean {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => e.clientId !== clientId);
    return this.entries.length !== before;
  }

  fail(clientId: string, error: string): void {
    const e = this.entries.find((x) => x.clientId === clientId);
    if (e) e.error = error;
  }

  has(clientId: string): boolean {
    return this.entries.some((e) => e.clientId === clientId);
  }

  /** Entries still to be (re)sent, oldest first. */
  pending(): OutboxEntry[] {
    return this.entries.filter((e) => e.error === undefined);
  }

  forRoom(roomId: string): OutboxEntry[] {
    return this.entries.filter((e) => e.roomId === roomId);
  }

  /** Drops the entries of rooms I am no longer in. */
  keepRooms(roomIds: Set<string>): void {
    this.entries = this.entries.filter((e) => roomIds.has(e.roomId));
  }

  toJSON(): OutboxEntry[] {
    return this.entries;
  }
}

/** A globally unique client id (random; works outside secure contexts too). */
export function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `w-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Reconnect delay: 0.5 s doubling to 30 s, with jitter (between half and all of it). */
export function backoffDelay(attempt: number, random: number = Math.random()): number {
  const base = Math.min(30_000, 500 * 2 ** Math.min(attempt, 16));
  return Math.round(base / 2 + (base / 2) * random);
}
