// Drives a program in a real terminal: a tmux server on its own socket (so nothing touches the
// user's tmux), one session of a fixed size; send-keys types, capture-pane reads the screen.

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import stringWidth from "string-width";

/** Whether tmux can be run here. */
export function haveTmux(): boolean {
  try {
    execFileSync("tmux", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export class Tmux {
  readonly socket = `parley-e2e-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  readonly session = "chat";
  private started = false;
  private readonly statusFile = join(mkdtempSync(join(tmpdir(), "parley-tmux-")), "status");

  constructor() {
    process.on("exit", () => this.kill());
  }

  private tmux(args: string[]): string {
    return execFileSync("tmux", ["-u", "-L", this.socket, "-f", "/dev/null", ...args], { encoding: "utf8", timeout: 10_000 });
  }

  /**
   * Runs `command` (a shell line) in a new detached session of cols × rows. The shell waits for it
   * and writes its exit status to a file (tmux's own record of it proved unreliable here: the
   * server sometimes leaves the exited process unreaped for many seconds).
   */
  start(command: string, cols: number, rows: number): void {
    this.tmux([
      "new-session",
      "-d",
      "-s",
      this.session,
      "-x",
      String(cols),
      "-y",
      String(rows),
      `${command}; echo $? > ${this.statusFile}; sleep 600`,
    ]);
    this.started = true;
  }

  /** Key names as tmux knows them (Enter, PPage, M-1, C-n …). */
  keys(...keys: string[]): void {
    this.tmux(["send-keys", "-t", this.session, ...keys]);
  }

  /** Literal text. */
  type(text: string): void {
    this.tmux(["send-keys", "-t", this.session, "-l", text]);
  }

  /** The screen, one string per row (trailing spaces trimmed by tmux); with the SGR escapes when `styles`. */
  screen(styles = false): string[] {
    return this.tmux(["capture-pane", "-p", ...(styles ? ["-e"] : []), "-t", this.session])
      .replace(/\n$/, "")
      .split("\n");
  }

  resize(cols: number, rows: number): void {
    this.tmux(["resize-window", "-t", this.session, "-x", String(cols), "-y", String(rows)]);
  }

  /** Waits until the program has exited; resolves with its exit status. */
  async waitExit(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (existsSync(this.statusFile)) {
        const text = readFileSync(this.statusFile, "utf8").trim();
        if (text !== "") return Number(text);
      }
      if (Date.now() > deadline) {
        throw new Error(`the program did not exit in ${timeoutMs} ms; the screen was:\n${this.screen().join("\n")}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
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
    if (this.started) {
      this.started = false;
      try {
        this.tmux(["kill-server"]);
      } catch {
        // already gone
      }
    }
    rmSync(dirname(this.statusFile), { recursive: true, force: true });
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
