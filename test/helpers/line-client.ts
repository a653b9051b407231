// A TCP client for line mode, like `nc`: send lines, wait for lines (or a prompt) matching a pattern.

import { connect, type Socket } from "node:net";

const PROMPT = /^(?:Your name: |Password for [^:]*\(shown as you type\): )+/;

export class LineClient {
  /** Complete lines received (without the line ending). */
  readonly lines: string[] = [];
  /** Text received after the last line ending (a prompt such as "Your name: "). */
  partial = "";
  readonly ended: Promise<void>;
  private waiters: (() => void)[] = [];
  private raw = Buffer.alloc(0);

  private constructor(readonly socket: Socket) {
    socket.on("data", (d: Buffer) => this.onData(d));
    socket.on("error", () => {});
    this.ended = new Promise((resolve) => socket.once("close", () => resolve()));
    void this.ended.then(() => this.wake());
  }

  static connect(port: number, host = "127.0.0.1", localAddress?: string): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host, localAddress });
      socket.once("connect", () => resolve(new LineClient(socket)));
      socket.once("error", reject);
    });
  }

  /**
   * Connects, waits for the name prompt and answers it; for a registered name, answers the
   * password prompt too. Resolves once the greeting ("Hi NAME! …") arrived.
   */
  static async login(port: number, name: string, password?: string): Promise<LineClient> {
    const c = await LineClient.connect(port);
    await c.waitForPrompt(/Your name: $/);
    c.send(name);
    if (password !== undefined) {
      await c.waitForPrompt(/Password for .*: $/);
      c.send(password);
    }
    await c.waitForLine(new RegExp(`^Hi ${name}! You are in #lobby\\.`));
    return c;
  }

  private onData(d: Buffer): void {
    this.raw = Buffer.concat([this.raw, d]);
    let nl = this.raw.indexOf(10);
    while (nl !== -1) {
      // On a terminal the user's typed answer (echoed locally) ends a prompt's line; here the
      // server's next line follows the prompt directly, so the prompt is split off as a line.
      const text = this.raw.subarray(0, nl).toString("utf8").replace(/\r$/, "");
      const prompt = PROMPT.exec(text);
      if (prompt) this.lines.push(prompt[0].trimEnd(), text.slice(prompt[0].length));
      else this.lines.push(text);
      this.raw = this.raw.subarray(nl + 1);
      nl = this.raw.indexOf(10);
    }
    this.partial = this.raw.toString("utf8");
    this.wake();
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Sends a line (a string, terminated with \n, or raw bytes sent as they are plus \n). */
  send(line: string | Buffer): void {
    this.socket.write(typeof line === "string" ? `${line}\n` : Buffer.concat([line, Buffer.from("\n")]));
  }

  /** Resolves with the first complete line at index ≥ `from` that matches. */
  async waitForLine(re: RegExp, opts: { from?: number; timeout?: number } = {}): Promise<string> {
    const deadline = Date.now() + (opts.timeout ?? 5000);
    let i = opts.from ?? 0;
    for (;;) {
      for (; i < this.lines.length; i++) if (re.test(this.lines[i]!)) return this.lines[i]!;
      if (this.socket.destroyed && this.raw.length === 0) {
        throw new Error(`connection closed while waiting for ${re}; got:\n${this.lines.join("\n")}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${re}; got:\n${this.lines.slice(-30).join("\n")}\n${this.partial}`);
      await Promise.race([this.changed(), new Promise((r) => setTimeout(r, left))]);
    }
  }

  /** Waits for the unterminated text after the last line to match (prompts). */
  async waitForPrompt(re: RegExp, timeout = 5000): Promise<void> {
    const deadline = Date.now() + timeout;
    while (!re.test(this.partial)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for prompt ${re}; got:\n${this.lines.join("\n")}\n${this.partial}`);
      await Promise.race([this.changed(), new Promise((r) => setTimeout(r, left))]);
    }
  }

  /** Lines received from index `from` on. */
  since(from: number): string[] {
    return this.lines.slice(from);
  }

  close(): void {
    this.socket.destroy();
  }
}
