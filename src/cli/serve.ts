// `parley serve`: run the server until SIGTERM or SIGINT.

import { readFileSync } from "node:fs";
import { defaultLimits } from "../core/limits.ts";
import { defaultHttpOptions } from "../http/server.ts";
import { createLogger, type Level } from "../log.ts";
import { defaultMemoryReducerOptions } from "../memory-reducer.ts";
import { IrcConfigError, type IrcOptions, resolveIrcOptions } from "../protocols/irc/options.ts";
import { defaultLineOptions } from "../protocols/line/server.ts";
import { defaultWsOptions } from "../protocols/ws/server.ts";
import { startServer } from "../server.ts";
import { VERSION } from "../version.ts";
import { isClusterWorker, reportReady, runPrimary } from "./cluster.ts";
import { helpText, type OptionTable, parseOptions, UsageError } from "./options.ts";

export const serveOptions = {
  host: { kind: "string", default: "127.0.0.1", value: "ADDR", help: "address to listen on" },
  port: { kind: "port", default: 8080, help: "HTTP and WebSocket (/ws) port" },
  "irc-port": { kind: "port", default: 6667, help: "IRC gateway port, 0 = off" },
  "irc-tls-port": { kind: "port", default: 0, help: "IRC over TLS port (needs --irc-tls-cert and --irc-tls-key), 0 = off" },
  "irc-tls-cert": { kind: "string", default: "", value: "FILE", help: "PEM certificate (chain) for --irc-tls-port" },
  "irc-tls-key": { kind: "string", default: "", value: "FILE", help: "PEM private key for --irc-tls-port" },
  "line-port": { kind: "port", default: 5000, help: "line mode (plain TCP, nc) port, 0 = off" },
  data: { kind: "string", default: "./data", value: "DIR", help: "data directory (SQLite database)" },
  "commit-window-ms": {
    kind: "int",
    default: 5,
    value: "MS",
    help: "SQLite: least time between two group commits; under load a commit holds more messages (acks wait up to this long)",
  },
  "database-url": { kind: "string", default: "", value: "URL", help: "postgres://… to use PostgreSQL instead of SQLite" },
  "database-schema": { kind: "string", default: "public", value: "NAME", help: "PostgreSQL schema for Parley's tables" },
  "redis-url": { kind: "string", default: "", value: "URL", help: "redis://… bus between server processes" },
  "redis-prefix": { kind: "string", default: "parley:", value: "PREFIX", help: "prefix of Parley's Redis channel and key names" },
  workers: {
    kind: "int",
    default: 1,
    value: "N",
    help: "server processes sharing the ports; more than 1 needs --database-url and --redis-url",
  },
  guests: { kind: "boolean", default: true, help: "let people join with just a nickname" },
  "idle-collect-mib": {
    kind: "int",
    default: defaultMemoryReducerOptions.growthMiB,
    value: "MIB",
    help: "once the JS heap has grown by this much, collect garbage when the server has been idle for 1.5 s (gives back a connect burst's memory at once); 0 = off",
  },
  "log-level": { kind: "string", default: "info", value: "LEVEL", help: "debug, info, warn or error" },
  "log-format": { kind: "string", default: "auto", value: "FORMAT", help: "json, pretty, or auto (pretty on a terminal)" },
  config: { kind: "string", default: "", value: "FILE", help: "JSON file with any of these options, plus limits, ws, line, irc" },
} satisfies OptionTable;

const FOOTER = `The config file's "limits", "ws", "line" and "http" objects tune abuse limits, timeouts and buffers; see docs/protocol.md and docs/security.md.
Its "irc" object sets the IRC gateway's server name, network, MOTD, password, lengths and flood control; see docs/irc.md.
With --workers N a primary process runs N workers, starts a worker again when one dies, and
forwards SIGTERM/SIGINT to them; see docs/scaling.md.
Exit codes: 0 clean shutdown, 1 runtime failure (e.g. a port in use), 2 bad usage or configuration.`;

