import type { Id } from "./types.ts";

/**
 * Who is online, as the union over server processes ("nodes"). Each node announces its own
 * accounts on the bus; an account is online while any node has it.
 */
export class Presence {
  private readonly accounts = new Map<Id, { name: string; nodes: Set<string> }>();

  /** Records one node's view of an account. Returns true when the account's overall state changed. */
  set(accountId: Id, name: string, node: string, online: boolean): boolean {
    const entry = this.accounts.get(accountId);
    if (online) {
      if (entry) {
        entry.nodes.add(node);
        return false;
      }
      this.accounts.set(accountId, { name, nodes: new Set([node]) });
      return true;
    }
    if (!entry?.nodes.delete(node)) return false;
    if (entry.nodes.size > 0) return false;
    this.accounts.delete(accountId);
    return true;
  }

  isOnline(accountId: Id): boolean {
    return this.accounts.has(accountId);
  }

  list(): { accountId: Id; name: string }[] {
    return [...this.accounts].map(([accountId, { name }]) => ({ accountId, name }));
  }
}
