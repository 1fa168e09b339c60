/**
 * Spaaza's clock, as the `Date` header of the latest Services API response tells it, moved on by
 * the local (monotonic) time elapsed since that response arrived. Whole-second precision: that is
 * all an HTTP date carries. Local time is for logs and durations only, and as the yardstick of
 * plausibility: a reading more than `maxSkewMs` from this host's clock is kept, but `now()`
 * refuses to hand it out (one wrong clock reading must never move a watermark).
 */
import { assertPlausibleServerClock, ROUNDING_MS } from './spaaza-time.js';

/** The default bound between Spaaza's clock and this host's (DESIGN §2 "Time"). */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 15 * 60_000;

/** Spaaza's now, and how far past it a Spaaza time may still lie. */
export interface SpaazaClockReading {
  readonly now: Date;
  /** The rounding of an HTTP date; the whole clock bound when this host's clock stands in. */
  readonly toleranceMs: number;
  /** `host`: Spaaza sent no readable Date header yet, so this host's clock stands in. */
  readonly source: 'spaaza' | 'host';
}

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

  /**
   * Spaaza's now with its tolerance: from the latest Date header, or, before any readable one,
   * this host's clock with the whole bound as tolerance (Spaaza's may be that far ahead).
   * Throws ImplausibleTimeError like now().
   */
  reading(): SpaazaClockReading {
    const now = this.now();
    if (now) return { now, toleranceMs: ROUNDING_MS, source: 'spaaza' };
    return { now: new Date(this.wall()), toleranceMs: this.maxSkewMs, source: 'host' };
  }

  /** Spaaza's clock minus the local clock, in ms (0 before the first response), plausible or not. */
  skewMs(): number {
    return this.latest === null ? 0 : this.latest.serverMs - this.latest.localMs;
  }
}
