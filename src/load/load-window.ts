/**
 * Loads one window's CSV stream into the warehouse in one transaction (DESIGN §2, §4):
 *   per batch of rows (merge-in-batches): COPY (transform → staging) → keep ids → upsert
 *   vouchers → keep rejects; then reject threshold → upsert campaigns → deletions (full
 *   refresh) → close the run row → advance the watermark → COMMIT.
 * Any failure rolls all of it back; the run row is then marked failed and the window's first
 * 1,000 rejects are kept, in a transaction of their own.
 */
import type { Readable } from 'node:stream';
import type { ClientBase } from 'pg';
import { DEFAULTS } from '../defaults.js';
import { codeOf, isRetryable } from '../error-table.js';
import { LoadError } from '../errors.js';
import type { Logger } from '../log.js';
import { CampaignsSeen, emptyTransformStats, type ExportSeen, type LoadPath, type Reject, type StageExport, type StagedBatches, type TransformStats } from '../voucher/staged-export.js';
import { storable } from '../voucher/storable.js';
import { createExportIdsSql, EXPORT_IDS_TABLE } from './export-ids.js';
import { mergeInBatches, RepeatedIdAcrossBatches, type MergedExport } from './merge-in-batches.js';
import { markCommitted, markFailed, type RunCounts } from '../warehouse/sync-runs.js';
import type { WarehouseTables } from '../warehouse/tables.js';
import { upsertCampaigns } from './upsert-campaigns.js';
import type { StatusChange } from './upsert-vouchers.js';
import { advanceWatermark, markFullRefresh, VOUCHERS_STREAM, type WatermarkAdvance } from '../warehouse/sync-state.js';
import { reconcileDeletions, type ReconcileOptions, type ReconcileResult } from './reconcile-deletions.js';

/** A window never fails on rejects at or below this many rows, whatever the ratio. */
export const REJECT_ROWS_TOLERATED = 100;

/** Test and crash-test hooks at the named points of a load (DESIGN §5 failpoints). */
export interface LoadHooks {
  /** After each chunk sent to COPY, with the rows read so far (parsing runs ahead of COPY). */
  midCopy?(rowsRead: number): void | Promise<void>;
  /** Before the first batch is merged. */
  beforeUpsert?(): void | Promise<void>;
  beforeCommit?(): void | Promise<void>;
}

/** How an export is loaded: the sync.* settings of the load, one for every window of a sync and for a load-file. */
export interface LoadSettings {
  /** A window fails when more than this share of its records (and 100) is rejected. */
  readonly maxRejectRatio: number;
  /** Expiry dates from this one on mean "never expires" (stored as null). */
  readonly noExpiryFrom: Date;
  /** Longer CSV records are cut and rejected (default sync.maxRecordBytes's). */
  readonly maxRecordBytes?: number;
  /**
   * Rows per merge batch (default sync.mergeBatchRows). Smaller batches overlap parsing and merging
   * sooner but pay a statement's overhead more often; at 50,000 the last, unoverlapped merge takes
   * about half a second.
   */
  readonly mergeBatchRows?: number;
  /** `reference` forces the reference path (sync.loadPath); default `auto`. */
  readonly loadPath?: LoadPathSetting;
}

