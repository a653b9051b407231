// Terminal input → key actions. Ink splits stdin into runs of plain text and single escape
// sequences; this turns each of those into what the client does with it. It is our own table
// (not Ink's key object) because Ink reports Backspace and Delete alike, and because text that
// arrives together with Enter in one read must still be sent.

export type KeyAction =
  | { kind: "insert"; text: string }
  | {
      kind:
        | "submit"
        | "newline"
        | "backspace"
        | "delete"
        | "left"
        | "right"
        | "wordLeft"
        | "wordRight"
        | "home"
        | "end"
        | "up"
        | "down"
        | "pageUp"
        | "pageDown"
        | "killStart"
        | "killEnd"
        | "killWord"
        | "nextRoom"
        | "prevRoom"
        | "complete"
        | "escape"
        | "redraw"
        | "interrupt"
        | "eof";
    }
  | { kind: "room"; index: number };

const CONTROL: Record<string, KeyAction["kind"]> = {
  "\r": "submit",
  "\n": "newline",
  "\x7f": "backspace",
  "\b": "backspace",
  "\x01": "home",
  "\x05": "end",
  "\x02": "left",
  "\x06": "right",
  "\x15": "killStart",
  "\x0b": "killEnd",
  "\x17": "killWord",
  "\x0e": "nextRoom",
  "\x10": "prevRoom",
  "\t": "complete",
  "\x0c": "redraw",
  "\x03": "interrupt",
  "\x04": "eof",
};

const SEQUENCES: Record<string, KeyAction["kind"]> = {
  "\x1b[A": "up",
  "\x1b[B": "down",
  "\x1b[C": "right",
  "\x1b[D": "left",
  "\x1bOA": "up",
  "\x1bOB": "down",
  "\x1bOC": "right",
  "\x1bOD": "left",
  "\x1b[H": "home",
  "\x1b[F": "end",
  "\x1bOH": "home",
  "\x1bOF": "end",
  "\x1b[1~": "home",
  "\x1b[4~": "end",
  "\x1b[7~": "home",
  "\x1b[8~": "end",
  "\x1b[3~": "delete",
  "\x1b[5~": "pageUp",
  "\x1b[6~": "pageDown",
  "\x1b[1;5C": "wordRight",
  "\x1b[1;5D": "wordLeft",
  "\x1b[1;3C": "wordRight",
  "\x1b[1;3D": "wordLeft",
  "\x1b\x1b[C": "wordRight",
  "\x1b\x1b[D": "wordLeft",
  "\x1bb": "wordLeft",
  "\x1bf": "wordRight",
  "\x1b\x7f": "killWord",
  "\x1b\b": "killWord",
  "\x1b\r": "newline",
  "\x1b\n": "newline",
  "\x1b": "escape",
  "\x1b\x1b": "escape",
  "\x1b[1;5A": "pageUp",
  "\x1b[1;5B": "pageDown",
};

export const PASTE_START = "\x1b[200~";
export const PASTE_END = "\x1b[201~";

/**
 * Turns one chunk of terminal input into key actions. Inside a bracketed paste (`pasting`)
 * line breaks are inserted rather than sent. Returns the actions and whether a paste is open.
 */
export function parseKeys(chunk: string, pasting = false): { actions: KeyAction[]; pasting: boolean } {
  const actions: KeyAction[] = [];
  if (chunk === PASTE_START) return { actions, pasting: true };
  if (chunk === PASTE_END) return { actions, pasting: false };
  if (chunk.startsWith("\x1b")) {
    const kind = SEQUENCES[chunk];
    if (kind) actions.push({ kind } as KeyAction);
    else if (chunk.length === 2 && chunk[1]! >= "0" && chunk[1]! <= "9") {
      const n = Number(chunk[1]);
      actions.push({ kind: "room", index: n === 0 ? 9 : n - 1 });
    }
    return { actions, pasting };
  }
  let text = "";
  const flush = () => {
    if (text) actions.push({ kind: "insert", text });
    text = "";
  };
  let afterCr = false;
  for (const ch of chunk) {
    const c = ch.codePointAt(0)!;
    if (pasting && (ch === "\r" || ch === "\n")) {
      // A pasted \r\n is one line break.
      if (!(ch === "\n" && afterCr)) text += "\n";
      afterCr = ch === "\r";
      continue;
    }
    afterCr = false;
    if (pasting && ch === "\t") {
      text += "    ";
      continue;
    }
    if (c < 0x20 || c === 0x7f) {
      flush();
      const kind = CONTROL[ch];
      if (kind) actions.push({ kind } as KeyAction);
      continue;
    }
    text += ch;
  }
  flush();
  return { actions, pasting };
}
