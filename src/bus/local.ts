// The in-process Bus: the default for a single server process. Delivery is asynchronous (a
// microtask later), as it is on any networked bus, so the core never relies on a publish
// arriving before the publisher's next statement.

import type { Bus, BusMessage } from "../core/ports.ts";

export class LocalBus implements Bus {
  private readonly topics = new Set<string>();
  private handler: ((topic: string, msg: BusMessage) => void) | null = null;

  async publish(topic: string, msg: BusMessage): Promise<void> {
    if (!this.topics.has(topic)) return;
    queueMicrotask(() => {
      if (this.topics.has(topic)) this.handler?.(topic, msg);
    });
  }

  async subscribe(topic: string): Promise<void> {
    this.topics.add(topic);
  }

  async unsubscribe(topic: string): Promise<void> {
    this.topics.delete(topic);
  }

  onMessage(handler: (topic: string, msg: BusMessage) => void): void {
    this.handler = handler;
  }

  onReconnect(_handler: () => void): void {
    // Nothing to lose in-process: there is no connection.
  }

  async close(): Promise<void> {
    this.topics.clear();
    this.handler = null;
  }
}
