// The authorization policy as a table: for each kind of room, operation and role, "ok" or the
// error code the core answers with. The core test (src/core/authorization.test.ts) runs every
// cell; the protocol test (test/authorization.test.ts) runs the cells each protocol offers.
//
// Roles: guest (a nickname, not in the room), nonMember (registered, not in the room), member,
// muted, banned (was a member, then banned), moderator, owner, admin (the server admin; a member
// of public and private rooms, which it may join uninvited; not in a direct room).
// Direct rooms have two plain members and no other roles.

export const AUTHZ_ROLES = ["guest", "nonMember", "member", "muted", "banned", "moderator", "owner", "admin"] as const;
export type AuthzRole = (typeof AUTHZ_ROLES)[number];
export type AuthzKind = "public" | "private" | "direct";

export const AUTHZ_OPS = [
  "readHistory",
  "members",
  "post",
  "editOwn",
  "editOther",
  "deleteOwn",
  "deleteOther",
  "react",
  "topic",
  "invite",
  "kick",
  "ban",
  "mute",
  "op",
  "settings",
  "kickModerator",
  "kickOwner",
  "join",
] as const;
export type AuthzOp = (typeof AUTHZ_OPS)[number];

type Row = Partial<Record<AuthzRole, string>>;

/** Outcomes in public and private rooms alike, unless overridden below. */
const ROOM: Record<AuthzOp, Row> = {
  readHistory: {
    guest: "ok",
    nonMember: "ok",
    member: "ok",
    muted: "ok",
    banned: "BANNED",
    moderator: "ok",
    owner: "ok",
    admin: "ok",
  },
  members: {
    guest: "ok",
    nonMember: "ok",
    member: "ok",
    muted: "ok",
    banned: "BANNED",
    moderator: "ok",
    owner: "ok",
    admin: "ok",
  },
  post: {
    guest: "NOT_MEMBER",
    nonMember: "NOT_MEMBER",
    member: "ok",
    muted: "MUTED",
    banned: "NOT_MEMBER",
    moderator: "ok",
    owner: "ok",
    admin: "ok",
  },
  // Without a message of its own, the actor tries someone else's.
  editOwn: {
    guest: "FORBIDDEN",
    nonMember: "FORBIDDEN",
    member: "ok",
    muted: "MUTED",
    banned: "NOT_MEMBER",
    moderator: "ok",
    owner: "ok",
    admin: "ok",
  },
  editOther: {
    guest: "FORBIDDEN",
    nonMember: "FORBIDDEN",
    member: "FORBIDDEN",
    muted: "FORBIDDEN",
    banned: "FORBIDDEN",
    moderator: "FORBIDDEN",
    owner: "FORBIDDEN",
    admin: "FORBIDDEN",
  },
  deleteOwn: {
    guest: "NOT_MEMBER",
    nonMember: "NOT_MEMBER",
    member: "ok",
    muted: "ok",
    banned: "NOT_MEMBER",
    moderator: "ok",
    owner: "ok",
    admin: "ok",
  },
  deleteOther: {
    guest: "NOT_MEMBER",
    nonMember: "NOT_MEMBER",
    member: "FORBIDDEN",
    muted: "FORBIDDEN",
    banned: "NOT_MEMBER",
    moderator: "ok",
    owner: "ok",
    admin: "ok",
  },
  react: {
    guest: "NOT_MEMBER",
    nonMember: "NOT_MEMBER",
    member: "ok",
    muted: "MUTED",
    banned: "NOT_MEMBER",
    moderator: "ok",
    owner: "ok",
    admin: "ok",
  },
  topic: {
    guest: "NOT_MEMBER",
    nonMember: "NOT_MEMBER",
    member: "FORBIDDEN",
    muted: "FORBIDDEN",
    banned: "NOT_MEMBER",
    moderator: "ok",
    owner: "ok",
    admin: "ok",
  },
  invite: {
    guest: "GUEST_FORBIDDEN",
    nonMember: "NOT_MEMBER",
    member: "ok",
    muted: "ok",
    banned: "NOT_MEMBER",
    moderator: "ok",
    owner: "ok",
    admin: "ok",
  },
  kick: {
    guest: "NOT_MEMBER",
    nonMember: "NOT_MEMBER",
    member: "FORBIDDEN",
    muted: "FORBIDDEN",
    banned: "NOT_MEMBER",
    moderator: "ok",
    owner: "ok",
    admin: "ok",
  },
  ban: {
    guest: "NOT_MEMBER",
    nonMember: "NOT_MEMBER",
    member: "FORBIDDEN",
    muted: "FORBIDDEN",
    banned: "NOT_MEMBER",
    moderator: "ok",
    owner: "ok",
    admin: "ok",
  },
  mute: {
    guest: "NOT_MEMBER",
    nonMember: "NOT_MEMBER",
    member: "FORBIDDEN",
    muted: "FORBIDDEN",
    banned: "NOT_MEMBER",
    moderator: "ok",
    owner: "ok",
    admin: "ok",
  },
  // Room roles are the owner's (and the admin's) to give.
  op: {
    guest: "NOT_MEMBER",
    nonMember: "NOT_MEMBER",
    member: "FORBIDDEN",
    muted: "FORBIDDEN",
    banned: "NOT_MEMBER",
    moderator: "FORBIDDEN",
    owner: "ok",
    admin: "ok",
  },
  // Making the room private or public (the only room setting): moderators, the owner, the admin.
  settings: {
    guest: "NOT_MEMBER",
    nonMember: "NOT_MEMBER",
    member: "FORBIDDEN",
    muted: "FORBIDDEN",
    banned: "NOT_MEMBER",
    moderator: "ok",
    owner: "ok",
    admin: "ok",
  },
  kickModerator: {
    guest: "NOT_MEMBER",
    nonMember: "NOT_MEMBER",
    member: "FORBIDDEN",
    muted: "FORBIDDEN",
    banned: "NOT_MEMBER",
    moderator: "FORBIDDEN",
    owner: "ok",
    admin: "ok",
  },
  kickOwner: {
    guest: "NOT_MEMBER",
    nonMember: "NOT_MEMBER",
    member: "FORBIDDEN",
    muted: "FORBIDDEN",
    banned: "NOT_MEMBER",
    moderator: "FORBIDDEN",
    admin: "ok",
  },
  join: { guest: "ok", nonMember: "ok", member: "ok", muted: "ok", banned: "BANNED", moderator: "ok", owner: "ok", admin: "ok" },
};

