// The terminal client's per-user file: the last server used, and per server the account, its
// session token and the last room opened. It holds a secret, so it is created with mode 0600
// (in a 0700 directory) and rewritten atomically.

import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

export interface ServerEntry {
  /** The account the token belongs to. */
  user?: string;
  token?: string;
  /** Last room opened, per account name (lower case). */
  lastRoom?: Record<string, string>;
}

export interface ChatConfig {
  /** The server used last, e.g. "http://127.0.0.1:8080". */
  server?: string;
  servers: Record<string, ServerEntry>;
}

/** $XDG_CONFIG_HOME/parley/config.json, else ~/.config/parley/config.json. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME?.startsWith("/") ? env.XDG_CONFIG_HOME : join(homeOf(env), ".config");
  return join(base, "parley", "config.json");
}

function homeOf(env: NodeJS.ProcessEnv): string {
  return env.HOME || homedir();
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads the file; a missing file is an empty configuration. */
export function loadConfig(path: string): ChatConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { servers: {} };
    throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${path} is not valid JSON (${(err as Error).message}); fix or delete it`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(`${path} is not a JSON object; fix or delete it`);
  }
  const v = value as Record<string, unknown>;
  const servers: Record<string, ServerEntry> = {};
  if (typeof v.servers === "object" && v.servers !== null && !Array.isArray(v.servers)) {
    for (const [url, raw] of Object.entries(v.servers as Record<string, unknown>)) {
      if (typeof raw !== "object" || raw === null) continue;
      const r = raw as Record<string, unknown>;
      const entry: ServerEntry = {};
      if (typeof r.user === "string") entry.user = r.user;
      if (typeof r.token === "string") entry.token = r.token;
      if (typeof r.lastRoom === "object" && r.lastRoom !== null) {
        entry.lastRoom = Object.fromEntries(
          Object.entries(r.lastRoom as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === "string"),
        );
      }
      servers[url] = entry;
    }
  }
  return { server: typeof v.server === "string" ? v.server : undefined, servers };
}

/** Writes the file with mode 0600 (through a temporary file and a rename, so it is never half written). */
export function saveConfig(path: string, config: ChatConfig): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600); // in case the umask or an old file got in the way
  renameSync(tmp, path);
}

/** The entry for a server, created if needed. */
export function entryFor(config: ChatConfig, server: string): ServerEntry {
  config.servers[server] ??= {};
  return config.servers[server];
}
