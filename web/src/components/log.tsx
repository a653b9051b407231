// The message log of the active room. Only a window of rows is in the DOM (at most MAX_ROWS),
// so a room with tens of thousands of loaded messages scrolls as lightly as a short one: the
// window slides as the reader nears either edge, and older pages load on demand at the top.
// When the window changes above the viewport, the first visible row keeps its place on screen.

import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import type { ChatClient } from "../client.ts";
import { buildRows, type Row } from "../grouping.ts";
import { usePrefs } from "../prefs.ts";
import type { RoomState } from "../rooms.ts";
import { Icon } from "./icon.tsx";
import { type Compose, formatTime, MessageRow, PendingRow } from "./message.tsx";

const WINDOW_ROWS = 150;
const STEP_ROWS = 75;
const MAX_ROWS = 300;
const EDGE_PX = 400;
const BOTTOM_PX = 48;

interface Win {
  /** Key of the first row shown; null: WINDOW_ROWS before the end of the window. */
  start: string | null;
  /** Key of the last row shown; null: follow the newest row. */
  end: string | null;
}

export function MessageLog(props: { client: ChatClient; room: RoomState; onCompose: (c: Compose) => void }) {
  const { client, room } = props;
  const { t, lang } = usePrefs();
  const first = room.messages[0]?.id;
  const last = room.messages[room.messages.length - 1]?.id;
  const rows = useMemo(
    () => buildRows(room.messages, client.dividerSeq, client.me.id),
    [room.messages.length, first, last, client.dividerSeq],
  );
  const [win, setWin] = useState<Win>({ start: null, end: null });
  const [atBottom, setAtBottom] = useState(true);
  const scroller = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const anchor = useRef<{ key: string; top: number } | null>(null);
  const positioned = useRef(false);
  const loadingOlder = useRef(false);

  const index = (key: string | null, fallback: number) => {
    if (key === null) return fallback;
    const i = rows.findIndex((r) => r.key === key);
    return i === -1 ? fallback : i;
  };
  const endIdx = win.end === null ? rows.length : index(win.end, rows.length - 1) + 1;
  const startIdx = Math.min(index(win.start, Math.max(0, endIdx - WINDOW_ROWS)), endIdx);
  const shown = rows.slice(startIdx, endIdx);
  const pending = win.end === null ? client.outbox.forRoom(room.id) : [];

  /** The key of the first message row at or after index i: day and divider rows move when pages load. */
  const keyAt = (i: number): string | null => {
    for (let k = i; k < rows.length; k++) if (rows[k]!.kind === "msg") return rows[k]!.key;
    return null;
  };
  /** The window end for index e (exclusive): null when it reaches the newest row. */
  const endKey = (e: number): string | null => {
    if (e >= rows.length) return null;
    for (let k = e - 1; k >= 0; k--) if (rows[k]!.kind === "msg") return rows[k]!.key;
    return null;
  };

  /** Remembers where the first visible row is, so it can be put back after the window moves. */
  const rememberAnchor = () => {
    const el = scroller.current;
    if (!el) return;
    for (const child of el.querySelectorAll<HTMLElement>("[data-key]")) {
      if (child.offsetTop + child.offsetHeight > el.scrollTop) {
        anchor.current = { key: child.dataset.key ?? "", top: child.offsetTop - el.scrollTop };
        return;
      }
    }
  };

  const slide = () => {
    const el = scroller.current;
    if (!el || rows.length === 0) return;
    const fromBottom = el.scrollHeight - el.scrollTop - el.clientHeight;
    if (el.scrollTop < EDGE_PX) {
      const s = Math.max(0, startIdx - STEP_ROWS);
      if (keyAt(s) !== keyAt(startIdx)) {
        rememberAnchor();
        const e = Math.min(endIdx, s + MAX_ROWS);
        setWin({ start: keyAt(s), end: endKey(e) });
        return;
      }
      if (room.olderMore && room.loaded === "yes" && !loadingOlder.current) {
        loadingOlder.current = true;
        rememberAnchor();
        setWin((w) => ({ ...w, start: keyAt(startIdx) }));
        void client.loadOlder(room.id).finally(() => {
          loadingOlder.current = false;
        });
        return;
      }
    }
    if (fromBottom < EDGE_PX && win.end !== null) {
      rememberAnchor();
      const e = Math.min(rows.length, endIdx + STEP_ROWS);
      const s = Math.max(startIdx, e - MAX_ROWS);
      setWin({ start: keyAt(s), end: endKey(e) });
    }
  };

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    const bottom = el.scrollHeight - el.scrollTop - el.clientHeight < BOTTOM_PX && win.end === null;
    stick.current = bottom;
    if (bottom !== atBottom) setAtBottom(bottom);
    if (bottom) client.readActive();
    slide();
  };

  // First position once the first page is in: the "new messages" divider, or the newest message.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || positioned.current || room.loaded !== "yes") return;
    positioned.current = true;
    const divider = rows.findIndex((r) => r.kind === "unread");
    if (divider !== -1 && divider < rows.length - WINDOW_ROWS) {
      setWin({ start: keyAt(Math.max(0, divider - 20)), end: null });
    }
    if (divider !== -1) {
      requestAnimationFrame(() => {
        const d = el.querySelector<HTMLElement>(".divider");
        if (d && d.offsetTop > el.clientHeight / 2) {
          el.scrollTop = d.offsetTop - 80;
          stick.current = false;
          setAtBottom(el.scrollHeight - el.scrollTop - el.clientHeight < BOTTOM_PX);
        }
      });
    }
  }, [room.loaded, rows]);

  // After each render: keep the bottom in view while following, or keep the anchor row in place.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (anchor.current) {
      const a = anchor.current;
      anchor.current = null;
      const row = el.querySelector<HTMLElement>(`[data-key="${CSS.escape(a.key)}"]`);
      if (row) el.scrollTop = row.offsetTop - a.top;
    } else if (stick.current) {
      el.scrollTop = el.scrollHeight;
    }
    // Following the end with a window that grew past the limit: drop rows from the top.
    if (stick.current && win.end === null && endIdx - startIdx > MAX_ROWS) setWin({ start: null, end: null });
  });

  // A resize (phone rotation, window drag, the composer growing) keeps a followed bottom in view.
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const observer = new ResizeObserver(() => {
      if (stick.current) el.scrollTop = el.scrollHeight;
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  // Keep loading or sliding while the viewport still sits at an edge (e.g. a tall screen).
  useEffect(() => {
    const timer = setTimeout(slide, 0);
    if (stick.current) client.readActive();
    return () => clearTimeout(timer);
  });

  const jump = () => {
    stick.current = true;
    setAtBottom(true);
    setWin({ start: null, end: null });
    client.readActive();
  };

  const showsOldest = keyAt(0) === keyAt(startIdx);
  const name = room.membership.room.kind === "direct" ? `@${room.peer ?? ""}` : `#${room.membership.room.name}`;
  return (
    <div class="log-wrap">
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable log must be reachable by keyboard to scroll it */}
      <div class="log" ref={scroller} onScroll={onScroll} role="log" aria-label={t("log.label", { room: name })} tabIndex={0}>
        {room.loaded !== "yes" ? (
          <p class="muted center">{t("log.loading")}</p>
        ) : showsOldest && !room.olderMore ? (
          <p class="muted center start">{t("log.start", { room: name })}</p>
        ) : (
          showsOldest && <p class="muted center">{t("log.loading")}</p>
        )}
        {shown.map((r) => renderRow(r))}
        {pending.map((e) => (
          <PendingRow key={e.clientId} client={client} e={e} />
        ))}
      </div>
      {!atBottom && (
        <button type="button" class="jump" onClick={jump}>
          <Icon name="down" /> {t("log.jump")}
        </button>
      )}
    </div>
  );

  function renderRow(r: Row) {
    if (r.kind === "day") {
      return (
        // biome-ignore lint/a11y/useSemanticElements: an <hr> cannot hold the date label
        <div class="day" key={r.key} data-key={r.key} role="separator">
          <span>{dayLabel(r.at)}</span>
        </div>
      );
    }
    if (r.kind === "unread") {
      return (
        // biome-ignore lint/a11y/useSemanticElements: an <hr> cannot hold the label
        <div class="divider" key={r.key} data-key={r.key} role="separator">
          <span>{t("log.new")}</span>
        </div>
      );
    }
    return <MessageRow key={r.key} client={client} room={room} m={r.message} head={r.head} onCompose={props.onCompose} />;
  }

  function dayLabel(at: number): string {
    const d = new Date(at);
    const today = new Date();
    const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
    if (d.toDateString() === today.toDateString()) return t("log.today");
    if (d.toDateString() === yesterday.toDateString()) return t("log.yesterday");
    return new Intl.DateTimeFormat(lang, { dateStyle: "full" }).format(d) || formatTime(lang, at, true);
  }
}