/** Where a private room differs: outsiders neither read it nor get in. */
const PRIVATE: Partial<Record<AuthzOp, Row>> = {
  readHistory: { guest: "NOT_MEMBER", nonMember: "NOT_MEMBER", banned: "NOT_MEMBER" },
  members: { guest: "NOT_MEMBER", nonMember: "NOT_MEMBER", banned: "NOT_MEMBER" },
  join: { guest: "GUEST_FORBIDDEN", nonMember: "INVITE_ONLY" },
};

/** A direct room: two plain members; nobody else reads, joins or moderates it, the admin included. */
const DIRECT: Record<AuthzOp, Row> = {
  readHistory: { guest: "NOT_MEMBER", nonMember: "NOT_MEMBER", member: "ok", admin: "NOT_MEMBER" },
  members: { guest: "NOT_MEMBER", nonMember: "NOT_MEMBER", member: "ok", admin: "NOT_MEMBER" },
  post: { guest: "NOT_MEMBER", nonMember: "NOT_MEMBER", member: "ok", admin: "NOT_MEMBER" },
  editOwn: { guest: "FORBIDDEN", nonMember: "FORBIDDEN", member: "ok", admin: "FORBIDDEN" },
  editOther: { guest: "FORBIDDEN", nonMember: "FORBIDDEN", member: "FORBIDDEN", admin: "FORBIDDEN" },
  deleteOwn: { guest: "NOT_MEMBER", nonMember: "NOT_MEMBER", member: "ok", admin: "NOT_MEMBER" },
  deleteOther: { guest: "NOT_MEMBER", nonMember: "NOT_MEMBER", member: "FORBIDDEN", admin: "NOT_MEMBER" },
  react: { guest: "NOT_MEMBER", nonMember: "NOT_MEMBER", member: "ok", admin: "NOT_MEMBER" },
  topic: { guest: "NOT_MEMBER", nonMember: "NOT_MEMBER", member: "FORBIDDEN", admin: "NOT_MEMBER" },
  invite: { guest: "GUEST_FORBIDDEN", nonMember: "NOT_MEMBER", member: "FORBIDDEN", admin: "NOT_MEMBER" },
  kick: { guest: "NOT_MEMBER", nonMember: "NOT_MEMBER", member: "FORBIDDEN", admin: "NOT_MEMBER" },
  ban: { guest: "NOT_MEMBER", nonMember: "NOT_MEMBER", member: "FORBIDDEN", admin: "NOT_MEMBER" },
  mute: { guest: "NOT_MEMBER", nonMember: "NOT_MEMBER", member: "FORBIDDEN", admin: "NOT_MEMBER" },
  op: { guest: "NOT_MEMBER", nonMember: "NOT_MEMBER", member: "FORBIDDEN", admin: "NOT_MEMBER" },
  settings: { guest: "NOT_MEMBER", nonMember: "NOT_MEMBER", member: "FORBIDDEN", admin: "NOT_MEMBER" },
  kickModerator: {},
  kickOwner: {},
  // Direct rooms have no joinable name.
  join: { guest: "INVALID_NAME", nonMember: "INVALID_NAME", member: "INVALID_NAME", admin: "INVALID_NAME" },
};

/** The expected outcome, or null when the case does not exist (a role a direct room lacks, an owner kicking itself). */
export function expectedOutcome(kind: AuthzKind, role: AuthzRole, op: AuthzOp): string | null {
  if (kind === "direct") return DIRECT[op][role] ?? null;
  if (kind === "private") return PRIVATE[op]?.[role] ?? ROOM[op][role] ?? null;
  return ROOM[op][role] ?? null;
}
