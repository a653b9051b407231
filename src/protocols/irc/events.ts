// Core events → IRC lines, for one client and the capabilities it negotiated.
//
// Messages become PRIVMSG (a body starting with "/me " a CTCP ACTION); a body with several lines
// is one draft/multiline batch for clients that have it and separate lines otherwise; text too
// long for one line is cut at UTF-8 boundaries. Edits become a new line marked "[edited]",
// deletions REDACT, reactions and typing TAGMSG with client tags, membership changes JOIN, PART,
// KICK and MODE.

import { nameKey } from "../../core/names.ts";
import type { Ephemeral, Id, Message, RoomEvent } from "../../core/types.ts";
import type { Channel, Direct, IrcClient } from "./client.ts";
import { type IrcMessage, splitUtf8 } from "./message.ts";
import * as N from "./numerics.ts";
import { batchLines, type Sink } from "./response.ts";

/** The body prefix Parley uses for actions (line mode and the web show "* name …"). */
export const ACTION_PREFIX = "/me ";
export const EDIT_MARK = "[edited] ";

export interface OutMessage {
  command: "PRIVMSG" | "NOTICE";
  source: string;
  target: string;
  body: string;
  /** Tags for the message as a whole (time, msgid, account, +reply …); msgid goes on the first line only. */
  tags: Record<string, string>;
}

/** The lines for one message, for this client: one line, a multiline batch, or split lines. */
export function messageLines(c: IrcClient, m: OutMessage): IrcMessage[] {
  const action = m.body.startsWith(ACTION_PREFIX);
  const body = action ? m.body.slice(ACTION_PREFIX.length) : m.body;
  const overhead = Buffer.byteLength(`:${m.source} ${m.command} ${m.target} :\r\n`) + (action ? 9 : 0);
  const budget = 512 - overhead;
  const wrap = (t: string) => (action ? `\x01ACTION ${t}\x01` : t);
  const lines = body.split(/\r?\n/);
  const line = (text: string, tags: Record<string, string>): IrcMessage => ({
    tags,
    source: m.source,
    command: m.command,
    params: [m.target, text],
  });

  if (lines.length === 1 && Buffer.byteLength(body) <= budget) return [line(wrap(body), m.tags)];

  if (c.caps.has("draft/multiline") && c.caps.has("batch")) {
    const inner: IrcMessage[] = [];
    for (const l of lines) {
      const pieces = l === "" ? [""] : splitUtf8(l, budget);
      const last = pieces.length - 1;
      pieces.forEach((p, i) => {
        // Concatenated pieces make one line again, so an action wraps the line, not each piece.
        const text = action ? `${i === 0 ? "\x01ACTION " : ""}${p}${i === last ? "\x01" : ""}` : p;
        inner.push(line(text, i > 0 ? { "draft/multiline-concat": "" } : {}));
      });
    }
    return batchLines(c, "draft/multiline", [m.target], inner, m.tags);
  }

  const { msgid, ...rest } = m.tags;
  const out: IrcMessage[] = [];
  for (const l of lines) {
    if (l.trim() === "") continue;
    for (const p of splitUtf8(l, budget)) {
      out.push(line(wrap(p), out.length === 0 && msgid !== undefined ? { ...m.tags } : { ...rest }));
    }
  }
  return out;
}

/** Tags of a stored message for this client. */
export function messageTags(c: IrcClient, msg: Message): Record<string, string> {
  const tags = c.timeTag(msg.createdAt);
  if (c.caps.has("message-tags")) {
    tags.msgid = msg.id;
    if (msg.replyTo !== null) {
      tags["+draft/reply"] = msg.replyTo;
      tags["+reply"] = msg.replyTo;
    }
  }
  return c.accountTag(msg.authorId, msg.author, tags);
}

/** A stored message as lines, sent to `target` (a channel, or for direct rooms as seen by this client). */
export function storedMessageLines(
  c: IrcClient,
  msg: Message,
  target: string,
  command: "PRIVMSG" | "NOTICE" = "PRIVMSG",
): IrcMessage[] {
  return messageLines(c, { command, source: c.mask(msg.author), target, body: msg.body, tags: messageTags(c, msg) });
}

