/**
 * The object storage that pre-signed download URLs point at. Like S3: the URL carries its expiry
 * and an HMAC signature; an expired or tampered URL gets 403 with an XML body; a request that
 * also sends an Authorization header gets 400. Expiry is checked when a request starts.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import type { FaultAction } from './faults.js';
import { faultedDateHeader } from './time-faults.js';

export const STORAGE_PREFIX = '/storage/';

/** What S3 says for each status a fault may inject. */
const STORAGE_ERRORS: Record<429 | 500 | 502 | 503, [string, string]> = {
  429: ['SlowDown', 'Please reduce your request rate.'],
  500: ['InternalError', 'We encountered an internal error. Please try again.'],
  502: ['BadGateway', 'The gateway received an invalid response.'],
  503: ['ServiceUnavailable', 'Service is unable to handle request.'],
};

export class Storage {
  private readonly key = randomBytes(32);

  constructor(
    private readonly dir: string,
    private readonly baseUrl: () => string,
  ) {}

  /** A pre-signed URL for `file`, valid until `expiresSeconds` (virtual epoch seconds). */
  sign(file: string, expiresSeconds: number): string {
    const signature = this.signature(file, expiresSeconds);
    return `${this.baseUrl()}${STORAGE_PREFIX}${encodeURIComponent(file)}?X-Expires=${expiresSeconds}&X-Signature=${signature}`;
  }

  /**
   * Serves a storage request at virtual time `nowSeconds`; `fault` draws from the fault plan
   * once the request is known to be valid.
   */
  async serve(req: IncomingMessage, res: ServerResponse, url: URL, nowSeconds: number, fault: () => FaultAction | null): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return xml(res, 405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
    if (req.headers.authorization !== undefined) {
      return xml(res, 400, 'InvalidArgument', 'Only one auth mechanism allowed; only the X-Signature query parameter or the Authorization header may be specified, not both.');
    }
    const file = safeDecode(url.pathname.slice(STORAGE_PREFIX.length));
    const expires = Number(url.searchParams.get('X-Expires'));
    const signature = url.searchParams.get('X-Signature') ?? '';
    if (file === null || file.includes('/') || !Number.isInteger(expires) || !this.verify(file, expires, signature)) {
      return xml(res, 403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
    }
    if (nowSeconds > expires) return xml(res, 403, 'AccessDenied', 'Request has expired');

    const injected = fault();
    if (injected?.kind === 'date') res.setHeader('Date', faultedDateHeader(injected, nowSeconds * 1000));
    if (injected?.kind === 'delay') await sleep(injected.ms);
    if (injected?.kind === 'status') {
      const [code, message] = STORAGE_ERRORS[injected.status];
      return xml(res, injected.status, code, message, injected.retryAfterSeconds ?? (injected.status === 429 ? 1 : undefined));
    }
    if (injected?.kind === 'reset' && !injected.afterBytes) return void req.socket.resetAndDestroy();

    const path = `${this.dir}/${file}`;
    const size = await stat(path).then((s) => s.size, () => null);
    if (size === null) return xml(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    res.writeHead(200, { 'Content-Type': file.endsWith('.json') ? 'application/json' : 'text/csv; charset=utf-8', 'Content-Length': size });
    if (req.method === 'HEAD') return void res.end();

    const limit =
      injected?.kind === 'reset' ? injected.afterBytes ?? 0 : injected?.kind === 'truncate' ? injected.keepBytes ?? Math.floor(size / 2) : null;
    if (injected?.kind === 'throttle') {
      await writeBytes(res, throttled(createReadStream(path, { highWaterMark: 16 * 1024 }), injected.bytesPerSecond)).catch(() => {});
      res.end();
      return;
    }
    if (limit === null || limit >= size) {
      await pipeline(createReadStream(path), res).catch(() => {}); // the client may hang up
      return;
    }
    // Send `limit` bytes, then break the connection: reset (RST) or close early (FIN).
    await writeBytes(res, createReadStream(path, { end: limit - 1 })).catch(() => {});
    if (injected?.kind === 'reset') req.socket.resetAndDestroy();
    else req.socket.destroySoon();
  }

  private signature(file: string, expires: number): string {
    return createHmac('sha256', this.key).update(`${file}\n${expires}`).digest('hex');
  }

  private verify(file: string, expires: number, signature: string): boolean {
    const expected = Buffer.from(this.signature(file, expires));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}

function xml(res: ServerResponse, status: number, code: string, message: string, retryAfter?: number): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>\n`;
  res.writeHead(status, {
    'Content-Type': 'application/xml',
    'Content-Length': Buffer.byteLength(body),
    ...(retryAfter !== undefined ? { 'Retry-After': String(retryAfter) } : {}),
  });
  res.end(body);
}

/** Writes a stream into the response without ending it, honouring backpressure. */
async function writeBytes(res: ServerResponse, source: AsyncIterable<Buffer>): Promise<void> {
  for await (const chunk of source) {
    if (res.destroyed) return;
    if (!res.write(chunk)) {
      // Whichever comes first; the other wait is withdrawn, so no listener piles up per chunk.
      const done = new AbortController();
      await Promise.race([once(res, 'drain', { signal: done.signal }), once(res, 'close', { signal: done.signal })]).catch(() => {});
      done.abort();
    }
  }
}

/** Passes chunks on no faster than `bytesPerSecond`. */
/**
 * The bytes at `bytesPerSecond`, in pieces of a tenth of a second, each sent after its time has
 * passed: a client that knows the length from Content-Length must not get a small body at once.
 */
async function* throttled(source: AsyncIterable<Buffer>, bytesPerSecond: number): AsyncGenerator<Buffer> {
  const piece = Math.max(1, Math.ceil(bytesPerSecond / 10));
  for await (const chunk of source) {
    for (let offset = 0; offset < chunk.length; offset += piece) {
      const part = chunk.subarray(offset, offset + piece);
      await sleep((part.length / bytesPerSecond) * 1000);
      yield part;
    }
  }
}

/** A tampered path may hold a broken %-escape: that is a bad signature, not a server error. */
function safeDecode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
