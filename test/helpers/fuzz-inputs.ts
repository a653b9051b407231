// Hostile inputs for the decoders and the live server: random bytes, random JSON, and valid
// frames or lines with one part mutated (a field dropped, retyped, oversized, or a byte flipped).
// Generated with fast-check from a fixed seed, so a failure can be replayed.

import fc from "fast-check";

const TYPES = [
  "hello",
  "join",
  "leave",
  "send",
  "edit",
  "delete",
  "react",
  "topic",
  "create",
  "invite",
  "direct",
  "moderate",
  "members",
  "online",
  "rooms",
  "history",
  "read",
  "typing",
  "ping",
];

/** A value of any JSON shape, with the awkward ones well represented. */
const weird = fc.oneof(
  fc.anything({ maxDepth: 2, maxKeys: 4 }),
  fc.constantFrom(null, -1, 0, 1e308, -0, "", "\u0000", "\ud800", "x".repeat(70_000), [], {}, true),
  fc.string({ maxLength: 40, unit: "binary" }),
  fc.integer(),
  fc.double(),
);

/** A plausible request frame for each type, as the server would accept it for some room. */
function validFrame(type: string, room: string): Record<string, unknown> {
  const base = { type, id: 1 };
  switch (type) {
    case "hello":
      return { ...base, guest: "fuzzer" };
    case "join":
    case "create":
      return { ...base, room, name: room };
    case "send":
      return { ...base, room, clientId: "c1", body: "hello" };
    case "edit":
      return { ...base, message: "m1", body: "x" };
    case "delete":
      return { ...base, message: "m1" };
    case "react":
      return { ...base, message: "m1", emoji: "👍" };
    case "topic":
      return { ...base, room, topic: "t" };
    case "invite":
    case "direct":
      return { ...base, room, account: "someone" };
    case "moderate":
      return { ...base, room, account: "someone", action: "kick" };
    case "history":
      return { ...base, room, limit: 10 };
    case "read":
      return { ...base, room, seq: 1 };
    case "typing":
      return { ...base, room, typing: true };
    default:
      return { ...base, room };
  }
}

/** A valid frame with one field dropped, replaced by a weird value, or added. */
const mutatedFrame = (room: string) =>
  fc
    .tuple(fc.constantFrom(...TYPES, "nope", ""), fc.nat(), weird, fc.constantFrom("drop", "set", "add", "type"))
    .map(([type, pick, value, how]) => {
      const f = validFrame(type, room);
      const keys = Object.keys(f);
      const key = keys[pick % keys.length]!;
      if (how === "drop") delete f[key];
      else if (how === "set") f[key] = value;
      else if (how === "add") f[`x${pick % 7}`] = value;
      else f.type = value;
      return Buffer.from(JSON.stringify(f) ?? "null");
    });

/** Bytes with a few flipped: half-valid UTF-8 and half-valid JSON. */
const flipped = (base: Buffer) =>
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((flips) => {
    const b = Buffer.from(base);
    for (const [at, byte] of flips) if (b.length > 0) b[at % b.length] = byte;
    return b;
  });

/** WebSocket text-frame payloads. */
export const wsPayloads = (room: string): fc.Arbitrary<Buffer> =>
  fc.oneof(
    { weight: 3, arbitrary: mutatedFrame(room) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)) },
    { weight: 1, arbitrary: weird.map((v) => Buffer.from(JSON.stringify(v) ?? "null")) },
    { weight: 1, arbitrary: flipped(Buffer.from(JSON.stringify(validFrame("send", room)))) },
  );

const IRC_COMMANDS = [
  "PRIVMSG",
  "NOTICE",
  "JOIN",
  "PART",
  "TOPIC",
  "NAMES",
  "WHO",
  "WHOIS",
  "MODE",
  "KICK",
  "INVITE",
  "CAP",
  "AUTHENTICATE",
  "NICK",
  "USER",
  "PASS",
  "PING",
  "PONG",
  "CHATHISTORY",
  "TAGMSG",
  "BATCH",
  "AWAY",
  "LIST",
  "MARKREAD",
  "REGISTER",
  "SETNAME",
  "MONITOR",
  "OPER",
  "KILL",
  "QUIT",
  "ISUPPORT",
  "X",
];

/** IRC lines (without CRLF; some with stray CR, LF or NUL inside). */
export const ircLines = (channel: string): fc.Arbitrary<Buffer> =>
  fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .tuple(
          fc.option(
            fc.string({ maxLength: 30 }).map((t) => `@${t} `),
            { nil: "" },
          ),
          fc.constantFrom(...IRC_COMMANDS),
          fc.array(fc.oneof(fc.constant(channel), fc.string({ maxLength: 20 }), fc.constant("*")), { maxLength: 6 }),
          fc.option(fc.string({ maxLength: 600, unit: "grapheme" }), { nil: undefined }),
        )
        .map(([tags, cmd, params, trailing]) =>
          Buffer.from(`${tags}${cmd} ${params.join(" ")}${trailing === undefined ? "" : ` :${trailing}`}`),
        ),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)) },
    { weight: 1, arbitrary: flipped(Buffer.from(`@label=x PRIVMSG ${channel} :hello there`)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 9000 }).map((s) => Buffer.from(`@${s} PING x`)) },
  );

/** Line-mode input lines. */
export const lineInputs: fc.Arbitrary<Buffer> = fc.oneof(
  fc.string({ maxLength: 200, unit: "grapheme" }).map((s) => Buffer.from(s.replace(/[\r\n]/g, " "))),
  fc
    .tuple(
      fc.constantFrom("/join", "/j", "/part", "/nick", "/who", "/rooms", "/me", "/help", "/x", "//"),
      fc.string({ maxLength: 40 }),
    )
    .map(([c, a]) => Buffer.from(`${c} ${a}`.replace(/[\r\n]/g, " "))),
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a.map((b) => (b === 10 ? 32 : b)))),
  fc.constant(Buffer.from("x".repeat(9000))),
);
