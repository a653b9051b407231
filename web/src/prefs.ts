// User preferences kept in this browser: language and theme, shared with components by context.

import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { hasKey, isLang, type Lang, pickLanguage, type Translate, translator } from "./i18n.ts";
import { load, save } from "./storage.ts";

export type Theme = "system" | "light" | "dark";

export function initialLang(): Lang {
  const saved = load<unknown>("parley.lang", null);
  return isLang(saved) ? saved : pickLanguage(navigator.languages ?? [navigator.language]);
}

export function initialTheme(): Theme {
  const saved = load<unknown>("parley.theme", null);
  return saved === "light" || saved === "dark" ? saved : "system";
}

export function applyTheme(theme: Theme): void {
  save("parley.theme", theme === "system" ? undefined : theme);
  if (theme === "system") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

export function applyLang(lang: Lang): void {
  save("parley.lang", lang);
  document.documentElement.lang = lang;
}

export interface Prefs {
  lang: Lang;
  t: Translate;
  theme: Theme;
  setLang(l: Lang): void;
  setTheme(t: Theme): void;
}

export const PrefsContext = createContext<Prefs>({
  lang: "en",
  t: translator("en"),
  theme: "system",
  setLang() {},
  setTheme() {},
});

export function usePrefs(): Prefs {
  return useContext(PrefsContext);
}

/** Translates an error (a RequestError or ApiError with a code) for display. */
export function errorText(t: Translate, err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  if (code === "OFFLINE" || code === "NETWORK") return t("error.network");
  const key = `error.${String(code)}`;
  return hasKey(key) ? t(key) : ((err as Error)?.message ?? String(err));
}
