// `parley`: the command-line entry point. Each subcommand lives in its own module.

import { VERSION } from "../version.ts";
import { serve } from "./serve.ts";

const HELP = `Usage: parley <command> [options]

Commands:
  serve      run the chat server (HTTP + WebSocket, line mode)
  chat       chat in the terminal (a full client for a Parley server)
  admin      migrate, export or import a whole deployment (SQLite, PostgreSQL, JSON lines)
  help       show this help
  version    print the version

Run "parley <command> --help" for a command's options.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      return serve(rest);
    case "chat":
      return (await import("./chat.ts")).chat(rest);
    case "admin":
      return (await import("./admin.ts")).admin(rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(`${HELP}\n`);
      return command === undefined ? 2 : 0;
    case "version":
    case "--version":
    case "-v":
      process.stdout.write(`parley ${VERSION}\n`);
      return 0;
    default:
      process.stderr.write(`parley: unknown command ${JSON.stringify(command)}\n\n${HELP}\n`);
      return 2;
  }
}

// Exit explicitly: a finished command must not linger on a stray handle.
process.exit(await main(process.argv.slice(2)));
