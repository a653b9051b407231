import type { Duplex } from "node:stream";

/**
 * Resolves once a socket's unsent output is below `lowWater` bytes (it drained) or the socket
 * closed. Protocols use it while replaying history, so a replay never outruns a slow reader.
 */
export function whenDrained(socket: Duplex, pending: () => number, lowWater: number): Promise<void> {
  if (pending() < lowWater || socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      socket.off("drain", done);
      socket.off("close", done);
      resolve();
    };
    socket.on("drain", done);
    socket.on("close", done);
  });
}
