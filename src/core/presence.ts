import type { Id } from "./types.ts";

/** An account whose overall state changed. */
export interface PresenceChange {
  accountId: Id;
  name: string;
  online: boolean;
}

/**
 * Who is online, as the union over server processes ("nodes"). Each node announces its own
 * accounts on the bus and repeats the whole list in its heartbeat; an account is online while any
 * node has it, and a node that stops beating is dropped with all its accounts (see hub.ts).
 */
export class Presence {
  /** The nodes that have each account: most accounts are on one node, kept as a string (a Set per account costs more). */
  private readonly accounts = new Map<Id, { name: string; nodes: string | Set<string> }>();
  /** Each node's accounts, id → name. */
  private readonly nodes = new Map<string, Map<Id, string>>();

  /** Records one node's view of an account. Returns true when the account's overall state changed. */
  set(accountId: Id, name: string, node: string, online: boolean): boolean {
    const entry = this.accounts.get(accountId);
    if (online) {
      let mine = this.nodes.get(node);
      if (!mine) {
        mine = new Map();
        this.nodes.set(node, mine);
      }
      mine.set(accountId, name);
      if (entry) {
        if (typeof entry.nodes !== "string") entry.nodes.add(node);
        else if (entry.nodes !== node) entry.nodes = new Set([entry.nodes, node]);
        return false;
      }
      this.accounts.set(accountId, { name, nodes: node });
      return true;
    }
    const mine = this.nodes.get(node);
    mine?.delete(accountId);
    if (mine?.size === 0) this.nodes.delete(node);
    if (!entry) return false;
    if (entry.nodes === node) {
      this.accounts.delete(accountId);
      return true;
    }
    if (typeof entry.nodes === "string" || !entry.nodes.delete(node)) return false;
    if (entry.nodes.size === 1) entry.nodes = [...entry.nodes][0]!; // still online, on one node
    return false;
  }

  /** Replaces everything known of one node with its own full list (a heartbeat). */
  replaceNode(node: string, accounts: { accountId: Id; name: string }[]): PresenceChange[] {
    const changes: PresenceChange[] = [];
    const now = new Set(accounts.map((a) => a.accountId));
    for (const [accountId, name] of [...(this.nodes.get(node) ?? [])]) {
      if (!now.has(accountId) && this.set(accountId, name, node, false)) changes.push({ accountId, name, online: false });
    }
    for (const { accountId, name } of accounts) {
      if (this.set(accountId, name, node, true)) changes.push({ accountId, name, online: true });
    }
    return changes;
  }

  /** Forgets a node (it stopped or died): its accounts are offline unless another node has them. */
  dropNode(node: string): PresenceChange[] {
    return this.replaceNode(node, []);
  }

  /** The accounts one node has online. */
  accountsOf(node: string): { accountId: Id; name: string }[] {
    return [...(this.nodes.get(node) ?? [])].map(([accountId, name]) => ({ accountId, name }));
  }

  isOnline(accountId: Id): boolean {
    return this.accounts.has(accountId);
  }

  /** The name an online account announced, or undefined when it is offline. */
  nameOf(accountId: Id): string | undefined {
    return this.accounts.get(accountId)?.name;
  }

  /** How many accounts are online. */
  get size(): number {
    return this.accounts.size;
  }

  /** Every online account as [id, name], without copying the list. */
  *entries(): IterableIterator<[Id, string]> {
    for (const [accountId, { name }] of this.accounts) yield [accountId, name];
  }

  list(): { accountId: Id; name: string }[] {
    return [...this.accounts].map(([accountId, { name }]) => ({ accountId, name }));
  }
}
