/**
 * The simulator's clock: Spaaza's "now", which the client reads from the `Date` header. It runs at
 * `rate` × real time from `start` (rate 0 freezes it) and can be moved forward by tests.
 */
export class VirtualClock {
  private readonly realStart = performance.now();
  private offsetMs = 0;

  constructor(
    private readonly startMs: number,
    private readonly rate = 1,
  ) {}

  nowMs(): number {
    return Math.floor(this.startMs + (performance.now() - this.realStart) * this.rate + this.offsetMs);
  }

  /** Whole epoch seconds: task and export timestamps carry no fractions. */
  nowSeconds(): number {
    return Math.floor(this.nowMs() / 1000);
  }

  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError('the simulator clock only moves forward');
    this.offsetMs += ms;
  }

  /** Moves the clock to `ms`; it never goes back, since exports and URLs depend on it. */
  set(ms: number): void {
    this.advance(ms - this.nowMs());
  }
}

/** `YYYY-MM-DDTHH:MM:SSZ`, the date format of every task field. */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
