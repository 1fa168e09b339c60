/**
 * Turns a failed call into an ExtractError whose sentence says what to fix: 401 the token, 403 the
 * chain scope, 400 the field Spaaza named, 404 the task. Error bodies are read the tolerant way of
 * reference §9; storage (S3-like) XML is reduced to its Code and Message, since its other elements
 * can echo the signature.
 */
import { ExtractError, type ExtractErrorCode, type ExtractErrorContext } from './errors.js';
import type { FailureKind } from './retry-policy.js';

const MAX_MESSAGE_CHARS = 300;

/** What Spaaza said in an error body: the first of `error.description`, `error.message`, `message`, `error`, `detail`; else the text. */
export function serverMessage(text: string): { message: string; field?: string } {
  const json = tryJson(text);
  if (isObject(json)) {
    const error = json.error;
    const nested = isObject(error) ? error : {};
    const candidates = [nested.description, nested.message, json.message, error, json.detail];
    const message = candidates.find((c): c is string => typeof c === 'string' && c.trim() !== '');
    const field = typeof nested.field === 'string' ? nested.field : typeof json.field === 'string' ? json.field : undefined;
    if (message !== undefined) return { message: truncate(message), ...(field !== undefined ? { field } : {}) };
  }
  const xml = storageXmlMessage(text);
  if (xml !== null) return { message: xml };
  return { message: truncate(text.trim()) || '(empty body)' };
}

/** `Code: Message` of an S3-style XML error, or null when `text` is not one. */
export function storageXmlMessage(text: string): string | null {
  if (!/<Error>/.test(text)) return null;
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1];
  if (code === undefined && message === undefined) return null;
  return truncate([code, message].filter(Boolean).join(': '));
}

export interface StatusFailure {
  readonly endpoint: string;
  readonly status: number;
  /** The body text, already scrubbed of secrets. */
  readonly body: string;
  readonly taskId?: number;
  readonly chainId?: number;
  /** How many times the call was sent. */
  readonly attempts: number;
}

/** The error of a non-2xx answer from the Services API. */
export function statusError(failure: StatusFailure, options: { notFound: 'task_not_found' | 'download_unavailable' | 'http_error' }): ExtractError {
  const { endpoint, status, taskId, chainId } = failure;
  const said = serverMessage(failure.body);
  const quote = `Spaaza said: "${said.message}"`;
  const context: ExtractErrorContext = { endpoint, status, ...(taskId !== undefined ? { taskId } : {}), ...(chainId !== undefined ? { chainId } : {}) };
  const make = (code: ExtractErrorCode, message: string, retryable = false) => new ExtractError(code, message, { retryable, context });
  const task = taskId !== undefined ? `task ${taskId}` : 'the task';
  const chain = chainId !== undefined ? `chain ${chainId}` : 'this chain';

  if (status === 401) {
    return make(
      'unauthorized',
      `Spaaza rejected the access token (401): check SPAAZA_TOKEN_ID and SPAAZA_TOKEN_SECRET (or the chain's token in the config file); the token may be wrong, inactive or deleted. ${quote}.`,
    );
  }
  if (status === 403) {
    return make(
      'forbidden',
      `Spaaza refused ${endpoint}: the token is not allowed to use ${chain} (403): the token's scope must include the chain; use a token issued for ${chain}, or give the chain its own token in the config file. ${quote}.`,
    );
  }
  if (options.notFound === 'download_unavailable' && (status === 404 || status === 409 || status === 410)) {
    return make(
      'download_unavailable',
      `${task} has no file to download (${status} from ${endpoint}): it is gone, not an export, or not DONE; abandon it and plan its window again. ${quote}.`,
    );
  }
  if (options.notFound === 'task_not_found' && status === 404) {
    return make('task_not_found', `${task} was not found (404 from ${endpoint}): it does not exist, or it belongs to a chain this token cannot see. ${quote}.`);
  }
  if (status === 400 || status === 422) {
    const field = said.field !== undefined && !said.message.includes(said.field) ? ` (field ${said.field})` : '';
    return make('bad_request', `Spaaza refused ${endpoint} as invalid (${status}): ${said.message}${field}. Fix the request or the configuration it came from; it is not retried.`);
  }
  if (status === 429) {
    return make('rate_limited', `Spaaza kept answering 429 (rate limited) to ${endpoint} after ${failure.attempts} attempts: run fewer chains at once or try again later. ${quote}.`, true);
  }
  if (status >= 500) {
    return make('server_error', `Spaaza answered ${status} to ${endpoint} after ${failure.attempts} attempts: the Services API is failing; the next run tries again. ${quote}.`, true);
  }
  return make('http_error', `Spaaza answered ${status} to ${endpoint}, which this client does not expect; it is not retried. ${quote}.`);
}

export interface NetworkFailure {
  readonly endpoint: string;
  readonly kind: FailureKind | 'client_error' | 'other';
  readonly code: string | undefined;
  /** The library's message, already scrubbed of secrets. */
  readonly detail: string;
  /** What must be reachable, e.g. `the Services API (https://host/)`. */
  readonly where: string;
  readonly attempts: number;
  readonly context: ExtractErrorContext;
  readonly cause: unknown;
}

/** The error of a call that never got an answer (after its retries, if it had any). */
export function networkError(failure: NetworkFailure): ExtractError {
  const { endpoint, kind, code, attempts } = failure;
  const timedOut = kind === 'timeout';
  const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
  return new ExtractError(
    timedOut ? 'timeout' : 'network_error',
    `${endpoint} ${timedOut ? 'timed out' : 'failed'}${tries} (${code ?? 'error'}: ${truncate(failure.detail)}): check that ${failure.where} is reachable from here${timedOut ? ' and answers in time' : ''}.`,
    {
      retryable: kind === 'timeout' || kind === 'network',
      context: { endpoint, ...failure.context, ...(code !== undefined ? { errorCode: code } : {}) },
      cause: failure.cause,
    },
  );
}

function truncate(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length > MAX_MESSAGE_CHARS ? `${oneLine.slice(0, MAX_MESSAGE_CHARS)}…` : oneLine;
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
