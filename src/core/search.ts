// Message search: what a query means, defined once for every store and protocol.
//
// A query is one or more terms separated by white space; "double quotes" keep a phrase together.
// A message matches when its body contains every term, ignoring case (substring match, so that
// Chinese, Japanese and Korean text, which has no spaces between words, is found as well).

import { ChatError } from "./errors.ts";
import { checkText } from "./names.ts";

export const MAX_QUERY_CHARS = 256;
export const MAX_TERMS = 8;

/** The terms of a query, lower-cased and without duplicates; BAD_REQUEST when there are none or too many. */
export function searchTerms(query: string): string[] {
  checkText(query, "search queries");
  if ([...query].length > MAX_QUERY_CHARS) {
    throw new ChatError("BAD_REQUEST", `search queries are at most ${MAX_QUERY_CHARS} characters`);
  }
  const terms: string[] = [];
  for (const m of query.matchAll(/"([^"]*)"|(\S+)/gu)) {
    const term = (m[1] ?? m[2] ?? "").replace(/\s+/gu, " ").trim().toLowerCase();
    if (term !== "" && !terms.includes(term)) terms.push(term);
  }
  if (terms.length === 0) throw new ChatError("BAD_REQUEST", "the search query is empty");
  if (terms.length > MAX_TERMS) throw new ChatError("BAD_REQUEST", `search queries have at most ${MAX_TERMS} terms`);
  return terms;
}

/** A term as a LIKE pattern (escape character '\'): the term anywhere in the text. */
export function likePattern(term: string): string {
  return `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
