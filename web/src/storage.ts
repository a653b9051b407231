// Small typed wrappers over localStorage. Storage can be unavailable (private modes, quotas):
// then the client simply forgets between reloads.

export function load<T>(key: string, fallback: T): T {
  try {
    const raw = localStorage.getItem(key);
    return raw === null ? fallback : (JSON.parse(raw) as T);
  } catch {
    return fallback;
  }
}

export function save(key: string, value: unknown): void {
  try {
    if (value === undefined) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // storage full or disabled: nothing to do
  }
}

export type Session = { token: string; name: string } | { guest: string };
