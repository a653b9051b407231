// The list of rooms and direct conversations, with unread counts and mention badges, the
// connection state, pending invitations and the account menu.

import type { ChatClient } from "../client.ts";
import { usePrefs } from "../prefs.ts";
import { displayName, type RoomState } from "../rooms.ts";
import { ConnectionBadge } from "./connection-badge.tsx";
import { Icon } from "./icon.tsx";

export type DialogName = "create" | "directory" | "settings" | "switcher";

export function Sidebar(props: {
  client: ChatClient;
  onDialog: (d: DialogName) => void;
  onLogout: () => void;
  onPick: () => void;
}) {
  const { client } = props;
  const { t } = usePrefs();
  const rooms = client.sortedRooms();
  const named = rooms.filter((r) => r.membership.room.kind !== "direct");
  const direct = rooms.filter((r) => r.membership.room.kind === "direct");
  const guest = client.account?.guest ?? false;
  const item = (r: RoomState) => {
    const active = r.id === client.activeId;
    const unread = r.membership.unread;
    const label = [
      displayName(r),
      unread > 0 ? t("sidebar.unread", { n: unread >= 1000 ? "1000+" : unread }) : "",
      r.mentions > 0 ? t("sidebar.mentions", { n: r.mentions }) : "",
    ]
      .filter(Boolean)
      .join(", ");
    return (
      <li key={r.id}>
        <button
          type="button"
          class={`room-link${active ? " active" : ""}${unread > 0 ? " unread" : ""}`}
          aria-current={active ? "page" : undefined}
          aria-label={label}
          data-room={displayName(r)}
          onClick={() => {
            client.open(r.id);
            props.onPick();
          }}
        >
          <span class="sigil" aria-hidden="true">
            {r.membership.room.kind === "direct" ? "@" : r.membership.room.kind === "private" ? "🔒" : "#"}
          </span>
          <span class="room-name">{displayName(r)}</span>
          {r.mentions > 0 ? (
            <span class="badge mention-badge" aria-hidden="true">
              {r.mentions}
            </span>
          ) : unread > 0 ? (
            <span class="badge" aria-hidden="true">
              {unread >= 1000 ? "1000+" : unread}
            </span>
          ) : null}
        </button>
      </li>
    );
  };
  return (
    <nav class="sidebar" aria-label={t("sidebar.nav")}>
      <div class="brand">
        <img src="/favicon.svg" alt="" width={22} height={22} />
        <span>Parley</span>
        <ConnectionBadge client={client} />
      </div>
      {client.invites.map((i) => (
        <div class="invite" key={i.roomId} role="status">
          <span>{t("invited.notice", { by: i.by, room: i.room })}</span>
          <button type="button" onClick={() => void client.join(i.room).catch(() => client.dismissInvite(i.roomId))}>
            {t("invited.join")}
          </button>
          <button type="button" class="icon" aria-label={t("dialog.close")} onClick={() => client.dismissInvite(i.roomId)}>
            <Icon name="close" />
          </button>
        </div>
      ))}
      <div class="room-lists">
        <h2 class="section">{t("sidebar.rooms")}</h2>
        <ul class="rooms">{named.map(item)}</ul>
        <div class="side-actions">
          {!guest && (
            <button type="button" onClick={() => props.onDialog("create")}>
              + {t("sidebar.create")}
            </button>
          )}
          <button type="button" onClick={() => props.onDialog("directory")}>
            {t("sidebar.browse")}
          </button>
        </div>
        {direct.length > 0 && (
          <>
            <h2 class="section">{t("sidebar.direct")}</h2>
            <ul class="rooms">{direct.map(item)}</ul>
          </>
        )}
      </div>
      <div class="me">
        <span class="avatar" aria-hidden="true">
          {(client.account?.name ?? "?").slice(0, 1).toUpperCase()}
        </span>
        <span class="me-name">
          {client.account?.name}
          {client.account?.admin && <span class="tag">{t("account.admin")}</span>}
          {client.account?.guest && <span class="tag">{t("account.guest")}</span>}
        </span>
        <button
          type="button"
          class="icon"
          aria-label={t("account.settings")}
          title={t("account.settings")}
          onClick={() => props.onDialog("settings")}
        >
          <Icon name="settings" />
        </button>
        <button type="button" class="icon" aria-label={t("account.logout")} title={t("account.logout")} onClick={props.onLogout}>
          <Icon name="logout" />
        </button>
      </div>
    </nav>
  );
}
