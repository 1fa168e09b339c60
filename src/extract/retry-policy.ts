/**
 * When a failed call is tried again, from ONE table: an HTTP status or a network error code maps
 * to a rule. 429 honours `Retry-After`; 500/502/503/504 and network failures back off
 * exponentially with full jitter; every other 4xx, and anything not in the table, fails at once.
 *
 * `POST /tasks` is not idempotent. Only a rule marked `createMayRepeat` (the server refused before
 * doing anything: 429, 503) lets the client send it again blindly; after any other retryable
 * failure the task may exist, so the client looks for its marker before creating again.
 */

export type FailureKind = 'rate_limited' | 'server_error' | 'timeout' | 'network';

export interface RetryRule {
  readonly retry: boolean;
  readonly kind: FailureKind | 'client_error' | 'other';
  /** Wait what the server's `Retry-After` says, when it says it. */
  readonly honourRetryAfter: boolean;
  /** The request surely did nothing: `POST /tasks` may be sent again without looking first. */
  readonly createMayRepeat: boolean;
}

const rule = (kind: FailureKind, honourRetryAfter = false, createMayRepeat = false): RetryRule => ({
  retry: true,
  kind,
  honourRetryAfter,
  createMayRepeat,
});

/** Statuses (as strings) and error codes (undici's and Node's) that are worth another try. */
export const RETRY_TABLE: Readonly<Record<string, RetryRule>> = Object.freeze({
  '429': rule('rate_limited', true, true),
  '500': rule('server_error'),
  '502': rule('server_error'),
  '503': rule('server_error', true, true),
  '504': rule('server_error'),
  // Timeouts: the request may have been processed.
  UND_ERR_HEADERS_TIMEOUT: rule('timeout'),
  UND_ERR_BODY_TIMEOUT: rule('timeout'),
  UND_ERR_CONNECT_TIMEOUT: rule('timeout'),
  ETIMEDOUT: rule('timeout'),
  // The connection broke or never came up.
  UND_ERR_SOCKET: rule('network'),
  UND_ERR_CLOSED: rule('network'),
  ECONNRESET: rule('network'),
  ECONNREFUSED: rule('network'),
  ECONNABORTED: rule('network'),
  EPIPE: rule('network'),
  EHOSTUNREACH: rule('network'),
  ENETUNREACH: rule('network'),
  ENETDOWN: rule('network'),
  EAI_AGAIN: rule('network'),
});

const CLIENT_ERROR: RetryRule = { retry: false, kind: 'client_error', honourRetryAfter: false, createMayRepeat: false };
const OTHER: RetryRule = { retry: false, kind: 'other', honourRetryAfter: false, createMayRepeat: false };

/** The rule of an HTTP status: 2xx never gets here; 4xx other than 429 never retries. */
export function ruleForStatus(status: number): RetryRule {
  return RETRY_TABLE[String(status)] ?? (status >= 400 && status < 500 ? CLIENT_ERROR : OTHER);
}

/** The rule of an error thrown by undici or Node (the first known code along its causes). */
export function ruleForError(error: unknown): RetryRule {
  const code = errorCode(error);
  return (code !== undefined ? RETRY_TABLE[code] : undefined) ?? OTHER;
}

/**
 * The code that classifies `error`: the first code along `error`, `error.cause`, … that the table
 * knows, else the outermost code. undici wraps socket failures, so the outer code may be generic.
 */
export function errorCode(error: unknown): string | undefined {
  let outer: string | undefined;
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (code in RETRY_TABLE) return code;
      outer ??= code;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return outer;
}

export interface BackoffOptions {
  /** First retry waits up to this (default 500 ms). */
  readonly baseMs: number;
  /** No backoff wait is longer (default 30 s). */
  readonly maxMs: number;
  /** No `Retry-After` wait is longer (default 60 s). */
  readonly retryAfterMaxMs: number;
  /** In [0, 1); injectable for tests. */
  readonly random: () => number;
}

export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({ baseMs: 500, maxMs: 30_000, retryAfterMaxMs: 60_000, random: Math.random });

/** Exponential backoff with full jitter: uniform in [0, min(max, base × 2^(retry − 1))). */
export function backoffDelay(retry: number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(options.random() * ceiling);
}

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
