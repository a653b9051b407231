import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseCommand } from "./commands.ts";

describe("parseCommand", () => {
  it("plain text is a message; // escapes a slash", () => {
    assert.deepEqual(parseCommand("hello"), { kind: "say", text: "hello" });
    assert.deepEqual(parseCommand("//join is a command"), { kind: "say", text: "/join is a command" });
    assert.deepEqual(parseCommand("   "), { kind: "empty" });
    assert.deepEqual(parseCommand("line one\nline two"), { kind: "say", text: "line one\nline two" });
  });

  it("parses each command", () => {
    assert.deepEqual(parseCommand("/join #dev"), { kind: "join", room: "dev" });
    assert.deepEqual(parseCommand("/j dev"), { kind: "join", room: "dev" });
    assert.deepEqual(parseCommand("/part"), { kind: "part", room: null });
    assert.deepEqual(parseCommand("/part #dev"), { kind: "part", room: "dev" });
    assert.deepEqual(parseCommand("/msg bob hi there  you"), { kind: "msg", name: "bob", text: "hi there  you" });
    assert.deepEqual(parseCommand("/msg @bob"), { kind: "msg", name: "bob", text: "" });
    assert.deepEqual(parseCommand("/me waves"), { kind: "me", text: "waves" });
    assert.deepEqual(parseCommand("/topic"), { kind: "topic", topic: null });
    assert.deepEqual(parseCommand("/topic Release on Friday"), { kind: "topic", topic: "Release on Friday" });
    assert.deepEqual(parseCommand("/who"), { kind: "who" });
    assert.deepEqual(parseCommand("/edit"), { kind: "edit", text: null });
    assert.deepEqual(parseCommand("/edit fixed typo"), { kind: "edit", text: "fixed typo" });
    assert.deepEqual(parseCommand("/delete"), { kind: "delete" });
    assert.deepEqual(parseCommand("/reply sure"), { kind: "reply", to: null, text: "sure" });
    assert.deepEqual(parseCommand("/reply @bob sure thing"), { kind: "reply", to: "bob", text: "sure thing" });
    assert.deepEqual(parseCommand("/create #ops"), { kind: "create", room: "ops", private: false });
    assert.deepEqual(parseCommand("/create #ops private"), { kind: "create", room: "ops", private: true });
    assert.deepEqual(parseCommand("/invite carol"), { kind: "invite", name: "carol" });
    assert.deepEqual(parseCommand("/search deploy log"), { kind: "search", query: "deploy log" });
    assert.deepEqual(parseCommand('/search "go live" 部署'), { kind: "search", query: '"go live" 部署' });
    assert.deepEqual(parseCommand("/search"), { kind: "search", query: "" });
    assert.deepEqual(parseCommand("/goto 3"), { kind: "goto", n: 3 });
    assert.deepEqual(parseCommand("/react 👍"), { kind: "react", to: null, emoji: "👍" });
    assert.deepEqual(parseCommand("/react @bob 🎉"), { kind: "react", to: "bob", emoji: "🎉" });
    assert.deepEqual(parseCommand("/help"), { kind: "help" });
    assert.deepEqual(parseCommand("/QUIT"), { kind: "quit" });
    assert.deepEqual(parseCommand("/rooms"), { kind: "rooms" });
  });

  it("reports bad usage and unknown commands", () => {
    assert.equal(parseCommand("/join").kind, "error");
    assert.equal(parseCommand("/join a b").kind, "error");
    assert.equal(parseCommand("/me").kind, "error");
    assert.equal(parseCommand("/create #x public").kind, "error");
    assert.equal(parseCommand("/invite").kind, "error");
    assert.equal(parseCommand("/reply").kind, "error");
    assert.equal(parseCommand("/goto").kind, "error");
    assert.equal(parseCommand("/goto x").kind, "error");
    assert.equal(parseCommand("/goto 0").kind, "error");
    assert.equal(parseCommand("/react").kind, "error");
    assert.equal(parseCommand("/react two words").kind, "error");
    const unknown = parseCommand("/frobnicate now");
    assert.equal(unknown.kind, "error");
    assert.match((unknown as { message: string }).message, /unknown command \/frobnicate/);
  });
});
