/**
 * One GET of a pre-signed storage URL, exactly as Spaaza gave it (no re-encoding) and with no
 * Authorization header: storage authenticates by the URL's signature and refuses a second
 * mechanism. Never retried here: the caller retries its window with a fresh URL.
 */
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { serverMessage, storageXmlMessage } from './api-errors.js';
import { readBoundedText } from './bounded-body.js';
import { messageOf } from '../errors.js';
import { ExtractError, type ExtractErrorContext } from './errors.js';
import { redactError, redactUrl } from './redact.js';
import { errorCode, ruleForError } from './retry-policy.js';

export interface DownloadResponse {
  /** undici's body stream: consume it (or destroy it) to free the connection. */
  readonly body: Readable;
  readonly contentLength: number | null;
  readonly contentEncoding: string | null;
  readonly statusCode: number;
}

export interface DownloadOptions {
  readonly signal?: AbortSignal;
  readonly userAgent: string;
  /** An error answer's body is read up to this many bytes (it is a short XML document). */
  readonly maxErrorBodyBytes: number;
  /** Removes secrets from a text (server messages, library errors). */
  readonly scrub: (text: string) => string;
}

const ENDPOINT = 'GET storage';

/** 200 → the body; 403 → `download_url_expired`; else `download_failed` (retryable for 429, 5xx and network failures). */
export async function downloadFile(dispatcher: Dispatcher, url: string, options: DownloadOptions): Promise<DownloadResponse> {
  const shown = redactUrl(url);
  const context: ExtractErrorContext = { endpoint: ENDPOINT, url: shown };
  const target = splitUrl(url);
  if (target === null) throw new ExtractError('download_failed', `The download URL Spaaza gave (${shown}) is not an http(s) URL; ask for a fresh one.`, { context });

  let res: Dispatcher.ResponseData;
  try {
    res = await dispatcher.request({
      origin: target.origin,
      path: target.path,
      method: 'GET',
      headers: { 'user-agent': options.userAgent },
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const rule = ruleForError(error);
    const code = errorCode(error) ?? 'error';
    const clean = redactError(error, options.scrub);
    const what = rule.kind === 'timeout' ? 'timed out' : 'failed';
    throw new ExtractError(
      'download_failed',
      `Downloading ${shown} ${what} (${code}: ${options.scrub(messageOf(clean))}); ${rule.retry ? 'try again with a fresh URL' : 'check that the storage host is reachable from here'}.`,
      { retryable: rule.retry, context: { ...context, errorCode: code }, cause: clean },
    );
  }

  const status = res.statusCode;
  if (status === 200) {
    // Whoever reads the body gets its errors from the reading. A body that arrived whole and is then
    // given up unread (the load failed before it) would emit an abort no one listens to: a crash.
    res.body.on('error', ignore);
    const length = header(res.headers['content-length']);
    return {
      body: res.body,
      contentLength: length !== null && /^\d+$/.test(length) ? Number(length) : null,
      contentEncoding: header(res.headers['content-encoding']),
      statusCode: status,
    };
  }
  // An error body is small; S3 may echo the signature in it, so only Code and Message are kept.
  const text = options.scrub(await readBoundedText(res.body, options.maxErrorBodyBytes, ENDPOINT, res.headers['content-length']).catch(() => ''));
  const said = storageXmlMessage(text) ?? serverMessage(text).message;
  if (status === 403) {
    throw new ExtractError(
      'download_url_expired',
      `Storage refused the pre-signed URL for ${shown} (403: ${said}): it has expired or was altered; ask download_url for a fresh one.`,
      { retryable: true, context: { ...context, status } },
    );
  }
  const retryable = status === 429 || status >= 500;
  throw new ExtractError(
    'download_failed',
    `Storage answered ${status} for ${shown} (${said})${retryable ? '; try again with a fresh URL' : '; it is not retried'}.`,
    { retryable, context: { ...context, status } },
  );
}

/** Origin and the raw path+query of `url`, untouched, or null if it is not an http(s) URL. */
export function splitUrl(url: string): { origin: string; path: string } | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return null;
  const rest = url.trim().replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '').split('#', 1)[0] ?? '';
  return { origin: parsed.origin, path: rest.startsWith('/') ? rest : `/${rest}` };
}

export function header(value: string | string[] | undefined): string | null {
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? null : first;
}

function ignore(): void {}
