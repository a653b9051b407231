// Line mode's text: how events look on a plain terminal, and how typed lines become commands.
// Pure functions, so they are tested without sockets.

import type { Message, RoomEvent } from "../../core/types.ts";

export function clock(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

/** A message body starting with this is an action ("* alice waves"), as IRC's CTCP ACTION. */
export const ACTION = "/me ";

/** Continuation lines of a multi-line body are indented under the first. */
function body(text: string): string {
  return text.replace(/\r?\n/g, "\n    ");
}

export function formatMessage(m: Message, roomPrefix = ""): string {
  if (m.deleted) return `[${clock(m.createdAt)}] ${roomPrefix}* a message by ${m.author} was deleted`;
  const edited = m.editedAt !== null ? " (edited)" : "";
  if (m.body.startsWith(ACTION))
    return `[${clock(m.createdAt)}] ${roomPrefix}* ${m.author} ${body(m.body.slice(ACTION.length))}${edited}`;
  return `[${clock(m.createdAt)}] ${roomPrefix}${m.author}: ${body(m.body)}${edited}`;
}

/** The line shown for an event, or null for events line mode does not show (reactions). */
export function formatEvent(e: RoomEvent, roomName: string, current: boolean): string | null {
  const prefix = current ? "" : `#${roomName} `;
  const t = `[${clock(e.at)}] ${prefix}`;
  switch (e.type) {
    case "message":
      return formatMessage(e.message, prefix);
    case "edit":
      return `${t}${e.actor} edited a message: ${body(e.body)}`;
    case "delete":
      return `${t}* ${e.actor} deleted a message`;
    case "react":
      return null;
    case "topic":
      return `${t}* ${e.actor} set the topic: ${e.topic}`;
    case "settings":
      return `${t}* ${e.actor} made #${roomName} ${e.kind === "private" ? "private (invite only)" : "public"}`;
    case "member":
      switch (e.change) {
        case "join":
          return `${t}* ${e.name} joined #${roomName}`;
        case "leave":
          return `${t}* ${e.name} left #${roomName}`;
        case "kick":
          return `${t}* ${e.name} was kicked by ${e.actor}${e.reason ? `: ${e.reason}` : ""}`;
        case "ban":
          return `${t}* ${e.name} was banned by ${e.actor}${e.reason ? `: ${e.reason}` : ""}`;
        case "unban":
          return `${t}* ${e.name} was unbanned by ${e.actor}`;
        case "mute":
          return `${t}* ${e.name} was muted by ${e.actor}`;
        case "unmute":
          return `${t}* ${e.name} was unmuted by ${e.actor}`;
        case "role":
          return `${t}* ${e.name} is now ${e.role} (by ${e.actor})`;
        case "invite":
          return `${t}* ${e.actor} invited ${e.name}`;
      }
  }
}

export type Command =
  | { kind: "say"; text: string }
  | { kind: "join"; room: string }
  | { kind: "part" }
  | { kind: "nick"; name: string }
  | { kind: "who" }
  | { kind: "rooms" }
  | { kind: "me"; text: string }
  | { kind: "help" }
  | { kind: "quit" }
  | { kind: "empty" }
  | { kind: "error"; message: string };

export const HELP = [
  "Type a line and press Enter to say it in the current room. Commands:",
  "  /join #room   switch to a room (joining it)",
  "  /part         leave the current room and return to #lobby",
  "  /nick NAME    take another name (guests)",
  "  /who          who is in the current room",
  "  /rooms        the public rooms",
  "  /me ACTION    say an action: * you ACTION",
  "  /help         this text",
  "  /quit         leave",
  "A line starting with // sends a line starting with /.",
].join("\n");

export function parseLine(line: string): Command {
  if (line.trim() === "") return { kind: "empty" };
  if (!line.startsWith("/")) return { kind: "say", text: line };
  if (line.startsWith("//")) return { kind: "say", text: line.slice(1) };
  const [verb = "", ...rest] = line.slice(1).split(/\s+/);
  const arg = line.slice(1 + verb.length).trim();
  switch (verb.toLowerCase()) {
    case "join":
    case "j":
      return rest[0] ? { kind: "join", room: rest[0] } : { kind: "error", message: "usage: /join #room" };
    case "part":
    case "leave":
      return { kind: "part" };
    case "nick":
      return rest[0] ? { kind: "nick", name: rest[0] } : { kind: "error", message: "usage: /nick NAME" };
    case "who":
    case "names":
      return { kind: "who" };
    case "rooms":
    case "list":
      return { kind: "rooms" };
    case "me":
      return arg ? { kind: "me", text: arg } : { kind: "error", message: "usage: /me ACTION" };
    case "help":
    case "?":
      return { kind: "help" };
    case "quit":
    case "exit":
      return { kind: "quit" };
    default:
      return { kind: "error", message: `unknown command /${verb}; /help lists them` };
  }
}
