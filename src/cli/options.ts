// Command-line options, read from (highest first) flags, PARLEY_* environment variables, a JSON
// config file, and defaults. One table per command gives all four, and its --help text.

export class UsageError extends Error {
  override name = "UsageError";
}

type Kind = "string" | "port" | "int" | "boolean";

export interface OptionSpec {
  kind: Kind;
  help: string;
  default: string | number | boolean;
  /** Shown instead of the kind in --help, e.g. "DIR". */
  value?: string;
}

export type OptionTable = Record<string, OptionSpec>;

export type Values<T extends OptionTable> = {
  [K in keyof T]: T[K]["kind"] extends "boolean" ? boolean : T[K]["kind"] extends "string" ? string : number;
};

export function envName(flag: string): string {
  return `PARLEY_${flag.toUpperCase().replace(/-/g, "_")}`;
}

/**
 * Parses argv against the table. Booleans are `--flag` / `--no-flag` (and `true`/`false` in the
 * environment or the config file). `extra` receives the config file's keys that are not options.
 */
export function parseOptions<T extends OptionTable>(
  table: T,
  argv: string[],
  env: NodeJS.ProcessEnv,
  readConfig: (path: string) => Record<string, unknown>,
): { values: Values<T>; help: boolean; file: Record<string, unknown> } {
  const fromFlags = new Map<string, string | boolean>();
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") {
      help = true;
      continue;
    }
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf("=");
    let name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    let negated = false;
    if (!(name in table) && name.startsWith("no-") && table[name.slice(3)]?.kind === "boolean") {
      name = name.slice(3);
      negated = true;
    }
    const spec = table[name];
    if (!spec) throw new UsageError(`unknown option --${name}`);
    if (spec.kind === "boolean") {
      if (eq !== -1) throw new UsageError(`--${name} takes no value (use --no-${name} to turn it off)`);
      fromFlags.set(name, !negated);
      continue;
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    fromFlags.set(name, value);
  }

  const configPath = (fromFlags.get("config") as string | undefined) ?? env[envName("config")] ?? "";
  const file = configPath && "config" in table ? readConfig(configPath) : {};

  const values: Record<string, string | number | boolean> = {};
  for (const [name, spec] of Object.entries(table)) {
    const raw =
      fromFlags.get(name) ?? env[envName(name)] ?? (file[name] as string | number | boolean | undefined) ?? spec.default;
    values[name] = convert(name, spec, raw);
  }
  const extra = Object.fromEntries(Object.entries(file).filter(([k]) => !(k in table)));
  return { values: values as Values<T>, help, file: extra };
}

function convert(name: string, spec: OptionSpec, raw: string | number | boolean): string | number | boolean {
  switch (spec.kind) {
    case "string":
      if (typeof raw !== "string") throw new UsageError(`${name} must be a string`);
      return raw;
    case "boolean":
      if (typeof raw === "boolean") return raw;
      if (raw === "true" || raw === "1") return true;
      if (raw === "false" || raw === "0") return false;
      throw new UsageError(`${name} must be true or false, not ${JSON.stringify(raw)}`);
    case "port":
    case "int": {
      const n = typeof raw === "number" ? raw : /^\d+$/.test(String(raw)) ? Number(raw) : Number.NaN;
      const max = spec.kind === "port" ? 65535 : Number.MAX_SAFE_INTEGER;
      if (!Number.isInteger(n) || n < 0 || n > max) {
        throw new UsageError(
          `${name} must be ${spec.kind === "port" ? "a port number (0-65535)" : "a non-negative integer"}, not ${JSON.stringify(raw)}`,
        );
      }
      return n;
    }
  }
}

export function helpText(usage: string, summary: string, table: OptionTable, footer = ""): string {
  const rows = Object.entries(table).map(([name, spec]) => {
    const flag = spec.kind === "boolean" ? `--[no-]${name}` : `--${name} ${spec.value ?? spec.kind.toUpperCase()}`;
    const def = spec.default === "" ? "" : ` (default: ${spec.default})`;
    return [flag, `${spec.help}${def}; env ${envName(name)}`];
  });
  const width = Math.max(...rows.map(([f]) => f!.length)) + 2;
  return [
    `Usage: ${usage}`,
    "",
    summary,
    "",
    "Options:",
    ...rows.map(([f, h]) => `  ${f!.padEnd(width)}${h}`),
    `  ${"--help".padEnd(width)}show this help`,
    footer ? `\n${footer}` : "",
  ].join("\n");
}
