// Where replies go. Command handlers never write to the socket: they add messages to a
// ResponseBuffer (as in ergo's irc/responsebuffer.go), which frames them when the command is
// done — the label on the one reply, a labeled-response batch around several, an ACK for none.
// Events that do not answer a command go through the client's direct sink, written at once.

import type { CapLookup } from "./caps.ts";
import type { IrcMessage } from "./message.ts";

/** What a sink needs from the client it writes to. */
export interface Writer {
  readonly caps: CapLookup;
  readonly serverName: string;
  write(m: IrcMessage): void;
  nextBatchId(): string;
}

export interface Sink {
  add(m: IrcMessage): void;
  /**
   * A batch of `type`: BATCH +ref, the messages tagged batch=ref, BATCH -ref. Clients without the
   * batch capability get just the messages. `startTags` go on the BATCH +ref line.
   */
  batch(type: string, params: string[], messages: IrcMessage[], startTags?: Record<string, string>): void;
}

/** The lines of a batch, for a client that has the capability. */
export function batchLines(
  w: Writer,
  type: string,
  params: string[],
  messages: IrcMessage[],
  startTags: Record<string, string> = {},
): IrcMessage[] {
  if (!w.caps.has("batch")) return messages;
  const ref = w.nextBatchId();
  return [
    { tags: startTags, source: w.serverName, command: "BATCH", params: [`+${ref}`, type, ...params] },
    ...messages.map((m) => (m.tags.batch === undefined ? { ...m, tags: { ...m.tags, batch: ref } } : m)),
    { tags: {}, source: w.serverName, command: "BATCH", params: [`-${ref}`] },
  ];
}

/** Writes at once: for events and anything that answers no command. */
export class DirectSink implements Sink {
  constructor(private readonly w: Writer) {}

  add(m: IrcMessage): void {
    this.w.write(m);
  }

  batch(type: string, params: string[], messages: IrcMessage[], startTags?: Record<string, string>): void {
    for (const m of batchLines(this.w, type, params, messages, startTags)) this.w.write(m);
  }
}

/** Collects one command's replies; `flush` frames and writes them. */
export class ResponseBuffer implements Sink {
  private readonly lines: IrcMessage[] = [];
  private flushed = false;

  constructor(
    private readonly w: Writer,
    /** The command's label tag, when the client negotiated labeled-response. */
    private label: string | null,
  ) {}

  /** A command answered later (BATCH +) drops its label; the one that answers (BATCH -) takes it. */
  relabel(label: string | null): void {
    this.label = label;
  }

  add(m: IrcMessage): void {
    if (this.flushed) {
      this.w.write(m);
      return;
    }
    this.lines.push(m);
  }

  batch(type: string, params: string[], messages: IrcMessage[], startTags?: Record<string, string>): void {
    for (const m of batchLines(this.w, type, params, messages, startTags)) this.add(m);
  }

  get size(): number {
    return this.lines.length;
  }

  flush(): void {
    if (this.flushed) return;
    this.flushed = true;
    const lines = this.lines;
    const label = this.label;
    if (label === null) {
      for (const m of lines) this.w.write(m);
      return;
    }
    if (lines.length === 0) {
      this.w.write({ tags: { label }, source: this.w.serverName, command: "ACK", params: [] });
      return;
    }
    if (lines.length === 1 || !this.w.caps.has("batch")) {
      const [first, ...rest] = lines;
      this.w.write({ ...first!, tags: { label, ...first!.tags } });
      for (const m of rest) this.w.write(m);
      return;
    }
    // A reply that is one batch already carries the label on its BATCH start.
    const whole = lines[0]!.command === "BATCH" && lines[lines.length - 1]!.command === "BATCH" && isOneBatch(lines);
    if (whole) {
      this.w.write({ ...lines[0]!, tags: { label, ...lines[0]!.tags } });
      for (const m of lines.slice(1)) this.w.write(m);
      return;
    }
    for (const m of batchLines(this.w, "labeled-response", [], lines, { label })) this.w.write(m);
  }
}

/** True when the lines are exactly one batch: its start, its lines, its end. */
function isOneBatch(lines: IrcMessage[]): boolean {
  const start = lines[0]!.params[0] ?? "";
  if (!start.startsWith("+")) return false;
  const ref = start.slice(1);
  const end = lines[lines.length - 1]!;
  if (end.params[0] !== `-${ref}`) return false;
  return lines.slice(1, -1).every((m) => m.tags.batch === ref || (m.command === "BATCH" && m.tags.batch === ref));
}
