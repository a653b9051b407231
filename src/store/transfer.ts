// Whole-deployment copies between stores, and the JSON-lines export format:
//
//   {"parley":"export","version":1,"exportedAt":"2026-11-27T04:00:00.000Z"}
//   {"table":"accounts","row":{"id":"…","name":"alice",…}}
//   … every row, table by table in TABLES order …
//   {"end":true,"counts":{"accounts":2,"sessions":1,…}}
//
// The last line lets an import tell a complete file from a truncated one; an import checks it
// against what it read and against what the target holds afterwards.

import { type Counts, checkRow, isTable, TABLES, TableDataError, type TableRow, type Tables, zeroCounts } from "./tables.ts";

export const EXPORT_VERSION = 1;

export class TargetNotEmptyError extends Error {
  override name = "TargetNotEmptyError";
  constructor(readonly counts: Counts) {
    super(
      `the target already holds data (${describeCounts(counts)}); use --replace to empty it first, which deletes what it holds`,
    );
  }
}

export class VerificationError extends Error {
  override name = "VerificationError";
}

/** Writes every row of `source` as JSON lines; resolves with the rows written per table. */
export async function exportTables(source: Tables, write: (line: string) => Promise<void>): Promise<Counts> {
  const counts = zeroCounts();
  await write(JSON.stringify({ parley: "export", version: EXPORT_VERSION, exportedAt: new Date().toISOString() }));
  for await (const { table, row } of source.read()) {
    counts[table]++;
    await write(JSON.stringify({ table, row }));
  }
  await write(JSON.stringify({ end: true, counts }));
  return counts;
}

/** Loads an export into `target` (refusing a non-empty one unless `replace`), then verifies the counts. */
export async function importTables(target: Tables, lines: AsyncIterable<string>, opts: { replace: boolean }): Promise<Counts> {
  await refuseNonEmpty(target, opts.replace);
  const parsed = parseExport(lines);
  const loaded = await target.write(parsed.rows, opts);
  const declared = parsed.declared();
  verify("the file's rows", declared, "the target", loaded);
  return loaded;
}

/** Copies every row of `source` into `target` in one transaction, then verifies the counts. */
export async function copyTables(source: Tables, target: Tables, opts: { replace: boolean }): Promise<Counts> {
  await refuseNonEmpty(target, opts.replace);
  const read = zeroCounts();
  async function* counted(): AsyncIterable<TableRow> {
    for await (const r of source.read()) {
      read[r.table]++;
      yield r;
    }
  }
  const loaded = await target.write(counted(), opts);
  verify("the source", read, "the target", loaded);
  return loaded;
}

export function describeCounts(c: Counts): string {
  return TABLES.filter((t) => c[t] > 0)
    .map((t) => `${c[t]} ${t}`)
    .join(", ");
}

async function refuseNonEmpty(target: Tables, replace: boolean): Promise<void> {
  if (replace) return;
  const counts = await target.counts();
  if (TABLES.some((t) => counts[t] > 0)) throw new TargetNotEmptyError(counts);
}

function verify(aName: string, a: Counts, bName: string, b: Counts): void {
  const wrong = TABLES.filter((t) => a[t] !== b[t]);
  if (wrong.length > 0) {
    throw new VerificationError(
      `counts differ between ${aName} and ${bName}: ${wrong.map((t) => `${t} ${a[t]} vs ${b[t]}`).join(", ")}`,
    );
  }
}

/**
 * Parses an export as it is read. Errors name the line. `declared()` is the closing line's counts,
 * available once the rows are consumed; a file without one is refused as truncated.
 */
function parseExport(lines: AsyncIterable<string>): { rows: AsyncIterable<TableRow>; declared(): Counts } {
  let declared: Counts | null = null;
  async function* rows(): AsyncIterable<TableRow> {
    let n = 0;
    let order = 0;
    const seen = zeroCounts();
    for await (const text of lines) {
      n++;
      if (text.trim() === "") continue;
      const fail = (msg: string): never => {
        throw new TableDataError(`line ${n}: ${msg}`);
      };
      if (declared) fail("data after the closing line");
      let v: Record<string, unknown>;
      try {
        v = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return fail("not JSON");
      }
      if (typeof v !== "object" || v === null || Array.isArray(v)) fail("not a JSON object");
      if (n === 1) {
        if (v.parley !== "export") fail("not a Parley export (the first line must be its header)");
        if (v.version !== EXPORT_VERSION)
          fail(`export version ${String(v.version)} is not supported (this Parley reads ${EXPORT_VERSION})`);
        continue;
      }
      if (v.end === true) {
        const c = v.counts as Record<string, unknown> | undefined;
        if (typeof c !== "object" || c === null || !TABLES.every((t) => Number.isSafeInteger(c[t])))
          fail("the closing line must give counts for every table");
        declared = c as Counts;
        const wrong = TABLES.filter((t) => declared![t] !== seen[t]);
        if (wrong.length > 0)
          fail(
            `the file says ${wrong.map((t) => `${declared![t]} ${t}`).join(", ")} but holds ${wrong.map((t) => seen[t]).join(", ")}`,
          );
        continue;
      }
      if (!isTable(v.table)) fail(`unknown table ${JSON.stringify(v.table)}`);
      const table = v.table as (typeof TABLES)[number];
      const at = TABLES.indexOf(table);
      if (at < order) fail(`${table} rows must come before ${TABLES[order]} rows`);
      order = at;
      let row: TableRow["row"];
      try {
        row = checkRow(table, v.row);
      } catch (err) {
        return fail((err as Error).message);
      }
      seen[table]++;
      yield { table, row };
    }
    if (n === 0) throw new TableDataError("the input is empty");
    if (!declared) throw new TableDataError("the input ends without its closing line: truncated?");
  }
  return {
    rows: rows(),
    declared: () => {
      if (!declared) throw new TableDataError("the input ends without its closing line: truncated?");
      return declared;
    },
  };
}
