/**
 * The one backoff of the tool: exponential with full jitter (AWS's "Exponential Backoff And
 * Jitter"), so that replicas and chains that failed together do not retry together. The HTTP
 * client, the daemon's wait for an unreachable warehouse and the wait for a chain's lock use it.
 */

export interface BackoffOptions {
  /** First retry waits up to this. */
  readonly baseMs: number;
  /** No backoff wait is longer. */
  readonly maxMs: number;
  /** No `Retry-After` wait is longer (HTTP only). */
  readonly retryAfterMaxMs: number;
  /** In [0, 1); injectable for tests. */
  readonly random: () => number;
}

/** 500 ms doubling up to 30 s; `Retry-After` honoured up to 60 s. */
export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({ baseMs: 500, maxMs: 30_000, retryAfterMaxMs: 60_000, random: Math.random });

/** The wait before retry number `retry` (1 = the first): uniform in [0, min(max, base × 2^(retry − 1))). */
export function backoffDelay(retry: number, options: Pick<BackoffOptions, 'baseMs' | 'maxMs' | 'random'> = DEFAULT_BACKOFF): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(options.random() * ceiling);
}
