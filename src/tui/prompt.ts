// Questions asked before the chat screen opens: the account name, and the password without
// echoing it (raw mode on the terminal, reading until Enter; no extra packages). When stdin is
// not a terminal (a script), each answer is one line read from it.

import { splitGraphemes, width } from "./wrap.ts";

// An escape sequence: ESC [ … final byte, ESC O x, or ESC and one character.
const ESCAPES = new RegExp(`${String.fromCharCode(27)}(\\[[0-9;?]*[ -/]*[@-~]|O.|.)?`, "g");

export interface PromptIO {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
}

/** Null when the person gave up (Ctrl+C, Ctrl+D on an empty answer, end of input). */
export type Answer = string | null;

export function ask(question: string, io: PromptIO, opts: { hidden?: boolean } = {}): Promise<Answer> {
  io.stdout.write(question);
  return io.stdin.isTTY ? askTerminal(io, opts.hidden ?? false) : askPipe(io);
}

function askTerminal(io: PromptIO, hidden: boolean): Promise<Answer> {
  const { stdin, stdout } = io;
  return new Promise((resolve) => {
    let answer = "";
    const erase = (cols: number) => stdout.write("\b".repeat(cols) + " ".repeat(cols) + "\b".repeat(cols));
    const done = (value: Answer) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      stdout.write("\n");
      resolve(value);
    };
    const onData = (chunk: string) => {
      // Escape sequences (arrow keys, …) are not part of an answer.
      const text = chunk.replace(ESCAPES, "");
      for (const ch of text) {
        if (ch === "\r" || ch === "\n") {
          done(answer);
          return;
        }
        if (ch === "\x03") {
          done(null);
          return;
        }
        if (ch === "\x04") {
          if (answer === "") {
            done(null);
            return;
          }
          continue;
        }
        if (ch === "\x7f" || ch === "\b") {
          const g = splitGraphemes(answer);
          const last = g.pop();
          answer = g.join("");
          if (last && !hidden) erase(width(last));
          continue;
        }
        if (ch === "\x15") {
          if (!hidden) erase(width(answer));
          answer = "";
          continue;
        }
        if (ch < " ") continue;
        answer += ch;
        if (!hidden) stdout.write(ch);
      }
    };
    stdin.setEncoding("utf8");
    stdin.setRawMode(true);
    stdin.on("data", onData);
    stdin.resume();
  });
}

let piped = "";
let pipeEnded = false;

function askPipe(io: PromptIO): Promise<Answer> {
  const { stdin, stdout } = io;
  return new Promise((resolve) => {
    const take = (): boolean => {
      const nl = piped.indexOf("\n");
      if (nl !== -1) {
        const line = piped.slice(0, nl).replace(/\r$/, "");
        piped = piped.slice(nl + 1);
        finish(line);
        return true;
      }
      if (pipeEnded) {
        const rest = piped;
        piped = "";
        finish(rest === "" ? null : rest);
        return true;
      }
      return false;
    };
    const onData = (chunk: string) => {
      piped += chunk;
      take();
    };
    const onEnd = () => {
      pipeEnded = true;
      take();
    };
    const finish = (value: Answer) => {
      stdin.off("data", onData);
      stdin.off("end", onEnd);
      stdin.pause();
      stdout.write("\n");
      resolve(value);
    };
    if (take()) return;
    stdin.setEncoding("utf8");
    stdin.on("data", onData);
    stdin.on("end", onEnd);
    stdin.resume();
  });
}
