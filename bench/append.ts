// `npx tsx bench/append.ts`: the SQLite store's CPU per appended message, by group-commit size.
// The "busy small rooms" shape without the network: 1,000 authors in 100 rooms, each message to
// the author's room, `--batch` appends requested together (one group commit each). CPU is this
// process's user + system time (process.cpuUsage, worker threads included), so other load on the
// machine moves it little; wall time, and the time from requesting a batch's appends to their
// resolving (one group commit: p99 and maximum), are printed for reference: other load moves them.
//
// Only the Store API is used (createAccount, createRoom, append), so the same file measures an
// older checkout too.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../src/store/sqlite/index.ts";
import { AUTHORS, appendMessage, createBusyRooms, ROOMS } from "./busy-store.ts";
import { intFlag } from "./lib.ts";

const HELP = `npx tsx bench/append.ts [flags]

  --batch A,B,…    appends per group commit to measure (default 5,25,100)
  --messages N     measured appends per batch size, after 5,000 unmeasured ones (default 40,000)
  --checkpoint-ms N  checkpoint the WAL from a worker thread every N ms, as the server does (default
                   100; 0 = SQLite's automatic checkpoints in the committing thread)
  --dir DIR        where the temporary database goes (default: the OS temp dir; /dev/shm leaves
                   the disk out)
  --help           this text`;

function options(argv: string[]) {
  const o = { batches: [5, 25, 100], messages: 40_000, dir: tmpdir(), checkpointMs: 100 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => argv[++i];
    if (a === "--help") {
      console.log(HELP);
      process.exit(0);
    } else if (a === "--batch") o.batches = (v() ?? "").split(",").map((b) => intFlag(b, a, 1, 10_000));
    else if (a === "--messages") o.messages = intFlag(v(), a, 1000, 10_000_000);
    else if (a === "--dir") o.dir = v() ?? o.dir;
    else if (a === "--checkpoint-ms") o.checkpointMs = intFlag(v(), a, 0, 60_000);
    else throw new Error(`unknown flag ${a} (--help lists them)`);
  }
  return o;
}

async function measure(batch: number, messages: number, parent: string, checkpointMs: number): Promise<string> {
  const dir = mkdtempSync(join(parent, "parley-append-"));
  const store = new SqliteStore({ path: join(dir, "parley.db"), checkpointEveryMs: checkpointMs });
  try {
    const shape = await createBusyRooms(store);
    let n = 0;
    const commitMs: number[] = [];
    const run = async (total: number) => {
      for (let i = 0; i < total; i += batch) {
        const started = performance.now();
        const appends = [];
        for (let j = 0; j < batch; j++, n++) appends.push(appendMessage(store, shape, n, n % AUTHORS));
        await Promise.all(appends);
        commitMs.push(performance.now() - started);
      }
    };
    await run(5000);
    commitMs.length = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await run(messages);
    const cpu = process.cpuUsage(cpu0);
    const wall = performance.now() - t0;
    const us = (x: number) => (x / messages).toFixed(1);
    commitMs.sort((a, b) => a - b);
    const p99 = commitMs[Math.floor(commitMs.length * 0.99)]!.toFixed(1);
    const max = commitMs[commitMs.length - 1]!.toFixed(1);
    return `| ${batch} | ${us(cpu.user + cpu.system)} | ${us(cpu.user)} | ${us(cpu.system)} | ${us(wall * 1000)} | ${p99} | ${max} |`;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const o = options(process.argv.slice(2));
console.log(`${o.messages} appends per row, ${AUTHORS} authors in ${ROOMS} rooms, database in ${o.dir}\n`);
console.log("| appends per commit | CPU µs/message | user | system | wall µs/message | commit p99 ms | commit max ms |");
console.log("|---:|---:|---:|---:|---:|---:|---:|");
for (const b of o.batches) console.log(await measure(b, o.messages, o.dir, o.checkpointMs));
