// The safe Markdown subset messages are written in, parsed into a small tree that the renderer
// turns into DOM nodes (text is always set as text, never as HTML). Supported: **bold**, *italic*
// or _italic_, `inline code`, ``` code blocks ```, [text](https://…) links, bare http(s) URLs and
// @mentions. Anything else, including links to other schemes such as javascript:, stays text.

export type MdNode =
  | { k: "text"; text: string }
  | { k: "strong"; children: MdNode[] }
  | { k: "em"; children: MdNode[] }
  | { k: "code"; text: string }
  | { k: "pre"; text: string }
  | { k: "link"; href: string; children: MdNode[] }
  | { k: "mention"; name: string };

const FENCE = /```(?:[\w+-]{0,20}\n)?([\s\S]*?)```/g;

const INLINE = new RegExp(
  [
    /`(?<code>[^`\n]+)`/.source,
    /\[(?<label>[^\]\n]{1,500})\]\((?<target>[^)\s]{1,2000})\)/.source,
    /\*\*(?<strong>\S(?:[\s\S]*?\S)?)\*\*/.source,
    /(?<![\p{L}\p{N}*])\*(?<em1>[^\s*](?:[^*]*?[^\s*])?)\*(?![\p{L}\p{N}*])/u.source,
    /(?<![\p{L}\p{N}_])_(?<em2>[^\s_](?:[^_]*?[^\s_])?)_(?![\p{L}\p{N}_])/u.source,
    /(?<url>\bhttps?:\/\/[^\s<>"'`]+)/u.source,
    /(?<![\p{L}\p{N}_@-])@(?<mention>[\p{L}\p{N}][\p{L}\p{N}_-]{0,31})/u.source,
  ].join("|"),
  "gu",
);

const MAX_DEPTH = 4;

/** Parses a message body. */
export function parseMarkdown(body: string): MdNode[] {
  const out: MdNode[] = [];
  let last = 0;
  for (const m of body.matchAll(FENCE)) {
    if (m.index > last) out.push(...parseInline(body.slice(last, m.index), 0, true));
    out.push({ k: "pre", text: (m[1] ?? "").replace(/\n$/, "") });
    last = m.index + m[0].length;
  }
  if (last < body.length) out.push(...parseInline(body.slice(last), 0, true));
  return out;
}

function parseInline(s: string, depth: number, links: boolean): MdNode[] {
  const out: MdNode[] = [];
  const text = (t: string) => {
    if (t === "") return;
    const prev = out[out.length - 1];
    if (prev?.k === "text") prev.text += t;
    else out.push({ k: "text", text: t });
  };
  let last = 0;
  for (const m of s.matchAll(INLINE)) {
    const g = m.groups ?? {};
    let node: MdNode | null = null;
    let consumed = m[0];
    if (g.code !== undefined) node = { k: "code", text: g.code };
    else if (g.label !== undefined && g.target !== undefined) {
      const href = links ? safeHref(g.target) : null;
      if (href && depth < MAX_DEPTH) node = { k: "link", href, children: parseInline(g.label, depth + 1, false) };
    } else if (g.strong !== undefined && depth < MAX_DEPTH)
      node = { k: "strong", children: parseInline(g.strong, depth + 1, links) };
    else if ((g.em1 ?? g.em2) !== undefined && depth < MAX_DEPTH)
      node = { k: "em", children: parseInline((g.em1 ?? g.em2) as string, depth + 1, links) };
    else if (g.url !== undefined) {
      const url = trimUrl(g.url);
      const href = links ? safeHref(url) : null;
      if (href) {
        node = { k: "link", href, children: [{ k: "text", text: url }] };
        consumed = url;
      }
    } else if (g.mention !== undefined) node = { k: "mention", name: g.mention };
    if (!node) continue; // the match stays part of the surrounding text
    text(s.slice(last, m.index));
    out.push(node);
    last = m.index + consumed.length;
    if (consumed.length < m[0].length) {
      // Trailing punctuation cut from a URL is ordinary text; parse it with what follows.
      out.push(...parseInline(s.slice(last), depth, links));
      return merge(out);
    }
  }
  text(s.slice(last));
  return out;
}

function merge(nodes: MdNode[]): MdNode[] {
  const out: MdNode[] = [];
  for (const n of nodes) {
    const prev = out[out.length - 1];
    if (n.k === "text" && prev?.k === "text") prev.text += n.text;
    else out.push(n);
  }
  return out;
}

/** Drops punctuation that usually ends the sentence around a URL rather than the URL itself. */
function trimUrl(url: string): string {
  let u = url.replace(/[.,;:!?'"]+$/, "");
  while (u.endsWith(")") && count(u, "(") < count(u, ")")) u = u.slice(0, -1).replace(/[.,;:!?'"]+$/, "");
  return u;
}

function count(s: string, ch: string): number {
  return s.split(ch).length - 1;
}

/** The link target if it is an absolute http, https or mailto URL; null for anything else. */
export function safeHref(target: string): string | null {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:" && url.protocol !== "mailto:") return null;
  return url.href;
}

/** Whether a body mentions `name` (@name, case-insensitively, outside code). */
export function mentions(body: string, name: string): boolean {
  const want = name.toLowerCase();
  const walk = (nodes: MdNode[]): boolean =>
    nodes.some((n) =>
      n.k === "mention"
        ? n.name.toLowerCase() === want
        : n.k === "strong" || n.k === "em" || n.k === "link"
          ? walk(n.children)
          : false,
    );
  return body.includes("@") && walk(parseMarkdown(body));
}
