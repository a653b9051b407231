// Starts the real server (`node bin/parley.js serve …`) as a child process on free ports with a
// fresh data directory, waits until GET /healthz answers, captures its output, and makes sure
// the child never outlives the test process.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const BIN = join(ROOT, "bin", "parley.js");

/** Limits loose enough that tests sending bursts are never rate limited. */
export const LOOSE_LIMITS = {
  connectionMessages: { burst: 1_000_000, perSecond: 1_000_000 },
  accountMessages: { burst: 1_000_000, perSecond: 1_000_000 },
  joins: { burst: 1_000_000, perSecond: 1_000_000 },
  roomCreations: { burst: 1_000_000, perSecond: 1_000_000 },
  connectionRequests: { burst: 1_000_000, perSecond: 1_000_000 },
  // New accounts and guest names per address: every test client comes from loopback.
  registrations: { burst: 1_000_000, perSecond: 1_000_000 },
};

export interface StartOptions {
  /** Written to a JSON file passed with --config (or PARLEY_CONFIG / nothing, see `via`). */
  config?: Record<string, unknown>;
  /** Extra environment for the child. */
  env?: Record<string, string>;
  /** Extra command-line arguments, after the standard ones. */
  args?: string[];
  /** How host, ports and data dir are given: flags (default), PARLEY_* variables, or the config file. */
  via?: "flags" | "env" | "config";
  /** Reuse a data directory instead of a fresh one. */
  dataDir?: string;
  /** Start the IRC gateway on a free port (ircPort); off otherwise. */
  irc?: boolean;
  /** How long the server may take to answer /healthz. Default 60 s (a busy CI machine compiling TypeScript is slow). */
  startTimeoutMs?: number;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface TestServer {
  readonly httpUrl: string;
  readonly wsUrl: string;
  readonly port: number;
  readonly linePort: number;
  /** The IRC gateway's port, or 0 when it was not started (StartOptions.irc). */
  readonly ircPort: number;
  readonly dataDir: string;
  /** The current child process (a new one after restart()). */
  readonly proc: ChildProcess;
  /** Everything the current and earlier children wrote to stdout and stderr. */
  logs(): string;
  /** The JSON log records written so far. */
  logRecords(): Record<string, unknown>[];
  /** Sends a signal (SIGTERM by default) and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
  /** kill -9, and wait until the process is gone. */
  kill9(): Promise<Exit>;
  /** Starts a new child on the same ports and data directory (stopping the old one first if it runs). */
  restart(): Promise<void>;
  /** Resident set size of the child, in bytes (Linux /proc). */
  rss(): number;
}

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
process.on("exit", () => {
  for (const c of children) {
    try {
      c.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix = "parley-test-"): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(d);
  return d;
}

/** A port that was free a moment ago (listen on 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Spawns `node bin/parley.js <args>` and collects its output and exit status (for usage tests). */
export type ParleyRun = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

export function runParley(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<ParleyRun> {
  return spawnParley(args, opts).done;
}

/** `parley <from> | parley <to>` through an OS pipe; resolves when both exited. */
export function pipeParley(
  from: string[],
  to: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<[ParleyRun, ParleyRun]> {
  const left = spawnParley(from, { ...opts, piped: true });
  const right = spawnParley(to, { ...opts, stdin: left.child.stdout ?? undefined });
  return Promise.all([left.done, right.done]);
}

function spawnParley(
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number; stdin?: Readable; piped?: boolean },
): { child: ChildProcess; done: Promise<ParleyRun> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...cleanEnv(), ...opts.env },
    stdio: [opts.stdin ? "pipe" : "ignore", "pipe", "pipe"],
  });
  if (opts.stdin && child.stdin) opts.stdin.pipe(child.stdin);
  children.add(child);
  const done = new Promise<ParleyRun>((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    // Not collected when another process reads it (a pipe).
    if (!opts.piped) {
      child.stdout?.setEncoding("utf8").on("data", (d: string) => {
        stdout += d;
      });
    }
    child.stderr?.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`parley ${args.join(" ")} did not exit in time\n${stdout}\n${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      // Let the pipes flush.
      setImmediate(() => resolve({ code, signal, stdout, stderr }));
    });
  });
  return { child, done };
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("PARLEY_")) env[k] = v;
  return env;
}

export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  const port = await freePort();
  let linePort = await freePort();
  while (linePort === port) linePort = await freePort();
  let ircPort = opts.irc ? await freePort() : 0;
  while (opts.irc && (ircPort === port || ircPort === linePort)) ircPort = await freePort();
  const dataDir = opts.dataDir ?? tempDir();
  const via = opts.via ?? "flags";
  const standard: Record<string, string | number> = {
    host: "127.0.0.1",
    port,
    "line-port": linePort,
    "irc-port": ircPort,
    data: dataDir,
    "log-format": "json",
  };

  const args: string[] = ["serve"];
  const env: Record<string, string> = {};
  const config: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(standard)) {
    if (via === "flags") args.push(`--${name}`, String(value));
    else if (via === "env") env[`PARLEY_${name.toUpperCase().replace(/-/g, "_")}`] = String(value);
    else config[name] = value;
  }
  // What the caller gives wins over the standard values given the same way.
  Object.assign(env, opts.env);
  Object.assign(config, opts.config);
  if (opts.config || via === "config") {
    const file = join(tempDir("parley-config-"), "parley.json");
    writeFileSync(file, JSON.stringify(config));
    if (via === "env") env.PARLEY_CONFIG = file;
    else args.push("--config", file);
  }
  args.push(...(opts.args ?? []));

  let output = "";
  let proc!: ChildProcess;
  let exited: Promise<Exit>;

  const launch = async () => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...cleanEnv(), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.add(child);
    proc = child;
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      output += d;
    });
    child.stderr!.setEncoding("utf8").on("data", (d: string) => {
      output += d;
    });
    exited = new Promise<Exit>((resolve) => {
      child.once("exit", (code, signal) => {
        children.delete(child);
        resolve({ code, signal });
      });
    });
    await waitHealthy(`http://127.0.0.1:${port}`, child, exited, () => output, opts.startTimeoutMs ?? 60_000);
  };

  await launch();

  const waitExit = async (timeoutMs: number): Promise<Exit> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), timeoutMs);
    });
    const result = await Promise.race([exited, timeout]);
    clearTimeout(timer);
    if (result) return result;
    proc.kill("SIGKILL");
    await exited;
    throw new Error(`server did not exit within ${timeoutMs} ms\n${output}`);
  };

  const running = () => proc.exitCode === null && proc.signalCode === null;

  const server: TestServer = {
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    port,
    linePort,
    ircPort,
    dataDir,
    get proc() {
      return proc;
    },
    logs: () => output,
    logRecords: () =>
      output
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (!running()) return exited;
      proc.kill(signal);
      return waitExit(15_000);
    },
    async kill9() {
      if (!running()) return exited;
      proc.kill("SIGKILL");
      return waitExit(10_000);
    },
    async restart() {
      if (running()) await server.stop();
      await launch();
    },
    rss() {
      const status = readFileSync(`/proc/${proc.pid}/status`, "utf8");
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
      if (!m) throw new Error("no VmRSS");
      return Number(m[1]) * 1024;
    },
  };
  return server;
}

async function waitHealthy(
  base: string,
  child: ChildProcess,
  exited: Promise<Exit>,
  output: () => string,
  timeoutMs: number,
): Promise<void> {
  let gone: Exit | null = null;
  void exited.then((e) => {
    gone = e;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gone) {
      const e = gone as Exit;
      throw new Error(`server exited during startup (code ${e.code}, signal ${e.signal})\n${output()}`);
    }
    try {
      const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) {
        await res.arrayBuffer();
        return;
      }
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  child.kill("SIGKILL");
  throw new Error(`server did not become healthy\n${output()}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a truthy value or the time runs out. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 5000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await sleep(25);
  }
}
