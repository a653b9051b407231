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
  private readonly accounts = new Map<Id, { name: string; nodes: Set<string> }>();
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
        entry.nodes.add(node);
        return false;
      }
      this.accounts.set(accountId, { name, nodes: new Set([node]) });
      return true;
    }
    const mine = this.nodes.get(node);
    mine?.delete(accountId);
    if (mine?.size === 0) this.nodes.delete(node);
    if (!entry?.nodes.delete(node)) return false;
    if (entry.nodes.size > 0) return false;
    this.accounts.delete(accountId);
    return true;
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
