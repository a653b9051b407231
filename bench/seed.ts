// Fills a Parley data directory before the server starts, through the SQLite store itself (the
// same statements the server uses), in big transactions: accounts that are already members of
// #lobby (so connecting them appends nothing), session tokens, and long message histories.

import { join } from "node:path";
import { hashToken, newId, newToken } from "../src/core/ids.ts";
import type { Id } from "../src/core/types.ts";
import { SqliteStore } from "../src/store/sqlite/index.ts";

/** The store's append queue commits everything queued in one event-loop turn as one transaction. */
const BATCH = 10_000;

export class Seeder {
  readonly store: SqliteStore;
  private readonly now = Date.now();

  constructor(dataDir: string) {
    this.store = new SqliteStore({ path: join(dataDir, "parley.db") });
  }

  /** #lobby as the server creates it on its first start. */
  async lobby(): Promise<Id> {
    const found = await this.store.findRoom("lobby");
    if (found) return found.id;
    const created = await this.store.createRoom(
      { id: newId(this.now), name: "lobby", kind: "public", topic: "Welcome to Parley", createdBy: "", createdAt: this.now },
      [],
    );
    if (!created) throw new Error("could not create #lobby");
    return created.room.id;
  }

  /**
   * Accounts `<prefix><i>` for i in [0, n), members of #lobby; guests take no password. With
   * `tokens`, each (registered) account gets a session and the tokens are returned in order.
   */
  async accounts(prefix: string, n: number, opts: { guest: boolean; tokens: boolean }): Promise<string[]> {
    const lobby = await this.lobby();
    const tokens: string[] = [];
    for (let b = 0; b < n; b += BATCH) {
      const ids: Id[] = [];
      for (let i = b; i < Math.min(n, b + BATCH); i++) ids.push(newId(this.now));
      const made = await Promise.all(
        ids.map((id, k) =>
          this.store.createAccount({
            id,
            name: `${prefix}${b + k}`,
            guest: opts.guest,
            passwordHash: opts.guest ? null : "not-a-hash: log in by token only",
            createdAt: this.now,
          }),
        ),
      );
      if (made.some((a) => a === null)) throw new Error(`seed: an account named ${prefix}… exists already`);
      await Promise.all(
        ids.map((id) => this.store.append(lobby, { type: "member", actorId: id, accountId: id, change: "join" }, this.now)),
      );
      if (opts.tokens) {
        for (const id of ids) {
          const token = newToken();
          tokens.push(token);
          await this.store.createSession({
            tokenHash: hashToken(token),
            accountId: id,
            createdAt: this.now,
            expiresAt: this.now + 86_400_000,
          });
        }
      }
    }
    return tokens;
  }

  /** A public room with `n` messages of `bodyBytes` by one author; calls `progress` after each batch. */
  async roomWithHistory(name: string, n: number, bodyBytes: number, progress: (done: number) => void): Promise<Id> {
    await this.accounts(`${name}-author`, 1, { guest: true, tokens: false });
    const author = (await this.store.findGuest(`${name}-author0`))?.id;
    if (!author) throw new Error("seed: the author account is missing");
    const created = await this.store.createRoom(
      { id: newId(this.now), name, kind: "public", topic: "", createdBy: author, createdAt: this.now },
      [{ accountId: author, role: "owner" }],
    );
    if (!created) throw new Error(`seed: room ${name} exists already`);
    const roomId = created.room.id;
    const body = "x".repeat(bodyBytes);
    let at = this.now - n; // one message a millisecond, ending now
    for (let b = 0; b < n; b += BATCH) {
      const appends: Promise<unknown>[] = [];
      for (let i = b; i < Math.min(n, b + BATCH); i++) {
        at++;
        appends.push(
          this.store.append(roomId, { type: "message", id: newId(at), actorId: author, clientId: null, body, replyTo: null }, at),
        );
      }
      await Promise.all(appends);
      progress(Math.min(n, b + BATCH));
    }
    return roomId;
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
