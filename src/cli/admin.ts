// `parley admin migrate | export | import`: move a whole deployment between SQLite (a data
// directory) and PostgreSQL, or to and from a JSON-lines file. See docs/scaling.md.

import { once } from "node:events";
import { createReadStream, createWriteStream, existsSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { StoreUnavailableError } from "../core/errors.ts";
import { PgStore } from "../store/postgres/index.ts";
import { PgTables } from "../store/postgres/tables.ts";
import { SqliteStore } from "../store/sqlite/index.ts";
import { SqliteTables } from "../store/sqlite/tables.ts";
import { type Counts, TABLES, TableDataError, type Tables } from "../store/tables.ts";
import { copyTables, exportTables, importTables, TargetNotEmptyError, VerificationError } from "../store/transfer.ts";
import { helpText, type OptionTable, parseOptions, UsageError } from "./options.ts";

const LOCATION = "a data directory (SQLite) or a postgres:// URL";

const migrateOptions = {
  from: { kind: "string", default: "", value: "DIR|URL", help: `copy from: ${LOCATION}` },
  to: { kind: "string", default: "", value: "DIR|URL", help: `copy to: ${LOCATION}` },
  "from-schema": { kind: "string", default: "public", value: "NAME", help: "PostgreSQL schema of --from" },
  "to-schema": { kind: "string", default: "public", value: "NAME", help: "PostgreSQL schema of --to" },
  replace: { kind: "boolean", default: false, help: "empty a target that holds data first (deletes it!)" },
} satisfies OptionTable;

const exportOptions = {
  from: { kind: "string", default: "", value: "DIR|URL", help: `export from: ${LOCATION}` },
  schema: { kind: "string", default: "public", value: "NAME", help: "PostgreSQL schema" },
  out: { kind: "string", default: "-", value: "FILE", help: "write to this file; - is standard output" },
} satisfies OptionTable;

const importOptions = {
  to: { kind: "string", default: "", value: "DIR|URL", help: `import into: ${LOCATION}` },
  schema: { kind: "string", default: "public", value: "NAME", help: "PostgreSQL schema" },
  in: { kind: "string", default: "-", value: "FILE", help: "read this file; - is standard input" },
  replace: { kind: "boolean", default: false, help: "empty a target that holds data first (deletes it!)" },
} satisfies OptionTable;

const HELP = `Usage: parley admin <command> [options]

Commands:
  migrate    copy everything from one store to another (e.g. ./data to PostgreSQL)
  export     write everything in a store as JSON lines (a backup)
  import     load a JSON-lines export into an empty store

Every command copies accounts, sessions, rooms, memberships and read positions, bans, invites,
messages, room events and reactions, in one transaction, and verifies the row counts.
Run "parley admin <command> --help" for its options.`;

const FOOTER = `The target must be empty (a fresh data directory or schema) unless --replace is given.
Run it while no server writes to the target. The source may be in use: it is read in one snapshot.
Exit codes: 0 copied and verified, 1 failure (database unreachable, bad input, counts differ),
2 bad usage, or a target that holds data without --replace.`;

export async function admin(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "migrate":
      return run("parley admin migrate --from DIR|URL --to DIR|URL [options]", migrateOptions, rest, async (o) => {
        const source = await open(o.from, o["from-schema"], "source", "--from");
        try {
          const target = await open(o.to, o["to-schema"], "target", "--to");
          try {
            return await copyTables(source, target, { replace: o.replace });
          } finally {
            await target.close();
          }
        } finally {
          await source.close();
        }
      });
    case "export":
      return run("parley admin export --from DIR|URL [--out FILE]", exportOptions, rest, async (o) => {
        const source = await open(o.from, o.schema, "source", "--from");
        const out = o.out === "-" ? process.stdout : createWriteStream(o.out, { flags: "wx" });
        try {
          const counts = await exportTables(source, async (line) => {
            if (!out.write(`${line}\n`)) await once(out, "drain");
          });
          if (out !== process.stdout)
            await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
          return counts;
        } finally {
          await source.close();
        }
      });
    case "import":
      return run("parley admin import --to DIR|URL [--in FILE] [--replace]", importOptions, rest, async (o) => {
        if (o.in !== "-" && !existsSync(o.in)) throw new UsageError(`--in: no such file ${o.in}`);
        const target = await open(o.to, o.schema, "target", "--to");
        try {
          const input = o.in === "-" ? process.stdin : createReadStream(o.in, "utf8");
          // Take the iterator now: readline drops the lines it reads before one exists, and the
          // import reads only once the target's transaction is open.
          const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })[Symbol.asyncIterator]();
          return await importTables(target, { [Symbol.asyncIterator]: () => lines }, { replace: o.replace });
        } finally {
          await target.close();
        }
      });
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(`${HELP}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`parley admin: unknown command ${JSON.stringify(command)}\n\n${HELP}\n`);
      return 2;
  }
}

/** Parses options, runs the command, reports the counts on stderr, and maps errors to exit codes. */
async function run<T extends OptionTable>(
  usage: string,
  table: T,
  argv: string[],
  body: (o: ReturnType<typeof parseOptions<T>>["values"]) => Promise<Counts>,
): Promise<number> {
  const name = usage.split(" ").slice(0, 3).join(" ");
  try {
    const { values, help } = parseOptions(table, argv, process.env, () => ({}));
    if (help) {
      process.stdout.write(`${helpText(usage, summaries[name] ?? "", table, FOOTER)}\n`);
      return 0;
    }
    const counts = await body(values);
    process.stderr.write(`${name.slice("parley ".length)}: done, counts verified\n${countTable(counts)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof UsageError || err instanceof TargetNotEmptyError) {
      process.stderr.write(`${name}: ${err.message}\n`);
      return 2;
    }
    if (err instanceof StoreUnavailableError) {
      const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
      process.stderr.write(`${name}: the database is unreachable${cause}\n`);
      return 1;
    }
    const known = err instanceof TableDataError || err instanceof VerificationError;
    process.stderr.write(`${name}: ${known ? "" : "failed: "}${(err as Error).message}; nothing was written\n`);
    return 1;
  }
}

const summaries: Record<string, string> = {
  "parley admin migrate": "Copies every row of one store into another, in one transaction, and verifies the counts.",
  "parley admin export": "Writes every row of a store as JSON lines, from one consistent snapshot.",
  "parley admin import": "Loads a JSON-lines export into a store, in one transaction, and verifies the counts.",
};

function countTable(c: Counts): string {
  return TABLES.map((t) => `  ${t.padEnd(10)} ${String(c[t]).padStart(9)}`).join("\n");
}

/** Opens a store's tables: a postgres:// URL, or a data directory holding parley.db. */
async function open(location: string, schema: string, role: "source" | "target", flag: string): Promise<Tables> {
  if (location === "") throw new UsageError(`${flag} is required (${LOCATION})`);
  if (/^postgres(ql)?:\/\//.test(location)) {
    const store = await PgStore.open(location, { schema, applicationName: "parley-admin" });
    return new PgTables(store.pool, schema, () => store.close());
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) throw new UsageError(`${flag}: not ${LOCATION}: ${location}`);
  const path = join(location, "parley.db");
  // Never create an empty database where data was expected to be.
  if (role === "source" && !existsSync(path)) throw new UsageError(`${flag}: no Parley database in ${location} (no parley.db)`);
  const store = new SqliteStore({ path });
  return new SqliteTables(store.db);
}
