// The first screen: log in, sign up, or (where the server allows it) join as a guest.

import { useState } from "preact/hooks";
import { login, register } from "../api.ts";
import { errorText, usePrefs } from "../prefs.ts";
import type { Session } from "../storage.ts";
import { LanguagePicker } from "./settings.tsx";

type Mode = "login" | "signup" | "guest";

export function Login({ onSession, notice }: { onSession: (s: Session) => void; notice: string | null }) {
  const { t } = usePrefs();
  const [mode, setMode] = useState<Mode>("login");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(notice);
  const [busy, setBusy] = useState(false);

  const submit = async (ev: Event) => {
    ev.preventDefault();
    setError(null);
    if (mode === "guest") {
      onSession({ guest: name.trim() });
      return;
    }
    setBusy(true);
    try {
      const r = mode === "login" ? await login(name.trim(), password) : await register(name.trim(), password);
      onSession({ token: r.token, name: r.account.name });
    } catch (err) {
      setError(errorText(t, err));
    } finally {
      setBusy(false);
    }
  };

  const tabs: [Mode, string][] = [
    ["login", t("login.tab.login")],
    ["signup", t("login.tab.signup")],
    ["guest", t("login.tab.guest")],
  ];
  return (
    <main class="login">
      <form class="login-card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">
          <img src="/favicon.svg" alt="" width={28} height={28} /> Parley
        </h1>
        <p class="muted">{t("login.tagline")}</p>
        <div class="tabs" role="tablist">
          {tabs.map(([m, label]) => (
            <button
              key={m}
              type="button"
              role="tab"
              aria-selected={mode === m}
              class={mode === m ? "tab selected" : "tab"}
              onClick={() => {
                setMode(m);
                setError(null);
              }}
            >
              {label}
            </button>
          ))}
        </div>
        <label>
          {t("login.name")}
          <input
            name="name"
            autocomplete={mode === "guest" ? "nickname" : "username"}
            required
            maxLength={32}
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </label>
        {mode !== "guest" && (
          <label>
            {t("login.password")}
            <input
              name="password"
              type="password"
              autocomplete={mode === "signup" ? "new-password" : "current-password"}
              required
              minLength={mode === "signup" ? 8 : undefined}
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          </label>
        )}
        <p class="muted small">{mode === "guest" ? t("login.guestHint") : mode === "signup" ? t("login.firstAdmin") : " "}</p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button class="primary" type="submit" disabled={busy}>
          {t(mode === "login" ? "login.submit.login" : mode === "signup" ? "login.submit.signup" : "login.submit.guest")}
        </button>
        <LanguagePicker />
      </form>
    </main>
  );
}
