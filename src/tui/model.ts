// The terminal client's view model: all of its state, and one reducer that applies server
// frames, connection changes, replies and keys to it. The reducer does no I/O and reads no
// clock: time comes in the actions, and what must happen outside (requests, sends, saving the
// last room, quitting) comes out as effects that app.tsx carries out and answers with actions.

import type { Account, HistoryPage, Membership, Message, Role, RoomEvent, RoomKind } from "../core/types.ts";
import type { Results, ServerFrame, WireLimits } from "../protocols/ws/wire.ts";
import type { RequestFrame, SendFrame, Status, Welcome } from "./client.ts";
import { COMMAND_NAMES, type Command, HELP, parseCommand } from "./commands.ts";
import * as ed from "./input.ts";
import type { KeyAction } from "./keys.ts";
import { layout, logHeight, logLines } from "./view.ts";
import { sanitize } from "./wrap.ts";

/** A body starting with this is an action ("* alice waves"), as IRC's CTCP ACTION and line mode have it. */
export const ACTION = "/me ";
export const LOBBY = "lobby";
/** Messages per history page. */
export const PAGE = 50;
/** How long a "typing" signal from someone else is shown without being repeated. */
export const TYPING_TTL_MS = 6000;
/** How often our own "typing" signal is repeated while typing. */
export const TYPING_REPEAT_MS = 3000;
/** Items kept per room; older ones are dropped (and can be loaded again with PageUp). */
const MAX_ITEMS = 3000;
/** Search results per page. */
export const SEARCH_PAGE = 10;
/** /goto loads at most this many pages of JUMP_PAGE messages to reach a result. */
const JUMP_PAGE = 100;
const MAX_JUMP_PAGES = 40;
/** /edit and /delete look this many pages of 100 back for your last message. */
const MAX_OWN_PAGES = 10;

export type Item =
  | { kind: "message"; key: number; message: Message }
  | { kind: "event"; key: number; at: number; text: string }
  | { kind: "notice"; key: number; at: number; text: string; level: "info" | "error" }
  /** Search result number n, shown where the search was typed; `where` is the room's label. */
  | { kind: "result"; key: number; at: number; n: number; where: string; message: Message; terms: string[] };

export interface PendingSend {
  clientId: string;
  body: string;
  replyTo: string | null;
  at: number;
}

export interface RoomView {
  id: string;
  name: string;
  kind: RoomKind;
  topic: string;
  role: Role;
  muted: boolean;
  /** Last sequence received in the event stream (what resume sends); -1 until the first event of a room joined just now. */
  seq: number;
  /** The room's last sequence when we got its membership (resume position while `seq` is -1). */
  baseSeq: number;
  /** Messages up to this sequence are already in `unread` (the server counted them). */
  countedUpTo: number;
  /** Read position as the server knows it (shared with the web client). */
  readSeq: number;
  /** Where the "new messages" line is drawn: the read position when the room was opened. */
  markerSeq: number;
  unread: number;
  /** Messages, events and notices, sorted by key (sequence; notices sort after what preceded them). */
  items: Item[];
  /** Messages typed here and not yet acknowledged by the server. */
  pending: PendingSend[];
  history: "none" | "loading" | "more" | "complete";
  loadingOlder: boolean;
  /** Lines scrolled up from the bottom of the log. */
  scroll: number;
  /** Scroll asked for beyond the top while older history loads. */
  wantScroll: number;
  /** For a direct conversation, the other person's name. */
  peer: string | null;
  readInFlight: boolean;
  /** Say that this room was opened for us once its other member's name is known. */
  announce: boolean;
  /** When we last told the room we are typing (0: not typing). */
  typingSentAt: number;
  /** A message being brought into view (/goto): older pages load until it is there. */
  jump: { id: string; seq: number; pages: number } | null;
  /** The message /goto showed, marked in the log. */
  highlight: string | null;
}

/** The last search, so that /search alone pages on and /goto n finds result n. */
export interface SearchState {
  query: string;
  terms: string[];
  results: Message[];
  more: boolean;
}

export interface ChatState {
  me: Account | null;
  limits: WireLimits | null;
  rooms: Map<string, RoomView>;
  current: string | null;
  conn: Status;
  input: ed.InputState;
  /** Room id → name → when their typing signal expires. */
  typing: Map<string, Map<string, number>>;
  /** Events of rooms we do not know yet (the reply to our join comes after its first events). */
  orphans: Map<string, RoomEvent[]>;
  /** Notices while no room is open. */
  notices: Item[];
  cols: number;
  rows: number;
  clientPrefix: string;
  nextClient: number;
  /** Room to open first (the last one used), by name. */
  wantRoom: string | null;
  search: SearchState | null;
  now: number;
}

export type Tag =
  | { kind: "history"; room: string; older: boolean }
  | { kind: "join" }
  | { kind: "create" }
  | { kind: "direct"; name: string; text: string }
  | { kind: "members"; room: string; show: boolean }
  | { kind: "rooms" }
  | { kind: "read"; room: string }
  | { kind: "search"; query: string; more: boolean }
  /** Looking further back than what is loaded for our last message, to edit or delete it. */
  | { kind: "own"; room: string; action: "edit" | "delete"; text: string | null; pages: number }
  | { kind: "quiet" }
  | { kind: "report"; room: string | null; done?: string };

export type Effect =
  | { kind: "request"; frame: RequestFrame; tag: Tag }
  | { kind: "send"; room: string; frame: SendFrame }
  | { kind: "remember"; room: string }
  | { kind: "redraw" }
  | { kind: "quit" };

export type Action =
  | { type: "welcome"; welcome: Welcome; now: number }
  | { type: "frame"; frame: ServerFrame; now: number }
  | { type: "status"; status: Status; now: number }
  | { type: "reply"; tag: Tag; ok: true; result: unknown; now: number }
  | { type: "reply"; tag: Tag; ok: false; code: string; message: string; now: number }
  | { type: "sent"; room: string; clientId: string; ok: true; result: Results["send"]; now: number }
  | { type: "sent"; room: string; clientId: string; ok: false; code: string; message: string; now: number }
  | { type: "key"; key: KeyAction; now: number }
  | { type: "resize"; cols: number; rows: number }
  | { type: "tick"; now: number };

