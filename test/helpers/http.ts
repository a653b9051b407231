// REST helpers: JSON requests against a test server, and account registration.

import type { Account } from "../../src/core/types.ts";
import type { TestServer } from "./server.ts";

/** Parsed JSON as tests read it: assertions check the shape, so it is not typed further. */
// biome-ignore lint/suspicious/noExplicitAny: test assertions read parsed JSON freely
export type Json = any;

export interface ApiResponse<T = Json> {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or null when there is none (or it is not JSON). */
  json: T;
  text: string;
}

export async function api<T = Json>(
  srv: Pick<TestServer, "httpUrl">,
  method: string,
  path: string,
  opts: { body?: unknown; raw?: string | Uint8Array; token?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  let body: string | Uint8Array | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["content-type"] = "application/json";
  }
  const res = await fetch(`${srv.httpUrl}${path}`, { method, headers, body, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let json: Json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, headers: res.headers, json, text };
}

let counter = 0;
/** A fresh valid account or room name (unique within this test process). */
export function uniq(prefix = "u"): string {
  counter++;
  return `${prefix}${counter}${Math.random().toString(36).slice(2, 6)}`.slice(0, 32);
}

export interface Registered {
  name: string;
  password: string;
  token: string;
  account: Account;
}

export async function register(srv: Pick<TestServer, "httpUrl">, name = uniq(), password = "correct horse"): Promise<Registered> {
  const res = await api(srv, "POST", "/api/register", { body: { name, password } });
  if (res.status !== 201) throw new Error(`register ${name}: ${res.status} ${res.text}`);
  return { name, password, token: res.json.token, account: res.json.account };
}
