// Messages: PRIVMSG and NOTICE (to channels and nicks; nicks are direct conversations), TAGMSG
// (typing, reactions), BATCH (draft/multiline), REDACT (draft/message-redaction).
//
// Parley has one kind of message: a NOTICE is stored as a message too. It is echoed as NOTICE to
// the connection that sent it, and reaches everyone else as PRIVMSG. Per the IRC rules, a NOTICE
// that fails is never answered with an error.

import { toChatError } from "../../../core/errors.ts";
import type { Id } from "../../../core/types.ts";
import type { IrcClient } from "../client.ts";
import { ACTION_PREFIX, messageLines, messageTags } from "../events.ts";
import * as N from "../numerics.ts";
import { chatErrorReply, FailReply, NumericReply } from "../replies.ts";
import type { Sink } from "../response.ts";
import type { CommandTable } from "./types.ts";

const MAX_TARGETS = 4;
const CTCP = "\x01";

export const messages: CommandTable = {
  PRIVMSG: {
    minParams: 0,
    needsRegistration: true,
    run: ({ client, msg, rb }) => privmsg(client, "PRIVMSG", msg.params, msg.tags, rb),
  },
  NOTICE: {
    minParams: 0,
    needsRegistration: true,
    run: ({ client, msg, rb }) => privmsg(client, "NOTICE", msg.params, msg.tags, rb),
  },

  TAGMSG: {
    minParams: 1,
    needsRegistration: true,
    async run({ client: c, msg, rb }) {
      const target = msg.params[0]!;
      const tags = msg.tags;
      try {
        // Typing or reacting does not start a conversation with a nick; without one it goes nowhere.
        if (!c.isChannelName(target) && !c.directByPeer(target)) return;
        const roomId = await c.roomFor(target, false);
        const typing = tags["+typing"];
        if (typing !== undefined && Object.hasOwn(tags, "+typing")) {
          await c.conn().typing(roomId, typing === "active");
          if (c.caps.has("echo-message")) {
            rb.add({ tags: { "+typing": typing }, source: c.source, command: "TAGMSG", params: [target] });
          }
        }
        const reply = replyTag(tags);
        for (const [key, on] of [
          ["+draft/react", true],
          ["+draft/unreact", false],
        ] as const) {
          if (!Object.hasOwn(tags, key)) continue;
          if (!reply) throw new FailReply("TAGMSG", "INVALID_PARAMS", [target], `${key} needs +draft/reply with the message id`);
          await react(c, roomId, reply, tags[key]!, on);
        }
      } catch (err) {
        if (err instanceof FailReply || err instanceof NumericReply) throw err;
        throw chatErrorReply("TAGMSG", err, target);
      }
    },
  },

  BATCH: {
    minParams: 1,
    needsRegistration: true,
    async run({ client: c, msg, rb }) {
      const ref = msg.params[0]!;
      if (ref.startsWith("+")) {
        const type = msg.params[1] ?? "";
        if (type !== "draft/multiline" || !c.caps.has("draft/multiline")) {
          throw new FailReply("BATCH", "UNKNOWN_TYPE", [type], "Only draft/multiline batches can be sent");
        }
        const target = msg.params[2];
        if (!target) throw new NumericReply(N.ERR_NEEDMOREPARAMS, ["BATCH", "Not enough parameters"]);
        rb.relabel(null); // answered when the batch closes
        c.openInbound(ref.slice(1), {
          command: "",
          target,
          tags: msg.tags,
          label: c.caps.has("labeled-response") && Object.hasOwn(msg.tags, "label") ? msg.tags.label! : null,
        });
        return;
      }
      if (!ref.startsWith("-")) throw new FailReply("BATCH", "INVALID_REFTAG", [ref], "A batch reference starts with + or -");
      const b = c.closeInbound(ref.slice(1));
      if (!b) throw new FailReply("BATCH", "INVALID_REFTAG", [ref.slice(1)], "No such open batch");
      if (b.failed) return;
      if (b.lines === 0 || b.text.trim() === "") {
        throw new FailReply("BATCH", "MULTILINE_INVALID", [], "A multiline batch needs at least one non-blank line");
      }
      // The reply answers the batch: it carries the label sent with BATCH +.
      rb.relabel(b.label);
      await privmsg(c, b.command === "NOTICE" ? "NOTICE" : "PRIVMSG", [b.target, b.text], b.tags, rb);
    },
  },

  REDACT: {
    minParams: 2,
    needsRegistration: true,
    async run({ client: c, msg }) {
      const [target, msgid] = msg.params as [string, string];
      let roomId: Id;
      try {
        roomId = await c.roomFor(target, false);
      } catch {
        throw new FailReply("REDACT", "INVALID_TARGET", [target], "You cannot delete messages there");
      }
      try {
        const m = await c.conn().message(msgid);
        if (m.roomId !== roomId || m.deleted)
          throw new FailReply("REDACT", "UNKNOWN_MSGID", [target, msgid], "No such message there");
        await c.conn().remove(msgid);
      } catch (err) {
        if (err instanceof FailReply) throw err;
        const e = toChatError(err);
        if (e.code === "FORBIDDEN")
          throw new FailReply("REDACT", "REDACT_FORBIDDEN", [target, msgid], "You cannot delete that message");
        if (e.code === "NO_SUCH_MESSAGE")
          throw new FailReply("REDACT", "UNKNOWN_MSGID", [target, msgid], "No such message there");
        throw chatErrorReply("REDACT", err, target);
      }
    },
  },
};