export async function serve(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseOptions<typeof serveOptions>>;
  try {
    parsed = parseOptions(serveOptions, argv, process.env, readConfig);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`parley serve: ${err.message}\n(see parley serve --help)\n`);
    return 2;
  }
  const { values: o, help, file } = parsed;
  if (help) {
    process.stdout.write(`${helpText("parley serve [options]", "Runs the Parley chat server.", serveOptions, FOOTER)}\n`);
    return 0;
  }
  if (!["debug", "info", "warn", "error"].includes(o["log-level"])) return usage(`unknown log level ${o["log-level"]}`);
  if (!["auto", "json", "pretty"].includes(o["log-format"])) return usage(`unknown log format ${o["log-format"]}`);
  const worker = isClusterWorker() ? Number(process.env.PARLEY_WORKER_INDEX ?? 0) : null;
  const log = createLogger(
    {
      level: o["log-level"] as Level,
      pretty: o["log-format"] === "auto" ? undefined : o["log-format"] === "pretty",
    },
    worker === null ? {} : { worker },
  );
  if (o.workers < 1) return usage("--workers must be at least 1");
  if (o.workers > 1) {
    const missing = [
      o["database-url"] === "" ? "--database-url postgres://… (SQLite serves one process only)" : null,
      o["redis-url"] === "" ? "--redis-url redis://… (the bus between the processes)" : null,
    ].filter((m) => m !== null);
    if (missing.length > 0) return usage(`--workers ${o.workers} needs ${missing.join(" and ")}; see docs/scaling.md`);
  }
  const tlsPort = o["irc-tls-port"];
  const tlsFiles = o["irc-tls-cert"] !== "" || o["irc-tls-key"] !== "";
  if (tlsPort !== 0 && (o["irc-tls-cert"] === "" || o["irc-tls-key"] === "")) {
    return usage("--irc-tls-port needs --irc-tls-cert and --irc-tls-key");
  }
  if (tlsPort === 0 && tlsFiles) return usage("--irc-tls-cert and --irc-tls-key need --irc-tls-port");
  let irc: IrcOptions;
  try {
    irc = resolveIrcOptions(file.irc);
  } catch (err) {
    if (!(err instanceof IrcConfigError)) throw err;
    return usage(`config ${err.message}`);
  }

  let overrides: { limits: object; ws: object; line: object; http: object };
  try {
    overrides = {
      limits: checkOverrides("limits", file.limits, defaultLimits),
      ws: checkOverrides("ws", file.ws, defaultWsOptions),
      line: checkOverrides("line", file.line, defaultLineOptions),
      http: checkOverrides("http", file.http, defaultHttpOptions),
    };
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    return usage(err.message);
  }

  if (o.workers > 1 && worker === null) {
    log.info("parley primary starting workers", { version: VERSION, workers: o.workers, pid: process.pid });
    return runPrimary(o.workers, log);
  }

  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({
      host: o.host,
      port: o.port,
      linePort: o["line-port"],
      ircPort: o["irc-port"],
      ircTlsPort: tlsPort,
      ircTls: tlsPort !== 0 ? { cert: o["irc-tls-cert"], key: o["irc-tls-key"] } : null,
      irc,
      dataDir: o.data,
      commitWindowMs: o["commit-window-ms"],
      databaseUrl: o["database-url"],
      databaseSchema: o["database-schema"],
      redisUrl: o["redis-url"],
      redisPrefix: o["redis-prefix"],
      allowGuests: o.guests,
      memoryReducer: { ...defaultMemoryReducerOptions, growthMiB: o["idle-collect-mib"] },
      ...overrides,
      log,
    });
  } catch (err) {
    log.error("could not start", { err });
    return 1;
  }
  const url = `http://${server.http.address.includes(":") ? `[${server.http.address}]` : server.http.address}:${server.http.port}`;
  log.info("parley is running", {
    version: VERSION,
    http: url,
    ws: `${url.replace("http", "ws")}/ws`,
    line: server.line ? `${server.line.address}:${server.line.port}` : "off",
    irc: server.irc ? `${server.irc.address}:${server.irc.port}` : "off",
    ircTls: server.ircTls ? `${server.ircTls.address}:${server.ircTls.port}` : "off",
    store: o["database-url"] ? "postgresql" : `sqlite in ${o.data}`,
    bus: o["redis-url"] ? "redis" : "local",
    pid: process.pid,
  });
  reportReady();

  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        log.warn("forced exit", { signal });
        resolve(1);
        return;
      }
      stopping = true;
      log.info("shutting down", { signal });
      server.close().then(
        () => {
          log.info("stopped");
          resolve(0);
        },
        (err) => {
          log.error("unclean shutdown", { err });
          resolve(1);
        },
      );
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    if (worker === null) {
      process.on("SIGINT", () => stop("SIGINT"));
    } else {
      // Ctrl-C reaches the whole process group; the primary forwards it as SIGTERM.
      process.on("SIGINT", () => {});
      // The primary is gone (kill -9): nobody would restart or stop this worker, so stop now.
      process.on("disconnect", () => {
        if (!stopping) stop("primary gone");
      });
    }
  });

  function usage(message: string): number {
    process.stderr.write(`parley serve: ${message}\n`);
    return 2;
  }
}

/**
 * Checks a config file section against the defaults it overrides: known keys only, numbers
 * where numbers go, and rates as whole { burst, perSecond } objects.
 */
function checkOverrides(section: string, given: unknown, defaults: object): object {
  if (given === undefined) return {};
  if (typeof given !== "object" || given === null || Array.isArray(given))
    throw new UsageError(`config "${section}" must be an object`);
  for (const [key, value] of Object.entries(given)) {
    const def = (defaults as Record<string, unknown>)[key];
    const where = `config "${section}.${key}"`;
    if (def === undefined) throw new UsageError(`${where} is not a known setting`);
    if (typeof def === "number") {
      if (typeof value !== "number" || !Number.isFinite(value) || value < 0)
        throw new UsageError(`${where} must be a non-negative number`);
    } else if (Array.isArray(def)) {
      if (!Array.isArray(value) || !value.every((v) => typeof v === "string"))
        throw new UsageError(`${where} must be a list of strings`);
    } else {
      const rate = value as { burst?: unknown; perSecond?: unknown } | null;
      const ok = (n: unknown) => typeof n === "number" && Number.isFinite(n) && n > 0;
      if (typeof rate !== "object" || rate === null || !ok(rate.burst) || !ok(rate.perSecond) || Object.keys(rate).length !== 2) {
        throw new UsageError(`${where} must be { "burst": N, "perSecond": N } with positive numbers`);
      }
    }
  }
  return given;
}

function readConfig(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not a JSON object");
    return value as Record<string, unknown>;
  } catch (err) {
    throw new UsageError(`config file ${path} is not a JSON object: ${(err as Error).message}`);
  }
}
