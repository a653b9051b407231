// `npm run bench:web`: the web client with 10,000 messages loaded, in headless Chromium. Reports
// how many rows the DOM holds while scrolling back through all of them, and how long a new
// message takes from the sender's request to the reader's DOM, against a 50-message room
// measured in the same run (the baseline). Results go in docs/benchmarks.md.

import { launchBrowser } from "../test/browser/browser.ts";
import { register } from "../test/helpers/http.ts";
import { LOOSE_LIMITS, startServer } from "../test/helpers/server.ts";
import { WsClient } from "../test/helpers/ws-client.ts";

if (process.argv.length > 2) {
  const help = process.argv[2] === "--help" || process.argv[2] === "-h";
  (help ? process.stdout : process.stderr).write(
    "npm run bench:web   (no flags): the web client with 10,000 messages loaded in headless Chromium;\n" +
      "DOM rows while scrolling back, and send-to-DOM latency against a 50-message room.\n",
  );
  process.exit(help ? 0 : 2);
}

const srv = await startServer({ config: { limits: LOOSE_LIMITS } });
const run = Date.now() % 100000;
const bobR = await register(srv, `bob${run}`);
const ann = `ann${run}`;
await register(srv, ann, "correct horse");
const { client: bob } = await WsClient.open(srv.wsUrl, { token: bobR.token });
const room = `tenk${run}`;
const roomId = (await bob.request({ type: "create", name: room })).result.membership.room.id;
const TOTAL = 10_000;
const stamp = Date.now();
let t0 = Date.now();
for (let i = 0; i < TOTAL; i += 500)
  await Promise.all(
    Array.from({ length: 500 }, (_, k) =>
      bob.request({
        type: "send",
        room: roomId,
        clientId: `t-${stamp}-${i + k}`,
        body: `message number ${i + k + 1} with a bit of **text** and a link https://example.org/${i + k}`,
      }),
    ),
  );
console.log("seeded", TOTAL, "in", Date.now() - t0, "ms");
const b = await launchBrowser();
const a = await b.newPage();
await a.goto(srv.httpUrl);
await a.getByLabel("Name").fill(ann);
await a.getByLabel("Password").fill("correct horse");
await a.getByRole("button", { name: "Log in" }).click();
await a.getByRole("button", { name: "Browse rooms" }).click();
await a.getByRole("button", { name: `Join #${room}` }).click();
await a.locator(".log .body", { hasText: `message number ${TOTAL} ` }).waitFor();
t0 = Date.now();
let steps = 0;
let maxRows = 0;
while ((await a.locator(".log .start").count()) === 0 && steps < 2000) {
  await a.locator(".log").hover();
  await a.mouse.wheel(0, -6000);
  await a.waitForTimeout(30);
  steps++;
  if (steps % 20 === 0) maxRows = Math.max(maxRows, await a.locator(".log article").count());
}
console.log("scrolled back through", TOTAL, "in", Date.now() - t0, "ms,", steps, "wheel steps; max rows in DOM", maxRows);
await a.getByRole("button", { name: "Jump to latest" }).click();
await a.locator(".log .body", { hasText: `message number ${TOTAL} ` }).waitFor();
const times: number[] = [];
for (let i = 0; i < 20; i++) {
  const t = Date.now();
  await bob.request({ type: "send", room: roomId, clientId: `t2-${stamp}-${i}`, body: `live ${i}` });
  await a.locator(".log .body", { hasText: `live ${i}` }).waitFor();
  times.push(Date.now() - t);
}
times.sort((x, y) => x - y);
console.log(
  "live message to DOM with 10k loaded: median",
  times[10],
  "ms, max",
  times[19],
  "ms; rows",
  await a.locator(".log article").count(),
);
// The same in a room with 50 messages, for comparison.
const small = `small${run}`;
const sid = (await bob.request({ type: "create", name: small })).result.membership.room.id;
for (let i = 0; i < 50; i++) await bob.request({ type: "send", room: sid, clientId: `s-${stamp}-${i}`, body: `small ${i}` });
await a.getByRole("button", { name: "Browse rooms" }).click();
await a.getByRole("button", { name: `Join #${small}` }).click();
await a.locator(".log .body", { hasText: "small 49" }).waitFor();
const t2: number[] = [];
for (let i = 0; i < 20; i++) {
  const t = Date.now();
  await bob.request({ type: "send", room: sid, clientId: `s2-${stamp}-${i}`, body: `tiny ${i}` });
  await a.locator(".log .body", { hasText: `tiny ${i}` }).waitFor();
  t2.push(Date.now() - t);
}
t2.sort((x, y) => x - y);
console.log("live message to DOM with 50 loaded: median", t2[10], "ms, max", t2[19], "ms");
if (b.errors.length > 0) console.log("console errors", b.errors);
bob.close();
await b.close();
await srv.stop();
