// The stores' tables as plain rows, for moving a whole deployment between SQLite and PostgreSQL
// (`parley admin migrate`) and for backups (`parley admin export` / `import`). Both stores have the
// same tables and columns (their migrations mirror each other); only booleans differ (0/1 in
// SQLite), so rows travel with JSON booleans and numbers and each adapter converts at its edge.

export const TABLES = ["accounts", "sessions", "rooms", "members", "bans", "invites", "messages", "events", "reactions"] as const;
export type Table = (typeof TABLES)[number];

type ColumnType = "text" | "int" | "bool";
interface TableSpec {
  /** Column name → type, in table order. Any column may be null here: NOT NULL is the database's to check. */
  columns: Record<string, ColumnType>;
  /** The primary key, the order rows are read in. */
  key: string[];
}

export const SPECS: Record<Table, TableSpec> = {
  accounts: {
    columns: {
      id: "text",
      name: "text",
      name_key: "text",
      guest: "bool",
      admin: "bool",
      password_hash: "text",
      password_changed_at: "int",
      created_at: "int",
    },
    key: ["id"],
  },
  sessions: {
    columns: { token_hash: "text", account_id: "text", created_at: "int", expires_at: "int" },
    key: ["token_hash"],
  },
  rooms: {
    columns: {
      id: "text",
      name: "text",
      name_key: "text",
      kind: "text",
      topic: "text",
      created_by: "text",
      created_at: "int",
      last_seq: "int",
    },
    key: ["id"],
  },
  members: {
    columns: { room_id: "text", account_id: "text", role: "text", muted: "bool", joined_at: "int", read_seq: "int" },
    key: ["room_id", "account_id"],
  },
  bans: { columns: { room_id: "text", account_id: "text" }, key: ["room_id", "account_id"] },
  invites: { columns: { room_id: "text", account_id: "text" }, key: ["room_id", "account_id"] },
  messages: {
    columns: {
      room_id: "text",
      seq: "int",
      id: "text",
      author_id: "text",
      client_id: "text",
      body: "text",
      reply_to: "text",
      created_at: "int",
      edited_at: "int",
      deleted: "bool",
    },
    key: ["room_id", "seq"],
  },
  events: {
    columns: { room_id: "text", seq: "int", type: "text", actor_id: "text", data: "text", created_at: "int" },
    key: ["room_id", "seq"],
  },
  reactions: {
    columns: { message_id: "text", emoji: "text", account_id: "text", created_at: "int" },
    key: ["message_id", "emoji", "account_id"],
  },
};

export type Value = string | number | boolean | null;
export type Row = Record<string, Value>;
export interface TableRow {
  table: Table;
  row: Row;
}
export type Counts = Record<Table, number>;

/** A store's tables, read and written whole. */
export interface Tables {
  /** Rows per table. */
  counts(): Promise<Counts>;
  /** Every row of every table, table by table in TABLES order, from one consistent snapshot. */
  read(): AsyncIterable<TableRow>;
  /**
   * Loads rows in one transaction: with `replace`, every table is emptied first. Resolves with
   * the counts inside that transaction, just before it commits.
   */
  write(rows: AsyncIterable<TableRow>, opts: { replace: boolean }): Promise<Counts>;
  close(): Promise<void>;
}

export class TableDataError extends Error {
  override name = "TableDataError";
}

export function zeroCounts(): Counts {
  return Object.fromEntries(TABLES.map((t) => [t, 0])) as Counts;
}

export function isTable(name: unknown): name is Table {
  return typeof name === "string" && (TABLES as readonly string[]).includes(name);
}

/** Checks a row against its table: exactly the table's columns, each of its type or null. */
export function checkRow(table: Table, row: unknown): Row {
  if (typeof row !== "object" || row === null || Array.isArray(row)) throw new TableDataError(`a ${table} row must be an object`);
  const spec = SPECS[table].columns;
  for (const name of Object.keys(row)) if (!(name in spec)) throw new TableDataError(`${table} has no column ${name}`);
  for (const [name, type] of Object.entries(spec)) {
    const v = (row as Record<string, unknown>)[name];
    if (v === undefined) throw new TableDataError(`${table} row lacks ${name}`);
    if (v === null) continue;
    const ok = type === "text" ? typeof v === "string" : type === "bool" ? typeof v === "boolean" : Number.isSafeInteger(v);
    if (!ok) throw new TableDataError(`${table}.${name} must be ${type === "int" ? "an integer" : `a ${type}`}`);
  }
  return row as Row;
}

/** Row values for SQL, in column order; `boolAsInt` for SQLite. */
export function rowValues(table: Table, row: Row, boolAsInt: boolean): Value[] {
  return Object.keys(SPECS[table].columns).map((c) => {
    const v = row[c] ?? null;
    return boolAsInt && typeof v === "boolean" ? (v ? 1 : 0) : v;
  });
}

/** A row read from SQL: booleans as booleans (SQLite gives 0/1). */
export function fromSql(table: Table, raw: Record<string, unknown>): Row {
  const row: Row = {};
  for (const [c, type] of Object.entries(SPECS[table].columns)) {
    const v = raw[c] ?? null;
    row[c] = type === "bool" && v !== null ? v === true || v === 1 : (v as Value);
  }
  return row;
}
