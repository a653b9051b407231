// WAL checkpoints on a worker thread, so that a commit never waits for one.
//
// A checkpoint copies the pages committed to the WAL back into the database file and syncs it.
// Left to SQLite (wal_autocheckpoint), the commit that crosses the threshold runs it: under a
// busy-rooms load (100 appends per commit) about one group commit in five then took 11–30 ms
// (up to 63 ms with a larger threshold), all of it blocking the event loop. Here a second connection
// on a worker thread runs a PASSIVE checkpoint every `everyMs`: it never blocks the writer, and
// once everything is copied back the writer starts the WAL over, so it stays small.
//
// The worker is plain JavaScript evaluated from a string: it needs only better-sqlite3, and a
// TypeScript file would need the tsx loader in the worker too.

import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.module);
const db = new Database(workerData.path);
db.pragma("busy_timeout = 5000");
let timer = null;
const checkpoint = () => {
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch {
    // Busy or failing now: the next round tries again, and the writer's own automatic
    // checkpoint (set high) is the backstop.
  }
  timer = setTimeout(checkpoint, workerData.everyMs);
};
timer = setTimeout(checkpoint, workerData.everyMs);
parentPort.on("message", () => {
  clearTimeout(timer);
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
