// The SQLite store's tables as rows (see ../tables.ts).

import type Database from "better-sqlite3";
import { type Counts, fromSql, rowValues, SPECS, TABLES, type Table, type TableRow, type Tables, zeroCounts } from "../tables.ts";

export class SqliteTables implements Tables {
  constructor(private readonly db: Database.Database) {}

  async counts(): Promise<Counts> {
    return this.countNow();
  }

  async *read(): AsyncIterable<TableRow> {
    // One read transaction: a snapshot even while a server writes (WAL).
    this.db.exec("BEGIN");
    try {
      for (const table of TABLES) {
        const cols = Object.keys(SPECS[table].columns).join(", ");
        const stmt = this.db.prepare(`SELECT ${cols} FROM ${table} ORDER BY ${SPECS[table].key.join(", ")}`);
        for (const raw of stmt.iterate() as Iterable<Record<string, unknown>>) yield { table, row: fromSql(table, raw) };
      }
    } finally {
      this.db.exec("COMMIT");
    }
  }

  async write(rows: AsyncIterable<TableRow>, opts: { replace: boolean }): Promise<Counts> {
    const inserts = new Map<Table, Database.Statement>();
    for (const table of TABLES) {
      const cols = Object.keys(SPECS[table].columns);
      inserts.set(table, this.db.prepare(`INSERT INTO ${table} (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`));
    }
    this.db.exec("BEGIN IMMEDIATE");
    try {
      // As in PostgreSQL, rows come in TABLES order (referenced tables first).
      if (opts.replace) for (const table of [...TABLES].reverse()) this.db.exec(`DELETE FROM ${table}`);
      for await (const { table, row } of rows) inserts.get(table)!.run(...rowValues(table, row, true));
      this.indexForSearch();
      const counts = this.countNow();
      this.db.exec("COMMIT");
      return counts;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec("ROLLBACK");
      throw err;
    }
  }

  /**
   * Imported rows carry no search number (`doc` is SQLite's own key for the full-text index):
   * number them in the order they were written, as migration 2 did, and rebuild the index, which
   * also drops entries of rows a --replace deleted, and record that it holds them all.
   */
  private indexForSearch(): void {
    this.db.exec(`UPDATE messages SET doc = n.doc
      FROM (SELECT room_id, seq, (SELECT COALESCE(MAX(doc), 0) FROM messages)
              + row_number() OVER (ORDER BY created_at, room_id, seq) AS doc
            FROM messages WHERE doc IS NULL) n
      WHERE messages.room_id = n.room_id AND messages.seq = n.seq`);
    this.db.exec("INSERT INTO message_search(message_search) VALUES ('rebuild')");
    // The rebuilt index holds every message: none is left for the store to index (migration 4).
    this.db.exec("UPDATE search_state SET indexed_doc = (SELECT COALESCE(MAX(doc), 0) FROM messages)");
  }

  async close(): Promise<void> {
    this.db.close();
  }

  private countNow(): Counts {
    const counts = zeroCounts();
    for (const table of TABLES) counts[table] = (this.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return counts;
  }
}
