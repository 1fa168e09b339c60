/**
 * Spaaza's clock, as the `Date` header of the latest Services API response tells it, moved on by
 * the local (monotonic) time elapsed since that response arrived. Whole-second precision: that is
 * all an HTTP date carries. Local time is for logs and durations only, and as the yardstick of
 * plausibility: a reading more than `maxSkewMs` from this host's clock is kept, but `now()`
 * refuses to hand it out (one wrong clock reading must never move a watermark).
 */
import { assertPlausibleServerClock } from './spaaza-time.js';

/** The default bound between Spaaza's clock and this host's (DESIGN §2 "Time"). */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 15 * 60_000;

interface Reading {
  readonly serverMs: number;
  readonly header: string;
  /** Monotonic and wall time of this host when the answer arrived. */
  readonly receivedAt: number;
  readonly localMs: number;
}

export class ServerClock {
  private latest: Reading | null = null;

  constructor(
    private readonly maxSkewMs: number = DEFAULT_MAX_CLOCK_SKEW_MS,
    private readonly monotonic: () => number = () => performance.now(),
    private readonly wall: () => number = () => Date.now(),
  ) {}

  /** Records the `Date` header of a response just received; ignores one that is absent or unreadable. */
  observe(dateHeader: string | readonly string[] | undefined): void {
    const text = Array.isArray(dateHeader) ? dateHeader[0] : dateHeader;
    if (typeof text !== 'string') return;
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) return;
    this.latest = { serverMs: ms, header: text, receivedAt: this.monotonic(), localMs: this.wall() };
  }

  /**
   * Spaaza's now, or null before the first response. Throws ImplausibleTimeError when the latest
   * reading is further than the bound from this host's clock.
   */
  now(): Date | null {
    const reading = this.latest;
    if (reading === null) return null;
    assertPlausibleServerClock(reading.serverMs, reading.localMs, this.maxSkewMs, reading.header);
    return new Date(reading.serverMs + Math.max(0, this.monotonic() - reading.receivedAt));
  }

  /** Spaaza's clock minus the local clock, in ms (0 before the first response), plausible or not. */
  skewMs(): number {
    return this.latest === null ? 0 : this.latest.serverMs - this.latest.localMs;
  }
}
