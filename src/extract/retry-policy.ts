/**
 * How a failed call is tried again: the backoff (the tool's one, src/backoff.ts) and `Retry-After` waits. Whether it is tried again
 * at all comes from the one failure table (src/failure-table.ts), re-exported here for extract.
 */
export { errorCode, RETRY_TABLE, ruleForError, ruleForStatus, type FailureKind, type RetryRule } from '../failure-table.js';
import type { RetryRule } from '../failure-table.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from '../backoff.js';

export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions };

/**
 * `Retry-After` in milliseconds: delta seconds, or an HTTP-date measured from `nowMs` (best the
 * `Date` of the same response, so clock skew does not matter). null when absent or unreadable.
 */
export function parseRetryAfter(value: string | readonly string[] | undefined, nowMs: number): number | null {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return null;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return null; // "1.5", "-3": neither delta seconds nor a date
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

/** How long to wait before retry number `retry` (1 = the first retry). */
export function retryDelay(rule: RetryRule, retry: number, retryAfterMs: number | null, options: BackoffOptions = DEFAULT_BACKOFF): number {
  if (rule.honourRetryAfter && retryAfterMs !== null) return Math.min(retryAfterMs, options.retryAfterMaxMs);
  return backoffDelay(retry, options);
}
