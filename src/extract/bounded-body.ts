/**
 * Reads an HTTP answer's body as text, but never more than a bound: a Services API answer is a
 * few kilobytes of JSON, and one that is hundreds of megabytes (a broken proxy, a hostile
 * server) must fail the call instead of filling the memory.
 */
import type { Readable } from 'node:stream';
import { ExtractError } from './errors.js';

export async function readBoundedText(body: Readable, maxBytes: number, endpoint: string, contentLength: string | string[] | undefined): Promise<string> {
  // A body refused unread emits an abort when destroyed; the refusal below is what reports it.
  body.on('error', () => {});
  const declared = Number(Array.isArray(contentLength) ? contentLength[0] : contentLength);
  if (Number.isFinite(declared) && declared > maxBytes) {
    body.destroy();
    throw tooLarge(endpoint, maxBytes, `of ${declared} bytes (its Content-Length)`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      body.destroy();
      throw tooLarge(endpoint, maxBytes, `of more than ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

function tooLarge(endpoint: string, maxBytes: number, size: string): ExtractError {
  return new ExtractError(
    'response_too_large',
    `${endpoint} answered a body ${size}, over the limit of ${maxBytes} bytes (extract.maxResponseBytes); Spaaza's answers are small JSON documents, so it was refused unread. ` +
      'Check SPAAZA_BASE_URL and any proxy in between; raise SPAAZA_MAX_RESPONSE_BYTES only if Spaaza really sends answers that large.',
    { retryable: false, context: { endpoint } },
  );
}
