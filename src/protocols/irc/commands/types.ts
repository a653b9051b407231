// The shape of an entry in the command table (commands/index.ts). The dispatcher in client.ts
// checks registration and the parameter count before `run`, so handlers do only their own work.

import type { IrcClient } from "../client.ts";
import type { IrcMessage } from "../message.ts";
import type { ResponseBuffer } from "../response.ts";

export interface CommandContext {
  client: IrcClient;
  msg: IrcMessage;
  /** Where replies go: labeled and batched as the client negotiated, once the handler is done. */
  rb: ResponseBuffer;
}

export interface Command {
  /** Fewer parameters than this is ERR_NEEDMOREPARAMS (461) before the handler runs. */
  minParams: number;
  /** Before registration such a command gets ERR_NOTREGISTERED (451). */
  needsRegistration: boolean;
  run(ctx: CommandContext): Promise<void> | void;
}

export type CommandTable = Record<string, Command>;
