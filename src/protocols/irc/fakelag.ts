// Flood control in ergo's style ("fakelag", irc/fakelag.go): a client may send `burstLimit`
// lines at once; past that it is throttled, and each further line is held back until
// window / messagesPerWindow has passed since the one before. A client that stays quiet for
// `cooldownMs` may burst again. Lines are delayed, never dropped, so a pasting user is slowed
// down rather than disconnected. Pure: time comes from the caller.

export interface FakelagOptions {
  enabled: boolean;
  windowMs: number;
  burstLimit: number;
  messagesPerWindow: number;
  cooldownMs: number;
}

export const defaultFakelag: FakelagOptions = {
  enabled: true,
  windowMs: 1000,
  burstLimit: 5,
  messagesPerWindow: 2,
  cooldownMs: 2000,
};

export class Fakelag {
  private throttled = false;
  private burstCount = 0;
  private lastTouch = Number.NEGATIVE_INFINITY;

  constructor(private readonly opts: FakelagOptions) {}

  /**
   * Accounts for one line arriving at `now`. Returns how many milliseconds to hold it back
   * before handling it (0: at once).
   */
  touch(now: number): number {
    if (!this.opts.enabled) return 0;
    const elapsed = now - this.lastTouch;
    if (!this.throttled) {
      if (elapsed > this.opts.cooldownMs) this.burstCount = 0;
      this.burstCount++;
      if (this.burstCount <= this.opts.burstLimit) {
        this.lastTouch = now;
        return 0;
      }
      this.burstCount = 0;
      this.throttled = true;
    }
    if (elapsed > this.opts.cooldownMs) {
      this.throttled = false;
      this.burstCount = 1;
      this.lastTouch = now;
      return 0;
    }
    const spacing = this.opts.messagesPerWindow > 0 ? this.opts.windowMs / this.opts.messagesPerWindow : this.opts.windowMs;
    const wait = Math.max(0, Math.ceil(spacing - elapsed));
    this.lastTouch = now + wait;
    return wait;
  }
}
