/**
 * The transform stage: a voucher CSV byte stream in, typed rows and rejects out, as an async
 * iterable with backpressure (csv-parse pulls only as fast as the consumer reads).
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { TransformError } from '../errors.js';
import type { HeaderMap, Reject, TransformStats, VoucherRow } from '../voucher/staged-export.js';
import { emptyTransformStats } from '../voucher/staged-export.js';
import { mapHeader } from './header-map.js';
import { DEFAULTS } from '../defaults.js';
import { normalizeRecord, type NormalizeContext } from './normalize-record.js';
import { CUT_SENTINEL, guardRecordSize, type RecordCuts } from './record-size-guard.js';

export type TransformEvent =
  | { readonly kind: 'header'; readonly map: HeaderMap }
  | { readonly kind: 'row'; readonly row: VoucherRow }
  | { readonly kind: 'reject'; readonly reject: Reject };

/** How many lines of unidentified or hiding records are kept for the warning. */
const SUSPECT_LINES_KEPT = 10;

/**
 * No real voucher record spans more lines than this (titles hold a line break or two): a record
 * that does is loaded if it is valid, but may hold others, so a full refresh deletes nothing.
 */
export const MAX_RECORD_LINES = 20;

/**
 * Why the export cannot show which vouchers it lacks (so a full refresh must delete nothing), or
 * null when every record is accounted for.
 */
export function recordsUnaccounted(stats: TransformStats): string | null {
  const parts: string[] = [];
  if (stats.hiding > 0) {
    parts.push(
      `${stats.hiding} record(s) may hide others (a field count unlike the header's, a quoted field holding what reads as further records, a record over sync.maxRecordBytes or over ${MAX_RECORD_LINES} lines)`,
    );
  }
  if (stats.unidentified > 0) parts.push(`${stats.unidentified} rejected record(s) have no readable voucher id`);
  if (parts.length === 0) return null;
  return `${parts.join('; ')}: line ${stats.suspectLines.join(', ')}${stats.hiding + stats.unidentified > stats.suspectLines.length ? ', …' : ''}`;
}

const LINE_BREAK = /\r\n|\r|\n/g;

function headerTooLong(maxRecordBytes: number): TransformError {
  return new TransformError(
    'csv_header_too_long',
    `The CSV header is longer than sync.maxRecordBytes (${maxRecordBytes} bytes), so its column names cannot be read; if the file is right, raise sync.maxRecordBytes (SPAAZA_MAX_RECORD_BYTES).`,
  );
}

interface ParsedRecord {
  readonly record: string[];
  readonly raw: string;
}

/**
 * Parses and normalizes `source`. A 0-byte or header-only file yields no rows. Throws a
 * TransformError when the file as a whole is unusable: a header without the voucher id, two
 * headers for one column, or a file that ends inside a quoted field (truncated).
 */
export async function* readVoucherCsv(
  source: Readable | AsyncIterable<Buffer | string>,
  context: NormalizeContext,
  stats: TransformStats = emptyTransformStats(),
): AsyncGenerator<TransformEvent> {
  for await (const events of readVoucherCsvInBatches(source, context, stats)) yield* events;
}

/**
 * readVoucherCsv, a few hundred events at a time (what one chunk of input holds): at a million
 * rows, a promise per event would cost more than the events' own work.
 */
