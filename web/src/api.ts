// The HTTP calls the client makes: register and log in (to get a session token), and log out.

import type { Account } from "./wire.ts";

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function post<T>(path: string, body: unknown, token?: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  } catch {
    throw new ApiError("NETWORK", "cannot reach the server");
  }
  if (res.status === 204) return undefined as T;
  const json = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
  if (!res.ok) throw new ApiError(json?.error?.code ?? "INTERNAL", json?.error?.message ?? `HTTP ${res.status}`);
  return json as T;
}

export function register(name: string, password: string): Promise<{ account: Account; token: string }> {
  return post("/api/register", { name, password });
}

export function login(name: string, password: string): Promise<{ account: Account; token: string }> {
  return post("/api/login", { name, password });
}

export async function logout(token: string): Promise<void> {
  await post("/api/logout", {}, token).catch(() => undefined);
}
