/**
 * Stages and merges one export in batches (DESIGN §4's upsert, done piecewise): the transform
 * reads ahead while PostgreSQL copies and merges the batch before, so parsing and merging
 * overlap instead of taking turns, and memory holds at most about two batches of COPY text.
 *
 * Merging in batches ends exactly as one merge would unless an id repeats in two batches: the
 * earlier line would be written first and the later one over it, so loading the same export
 * again would write both again. That is detected before the later batch is merged and reported
 * as RepeatedIdAcrossBatches; the caller then merges the whole export at once. The same check
 * is what lets the first load of a chain be a plain INSERT in every batch.
 */
import { pipeline } from 'node:stream/promises';
import type { ClientBase } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Logger } from '../log.js';
import type { Reject } from '../transform/normalize-record.js';
import { readVoucherCsvInBatches, type TransformStats } from '../transform/read-voucher-csv.js';
import { readAhead } from './read-ahead.js';
import type { HeaderMap } from '../transform/header-map.js';
import { copySql, EXPORT_IDS_TABLE, REFERENCE_STAGED_ROWS, stagingLine, STAGING_TABLE } from './staging.js';
import type { WarehouseTables } from './tables.js';
import type { CampaignsSeen } from './upsert-campaigns.js';
import { isAfterId, upsertVouchers, type StagedRows, type StatusChange, type UpsertCounts } from './upsert-vouchers.js';

const COPY_CHUNK_CHARS = 256 * 1024;
/** COPY text parsed ahead of the batch being merged (bytes): about one batch, so memory stays flat. */
const READ_AHEAD_BYTES = 16 * 1024 * 1024;

/** Rejects of a failed window kept for diagnosis. */
export const FAILED_WINDOW_REJECTS_KEPT = 1000;

export class RepeatedIdAcrossBatches extends Error {
  constructor() {
    super('a voucher id repeats in two merge batches');
  }
}

/** What the load needs besides the merged counts; filled while the export streams past. */
export interface ExportObservations {
  readonly stats: TransformStats;
  /** The first rejects, kept in memory for a window that fails. */
  readonly firstRejects: Reject[];
  readonly campaigns: CampaignsSeen;
  /** With `detail`: the written rows by status before and after, summed over the batches. */
  readonly changes: Map<string, StatusChange>;
  revived: number;
}

export interface MergeInBatchesInput {
  readonly client: ClientBase;
  readonly tables: WarehouseTables;
  readonly chainId: number;
  readonly syncRunId: number;
  readonly exportedAt: Date;
  /** Stored versions after this are wrong (see upsertVouchers). */
  readonly validUntil: Date;
  readonly source: AsyncIterable<Buffer | string>;
  readonly noExpiryFrom: Date;
  readonly maxRecordBytes: number;
  /** Rows per batch; Infinity merges the whole export at once. */
  readonly batchRows: number;
  readonly logger: Logger;
  readonly midCopy?: (rowsRead: number) => void | Promise<void>;
  /** Before the first merge. */
  readonly beforeMerge?: () => void | Promise<void>;
  /** Stores the rejects staged in the current batch. */
  readonly storeRejects: () => Promise<void>;
  /** Count the written rows by status before and after (for a dry run's report). */
  readonly detail?: boolean;
}

/** One piece of a batch's COPY input. */
export interface CopyChunk {
  /** COPY input: text-format lines (reference) or CSV records (typed COPY), encoded, off the heap. */
  readonly text: Buffer;
  /** The last chunk of a batch. */
  readonly endsBatch: boolean;
}

/**
 * One way of staging an export's rows in batches: the reference path's (the transform's typed
 * rows and rejects as COPY text into voucher_staging) or the typed COPY path's (the export's own
 * records into voucher_copy, typed by PostgreSQL). The merge of each batch is the same.
 */
export interface StagedBatches {
  readonly chunks: AsyncIterable<CopyChunk>;
  /** Before each batch's COPY, once the header is known: readies the staging table, and gives the COPY statement. */
  prepare(client: ClientBase): Promise<string>;
  /** The batch's rows, as upsertVouchers reads them. */
  staged(): StagedRows;
  /** The ids seen so far strictly increase, so none can repeat across batches. */
  idsAscending(): boolean;
  /** What a failed COPY of a batch means on this path (the error itself, or one that says more). */
  copyFailed(error: unknown): unknown;
  /** After each batch's COPY, before its merge. */
  afterCopy(client: ClientBase): Promise<void>;
  /** SQL inserting the batch's readable reject ids into EXPORT_IDS_TABLE; null when the path has no rejects. */
  readonly rejectIdsSql: string | null;
  /** The staging table, emptied after each batch. */
  readonly table: string;
}

export async function mergeInBatches(input: MergeInBatchesInput, seen: ExportObservations): Promise<UpsertCounts> {
  return mergeStagedBatches(input, seen, referenceBatches(input, seen));
}

