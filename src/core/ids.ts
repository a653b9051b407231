import { createHash, randomBytes, randomFillSync } from "node:crypto";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case

// Every message gets an id, and asking the OS for 10 bytes at a time cost more than the rest of
// newId: the randomness is drawn 4 KiB at a time and each byte is used once.
const pool = Buffer.alloc(4096);
let poolAt = pool.length;

/**
 * A 20-character id that sorts by creation time: 10 characters of milliseconds, 10 of randomness.
 * Ids are strings everywhere, so every store returns the same type (pg returns int8 as strings).
 */
export function newId(now: number = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  if (poolAt + 10 > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  let rand = "";
  for (let i = poolAt; i < poolAt + 10; i++) rand += ALPHABET[pool[i]! & 31];
  poolAt += 10;
  return time + rand;
}

/** A session token: 256 random bits. Only its hash is stored. */
export function newToken(): string {
  return randomBytes(32).toString("base64url");
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}
