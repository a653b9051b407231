// Authentication rules of the core: no account enumeration (an unknown name costs the same
// password check and gives the same answer), login throttling per address and per name with
// retry_after, registrations per address, absolute session expiry, and revocation on password
// change. Timing is not measured; the work done is (hasher calls), which is what timing follows.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LocalBus } from "../bus/local.ts";
import { SqliteStore } from "../store/sqlite/index.ts";
import { Chat } from "./chat.ts";
import { ChatError } from "./errors.ts";
import type { Clock, Hasher } from "./ports.ts";

class CountingHasher implements Hasher {
  hashes = 0;
  verifies = 0;
  async hash(pw: string): Promise<string> {
    this.hashes++;
    return `h:${pw}`;
  }
  async verify(h: string, pw: string): Promise<boolean> {
    this.verifies++;
    return h === `h:${pw}`;
  }
}

async function setup(limits: ConstructorParameters<typeof Chat>[0]["limits"] = {}) {
  const clock = {
    t: 1_700_000_000_000,
    now() {
      return this.t;
    },
  } satisfies Clock & { t: number };
  const hasher = new CountingHasher();
  const store = new SqliteStore({ path: ":memory:" });
  const chat = new Chat({ store, bus: new LocalBus(), hasher, clock, limits: { exemptAddresses: [], ...limits } });
  await chat.start();
  return { chat, hasher, clock, close: () => store.close() };
}

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (err) {
    assert.ok(err instanceof ChatError, String(err));
    return `${err.code}: ${err.message}${err.retryAfter !== undefined ? " (retry)" : ""}`;
  }
}

describe("authentication", () => {
  it("an unknown name and a wrong password cost one password check each and give the same answer", async () => {
    const { chat, hasher, close } = await setup();
    await chat.register("alice", "alice-password");
    hasher.verifies = 0;
    const unknown = await outcome(chat.login("nobody", "whatever-pass", "10.0.0.1"));
    assert.equal(hasher.verifies, 1, "an unknown name is checked against a dummy hash");
    const wrong = await outcome(chat.login("alice", "whatever-pass", "10.0.0.2"));
    assert.equal(hasher.verifies, 2);
    assert.equal(unknown, wrong);
    assert.equal(unknown, "INVALID_CREDENTIALS: wrong account name or password");
    await close();
  });

  it("per address: beyond `logins`, RATE_LIMITED with retry_after before any hashing; tokens come back with time", async () => {
    const { chat, hasher, clock, close } = await setup({ logins: { burst: 2, perSecond: 0.5 } });
    await chat.register("alice", "alice-password");
    for (let i = 0; i < 2; i++) await outcome(chat.login(`x${i}`, "whatever-pass", "10.0.0.9"));
    const verifies = hasher.verifies;
    const limited = await outcome(chat.login("alice", "alice-password", "10.0.0.9"));
    assert.match(limited, /^RATE_LIMITED: too many login attempts from your address \(retry\)$/);
    assert.equal(hasher.verifies, verifies, "a throttled attempt costs no hash");
    assert.equal(await outcome(chat.login("alice", "alice-password", "10.0.0.10")), "ok", "another address is not affected");
    clock.t += 2000;
    assert.equal(await outcome(chat.login("alice", "alice-password", "10.0.0.9")), "ok");
    await close();
  });

  it("per name: failures from many addresses throttle the name (known or not, alike); a success does not count", async () => {
    const { chat, clock, close } = await setup({ accountLogins: { burst: 3, perSecond: 0.1 } });
    await chat.register("alice", "alice-password");
    for (let i = 0; i < 5; i++) assert.equal(await outcome(chat.login("alice", "alice-password", `10.1.0.${i}`)), "ok");
    const trace = async (name: string) => {
      const out: string[] = [];
      for (let i = 0; i < 4; i++) out.push(await outcome(chat.login(name, "wrong-password", `10.2.${name.length}.${i}`)));
      return out;
    };
    const known = await trace("alice");
    const unknown = await trace("ghost");
    assert.deepEqual(known, unknown);
    assert.match(known[3]!, /^RATE_LIMITED: too many failed logins for this account/);
    assert.match(await outcome(chat.login("ALICE", "alice-password", "10.3.0.1")), /^RATE_LIMITED/, "names are case-insensitive");
    clock.t += 10_000;
    assert.equal(await outcome(chat.login("alice", "alice-password", "10.3.0.1")), "ok");
    await close();
  });

  it("registrations and new guest names per address", async () => {
    const { chat, close } = await setup({ registrations: { burst: 2, perSecond: 0.01 } });
    await chat.register("first", "first-password", "10.4.0.1");
    await chat.guest("someguest", "10.4.0.1");
    assert.match(await outcome(chat.register("third", "third-password", "10.4.0.1")), /^RATE_LIMITED: too many new accounts/);
    assert.match(await outcome(chat.guest("otherguest", "10.4.0.1")), /^RATE_LIMITED/);
    assert.equal(await outcome(chat.guest("someguest", "10.4.0.1")), "ok", "an existing guest name is not a new account");
    assert.equal(await outcome(chat.register("third", "third-password", "10.4.0.2")), "ok");
    await close();
  });

  it("sessions expire sessionTtl after login, however much they are used; a password change revokes them all", async () => {
    const { chat, clock, close } = await setup({ sessionTtl: 60_000 });
    const { token } = await chat.register("alice", "alice-password");
    clock.t += 59_000;
    await chat.authenticate(token); // used: this does not extend it
    clock.t += 1_000;
    assert.match(await outcome(chat.authenticate(token)), /^INVALID_TOKEN/);
    const a = (await chat.login("alice", "alice-password")).token;
    const b = (await chat.login("alice", "alice-password")).token;
    const fresh = await chat.changePassword("alice", "alice-password", "alice-password-2");
    for (const t of [a, b]) assert.match(await outcome(chat.authenticate(t)), /^INVALID_TOKEN/);
    assert.equal(await outcome(chat.authenticate(fresh)), "ok");
    await close();
  });
});
