// The command table: every verb the gateway understands, each with its shared checks
// (parameter count, registration) stated beside it. Anything else is ERR_UNKNOWNCOMMAND (421).

import { channels } from "./channels.ts";
import { history } from "./history.ts";
import { messages } from "./messages.ts";
import { modes } from "./modes.ts";
import { registration } from "./registration.ts";
import { serverInfo } from "./server-info.ts";
import type { CommandTable } from "./types.ts";
import { users } from "./users.ts";

export const commands: CommandTable = Object.freeze({
  ...registration,
  ...channels,
  ...modes,
  ...messages,
  ...users,
  ...serverInfo,
  ...history,
});
