import { describe } from "node:test";
import { systemClock } from "../core/ports.ts";
import { LocalRateLimiter } from "../core/rate-limit.ts";
import { rateLimiterContract } from "./rate-limiter.contract.ts";

describe("LocalRateLimiter", () => {
  // One process is the whole backend: every "process" on it is the same limiter.
  rateLimiterContract(async () => {
    const limiter = new LocalRateLimiter(systemClock);
    return async () => limiter;
  });
});
