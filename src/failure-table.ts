/**
 * Whether a failure is worth another try, from ONE table for the whole tool: an HTTP status, an
 * undici or Node error code, a PostgreSQL SQLSTATE (exact, else its class), or one of pg's
 * connection errors that carry no code. Anything not in the table is not retried: an unknown
 * failure repeated is at best wasted work (a whole export downloaded again) and at worst harm.
 *
 * Extract: 429 honours `Retry-After`; 500/502/503/504 and network failures back off. `POST
 * /tasks` is not idempotent: only a rule marked `createMayRepeat` (the server refused before
 * doing anything: 429, 503) lets the client send it again blindly.
 *
 * Warehouse: a lost connection and a serialization failure or deadlock may succeed when tried
 * again; data, integrity, syntax and permission errors will fail the same way every time.
 */

export type FailureKind =
  | 'rate_limited'
  | 'server_error'
  | 'timeout'
  | 'network'
  /** The warehouse connection is gone or cannot be made right now. */
  | 'connection_lost'
  /** A transaction lost to another (serialization failure, deadlock, lock timeout). */
  | 'conflict'
  | 'client_error'
  /** SQLSTATE classes 22 and 23, 42, 28: the same input fails the same way. */
  | 'data'
  | 'other';

export interface RetryRule {
  readonly retry: boolean;
  readonly kind: FailureKind;
  /** Wait what the server's `Retry-After` says, when it says it. */
  readonly honourRetryAfter: boolean;
  /** The request surely did nothing: `POST /tasks` may be sent again without looking first. */
  readonly createMayRepeat: boolean;
}

const rule = (kind: FailureKind, honourRetryAfter = false, createMayRepeat = false): RetryRule => Object.freeze({ retry: true, kind, honourRetryAfter, createMayRepeat });
const never = (kind: FailureKind): RetryRule => Object.freeze({ retry: false, kind, honourRetryAfter: false, createMayRepeat: false });

/** HTTP statuses (as strings) and error codes (undici's and Node's) that are worth another try. */
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
  // A body cut short: undici's name when the server closed a `Connection: close` answer early, Node's for a stream.
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: rule('network'),
  ERR_STREAM_PREMATURE_CLOSE: rule('network'),
  ECONNRESET: rule('network'),
  ECONNREFUSED: rule('network'),
  ECONNABORTED: rule('network'),
  EPIPE: rule('network'),
  EHOSTUNREACH: rule('network'),
  ENETUNREACH: rule('network'),
  ENETDOWN: rule('network'),
  EAI_AGAIN: rule('network'),
});

/** SQLSTATEs, exact (five characters) or by class (two), as PostgreSQL's appendix A lists them. */
export const SQLSTATE_TABLE: Readonly<Record<string, RetryRule>> = Object.freeze({
  '08': rule('connection_lost'), // connection exception
  '57P01': rule('connection_lost'), // admin_shutdown: the server is stopping or the backend was terminated
  '57P02': rule('connection_lost'), // crash_shutdown
  '57P03': rule('connection_lost'), // cannot_connect_now: starting up
  '53300': rule('connection_lost'), // too_many_connections
  '40001': rule('conflict'), // serialization_failure
  '40P01': rule('conflict'), // deadlock_detected
  '55P03': rule('conflict'), // lock_not_available
  '22': never('data'), // data exception: a value the column cannot hold
  '23': never('data'), // integrity constraint violation
  '42': never('data'), // syntax error or access rule violation
  '28': never('data'), // invalid authorization: a wrong password stays wrong
  '3D': never('data'), // invalid catalog name: no such database
});

/** pg's own connection errors have no code; these are its messages (pg 8, lib/client.js). */
const PG_CONNECTION_LOST = /^(Connection terminated( unexpectedly)?|Client has encountered a connection error and is not queryable|Client was closed and is not queryable|timeout exceeded when trying to connect|Connection terminated due to connection timeout)$/;
const PG_CONNECTION_RULE = rule('connection_lost');

const CLIENT_ERROR = never('client_error');
const OTHER = never('other');

/** The rule of an HTTP status: 2xx never gets here; 4xx other than 429 never retries. */
export function ruleForStatus(status: number): RetryRule {
  return RETRY_TABLE[String(status)] ?? (status >= 400 && status < 500 ? CLIENT_ERROR : OTHER);
}

/**
 * The rule of an error thrown by undici, Node or pg: the first along `error`, `error.cause`, …
 * that the table knows (undici wraps socket failures, so the outer code may be generic).
 */
export function ruleForError(error: unknown): RetryRule {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const found = ruleOf(current);
    if (found) return found;
    current = (current as { cause?: unknown }).cause;
  }
  return OTHER;
}

function ruleOf(error: object): RetryRule | undefined {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (code in RETRY_TABLE) return RETRY_TABLE[code];
    if (sqlstateOf(error) !== undefined) return SQLSTATE_TABLE[code] ?? SQLSTATE_TABLE[code.slice(0, 2)] ?? OTHER;
  }
  const message = (error as { message?: unknown }).message;
  return typeof message === 'string' && PG_CONNECTION_LOST.test(message) ? PG_CONNECTION_RULE : undefined;
}

/**
 * The SQLSTATE of a PostgreSQL error (pg's DatabaseError carries it with the server's severity),
 * else undefined: a five-letter Node code such as EPIPE is not one.
 */
export function sqlstateOf(error: unknown): string | undefined {
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string' ? code : undefined;
}

/**
 * The code that classifies `error`: the first code along `error`, `error.cause`, … that the table
 * knows, else the outermost code.
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

/** Whether the failure says the warehouse is not there right now (rather than a bug or bad data). */
export function isWarehouseUnavailable(error: unknown): boolean {
  if ((error as { code?: unknown } | null)?.code === 'warehouse_unreachable') return true;
  const { kind } = ruleForError(error);
  return kind === 'connection_lost' || kind === 'network' || kind === 'timeout';
}