/** The reference path: csv-parse and normalize-record.ts in Node, their rows and rejects staged as COPY text. */
function referenceBatches(input: MergeInBatchesInput, seen: ExportObservations): StagedBatches {
  const { stats } = seen;
  // Strictly increasing ids (the exports' own order, when they have one) cannot repeat across
  // batches; only when they stop increasing does each batch have to be checked.
  let idsAscending = true;
  let lastId: string | null = null;
  const eventBatches = readVoucherCsvInBatches(input.source, { chainId: input.chainId, noExpiryFromMs: input.noExpiryFrom.getTime(), maxRecordBytes: input.maxRecordBytes }, stats);

  const copyText = async function* (): AsyncGenerator<CopyChunk> {
    let text = '';
    let rowsInBatch = 0;
    for await (const events of eventBatches) {
      for (const event of events) {
        if (event.kind === 'header') logHeader(input.logger, event.map);
        if (event.kind === 'row') {
          seen.campaigns.add(event.row);
          if (idsAscending && lastId !== null && !isAfterId(event.row.voucherId, lastId)) idsAscending = false;
          lastId = event.row.voucherId;
        }
        if (event.kind === 'reject') {
          if (seen.firstRejects.length < FAILED_WINDOW_REJECTS_KEPT) seen.firstRejects.push(event.reject);
        }
        const line = stagingLine(event);
        if (line === null) continue;
        text += line;
        rowsInBatch += 1;
        const endsBatch = rowsInBatch >= input.batchRows;
        if (endsBatch || text.length >= COPY_CHUNK_CHARS) {
          yield { text: Buffer.from(text), endsBatch };
          text = '';
          if (endsBatch) rowsInBatch = 0;
        }
      }
    }
    if (text) yield { text: Buffer.from(text), endsBatch: true };
  };
  return {
    chunks: copyText(),
    prepare: async () => copySql(),
    copyFailed: (error) => error,
    staged: () => REFERENCE_STAGED_ROWS,
    idsAscending: () => idsAscending,
    afterCopy: async () => {},
    rejectIdsSql: `INSERT INTO ${EXPORT_IDS_TABLE} (reject_id) SELECT voucher_id FROM ${STAGING_TABLE} WHERE kind = 'x' AND voucher_id IS NOT NULL`,
    table: STAGING_TABLE,
  };
}

/** What a header tells the run: unknown columns kept in `extra`, repeated names renamed. */
export function logHeader(logger: Logger, map: HeaderMap): void {
  if (map.unknown.length > 0) {
    logger.warn('the CSV has columns the warehouse does not know; they are kept in vouchers.extra', { columns: map.unknown.map((u) => u.header) });
  }
  for (const warning of map.warnings) logger.warn(warning);
}

/** Stages and merges batch after batch; the two paths differ only in `batches`. */
export async function mergeStagedBatches(input: MergeInBatchesInput, seen: ExportObservations, batches: StagedBatches): Promise<UpsertCounts> {
  const { client } = input;
  const { stats } = seen;
  const chunks = readAhead(batches.chunks, { weigh: (chunk) => chunk.text.length, maxWeight: READ_AHEAD_BYTES });

  const summed = { inserted: 0, updated: 0, distinct: 0 };
  let batchesMerged = 0;
  let uniqueIndex = false;
  // Under the chain's lock nothing else writes its rows, so a chain without any stays a first load.
  const { rows: emptiness } = await client.query<{ empty: boolean }>(`SELECT NOT EXISTS (SELECT 1 FROM ${input.tables.vouchers} WHERE chain_id = $1) AS empty`, [input.chainId]);
  const chainEmpty = emptiness[0]!.empty;
  try {
    let next = await chunks.next();
    while (!next.done) {
      // One batch: its chunks into COPY, then its checks and one merge.
      const batch = async function* () {
        for (;;) {
          const { text, endsBatch } = next.value as CopyChunk;
          yield text;
          await input.midCopy?.(stats.rows);
          next = await chunks.next();
          if (endsBatch || next.done) return;
        }
      };
      const sql = await batches.prepare(client);
      await pipeline(batch(), client.query(copyFrom(sql))).catch((error: unknown) => {
        throw batches.copyFailed(error);
      });
      batchesMerged += 1;
      await batches.afterCopy(client);
      if (batchesMerged === 1) await input.beforeMerge?.();

      const staged = batches.staged();
      const idsAscending = batches.idsAscending();
      if (idsAscending || input.batchRows === Infinity) {
        await client.query(`INSERT INTO ${EXPORT_IDS_TABLE} (voucher_id) SELECT voucher_id FROM (${staged.rows}) s`);
      } else {
        if (!uniqueIndex) {
          // The ids so far were ascending, so unique.
          await client.query(`CREATE UNIQUE INDEX ON ${EXPORT_IDS_TABLE} (voucher_id)`);
          uniqueIndex = true;
        }
        const added = await client.query<{ repeated: string }>(
          `WITH batch AS (SELECT DISTINCT voucher_id FROM (${staged.rows}) s),
                added AS (INSERT INTO ${EXPORT_IDS_TABLE} (voucher_id) SELECT voucher_id FROM batch ON CONFLICT DO NOTHING RETURNING 1)
           SELECT (SELECT count(*) FROM batch) - (SELECT count(*) FROM added) AS repeated`,
        );
        if (Number(added.rows[0]!.repeated) > 0) throw new RepeatedIdAcrossBatches();
      }
      if (batches.rejectIdsSql) await client.query(batches.rejectIdsSql);

      if (stats.header) {
        const merged = await upsertVouchers(client, input.tables.vouchers, {
          chainId: input.chainId,
          syncRunId: input.syncRunId,
          exportedAt: input.exportedAt,
          validUntil: input.validUntil,
          present: stats.header.present,
        }, { idsDistinct: idsAscending, chainEmpty }, input.detail ?? false, staged);
        for (const change of merged.changes ?? []) {
          const key = `${change.from}\u0000${change.to}`;
          seen.changes.set(key, { ...change, count: (seen.changes.get(key)?.count ?? 0) + change.count });
        }
        seen.revived += merged.revived ?? 0;
        summed.inserted += merged.inserted;
        summed.updated += merged.updated;
        summed.distinct += merged.distinct;
      }
      if (stats.rejected > 0) await input.storeRejects();
      await client.query(`TRUNCATE ${batches.table}`);
    }
  } finally {
    // Not awaited: after a failure a pull may still wait on a stalled download the caller destroys.
    chunks.return(undefined).catch(() => {});
  }
  if (batchesMerged === 0) await input.beforeMerge?.();
  return summed;
}