export async function* readVoucherCsvInBatches(
  source: Readable | AsyncIterable<Buffer | string>,
  context: NormalizeContext,
  stats: TransformStats = emptyTransformStats(),
): AsyncGenerator<TransformEvent[]> {
  const cuts: RecordCuts = { lineBreaksDropped: [] };
  const parser = parse({
    bom: true,
    raw: true,
    // Field counts are checked per row (a reject), and quotes inside unquoted fields are kept
    // literally: csv-parse's own error skipping can swallow the records that follow.
    relax_column_count: true,
    relax_quotes: true,
  });
  // Bytes are counted on the way in: csv-parse's `info` option would cost a third of its time.
  const feeding = pipeline(guardRecordSize(countBytes(source, stats), context.maxRecordBytes ?? DEFAULTS.maxRecordBytes, cuts), parser);
  feeding.catch(() => {}); // the same error surfaces from the parser below

  let map: HeaderMap | null = null;
  let nextLine = 1;
  try {
    for await (const records of readInBatches<ParsedRecord>(parser)) {
      const events: TransformEvent[] = [];
      for (const parsed of records) {
        // Lines are counted here: csv-parse's info.lines counts a CRLF inside a quoted field twice.
        const line = nextLine;
        const { raw, lineBreaks } = splitRaw(parsed.raw);
        // A record the size guard cut lost line breaks with its tail: later lines stay true. (The
        // guard reports a cut before the parser can see its record, so most records skip the search.)
        nextLine += lineBreaks + (cuts.lineBreaksDropped.length > 0 && raw.includes(CUT_SENTINEL) ? cuts.lineBreaksDropped.shift()! : 0);
        if (map === null) {
          // A cut header would name a column after the cut (and hold the sentinel's NUL).
          if (raw.includes(CUT_SENTINEL)) throw headerTooLong(context.maxRecordBytes ?? DEFAULTS.maxRecordBytes);
          map = mapHeader(parsed.record);
          stats.header = map;
          events.push({ kind: 'header', map });
          continue;
        }
        if (parsed.record.length === 1 && parsed.record[0] === '') continue; // a blank line
        stats.records += 1;
        const result = normalizeRecord(parsed.record, line, raw, map, context, lineBreaks);
        if (lineBreaks > MAX_RECORD_LINES && !('reject' in result && result.reject.mayHideRecords)) {
          stats.hiding += 1;
          if (stats.suspectLines.length < SUSPECT_LINES_KEPT) stats.suspectLines.push(line);
        }
        if ('row' in result) {
          stats.rows += 1;
          if (result.row.inconsistent) stats.inconsistent += 1;
          events.push({ kind: 'row', row: result.row });
        } else {
          stats.rejected += 1;
          const { reject } = result;
          if (reject.mayHideRecords) stats.hiding += 1;
          else if (reject.voucherId === null) stats.unidentified += 1;
          if ((reject.mayHideRecords || reject.voucherId === null) && stats.suspectLines.length < SUSPECT_LINES_KEPT) stats.suspectLines.push(line);
          events.push({ kind: 'reject', reject });
        }
      }
      if (events.length > 0) yield events;
    }
    await feeding;
  } catch (error) {
    if ((error as { code?: string }).code === 'CSV_QUOTE_NOT_CLOSED') {
      throw new TransformError(
        'csv_truncated',
        // Not the line: the records parsed before the error are dropped with it, so it is unknown.
        'The CSV ends inside a quoted field: the file is incomplete (a broken download?). Fetch it again.',
        { retryable: true, cause: error },
      );
    }
    throw error;
  } finally {
    parser.destroy();
  }
}

/** Everything a readable stream holds each time it has something, until it ends or fails. */
async function* readInBatches<T>(stream: Readable): AsyncGenerator<T[]> {
  let ended = false;
  let failure: { error: unknown } | null = null;
  const wake: { waiting: (() => void) | null } = { waiting: null };
  const onReadable = () => wake.waiting?.();
  const onEnd = () => {
    ended = true;
    wake.waiting?.();
  };
  const onError = (error: unknown) => {
    failure = { error };
    wake.waiting?.();
  };
  stream.on('readable', onReadable).on('end', onEnd).on('error', onError);
  try {
    for (;;) {
      const batch: T[] = [];
      for (let item = stream.read() as T | null; item !== null; item = stream.read() as T | null) batch.push(item);
      if (batch.length > 0) {
        yield batch;
        continue;
      }
      if (failure) throw (failure as { error: unknown }).error;
      if (ended) return;
      await new Promise<void>((resolve) => (wake.waiting = resolve));
      wake.waiting = null;
    }
  } finally {
    stream.off('readable', onReadable).off('end', onEnd).off('error', onError);
  }
}

/**
 * The raw record without its line ending (csv-parse keeps only the CR of a CRLF), and the line
 * breaks it spans. Most records are one line ending in LF: that case skips the regular expressions.
 */
function splitRaw(text: string): { raw: string; lineBreaks: number } {
  const lf = text.indexOf('\n');
  if (lf === text.length - 1 && !text.includes('\r')) return { raw: text.slice(0, -1), lineBreaks: 1 };
  return { raw: text.replace(/(?:\r\n|\r|\n)$/, ''), lineBreaks: text.match(LINE_BREAK)?.length ?? 0 };
}

async function* countBytes(source: Readable | AsyncIterable<Buffer | string>, stats: TransformStats): AsyncGenerator<Buffer | string> {
  for await (const chunk of source as AsyncIterable<Buffer | string>) {
    stats.bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    yield chunk;
  }
}
