// The member list of the active room, with presence and a button to start a direct conversation.

import { useState } from "preact/hooks";
import type { ChatClient } from "../client.ts";
import { errorText, usePrefs } from "../prefs.ts";
import type { RoomState } from "../rooms.ts";
import { Icon } from "./icon.tsx";

export function Members({ client, room }: { client: ChatClient; room: RoomState }) {
  const { t } = usePrefs();
  const [error, setError] = useState<string | null>(null);
  const members = [...client.members(room)].sort((a, b) => Number(b.online) - Number(a.online) || a.name.localeCompare(b.name));
  const canDirect = !client.account?.guest;
  return (
    <aside class="members" aria-labelledby="members-title">
      <h2 id="members-title" class="section">
        {t("members.title")} <span class="muted">{members.length}</span>
      </h2>
      {error && (
        <p class="error small" role="alert">
          {error}
        </p>
      )}
      <ul>
        {members.map((m) => (
          <li key={m.accountId} class={m.online ? "online" : "offline"}>
            <span class="presence" role="img" aria-label={m.online ? t("members.online") : t("members.offline")} />
            <span class="member-name">{m.name}</span>
            {m.role !== "member" && <span class="tag">{t(m.role === "owner" ? "role.owner" : "role.moderator")}</span>}
            {canDirect && m.accountId !== client.me.id && (
              <button
                type="button"
                class="icon small"
                aria-label={t("members.message", { name: m.name })}
                title={t("members.message", { name: m.name })}
                onClick={() => {
                  setError(null);
                  client.direct(m.name).catch((err) => setError(errorText(t, err)));
                }}
              >
                <Icon name="mail" />
              </button>
            )}
          </li>
        ))}
      </ul>
    </aside>
  );
}
