// `parley serve --workers N`: a primary process that runs N server processes (node:cluster) on
// the same listening ports. The primary serves nothing itself: it starts the workers, starts a
// worker again when one dies, and forwards SIGTERM/SIGINT so that every worker shuts down
// gracefully. Connections are spread over the workers by the primary (round-robin on Linux).
//
// A worker that exits before it is listening (a port in use, a database that does not answer, a
// bad configuration) would fail again the same way, so the primary stops them all and exits with
// that worker's exit code instead of restarting it in a loop.

import cluster, { type Worker } from "node:cluster";
import type { Logger } from "../log.ts";

/** The message a worker sends to the primary once its listeners are up. */
export const WORKER_READY = "parley:ready";

/** A worker that dies this soon after the previous restart of its slot waits before starting again. */
const RESTART_BACKOFF_MS = [0, 250, 1000, 5000];
const QUICK_DEATH_MS = 10_000;

interface Slot {
  index: number;
  worker: Worker;
  ready: boolean;
  startedAt: number;
  /** Consecutive quick deaths, for the restart backoff. */
  quickDeaths: number;
}

/**
 * Runs the primary until the workers are stopped. Resolves with the process exit code: 0 after a
 * clean shutdown, the failing worker's code (1 or 2) when a worker could not start, 1 when a
 * worker did not stop cleanly.
 */
export function runPrimary(workers: number, log: Logger): Promise<number> {
  const slots = new Map<Worker, Slot>();
  let stopping = false;
  let failed = 0;

  return new Promise((resolve) => {
    const finish = () => {
      if (slots.size === 0) resolve(failed);
    };

    const start = (index: number, quickDeaths: number) => {
      const worker = cluster.fork({ PARLEY_WORKER_INDEX: String(index) });
      const slot: Slot = { index, worker, ready: false, startedAt: Date.now(), quickDeaths };
      slots.set(worker, slot);
      worker.on("message", (msg: unknown) => {
        if (msg !== WORKER_READY || slot.ready) return;
        slot.ready = true;
        log.info("worker ready", { worker: index, pid: worker.process.pid });
        if ([...slots.values()].every((s) => s.ready)) log.info("all workers ready", { workers, pid: process.pid });
      });
      worker.on("exit", (code, signal) => onExit(slot, code, signal));
    };

    const onExit = (slot: Slot, code: number | null, signal: string | null) => {
      slots.delete(slot.worker);
      const fields = { worker: slot.index, pid: slot.worker.process.pid, code, signal };
      if (stopping) {
        if (code !== 0) failed = 1;
        log.info("worker stopped", fields);
        finish();
        return;
      }
      // Killed by a signal from outside is not a startup failure: start it again like any death.
      if (!slot.ready && signal === null) {
        log.error("a worker failed to start; stopping", fields);
        failed = code && code > 0 ? code : 1;
        stop("worker start failure");
        return;
      }
      const quick = Date.now() - slot.startedAt < QUICK_DEATH_MS ? slot.quickDeaths + 1 : 0;
      const delay = RESTART_BACKOFF_MS[Math.min(quick, RESTART_BACKOFF_MS.length - 1)]!;
      log.warn("worker died; starting another", { ...fields, inMs: delay });
      setTimeout(() => {
        if (!stopping) start(slot.index, quick);
      }, delay);
    };

    const stop = (reason: string) => {
      if (stopping) return;
      stopping = true;
      log.info("shutting down workers", { reason, workers: slots.size });
      for (const { worker } of slots.values()) worker.process.kill("SIGTERM");
      finish();
    };

    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals === 1) {
        stop(signal);
        return;
      }
      // A second signal: do not wait for graceful shutdowns any longer.
      log.warn("forced exit", { signal });
      for (const { worker } of slots.values()) worker.process.kill("SIGKILL");
      failed = 1;
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);

    for (let i = 0; i < workers; i++) start(i, 0);
  });
}

/** In a worker: tells the primary that the listeners are up. */
export function reportReady(): void {
  if (cluster.isWorker) process.send?.(WORKER_READY);
}

export function isClusterWorker(): boolean {
  return cluster.isWorker;
}
