// A modal built on <dialog>: showModal() gives focus trapping, Esc to close and an inert page.

import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { usePrefs } from "../prefs.ts";
import { Icon } from "./icon.tsx";

export function Dialog(props: { title: string; onClose: () => void; children: ComponentChildren; class?: string }) {
  const { t } = usePrefs();
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  return (
    <dialog
      ref={ref}
      class={props.class ? `dialog ${props.class}` : "dialog"}
      aria-labelledby="dialog-title"
      onClose={props.onClose}
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
    >
      <header>
        <h2 id="dialog-title">{props.title}</h2>
        <button type="button" class="icon" aria-label={t("dialog.close")} onClick={props.onClose}>
          <Icon name="close" />
        </button>
      </header>
      {props.children}
    </dialog>
  );
}
