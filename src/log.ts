// Structured logs: one JSON object per line, or a readable line when writing to a terminal.

export type Level = "debug" | "info" | "warn" | "error";
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const COLOR: Record<Level, string> = { debug: "\x1b[90m", info: "\x1b[36m", warn: "\x1b[33m", error: "\x1b[31m" };

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

export interface LogOptions {
  level?: Level;
  pretty?: boolean;
  write?: (line: string) => void;
}

export function createLogger(opts: LogOptions = {}, base: Fields = {}): Logger {
  const min = RANK[opts.level ?? "info"];
  const pretty = opts.pretty ?? process.stdout.isTTY === true;
  const write = opts.write ?? ((line: string) => process.stdout.write(line));
  const log = (level: Level, msg: string, fields?: Fields) => {
    if (RANK[level] < min) return;
    const all = { ...base, ...fields };
    if (pretty) {
      const time = new Date().toISOString().slice(11, 23);
      const extra = Object.entries(all)
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v, errorReplacer)}`)
        .join(" ");
      write(`${time} ${COLOR[level]}${level.padEnd(5)}\x1b[0m ${msg}${extra ? ` \x1b[90m${extra}\x1b[0m` : ""}\n`);
    } else {
      write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...all }, errorReplacer)}\n`);
    }
  };
  return {
    debug: (m, f) => log("debug", m, f),
    info: (m, f) => log("info", m, f),
    warn: (m, f) => log("warn", m, f),
    error: (m, f) => log("error", m, f),
    child: (fields) => createLogger(opts, { ...base, ...fields }),
  };
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}

export const silentLogger: Logger = createLogger({ write: () => {} });
