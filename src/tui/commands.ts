// What a line typed in the terminal client means: a message, or a slash command. Pure parsing;
// the view model decides what each command does.

export type Command =
  | { kind: "say"; text: string }
  | { kind: "me"; text: string }
  | { kind: "join"; room: string }
  | { kind: "part"; room: string | null }
  | { kind: "msg"; name: string; text: string }
  | { kind: "topic"; topic: string | null }
  | { kind: "who" }
  | { kind: "rooms" }
  | { kind: "edit"; text: string | null }
  | { kind: "delete" }
  | { kind: "reply"; to: string | null; text: string }
  | { kind: "create"; room: string; private: boolean }
  | { kind: "invite"; name: string }
  /** An empty query asks for the next page of the last search. */
  | { kind: "search"; query: string }
  | { kind: "goto"; n: number }
  | { kind: "react"; to: string | null; emoji: string }
  | { kind: "help" }
  | { kind: "quit" }
  | { kind: "empty" }
  | { kind: "error"; message: string };

/** One line per command, shown by /help. */
export const HELP: string[] = [
  "Enter sends, Alt+Enter starts a new line. Commands:",
  "  /join #room          join a room, or switch to it",
  "  /part [#room]        leave this room (or the one named)",
  "  /msg name [text]     direct conversation with name",
  "  /me text             an action: * you text",
  "  /topic [text]        show the topic, or set it",
  "  /who                 who is in this room",
  "  /rooms               list the public rooms",
  "  /edit [text]         change your last message",
  "  /delete              delete your last message",
  "  /reply [@name] text  reply to the last message",
  "  /react [@name] emoji react to the last message (again: undo)",
  "  /create #room [private]   create a room",
  "  /invite name         invite someone to this room",
  '  /search words        search your rooms ("a phrase" too)',
  "  /search              older results of the last search",
  "  /goto n              open search result n in its room",
  "  /help, /quit         this help; leave",
  "  //text               a message that starts with /",
  "Keys: PageUp/PageDown scroll back (older history",
  "  loads from the server), Esc back to the bottom,",
  "  Alt+1..9 or Ctrl+N/Ctrl+P switch rooms, Up/Down",
  "  input history, Ctrl+A/E/U/K/W edit the line, Tab",
  "  completes, Ctrl+L redraws, Ctrl+C clears the line",
  "  or quits on an empty one.",
];

const NAMES = [
  "join",
  "j",
  "part",
  "leave",
  "msg",
  "query",
  "me",
  "topic",
  "who",
  "names",
  "rooms",
  "list",
  "edit",
  "delete",
  "del",
  "reply",
  "create",
  "invite",
  "search",
  "goto",
  "react",
  "help",
  "quit",
  "exit",
] as const;

/** The command names /help lists (for completion). */
export const COMMAND_NAMES: readonly string[] = NAMES;

function bareRoom(name: string): string {
  return name.startsWith("#") ? name.slice(1) : name;
}

/** Parses what was typed in the input line (which may span several lines). */
export function parseCommand(input: string): Command {
  if (input.trim() === "") return { kind: "empty" };
  if (!input.startsWith("/")) return { kind: "say", text: input };
  if (input.startsWith("//")) return { kind: "say", text: input.slice(1) };
  if (input.startsWith("/ ")) return { kind: "say", text: input };
  const m = /^\/(\S+)(?:[ \t]+([\s\S]*))?$/.exec(input);
  if (!m) return { kind: "say", text: input };
  const name = m[1]!.toLowerCase();
  const rest = (m[2] ?? "").trim();
  const args = rest === "" ? [] : rest.split(/\s+/);
  const need = (usage: string): Command => ({ kind: "error", message: `usage: ${usage}` });
  switch (name) {
    case "join":
    case "j":
      if (args.length !== 1) return need("/join #room");
      return { kind: "join", room: bareRoom(args[0]!) };
    case "part":
    case "leave":
      if (args.length > 1) return need("/part [#room]");
      return { kind: "part", room: args[0] ? bareRoom(args[0]) : null };
    case "msg":
    case "query": {
      const mm = /^(\S+)(?:\s+([\s\S]*))?$/.exec(rest);
      if (!mm) return need("/msg name [text]");
      return { kind: "msg", name: mm[1]!.replace(/^@/, ""), text: (mm[2] ?? "").trim() };
    }
    case "me":
      if (rest === "") return need("/me text");
      return { kind: "me", text: rest };
    case "topic":
      return { kind: "topic", topic: rest === "" ? null : rest };
    case "who":
    case "names":
      return { kind: "who" };
    case "rooms":
    case "list":
      return { kind: "rooms" };
    case "edit":
      return { kind: "edit", text: rest === "" ? null : rest };
    case "delete":
    case "del":
      if (args.length > 0) return need("/delete (deletes your last message)");
      return { kind: "delete" };
    case "reply": {
      const mm = /^@(\S+)\s+([\s\S]+)$/.exec(rest);
      if (mm) return { kind: "reply", to: mm[1]!, text: mm[2]!.trim() };
      if (rest === "") return need("/reply [@name] text");
      return { kind: "reply", to: null, text: rest };
    }
    case "create": {
      if (args.length < 1 || args.length > 2) return need("/create #room [private]");
      if (args[1] !== undefined && args[1].toLowerCase() !== "private") return need("/create #room [private]");
      return { kind: "create", room: bareRoom(args[0]!), private: args[1] !== undefined };
    }
    case "invite":
      if (args.length !== 1) return need("/invite name");
      return { kind: "invite", name: args[0]!.replace(/^@/, "") };
    case "search":
      return { kind: "search", query: rest };
    case "goto":
      if (args.length !== 1 || !/^[1-9]\d{0,5}$/.test(args[0]!)) return need("/goto n (a number from /search)");
      return { kind: "goto", n: Number(args[0]) };
    case "react": {
      const mm = /^(?:@(\S+)\s+)?(\S+)$/.exec(rest);
      if (!mm) return need("/react [@name] emoji");
      return { kind: "react", to: mm[1] ?? null, emoji: mm[2]! };
    }
    case "help":
      return { kind: "help" };
    case "quit":
    case "exit":
      return { kind: "quit" };
    default:
      return { kind: "error", message: `unknown command /${m[1]} (type /help for the list)` };
  }
}
