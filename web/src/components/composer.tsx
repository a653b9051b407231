// The message box. Enter sends and Shift+Enter breaks the line; while an input method is
// composing (Chinese, Japanese, Korean), Enter belongs to the IME and never sends. Up on an
// empty box edits my last message. Drafts are kept per room.

import { useEffect, useRef, useState } from "preact/hooks";
import type { ChatClient } from "../client.ts";
import { errorText, usePrefs } from "../prefs.ts";
import type { RoomState } from "../rooms.ts";
import type { Compose } from "./message.tsx";

export function Composer(props: { client: ChatClient; room: RoomState; compose: Compose; onCompose: (c: Compose) => void }) {
  const { client, room, compose } = props;
  const { t } = usePrefs();
  const [text, setText] = useState(client.drafts.get(room.id) ?? "");
  const [error, setError] = useState<string | null>(null);
  const box = useRef<HTMLTextAreaElement>(null);
  const composing = useRef(false);
  const name = room.membership.room.kind === "direct" ? `@${room.peer ?? ""}` : `#${room.membership.room.name}`;

  useEffect(() => {
    if (compose?.mode === "edit") setText(compose.message.body);
    if (compose) box.current?.focus();
  }, [compose]);

  const update = (value: string) => {
    setText(value);
    setError(null);
    if (compose?.mode !== "edit") client.drafts.set(room.id, value);
    client.typing(room.id, value.trim() !== "" && compose?.mode !== "edit");
  };

  const reset = () => {
    props.onCompose(null);
    setText(client.drafts.get(room.id) ?? "");
  };

  const submit = () => {
    const body = text;
    if (body.trim() === "") return;
    const max = client.limits?.maxMessageBytes ?? 4000;
    if (new TextEncoder().encode(body).length > max) {
      setError(t("error.TOO_LARGE"));
      return;
    }
    if (compose?.mode === "edit") {
      const id = compose.message.id;
      client.edit(id, body).then(reset, (err) => setError(errorText(t, err)));
      return;
    }
    client.send(room.id, body, compose?.mode === "reply" ? compose.message.id : null);
    client.drafts.delete(room.id);
    client.typing(room.id, false);
    setText("");
    props.onCompose(null);
  };

  const onKeyDown = (e: KeyboardEvent) => {
    // keyCode 229 marks keys an IME is processing; some browsers end composition before keydown.
    const imeBusy = e.isComposing || composing.current || e.keyCode === 229;
    if (e.key === "Enter" && !e.shiftKey && !imeBusy) {
      e.preventDefault();
      submit();
    } else if (e.key === "Escape" && compose) {
      e.preventDefault();
      reset();
    } else if (e.key === "ArrowUp" && text === "" && !compose && !imeBusy) {
      const mine = [...room.messages].reverse().find((m) => m.authorId === client.me.id && !m.deleted);
      if (mine) {
        e.preventDefault();
        props.onCompose({ mode: "edit", message: mine });
      }
    }
  };

  if (room.membership.muted) return <p class="composer muted">{t("composer.muted")}</p>;
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      {compose && (
        <div class="compose-mode">
          <span>
            {compose.mode === "edit" ? t("composer.editing") : t("composer.replying", { name: compose.message.author })}
          </span>
          <button type="button" class="link" onClick={reset}>
            {t("composer.cancel")}
          </button>
        </div>
      )}
      {error && (
        <p class="error small" role="alert">
          {error}
        </p>
      )}
      <div class="compose-row">
        <label for="composer" class="sr-only">
          {t("composer.label", { room: name })}
        </label>
        <textarea
          id="composer"
          ref={box}
          rows={1}
          value={text}
          placeholder={t("composer.label", { room: name })}
          onInput={(e) => update(e.currentTarget.value)}
          onKeyDown={onKeyDown}
          onCompositionStart={() => {
            composing.current = true;
          }}
          onCompositionEnd={() => {
            composing.current = false;
          }}
        />
        <button type="submit" class="primary send">
          {compose?.mode === "edit" ? t("composer.save") : t("composer.send")}
        </button>
      </div>
    </form>
  );
}
