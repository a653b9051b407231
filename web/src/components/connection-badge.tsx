// Always-visible connection state, with a countdown and a retry button while offline.

import { useEffect, useState } from "preact/hooks";
import type { ChatClient } from "../client.ts";
import { usePrefs } from "../prefs.ts";

/** `live`: announce changes to screen readers (one badge on the page should, not two). */
export function ConnectionBadge({ client, live = true }: { client: ChatClient; live?: boolean }) {
  const { t } = usePrefs();
  const [now, setNow] = useState(Date.now());
  const s = client.conn;
  useEffect(() => {
    if (s.status !== "offline") return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [s.status]);
  const text =
    s.status === "online"
      ? t("conn.online")
      : s.status === "connecting"
        ? t("conn.connecting")
        : t("conn.offline", { s: Math.max(0, Math.ceil((s.retryAt - now) / 1000)) });
  return (
    <span class={`conn conn-${s.status}`} role={live ? "status" : undefined} data-status={s.status}>
      <span class="dot" aria-hidden="true" />
      <span class="conn-text">{text}</span>
      {s.status === "offline" && (
        <button type="button" class="link" onClick={() => client.retryNow()}>
          {t("conn.retryNow")}
        </button>
      )}
    </span>
  );
}
