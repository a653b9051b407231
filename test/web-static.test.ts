// How the server serves the built web client: security headers, caching, SPA fallback, and that
// the API keeps its own paths. Needs web/dist (npm run build:web; test:browser builds it first).

import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { api } from "./helpers/http.ts";
import { ROOT, startServer, type TestServer } from "./helpers/server.ts";

const DIST = join(ROOT, "web", "dist");

describe("serving the web client", () => {
  let srv: TestServer;

  before(async () => {
    if (!existsSync(join(DIST, "index.html"))) {
      const { execFileSync } = await import("node:child_process");
      execFileSync(process.execPath, [join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), join(ROOT, "web", "build.ts")], {
        stdio: "inherit",
      });
    }
    srv = await startServer();
  });

  after(async () => {
    await srv?.stop();
  });

  it("serves index.html at / with a strict Content-Security-Policy and no caching", async () => {
    const res = await api(srv, "GET", "/");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    const csp = res.headers.get("content-security-policy") ?? "";
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ]) {
      assert.ok(csp.includes(directive), `${directive} in ${csp}`);
    }
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.equal(res.headers.get("referrer-policy"), "no-referrer");
    assert.equal(res.headers.get("cache-control"), "no-cache");
    // No inline script or style in the page: everything comes from /assets.
    assert.doesNotMatch(res.text, /<script(?![^>]*\bsrc=)[^>]*>/i);
    assert.doesNotMatch(res.text, /<style|style=/i);
    assert.match(res.text, /<script type="module" crossorigin src="\/assets\/[^"]+\.js"><\/script>/);
  });

  it("caches hashed assets forever and revalidates the rest with ETags", async () => {
    const js = readdirSync(join(DIST, "assets")).find((f) => f.endsWith(".js"));
    assert.ok(js);
    const res = await api(srv, "GET", `/assets/${js}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/javascript/);
    assert.equal(res.headers.get("cache-control"), "public, max-age=31536000, immutable");
    const index = await api(srv, "GET", "/");
    const etag = index.headers.get("etag") ?? "";
    assert.ok(etag);
    const again = await api(srv, "GET", "/", { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
    const head = await api(srv, "HEAD", `/assets/${js}`);
    assert.equal(head.status, 200);
    assert.equal(head.text, "");
  });

  it("answers page routes with the app and missing files with 404", async () => {
    const page = await api(srv, "GET", "/rooms/lobby", { headers: { accept: "text/html" } });
    assert.equal(page.status, 200);
    assert.match(page.text, /<div id="app">/);
    assert.equal((await api(srv, "GET", "/assets/missing.js")).status, 404);
    assert.equal((await api(srv, "GET", "/nothing-here", { headers: { accept: "application/json" } })).status, 404);
    assert.equal((await api(srv, "GET", "/../../etc/passwd", { headers: { accept: "text/html" } })).status, 200); // normalized to /etc/passwd: a page route
  });

  it("leaves the API, health and metrics paths to the server", async () => {
    const res = await api(srv, "GET", "/api/nope", { headers: { accept: "text/html" } });
    assert.equal(res.status, 404);
    assert.equal(res.json.error.code, "NOT_FOUND");
    assert.equal((await api(srv, "GET", "/healthz")).json.status, "ok");
    assert.equal((await api(srv, "POST", "/")).status, 405);
  });
});
