// The application shell: login or chat, global shortcuts, dialogs, title and notifications.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { logout } from "./api.ts";
import { ChatClient, type Incoming } from "./client.ts";
import { CreateRoom, Directory, Invite, Switcher, Topic } from "./components/dialogs.tsx";
import { Icon } from "./components/icon.tsx";
import { Login } from "./components/login.tsx";
import { Members } from "./components/members.tsx";
import { RoomView } from "./components/room-view.tsx";
import { Settings } from "./components/settings.tsx";
import { type DialogName, Sidebar } from "./components/sidebar.tsx";
import { type Lang, translator } from "./i18n.ts";
import {
  applyLang,
  applyTheme,
  errorText,
  initialLang,
  initialTheme,
  type Prefs,
  PrefsContext,
  type Theme,
  usePrefs,
} from "./prefs.ts";
import { displayName } from "./rooms.ts";
import { load, type Session, save } from "./storage.ts";

type Open = DialogName | "invite" | "topic" | null;

export function App() {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const [theme, setThemeState] = useState<Theme>(initialTheme);
  const prefs = useMemo<Prefs>(
    () => ({
      lang,
      t: translator(lang),
      theme,
      setLang: (l) => {
        applyLang(l);
        setLangState(l);
      },
      setTheme: (th) => {
        applyTheme(th);
        setThemeState(th);
      },
    }),
    [lang, theme],
  );
  useEffect(() => {
    applyLang(lang);
    applyTheme(theme);
  }, []);

  const [session, setSession] = useState<Session | null>(() => load<Session | null>("parley.session", null));
  const [notice, setNotice] = useState<string | null>(null);
  const start = (s: Session | null, why: string | null = null) => {
    save("parley.session", s ?? undefined);
    setNotice(why);
    setSession(s);
  };
  return (
    <PrefsContext.Provider value={prefs}>
      {session ? (
        <Chat key={JSON.stringify(session)} session={session} onEnd={start} />
      ) : (
        <Login onSession={(s) => start(s)} notice={notice} />
      )}
    </PrefsContext.Provider>
  );
}

function Chat({ session, onEnd }: { session: Session; onEnd: (s: null, why?: string | null) => void }) {
  const { t } = usePrefs();
  const client = useMemo(() => new ChatClient(session), [session]);
  const [, rerender] = useState(0);
  const [open, setOpen] = useState<Open>(null);
  const [navOpen, setNavOpen] = useState(false);
  const [membersOpen, setMembersOpen] = useState(() => matchMedia("(min-width: 1100px)").matches);
  const [announce, setAnnounce] = useState("");

  useEffect(() => {
    const off = client.subscribe(() => rerender((v) => v + 1));
    const onVisible = () => client.changed();
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      off();
      document.removeEventListener("visibilitychange", onVisible);
      client.close();
    };
  }, [client]);

  useEffect(() => {
    client.onIncoming = (i: Incoming) => {
      if (i.room.id === client.activeId)
        setAnnounce(t("announce", { name: i.message.author, text: i.message.body.slice(0, 300) }));
      notify(i);
    };
  }, [client, t]);

  const notify = (i: Incoming) => {
    if (!i.mentionsMe || document.visibilityState === "visible") return;
    if (typeof Notification === "undefined" || Notification.permission !== "granted") return;
    const title =
      i.room.membership.room.kind === "direct"
        ? t("notify.direct", { name: i.message.author })
        : t("notify.mention", { name: i.message.author, room: displayName(i.room) });
    const n = new Notification(title, { body: i.message.body.slice(0, 200), tag: i.room.id });
    n.onclick = () => {
      window.focus();
      client.open(i.room.id);
      n.close();
    };
  };

  if (client.refused) {
    const why = errorText(t, { code: client.refused.code, message: client.refused.message });
    queueMicrotask(() => onEnd(null, why));
  }

  const unread = client.totalUnread();
  useEffect(() => {
    document.title = unread > 0 ? `(${unread >= 1000 ? "1000+" : unread}) Parley` : "Parley";
  }, [unread]);

  // Global shortcuts: Ctrl/Cmd+K quick switcher, Alt+Up/Down previous/next room. The handler
  // reads the open dialog through a ref: effects run after paint, so a handler re-registered per
  // dialog change could still see a dialog that is already closed on screen and drop a key.
  const openRef = useRef<Open>(open);
  openRef.current = open;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "k") {
        e.preventDefault();
        setOpen("switcher");
      } else if (e.altKey && (e.key === "ArrowUp" || e.key === "ArrowDown") && !openRef.current) {
        e.preventDefault();
        const rooms = client.sortedRooms();
        const i = rooms.findIndex((r) => r.id === client.activeId);
        const next = rooms[(i + (e.key === "ArrowUp" ? -1 : 1) + rooms.length) % rooms.length];
        if (next) client.open(next.id);
      }
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, [client]);

  const room = client.active;
  const close = () => setOpen(null);
  return (
    <div class={`app${navOpen ? " nav-open" : ""}${membersOpen && room ? " members-open" : ""}`}>
      <a class="skip" href="#composer">
        {t("skip")}
      </a>
      <Sidebar
        client={client}
        onDialog={setOpen}
        onPick={() => setNavOpen(false)}
        onLogout={() => {
          if ("token" in session) void logout(session.token);
          onEnd(null);
        }}
      />
      {navOpen && <div class="scrim" aria-hidden="true" onClick={() => setNavOpen(false)} />}
      {room ? (
        <RoomView
          client={client}
          room={room}
          membersOpen={membersOpen}
          navOpen={navOpen}
          onToggleMembers={() => setMembersOpen((v) => !v)}
          onToggleNav={() => setNavOpen((v) => !v)}
          onDialog={setOpen}
        />
      ) : (
        <main class="room empty">
          <header class="room-header">
            <button type="button" class="icon nav-toggle" aria-label={t("menu.open")} onClick={() => setNavOpen(true)}>
              <Icon name="menu" />
            </button>
          </header>
          <p class="muted center">{t("empty.noRoom")}</p>
        </main>
      )}
      {membersOpen && room && <Members client={client} room={room} />}
      <div class="sr-only" aria-live="polite">
        {announce}
      </div>
      <div id="alerts" class="toast" role="alert" />
      {open === "create" && <CreateRoom client={client} onClose={close} />}
      {open === "directory" && <Directory client={client} onClose={close} />}
      {open === "settings" && <Settings onClose={close} />}
      {open === "switcher" && <Switcher client={client} onClose={close} />}
      {open === "invite" && room && <Invite client={client} roomId={room.id} onClose={close} />}
      {open === "topic" && room && <Topic client={client} roomId={room.id} onClose={close} />}
    </div>
  );
}
