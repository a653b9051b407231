// `npx tsx bench/heap-summary.ts FILE.heapsnapshot [N]`: what a heap holds, by kind of object.
// Sums the self size and counts the nodes of a V8 heap snapshot per constructor (or per node
// type for strings, closures' contexts, arrays …) and prints the N largest groups. With
// `bench:sessions --heap-snapshot`, groups whose count is about the number of connections are
// the per-connection state.

import { readFileSync } from "node:fs";

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

const USAGE = "usage: npx tsx bench/heap-summary.ts FILE.heapsnapshot [N]   (N largest groups, default 40)\n";
const [file, top = "40"] = process.argv.slice(2);
if (file === "--help" || file === "-h") {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (!file) {
  process.stderr.write(USAGE);
  process.exit(2);
}
const snap = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
const fields = snap.snapshot.meta.node_fields;
const types = snap.snapshot.meta.node_types[0];
const [typeAt, nameAt, sizeAt] = ["type", "name", "self_size"].map((f) => fields.indexOf(f));
const groups = new Map<string, { count: number; bytes: number }>();
let total = 0;
for (let i = 0; i < snap.nodes.length; i += fields.length) {
  const type = types[snap.nodes[i + typeAt!]!]!;
  const size = snap.nodes[i + sizeAt!]!;
  // Objects and closures by name; everything else (strings, arrays, code, hidden) by type.
  const key = type === "object" || type === "closure" ? `${type} ${snap.strings[snap.nodes[i + nameAt!]!]}` : `(${type})`;
  const g = groups.get(key) ?? { count: 0, bytes: 0 };
  g.count++;
  g.bytes += size;
  groups.set(key, g);
  total += size;
}
process.stdout.write(`${file}: ${(total / 1048576).toFixed(1)} MiB in ${snap.nodes.length / fields.length} nodes\n`);
process.stdout.write("     bytes      count  bytes/each  group\n");
for (const [key, g] of [...groups].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, Number(top))) {
  process.stdout.write(
    `${String(g.bytes).padStart(10)} ${String(g.count).padStart(10)} ${(g.bytes / g.count).toFixed(0).padStart(11)}  ${key.slice(0, 80)}\n`,
  );
}
