/**
 * One export loaded outside the sync's windows, under the chain's lock: a `load-file` (mode
 * `file`) or an `export --load` (mode `export`). Either is one run row; it upserts with the sync's
 * rules (newer export wins, rejects kept), never moves a watermark and never deletes. A row left
 * unfinished by a process that died is failed by the next run of the chain (process_died).
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ChainLockedError } from '../errors.js';
import { insertRejects, loadWindow, WindowLoadError, type LoadResult, type LoadSettings } from '../load/load-window.js';
import type { Logger } from '../log.js';
import { stageExport } from '../transform/stage-export.js';
import { releaseRunConnection, tryLockChain } from '../warehouse/chain-lock.js';
import { createRun, failRunsOfDeadProcesses, markFailed, type RunMode } from '../warehouse/sync-runs.js';
import { warehouseTables, type WarehouseTables } from '../warehouse/tables.js';
import type { Warehouse } from '../warehouse/warehouse.js';

export type LockedLoadMode = Extract<RunMode, 'file' | 'export' | 'open-refresh'>;

export interface LockedLoadInput {
  readonly warehouse: Warehouse;
  readonly schema: string;
  readonly chainId: number;
  readonly mode: LockedLoadMode;
  /** What sync_runs.source says: a file name, `stdin`, or a download URL without its query. */
  readonly sourceLabel: string;
  /** Opens the export, once the connection and the lock are held (so a refused load opens nothing). */
  readonly open: () => Readable | AsyncIterable<Buffer | string>;
  /** Reads it again from its start; absent when it cannot be (standard input). */
  readonly reopen?: () => Promise<AsyncIterable<Buffer | string>> | AsyncIterable<Buffer | string>;
  /** Spaaza's time of the export: every row's version. */
  readonly exportedAt: Date;
  /** Stored versions after this are wrong (default: this host's clock plus the clock bound). */
  readonly versionsValidUntil?: Date;
  /** Load in a transaction that is rolled back, and report what would change. */
  readonly dryRun?: boolean;
  readonly settings: LoadSettings;
  readonly logger: Logger;
}

export interface LockedLoadResult extends LoadResult {
  readonly syncRunId: number;
}

export async function loadUnderChainLock(input: LockedLoadInput): Promise<LockedLoadResult> {
  const tables = warehouseTables(input.schema);
  // A dedicated connection, destroyed at the end so that its session lock can never linger.
  const client = await input.warehouse.pool.connect();
  try {
    if (!(await tryLockChain(client, input.schema, input.chainId))) throw new ChainLockedError(input.chainId);
    const orphans = await failRunsOfDeadProcesses(client, tables, input.chainId);
    if (orphans.length) input.logger.warn('marked failed the unfinished runs of processes that died', { chain: input.chainId, syncRunIds: orphans });
    // A dry run makes its run row inside the transaction it rolls back: it leaves no trace.
    if (input.dryRun) await client.query('BEGIN');
    const syncRunId = await createRun(client, tables, { runId: randomUUID(), chainId: input.chainId, mode: input.mode, state: 'loading', source: input.sourceLabel });
    const logger = input.logger.child({ chain: input.chainId, syncRunId });
    try {
      const result = await loadWindow({
        client,
        tables,
        chainId: input.chainId,
        syncRunId,
        source: input.open(),
        stage: stageExport,
        ...(input.reopen ? { reopen: input.reopen } : {}),
        exportedAt: input.exportedAt,
        ...(input.versionsValidUntil ? { versionsValidUntil: input.versionsValidUntil } : {}),
        ...(input.dryRun ? { dryRun: true } : {}),
        settings: input.settings,
        logger,
      });
      return { ...result, syncRunId };
    } catch (error) {
      // The connection is gone: record the failure on a fresh one.
      if (!input.dryRun && error instanceof WindowLoadError && !error.recorded) await recordOnFreshConnection(input, tables, syncRunId, error);
      throw error;
    } finally {
      if (input.dryRun) await client.query('ROLLBACK').catch(() => {});
    }
  } finally {
    await releaseRunConnection(client);
  }
}

async function recordOnFreshConnection(input: LockedLoadInput, tables: WarehouseTables, syncRunId: number, error: WindowLoadError): Promise<void> {
  try {
    const fresh = await input.warehouse.pool.connect();
    try {
      await markFailed(fresh, tables, syncRunId, { code: error.code, message: error.message, rowsRead: error.stats.records, rejected: error.stats.rejected, bytes: error.stats.bytes });
      await insertRejects(fresh, tables, { chainId: input.chainId, syncRunId }, error.firstRejects);
    } finally {
      fresh.release();
    }
  } catch (recordError) {
    input.logger.warn('could not record the failed load', { error: recordError });
  }
}