export interface LoadWindowInput {
  /** The run's dedicated connection, outside any transaction. */
  readonly client: ClientBase;
  readonly tables: WarehouseTables;
  readonly chainId: number;
  readonly syncRunId: number;
  readonly source: Readable | AsyncIterable<Buffer | string>;
  /** How the export is staged for the merge: the transform's (transform/stage-export.ts). */
  readonly stage: StageExport;
  /** Spaaza's time of the export: the row version of everything in it. */
  readonly exportedAt: Date;
  /**
   * Spaaza's now (or this host's, plus the clock bound, for a file): a stored version after it came
   * from a wrong clock reading, and any export replaces it. Default: this host's clock plus 15 min.
   */
  readonly versionsValidUntil?: Date;
  readonly window?: { readonly start: Date | null; readonly end: Date | null };
  /** Advance the watermark with this window; absent for file loads and detached backfills. */
  readonly watermark?: WatermarkAdvance;
  readonly settings: LoadSettings;
  readonly logger: Logger;
  readonly hooks?: LoadHooks;
  /**
   * Reads the export again from its start (a fresh download, the file reopened). Without it the
   * export is merged at once; with it, in batches, read again only if an id repeats across them.
   */
  readonly reopen?: () => Promise<AsyncIterable<Buffer | string>> | AsyncIterable<Buffer | string>;
  /** Full refresh: soft-delete live vouchers this complete export no longer contains. */
  readonly reconcile?: ReconcileOptions;
  /**
   * Mark the run failed (and keep its first rejects) when the load fails; default true. False
   * for an attempt the caller will retry in the same window, so only the last one is recorded.
   */
  readonly recordFailure?: boolean | ((error: Error) => boolean);
  /**
   * Do everything but commit, inside the caller's open transaction (which the caller rolls back),
   * and report the written rows by status before and after: what the load would change.
   */
  readonly dryRun?: boolean;
}

export interface LoadResult extends RunCounts {
  /** A dry run: nothing was committed. */
  readonly dryRun: boolean;
  /** Dry run only: the rows it would write, by status before (null: new) and after, and soft-deleted rows it would revive. */
  readonly statusChanges?: readonly StatusChange[];
  readonly revived?: number;
  readonly campaignsWritten: number;
  readonly watermarkMoved: boolean;
  /** Rejected records from which no voucher id could be read (a full refresh needs 0). */
  readonly rejectsWithoutId: number;
  /** Set for a full refresh. */
  readonly deletions: ReconcileResult | null;
  /** How the export was staged: PostgreSQL typing its records (typed COPY) or the reference transform. */
  readonly loadPath: LoadPath;
}

export type { LoadPath } from '../voucher/staged-export.js';
/** sync.loadPath: `auto` takes the typed COPY path when it can be exact, `reference` never does. */
export type LoadPathSetting = 'auto' | 'reference';

/**
 * The typed COPY path merges batches this many times larger than sync.mergeBatchRows (250,000 rows
 * at the default): Node has nothing to parse while PostgreSQL merges, so small batches would only
 * add statements.
 */
const TYPED_COPY_BATCH_FACTOR = 5;

/** Thrown when a window failed; its run row was marked failed when `recorded` is true. */
export class WindowLoadError extends LoadError {
  constructor(
    original: Error,
    readonly recorded: boolean,
    readonly stats: TransformStats,
    /** The window's first rejects, for a caller that must record them itself. */
    readonly firstRejects: readonly Reject[],
  ) {
    super(codeOf(original, 'load_failed'), original.message, { retryable: isRetryable(original), cause: original });
  }
}

/**
 * Loads one export in one transaction: stages and merges it (stageAndMerge), fails it when too
 * many records were rejected, then writes campaigns, deletions, the run row and the watermark and
 * commits (finishWindow). A failure rolls everything back and records why (recordFailure).
 */
export async function loadWindow(input: LoadWindowInput): Promise<LoadResult> {
  const { client, logger } = input;
  const validUntil = input.versionsValidUntil ?? new Date(Date.now() + DEFAULTS.maxClockSkewMs);
  const progress: Progress = { seen: nothingSeen() };
  // A connection that dies mid-load also emits 'error'; without a listener that would crash the
  // process. The failing query reports it, so here it is only logged.
  const onConnectionError = (error: Error) => logger.warn('the warehouse connection failed during the load', { error: error.message });
  client.on('error', onConnectionError);

  try {
    await client.query(input.dryRun ? 'SAVEPOINT dry_run' : 'BEGIN');
    await client.query(createExportIdsSql());
    const merged = await stageAndMerge(input, validUntil, progress);
    const { stats } = progress.seen;
    if (stats.header === null) logger.info('the export is empty (no header): nothing to load');
    assertRejectsTolerated(stats, input.settings.maxRejectRatio);
    const result = await finishWindow(input, merged, progress.seen, validUntil);
    if (input.dryRun) return { ...result, dryRun: true, statusChanges: sortedChanges(merged.vouchers.changes), revived: merged.vouchers.revived };
    await client.query('COMMIT');
    return { ...result, dryRun: false };
  } catch (error) {
    const cause = error instanceof Error ? error : new Error(String(error));
    const { stats, firstRejects } = progress.seen;
    const record = !input.dryRun && (typeof input.recordFailure === 'function' ? input.recordFailure(cause) : input.recordFailure !== false);
    const recorded = record ? await recordFailure(input, cause, stats, firstRejects) : await rollback(input);
    throw new WindowLoadError(cause, recorded, stats, firstRejects);
  } finally {
    client.off('error', onConnectionError);
  }
}