/** Where a direct room's event is addressed, as IRC shows private messages: to the peer when this account acted. */
function directTarget(c: IrcClient, d: Direct, actorId: Id): string {
  return actorId === c.accountId ? d.peerName : c.nick;
}

export function renderDirectEvent(c: IrcClient, d: Direct, e: RoomEvent, sink: Sink): void {
  const target = directTarget(c, d, e.actorId);
  renderContent(c, e, target, sink);
}

/** The events that look alike in channels and private messages; false for the rest. */
export function renderContent(c: IrcClient, e: RoomEvent, target: string, sink: Sink): boolean {
  switch (e.type) {
    case "message": {
      if (c.isOwnClientId(e.message.clientId)) return true; // echoed (or not) by the command that sent it
      const command = "PRIVMSG";
      for (const l of storedMessageLines(c, e.message, target, command)) sink.add(l);
      return true;
    }
    case "edit": {
      const tags = c.accountTag(e.actorId, e.actor, c.timeTag(e.at));
      if (c.caps.has("message-tags")) {
        tags["+draft/reply"] = e.messageId;
        tags["+reply"] = e.messageId;
      }
      const body = e.body.startsWith(ACTION_PREFIX)
        ? `${EDIT_MARK}* ${e.actor} ${e.body.slice(ACTION_PREFIX.length)}`
        : EDIT_MARK + e.body;
      for (const l of messageLines(c, { command: "PRIVMSG", source: c.mask(e.actor), target, body, tags })) sink.add(l);
      return true;
    }
    case "delete":
      if (c.caps.has("draft/message-redaction")) {
        sink.add({ tags: c.timeTag(e.at), source: c.mask(e.actor), command: "REDACT", params: [target, e.messageId] });
      }
      return true;
    case "react":
      if (c.caps.has("message-tags")) {
        const tags = c.accountTag(e.actorId, e.actor, c.timeTag(e.at));
        tags[e.on ? "+draft/react" : "+draft/unreact"] = e.emoji;
        tags["+draft/reply"] = e.messageId;
        tags["+reply"] = e.messageId;
        sink.add({ tags, source: c.mask(e.actor), command: "TAGMSG", params: [target] });
      }
      return true;
    default:
      return false;
  }
}

