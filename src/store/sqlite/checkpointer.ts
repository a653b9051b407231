// WAL checkpoints on a worker thread, so that a commit never waits for one.
//
// A checkpoint copies the pages committed to the WAL back into the database file and syncs it.
// Left to SQLite (wal_autocheckpoint), the commit that crosses the threshold runs it: under a
// busy-rooms load (100 appends per commit) about one group commit in five then took 11–30 ms
// (up to 63 ms with a larger threshold), all of it blocking the event loop. Here a second connection
// on a worker thread runs a PASSIVE checkpoint `everyMs` after a commit: it never blocks the
// writer, and once everything is copied back the writer starts the WAL over, so it stays small.
//
// The worker runs only when there is something to copy: it watches the data directory (inotify)
// for a write to the WAL, stops watching, checkpoints `everyMs` later (whatever else was committed
// meanwhile goes in the same checkpoint), and watches again. It used to check every `everyMs`
// whatever happened: ten wakes a second of a thread with its own V8 isolate cost an idle server
// 7–8 ms of CPU a second, most of its idle CPU (docs/benchmarks.md, session 10, `idlecpu`). A
// checkpoint that could not copy everything (a reader in the way) is tried again `everyMs` later,
// and so is every checkpoint where the directory cannot be watched.
// A missed notification costs nothing but a longer WAL until the next commit, and the writer's
// own automatic checkpoint (set high) is the backstop.
//
// The worker is plain JavaScript evaluated from a string: it needs only better-sqlite3, and a
// TypeScript file would need the tsx loader in the worker too.

import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

const WORKER = `
const { watch } = require("node:fs");
const { basename, dirname } = require("node:path");
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.module);
const db = new Database(workerData.path);
db.pragma("busy_timeout = 5000");
const wal = basename(workerData.path) + "-wal";
let watcher = null;
let timer = null;
const later = () => {
  watcher?.close();
  watcher = null;
  timer ??= setTimeout(checkpoint, workerData.everyMs);
};
const checkpoint = () => {
  timer = null;
  // Watching again before copying: a commit during the checkpoint is heard once it returns.
  try {
    watcher = watch(dirname(workerData.path), (_event, name) => {
      if (name === wal) later();
    });
    watcher.on("error", later);
  } catch {
    // No watch to be had (the system's inotify limit): checked every everyMs, as if busy.
    watcher = null;
  }
  let done = watcher !== null;
  try {
    const [r] = db.pragma("wal_checkpoint(PASSIVE)");
    done &&= r.busy === 0 && r.checkpointed === r.log;
  } catch {
    // Busy or failing now: tried again below.
    done = false;
  }
  if (!done) later();
};
// What an earlier run left in the WAL, at once.
checkpoint();
parentPort.on("message", () => {
  clearTimeout(timer);
  watcher?.close();
  db.close();
  parentPort.close();
});
`;

export class Checkpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(path: string, everyMs: number) {
    const module = createRequire(import.meta.url).resolve("better-sqlite3");
    this.worker = new Worker(WORKER, { eval: true, workerData: { path, everyMs, module } });
    this.exited = new Promise((resolve) => this.worker.once("exit", () => resolve()));
    // A worker that fails leaves checkpoints to the writer's wal_autocheckpoint.
    this.worker.on("error", () => {});
    this.worker.unref();
  }

  /** Closes the worker's connection and ends the thread. */
  async stop(): Promise<void> {
    this.worker.postMessage("stop");
    const timeout = setTimeout(() => void this.worker.terminate(), 2000);
    await this.exited;
    clearTimeout(timeout);
  }
}