export interface InitOptions {
  cols: number;
  rows: number;
  clientPrefix: string;
  wantRoom?: string | null;
  now: number;
}

export function initialState(o: InitOptions): ChatState {
  return {
    me: null,
    limits: null,
    rooms: new Map(),
    current: null,
    conn: { state: "connecting", attempt: 0 },
    input: ed.emptyInput(),
    typing: new Map(),
    orphans: new Map(),
    notices: [],
    cols: o.cols,
    rows: o.rows,
    clientPrefix: o.clientPrefix,
    nextClient: 0,
    wantRoom: o.wantRoom ?? null,
    search: null,
    now: o.now,
  };
}

/** Applies an action to the state (in place) and returns what must happen outside. */
export function reduce(s: ChatState, a: Action): Effect[] {
  const fx: Effect[] = [];
  if ("now" in a) s.now = a.now;
  switch (a.type) {
    case "welcome":
      onWelcome(s, a.welcome, fx);
      break;
    case "frame":
      onFrame(s, a.frame, fx);
      break;
    case "status":
      onStatus(s, a.status);
      break;
    case "reply":
      onReply(s, a, fx);
      break;
    case "sent":
      onSent(s, a, fx);
      break;
    case "key":
      onKey(s, a.key, fx);
      break;
    case "resize": {
      // A room scrolled up keeps its first visible message where it was; the rest stay at the bottom.
      const kept = [...s.rooms.values()].flatMap((r) => {
        const top = r.scroll > 0 ? topMessage(s, r) : null;
        return top ? [{ room: r, ...top }] : [];
      });
      s.cols = a.cols;
      s.rows = a.rows;
      for (const r of s.rooms.values()) r.scroll = Math.min(r.scroll, maxScroll(s, r));
      for (const k of kept) scrollTo(s, k.room, k.id, k.offset);
      break;
    }
    case "tick":
      expireTyping(s);
      break;
  }
  return fx;
}

// ---- rooms ----

/** Rooms in display order: named rooms by name (#lobby first), then direct conversations. */
export function roomOrder(s: ChatState): RoomView[] {
  const rank = (r: RoomView) => (r.name === LOBBY ? 0 : r.kind === "direct" ? 2 : 1);
  return [...s.rooms.values()].sort((a, b) => rank(a) - rank(b) || label(a).localeCompare(label(b)));
}

/** How a room is shown: #name, or @person for a direct conversation. */
export function label(r: RoomView): string {
  return r.kind === "direct" ? `@${r.peer ?? "…"}` : `#${r.name}`;
}

export function currentRoom(s: ChatState): RoomView | null {
  return s.current === null ? null : (s.rooms.get(s.current) ?? null);
}

function newRoom(m: Membership, seq: number): RoomView {
  return {
    id: m.room.id,
    name: m.room.name,
    kind: m.room.kind,
    topic: m.room.topic,
    role: m.role,
    muted: m.muted,
    seq,
    baseSeq: m.room.lastSeq,
    countedUpTo: m.room.lastSeq,
    readSeq: m.readSeq,
    markerSeq: m.readSeq,
    unread: m.unread,
    items: [],
    pending: [],
    history: "none",
    loadingOlder: false,
    scroll: 0,
    wantScroll: 0,
    peer: null,
    readInFlight: false,
    announce: false,
    typingSentAt: 0,
    jump: null,
    highlight: null,
  };
}

function announce(s: ChatState, room: RoomView): void {
  room.announce = false;
  const i = roomOrder(s).findIndex((r) => r.id === room.id);
  const keys = i >= 0 && i < 9 ? ` (Alt+${i + 1})` : "";
  notice(
    s,
    room.kind === "direct"
      ? `${room.peer} opened a direct conversation with you: ${label(room)}${keys}.`
      : `You are now in ${label(room)}${keys}.`,
  );
}

/** Names a direct conversation after the other person. */
function setPeer(s: ChatState, room: RoomView, name: string): void {
  if (room.kind !== "direct" || room.peer !== null) return;
  room.peer = name;
  if (room.announce) announce(s, room);
}

/** Room id → last sequence seen, for hello.resume. */
export function resumeMap(s: ChatState): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of s.rooms.values()) out[r.id] = r.seq >= 0 ? r.seq : r.baseSeq;
  return out;
}