/** What the export showed so far: kept outside the attempt, for the failure record. */
interface Progress {
  seen: ExportSeen;
}

/** The export staged and merged: its counts, the batches (what they can account for), the path taken. */
interface Merged {
  readonly vouchers: MergedExport;
  readonly batches: StagedBatches;
  readonly loadPath: LoadPath;
}

/**
 * Stages the export and merges it batch by batch. Read again from its start (a savepoint back)
 * when the typed COPY path cannot be exact, or when an id repeats across batches: each retry
 * changes the path or the batching for good, so at most three reads. Without a way to read the
 * export again, it is merged at once, by the reference path.
 */
async function stageAndMerge(input: LoadWindowInput, validUntil: Date, progress: Progress): Promise<Merged> {
  const { client, logger } = input;
  if (!input.reopen) {
    const batches = stageBatches(input, 'reference', input.source, Infinity);
    return { vouchers: await mergeBatches(input, validUntil, progress, batches, Infinity), batches, loadPath: 'reference' };
  }
  let loadPath: LoadPath = input.settings.loadPath !== 'reference' && (await typedCopyPossible(client)) ? 'typed-copy' : 'reference';
  let rows = input.settings.mergeBatchRows ?? DEFAULTS.mergeBatchRows;
  let source = input.source;
  await client.query('SAVEPOINT before_batches');
  for (;;) {
    const batches = stageBatches(input, loadPath, source, rows);
    try {
      return { vouchers: await mergeBatches(input, validUntil, progress, batches, rows), batches, loadPath };
    } catch (error) {
      const notExact = loadPath === 'typed-copy' ? batches.cannotBeExact(error) : null;
      if (notExact !== null) {
        logger.info('the export is not one the typed COPY path can load exactly: loading it again through the reference path', { because: notExact });
        loadPath = 'reference';
      } else if (error instanceof RepeatedIdAcrossBatches && rows !== Infinity) {
        logger.info('a voucher id repeats far apart in the export: reading it again to merge it at once');
        rows = Infinity;
      } else {
        throw error;
      }
      await client.query('ROLLBACK TO SAVEPOINT before_batches');
      progress.seen = nothingSeen();
      source = await input.reopen();
    }
  }
}

/** The export staged by the transform, in batches of `rows` (larger ones on the typed COPY path). */
function stageBatches(input: LoadWindowInput, path: LoadPath, source: AsyncIterable<Buffer | string>, rows: number): StagedBatches {
  return input.stage(path, source, {
    chainId: input.chainId,
    noExpiryFrom: input.settings.noExpiryFrom,
    maxRecordBytes: input.settings.maxRecordBytes ?? DEFAULTS.maxRecordBytes,
    batchRows: path === 'typed-copy' ? rows * TYPED_COPY_BATCH_FACTOR : rows,
    logger: input.logger,
  });
}

function mergeBatches(input: LoadWindowInput, validUntil: Date, progress: Progress, batches: StagedBatches, rows: number): Promise<MergedExport> {
  progress.seen = batches.seen;
  return mergeInBatches(
    {
      client: input.client,
      tables: input.tables,
      chainId: input.chainId,
      syncRunId: input.syncRunId,
      exportedAt: input.exportedAt,
      validUntil,
      oneBatch: rows === Infinity,
      midCopy: input.hooks?.midCopy,
      beforeMerge: input.hooks?.beforeUpsert,
      storeRejects: (rejectsSql) => insertStagedRejects(input.client, input.tables, input, rejectsSql),
      detail: input.dryRun ?? false,
    },
    batches,
  );
}

