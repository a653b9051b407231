// The PostgreSQL store's tables as rows (see ../tables.ts), through the store's pool (whose type
// parsers read BIGINT as numbers).

import type pg from "pg";
import {
  type Counts,
  fromSql,
  type Row,
  rowValues,
  SPECS,
  TABLES,
  type Table,
  type TableRow,
  type Tables,
  zeroCounts,
} from "../tables.ts";

const PAGE = 1000;
/** Rows per INSERT: well under PostgreSQL's 65535 parameters for the widest table. */
const BATCH = 500;

export class PgTables implements Tables {
  private readonly s: string;

  constructor(
    private readonly pool: pg.Pool,
    schema: string,
    private readonly onClose: () => Promise<void>,
  ) {
    this.s = `"${schema.replace(/"/g, '""')}"`;
  }

  async counts(): Promise<Counts> {
    return this.countWith(this.pool);
  }

  async *read(): AsyncIterable<TableRow> {
    const client = await this.pool.connect();
    try {
      // One snapshot for every table, even while servers write.
      await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      for (const table of TABLES) {
        const { key, columns } = SPECS[table];
        const cols = Object.keys(columns).join(", ");
        const order = key.join(", ");
        let last: Row | null = null;
        for (;;) {
          // Keyset pages: each page starts after the previous page's last key.
          const after = last ? `WHERE (${order}) > (${key.map((_, i) => `$${i + 1}`).join(", ")})` : "";
          const params = last ? key.map((k) => last![k]) : [];
          const r = await client.query(`SELECT ${cols} FROM ${this.s}.${table} ${after} ORDER BY ${order} LIMIT ${PAGE}`, params);
          for (const raw of r.rows) yield { table, row: fromSql(table, raw) };
          if (r.rows.length < PAGE) break;
          last = fromSql(table, r.rows[r.rows.length - 1]);
        }
      }
      await client.query("COMMIT");
    } finally {
      client.release();
    }
  }

  async write(rows: AsyncIterable<TableRow>, opts: { replace: boolean }): Promise<Counts> {
    const client = await this.pool.connect();
    let batch: TableRow[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const table = batch[0]!.table;
      const cols = Object.keys(SPECS[table].columns);
      const values: unknown[] = [];
      const tuples = batch.map(({ row }) => {
        const start = values.length;
        values.push(...rowValues(table, row, false));
        return `(${cols.map((_, i) => `$${start + i + 1}`).join(", ")})`;
      });
      batch = [];
      await client.query(`INSERT INTO ${this.s}.${table} (${cols.join(", ")}) VALUES ${tuples.join(", ")}`, values);
    };
    try {
      await client.query("BEGIN");
      if (opts.replace) await client.query(`TRUNCATE ${TABLES.map((t) => `${this.s}.${t}`).join(", ")}`);
      // The foreign keys are not deferrable: rows come in TABLES order (referenced tables first).
      for await (const tr of rows) {
        if (batch.length > 0 && (batch[0]!.table !== tr.table || batch.length >= BATCH)) await flush();
        batch.push(tr);
      }
      await flush();
      const counts = await this.countWith(client);
      await client.query("COMMIT");
      return counts;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  close(): Promise<void> {
    return this.onClose();
  }

  private async countWith(q: pg.Pool | pg.PoolClient): Promise<Counts> {
    const counts = zeroCounts();
    const r = await q.query(TABLES.map((t) => `SELECT '${t}' AS t, count(*)::int AS n FROM ${this.s}.${t}`).join(" UNION ALL "));
    for (const { t, n } of r.rows as { t: Table; n: number }[]) counts[t] = n;
    return counts;
  }
}
