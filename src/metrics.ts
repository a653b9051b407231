// Prometheus metrics, served at GET /metrics. One registry per server, so tests can run several.

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export type Protocol = "ws" | "line" | "irc" | "http";

/** A gateway's output flush counts (protocols/flush.ts), read when /metrics is scraped. */
export interface FlushCounts {
  readonly flushes: number;
  readonly writes: number;
}

/**
 * How often the event-loop lag histogram (the `nodejs_eventloop_lag_*` gauges) takes a sample: a
 * timer that wakes the loop each time. prom-client's default, 10 ms, woke an idle server 100
 * times a second, ~40% of its CPU with 10,000 idle connections (docs/benchmarks.md, session 10,
 * `idlecpu`). Each sample is the time between two wakes, so the gauges read this much (0.1 s)
 * plus the lag (NaN before two samples, 0.2 s after start); a stall of 100 ms or more is always
 * caught, a shorter one in proportion.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "parley_", eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  /** Each gateway's flush scheduler, by protocol: the gateways register theirs when they start. */
  const flushers = new Map<Protocol, FlushCounts>();
  /**
   * Messages committed, by protocol: plain numbers on the send path, read into the counter when
   * /metrics is scraped (a labelled inc builds and looks up its label key on every call).
   */
  const sent: Record<Protocol, number> = { ws: 0, line: 0, irc: 0, http: 0 };
  /** A counter of one of the schedulers' counts, read from them when /metrics is scraped. */
  const flushCounter = (name: string, help: string, count: keyof FlushCounts) =>
    new Counter({
      name,
      help,
      labelNames: ["protocol"] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [protocol, f] of flushers) this.inc({ protocol }, f[count]);
      },
    });
  return {
    registry,
    flushers,
    connections: new Gauge({
      name: "parley_connections",
      help: "Open client connections",
      labelNames: ["protocol"] as const,
      registers: [registry],
    }),
    connectionsTotal: new Counter({
      name: "parley_connections_total",
      help: "Client connections accepted",
      labelNames: ["protocol"] as const,
      registers: [registry],
    }),
    messages: new Counter({
      name: "parley_messages_total",
      help: "Messages committed (first sends only, not idempotent retries)",
      labelNames: ["protocol"] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [protocol, n] of Object.entries(sent)) if (n > 0) this.inc({ protocol }, n);
      },
    }),
    /** Counts a committed message (a first send, not an idempotent retry) in `parley_messages_total`. */
    messageSent(protocol: Protocol): void {
      sent[protocol]++;
    },
    errors: new Counter({
      name: "parley_errors_total",
      help: "Errors returned to clients, by code",
      labelNames: ["protocol", "code"] as const,
      registers: [registry],
    }),
    disconnects: new Counter({
      name: "parley_disconnects_total",
      help: "Connections closed by the server, by reason",
      labelNames: ["protocol", "reason"] as const,
      registers: [registry],
    }),
    // Socket writes are most of the CPU per delivery (protocols/flush.ts): with the messages
    // counter these give writes per message and frames per write, for benchmarks and operators.
    flushes: flushCounter("parley_flushes_total", "Output flushes: each writes every client that has output queued", "flushes"),
    flushWrites: flushCounter(
      "parley_flush_writes_total",
      "Clients written by output flushes, each in one socket write",
      "writes",
    ),
    commitSeconds: new Histogram({
      name: "parley_commit_seconds",
      help: "Time from append request to durable commit",
      labelNames: ["type"] as const,
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
