// `npm run screenshots`: renders the web client against a throwaway server with a little
// conversation and saves docs/screenshots/{desktop,phone,dark}.png for the README.

import { join } from "node:path";
import { register } from "../helpers/http.ts";
import { LOOSE_LIMITS, ROOT, startServer } from "../helpers/server.ts";
import { WsClient } from "../helpers/ws-client.ts";
import { launchBrowser } from "./browser.ts";

const OUT = join(ROOT, "docs", "screenshots");
const srv = await startServer({ config: { limits: LOOSE_LIMITS } });
const browser = await launchBrowser();
try {
  await register(srv, "mei", "correct horse"); // first account: the admin whose view the screenshots show
  const bob = await register(srv, "bob", "correct horse");
  const carol = await register(srv, "carol", "correct horse");
  const open = async (token: string) => (await WsClient.open(srv.wsUrl, { token })).client;
  const [cb, cc] = [await open(bob.token), await open(carol.token)];
  const rust = (await cb.request({ type: "create", name: "rust", topic: "Systems programming, borrow checker support group" }))
    .result.membership.room.id as string;
  await cc.request({ type: "join", room: "rust" });
  await cb.request({ type: "create", name: "design" });
  let n = 0;
  const say = async (c: WsClient, body: string, replyTo?: string) =>
    (await c.request({ type: "send", room: rust, clientId: `s-${++n}`, body, ...(replyTo ? { replyTo } : {}) })).result
      .messageId as string;
  await say(cb, "Has anyone tried the **2024 edition** yet?");
  const q = await say(cb, "The `impl Trait` capture rules changed a bit.");
  await say(cc, "Yes! Migration was mostly `cargo fix --edition`.", q);
  await say(cc, "Notes here: https://doc.rust-lang.org/edition-guide/");
  await say(cb, '```rust\nfn main() {\n    println!("hello, 2024");\n}\n```');
  const e = await say(cc, "@mei you wanted to see this");
  await cc.request({ type: "react", message: e, emoji: "🎉" });
  await say(cb, "/me waves");

  const page = await browser.newPage({ width: 1280, height: 760 });
  await page.goto(srv.httpUrl);
  await page.getByLabel("Name").fill("mei");
  await page.getByLabel("Password").fill("correct horse");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("button", { name: "Browse rooms" }).click();
  await page.getByRole("button", { name: "Join #rust" }).click();
  await page.locator(".log .body", { hasText: "waves" }).waitFor();
  await page.getByRole("textbox", { name: "Message #rust" }).fill("Looks great, thanks carol!");
  await page.mouse.move(0, 0);
  await page.screenshot({ path: join(OUT, "desktop.png") });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.screenshot({ path: join(OUT, "dark.png") });
  await page.emulateMedia({ colorScheme: "light" });
  await page.setViewportSize({ width: 360, height: 740 });
  await page.getByRole("button", { name: /members/i }).click();
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(OUT, "phone.png") });
  cb.close();
  cc.close();
  process.stdout.write(`screenshots written to ${OUT}\n`);
} finally {
  await browser.close();
  await srv.stop();
}