/** A window fails when more than `maxRejectRatio` of its records (and more than 100) were rejected. */
function assertRejectsTolerated(stats: TransformStats, maxRejectRatio: number): void {
  if (stats.rejected <= REJECT_ROWS_TOLERATED || stats.rejected <= maxRejectRatio * stats.records) return;
  throw new LoadError(
    'too_many_rejects',
    `${stats.rejected} of ${stats.records} rows were rejected, above the limit of ${(maxRejectRatio * 100).toFixed(2)}% ` +
      `(and ${REJECT_ROWS_TOLERATED} rows). The first rejects are in voucher_rejects with their line and reason; ` +
      'fix the source, or raise maxRejectRatio (--max-reject-ratio) if they are acceptable.',
  );
}

/** After the merge, in its transaction: campaigns, deletions (full refresh), the run row, the watermark. */
async function finishWindow(input: LoadWindowInput, merged: Merged, seen: ExportSeen, validUntil: Date): Promise<Omit<LoadResult, 'dryRun'>> {
  const { client, tables, logger } = input;
  const { stats } = seen;
  const campaignsWritten = stats.header
    ? await upsertCampaigns(client, tables.campaigns, seen.campaigns, { chainId: input.chainId, syncRunId: input.syncRunId, exportedAt: input.exportedAt, validUntil, present: stats.header.present })
    : 0;
  const { deletions, incomplete } = await deleteWhatIsGone(input, merged.batches, stats, validUntil);
  const counts = runCounts(input, merged.vouchers, stats, deletions, incomplete);
  await markCommitted(client, tables, input.syncRunId, counts);
  const watermarkMoved = input.watermark ? await advanceWatermark(client, tables, input.chainId, input.syncRunId, input.watermark) : false;
  if (deletions?.skippedBecause === 'incomplete') {
    logger.warn('the full export could not be proven complete: upserted, but nothing was deleted', { because: incomplete, candidates: deletions.candidates });
  }
  if (deletions && deletions.skippedBecause === null) {
    await markFullRefresh(client, tables, input.chainId, input.watermark?.stream ?? VOUCHERS_STREAM, input.exportedAt);
  }
  await input.hooks?.beforeCommit?.();
  return { ...counts, campaignsWritten, watermarkMoved, rejectsWithoutId: stats.unidentified, deletions, loadPath: merged.loadPath };
}

/**
 * A full refresh soft-deletes what the export lacks, only when the export can be accounted for
 * record by record (else `incomplete` says why not, and nothing is deleted).
 */
async function deleteWhatIsGone(
  input: LoadWindowInput,
  batches: StagedBatches,
  stats: TransformStats,
  validUntil: Date,
): Promise<{ deletions: ReconcileResult | null; incomplete: string | null }> {
  if (!input.reconcile) return { deletions: null, incomplete: null };
  // Temporary tables have no statistics until analysed; without them the planner may pick a
  // nested loop for the deletion anti-join.
  await input.client.query(`ANALYZE ${EXPORT_IDS_TABLE}`);
  const incomplete = (input.reconcile.isComplete() ? null : BODY_UNPROVEN) ?? batches.unaccounted();
  const deletions = await reconcileDeletions(
    input.client,
    input.tables,
    { chainId: input.chainId, syncRunId: input.syncRunId, exportedAt: input.exportedAt, validUntil, rowsInExport: stats.rows },
    { ...input.reconcile, isComplete: () => incomplete === null },
  );
  return { deletions, incomplete };
}

function runCounts(input: LoadWindowInput, vouchers: MergedExport, stats: TransformStats, deletions: ReconcileResult | null, incomplete: string | null): RunCounts {
  return {
    rowsRead: stats.records,
    inserted: vouchers.inserted,
    updated: vouchers.updated,
    unchanged: vouchers.distinct - vouchers.inserted - vouchers.updated,
    rejected: stats.rejected,
    inconsistent: stats.inconsistent,
    duplicates: stats.rows - vouchers.distinct,
    bytes: stats.bytes,
    unknownColumns: stats.header?.unknown.map((u) => u.header) ?? [],
    exportedAt: input.exportedAt,
    deletions,
    warnings: [...(stats.header?.warnings ?? []), ...(deletions?.skippedBecause === 'incomplete' ? [`deletions skipped: ${incomplete}`] : [])],
  };
}

