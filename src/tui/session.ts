// Logging in and out over the HTTP API (POST /api/login, /api/logout): the terminal client
// trades a password for a session token once, and keeps only the token.

import type { Account } from "../core/types.ts";
import { ConnectError, classifyNetworkError } from "./client.ts";

const TIMEOUT_MS = 15_000;

interface ErrorBody {
  error?: { code?: string; message?: string };
}

async function post(server: string, path: string, body: unknown, token?: string): Promise<Response> {
  try {
    return await fetch(new URL(path, server), {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body ?? {}),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    throw classifyNetworkError(err, server);
  }
}

async function failure(res: Response, server: string): Promise<ConnectError> {
  let body: ErrorBody = {};
  try {
    body = (await res.json()) as ErrorBody;
  } catch {
    // not JSON: not our server
  }
  const code = body.error?.code;
  if (!code) return new ConnectError("protocol", `${server} answered HTTP ${res.status}, but not as a Parley server`);
  if (res.status === 401 || code === "INVALID_CREDENTIALS")
    return new ConnectError("auth", "wrong account name or password", code);
  if (code === "RATE_LIMITED") return new ConnectError("auth", "too many attempts; wait a moment and try again", code);
  return new ConnectError("protocol", body.error?.message ?? `HTTP ${res.status}`, code);
}

/** Trades a password for a session token. Throws ConnectError (auth, unreachable, tls, protocol). */
export async function login(server: string, name: string, password: string): Promise<{ account: Account; token: string }> {
  const res = await post(server, "/api/login", { name, password });
  if (!res.ok) throw await failure(res, server);
  const body = (await res.json()) as { account: Account; token: string };
  if (typeof body.token !== "string") throw new ConnectError("protocol", `${server} did not return a session token`);
  return body;
}

/** Ends the session on the server. A token the server no longer knows counts as ended. */
export async function logout(server: string, token: string): Promise<void> {
  const res = await post(server, "/api/logout", {}, token);
  if (res.ok || res.status === 401) {
    await res.body?.cancel();
    return;
  }
  throw await failure(res, server);
}
