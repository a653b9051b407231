import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { XSS_PAYLOADS } from "../../test/browser/xss-payloads.ts";
import { type MdNode, mentions, parseMarkdown, safeHref } from "./markdown.ts";

describe("parseMarkdown", () => {
  it("keeps plain text as one text node", () => {
    assert.deepEqual(parseMarkdown("hello <b>world</b>"), [{ k: "text", text: "hello <b>world</b>" }]);
  });

  it("parses bold, italic and inline code", () => {
    assert.deepEqual(parseMarkdown("a **b** *c* _d_ `e*f*`"), [
      { k: "text", text: "a " },
      { k: "strong", children: [{ k: "text", text: "b" }] },
      { k: "text", text: " " },
      { k: "em", children: [{ k: "text", text: "c" }] },
      { k: "text", text: " " },
      { k: "em", children: [{ k: "text", text: "d" }] },
      { k: "text", text: " " },
      { k: "code", text: "e*f*" },
    ]);
  });

  it("does not treat snake_case or arithmetic as emphasis", () => {
    assert.deepEqual(parseMarkdown("snake_case_name 2*3*4"), [{ k: "text", text: "snake_case_name 2*3*4" }]);
  });

  it("parses fenced code blocks verbatim", () => {
    assert.deepEqual(parseMarkdown("before\n```js\nconst a = **1**;\n```\nafter"), [
      { k: "text", text: "before\n" },
      { k: "pre", text: "const a = **1**;" },
      { k: "text", text: "\nafter" },
    ]);
  });

  it("links http(s) and mailto targets, and autolinks bare URLs without trailing punctuation", () => {
    assert.deepEqual(parseMarkdown("see [docs](https://example.org/a) or https://example.org/b)."), [
      { k: "text", text: "see " },
      { k: "link", href: "https://example.org/a", children: [{ k: "text", text: "docs" }] },
      { k: "text", text: " or " },
      { k: "link", href: "https://example.org/b", children: [{ k: "text", text: "https://example.org/b" }] },
      { k: "text", text: ")." },
    ]);
    assert.deepEqual(parseMarkdown("(https://en.wikipedia.org/wiki/Foo_(bar))")[1], {
      k: "link",
      href: "https://en.wikipedia.org/wiki/Foo_(bar)",
      children: [{ k: "text", text: "https://en.wikipedia.org/wiki/Foo_(bar)" }],
    });
  });

  it("leaves javascript:, data: and relative link targets as text", () => {
    for (const target of ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", "/relative", "vbscript:x"]) {
      const nodes = parseMarkdown(`[x](${target})`);
      assert.ok(
        nodes.every((n) => n.k === "text"),
        `${target} → ${JSON.stringify(nodes)}`,
      );
    }
  });

  it("finds mentions but not e-mail addresses", () => {
    assert.deepEqual(parseMarkdown("hi @Mei, mail bob@example.org"), [
      { k: "text", text: "hi " },
      { k: "mention", name: "Mei" },
      { k: "text", text: ", mail bob@example.org" },
    ]);
    assert.equal(mentions("hey @MEI look", "mei"), true);
    assert.equal(mentions("`@mei` in code", "mei"), false);
    assert.equal(mentions("@meiling", "mei"), false);
  });

  it("handles CJK text around markup", () => {
    assert.deepEqual(parseMarkdown("你好**世界**@小明"), [
      { k: "text", text: "你好" },
      { k: "strong", children: [{ k: "text", text: "世界" }] },
      { k: "mention", name: "小明" },
    ]);
  });
});

describe("safeHref", () => {
  it("accepts only absolute http, https and mailto URLs", () => {
    assert.equal(safeHref("https://a.example/x?y=1"), "https://a.example/x?y=1");
    assert.equal(safeHref("mailto:a@b.example"), "mailto:a@b.example");
    assert.equal(safeHref(" javascript:alert(1)"), null);
    assert.equal(safeHref("java\tscript:alert(1)"), null);
    assert.equal(safeHref("//evil.example"), null);
  });
});

describe("hostile input (OWASP XSS filter evasion cheat sheet)", () => {
  it("yields only http(s)/mailto links and keeps every angle bracket and quote as text", () => {
    const flatten = (nodes: MdNode[]): string =>
      nodes.map((n) => ("text" in n ? n.text : n.k === "mention" ? `@${n.name}` : flatten(n.children))).join("");
    const links = (nodes: MdNode[]): string[] =>
      nodes.flatMap((n) => (n.k === "link" ? [n.href, ...links(n.children)] : "children" in n ? links(n.children) : []));
    for (const payload of XSS_PAYLOADS) {
      const nodes = parseMarkdown(payload);
      for (const href of links(nodes)) assert.match(href, /^(https?|mailto):/, payload);
      // Angle brackets and quotes all survive as text: nothing was taken for markup.
      const text = flatten(nodes);
      for (const ch of ["<", ">", '"']) assert.equal(text.split(ch).length, payload.split(ch).length, `${ch} in ${payload}`);
    }
  });
});
