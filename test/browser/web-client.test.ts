// The web client in real headless Chromium against a real server: sign-up and chat between two
// people, guests, reload, network loss, hostile message bodies, IME input, keyboard navigation,
// the long-history window, and no console errors along the way.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { register, uniq } from "../helpers/http.ts";
import { eventually, LOOSE_LIMITS, startServer, type TestServer } from "../helpers/server.ts";
import { WsClient } from "../helpers/ws-client.ts";
import { arrive, type Browser, type El, launchBrowser, missingBrowser, otherOrigin } from "./browser.ts";
import { XSS_PAYLOADS } from "./xss-payloads.ts";

const skip = missingBrowser() ?? false;

describe("web client in Chromium", { skip }, () => {
  let srv: TestServer;
  let browser: Browser;
  let A: string; // origin of person A
  let B: string; // origin of person B (its own localStorage)

  before(async () => {
    srv = await startServer({ config: { limits: LOOSE_LIMITS } });
    browser = await launchBrowser();
    A = srv.httpUrl;
    B = otherOrigin(srv.httpUrl);
  });

  after(async () => {
    await browser?.close();
    await srv?.stop();
  });

  /** A page on `origin` with no session stored. */
  async function fresh(origin: string, size?: { width: number; height: number }): Promise<Page> {
    const page = await browser.context.newPage();
    if (size) await page.setViewportSize(size);
    await page.goto(origin);
    await page.evaluate(() => (globalThis as unknown as { localStorage: { clear(): void } }).localStorage.clear());
    await page.reload();
    return page;
  }

  async function signUp(origin: string, name: string, password = "correct horse"): Promise<Page> {
    const page = await fresh(origin);
    await page.getByRole("tab", { name: "Sign up" }).click();
    await page.getByLabel("Name").fill(name);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Create account" }).click();
    await arrive(page, composer(page), srv);
    return page;
  }

  async function logIn(origin: string, name: string, password = "correct horse"): Promise<Page> {
    const page = await fresh(origin);
    await page.getByLabel("Name").fill(name);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Log in" }).click();
    await arrive(page, composer(page), srv);
    return page;
  }

  async function guest(origin: string, name: string): Promise<Page> {
    const page = await fresh(origin);
    await page.getByRole("tab", { name: "Guest" }).click();
    await page.getByLabel("Name").fill(name);
    await page.getByRole("button", { name: "Join as guest" }).click();
    await arrive(page, composer(page), srv);
    return page;
  }

  const composer = (page: Page) => page.getByRole("textbox", { name: /^Message / });

  async function say(page: Page, text: string): Promise<void> {
    await composer(page).fill(text);
    await composer(page).press("Enter");
  }

  /** The message bodies in the log, in order. */
  const bodies = (page: Page) => page.locator(".log article:not(.pending) .body").allInnerTexts();

  async function seen(page: Page, text: string): Promise<void> {
    await page.locator(".log article:not(.pending) .body", { hasText: text }).first().waitFor();
  }

  async function roomButton(page: Page, name: string) {
    return page.locator(`.room-link[data-room="${name}"]`);
  }

  it("two people sign up and chat; the first account is the admin; own messages go pending → confirmed", async () => {
    const ann = uniq("ann");
    const bob = uniq("bob");
    const a = await signUp(A, ann);
    await a.locator(".me .tag", { hasText: "admin" }).waitFor();
    const b = await signUp(B, bob);
    assert.equal(await b.locator(".me .tag", { hasText: "admin" }).count(), 0);

    // Typing shows on the other side, and goes away when the message arrives.
    await composer(b).pressSequentially("typing…");
    await a.locator(".typing", { hasText: `${bob} is typing…` }).waitFor();
    await composer(b).fill("");

    await say(a, `hello from ${ann}`);
    await seen(b, `hello from ${ann}`);
    await say(b, `hi ${ann}, **bold** and \`code\``);
    await seen(a, `hi ${ann}`);
    assert.equal(await a.locator(".log article strong", { hasText: "bold" }).count(), 1);
    assert.equal(await a.locator(".log article code", { hasText: "code" }).count(), 1);
    // Both sides show each message once, confirmed (no pending row left).
    await eventually(async () => (await a.locator(".log article.pending").count()) === 0, 15_000, "no pending rows");
    for (const page of [a, b]) {
      const texts = await bodies(page);
      assert.equal(texts.filter((t) => t.includes(`hello from ${ann}`)).length, 1);
      assert.equal(texts.filter((t) => t.includes(`hi ${ann}`)).length, 1);
    }
    // Shift+Enter inserts a newline instead of sending.
    await composer(a).fill("line one");
    await composer(a).press("Shift+Enter");
    await composer(a).pressSequentially("line two");
    assert.equal(await composer(a).inputValue(), "line one\nline two");
    await composer(a).press("Enter");
    await seen(b, "line two");
    assert.match((await bodies(b)).find((t) => t.includes("line two")) ?? "", /line one\nline two/);
    await a.close();
    await b.close();
  });

  it("a guest and a registered user chat", async () => {
    const reg = uniq("reg");
    const gst = uniq("gst");
    const r = await signUp(A, reg);
    const g = await guest(B, gst);
    await g.locator(".me .tag", { hasText: "guest" }).waitFor();
    // Guests cannot create rooms, so the button is not offered.
    assert.equal(await g.getByRole("button", { name: /Create room/ }).count(), 0);
    await say(g, `guest ${gst} says hi`);
    await seen(r, `guest ${gst} says hi`);
    await say(r, `welcome @${gst}`);
    await seen(g, `welcome @${gst}`);
    assert.equal(await g.locator(".log .mention-me", { hasText: `@${gst}` }).count(), 1);
    // The guest shows up online in the member list.
    await r.locator(".members li.online", { hasText: gst }).waitFor();
    await r.close();
    await g.close();
  });

  it("reload keeps the history, the room and the read position (unread count, divider, title)", async () => {
    const ann = uniq("ann");
    const other = await register(srv, uniq("bob"));
    const a = await signUp(A, ann);
    const { client: bob } = await WsClient.open(srv.wsUrl, { token: other.token });
    const lobby = ((await bob.request({ type: "join", room: "lobby" })).result as { membership: { room: { id: string } } })
      .membership.room.id;
    let n = 0;
    const post = async (body: string) => {
      const r = await bob.request({ type: "send", room: lobby, clientId: `b-${++n}-${Date.now()}`, body });
      assert.equal(r.type, "ok");
    };
    await post("before 1");
    await post("before 2");
    await seen(a, "before 2");

    // Ann goes to a room of her own, and bob writes in #lobby meanwhile (one mention).
    await a.getByRole("button", { name: /Create room/ }).click();
    const mine = uniq("r");
    await a.getByLabel("Room name").fill(mine);
    await a.getByRole("button", { name: "Create", exact: true }).click();
    await a.locator("#room-title", { hasText: mine }).waitFor();
    await post("unread 1");
    await post(`unread 2 @${ann}`);
    await post("unread 3");
    const lobbyLink = await roomButton(a, "lobby");
    await lobbyLink.locator(".badge", { hasText: "1" }).waitFor(); // the mention badge
    await eventually(async () => (await a.title()) === "(3) Parley", 15_000, "title with 3 unread");

    await a.reload();
    await a.locator("#room-title", { hasText: mine }).waitFor(); // same room after reload
    await eventually(async () => (await a.title()) === "(3) Parley", 15_000, "title after reload");
    assert.match((await lobbyLink.getAttribute("aria-label")) ?? "", /3 unread/);

    await lobbyLink.click();
    await seen(a, "unread 3");
    const rows = await a
      .locator(".log > *")
      .evaluateAll((els) =>
        (els as unknown as El[]).map((e) =>
          e.classList.contains("divider") ? "DIVIDER" : (e.querySelector(".body")?.textContent ?? ""),
        ),
      );
    const divider = rows.indexOf("DIVIDER");
    assert.ok(divider > 0, `a "new messages" divider: ${JSON.stringify(rows)}`);
    assert.equal(rows[divider - 1], "before 2");
    assert.equal(rows[divider + 1], "unread 1");
    // Reading the room (it is at the bottom) clears the count, and a reload keeps it cleared.
    await eventually(async () => (await a.title()) === "Parley", 15_000, "title back to Parley");
    await a.reload();
    await seen(a, "unread 3");
    assert.equal(await a.locator(".log .divider").count(), 0);
    assert.deepEqual((await bodies(a)).slice(-5), ["before 1", "before 2", "unread 1", `unread 2 @${ann}`, "unread 3"]);
    assert.equal(await a.title(), "Parley");
    bob.close();
    await a.close();
  });

  it("going offline and back online while the other side sends delivers every message exactly once", async () => {
    const ann = uniq("ann");
    const other = await register(srv, uniq("bob"));
    const a = await signUp(A, ann);
    const { client: bob, welcome } = await WsClient.open(srv.wsUrl, { token: other.token });
    const lobby = (welcome.rooms as { room: { id: string; name: string } }[]).find((m) => m.room.name === "lobby")!.room.id;
    await a.locator(".sidebar .conn[data-status=online]").waitFor();

    await browser.context.setOffline(true);
    await a.locator(".sidebar .conn[data-status=offline]").waitFor();
    const stamp = Date.now();
    for (let i = 1; i <= 5; i++) {
      const r = await bob.request({ type: "send", room: lobby, clientId: `off-${stamp}-${i}`, body: `while away ${i}` });
      assert.equal(r.type, "ok");
    }
    // Ann writes while offline: shown at once as pending.
    await say(a, "written offline 1");
    await say(a, "written offline 2");
    assert.equal(await a.locator(".log article.pending").count(), 2);

    await browser.context.setOffline(false);
    await a.locator(".sidebar .conn[data-status=online]").waitFor();
    await seen(a, "while away 5");
    await seen(a, "written offline 2");
    await eventually(async () => (await a.locator(".log article.pending").count()) === 0, 15_000, "pending rows confirmed");
    const texts = await bodies(a);
    for (let i = 1; i <= 5; i++) assert.equal(texts.filter((t) => t === `while away ${i}`).length, 1, `while away ${i} once`);
    for (const t of ["written offline 1", "written offline 2"]) assert.equal(texts.filter((x) => x === t).length, 1, `${t} once`);
    // The server stored each of ann's offline messages once, in order.
    await eventually(
      () => (bob.events.get(lobby) ?? []).filter((e) => e.type === "message" && e.actor === ann).length === 2,
      15_000,
      "the offline messages reach bob",
    );
    const page = await bob.request({ type: "history", room: lobby, limit: 20 });
    const own = (page.result as { messages: { author: string; body: string }[] }).messages.filter((m) => m.author === ann);
    assert.deepEqual(
      own.map((m) => m.body),
      ["written offline 1", "written offline 2"],
    );
    bob.close();
    await a.close();
  });

  it("renders hostile message bodies (OWASP XSS cheat sheet cases) as inert text", async () => {
    const ann = uniq("ann");
    const other = await register(srv, uniq("eve"));
    const a = await signUp(A, ann);
    const dialogs: string[] = [];
    a.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const { client: eve, welcome } = await WsClient.open(srv.wsUrl, { token: other.token });
    const lobby = (welcome.rooms as { room: { id: string; name: string } }[]).find((m) => m.room.name === "lobby")!.room.id;
    const stamp = Date.now();
    await Promise.all(
      XSS_PAYLOADS.map((body, i) =>
        eve.request({ type: "send", room: lobby, clientId: `x-${stamp}-${i}`, body: `${i}: ${body}` }),
      ),
    );
    await seen(a, `${XSS_PAYLOADS.length - 1}: `);
    // Hover over every message and its links (mouseover handlers would fire now).
    for (const el of await a.locator(".log article").all()) await el.hover();
    await a.waitForTimeout(300);
    const found = await a.evaluate(() => {
      const { document } = globalThis as unknown as { document: { querySelectorAll(s: string): Iterable<El> } };
      const problems: string[] = [];
      for (const el of document.querySelectorAll(".log *")) {
        for (const attr of el.getAttributeNames()) if (/^on/i.test(attr)) problems.push(`${el.tagName} has ${attr}`);
        const href = el.getAttribute("href") ?? el.getAttribute("src") ?? "";
        if (/^\s*(javascript|data|vbscript):/i.test(href)) problems.push(`${el.tagName} links to ${href}`);
        if (
          /^(SCRIPT|IFRAME|FRAME|FRAMESET|OBJECT|EMBED|IMG|SVG|MATH|STYLE|META|BASE|INPUT|BODY|TABLE|DETAILS)$/i.test(el.tagName)
        )
          problems.push(`element ${el.tagName} in the log`);
      }
      return problems;
    });
    assert.deepEqual(found, []);
    assert.deepEqual(dialogs, []);
    // Each payload is there, as the literal text that was sent (code spans and links aside).
    const texts = await bodies(a);
    for (const [i, p] of XSS_PAYLOADS.entries()) {
      if (/[`*_[]/.test(p)) continue; // Markdown syntax changes the visible text
      assert.ok(texts.includes(`${i}: ${p}`), `payload ${i} shown as text: ${p}`);
    }
    // Markdown links to javascript:, data: and vbscript: URLs stay text; only http(s) links exist.
    const hrefs = await a.locator(".log a").evaluateAll((els) => (els as unknown as El[]).map((e) => e.href ?? ""));
    assert.ok(
      hrefs.every((h) => /^https?:/.test(h)),
      JSON.stringify(hrefs),
    );
    const rels = await a.locator(".log a").evaluateAll((els) => (els as unknown as El[]).map((e) => e.getAttribute("rel") ?? ""));
    assert.ok(rels.every((r) => r.includes("noopener")));
    eve.close();
    await a.close();
  });

  it("Enter while an IME is composing does not send; Enter after the composition does", async () => {
    const a = await signUp(A, uniq("ime"));
    const box = composer(a);
    await box.click();
    const cdp = await a.context().newCDPSession(a);
    await cdp.send("Input.imeSetComposition", { text: "ni", selectionStart: 2, selectionEnd: 2 });
    await cdp.send("Input.imeSetComposition", { text: "你", selectionStart: 1, selectionEnd: 1 });
    // The IME takes this Enter to confirm its candidate: a keydown with isComposing (keyCode 229).
    await cdp.send("Input.dispatchKeyEvent", { type: "rawKeyDown", key: "Enter", code: "Enter", windowsVirtualKeyCode: 229 });
    await cdp.send("Input.dispatchKeyEvent", { type: "keyUp", key: "Enter", code: "Enter", windowsVirtualKeyCode: 229 });
    // A plain Enter keydown while the composition is still open (isComposing is true).
    await cdp.send("Input.dispatchKeyEvent", { type: "rawKeyDown", key: "Enter", code: "Enter", windowsVirtualKeyCode: 13 });
    await cdp.send("Input.dispatchKeyEvent", { type: "keyUp", key: "Enter", code: "Enter", windowsVirtualKeyCode: 13 });
    await cdp.send("Input.insertText", { text: "你好" }); // commits the composition
    await a.waitForTimeout(200);
    assert.equal(await a.locator(".log article", { hasText: "你好" }).count(), 0, "nothing was sent");
    assert.equal(await box.inputValue(), "你好");
    await box.press("Enter");
    await seen(a, "你好");
    assert.equal(await box.inputValue(), "");
    await a.close();
  });

  it("keyboard: Ctrl+K switcher, Alt+Up/Down between rooms, Esc closes dialogs, Up edits, drafts per room", async () => {
    const a = await signUp(A, uniq("kb"));
    const alpha = uniq("alpha");
    const beta = uniq("beta");
    for (const name of [alpha, beta]) {
      await a.getByRole("button", { name: /Create room/ }).click();
      await a.getByLabel("Room name").fill(name);
      await a.getByRole("button", { name: "Create", exact: true }).click();
      await a.locator("#room-title", { hasText: name }).waitFor();
    }
    // Drafts survive switching rooms.
    await composer(a).fill("draft in beta");
    await a.keyboard.press("Control+k");
    const sw = a.getByRole("combobox", { name: "Go to room…" });
    await sw.fill(alpha.slice(0, 7));
    await sw.press("Enter");
    await a.locator("#room-title", { hasText: alpha }).waitFor();
    assert.equal(await a.locator("dialog[open]").count(), 0);
    assert.equal(await composer(a).inputValue(), "");
    // Alt+Down goes to the next room in the sidebar (alpha → beta).
    await a.keyboard.press("Alt+ArrowDown");
    await a.locator("#room-title", { hasText: beta }).waitFor();
    assert.equal(await composer(a).inputValue(), "draft in beta");
    await a.keyboard.press("Alt+ArrowUp");
    await a.locator("#room-title", { hasText: alpha }).waitFor();
    // Esc closes a dialog.
    await a.keyboard.press("Control+k");
    await a.locator("dialog[open]").waitFor();
    await a.keyboard.press("Escape");
    await eventually(async () => (await a.locator("dialog[open]").count()) === 0, 15_000, "dialog closed");
    // Up on an empty composer edits my last message.
    await say(a, "first version");
    await seen(a, "first version");
    await composer(a).press("ArrowUp");
    await eventually(
      async () => (await composer(a).inputValue()) === "first version",
      15_000,
      "the last message in the composer",
    );
    await composer(a).fill("second version");
    await composer(a).press("Enter");
    await seen(a, "second version");
    await a.locator(".log article", { hasText: "second version" }).locator(".edited").waitFor();
    // Every control has an accessible name.
    const unnamed = await a.evaluate(() =>
      [
        ...(globalThis as unknown as { document: { querySelectorAll(s: string): Iterable<El> } }).document.querySelectorAll(
          "button, input, textarea, select, a[href]",
        ),
      ]
        .filter((el) => !el.closest("[hidden]"))
        .filter((el) => {
          const label = el.getAttribute("aria-label") ?? el.textContent ?? "";
          const labelled = el.labels?.length ?? 0;
          return label.trim() === "" && labelled === 0 && !el.getAttribute("aria-labelledby") && !el.getAttribute("title");
        })
        .map((el) => el.outerHTML.slice(0, 120)),
    );
    assert.deepEqual(unnamed, []);
    await a.close();
  });

  it("room directory, private rooms with invites, topics, direct conversations and leaving", async () => {
    const ann = uniq("ann");
    const bob = uniq("bob");
    const a = await signUp(A, ann);
    const b = await signUp(B, bob);
    const pub = uniq("pub");
    const priv = uniq("priv");
    await a.getByRole("button", { name: /Create room/ }).click();
    await a.getByLabel("Room name").fill(pub);
    await a.getByLabel("Topic (optional)").fill("all about testing");
    await a.getByRole("button", { name: "Create", exact: true }).click();
    await a.locator(".room-header .topic", { hasText: "all about testing" }).waitFor();
    await a.getByRole("button", { name: /Create room/ }).click();
    await a.getByLabel("Room name").fill(priv);
    await a.getByLabel("Private (invite only)").check();
    await a.getByRole("button", { name: "Create", exact: true }).click();
    await a.locator("#room-title", { hasText: priv }).waitFor();

    // Bob finds the public room in the directory (the private one is not listed) and joins it.
    await b.getByRole("button", { name: "Browse rooms" }).click();
    await b.getByRole("button", { name: `Join #${pub}` }).click();
    await b.locator("#room-title", { hasText: pub }).waitFor();
    await b.getByRole("button", { name: "Browse rooms" }).click();
    await b.locator(".directory").waitFor();
    assert.equal(await b.locator(".directory li", { hasText: priv }).count(), 0);
    await b.keyboard.press("Escape");

    // Ann invites bob to the private room; bob accepts from the notice.
    await a.getByRole("button", { name: "Invite" }).click();
    await a.getByLabel("Account name").fill(bob);
    await a.getByRole("button", { name: "Invite", exact: true }).last().click();
    await a.getByText(`${bob} was invited.`).waitFor();
    await a.keyboard.press("Escape");
    await b.locator(".invite", { hasText: priv }).getByRole("button", { name: "Join" }).click();
    await b.locator("#room-title", { hasText: priv }).waitFor();

    // Ann (owner) sets the topic; bob sees it.
    await a.locator(".room-header button.topic").click();
    await a.getByLabel("Topic", { exact: true }).fill("secret plans");
    await a.getByRole("button", { name: "Save" }).click();
    await b.locator(".room-header .topic", { hasText: "secret plans" }).waitFor();

    // Bob starts a direct conversation from the member list.
    await b.getByRole("button", { name: `Message ${ann}` }).click();
    await b.locator("#room-title", { hasText: ann }).waitFor();
    await say(b, "psst, a direct message");
    await (await roomButton(a, bob)).waitFor();
    await (await roomButton(a, bob)).click();
    await seen(a, "psst, a direct message");

    // Bob leaves the public room: it disappears from his sidebar.
    await (await roomButton(b, pub)).click();
    await b.getByRole("button", { name: "Leave room" }).click();
    await eventually(async () => (await (await roomButton(b, pub)).count()) === 0, 15_000, "room gone from the sidebar");
    await a.close();
    await b.close();
  });

  it("keeps the DOM small while scrolling back through a long history (windowed log)", async () => {
    const ann = uniq("ann");
    const other = await register(srv, uniq("bob"));
    await register(srv, ann, "correct horse");
    const { client: bob } = await WsClient.open(srv.wsUrl, { token: other.token });
    const room = uniq("long");
    const created = await bob.request({ type: "create", name: room });
    const roomId = (created.result as { membership: { room: { id: string } } }).membership.room.id;
    const TOTAL = 1200;
    const stamp = Date.now();
    for (let i = 0; i < TOTAL; i += 200) {
      await Promise.all(
        Array.from({ length: Math.min(200, TOTAL - i) }, (_, k) =>
          bob.request({ type: "send", room: roomId, clientId: `l-${stamp}-${i + k}`, body: `long message ${i + k + 1}` }),
        ),
      );
    }
    const a = await logIn(A, ann);
    await a.getByRole("button", { name: "Browse rooms" }).click();
    await a.getByRole("button", { name: `Join #${room}` }).click();
    await seen(a, `long message ${TOTAL}`);
    const log = a.locator(".log");
    let maxRows = 0;
    for (let step = 0; step < 200; step++) {
      maxRows = Math.max(maxRows, await a.locator(".log article").count());
      if ((await a.locator(".log .start").count()) > 0) break;
      await log.hover();
      await a.mouse.wheel(0, -4000);
      await a.waitForTimeout(50);
    }
    await a.locator(".log .start").waitFor();
    await seen(a, "long message 1");
    assert.ok(maxRows <= 300, `at most 300 rows in the DOM (saw ${maxRows})`);
    await a.getByRole("button", { name: "Jump to latest" }).click();
    await seen(a, `long message ${TOTAL}`);
    assert.ok((await a.locator(".log article").count()) <= 300);
    bob.close();
    await a.close();
  });

  it("notifies of mentions and direct messages while the tab is hidden, and counts them in the title", async () => {
    const ann = uniq("ann");
    const other = await register(srv, uniq("bob"));
    const a = await signUp(A, ann);
    // A hidden tab with notifications allowed; Notification records what it is asked to show.
    // (A string, not a function: the test runner's transform would add helpers the page lacks.)
    await a.evaluate(`
      window.notes = [];
      window.Notification = function (title, opts) { window.notes.push(title + " | " + ((opts && opts.body) || "")); this.close = function () {}; };
      window.Notification.permission = "granted";
      Object.defineProperty(document, "visibilityState", { get: function () { return "hidden"; }, configurable: true });
    `);
    const { client: bob, welcome } = await WsClient.open(srv.wsUrl, { token: other.token });
    const lobby = (welcome.rooms as { room: { id: string; name: string } }[]).find((m) => m.room.name === "lobby")!.room.id;
    const stamp = Date.now();
    await bob.request({ type: "send", room: lobby, clientId: `n-${stamp}-1`, body: "nothing for ann" });
    await bob.request({ type: "send", room: lobby, clientId: `n-${stamp}-2`, body: `@${ann} look at this` });
    const dm = await bob.request({ type: "direct", account: ann });
    const dmId = (dm.result as { membership: { room: { id: string } } }).membership.room.id;
    await bob.request({ type: "send", room: dmId, clientId: `n-${stamp}-3`, body: "just between us" });
    const notes = () => a.evaluate(() => (globalThis as unknown as { notes: string[] }).notes);
    await eventually(async () => (await notes()).length === 2, 15_000, "two notifications");
    assert.deepEqual(await notes(), [
      `${other.name} mentioned you in #lobby | @${ann} look at this`,
      `${other.name} sent you a message | just between us`,
    ]);
    await eventually(async () => (await a.title()) === "(3) Parley", 15_000, "title counts the unread messages");
    bob.close();
    await a.close();
  });

  it("logged no console errors and no uncaught exceptions", () => {
    assert.deepEqual(browser.errors, []);
  });
});