function onWelcome(s: ChatState, w: Welcome, fx: Effect[]): void {
  const first = s.me === null;
  s.me = w.account;
  s.limits = w.limits;
  const present = new Set<string>();
  for (const m of w.rooms) {
    present.add(m.room.id);
    const r = s.rooms.get(m.room.id);
    if (!r) {
      const room = newRoom(m, m.room.lastSeq);
      s.rooms.set(room.id, room);
      if (room.kind === "direct") fx.push(membersRequest(room, false));
      continue;
    }
    r.name = m.room.name;
    r.topic = m.room.topic;
    r.role = m.role;
    r.muted = m.muted;
    // The server resumes from min(our position, its last sequence).
    if (r.seq > m.room.lastSeq) r.seq = m.room.lastSeq;
    r.baseSeq = m.room.lastSeq;
    r.countedUpTo = m.room.lastSeq;
    if (m.readSeq > r.readSeq) r.readSeq = m.readSeq;
    r.unread = r.id === s.current && r.scroll === 0 ? 0 : m.unread;
  }
  for (const r of [...s.rooms.values()]) {
    if (!present.has(r.id)) {
      s.rooms.delete(r.id);
      if (s.current === r.id) s.current = null;
    }
  }
  if (first) {
    const want = s.wantRoom?.toLowerCase().replace(/^#/, "");
    const order = roomOrder(s);
    const pick = order.find((r) => want && r.name.toLowerCase() === want) ?? order.find((r) => r.name === LOBBY) ?? order[0];
    if (pick) enterRoom(s, pick.id, fx);
    notice(s, `Connected as ${w.account.name}${w.account.guest ? " (guest)" : ""}. Type /help for commands.`);
  } else {
    const cur = currentRoom(s);
    if (cur) {
      if (cur.history === "none") loadHistory(cur, fx);
      markRead(s, cur, fx);
    } else {
      const lobby = roomOrder(s)[0];
      if (lobby) enterRoom(s, lobby.id, fx);
    }
  }
}

/** Opens a room: the "new messages" line goes at its read position, history loads if needed. */
function enterRoom(s: ChatState, id: string, fx: Effect[]): void {
  const room = s.rooms.get(id);
  if (!room) return;
  const prev = currentRoom(s);
  if (prev && prev.id !== id) {
    prev.markerSeq = prev.readSeq;
    stopTyping(s, prev, fx);
  }
  s.current = id;
  if (prev?.id !== id) {
    room.markerSeq = room.readSeq;
    room.scroll = 0;
    room.wantScroll = 0;
  }
  room.unread = 0;
  if (room.history === "none") loadHistory(room, fx);
  if (room.kind === "direct" && room.peer === null) fx.push(membersRequest(room, false));
  markRead(s, room, fx);
  fx.push({ kind: "remember", room: room.name });
}

function addRoom(s: ChatState, m: Membership, fx: Effect[], peer: string | null = null): RoomView {
  let room = s.rooms.get(m.room.id);
  if (!room) {
    room = newRoom(m, -1);
    room.peer = peer;
    s.rooms.set(room.id, room);
    const early = s.orphans.get(room.id);
    s.orphans.delete(room.id);
    for (const e of early ?? []) onEvent(s, e, fx);
    if (room.kind === "direct" && room.peer === null) fx.push(membersRequest(room, false));
  } else if (peer && !room.peer) room.peer = peer;
  return room;
}

function removeRoom(s: ChatState, id: string, why: string, fx: Effect[]): void {
  s.rooms.delete(id);
  s.typing.delete(id);
  if (s.current === id) {
    s.current = null;
    const next = roomOrder(s)[0];
    if (next) enterRoom(s, next.id, fx);
  }
  notice(s, why);
}

function loadHistory(room: RoomView, fx: Effect[]): void {
  room.history = "loading";
  fx.push({
    kind: "request",
    frame: { type: "history", room: room.id, limit: PAGE },
    tag: { kind: "history", room: room.id, older: false },
  });
}

function loadOlder(room: RoomView, fx: Effect[], limit = PAGE): void {
  if (room.history !== "more" || room.loadingOlder) return;
  const oldest = room.items.find((i) => i.kind === "message");
  room.loadingOlder = true;
  fx.push({
    kind: "request",
    frame: { type: "history", room: room.id, limit, ...(oldest ? { before: oldest.key } : {}) },
    tag: { kind: "history", room: room.id, older: true },
  });
}

function membersRequest(room: RoomView, show: boolean): Effect {
  return { kind: "request", frame: { type: "members", room: room.id }, tag: { kind: "members", room: room.id, show } };
}

/** Tells the server (and so the web client) how far the open room is read, one request at a time. */
function markRead(s: ChatState, room: RoomView, fx: Effect[]): void {
  if (room.id !== s.current || room.scroll > 0) return;
  room.unread = 0;
  const latest = Math.max(room.seq, lastMessageSeq(room));
  if (latest <= room.readSeq || room.readInFlight || s.conn.state !== "online") return;
  room.readInFlight = true;
  fx.push({ kind: "request", frame: { type: "read", room: room.id, seq: latest }, tag: { kind: "read", room: room.id } });
}

/**
 * The account's read position moved (another client of ours read the room, or this one did):
 * recount what is unread. The "new messages" line of the open room stays where it was when the
 * room was opened; other rooms draw it at the new position when they are opened.
 */
function readElsewhere(s: ChatState, room: RoomView, readSeq: number): void {
  if (readSeq <= room.readSeq) return;
  room.readSeq = readSeq;
  if (room.unread === 0) return;
  const unreadAfter = (seq: number) =>
    room.items.filter((it) => it.kind === "message" && it.key > seq && it.message.authorId !== s.me?.id && !it.message.deleted)
      .length;
  if (readSeq >= Math.max(room.seq, lastMessageSeq(room))) room.unread = 0;
  else if (room.history === "complete" || room.items.some((it) => it.kind === "message" && it.key <= readSeq)) {
    room.unread = Math.min(room.unread, unreadAfter(readSeq));
  }
  // Otherwise the messages after the position are not loaded here: the count is corrected by the next welcome.
}

/** Index of the first unread message from someone else, where the "new messages" line goes; -1 for none. */
export function markerIndex(s: ChatState, room: RoomView): number {
  return room.items.findIndex(
    (it) => it.kind === "message" && it.key > room.markerSeq && it.message.authorId !== s.me?.id && !it.message.deleted,
  );
}

function lastMessageSeq(room: RoomView): number {
  for (let i = room.items.length - 1; i >= 0; i--) {
    const it = room.items[i]!;
    if (it.kind === "message") return it.key;
  }
  return 0;
}

// ---- items ----

function insertItem(room: RoomView, item: Item): void {
  let i = room.items.length;
  while (i > 0 && room.items[i - 1]!.key > item.key) i--;
  room.items.splice(i, 0, item);
  if (room.items.length > MAX_ITEMS && room.scroll === 0 && room.jump === null) {
    room.items.splice(0, room.items.length - MAX_ITEMS + 500);
    room.history = "more";
  }
}

function findMessage(room: RoomView, id: string): number {
  for (let i = room.items.length - 1; i >= 0; i--) {
    const it = room.items[i]!;
    if (it.kind === "message" && it.message.id === id) return i;
  }
  return -1;
}

/** Adds a message unless it is there already; true when added. */
function addMessage(room: RoomView, m: Message): boolean {
  if (findMessage(room, m.id) !== -1) return false;
  insertItem(room, { kind: "message", key: m.seq, message: m });
  return true;
}

function replaceMessage(room: RoomView, id: string, change: (m: Message) => Message): void {
  const i = findMessage(room, id);
  if (i === -1) return;
  const it = room.items[i] as Extract<Item, { kind: "message" }>;
  room.items[i] = { ...it, message: change(it.message) };
}

function noticeKey(room: RoomView): number {
  const last = room.items.length > 0 ? room.items[room.items.length - 1]!.key : 0;
  return Math.floor(Math.max(last, room.seq, 0)) + 0.5;
}

/** A line from the client itself (command results, errors) in the open room. */
export function notice(s: ChatState, text: string, level: "info" | "error" = "info", roomId: string | null = null): void {
  addLine(s, (key) => ({ kind: "notice", key, at: s.now, text, level }), roomId);
}

/** Adds a line of the client's own (a notice, a search result) at the bottom of a room, or of the notices. */
function addLine(s: ChatState, make: (key: number) => Item, roomId: string | null = null): void {
  const room = roomId ? s.rooms.get(roomId) : currentRoom(s);
  if (!room) {
    s.notices.push(make(s.notices.length));
    return;
  }
  anchored(s, room, () => insertItem(room, make(noticeKey(room))));
}

/**
 * Runs a change that adds lines at the bottom of a room; when the reader has scrolled up, the
 * view stays on the same lines instead of moving with the new ones.
 */
function anchored(s: ChatState, room: RoomView, change: () => void): void {
  if (room.id !== s.current || room.scroll === 0) {
    change();
    return;
  }
  const before = logHeight(s, room);
  change();
  room.scroll += Math.max(0, logHeight(s, room) - before);
}

// ---- server frames ----

function onFrame(s: ChatState, f: ServerFrame, fx: Effect[]): void {
  switch (f.type) {
    case "event":
      onEvent(s, f.event, fx);
      break;
    case "typing": {
      if (f.accountId === s.me?.id) break;
      let names = s.typing.get(f.roomId);
      if (f.typing) {
        if (!names) {
          names = new Map();
          s.typing.set(f.roomId, names);
        }
        names.set(f.name, s.now + TYPING_TTL_MS);
      } else names?.delete(f.name);
      break;
    }
    case "invited":
      notice(s, `${f.by} invited you to #${f.room}: type /join #${f.room} to enter.`);
      break;
    case "read": {
      const room = s.rooms.get(f.roomId);
      if (room) readElsewhere(s, room, f.readSeq);
      break;
    }
    case "joined": {
      const known = s.rooms.has(f.membership.room.id);
      const room = addRoom(s, f.membership, fx);
      if (known) break;
      // A direct conversation is announced once we know who it is with (its first events say).
      if (room.kind === "direct" && room.peer === null) room.announce = true;
      else announce(s, room);
      break;
    }
    default:
      break;
  }
}

function onEvent(s: ChatState, e: RoomEvent, fx: Effect[]): void {
  const room = s.rooms.get(e.roomId);
  if (!room) {
    const list = s.orphans.get(e.roomId) ?? [];
    if (list.length < 1000) list.push(e);
    s.orphans.set(e.roomId, list);
    return;
  }
  // Nothing twice: the stream is in sequence order, so anything at or below the position is a repeat.
  if (room.seq >= 0 && e.seq <= room.seq) return;
  room.seq = e.seq;
  const me = s.me?.id;
  switch (e.type) {
    case "message": {
      const m = e.message;
      const mine = m.authorId === me;
      // Read live, at the bottom of the open room: no "new messages" line for it.
      const live = room.id === s.current && room.scroll === 0 && markerIndex(s, room) === -1;
      anchored(s, room, () => {
        addMessage(room, m);
        if (mine && m.clientId) room.pending = room.pending.filter((p) => p.clientId !== m.clientId);
      });
      s.typing.get(room.id)?.delete(m.author);
      if (!mine) setPeer(s, room, m.author);
      if (live) room.markerSeq = Math.max(room.markerSeq, e.seq);
      if (mine) {
        if (room.id === s.current) room.markerSeq = Math.max(room.markerSeq, e.seq);
        markRead(s, room, fx);
      } else if (!m.deleted && e.seq > room.countedUpTo && e.seq > room.readSeq) {
        if (room.id === s.current && room.scroll === 0) markRead(s, room, fx);
        else room.unread++;
      }
      break;
    }
    case "edit":
      replaceMessage(room, e.messageId, (m) => ({ ...m, body: e.body, editedAt: e.at }));
      break;
    case "delete":
      replaceMessage(room, e.messageId, (m) => ({ ...m, body: "", deleted: true }));
      break;
    case "react":
      replaceMessage(room, e.messageId, (m) => {
        const reactions = { ...m.reactions };
        const who = (reactions[e.emoji] ?? []).filter((n) => n !== e.actor);
        if (e.on) who.push(e.actor);
        if (who.length > 0) reactions[e.emoji] = who;
        else delete reactions[e.emoji];
        return { ...m, reactions };
      });
      break;
    case "topic":
      room.topic = e.topic;
      addEvent(s, room, e, e.topic ? `${e.actor} set the topic: ${e.topic}` : `${e.actor} cleared the topic`);
      break;
    case "member": {
      if (e.accountId !== me) setPeer(s, room, e.name);
      addEvent(s, room, e, memberText(e, room));
      if (e.accountId === me) {
        if (e.change === "role" && e.role) room.role = e.role;
        if (e.change === "mute" || e.change === "unmute") room.muted = e.change === "mute";
        if (e.change === "leave" || e.change === "kick" || e.change === "ban") {
          const why =
            e.change === "leave"
              ? `You left ${label(room)}.`
              : `You were ${e.change === "kick" ? "kicked" : "banned"} from ${label(room)} by ${e.actor}${because(e)}.`;
          removeRoom(s, room.id, why, fx);
        }
      }
      if (room.id === s.current) markRead(s, room, fx);
      break;
    }
  }
}

function addEvent(s: ChatState, room: RoomView, e: RoomEvent, text: string): void {
  anchored(s, room, () => insertItem(room, { kind: "event", key: e.seq, at: e.at, text }));
}

/** The moderator's reason for a kick or ban, when one was given. */
function because(e: Extract<RoomEvent, { type: "member" }>): string {
  return e.reason ? ` (${e.reason})` : "";
}

function memberText(e: Extract<RoomEvent, { type: "member" }>, room: RoomView): string {
  const where = room.kind === "direct" ? "the conversation" : label(room);
  switch (e.change) {
    case "join":
      return `${e.name} joined ${where}`;
    case "leave":
      return `${e.name} left ${where}`;
    case "kick":
      return `${e.name} was kicked by ${e.actor}${because(e)}`;
    case "ban":
      return `${e.name} was banned by ${e.actor}${because(e)}`;
    case "unban":
      return `${e.name} was unbanned by ${e.actor}`;
    case "mute":
      return `${e.name} was muted by ${e.actor}`;
    case "unmute":
      return `${e.name} was unmuted by ${e.actor}`;
    case "role":
      return `${e.name} is now ${e.role ?? "member"} (by ${e.actor})`;
    case "invite":
      return `${e.actor} invited ${e.name}`;
  }
}

function onStatus(s: ChatState, st: Status): void {
  const was = s.conn.state;
  s.conn = st;
  if (st.state === "online" && was !== "online" && s.me !== null) notice(s, "Reconnected.");
  if (st.state === "offline" && was === "online") {
    notice(s, `Disconnected: ${st.reason}. Reconnecting…`, "error");
    for (const r of s.rooms.values()) r.readInFlight = false;
    s.typing.clear();
  }
}

function expireTyping(s: ChatState): void {
  for (const [roomId, names] of s.typing) {
    for (const [name, until] of names) if (until <= s.now) names.delete(name);
    if (names.size === 0) s.typing.delete(roomId);
  }
}

/** Names typing in a room right now. */
export function typingIn(s: ChatState, roomId: string): string[] {
  const names = s.typing.get(roomId);
  if (!names) return [];
  return [...names].filter(([, until]) => until > s.now).map(([n]) => n);
}

// ---- replies ----

function onReply(s: ChatState, a: Extract<Action, { type: "reply" }>, fx: Effect[]): void {
  const tag = a.tag;
  if (!a.ok) {
    onFailure(s, tag, a.code, a.message);
    return;
  }
  switch (tag.kind) {
    case "history": {
      const room = s.rooms.get(tag.room);
      if (!room) break;
      const page = a.result as HistoryPage;
      // The scroll offset counts from the bottom, so older lines added above leave the view where it is.
      for (const m of page.messages) addMessage(room, m);
      if (tag.older || room.history === "loading") room.history = page.more ? "more" : "complete";
      // A first page that does not fill the screen: fetch the one before it right away.
      if (!tag.older && room.history === "more" && logHeight(s, room) < layout(s).logRows) loadOlder(room, fx);
      else if (tag.older) {
        room.loadingOlder = false;
        if (room.wantScroll > room.scroll) room.scroll = Math.min(room.wantScroll, maxScroll(s, room));
        room.wantScroll = 0;
      }
      markRead(s, room, fx);
      continueJump(s, room, fx);
      break;
    }
    case "search": {
      // Results go at the bottom of the open room: go there, or they would be out of sight.
      const room = currentRoom(s);
      if (room) scrollBy(s, room, -room.scroll, fx);
      showResults(s, tag, a.result as Results["search"]);
      break;
    }
    case "own": {
      const room = s.rooms.get(tag.room);
      if (!room) break;
      const page = a.result as HistoryPage;
      const mine = page.messages.findLast((m) => m.authorId === s.me?.id && !m.deleted);
      const first = page.messages[0];
      if (mine) ownAction(s, room, tag.action, tag.text, mine, fx);
      else if (page.more && first && tag.pages < MAX_OWN_PAGES) fx.push(findOwn(room, tag, first.seq));
      else notice(s, `You have no message in ${label(room)} to ${tag.action}.`, "error", room.id);
      break;
    }
    case "join":
    case "create": {
      const { membership } = a.result as { membership: Membership };
      const room = addRoom(s, membership, fx);
      enterRoom(s, room.id, fx);
      if (tag.kind === "create") {
        notice(s, `Created ${label(room)}${room.kind === "private" ? " (private: /invite people to it)" : ""}.`);
      }
      break;
    }
    case "direct": {
      const { membership } = a.result as { membership: Membership };
      const room = addRoom(s, membership, fx, tag.name);
      enterRoom(s, room.id, fx);
      if (tag.text) sendMessage(s, room, tag.text, null, fx);
      break;
    }
    case "members": {
      const room = s.rooms.get(tag.room);
      const { members } = a.result as Results["members"];
      if (room?.kind === "direct") {
        const other = members.find((m) => m.accountId !== s.me?.id);
        if (other) setPeer(s, room, other.name);
      }
      if (tag.show && room) {
        const list = members
          .map((m) => `${m.name}${m.role !== "member" ? ` (${m.role})` : ""}${m.online ? "" : " (away)"}`)
          .join(", ");
        const online = members.filter((m) => m.online).length;
        notice(s, `${label(room)}: ${members.length} members, ${online} online: ${list}`, "info", room.id);
      }
      break;
    }
    case "rooms": {
      const { rooms } = a.result as Results["rooms"];
      if (rooms.length === 0) notice(s, "There are no public rooms.");
      else {
        notice(s, `Public rooms (${rooms.length}):`);
        for (const r of rooms) notice(s, `  #${r.name} (${r.members}) ${r.topic}`);
      }
      break;
    }
    case "read": {
      const room = s.rooms.get(tag.room);
      if (!room) break;
      room.readInFlight = false;
      const { readSeq } = a.result as Results["read"];
      room.readSeq = Math.max(room.readSeq, readSeq);
      markRead(s, room, fx);
      break;
    }
    case "report":
      if (tag.done) notice(s, tag.done, "info", tag.room);
      break;
    case "quiet":
      break;
  }
}

function onFailure(s: ChatState, tag: Tag, code: string, message: string): void {
  const offline = code === "OFFLINE" || code === "DISCONNECTED";
  switch (tag.kind) {
    case "history": {
      const room = s.rooms.get(tag.room);
      if (!room) return;
      room.jump = null;
      if (tag.older) room.loadingOlder = false;
      else if (room.history === "loading") room.history = "none";
      if (!offline) notice(s, `Could not load history: ${message}`, "error", room.id);
      return;
    }
    case "read": {
      const room = s.rooms.get(tag.room);
      if (room) room.readInFlight = false;
      return;
    }
    case "members":
      if (!tag.show) return;
      break;
    case "quiet":
      return;
    default:
      break;
  }
  notice(s, offline ? "Not connected to the server: try again once the connection is back." : explain(code, message), "error");
}

function explain(code: string, message: string): string {
  switch (code) {
    case "NO_SUCH_ROOM":
      return "No such room. /rooms lists the public rooms; /create #name makes one.";
    case "NO_SUCH_ACCOUNT":
      return "No such account.";
    case "GUEST_FORBIDDEN":
      return "Guests cannot do that: register an account to use it.";
    case "INVITE_ONLY":
      return "That room is invite-only: ask a member to /invite you.";
    default:
      return message;
  }
}

function onSent(s: ChatState, a: Extract<Action, { type: "sent" }>, fx: Effect[]): void {
  const room = s.rooms.get(a.room);
  if (!room) return;
  const pending = room.pending.find((p) => p.clientId === a.clientId);
  room.pending = room.pending.filter((p) => p.clientId !== a.clientId);
  if (a.ok) {
    anchored(s, room, () => addMessage(room, a.result.message));
    markRead(s, room, fx);
    return;
  }
  const excerpt = pending ? ` "${pending.body.length > 40 ? `${pending.body.slice(0, 40)}…` : pending.body}"` : "";
  notice(s, `Not sent${excerpt}: ${explain(a.code, a.message)}`, "error", room.id);
}

// ---- keys and commands ----

function onKey(s: ChatState, k: KeyAction, fx: Effect[]): void {
  const inp = s.input;
  const room = currentRoom(s);
  switch (k.kind) {
    case "insert":
      ed.insert(inp, sanitize(k.text));
      typing(s, fx);
      return;
    case "newline":
      ed.insert(inp, "\n");
      return;
    case "submit":
      submit(s, fx);
      return;
    case "backspace":
      ed.backspace(inp);
      break;
    case "delete":
      ed.deleteForward(inp);
      break;
    case "left":
      ed.left(inp);
      return;
    case "right":
      ed.right(inp);
      return;
    case "wordLeft":
      ed.wordLeft(inp);
      return;
    case "wordRight":
      ed.wordRight(inp);
      return;
    case "home":
      ed.home(inp);
      return;
    case "end":
      ed.end(inp);
      return;
    case "killStart":
      ed.killStart(inp);
      break;
    case "killEnd":
      ed.killEnd(inp);
      break;
    case "killWord":
      ed.killWord(inp);
      break;
    case "up":
      ed.up(inp);
      return;
    case "down":
      ed.down(inp);
      return;
    case "pageUp":
      if (room) scrollBy(s, room, pageSize(s), fx);
      return;
    case "pageDown":
      if (room) scrollBy(s, room, -pageSize(s), fx);
      return;
    case "escape":
      if (room) {
        setHighlight(room, null);
        scrollBy(s, room, -room.scroll, fx);
      }
      return;
    case "nextRoom":
    case "prevRoom": {
      const order = roomOrder(s);
      if (order.length === 0) return;
      const i = order.findIndex((r) => r.id === s.current);
      const next = order[(i + (k.kind === "nextRoom" ? 1 : -1) + order.length) % order.length]!;
      enterRoom(s, next.id, fx);
      return;
    }
    case "room": {
      const target = roomOrder(s)[k.index];
      if (target) enterRoom(s, target.id, fx);
      return;
    }
    case "complete":
      complete(s);
      return;
    case "redraw":
      fx.push({ kind: "redraw" });
      return;
    case "interrupt":
      if (inp.text !== "") ed.replace(inp, "");
      else fx.push({ kind: "quit" });
      break;
    case "eof":
      if (inp.text === "") fx.push({ kind: "quit" });
      else ed.deleteForward(inp);
      break;
  }
  if (inp.text.trim() === "" && room) stopTyping(s, room, fx);
}

function pageSize(s: ChatState): number {
  return Math.max(1, layout(s).logRows - 2);
}

function maxScroll(s: ChatState, room: RoomView): number {
  return Math.max(0, logHeight(s, room) - layout(s).logRows);
}

function scrollBy(s: ChatState, room: RoomView, delta: number, fx: Effect[]): void {
  const want = Math.max(0, room.scroll + delta);
  const max = maxScroll(s, room);
  room.scroll = Math.min(want, max);
  if (delta > 0 && want >= max && room.history === "more") {
    room.wantScroll = want;
    loadOlder(room, fx);
  }
  if (room.scroll === 0) markRead(s, room, fx);
}

function typing(s: ChatState, fx: Effect[]): void {
  const room = currentRoom(s);
  if (!room || s.conn.state !== "online") return;
  if (s.input.text.startsWith("/") || s.input.text.trim() === "") return;
  if (room.typingSentAt !== 0 && s.now - room.typingSentAt < TYPING_REPEAT_MS) return;
  room.typingSentAt = s.now;
  fx.push({ kind: "request", frame: { type: "typing", room: room.id, typing: true }, tag: { kind: "quiet" } });
}

function stopTyping(s: ChatState, room: RoomView, fx: Effect[]): void {
  if (room.typingSentAt === 0) return;
  room.typingSentAt = 0;
  if (s.conn.state === "online") {
    fx.push({ kind: "request", frame: { type: "typing", room: room.id, typing: false }, tag: { kind: "quiet" } });
  }
}

function submit(s: ChatState, fx: Effect[]): void {
  const text = s.input.text;
  const cmd = parseCommand(text);
  if (cmd.kind === "empty") return;
  if (cmd.kind === "error") {
    notice(s, cmd.message, "error");
    return; // the line stays, to be corrected
  }
  const body = cmd.kind === "say" ? cmd.text : cmd.kind === "me" ? ACTION + cmd.text : null;
  if (body !== null && !fitsLimit(s, body)) return;
  ed.take(s.input);
  run(s, cmd, fx);
}

function fitsLimit(s: ChatState, body: string): boolean {
  const max = s.limits?.maxMessageBytes;
  const size = new TextEncoder().encode(body).length;
  if (max !== undefined && size > max) {
    notice(s, `That message is ${size} bytes; this server takes at most ${max}. Shorten it and press Enter again.`, "error");
    return false;
  }
  return true;
}

function needRoom(s: ChatState): RoomView | null {
  const room = currentRoom(s);
  if (!room) notice(s, "No room is open: /join #room first.", "error");
  return room;
}

function lastOwnMessage(s: ChatState, room: RoomView): Message | null {
  for (let i = room.items.length - 1; i >= 0; i--) {
    const it = room.items[i]!;
    if (it.kind === "message" && it.message.authorId === s.me?.id && !it.message.deleted) return it.message;
  }
  return null;
}

/** The last live message by `name`, or by anyone but us when `name` is null. */
function lastMessageBy(s: ChatState, room: RoomView, name: string | null): Message | null {
  const n = name?.toLowerCase() ?? null;
  for (let i = room.items.length - 1; i >= 0; i--) {
    const it = room.items[i]!;
    if (it.kind !== "message" || it.message.deleted) continue;
    if (n === null ? it.message.authorId !== s.me?.id : it.message.author.toLowerCase() === n) return it.message;
  }
  return null;
}

function findByName(s: ChatState, name: string): RoomView | undefined {
  const n = name.toLowerCase();
  return [...s.rooms.values()].find((r) => (r.kind === "direct" ? r.peer?.toLowerCase() === n : r.name.toLowerCase() === n));
}

function request(frame: RequestFrame, tag: Tag): Effect {
  return { kind: "request", frame, tag };
}

function run(s: ChatState, cmd: Command, fx: Effect[]): void {
  switch (cmd.kind) {
    case "say":
    case "me": {
      const room = needRoom(s);
      if (room) sendMessage(s, room, cmd.kind === "me" ? ACTION + cmd.text : cmd.text, null, fx);
      return;
    }
    case "join": {
      const known = [...s.rooms.values()].find((r) => r.kind !== "direct" && r.name.toLowerCase() === cmd.room.toLowerCase());
      if (known) enterRoom(s, known.id, fx);
      else fx.push(request({ type: "join", room: cmd.room }, { kind: "join" }));
      return;
    }
    case "part": {
      const room = cmd.room === null ? needRoom(s) : (findByName(s, cmd.room) ?? null);
      if (!room) {
        if (cmd.room !== null) notice(s, `You are not in #${cmd.room}.`, "error");
        return;
      }
      fx.push(request({ type: "leave", room: room.id }, { kind: "report", room: null }));
      return;
    }
    case "msg": {
      if (s.me && cmd.name.toLowerCase() === s.me.name.toLowerCase()) {
        notice(s, "That is you: /msg needs someone else's name.", "error");
        return;
      }
      if (cmd.text && !fitsLimit(s, cmd.text)) return;
      const known = findByName(s, cmd.name);
      if (known?.kind === "direct") {
        enterRoom(s, known.id, fx);
        if (cmd.text) sendMessage(s, known, cmd.text, null, fx);
        return;
      }
      fx.push(request({ type: "direct", account: cmd.name }, { kind: "direct", name: cmd.name, text: cmd.text }));
      return;
    }
    case "topic": {
      const room = needRoom(s);
      if (!room) return;
      if (cmd.topic === null) notice(s, room.topic ? `Topic of ${label(room)}: ${room.topic}` : `${label(room)} has no topic.`);
      else fx.push(request({ type: "topic", room: room.id, topic: cmd.topic }, { kind: "report", room: room.id }));
      return;
    }
    case "who": {
      const room = needRoom(s);
      if (room) fx.push(membersRequest(room, true));
      return;
    }
    case "rooms":
      fx.push(request({ type: "rooms" }, { kind: "rooms" }));
      return;
    case "edit":
    case "delete": {
      const room = needRoom(s);
      if (!room) return;
      const text = cmd.kind === "edit" ? cmd.text : null;
      if (text !== null && !fitsLimit(s, text)) return;
      const m = lastOwnMessage(s, room);
      if (m) ownAction(s, room, cmd.kind, text, m, fx);
      else if (room.history === "complete") notice(s, `You have no message in ${label(room)} to ${cmd.kind}.`, "error");
      else {
        // Not among the messages loaded here: ask the server for older ones.
        const oldest = room.items.find((it) => it.kind === "message");
        fx.push(findOwn(room, { action: cmd.kind, text, pages: 0 }, oldest ? oldest.key : Math.max(room.seq, room.baseSeq) + 1));
      }
      return;
    }
    case "reply": {
      const room = needRoom(s);
      if (!room) return;
      const target = lastMessageBy(s, room, cmd.to);
      if (!target) {
        notice(s, cmd.to ? `No message by ${cmd.to} to reply to.` : "No message to reply to.", "error");
        return;
      }
      if (fitsLimit(s, cmd.text)) sendMessage(s, room, cmd.text, target.id, fx);
      return;
    }
    case "react": {
      const room = needRoom(s);
      if (!room) return;
      const target = lastMessageBy(s, room, cmd.to);
      if (!target) {
        notice(s, cmd.to ? `No message by ${cmd.to} to react to.` : "No message by someone else to react to.", "error");
        return;
      }
      fx.push(request({ type: "react", message: target.id, emoji: cmd.emoji }, { kind: "report", room: room.id }));
      return;
    }
    case "create":
      fx.push(request({ type: "create", name: cmd.room, private: cmd.private }, { kind: "create" }));
      return;
    case "invite": {
      const room = needRoom(s);
      if (!room) return;
      fx.push(
        request(
          { type: "invite", room: room.id, account: cmd.name },
          { kind: "report", room: room.id, done: `Invited ${cmd.name} to ${label(room)}.` },
        ),
      );
      return;
    }
    case "search": {
      if (cmd.query !== "") {
        fx.push(
          request({ type: "search", query: cmd.query, limit: SEARCH_PAGE }, { kind: "search", query: cmd.query, more: false }),
        );
        return;
      }
      const last = s.search;
      const before = last?.results.at(-1);
      if (!last) notice(s, "Type /search and the words to look for.", "error");
      else if (!last.more || !before) notice(s, `No older results for "${last.query}".`);
      else {
        fx.push(
          request(
            { type: "search", query: last.query, before: before.id, limit: SEARCH_PAGE },
            { kind: "search", query: last.query, more: true },
          ),
        );
      }
      return;
    }
    case "goto": {
      const m = s.search?.results[cmd.n - 1];
      if (!m) {
        const have = s.search?.results.length ?? 0;
        notice(
          s,
          have > 0 ? `There is no result ${cmd.n}: the last search shows ${have}.` : "Search first: /search words.",
          "error",
        );
        return;
      }
      const room = s.rooms.get(m.roomId);
      if (!room) {
        notice(s, "You are no longer in the room of that message.", "error");
        return;
      }
      enterRoom(s, room.id, fx);
      room.jump = { id: m.id, seq: m.seq, pages: 0 };
      continueJump(s, room, fx);
      return;
    }
    case "help":
      for (const line of HELP) notice(s, line);
      return;
    case "quit":
      fx.push({ kind: "quit" });
      return;
    case "empty":
    case "error":
      return;
  }
}

/** Edits (or, without text, puts in the input line for editing) or deletes our message `m`. */
function ownAction(s: ChatState, room: RoomView, action: "edit" | "delete", text: string | null, m: Message, fx: Effect[]): void {
  if (action === "delete") fx.push(request({ type: "delete", message: m.id }, { kind: "report", room: room.id }));
  else if (text !== null) fx.push(request({ type: "edit", message: m.id, body: text }, { kind: "report", room: room.id }));
  else if (s.input.text === "") ed.replace(s.input, `/edit ${m.body}`);
}

function findOwn(room: RoomView, t: { action: "edit" | "delete"; text: string | null; pages: number }, before: number): Effect {
  return request(
    { type: "history", room: room.id, before, limit: 100 },
    { kind: "own", room: room.id, action: t.action, text: t.text, pages: t.pages + 1 },
  );
}

function showResults(s: ChatState, tag: Extract<Tag, { kind: "search" }>, page: Results["search"]): void {
  if (!tag.more || s.search?.query !== tag.query) s.search = { query: tag.query, terms: page.terms, results: [], more: false };
  const search = s.search;
  search.more = page.more;
  if (search.results.length === 0 && page.messages.length === 0) {
    notice(s, `No messages match "${tag.query}".`);
    return;
  }
  notice(s, `Search "${tag.query}"${tag.more ? ", older results" : ", newest first"}:`);
  for (const m of page.messages) {
    search.results.push(m);
    const room = s.rooms.get(m.roomId);
    const n = search.results.length;
    const where = room ? label(room) : "?";
    addLine(s, (key) => ({ kind: "result", key, at: s.now, n, where, message: m, terms: search.terms }));
  }
  notice(s, page.more ? "/goto n opens result n; /search alone shows older results." : "/goto n opens result n.");
}

/** Brings the message of a /goto into view, loading older pages until it is there. */
function continueJump(s: ChatState, room: RoomView, fx: Effect[]): void {
  const j = room.jump;
  if (!j) return;
  if (findMessage(room, j.id) !== -1) {
    room.jump = null;
    reveal(s, room, j.id);
    return;
  }
  if (room.history === "loading" || room.loadingOlder) return; // the page on its way calls again
  if (room.history === "more" && j.pages < MAX_JUMP_PAGES) {
    j.pages++;
    loadOlder(room, fx, JUMP_PAGE);
    return;
  }
  room.jump = null;
  notice(s, room.history === "more" ? "That message is too far back to show here." : "That message is gone.", "error");
}

/** Scrolls so that a message is a third of the way down the log, and marks it. */
function reveal(s: ChatState, room: RoomView, id: string): void {
  setHighlight(room, id);
  scrollTo(s, room, id, Math.floor(layout(s).logRows / 3));
}

/** Scrolls so that the first line of a message is `offset` rows below the top of the log. */
function scrollTo(s: ChatState, room: RoomView, id: string, offset: number): void {
  const starts = new Map<string, number>();
  const total = logLines(s, room, layout(s).logWidth, starts).length;
  const start = starts.get(id);
  if (start === undefined) return;
  const end = Math.min(total, start - offset + layout(s).logRows);
  room.scroll = Math.max(0, Math.min(total - end, maxScroll(s, room)));
}

/** The first message whose first line is visible, and how many rows below the top it starts. */
function topMessage(s: ChatState, room: RoomView): { id: string; offset: number } | null {
  const starts = new Map<string, number>();
  const total = logLines(s, room, layout(s).logWidth, starts).length;
  const top = Math.max(0, total - Math.min(room.scroll, maxScroll(s, room)) - layout(s).logRows);
  let best: { id: string; offset: number } | null = null;
  for (const [id, start] of starts)
    if (start >= top && (best === null || start - top < best.offset)) best = { id, offset: start - top };
  return best;
}

function setHighlight(room: RoomView, id: string | null): void {
  // Replacing the items makes the view draw them again (it caches rows per item).
  for (const target of [room.highlight, id]) {
    const i = target === null ? -1 : findMessage(room, target);
    if (i !== -1) room.items[i] = { ...room.items[i]! } as Item;
  }
  room.highlight = id;
}

function sendMessage(s: ChatState, room: RoomView, body: string, replyTo: string | null, fx: Effect[]): void {
  const clientId = `${s.clientPrefix}-${++s.nextClient}`;
  room.scroll = 0;
  room.wantScroll = 0;
  room.typingSentAt = 0; // the server ends our typing signal when the message arrives
  room.markerSeq = Math.max(room.markerSeq, room.seq);
  room.pending.push({ clientId, body, replyTo, at: s.now });
  fx.push({
    kind: "send",
    room: room.id,
    frame: { type: "send", room: room.id, clientId, body, ...(replyTo ? { replyTo } : {}) },
  });
}

/** Tab: completes a command, a room or a name before the cursor. */
function complete(s: ChatState): void {
  const inp = s.input;
  const before = inp.text.slice(0, inp.cursor);
  const m = /(\S+)$/.exec(before);
  if (!m) return;
  const word = m[1]!;
  const start = inp.cursor - word.length;
  let candidates: string[];
  if (word.startsWith("/") && start === 0) candidates = COMMAND_NAMES.map((c) => `/${c}`);
  else if (word.startsWith("#")) candidates = [...s.rooms.values()].filter((r) => r.kind !== "direct").map((r) => `#${r.name}`);
  else {
    const room = currentRoom(s);
    const names = new Set<string>();
    for (const it of room?.items ?? []) if (it.kind === "message") names.add(it.message.author);
    for (const r of s.rooms.values()) if (r.peer) names.add(r.peer);
    candidates = [...names];
  }
  const lw = word.toLowerCase();
  const hits = candidates.filter((c) => c.toLowerCase().startsWith(lw) && c.length > word.length);
  if (hits.length === 0) return;
  let common = hits[0]!;
  for (const h of hits.slice(1)) {
    let i = 0;
    while (i < common.length && i < h.length && common[i]!.toLowerCase() === h[i]!.toLowerCase()) i++;
    common = common.slice(0, i);
  }
  if (common.length <= word.length) return;
  const suffix = hits.length === 1 ? (start === 0 && !common.startsWith("/") && !common.startsWith("#") ? ": " : " ") : "";
  inp.text = inp.text.slice(0, start) + common + suffix + inp.text.slice(inp.cursor);
  inp.cursor = start + common.length + suffix.length;
}
