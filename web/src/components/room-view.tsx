// The active room: header (name, topic, member count, actions), log, typing line and composer.

import { useEffect, useState } from "preact/hooks";
import type { ChatClient } from "../client.ts";
import { errorText, usePrefs } from "../prefs.ts";
import { displayName, type RoomState, typingNames } from "../rooms.ts";
import { Composer } from "./composer.tsx";
import { ConnectionBadge } from "./connection-badge.tsx";
import { Icon } from "./icon.tsx";
import { MessageLog } from "./log.tsx";
import type { Compose } from "./message.tsx";

export function RoomView(props: {
  client: ChatClient;
  room: RoomState;
  membersOpen: boolean;
  navOpen: boolean;
  onToggleMembers: () => void;
  onToggleNav: () => void;
  onDialog: (d: "invite" | "topic") => void;
}) {
  const { client, room } = props;
  const { t } = usePrefs();
  const [compose, setCompose] = useState<Compose>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setCompose(null);
    setError(null);
  }, [room.id]);
  const r = room.membership.room;
  const canTopic = r.kind !== "direct" && (room.membership.role !== "member" || client.account?.admin === true);
  const typing = typingNames(room, Date.now());
  const members = room.members?.length;
  return (
    <main class="room" aria-labelledby="room-title">
      <header class="room-header">
        <button
          type="button"
          class="icon nav-toggle"
          aria-expanded={props.navOpen}
          aria-label={props.navOpen ? t("menu.close") : t("menu.open")}
          onClick={props.onToggleNav}
        >
          <Icon name="menu" />
        </button>
        <div class="room-title">
          <h1 id="room-title">
            <span class="sigil" aria-hidden="true">
              {r.kind === "direct" ? "@" : "#"}
            </span>
            {displayName(room)}
          </h1>
          {canTopic ? (
            <button type="button" class="topic link" title={t("header.setTopic")} onClick={() => props.onDialog("topic")}>
              {r.topic || t("header.noTopic")}
            </button>
          ) : (
            r.topic && <span class="topic">{r.topic}</span>
          )}
        </div>
        <div class="header-conn">
          <ConnectionBadge client={client} live={false} />
        </div>
        <div class="room-actions">
          {r.kind === "private" && !client.account?.guest && (
            <button type="button" onClick={() => props.onDialog("invite")}>
              {t("header.invite")}
            </button>
          )}
          <button
            type="button"
            aria-pressed={props.membersOpen}
            onClick={props.onToggleMembers}
            title={t("header.showMembers")}
            aria-label={members === undefined ? t("header.showMembers") : t("header.members", { n: members })}
          >
            <Icon name="members" />
            <span class="count" aria-hidden="true">
              {members ?? ""}
            </span>
            <span class="label" aria-hidden="true">
              {members === undefined ? t("header.showMembers") : t("header.members", { n: members })}
            </span>
          </button>
          <button
            type="button"
            class="icon"
            title={t("header.leave")}
            aria-label={t("header.leave")}
            onClick={() => client.leave(room.id).catch((err) => setError(errorText(t, err)))}
          >
            <Icon name="leave" />
          </button>
        </div>
      </header>
      {error && (
        <p class="error banner" role="alert">
          {error}
        </p>
      )}
      <MessageLog key={room.id} client={client} room={room} onCompose={setCompose} />
      <div class="typing" aria-live="off">
        {typing.length === 1
          ? t("typing.one", { a: typing[0]! })
          : typing.length === 2
            ? t("typing.two", { a: typing[0]!, b: typing[1]! })
            : typing.length > 2
              ? t("typing.many")
              : " "}
      </div>
      <Composer key={room.id} client={client} room={room} compose={compose} onCompose={setCompose} />
    </main>
  );
}