/** PostgreSQL checks the UTF-8 of what it copies only into a UTF-8 database: elsewhere the reference path does. */
async function typedCopyPossible(client: ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ encoding: string }>(`SELECT current_setting('server_encoding') AS encoding`);
  return rows[0]!.encoding === 'UTF8';
}

/** Before the first batch is staged, and after a rollback to read the export again. */
function nothingSeen(): ExportSeen {
  return { stats: emptyTransformStats(), firstRejects: [], campaigns: new CampaignsSeen() };
}

/** New rows first, then by status before and after. */
function sortedChanges(changes: ReadonlyMap<string, StatusChange>): StatusChange[] {
  const key = (s: string | null) => (s === null ? '' : `~${s}`);
  return [...changes.values()].sort((a, b) => key(a.from).localeCompare(key(b.from)) || key(a.to).localeCompare(key(b.to)));
}

const BODY_UNPROVEN = 'the download could not be proven complete (no Content-Length, a Content-Encoding, or fewer bytes than it said)';

async function insertStagedRejects(client: ClientBase, tables: WarehouseTables, input: LoadWindowInput, rejectsSql: string): Promise<void> {
  await client.query(
    `INSERT INTO ${tables.voucherRejects} (chain_id, sync_run_id, window_start, window_end, line, voucher_id, raw_record, reason)
     SELECT $1, $2, $3, $4, r.line, r.written_id, r.raw_record, r.reason FROM (${rejectsSql}) r ORDER BY r.line`,
    [input.chainId, input.syncRunId, input.window?.start ?? null, input.window?.end ?? null],
  );
}

/**
 * Rolls back, then marks the run failed and keeps the first rejects, in one new transaction.
 * Returns false when the connection is gone (the caller records it elsewhere).
 */
async function recordFailure(input: LoadWindowInput, error: Error, stats: TransformStats, rejects: readonly Reject[]): Promise<boolean> {
  const { client, tables, logger } = input;
  try {
    await client.query('ROLLBACK');
    await client.query('BEGIN');
    await markFailed(client, tables, input.syncRunId, {
      code: codeOf(error, 'load_failed'),
      message: error.message,
      rowsRead: stats.records,
      rejected: stats.rejected,
      bytes: stats.bytes,
    });
    await insertRejects(client, tables, input, rejects);
    await client.query('COMMIT');
    return true;
  } catch (recordError) {
    logger.warn('could not record the failed window on its connection', { error: recordError });
    await client.query('ROLLBACK').catch(() => {});
    return false;
  }
}

/** Rolls back only; false when the connection is gone. */
async function rollback(input: LoadWindowInput): Promise<boolean> {
  return input.client.query('ROLLBACK').then(
    () => true,
    () => false,
  );
}

/** Inserts rejects held in memory (the staging table is gone after a rollback). */
export async function insertRejects(
  client: ClientBase,
  tables: WarehouseTables,
  input: Pick<LoadWindowInput, 'chainId' | 'syncRunId' | 'window'>,
  rejects: readonly Reject[],
): Promise<void> {
  if (rejects.length === 0) return;
  await client.query(
    `INSERT INTO ${tables.voucherRejects} (chain_id, sync_run_id, window_start, window_end, line, voucher_id, raw_record, reason)
     SELECT $1, $2, $3, $4, r.line, r.voucher_id, r.raw_record, r.reason
     FROM unnest($5::bigint[], $6::text[], $7::text[], $8::text[]) AS r(line, voucher_id, raw_record, reason)`,
    [
      input.chainId,
      input.syncRunId,
      input.window?.start ?? null,
      input.window?.end ?? null,
      rejects.map((r) => r.line),
      rejects.map((r) => r.writtenId && storable(r.writtenId)),
      rejects.map((r) => storable(r.raw)),
      rejects.map((r) => r.reason),
    ],
  );
}
