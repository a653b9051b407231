// One message of the log: author and time at the head of a group, the quoted parent of a reply,
// the body (or a deletion marker), reactions, and the actions available to me.

import type { ChatClient } from "../client.ts";
import type { OutboxEntry } from "../outbox.ts";
import { errorText, usePrefs } from "../prefs.ts";
import type { RoomState } from "../rooms.ts";
import type { Message } from "../wire.ts";
import { RichText } from "./rich-text.tsx";

export type Compose = { mode: "reply" | "edit"; message: Message } | null;

const timeFormats = new Map<string, Intl.DateTimeFormat>();
export function formatTime(lang: string, ms: number, full = false): string {
  const key = `${lang}|${full}`;
  let f = timeFormats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(lang, full ? { dateStyle: "full", timeStyle: "short" } : { hour: "numeric", minute: "2-digit" });
    timeFormats.set(key, f);
  }
  return f.format(ms);
}

function Body({ m, me }: { m: Pick<Message, "body" | "author">; me: string }) {
  if (m.body.startsWith("/me ")) {
    return (
      <span class="action">
        * {m.author} <RichText body={m.body.slice(4)} me={me} />
      </span>
    );
  }
  return <RichText body={m.body} me={me} />;
}

export function MessageRow(props: {
  client: ChatClient;
  room: RoomState;
  m: Message;
  head: boolean;
  onCompose: (c: Compose) => void;
}) {
  const { client, room, m, head } = props;
  const { t, lang } = usePrefs();
  const me = client.me;
  const mine = m.authorId === me.id;
  const moderator = room.membership.role !== "member" || client.account?.admin === true;
  const parent = m.replyTo ? room.byId.get(m.replyTo) : undefined;
  const fail = (err: unknown) => alertError(errorText(t, err));
  const mentioned =
    !mine &&
    !m.deleted &&
    room.membership.room.kind !== "direct" &&
    new RegExp(`@${escapeRe(me.name)}(?![\\p{L}\\p{N}_-])`, "iu").test(m.body);
  return (
    <article
      class={`msg${head ? " head" : ""}${mentioned ? " mentioned" : ""}`}
      data-key={m.id}
      data-seq={m.seq}
      aria-label={`${m.author} ${formatTime(lang, m.createdAt)}`}
    >
      {head && (
        <span class={`msg-avatar c${hue(m.author)}`} aria-hidden="true">
          {m.author.slice(0, 1).toUpperCase()}
        </span>
      )}
      {head ? (
        <div class="meta">
          <span class="author">{m.author}</span>
          <time dateTime={new Date(m.createdAt).toISOString()} title={formatTime(lang, m.createdAt, true)}>
            {formatTime(lang, m.createdAt)}
          </time>
        </div>
      ) : (
        <time class="gutter-time" dateTime={new Date(m.createdAt).toISOString()} title={formatTime(lang, m.createdAt, true)}>
          {formatTime(lang, m.createdAt)}
        </time>
      )}
      {m.replyTo && (
        <blockquote class="quote">
          {parent ? (
            <>
              <strong>{parent.author}</strong> {parent.deleted ? t("log.deleted") : excerpt(parent.body)}
            </>
          ) : (
            t("log.unknownParent")
          )}
        </blockquote>
      )}
      <div class="body">
        {m.deleted ? <em class="muted">{t("log.deleted")}</em> : <Body m={m} me={me.name} />}
        {m.editedAt !== null && !m.deleted && <span class="edited muted"> {t("log.edited")}</span>}
      </div>
      {Object.keys(m.reactions).length > 0 && (
        <div class="reactions">
          {Object.entries(m.reactions).map(([emoji, names]) => (
            <button
              key={emoji}
              type="button"
              class={names.includes(me.name) ? "reaction own" : "reaction"}
              title={names.join(", ")}
              aria-pressed={names.includes(me.name)}
              onClick={() => client.react(m.id, emoji).catch(fail)}
            >
              {emoji} {names.length}
            </button>
          ))}
        </div>
      )}
      {!m.deleted && (
        <div class="actions" role="toolbar" aria-label={t("log.actions")}>
          <button type="button" onClick={() => props.onCompose({ mode: "reply", message: m })}>
            {t("log.reply")}
          </button>
          <button type="button" aria-label={t("log.react", { emoji: "👍" })} onClick={() => client.react(m.id, "👍").catch(fail)}>
            👍
          </button>
          {mine && (
            <button type="button" onClick={() => props.onCompose({ mode: "edit", message: m })}>
              {t("log.edit")}
            </button>
          )}
          {(mine || moderator) && (
            <button type="button" onClick={() => client.remove(m.id).catch(fail)}>
              {t("log.delete")}
            </button>
          )}
        </div>
      )}
    </article>
  );
}

export function PendingRow({ client, e }: { client: ChatClient; e: OutboxEntry }) {
  const { t } = usePrefs();
  return (
    <article class={`msg head pending${e.error ? " failed" : ""}`} data-client-id={e.clientId}>
      <div class="meta">
        <span class="author">{client.me.name}</span>
        <span class="muted small">
          {e.error ? t("log.failed", { error: errorText(t, { code: e.error }) }) : t("log.pending")}
        </span>
        {e.error && (
          <button type="button" class="link" onClick={() => client.discard(e.clientId)}>
            {t("log.discard")}
          </button>
        )}
      </div>
      <div class="body">
        <Body m={{ body: e.body, author: client.me.name }} me={client.me.name} />
      </div>
    </article>
  );
}

/** One of eight avatar colours, fixed per name. */
export function hue(name: string): number {
  let h = 0;
  for (const ch of name.toLowerCase()) h = (h * 31 + (ch.codePointAt(0) ?? 0)) >>> 0;
  return h % 8;
}

function excerpt(body: string): string {
  const line = body.replace(/\s+/g, " ").trim();
  return line.length > 140 ? `${line.slice(0, 140)}…` : line;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Errors of message actions are rare (rights changed meanwhile); they go to the live region. */
function alertError(text: string): void {
  const el = document.getElementById("alerts");
  if (el) el.textContent = text;
}
