// Passwords are hashed with argon2id at the OWASP minimum (19 MiB, 2 passes, 1 lane): about
// 40 ms per hash here. The parameters are stored in each hash, so they can be raised later.

import { hash, verify } from "@node-rs/argon2";
import type { Hasher } from "../core/ports.ts";

const ARGON2ID = 2; // Algorithm.Argon2id (a const enum, which isolated modules cannot inline)

export const argon2Hasher: Hasher = {
  hash: (password) => hash(password, { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 }),
  verify: async (stored, password) => {
    try {
      return await verify(stored, password);
    } catch {
      return false; // a malformed stored hash never verifies
    }
  },
};
