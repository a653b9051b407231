// Who may open a connection: a bound on connections per client address and in all, shared by
// every protocol (WebSocket and HTTP sockets, IRC, line mode), so that one address cannot take
// all the file descriptors and no flood of sockets can take the process's memory.

import { ChatError } from "./errors.ts";
import type { Limits } from "./limits.ts";

export class Admission {
  private total = 0;
  private readonly perAddress = new Map<string, number>();
  private readonly exempt: Set<string>;

  constructor(private readonly limits: Pick<Limits, "maxConnections" | "maxConnectionsPerAddress" | "exemptAddresses">) {
    this.exempt = new Set(limits.exemptAddresses);
  }

  /**
   * Counts a new connection from `address`, or throws UNAVAILABLE (server full) or LIMIT_REACHED
   * (too many from the address). The caller releases it once, when it closes: a release function
   * per connection was a closure and its context (~110 B) kept for as long as it is open.
   */
  admit(address: string): void {
    const { maxConnections, maxConnectionsPerAddress } = this.limits;
    if (maxConnections > 0 && this.total >= maxConnections) {
      throw new ChatError("UNAVAILABLE", `the server is full (at most ${maxConnections} connections)`, {
        retryAfter: 5000,
      });
    }
    const count = this.perAddress.get(address) ?? 0;
    if (maxConnectionsPerAddress > 0 && count >= maxConnectionsPerAddress && !this.isExempt(address)) {
      throw new ChatError("LIMIT_REACHED", `too many connections from your address (at most ${maxConnectionsPerAddress})`);
    }
    this.total++;
    this.perAddress.set(address, count + 1);
  }

  /** A connection admitted from `address` closed (call once per admit). */
  release(address: string): void {
    this.total--;
    const left = (this.perAddress.get(address) ?? 1) - 1;
    if (left <= 0) this.perAddress.delete(address);
    else this.perAddress.set(address, left);
  }

  isExempt(address: string): boolean {
    return this.exempt.has(address);
  }

  get connections(): number {
    return this.total;
  }
}
