// Process plumbing shared by bench/sessions.ts and bench/history.ts: children pinned with
// taskset, free loopback ports, Parley started as `npm start` would, its memory from /proc.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const HOST = "127.0.0.1"; // loopback only

/** Children still running, killed on an interrupt (`killChildren`). */
const children = new Set<ChildProcess>();

const INSPECTOR_CHATTER = /^(Debugger (listening on|attached|ending on)|For help, see:).*\n/gm;

export function start(cmd: string[], cpu: number | null, ipc: boolean): ChildProcess {
  const argv = cpu === null ? cmd : ["taskset", "-c", String(cpu), ...cmd];
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: ROOT,
    stdio: ipc ? ["ignore", "inherit", "inherit", "ipc"] : ["ignore", "ignore", "pipe"],
    env: { ...process.env, NODE_ENV: "production" },
  });
  child.stderr?.on("data", (d: Buffer) => {
    // What Node's inspector says whenever a bench attaches to it (bench:sessions' forced collections).
    const text = d.toString().replace(INSPECTOR_CHATTER, "");
    if (text !== "") process.stderr.write(text);
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  process.kill(child.pid, "SIGTERM");
  const timer = setTimeout(
    () => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, "SIGKILL"),
    10_000,
  );
  await exited;
  clearTimeout(timer);
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, HOST, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolvePort(port));
    });
  });
}

export async function waitHealthy(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited during startup (code ${child.exitCode})`);
    const status = await new Promise<number>((r) => {
      const req = request({ host: HOST, port, path: "/healthz", timeout: 1000 }, (res) => {
        res.resume();
        r(res.statusCode ?? 0);
      });
      req.on("error", () => r(0));
      req.on("timeout", () => req.destroy());
      req.end();
    });
    if (status === 200) return;
    await sleep(100);
  }
  throw new Error("server not healthy after 30 s");
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : Number.NaN;
}

/** The parts of Parley's config file a bench sets (limits lifted, IRC options). */
export interface BenchConfig {
  limits?: Record<string, unknown>;
  irc?: Record<string, unknown>;
}

/** Parley as `npm start` runs it, with line mode and IRC on when given a port (0 = off), data in `dir`. */
export function parleyCommand(
  dir: string,
  ports: { http: number; line?: number; irc?: number },
  config: BenchConfig = {},
  nodeFlags: string[] = [],
): string[] {
  const file = join(dir, "bench.json");
  writeFileSync(file, JSON.stringify(config));
  return [
    process.execPath,
    ...nodeFlags,
    "bin/parley.js",
    "serve",
    "--host",
    HOST,
    "--port",
    String(ports.http),
    "--line-port",
    String(ports.line ?? 0),
    "--irc-port",
    String(ports.irc ?? 0),
    "--data",
    join(dir, "data"),
    "--log-level",
    "warn",
    "--config",
    file,
  ];
}

export interface Placement {
  server: number | null;
  worker: number | null;
}

export function placement(pin: boolean): Placement {
  const ok = pin && availableParallelism() >= 2 && spawnSync("taskset", ["-c", "0", "true"]).status === 0;
  return ok ? { server: 0, worker: 1 } : { server: null, worker: null };
}

export function killChildren(): void {
  for (const c of children) if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, "SIGKILL");
}
