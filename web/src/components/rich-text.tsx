// Renders a message body from its parsed Markdown tree. Every piece of user text becomes a DOM
// text node; links carry only vetted http(s)/mailto hrefs and open in a new tab without opener.

import type { ComponentChildren } from "preact";
import { type MdNode, parseMarkdown } from "../markdown.ts";

export function RichText({ body, me }: { body: string; me: string }) {
  return <>{render(parseMarkdown(body), me.toLowerCase())}</>;
}

// The nodes of a body never move, so positional diffing (no keys) is exactly right.
function render(nodes: MdNode[], me: string): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  for (const n of nodes) out.push(renderNode(n, me));
  return out;
}

function renderNode(n: MdNode, me: string): ComponentChildren {
  switch (n.k) {
    case "text":
      return n.text;
    case "strong":
      return <strong>{render(n.children, me)}</strong>;
    case "em":
      return <em>{render(n.children, me)}</em>;
    case "code":
      return <code>{n.text}</code>;
    case "pre":
      return (
        <pre>
          <code>{n.text}</code>
        </pre>
      );
    case "link":
      return (
        <a href={n.href} target="_blank" rel="noopener noreferrer nofollow">
          {render(n.children, me)}
        </a>
      );
    case "mention":
      return <span class={n.name.toLowerCase() === me ? "mention mention-me" : "mention"}>@{n.name}</span>;
  }
}