export function renderChannelEvent(c: IrcClient, ch: Channel, e: RoomEvent, sink: Sink): void {
  const target = `#${ch.name}`;
  if (renderContent(c, e, target, sink)) return;
  if (e.type === "topic") {
    ch.topic = e.topic;
    sink.add({ tags: c.timeTag(e.at), source: c.mask(e.actor), command: "TOPIC", params: [target, c.topicText(e.topic)] });
    return;
  }
  if (e.type === "settings") {
    if (ch.kind === e.kind) return;
    ch.kind = e.kind;
    // A private room is invite-only and secret: +i and +s go together.
    sink.add({
      tags: c.timeTag(e.at),
      source: c.mask(e.actor),
      command: "MODE",
      params: [target, e.kind === "private" ? "+is" : "-is"],
    });
    return;
  }
  if (e.type !== "member") return;
  const me = e.accountId === c.accountId;
  // What the member was just before this event, in the gateway's list (rooms.ts). A change the
  // JOIN burst's NAMES already showed is not shown again, but for this account's own departure.
  const departure = e.change === "leave" || e.change === "kick" || e.change === "ban";
  const shown = e.seq <= ch.shownSeq && !(me && departure);
  const member = c.gw.rooms.get(ch.id)?.before(e);
  const actor = c.mask(e.actor);
  const tags = () => c.timeTag(e.at);
  switch (e.change) {
    case "join": {
      if (member || shown) return;
      if (c.gw.isGuest(e.accountId) === undefined) void c.gw.resolveGuests([{ accountId: e.accountId, name: e.name }]);
      sink.add(c.joinLine(e.accountId, e.name, target, e.at));
      const away = c.awayMessage(e.accountId);
      if (away !== null && c.caps.has("away-notify")) {
        sink.add({ tags: tags(), source: c.mask(e.name), command: "AWAY", params: [away] });
      }
      return;
    }
    case "leave":
      if ((!member && !me) || shown) return;
      sink.add({ tags: tags(), source: c.mask(e.name), command: "PART", params: [target] });
      break;
    case "kick":
      if ((!member && !me) || shown) return;
      sink.add({ tags: tags(), source: actor, command: "KICK", params: [target, e.name, e.reason ?? `Kicked by ${e.actor}`] });
      break;
    case "ban":
      sink.add({ tags: tags(), source: actor, command: "MODE", params: [target, "+b", banMask(e.name)] });
      if ((member || me) && !shown) {
        sink.add({ tags: tags(), source: actor, command: "KICK", params: [target, e.name, e.reason ?? `Banned by ${e.actor}`] });
      }
      break;
    case "unban":
      sink.add({ tags: tags(), source: actor, command: "MODE", params: [target, "-b", banMask(e.name)] });
      return;
    case "mute":
    case "unmute": {
      const muted = e.change === "mute";
      if ((member && member.muted === muted) || shown) return;
      sink.add({ tags: tags(), source: actor, command: "MODE", params: [target, muted ? "+q" : "-q", banMask(e.name)] });
      return;
    }
    case "role": {
      const isOp = (e.role ?? "member") !== "member";
      const wasOp = member ? member.role !== "member" : false;
      if (wasOp === isOp || shown) return;
      sink.add({ tags: tags(), source: actor, command: "MODE", params: [target, isOp ? "+o" : "-o", e.name] });
      return;
    }
    case "invite":
      // The inviter has its RPL_INVITING; the invitee its INVITE (from the "invited" ephemeral).
      if (!me && e.actorId !== c.accountId && c.caps.has("invite-notify")) {
        sink.add({ tags: tags(), source: actor, command: "INVITE", params: [e.name, target] });
      }
      return;
  }
  // A departure: this account left the channel.
  if (me) c.removeChannel(ch);
}

/**
 * An account came online or went offline: AWAY to a client with away-notify that shares a channel
 * with it, MONONLINE or MONOFFLINE to one that monitors its name. `name` is the name it has here.
 */
export function renderPresence(c: IrcClient, accountId: Id, name: string, online: boolean): void {
  if (c.connection === null || accountId === c.accountId) return;
  if (c.caps.has("away-notify") && c.sharedChannels(accountId).length > 0) {
    const away = online ? c.gw.awayOf(accountId) : "Offline";
    c.direct.add({ tags: {}, source: c.mask(name), command: "AWAY", params: away === null ? [] : [away] });
  }
  if (c.monitor?.has(nameKey(name))) {
    c.direct.add(online ? c.numeric(N.RPL_MONONLINE, c.mask(name)) : c.numeric(N.RPL_MONOFFLINE, name));
  }
}

/** How Parley's per-account bans and mutes look as IRC masks. */
export function banMask(name: string): string {
  return `${name}!*@*`;
}

export function renderEphemeral(c: IrcClient, e: Ephemeral): void {
  switch (e.type) {
    case "typing": {
      if (!c.caps.has("message-tags")) return;
      const ch = c.channels.get(e.roomId);
      const d = c.directs.get(e.roomId);
      const target = ch && ch.held === null ? `#${ch.name}` : d && d.held === null ? c.nick : null;
      if (target === null) return;
      c.direct.add({
        tags: { "+typing": e.typing ? "active" : "done" },
        source: c.mask(e.name),
        command: "TAGMSG",
        params: [target],
      });
      return;
    }
    case "presence":
      return; // IRC connections do not watch presence: the gateway does, once (renderPresence)
    case "invited":
      c.direct.add({ tags: {}, source: c.mask(e.by), command: "INVITE", params: [c.nick, `#${e.room}`] });
      return;
    case "joined":
      return; // handled by the client (it starts showing the room)
    case "read":
      return; // handled by the client: a MARKREAD push to clients with draft/read-marker
    case "revoked":
      // IRC connections log in with a password, never a session token; but one told to go goes.
      c.quit("Session revoked");
      return;
  }
}
