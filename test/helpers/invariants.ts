// Store invariants, read straight from a stopped server's SQLite file: what must hold however the
// server was treated (fuzzed, killed, starved of disk). Returns the violations found (none = []).

import Database from "better-sqlite3";

export function storeViolations(dbPath: string): { violations: string[]; rooms: number; events: number; messages: number } {
  const db = new Database(dbPath, { readonly: true });
  try {
    const violations: string[] = [];
    const integrity = db.pragma("integrity_check", { simple: true });
    if (integrity !== "ok") violations.push(`integrity_check: ${String(integrity)}`);
    const fk = db.pragma("foreign_key_check") as unknown[];
    if (fk.length > 0) violations.push(`foreign_key_check: ${JSON.stringify(fk.slice(0, 5))}`);
    // Each room's log (message rows and other events, which never share a position) is
    // 1..last_seq with no gap and no duplicate.
    const logs = db
      .prepare(
        `WITH log AS (SELECT room_id, seq FROM messages UNION ALL SELECT room_id, seq FROM events)
         SELECT r.id, r.last_seq AS last, COUNT(l.seq) AS n, COUNT(DISTINCT l.seq) AS distinct_n,
                COALESCE(MIN(l.seq), 0) AS lo, COALESCE(MAX(l.seq), 0) AS hi
         FROM rooms r LEFT JOIN log l ON l.room_id = r.id GROUP BY r.id`,
      )
      .all() as { id: string; last: number; n: number; distinct_n: number; lo: number; hi: number }[];
    for (const r of logs) {
      if (r.n !== r.last || r.distinct_n !== r.n || r.hi !== r.last || (r.n > 0 && r.lo !== 1)) {
        violations.push(`room ${r.id}: last_seq ${r.last}, ${r.n} entries (${r.distinct_n} distinct) from ${r.lo} to ${r.hi}`);
      }
    }
    const dupClient = db
      .prepare(
        `SELECT author_id, client_id, COUNT(*) AS n FROM messages WHERE client_id IS NOT NULL
         GROUP BY room_id, author_id, client_id HAVING n > 1 LIMIT 5`,
      )
      .all();
    if (dupClient.length > 0) violations.push(`a client id stored twice: ${JSON.stringify(dupClient)}`);
    const strays = db
      .prepare(
        `SELECT m.room_id, m.account_id FROM members m
         LEFT JOIN rooms r ON r.id = m.room_id LEFT JOIN accounts a ON a.id = m.account_id
         WHERE r.id IS NULL OR a.id IS NULL
         UNION ALL SELECT b.room_id, b.account_id FROM bans b JOIN members m USING (room_id, account_id) LIMIT 5`,
      )
      .all();
    if (strays.length > 0) violations.push(`members of no room, of no account, or banned: ${JSON.stringify(strays)}`);
    const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    return {
      violations,
      rooms: count("SELECT COUNT(*) AS n FROM rooms"),
      events: count("SELECT COUNT(*) AS n FROM events") + count("SELECT COUNT(*) AS n FROM messages"),
      messages: count("SELECT COUNT(*) AS n FROM messages"),
    };
  } finally {
    db.close();
  }
}
