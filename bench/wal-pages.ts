// `npx tsx bench/wal-pages.ts`: the WAL pages the SQLite store writes per appended message, by
// B-tree. Deterministic, so it can compare two layouts or settings on a shared machine where CPU
// time cannot (bench/append.ts measures the CPU). The "busy small rooms" shape: 1,000 authors in
// 100 rooms, `--batch` appends per group commit, each to its author's room (the authors in
// turn, so one commit's appends come from different authors, as at 10,000 msg/s), and the
// full-text index brought up to date every `--index-every` messages (what the server's 100 ms
// delay does at 10,000 msg/s). Nothing is checkpointed while measuring: every page a commit writes
// stays in the WAL, whose frame headers say which page each is; `dbstat` names its B-tree.
//
// Only the Store API and `store.db` are used, so the same file measures an older checkout too.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../src/store/sqlite/index.ts";
import { AUTHORS, appendMessage, createBusyRooms } from "./busy-store.ts";
import { intFlag } from "./lib.ts";

const HELP = `npx tsx bench/wal-pages.ts [flags]

  --preload N      messages stored (and indexed) before measuring (default 100,000)
  --messages N     measured appends (default 20,000)
  --batch N        appends per group commit (default 50: the server's 5 ms window at 10,000 msg/s)
  --index-every N  index the new messages for search after every N (default 1,000)
  --dir DIR        where the temporary database goes (default: the OS temp dir)
  --help           this text`;

/** Bytes of a WAL frame header; the file header is 32. */
const FRAME_HEADER = 24;

function options(argv: string[]) {
  const o = { preload: 100_000, messages: 20_000, batch: 50, indexEvery: 1000, dir: tmpdir() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => argv[++i];
    if (a === "--help") {
      console.log(HELP);
      process.exit(0);
    } else if (a === "--preload") o.preload = intFlag(v(), a, 0, 10_000_000);
    else if (a === "--messages") o.messages = intFlag(v(), a, 1000, 10_000_000);
    else if (a === "--batch") o.batch = intFlag(v(), a, 1, 10_000);
    else if (a === "--index-every") o.indexEvery = intFlag(v(), a, 1, 1_000_000);
    else if (a === "--dir") o.dir = v() ?? o.dir;
    else throw new Error(`unknown flag ${a} (--help lists them)`);
  }
  return o;
}

const o = options(process.argv.slice(2));
const dir = mkdtempSync(join(o.dir, "parley-wal-pages-"));
const path = join(dir, "parley.db");
// The index is brought up to date here, at fixed counts, not by the store's timer.
const store = new SqliteStore({ path, indexDelayMs: 2 ** 30 });
try {
  const shape = await createBusyRooms(store);
  let n = 0;
  const appendBatch = (size: number) => {
    const appends = [];
    for (let j = 0; j < size; j++, n++) {
      // 7919 is prime: every author in turn, in a scattered order
      appends.push(appendMessage(store, shape, n, (n * 7919) % AUTHORS));
    }
    return Promise.all(appends);
  };
  while (n < o.preload) {
    await appendBatch(Math.min(500, o.preload - n));
    if (n % 20_000 === 0) store.indexNow();
  }
  store.indexNow();
  store.db.pragma("wal_checkpoint(TRUNCATE)");
  store.db.pragma("wal_autocheckpoint = 0");

  const cpu0 = process.cpuUsage();
  for (let m = 0; m < o.messages; m += o.batch) {
    await appendBatch(Math.min(o.batch, o.messages - m));
    if (Math.floor((m + o.batch) / o.indexEvery) > Math.floor(m / o.indexEvery)) store.indexNow();
  }
  store.indexNow();
  const cpu = process.cpuUsage(cpu0);

  const wal = readFileSync(`${path}-wal`);
  const pageSize = wal.readUInt32BE(8);
  const treeOf = new Map<number, string>();
  for (const r of store.db.prepare("SELECT name, pageno FROM dbstat").all() as { name: string; pageno: number }[]) {
    treeOf.set(r.pageno, r.name);
  }
  const byTree = new Map<string, number>();
  let frames = 0;
  for (let at = 32; at + FRAME_HEADER + pageSize <= wal.length; at += FRAME_HEADER + pageSize, frames++) {
    const tree = treeOf.get(wal.readUInt32BE(at)) ?? "(free or new)";
    byTree.set(tree, (byTree.get(tree) ?? 0) + 1);
  }
  const perMessage = (x: number) => (x / o.messages).toFixed(3);
  console.log(
    `${o.messages} appends after ${o.preload}, ${o.batch} per commit, indexed every ${o.indexEvery}; ${pageSize}-byte pages\n`,
  );
  console.log(
    `WAL pages per message: ${perMessage(frames)}; CPU ${((cpu.user + cpu.system) / o.messages).toFixed(1)} µs per message (indicative)\n`,
  );
  console.log("| B-tree | WAL pages per message |\n|---|---:|");
  for (const [tree, count] of [...byTree].sort((a, b) => b[1] - a[1])) console.log(`| ${tree} | ${perMessage(count)} |`);
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
