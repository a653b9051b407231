// `parley chat`: the terminal client. Logs in (password without echo, or a guest name), keeps
// the session token in the per-user config file, connects, then runs the full-screen client
// until /quit. Startup failures end with an exit code that says what went wrong.

import { randomBytes } from "node:crypto";
import { type Auth, ChatClient, ConnectError, normalizeServer, wsUrl } from "../tui/client.ts";
import { type ChatConfig, ConfigError, configPath, entryFor, loadConfig, saveConfig } from "../tui/config.ts";
import { initialState, reduce, resumeMap } from "../tui/model.ts";
import { ask, type PromptIO } from "../tui/prompt.ts";
import { login, logout } from "../tui/session.ts";
import { helpText, type OptionTable, parseOptions, UsageError } from "./options.ts";

export const DEFAULT_SERVER = "http://127.0.0.1:8080";

export const chatOptions = {
  server: {
    kind: "string",
    default: "",
    value: "URL",
    help: `server address (default: the last one used, else ${DEFAULT_SERVER})`,
  },
  user: { kind: "string", default: "", value: "NAME", help: "log in as this account; asks for the password" },
  guest: {
    kind: "string",
    default: "",
    value: "NAME",
    help: "join as a guest with this nickname (no account, public rooms only)",
  },
  room: { kind: "string", default: "", value: "ROOM", help: "room to open (default: the last one used, else #lobby)" },
  logout: { kind: "boolean", default: false, help: "end the saved session for the server, forget its token, and exit" },
  color: { kind: "boolean", default: true, help: "colours (also off when NO_COLOR is set)" },
} satisfies OptionTable;

export const EXIT = { OK: 0, RUNTIME: 1, USAGE: 2, AUTH: 3, UNREACHABLE: 4, INTERRUPTED: 130 } as const;

const FOOTER = `Without --user or --guest, the saved session for the server is used, else the account name is asked.
The session token is kept in $XDG_CONFIG_HOME/parley/config.json (else ~/.config/parley/config.json),
created with mode 0600. Inside the client, /help lists the commands and keys.

Exit codes:
  0    normal exit (/quit, Ctrl+C on an empty line)
  1    runtime failure
  2    bad usage or config file, or not run in a terminal
  3    authentication failed: wrong password, guest name taken, session revoked
  4    server unreachable: connection refused, host not found, timeout, TLS failure,
       or the address is not a Parley server
  130  interrupted at a prompt (Ctrl+C)`;

type Values = ReturnType<typeof parseOptions<typeof chatOptions>>["values"];

export async function chat(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let o: Values;
  try {
    const parsed = parseOptions(chatOptions, argv, env, () => ({}));
    if (parsed.help) {
      const summary = "Chat in the terminal: rooms, direct conversations, history, on a Parley server.";
      process.stdout.write(`${helpText("parley chat [options]", summary, chatOptions, FOOTER)}\n`);
      return EXIT.OK;
    }
    o = parsed.values;
    if (o.user && o.guest) throw new UsageError("--user and --guest cannot go together");
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    return fail(EXIT.USAGE, `${err.message}\n(see parley chat --help)`);
  }

  const path = configPath(env);
  let config: ChatConfig;
  try {
    config = loadConfig(path);
  } catch (err) {
    if (err instanceof ConfigError) return fail(EXIT.USAGE, err.message);
    throw err;
  }
  let server: string;
  try {
    server = normalizeServer(o.server || config.server || DEFAULT_SERVER);
  } catch {
    return fail(EXIT.USAGE, `${JSON.stringify(o.server)} is not a server address (like http://host:8080)`);
  }
  const entry = entryFor(config, server);
  const save = () => saveConfig(path, config);
  const io: PromptIO = { stdin: process.stdin, stdout: process.stderr };

  if (o.logout) return forget(server, config, save);
  // Load the screen's code (Ink, React) while the password is typed and the connection opens.
  const screen = process.stdout.isTTY ? loadScreen() : null;
  screen?.catch(() => {}); // reported where it is awaited

  // ---- authenticate ----
  let auth: Auth;
  let user = o.guest || o.user || entry.user || "";
  const sameUser = !o.user || (entry.user ?? "").toLowerCase() === o.user.toLowerCase();
  if (o.guest) auth = { guest: o.guest };
  else if (entry.token && sameUser) auth = { token: entry.token };
  else {
    const r = await passwordLogin(server, o.user, entry.user, io);
    if (typeof r === "number") return r;
    ({ user } = r);
    auth = { token: r.token };
    Object.assign(entry, { user, token: r.token });
    save();
  }

  let state: ReturnType<typeof initialState> | null = null;
  let client: ChatClient;
  let welcome: Awaited<ReturnType<ChatClient["connect"]>>;
  for (;;) {
    client = new ChatClient({ url: wsUrl(server), auth, resume: () => (state ? resumeMap(state) : {}) });
    try {
      welcome = await client.connect();
      break;
    } catch (err) {
      if (!(err instanceof ConnectError)) throw err;
      if (err.kind === "auth" && "token" in auth && err.code === "INVALID_TOKEN") {
        delete entry.token;
        save();
        process.stderr.write("Your saved session has expired or was ended; log in again.\n");
        const r = await passwordLogin(server, o.user || entry.user || "", entry.user, io);
        if (typeof r === "number") return r;
        ({ user } = r);
        auth = { token: r.token };
        Object.assign(entry, { user, token: r.token });
        save();
        continue;
      }
      return failConnect(err, server);
    }
  }
  user = welcome.account.name;
  if (config.server !== server) {
    config.server = server;
    save();
  }

  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    client.close();
    return fail(EXIT.USAGE, "the chat client needs a terminal (stdin and stdout are not one)");
  }

  // ---- the screen ----
  const now = Date.now();
  const lastRoom = entry.lastRoom?.[user.toLowerCase()];
  state = initialState({
    cols: process.stdout.columns || 80,
    rows: process.stdout.rows || 24,
    clientPrefix: randomBytes(6).toString("base64url"),
    wantRoom: o.room || lastRoom || null,
    now,
  });
  state.conn = { state: "online" };
  const initial = reduce(state, { type: "welcome", welcome, now });

  const { render, createElement, App } = await (screen ?? loadScreen());

  let fatal: ConnectError | null = null;
  const color = o.color && !("NO_COLOR" in env && env.NO_COLOR !== "");
  process.stdout.write("\x1b[?1049h\x1b[H\x1b[2J\x1b[?2004h"); // alternate screen, bracketed paste
  const restore = () => process.stdout.write("\x1b[?2004l\x1b[?25h\x1b[?1049l");
  const instance = render(
    createElement(App, {
      client,
      state,
      initial,
      color,
      onRemember: (room: string) => {
        entry.lastRoom = { ...entry.lastRoom, [user.toLowerCase()]: room };
        try {
          save();
        } catch {
          // not being able to remember the room is no reason to stop chatting
        }
      },
      onFatal: (err: ConnectError) => {
        fatal = err;
        if ("token" in auth && err.code === "INVALID_TOKEN" && entry.token === auth.token) {
          delete entry.token;
          save();
        }
      },
    }),
    { exitOnCtrlC: false, patchConsole: true, maxFps: 30 },
  );
  const stop = () => instance.unmount();
  for (const sig of ["SIGTERM", "SIGHUP", "SIGINT"] as const) process.on(sig, stop);
  let crashed: unknown = null;
  try {
    await instance.waitUntilExit();
  } catch (err) {
    crashed = err;
  } finally {
    for (const sig of ["SIGTERM", "SIGHUP", "SIGINT"] as const) process.off(sig, stop);
    const unsent = client.unacked;
    client.close();
    restore();
    if (unsent > 0) process.stderr.write(`parley chat: ${unsent} message(s) typed while offline were not sent.\n`);
  }
  if (crashed) return fail(EXIT.RUNTIME, `the client stopped on an error: ${(crashed as Error).stack ?? String(crashed)}`);
  if (fatal) return failConnect(fatal, server);
  return EXIT.OK;
}

