// Network helpers for fault tests: a port nobody listens on, and a TCP proxy that can be cut.

import net from "node:net";

/** A local port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A TCP proxy to a server (Redis, PostgreSQL) that can be taken down (refusing connections,
 * cutting live ones) and brought back. `defaultPort` is used when the URL names none.
 */
export async function tcpProxy(target: URL, defaultPort: number) {
  const host = target.hostname || "127.0.0.1";
  const targetPort = Number(target.port || defaultPort);
  const sockets = new Set<net.Socket>();
  let server: net.Server | null = null;
  let port = 0;
  const listen = async () => {
    const s = net.createServer((client) => {
      const upstream = net.connect(targetPort, host);
      for (const sock of [client, upstream]) {
        sockets.add(sock);
        sock.on("error", () => {});
        sock.on("close", () => {
          sockets.delete(sock);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => s.listen(port, "127.0.0.1", resolve));
    port = (s.address() as net.AddressInfo).port;
    server = s;
  };
  await listen();
  return {
    get port() {
      return port;
    },
    async down() {
      const s = server;
      server = null;
      const closed = s ? new Promise<void>((resolve) => s.close(() => resolve())) : Promise.resolve();
      for (const sock of sockets) sock.destroy();
      await closed;
    },
    /** Cuts the live connections but keeps accepting new ones (a restart, seen from the pool). */
    cut() {
      for (const sock of sockets) sock.destroy();
    },
    async up() {
      if (!server) await listen();
    },
    async close() {
      await this.down();
    },
  };
}
