// The interface language follows the browser (here zh-TW) and can be switched in settings.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { uniq } from "../helpers/http.ts";
import { startServer, type TestServer } from "../helpers/server.ts";
import { type Browser, launchBrowser, missingBrowser } from "./browser.ts";

const skip = missingBrowser() ?? false;

describe("web client languages", { skip }, () => {
  let srv: TestServer;
  let browser: Browser;

  before(async () => {
    srv = await startServer();
    browser = await launchBrowser({ locale: "zh-TW" });
  });

  after(async () => {
    await browser?.close();
    await srv?.stop();
  });

  it("renders in 繁體中文 for a zh-TW browser, and switches to 简体中文 and English in settings", async () => {
    const page = await browser.newPage();
    await page.goto(srv.httpUrl);
    assert.equal(await page.locator("html").getAttribute("lang"), "zh-TW");
    await page.getByRole("tab", { name: "註冊" }).waitFor();
    await page.getByRole("tab", { name: "訪客" }).click();
    await page.getByLabel("名稱").fill(uniq("訪客"));
    await page.getByRole("button", { name: "以訪客身分加入" }).click();
    const box = page.getByRole("textbox", { name: "傳訊息到 #lobby" });
    await box.waitFor();
    await box.fill("大家好,這是**粗體**");
    await box.press("Enter");
    await page.locator(".log article strong", { hasText: "粗體" }).waitFor();
    await page.getByRole("heading", { name: "聊天室" }).waitFor();
    await page.locator(".sidebar .conn", { hasText: "已連線" }).waitFor();

    await page.getByRole("button", { name: "設定" }).click();
    await page.getByLabel("語言").selectOption("zh-CN");
    await page.getByRole("textbox", { name: "发消息到 #lobby" }).waitFor();
    assert.equal(await page.locator("html").getAttribute("lang"), "zh-CN");
    await page.getByLabel("语言").selectOption("en");
    await page.getByRole("textbox", { name: "Message #lobby" }).waitFor();
    await page.keyboard.press("Escape");

    // The choice is remembered over a reload.
    await page.reload();
    await page.getByRole("textbox", { name: "Message #lobby" }).waitFor();
    await page.close();
  });

  it("logged no console errors", () => {
    assert.deepEqual(browser.errors, []);
  });
});
