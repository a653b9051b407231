// The command line every WebSocket peer takes: --host (default 127.0.0.1), --port (default 9000),
// --help with the peer's usage line, and its own boolean flags.

export function peerArgs(usage: string): { host: string; port: number; flag: (name: string) => boolean } {
  const argv = process.argv;
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  if (argv.includes("--help")) {
    process.stdout.write(`usage: ${usage}\n`);
    process.exit(0);
  }
  return { host: arg("--host") ?? "127.0.0.1", port: Number(arg("--port") ?? "9000"), flag: (name) => argv.includes(name) };
}
