// Settings: interface language, theme and desktop notifications.

import { useState } from "preact/hooks";
import { isLang, LANGS } from "../i18n.ts";
import { type Theme, usePrefs } from "../prefs.ts";
import { Dialog } from "./dialog.tsx";

export function LanguagePicker() {
  const { t, lang, setLang } = usePrefs();
  return (
    <label class="inline">
      {t("settings.language")}
      <select
        value={lang}
        onChange={(e) => {
          const v = e.currentTarget.value;
          if (isLang(v)) setLang(v);
        }}
      >
        {LANGS.map((l) => (
          <option key={l.lang} value={l.lang} lang={l.lang}>
            {l.label}
          </option>
        ))}
      </select>
    </label>
  );
}

export function Settings({ onClose }: { onClose: () => void }) {
  const { t, theme, setTheme } = usePrefs();
  const supported = typeof Notification !== "undefined";
  const [permission, setPermission] = useState(supported ? Notification.permission : "denied");
  const themes: [Theme, string][] = [
    ["system", t("settings.theme.system")],
    ["light", t("settings.theme.light")],
    ["dark", t("settings.theme.dark")],
  ];
  return (
    <Dialog title={t("settings.title")} onClose={onClose}>
      <div class="form">
        <LanguagePicker />
        <fieldset>
          <legend>{t("settings.theme")}</legend>
          {themes.map(([value, label]) => (
            <label key={value} class="radio">
              <input type="radio" name="theme" value={value} checked={theme === value} onChange={() => setTheme(value)} />
              {label}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>{t("settings.notifications")}</legend>
          {permission === "granted" ? (
            <p>{t("settings.notificationsOn")}</p>
          ) : permission === "denied" ? (
            <p>{t("settings.notificationsBlocked")}</p>
          ) : (
            <button type="button" onClick={() => void Notification.requestPermission().then(setPermission)}>
              {t("settings.enableNotifications")}
            </button>
          )}
        </fieldset>
      </div>
    </Dialog>
  );
}
