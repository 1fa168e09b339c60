/**
 * An export task's life, as the sync and `check --probe` both live it (reference §4): the request
 * from a segment, the wait for the task to finish, and its file, each read from a fresh
 * pre-signed URL (they expire after about an hour), counted byte by byte and proven complete or
 * not. Creating (and adopting by marker) is the TasksClient's; what a finished export means for
 * the warehouse is the sync's.
 */
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExtractError } from './errors.js';
import type { DownloadResponse } from './storage-download.js';
import type { CreateTaskBody, TasksClient } from './tasks-client.js';
import type { Task } from './task-schemas.js';

/** One rule of a Spaaza segment (reference §4.2): a field, an operator and its arguments. */
export interface SegmentRule {
  readonly field_name: string;
  readonly field_type: string;
  readonly operator: string;
  readonly [argument: string]: unknown;
}

/** Which vouchers an export holds; null exports every voucher of the chain. */
export interface Segment {
  readonly join: 'all' | 'any';
  readonly rules: readonly SegmentRule[];
}

/** The body of POST /tasks for a CSV export of the chain's vouchers, run once at `once` (Spaaza's time). */
export function exportRequest(chainId: number, marker: string, segment: Segment | null, once: Date): CreateTaskBody {
  const trigger: Record<string, unknown> = { once: isoSeconds(once) };
  if (segment !== null) trigger.segment = { entity: 'people', index: 'vouchers', join: segment.join, chain_id: chainId, rules: segment.rules };
  return { chain: chainId, desc: marker, target: { action: 'export', export_index: 'vouchers', export_format: 'csv' }, trigger };
}

/** The vouchers with any of `dateFields` in [start, end]: one date window of the sync. */
export function dateWindowSegment(dateFields: readonly string[], start: Date, end: Date): Segment {
  return {
    join: 'any',
    rules: dateFields.map((field) => ({ field_name: field, field_type: 'date', operator: 'is_between_date', start_date: isoSeconds(start), end_date: isoSeconds(end) })),
  };
}

export interface PollOptions {
  readonly initialMs: number;
  readonly maxIntervalMs: number;
  /** Give up (poll_deadline) when the next poll would come after this long. */
  readonly deadlineMs: number;
  readonly signal?: AbortSignal;
  /** After the first poll (a failpoint of the crash tests). */
  readonly afterFirstPoll?: () => void;
}

/**
 * Polls GET /tasks/{id} from `initialMs`, backing off ×1.5 to `maxIntervalMs`, until DONE or
 * ERROR. Throws ExtractError `poll_deadline` (not retryable: the task goes on at Spaaza, and a
 * later run can resume it) when the deadline comes first.
 */
export async function waitForTask(api: TasksClient, task: Task, options: PollOptions): Promise<Task> {
  const deadline = Date.now() + options.deadlineMs;
  let interval = options.initialMs;
  let current = task;
  let polled = false;
  while (current.state.code !== 'DONE' && current.state.code !== 'ERROR') {
    if (Date.now() + interval > deadline) {
      throw new ExtractError(
        'poll_deadline',
        `Export task ${current.id} is still ${current.state.code} after ${Math.round(options.deadlineMs / 1000)} s; the next run resumes it. Raise pollDeadline if exports are this slow.`,
        { context: { taskId: current.id } },
      );
    }
    await sleep(interval, undefined, options.signal ? { signal: options.signal } : {});
    current = await api.getTask(current.id);
    if (!polled) {
      polled = true;
      options.afterFirstPoll?.();
    }
    interval = Math.min(interval * 1.5, options.maxIntervalMs);
  }
  return current;
}

/** A finished task's file, as one read of it: its bytes counted as they pass. */
export interface ExportFile {
  /** The body, counted; it fails (retryable) when it ends before its Content-Length. */
  readonly body: AsyncIterable<Buffer>;
  /** Bytes read so far. */
  readonly bytes: () => number;
  /** Every byte arrived and was counted against an honest Content-Length (no encoding in between). */
  readonly complete: () => boolean;
  /** Reads the file again from its start, from a fresh URL; this read ends. */
  readonly reopen: () => Promise<AsyncIterable<Buffer>>;
  /** Ends the read (the connection is freed). */
  readonly destroy: () => void;
}

export interface OpenExportOptions {
  readonly signal?: AbortSignal;
  /** The first pre-signed URL, its query removed (the run row shows it); a reopen's are not reported. */
  readonly onUrl?: (redacted: string) => void | Promise<void>;
  /** At the first byte of each read (a failpoint of the crash tests). */
  readonly onFirstByte?: () => void;
}

/**
 * Opens the task's file from a fresh pre-signed URL. Download failures are the storage
 * download's (storage-download.ts): the caller decides whether to try again, with another call.
 */
export async function openExport(api: TasksClient, taskId: number, redactUrl: (url: string) => string, options: OpenExportOptions = {}): Promise<ExportFile> {
  const fetch = async (report: boolean): Promise<DownloadResponse> => {
    const url = await api.getDownloadUrl(taskId);
    if (report) await options.onUrl?.(redactUrl(url));
    return api.download(url, options.signal ? { signal: options.signal } : {});
  };
  let response = await fetch(true);
  const counted = { bytes: 0 };
  const read = () => countedBody(response.body, response.contentLength, counted, options.onFirstByte);
  return {
    body: read(),
    bytes: () => counted.bytes,
    complete: () => response.contentLength !== null && response.contentEncoding === null && counted.bytes === response.contentLength,
    reopen: async () => {
      response.body.destroy();
      response = await fetch(false);
      counted.bytes = 0;
      return read();
    },
    destroy: () => response.body.destroy(),
  };
}

/** Counts the body's bytes, and fails before COMMIT when fewer arrive than Content-Length said. */
async function* countedBody(body: Readable, expected: number | null, counted: { bytes: number }, onFirstByte?: () => void): AsyncGenerator<Buffer> {
  let first = true;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    counted.bytes += chunk.length;
    if (first && chunk.length > 0) {
      first = false;
      onFirstByte?.();
    }
    yield chunk;
  }
  if (expected !== null && counted.bytes !== expected) {
    throw new ExtractError('download_failed', `The download ended after ${counted.bytes} of ${expected} bytes (Content-Length); retrying with a fresh URL.`, { retryable: true });
  }
}

/** ISO 8601 in UTC to the second (cut, not rounded), as Spaaza's examples write times. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
