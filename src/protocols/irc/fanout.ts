// Channel content (messages, edits, deletions, reactions) encoded once per capability set.
//
// A channel message goes to every IRC client in the room, and its lines differ between clients
// only by the few capabilities that change a line (`LINE_CAPS`): the channel, the author's mask
// and the tags are the same for all. The hub hands a room's run of new events to all of the
// room's connections in a row, so the bytes of the turn's events are kept, one Buffer per
// capability set, and that same Buffer is written to every client that shares the set. The cache
// is dropped at the end of the turn, so nothing learnt later (an author found to be a registered
// account) is missed.
//
// Between two flushes a busy room's members get the same run of events, and most get nothing
// else: the content events delivered since the run started are kept in order (`ContentRun`), and
// a client whose queue holds only a stretch of them keeps just that stretch's bounds. At its
// flush the stretch is joined once per capability set and that one Buffer goes to every such
// client, instead of each client queueing every event and copying its own joined Buffer.

import type { RoomEvent } from "../../core/types.ts";
import type { IrcClient } from "./client.ts";
import { renderContent } from "./events.ts";
import { encodeLine, type IrcMessage } from "./message.ts";
import { batchLines, type Sink } from "./response.ts";

export { LINE_CAPS, lineVariant } from "./caps.ts";

/** Events whose lines are the same for every recipient with the same capabilities (in a channel). */
export function isContent(e: RoomEvent): boolean {
  return e.type === "message" || e.type === "edit" || e.type === "delete" || e.type === "react";
}

/** An event's place in a content run, and its bytes per capability set (filled in by the first client of each set). */
interface Place {
  /** Null for a place kept for an event no client has asked for yet (see encodedContent). */
  event: RoomEvent | null;
  readonly run: ContentRun;
  readonly at: number;
  readonly variants: (Buffer | undefined)[];
}

/**
 * The places of the events encoded this turn, by sequence from `firstSeq`: one room's
 * consecutive events (a run the hub hands over). Dropped at the end of the turn.
 */
let places: Place[] = [];
let firstSeq = 0;
let placesRoom = "";
let placesName = "";
let lastPlace: Place | null = null;
let forgetting = false;

/**
 * Events not asked for (a sender's own message, a join) get kept places, at most this many in a
 * row; an event further on than that starts the places afresh (a bound on places never used).
 */
const MAX_SKIPPED = 64;

/** The array of events `stretches` are for (the run the hub hands to every member), with their channel's name. */
let stretchesOf: readonly RoomEvent[] | null = null;
let stretchesName = "";
/** By capability set: the array's places as one stretch, or null when they are not one. */
let stretches: (Stretch | null | undefined)[] = [];

function forget(): void {
  forgetting = false;
  places = [];
  lastPlace = null;
  stretchesOf = null;
  stretches = [];
}

/**
 * The content events delivered since the run started, in delivery order, each with its bytes per
 * capability set (filled in by the first client of each set). A run is closed by the first client
 * flush after it started (every recipient of an event queues output, so one comes within a flush
 * period) or at MAX_RUN events; the next content event starts a new one. Clients keep the runs
 * they hold stretches of until their own flush.
 */
export class ContentRun {
  /** Per event, its bytes by capability set (`lineVariant`). */
  readonly events: (Buffer | undefined)[][] = [];
  closed = false;
  /** The last stretch joined: most clients of a set hold the same one. */
  private joinedVariant = -1;
  private joinedFrom = 0;
  private joinedTo = 0;
  private joinedBytes: Buffer | null = null;

  /** The bytes of events `from` to `to` (excluded) for capability set `v`, as one Buffer. */
  joined(v: number, from: number, to: number): Buffer {
    if (to - from === 1) return this.events[from]![v]!;
    if (this.joinedBytes !== null && this.joinedVariant === v && this.joinedFrom === from && this.joinedTo === to) {
      return this.joinedBytes;
    }
    const parts: Buffer[] = [];
    for (let i = from; i < to; i++) parts.push(this.events[i]![v]!);
    this.joinedVariant = v;
    this.joinedFrom = from;
    this.joinedTo = to;
    this.joinedBytes = Buffer.concat(parts);
    return this.joinedBytes;
  }
}

/** A run takes at most this many events, so it stays bounded even if no flush ends it. */
const MAX_RUN = 4096;

let run = new ContentRun();

/** A client flushed: the next content event starts a new run. */
export function endRun(): void {
  run.closed = true;
}

/** The open run. */
export function currentRun(): ContentRun {
  return run;
}

