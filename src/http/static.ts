// Serves the built web client (web/dist) with the headers a chat client handling untrusted text
// needs: a strict Content-Security-Policy (scripts and styles only from this origin, nothing
// inline, no framing), nosniff, no referrer. Vite's hashed assets are cached forever; everything
// else, index.html above all, is revalidated on every load. Unknown paths that a browser asks
// for as a page get index.html (the client routes itself).

import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, relative, sep } from "node:path";

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json; charset=utf-8",
  ".webmanifest": "application/manifest+json",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

interface File {
  body: Buffer;
  type: string;
  etag: string;
  immutable: boolean;
}

export interface StaticSite {
  /** Answers a GET or HEAD for `pathname` if the site has it (or it is a page route); false otherwise. */
  serve(req: IncomingMessage, res: ServerResponse, pathname: string): boolean;
}

/** Loads the built client from `dir` into memory; null when there is no build there. */
export function loadStaticSite(dir: string): StaticSite | null {
  if (!existsSync(join(dir, "index.html"))) return null;
  const files = new Map<string, File>();
  const visit = (path: string): void => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      if (statSync(full).isDirectory()) visit(full);
      else {
        const body = readFileSync(full);
        const url = `/${relative(dir, full).split(sep).join("/")}`;
        files.set(url, {
          body,
          type: TYPES[extname(name)] ?? "application/octet-stream",
          etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
          immutable: url.startsWith("/assets/"),
        });
      }
    }
  };
  visit(dir);
  const index = files.get("/index.html")!;

  return {
    serve(req, res, pathname) {
      let file = files.get(pathname === "/" ? "/index.html" : pathname);
      if (!file) {
        // A page route (a reload on a deep link): the app. A missing asset is a plain 404.
        const wantsPage = (req.headers.accept ?? "").includes("text/html") && extname(pathname) === "";
        if (!wantsPage) return false;
        file = index;
      }
      res.setHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY);
      res.setHeader("X-Content-Type-Options", "nosniff");
      res.setHeader("Referrer-Policy", "no-referrer");
      res.setHeader("X-Frame-Options", "DENY");
      res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
      res.setHeader("Cache-Control", file.immutable ? "public, max-age=31536000, immutable" : "no-cache");
      res.setHeader("ETag", file.etag);
      if (req.headers["if-none-match"] === file.etag) {
        res.writeHead(304).end();
        return true;
      }
      res.writeHead(200, { "Content-Type": file.type, "Content-Length": file.body.length });
      res.end(req.method === "HEAD" ? undefined : file.body);
      return true;
    },
  };
}
