// The load generator's config (bench/lib.ts LoadConfig) for a codec test: one generator, a small
// client count, the raw WebSocket client and one room unless the test says otherwise.

import type { LoadConfig, Protocol } from "../../bench/lib.ts";

export function codecConfig(url: string, protocol: Protocol, overrides: Partial<LoadConfig> = {}): LoadConfig {
  return {
    url,
    protocol,
    index: 0,
    generators: 1,
    clients: 2,
    senders: 2,
    connectBatch: 1,
    bodyBytes: 64,
    transport: "raw",
    namePrefix: "t",
    rooms: 1,
    ...overrides,
  };
}
