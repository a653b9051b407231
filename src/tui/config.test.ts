import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ConfigError, configPath, loadConfig, saveConfig } from "./config.ts";

const dir = mkdtempSync(join(tmpdir(), "parley-config-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("config file", () => {
  it("lives under XDG_CONFIG_HOME, else ~/.config", () => {
    assert.equal(configPath({ XDG_CONFIG_HOME: "/x/conf", HOME: "/home/a" }), "/x/conf/parley/config.json");
    assert.equal(configPath({ HOME: "/home/a" }), "/home/a/.config/parley/config.json");
    assert.equal(configPath({ XDG_CONFIG_HOME: "relative", HOME: "/home/a" }), "/home/a/.config/parley/config.json");
  });

  it("is created with mode 0600 in a 0700 directory and reads back", () => {
    const path = join(dir, "a", "parley", "config.json");
    assert.deepEqual(loadConfig(path), { servers: {} });
    saveConfig(path, {
      server: "http://h:1",
      servers: { "http://h:1": { user: "alice", token: "t", lastRoom: { alice: "dev" } } },
    });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, "a", "parley")).mode & 0o777, 0o700);
    assert.deepEqual(loadConfig(path), {
      server: "http://h:1",
      servers: { "http://h:1": { user: "alice", token: "t", lastRoom: { alice: "dev" } } },
    });
  });

  it("refuses a broken file with a clear message", () => {
    const path = join(dir, "broken.json");
    writeFileSync(path, "{nope");
    assert.throws(() => loadConfig(path), ConfigError);
  });
});
