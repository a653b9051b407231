// Builds the web client into web/dist. With --if-stale (what `npm start` runs first) it builds only
// when web/dist is missing or older than a source file, so a fresh clone serves the client after
// `npm install && npm start` and later starts cost nothing.

import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";

const WEB = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(WEB, "..");
const DIST_INDEX = join(WEB, "dist", "index.html");

/** Newest modification time among the files the bundle is built from. */
function newestSource(): number {
  const inputs = [join(WEB, "src"), join(WEB, "public"), join(WEB, "index.html"), join(WEB, "vite.config.ts")];
  inputs.push(join(ROOT, "src", "protocols", "ws", "wire.ts"), join(ROOT, "package-lock.json"));
  let newest = 0;
  const visit = (path: string): void => {
    if (!existsSync(path)) return;
    const st = statSync(path);
    if (st.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
    else newest = Math.max(newest, st.mtimeMs);
  };
  for (const p of inputs) visit(p);
  return newest;
}

export function isStale(): boolean {
  return !existsSync(DIST_INDEX) || statSync(DIST_INDEX).mtimeMs < newestSource();
}

if (process.argv.includes("--if-stale") && !isStale()) process.exit(0);
const started = Date.now();
await build({ configFile: join(WEB, "vite.config.ts") });
process.stdout.write(`web client built into web/dist in ${Date.now() - started} ms\n`);