/**
 * Imports Ink, React and the app. Ink draws nothing until exit, and its colour library draws no
 * colour, when the environment says CI; but this runs on a terminal, so they must not see it.
 */
async function loadScreen() {
  const saved = { CI: process.env.CI, CONTINUOUS_INTEGRATION: process.env.CONTINUOUS_INTEGRATION };
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  try {
    const [{ render }, { createElement }, { App }] = await Promise.all([
      import("ink"),
      import("react"),
      import("../tui/app.tsx"),
    ]);
    return { render, createElement, App };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Asks for the name (unless given) and the password, up to three times on a terminal. */
async function passwordLogin(
  server: string,
  name: string,
  remembered: string | undefined,
  io: PromptIO,
): Promise<{ user: string; token: string } | number> {
  let user = name;
  if (!user) {
    const answer = await ask(remembered ? `Account name [${remembered}]: ` : "Account name: ", io);
    if (answer === null) return EXIT.INTERRUPTED;
    user = answer.trim() || remembered || "";
    if (!user) return fail(EXIT.USAGE, "an account name is needed (or use --guest NAME)");
  }
  const tries = io.stdin.isTTY ? 3 : 1;
  for (let i = 1; ; i++) {
    const password = await ask(`Password for ${user} on ${new URL(server).host}: `, io, { hidden: true });
    if (password === null) return EXIT.INTERRUPTED;
    try {
      const { account, token } = await login(server, user, password);
      return { user: account.name, token };
    } catch (err) {
      if (!(err instanceof ConnectError)) throw err;
      if (err.kind === "auth" && i < tries) {
        io.stdout.write(`${capitalize(err.message)}. Try again.\n`);
        continue;
      }
      return failConnect(err, server);
    }
  }
}

async function forget(server: string, config: ChatConfig, save: () => void): Promise<number> {
  const entry = entryFor(config, server);
  if (!entry.token) {
    process.stdout.write(`No saved session for ${server}.\n`);
    return EXIT.OK;
  }
  try {
    await logout(server, entry.token);
  } catch (err) {
    const why = err instanceof ConnectError ? err.message : String(err);
    process.stderr.write(`parley chat: could not end the session on the server (${why}); forgetting it here anyway.\n`);
  }
  delete entry.token;
  save();
  process.stdout.write(`Logged out of ${server}${entry.user ? ` (${entry.user})` : ""}: the saved session is forgotten.\n`);
  return EXIT.OK;
}

function failConnect(err: ConnectError, server: string): number {
  switch (err.kind) {
    case "auth":
      return fail(EXIT.AUTH, authMessage(err));
    case "tls":
      return fail(EXIT.UNREACHABLE, err.message);
    case "unreachable":
      return fail(EXIT.UNREACHABLE, `${err.message}. Is the server running? (--server ${server})`);
    case "protocol":
      return fail(EXIT.UNREACHABLE, err.message);
  }
}

function authMessage(err: ConnectError): string {
  switch (err.code) {
    case "INVALID_CREDENTIALS":
      return "wrong account name or password";
    case "INVALID_TOKEN":
      return "the session was ended or has expired; run parley chat again to log in";
    case "NAME_TAKEN":
      return `${err.message}; pick another guest name`;
    case "GUESTS_DISABLED":
      return "this server does not allow guests; log in with --user NAME";
    default:
      return err.message;
  }
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function fail(code: number, message: string): number {
  process.stderr.write(`parley chat: ${message}\n`);
  return code;
}
