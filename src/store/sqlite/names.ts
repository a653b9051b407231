// Account names as events and history pages show them, kept across reads so that a name is
// looked up once rather than per message or per page.
//
// Within this process a name changes only through the store's renameGuest, which forgets it.
// Another process writing to the file (the admin command) changes PRAGMA data_version: `check()`,
// called before names are read, drops them all then.

import type Database from "better-sqlite3";
import type { Id } from "../../core/types.ts";

/** Names kept; past this many they are all dropped (a bound, not a working set). */
const NAMES_MAX = 10_000;

export class AccountNames {
  private readonly byId = new Map<Id, string>();
  private version = -1;
  private readonly dataVersion: Database.Statement;
  private readonly name: Database.Statement;

  constructor(db: Database.Database) {
    this.dataVersion = db.prepare("PRAGMA data_version").pluck(true);
    this.name = db.prepare("SELECT name FROM accounts WHERE id = ?").pluck(true);
  }

  /** Before a transaction or a read that shows names; returns PRAGMA data_version. */
  check(): number {
    const version = this.dataVersion.get() as number;
    if (version !== this.version || this.byId.size >= NAMES_MAX) {
      this.byId.clear();
      this.version = version;
    }
    return version;
  }

  /** The account's name; "" for an unknown account (not kept). */
  get(id: Id): string {
    let name = this.byId.get(id);
    if (name === undefined) {
      name = this.name.get(id) as string | undefined;
      if (name === undefined) return "";
      this.byId.set(id, name);
    }
    return name;
  }

  forget(id: Id): void {
    this.byId.delete(id);
  }
}