/** The run, and the position in it, of the event `encodedContent` was last asked for. */
export function contentPlace(): { readonly run: ContentRun; readonly at: number } {
  return lastPlace!;
}

/**
 * The bytes of a content event sent to the channel `#name`, for this client's capabilities (empty
 * when it gets nothing, e.g. a deletion without draft/message-redaction). The first client of a
 * set renders it; the others get the same Buffer. Not for the sender's own echo.
 *
 * The hub hands each client a room's whole run of events before the next client, so each event is
 * asked for again and again, interleaved with its neighbours: the events of the turn keep their
 * places by sequence. Every event up to the one asked for gets its place in order, whichever client
 * asks first (a client skips its own echo and renders a join itself), so the run's positions
 * follow the sequence for everyone and a client's stretch of it stays contiguous.
 */
export function encodedContent(c: IrcClient, e: RoomEvent, name: string): Buffer {
  const place = placeOf(e, name);
  lastPlace = place;
  const v = c.caps.lineVariant;
  let bytes = place.variants[v];
  if (bytes === undefined) {
    const sink = new LineCollector(c);
    renderContent(c, e, `#${name}`, sink);
    bytes = Buffer.from(sink.text, "utf8");
    place.variants[v] = bytes;
  }
  return bytes;
}

/**
 * Places the first content event of a run the hub hands over, before a client that takes the run
 * event by event asks for any: a sender skips its own message, and an event asked for before one
 * with a lower sequence would start the places afresh, leaving a hole in everyone's stretch.
 */
export function placeRun(events: readonly RoomEvent[], name: string): void {
  const first = events.find(isContent);
  if (first !== undefined) placeOf(first, name);
}

function placeOf(e: RoomEvent, name: string): Place {
  let k = e.seq - firstSeq;
  // After a turn's end `places` is empty: the next event starts afresh, with no places kept for
  // events of the last turn (they would break the contiguity of the stretches clients still hold).
  const kept = places.length > 0 && e.roomId === placesRoom && name === placesName && k >= 0 && k <= places.length + MAX_SKIPPED;
  if (!kept || (k < places.length && places[k]!.event !== e && places[k]!.event !== null)) {
    if (!forgetting) process.nextTick(forget);
    forgetting = true;
    places = [];
    firstSeq = e.seq;
    placesRoom = e.roomId;
    placesName = name;
    k = 0;
  }
  while (places.length <= k) {
    if (run.closed || run.events.length >= MAX_RUN) run = new ContentRun();
    const variants: (Buffer | undefined)[] = [];
    run.events.push(variants);
    places.push({ event: null, run, at: run.events.length - 1, variants });
  }
  const place = places[k]!;
  place.event ??= e;
  return place;
}

/** Positions `from` to `to` (excluded) of a content run, and their bytes for one capability set. */
export interface Stretch {
  readonly run: ContentRun;
  readonly from: number;
  readonly to: number;
  readonly length: number;
}

/**
 * The places of a whole array of content events sent to `#name`, for this client's capabilities,
 * when they follow each other in one content run; null when they do not (an event that is not
 * content, a run ended in the middle): then the client takes them one by one. The first client of
 * each capability set encodes them; every other member with the same set gets the same answer in
 * one step, which is what handing a member a commit's events in one call is for.
 */
export function contentStretch(c: IrcClient, events: readonly RoomEvent[], name: string): Stretch | null {
  if (events !== stretchesOf || name !== stretchesName) {
    if (!forgetting) process.nextTick(forget);
    forgetting = true;
    stretchesOf = events;
    stretchesName = name;
    stretches = [];
  }
  const v = c.caps.lineVariant;
  let stretch = stretches[v];
  if (stretch === undefined) {
    stretch = stretchOf(c, events, name);
    stretches[v] = stretch;
  }
  return stretch;
}

function stretchOf(c: IrcClient, events: readonly RoomEvent[], name: string): Stretch | null {
  let length = 0;
  let first: Place | null = null;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (!isContent(e)) return null;
    length += encodedContent(c, e, name).length;
    const place = lastPlace!;
    first ??= place;
    if (place.run !== first.run || place.at !== first.at + i) return null;
  }
  return first && { run: first.run, from: first.at, to: first.at + events.length, length };
}

/** A sink that keeps the encoded lines instead of writing them. */
class LineCollector implements Sink {
  text = "";

  constructor(private readonly c: IrcClient) {}

  add(m: IrcMessage): void {
    this.text += encodeLine(m);
  }

  batch(type: string, params: string[], messages: IrcMessage[], startTags?: Record<string, string>): void {
    for (const m of batchLines(this.c, type, params, messages, startTags)) this.add(m);
  }
}
