/**
 * Spaaza's clock, as the `Date` header of the latest Services API response tells it, moved on by
 * the local (monotonic) time elapsed since that response arrived. Whole-second precision: that is
 * all an HTTP date carries. Local time is for logs and durations only.
 */
export class ServerClock {
  private serverMs: number | null = null;
  private localMs = 0;
  private receivedAt = 0;

  constructor(
    private readonly monotonic: () => number = () => performance.now(),
    private readonly wall: () => number = () => Date.now(),
  ) {}

  /** Records the `Date` header of a response just received; ignores one that is absent or unreadable. */
  observe(dateHeader: string | readonly string[] | undefined): void {
    const text = Array.isArray(dateHeader) ? dateHeader[0] : dateHeader;
    if (typeof text !== 'string') return;
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) return;
    this.serverMs = ms;
    this.receivedAt = this.monotonic();
    this.localMs = this.wall();
  }

  /** Spaaza's now, or null before the first response. */
  now(): Date | null {
    if (this.serverMs === null) return null;
    return new Date(this.serverMs + Math.max(0, this.monotonic() - this.receivedAt));
  }

  /** Spaaza's clock minus the local clock, in ms (0 before the first response). */
  skewMs(): number {
    return this.serverMs === null ? 0 : this.serverMs - this.localMs;
  }
}
