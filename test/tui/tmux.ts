// Drives a program in a real terminal: a tmux server on its own socket (so nothing touches the
// user's tmux), one session of a fixed size; send-keys types, capture-pane reads the screen.

import { execFileSync } from "node:child_process";
import stringWidth from "string-width";

export class Tmux {
  readonly socket = `parley-e2e-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  readonly session = "chat";
  private started = false;

  constructor() {
    process.on("exit", () => this.kill());
  }

  private tmux(args: string[]): string {
    return execFileSync("tmux", ["-u", "-L", this.socket, "-f", "/dev/null", ...args], { encoding: "utf8", timeout: 10_000 });
  }

  /** Runs `command` (a shell line) in a new detached session of cols × rows; the pane stays after it exits. */
  start(command: string, cols: number, rows: number): void {
    this.tmux(["new-session", "-d", "-s", this.session, "-x", String(cols), "-y", String(rows), command]);
    this.started = true;
    this.tmux(["set-option", "-t", this.session, "remain-on-exit", "on"]);
  }

  /** Key names as tmux knows them (Enter, PPage, M-1, C-n …). */
  keys(...keys: string[]): void {
    this.tmux(["send-keys", "-t", this.session, ...keys]);
  }

  /** Literal text. */
  type(text: string): void {
    this.tmux(["send-keys", "-t", this.session, "-l", text]);
  }

  /** The screen, one string per row (trailing spaces trimmed by tmux). */
  screen(): string[] {
    return this.tmux(["capture-pane", "-p", "-t", this.session]).replace(/\n$/, "").split("\n");
  }

  resize(cols: number, rows: number): void {
    this.tmux(["resize-window", "-t", this.session, "-x", String(cols), "-y", String(rows)]);
  }

  /**
   * Whether the program in the pane has exited, and how (exit status, or the signal that ended
   * it). The pane can read as dead (its terminal closed) a moment before tmux has the status.
   */
  paneDead(): { dead: boolean; status: number | null; signal: number | null } {
    const out = this.tmux(["display-message", "-p", "-t", this.session, "#{pane_dead}:#{pane_dead_status}:#{pane_dead_signal}"]);
    const [dead, status, signal] = out.trim().split(":");
    return { dead: dead === "1", status: status ? Number(status) : null, signal: signal ? Number(signal) : null };
  }

  /** Polls the screen until `check` accepts it; fails with the last screen. */
  async waitFor(
    check: string | RegExp | ((rows: string[]) => boolean),
    what = String(check),
    timeoutMs = 10_000,
  ): Promise<string[]> {
    const test =
      typeof check === "function"
        ? check
        : (rows: string[]) => (typeof check === "string" ? rows.join("\n").includes(check) : check.test(rows.join("\n")));
    const deadline = Date.now() + timeoutMs;
    let rows: string[] = [];
    for (;;) {
      rows = this.screen();
      if (test(rows)) return rows;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the screen was:\n${rows.join("\n")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  kill(): void {
    if (!this.started) return;
    this.started = false;
    try {
      this.tmux(["kill-server"]);
    } catch {
      // already gone
    }
  }
}

/** Display column at which `needle` starts in `row`, or -1. */
export function columnOf(row: string, needle: string): number {
  const i = row.indexOf(needle);
  return i === -1 ? -1 : stringWidth(row.slice(0, i));
}

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
