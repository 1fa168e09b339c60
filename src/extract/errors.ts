/**
 * Errors of the extract stage: a call to Spaaza's Services API or a download from storage failed.
 * Each carries a stable `code`, whether retrying can help, and the endpoint, status and task id.
 * Messages say what to fix and never hold a secret (token, Authorization header, URL query).
 */
import { SpaazaSyncError, type ErrorContext } from '../errors.js';
import type { OwnErrorCode } from '../error-table.js';

export type ExtractErrorCode =
  /** 401: the access token is wrong, inactive or missing. */
  | 'unauthorized'
  /** 403: the token's scope does not include the chain. */
  | 'forbidden'
  /** 400 (or 422): Spaaza refused the request body or a parameter. */
  | 'bad_request'
  /** 404 from GET /tasks/{id}: no such task for this token. */
  | 'task_not_found'
  /** 404/409/410 from download_url: the task has no file to download; abandon it. */
  | 'download_unavailable'
  /** Another 4xx: a client bug or an unsupported request. */
  | 'http_error'
  /** 429 until the retry budget ran out. */
  | 'rate_limited'
  /** 5xx until the retry budget ran out. */
  | 'server_error'
  /** The export task was still unfinished at the poll deadline; it goes on at Spaaza, and a later run resumes it. */
  | 'poll_deadline'
  /** A request timed out until the retry budget ran out. */
  | 'timeout'
  /** The connection failed (refused, reset, closed…). */
  | 'network_error'
  /** POST /tasks failed in a way that may have created the task, and the list could not be read. */
  | 'create_outcome_unknown'
  /** A 2xx body that is not JSON or does not match the schema of the endpoint. */
  | 'invalid_response'
  /** The caller passed something unusable (e.g. a marker that is not in `desc`). */
  | 'invalid_request'
  /** The pre-signed URL was refused with 403: expired or tampered; ask for a fresh one. */
  | 'download_url_expired'
  /** Storage answered another non-200 status, or could not be reached. */
  | 'download_failed'
  /** A Spaaza time (Date header, task date) too far from this host's clock or the task's own times. */
  | 'implausible_time'
  /** An answer larger than extract.maxResponseBytes: refused before it could fill the memory. */
  | 'response_too_large';

// Every extract code is one of the error table's (which says what to do about it).
type ExtractCodesInTable = ExtractErrorCode extends OwnErrorCode ? true : never;
const extractCodesInTable: ExtractCodesInTable = true;
void extractCodesInTable;

export interface ExtractErrorContext extends ErrorContext {
  /** The route, e.g. `GET /tasks/{id}`; never a full URL. */
  readonly endpoint?: string;
  readonly status?: number;
  readonly taskId?: number;
}

export class ExtractError extends SpaazaSyncError {
  override readonly name = 'ExtractError';
  declare readonly code: ExtractErrorCode;

  constructor(
    code: ExtractErrorCode,
    message: string,
    options: { retryable?: boolean; context?: ExtractErrorContext; cause?: unknown } = {},
  ) {
    super(code, message, { ...options, stage: 'extract' });
  }

  override get context(): ExtractErrorContext {
    return this.options.context ?? {};
  }
}
