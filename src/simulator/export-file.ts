/**
 * Renders one export task's result file into the storage folder: the snapshot's live vouchers
 * that match the segment, streamed in chunks with backpressure (flat memory for millions of
 * rows), written to a temporary name and renamed when complete so a download never sees half.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CsvWriter, type CsvDialect, formatTimestamp } from './csv-dialect.js';
import type { Dataset, Snapshot } from './dataset.js';
import { matchesSegment, type RelativeReading, type Segment } from './segment.js';
import type { ExportFormat } from './task-request.js';
import { EXPORT_FIELDS, type Voucher } from './voucher.js';

const CHUNK_CHARS = 64 * 1024;

export interface ExportSpec {
  readonly dataset: Dataset;
  readonly snapshot: Snapshot;
  readonly segment: Segment | null;
  /** How `relative_less_than` is read (the simulator's switch). */
  readonly relativeReading?: RelativeReading;
  readonly format: ExportFormat;
  readonly dialect: CsvDialect;
  readonly seed: number;
}

export interface ExportResult {
  readonly rows: number;
  readonly bytes: number;
}

/** The live vouchers of a snapshot selected by a segment (all of them without one). */
export function* selectedVouchers(spec: Pick<ExportSpec, 'dataset' | 'snapshot' | 'segment' | 'relativeReading'>): Generator<Voucher> {
  for (const voucher of spec.dataset.vouchers(spec.snapshot)) {
    if (voucher.deleted) continue;
    if (spec.segment && !matchesSegment(spec.segment, voucher, spec.snapshot.at, spec.relativeReading)) continue;
    yield voucher;
  }
}

export async function writeExportFile(spec: ExportSpec, file: string): Promise<ExportResult> {
  const counts = { rows: 0, bytes: 0 };
  const chunks = spec.format === 'csv' ? csvChunks(spec, counts) : jsonChunks(spec, counts);
  const partial = `${file}.partial`;
  try {
    await pipeline(Readable.from(countBytes(chunks, counts)), createWriteStream(partial));
    await rename(partial, file);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return counts;
}

/** CSV in the given dialect: the header, then one row per selected voucher. */
export function* csvChunks(spec: Omit<ExportSpec, 'format'>, counts: { rows: number }): Generator<string> {
  const writer = new CsvWriter(spec.dialect, spec.seed);
  const repeated: Voucher[] = [];
  function* vouchers(): Generator<Voucher> {
    for (const voucher of selectedVouchers(spec)) {
      if (repeated.length < spec.dialect.repeatFirstRows) repeated.push(voucher);
      yield voucher;
    }
    yield* repeated;
  }
  yield* batched(writer.head(), function* () {
    for (const voucher of vouchers()) {
      counts.rows += 1;
      // A malformed row comes in pieces (a huge field is never one string), the others whole.
      if (writer.isMalformed(counts.rows)) yield* writer.rowPieces(voucher, counts.rows);
      else yield writer.row(voucher, counts.rows);
    }
  });
}

/** JSON: one array of flat objects keyed by the default column names (reference §12 #19). */
function* jsonChunks(spec: ExportSpec, counts: { rows: number }): Generator<string> {
  yield* batched('[', function* () {
    for (const voucher of selectedVouchers(spec)) {
      const record = Object.fromEntries(
        EXPORT_FIELDS.map((f) => {
          const value = f.decimal ? f.decimal(voucher) : f.value(voucher);
          return [f.name, f.type === 'date' && typeof value === 'number' ? formatTimestamp(value, 'z') : value];
        }),
      );
      yield (counts.rows === 0 ? '\n' : ',\n') + JSON.stringify(record);
      counts.rows += 1;
    }
    yield '\n]\n';
  });
}

function* batched(first: string, rest: () => Generator<string>): Generator<string> {
  let buffer = first;
  for (const piece of rest()) {
    buffer += piece;
    if (buffer.length >= CHUNK_CHARS) {
      yield buffer;
      buffer = '';
    }
  }
  if (buffer) yield buffer;
}

function* countBytes(chunks: Iterable<string>, counts: { bytes: number }): Generator<Buffer> {
  for (const chunk of chunks) {
    const buffer = Buffer.from(chunk, 'utf8');
    counts.bytes += buffer.length;
    yield buffer;
  }
}
