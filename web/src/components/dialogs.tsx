// The small dialogs: create a room, the room directory, invite, set the topic, quick switcher.

import { useEffect, useMemo, useState } from "preact/hooks";
import type { ChatClient } from "../client.ts";
import { errorText, usePrefs } from "../prefs.ts";
import { displayName } from "../rooms.ts";
import type { Room } from "../wire.ts";
import { Dialog } from "./dialog.tsx";

/** Runs a request for a form: tracks busy state and the translated error. */
function useAction() {
  const { t } = usePrefs();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (fn: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      await fn();
      return true;
    } catch (err) {
      setError(errorText(t, err));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, run };
}

function ErrorLine({ error }: { error: string | null }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

export function CreateRoom({ client, onClose }: { client: ChatClient; onClose: () => void }) {
  const { t } = usePrefs();
  const [name, setName] = useState("");
  const [topic, setTopic] = useState("");
  const [priv, setPriv] = useState(false);
  const { error, busy, run } = useAction();
  return (
    <Dialog title={t("create.title")} onClose={onClose}>
      <form
        class="form"
        onSubmit={async (e) => {
          e.preventDefault();
          if (await run(() => client.create(name.trim(), topic.trim(), priv))) onClose();
        }}
      >
        <label>
          {t("create.name")}
          <input required maxLength={33} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          {t("create.topic")}
          <input maxLength={300} value={topic} onInput={(e) => setTopic(e.currentTarget.value)} />
        </label>
        <label class="check">
          <input type="checkbox" checked={priv} onChange={(e) => setPriv(e.currentTarget.checked)} />
          {t("create.private")}
        </label>
        <ErrorLine error={error} />
        <button class="primary" type="submit" disabled={busy}>
          {t("create.submit")}
        </button>
      </form>
    </Dialog>
  );
}

export function Directory({ client, onClose }: { client: ChatClient; onClose: () => void }) {
  const { t } = usePrefs();
  const [rooms, setRooms] = useState<(Room & { members: number })[] | null>(null);
  const [filter, setFilter] = useState("");
  const { error, busy, run } = useAction();
  useEffect(() => {
    void run(async () => setRooms((await client.listRooms()).rooms));
  }, []);
  const shown = (rooms ?? []).filter((r) => `${r.name} ${r.topic}`.toLowerCase().includes(filter.toLowerCase()));
  return (
    <Dialog title={t("dir.title")} onClose={onClose} class="wide">
      <div class="form">
        <input
          type="search"
          aria-label={t("dir.filter")}
          placeholder={t("dir.filter")}
          value={filter}
          onInput={(e) => setFilter(e.currentTarget.value)}
        />
        <ErrorLine error={error} />
        {rooms === null ? (
          <p class="muted">{t("log.loading")}</p>
        ) : shown.length === 0 ? (
          <p class="muted">{t("dir.empty")}</p>
        ) : (
          <ul class="directory">
            {shown.map((r) => {
              const mine = client.rooms.has(r.id);
              return (
                <li key={r.id}>
                  <div>
                    <strong>#{r.name}</strong> <span class="muted small">{t("header.members", { n: r.members })}</span>
                    {r.topic && <div class="muted small">{r.topic}</div>}
                  </div>
                  <button
                    type="button"
                    disabled={busy}
                    aria-label={`${mine ? t("dir.open") : t("dir.join")} #${r.name}`}
                    onClick={async () => {
                      if (mine) client.open(r.id);
                      else if (!(await run(() => client.join(r.name)))) return;
                      onClose();
                    }}
                  >
                    {mine ? t("dir.open") : t("dir.join")}
                  </button>
                </li>
              );
            })}
          </ul>
        )}
      </div>
    </Dialog>
  );
}

export function Invite({ client, roomId, onClose }: { client: ChatClient; roomId: string; onClose: () => void }) {
  const { t } = usePrefs();
  const room = client.rooms.get(roomId);
  const [name, setName] = useState("");
  const [done, setDone] = useState<string | null>(null);
  const { error, busy, run } = useAction();
  return (
    <Dialog title={t("invite.title", { room: `#${room ? displayName(room) : ""}` })} onClose={onClose}>
      <form
        class="form"
        onSubmit={async (e) => {
          e.preventDefault();
          const who = name.trim();
          if (await run(() => client.invite(roomId, who))) {
            setDone(t("invite.done", { name: who }));
            setName("");
          }
        }}
      >
        <label>
          {t("invite.name")}
          <input required maxLength={32} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <ErrorLine error={error} />
        {done && <p role="status">{done}</p>}
        <button class="primary" type="submit" disabled={busy}>
          {t("invite.submit")}
        </button>
      </form>
    </Dialog>
  );
}

export function Topic({ client, roomId, onClose }: { client: ChatClient; roomId: string; onClose: () => void }) {
  const { t } = usePrefs();
  const room = client.rooms.get(roomId);
  const [topic, setTopic] = useState(room?.membership.room.topic ?? "");
  const { error, busy, run } = useAction();
  return (
    <Dialog title={t("topic.title", { room: `#${room ? displayName(room) : ""}` })} onClose={onClose}>
      <form
        class="form"
        onSubmit={async (e) => {
          e.preventDefault();
          if (await run(() => client.setTopic(roomId, topic.trim()))) onClose();
        }}
      >
        <label>
          {t("topic.label")}
          <input maxLength={300} value={topic} onInput={(e) => setTopic(e.currentTarget.value)} />
        </label>
        <ErrorLine error={error} />
        <button class="primary" type="submit" disabled={busy}>
          {t("topic.submit")}
        </button>
      </form>
    </Dialog>
  );
}

/** Ctrl/Cmd+K: type to filter the rooms, arrows to choose, Enter to go. */
export function Switcher({ client, onClose }: { client: ChatClient; onClose: () => void }) {
  const { t } = usePrefs();
  const [q, setQ] = useState("");
  const [sel, setSel] = useState(0);
  const matches = useMemo(() => {
    const needle = q.trim().replace(/^#/, "").toLowerCase();
    const all = client.sortedRooms();
    const hits = all.filter((r) => displayName(r).toLowerCase().includes(needle));
    // Prefix matches first, then rooms with unread messages.
    return hits.sort(
      (a, b) =>
        Number(!displayName(a).toLowerCase().startsWith(needle)) - Number(!displayName(b).toLowerCase().startsWith(needle)) ||
        Number(b.membership.unread > 0) - Number(a.membership.unread > 0),
    );
  }, [q, client.version]);
  const go = (i: number) => {
    const r = matches[i];
    if (!r) return;
    client.open(r.id);
    onClose();
  };
  return (
    <Dialog title={t("switcher.title")} onClose={onClose} class="switcher">
      <input
        class="switcher-input"
        role="combobox"
        aria-expanded="true"
        aria-controls="switcher-list"
        aria-activedescendant={matches[sel] ? `sw-${matches[sel].id}` : undefined}
        aria-label={t("switcher.placeholder")}
        placeholder={t("switcher.placeholder")}
        value={q}
        onInput={(e) => {
          setQ(e.currentTarget.value);
          setSel(0);
        }}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown") {
            e.preventDefault();
            setSel((s) => Math.min(s + 1, matches.length - 1));
          } else if (e.key === "ArrowUp") {
            e.preventDefault();
            setSel((s) => Math.max(s - 1, 0));
          } else if (e.key === "Enter") {
            e.preventDefault();
            go(sel);
          }
        }}
      />
      <div id="switcher-list" role="listbox" class="switcher-list">
        {matches.map((r, i) => (
          // biome-ignore lint/a11y/useKeyWithClickEvents: options are chosen with the arrow keys and Enter in the input (combobox pattern)
          <div
            key={r.id}
            tabIndex={-1}
            id={`sw-${r.id}`}
            role="option"
            aria-selected={i === sel}
            class={i === sel ? "selected" : ""}
            onClick={() => go(i)}
          >
            <span>{r.membership.room.kind === "direct" ? "@" : "#"}</span>
            {displayName(r)}
            {r.membership.unread > 0 && <span class="badge">{r.membership.unread}</span>}
          </div>
        ))}
      </div>
    </Dialog>
  );
}
