// Real headless Chromium (Debian's `chromium` package) driven by playwright-core, for the web
// client's browser tests. One browser per test file; each simulated person gets their own origin
// (127.0.0.1 and localhost), so their localStorage sessions never mix.

import { existsSync } from "node:fs";
import { type BrowserContext, type ConsoleMessage, chromium, type Locator, type Page } from "playwright-core";
import { tempDir } from "../helpers/server.ts";

export const CHROMIUM = process.env.PARLEY_CHROMIUM ?? "/usr/bin/chromium";

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Why the browser tests cannot run here, or null. Under CI a missing browser is a failure. */
export function missingBrowser(): string | null {
  if (existsSync(CHROMIUM)) return null;
  const why = `Chromium not found at ${CHROMIUM} (apt-get install -y chromium, or set PARLEY_CHROMIUM)`;
  if (process.env.CI) throw new Error(why);
  return why;
}

export interface Browser {
  context: BrowserContext;
  /** Console errors and uncaught page errors seen on any page so far. */
  errors: string[];
  newPage(opts?: { width?: number; height?: number }): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(opts: { locale?: string; colorScheme?: "light" | "dark" } = {}): Promise<Browser> {
  const context = await chromium.launchPersistentContext(tempDir("parley-chromium-"), {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    locale: opts.locale ?? "en-US",
    colorScheme: opts.colorScheme ?? "light",
    viewport: { width: 1280, height: 800 },
    timezoneId: "UTC",
  });
  // Generous: the CI machine is shared and often loaded; tests assert behaviour, not speed.
  context.setDefaultTimeout(30_000);
  const errors: string[] = [];
  const watch = (page: Page) => {
    page.on("console", (m: ConsoleMessage) => {
      if (m.type() === "error") errors.push(`${page.url()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));
  };
  for (const p of context.pages()) watch(p);
  context.on("page", watch);
  return {
    context,
    errors,
    async newPage(size = {}) {
      const page = context.pages().find((p) => p.url() === "about:blank") ?? (await context.newPage());
      await page.setViewportSize({ width: size.width ?? 1280, height: size.height ?? 800 });
      return page;
    },
    close: () => context.close(),
  };
}

/**
 * Waits for `target`. A timeout says what the page showed instead (its text, the connection
 * status, whether the browser thinks it is online) and what the server logged at warn or worse:
 * a wait that fails once in CI must leave enough behind to find out why.
 */
export async function arrive(page: Page, target: Locator, server?: { logRecords(): Record<string, unknown>[] }): Promise<void> {
  try {
    await target.waitFor();
  } catch (err) {
    const missing = (e: Error) => `unreadable: ${e.message.split("\n")[0]}`;
    const shown = {
      online: await page
        .evaluate(() => (globalThis as unknown as { navigator: { onLine: boolean } }).navigator.onLine)
        .catch(missing),
      conn: await page.locator(".sidebar .conn").getAttribute("data-status", { timeout: 1000 }).catch(missing),
      text: await page
        .locator("body")
        .allInnerTexts()
        .then((t) => t.join("").slice(0, 600), missing),
    };
    const logged = (server?.logRecords() ?? []).filter((r) => r.level === "warn" || r.level === "error").slice(-10);
    const detail = JSON.stringify({ url: page.url(), shown, serverWarnings: logged }, null, 2);
    throw new Error(`${(err as Error).message}\n${detail}`, { cause: err });
  }
}

/** The same server under a second loopback origin (its own storage), for a second person. */
export function otherOrigin(httpUrl: string): string {
  const url = new URL(httpUrl);
  url.hostname = "localhost";
  return url.origin;
}

/**
 * The little of the DOM that page functions in these tests use. The tests type-check with the
 * Node libraries only (the DOM's globals would clash with Node's), so page code casts to these.
 */
export interface El {
  tagName: string;
  textContent: string | null;
  innerText: string;
  outerHTML: string;
  scrollTop: number;
  href?: string;
  labels?: { length: number } | null;
  classList: { contains(name: string): boolean };
  getAttribute(name: string): string | null;
  getAttributeNames(): string[];
  querySelector(selector: string): El | null;
  closest(selector: string): El | null;
}