/** The message a reply or reaction refers to: +reply, or the draft name still widely sent. */
function replyTag(tags: Record<string, string>): string | null {
  for (const key of ["+reply", "+draft/reply"]) if (Object.hasOwn(tags, key) && tags[key]) return tags[key]!;
  return null;
}

/** Parley toggles reactions; IRC says which way. The toggle is sent only when it moves the right way. */
async function react(c: IrcClient, roomId: Id, messageId: Id, emoji: string, on: boolean): Promise<void> {
  const m = await c.conn().message(messageId);
  if (m.roomId !== roomId) throw new FailReply("TAGMSG", "UNKNOWN_MSGID", [messageId], "No such message there");
  const has = (m.reactions[emoji] ?? []).some((n) => n.toLowerCase() === c.nick.toLowerCase());
  if (has !== on) await c.conn().react(messageId, emoji);
}

async function privmsg(
  c: IrcClient,
  command: "PRIVMSG" | "NOTICE",
  params: string[],
  tags: Record<string, string>,
  rb: Sink,
): Promise<void> {
  const notice = command === "NOTICE";
  const targets = (params[0] ?? "").split(",").filter((t) => t !== "");
  if (targets.length === 0) {
    if (!notice) throw new NumericReply(N.ERR_NORECIPIENT, [`No recipient given (${command})`]);
    return;
  }
  const raw = params[1] ?? "";
  if (raw === "") {
    if (!notice) throw new NumericReply(N.ERR_NOTEXTTOSEND, ["No text to send"]);
    return;
  }
  let body = raw;
  if (raw.startsWith(CTCP)) {
    // Only ACTION means something to Parley ("/me …"); other CTCP requests go nowhere.
    const inner = raw.slice(1, raw.endsWith(CTCP) && raw.length > 1 ? -1 : undefined);
    const space = inner.indexOf(" ");
    const verb = space === -1 ? inner : inner.slice(0, space);
    if (verb.toUpperCase() !== "ACTION") return;
    body = ACTION_PREFIX + (space === -1 ? "" : inner.slice(space + 1));
  }
  if (body.trim() === "") {
    if (!notice) throw new NumericReply(N.ERR_NOTEXTTOSEND, ["No text to send"]);
    return;
  }
  const replyTo = replyTag(tags);
  for (const target of targets.slice(0, MAX_TARGETS)) {
    try {
      const roomId = await c.roomFor(target);
      const { message, duplicate } = await c.conn().send(roomId, body, c.nextClientId(notice), replyTo);
      if (!duplicate) c.gw.metrics.messageSent("irc");
      if (c.caps.has("echo-message")) {
        const t = messageTags(c, message);
        for (const [k, v] of Object.entries(tags)) if (k.startsWith("+") && !Object.hasOwn(t, k)) t[k] = v;
        const lines = messageLines(c, { command, source: c.source, target, body: message.body, tags: t });
        for (const l of lines) rb.add(l);
      }
    } catch (err) {
      if (notice) continue;
      const reply = err instanceof NumericReply || err instanceof FailReply ? err : chatErrorReply(command, err, target);
      c.replyError(rb, command, reply, target);
      if (toChatError(err).fatal) throw err;
    }
  }
}
