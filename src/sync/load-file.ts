/**
 * `load-file`: a voucher CSV downloaded by hand, loaded as one window of mode `file` under the
 * chain's lock. It never moves the watermark: a file says nothing about which dates it covers.
 * Its rows' version is the export time the operator gives: never the file's modification time,
 * which copying can change, since a wrong version can revert newer rows or freeze them for good.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { ChainLockedError } from '../errors.js';
import { releaseRunConnection, tryLockChain } from '../warehouse/chain-lock.js';
import { insertRejects, loadWindow, WindowLoadError, type LoadResult, type LoadSettings } from '../load/load-window.js';
import { createRun, failRunsOfDeadProcesses, markFailed } from '../warehouse/sync-runs.js';
import { warehouseTables } from '../warehouse/tables.js';
import type { Logger } from '../log.js';
import { stageExport } from '../transform/stage-export.js';
import type { Warehouse } from '../warehouse/warehouse.js';

export interface LoadFileInput {
  readonly warehouse: Warehouse;
  readonly schema: string;
  readonly chainId: number;
  /** A path, or '-' for standard input. */
  readonly file: string;
  /** Spaaza's time of the export (the task's last_run_date): every row's version. */
  readonly exportedAt: Date;
  /** Stored versions after this are wrong (default: this host's clock plus the clock bound). */
  readonly versionsValidUntil?: Date;
  /** Load in a transaction that is rolled back, and report what would change. */
  readonly dryRun?: boolean;
  /** The sync's, from the configuration (defaults where absent). */
  readonly settings: LoadSettings;
  readonly logger: Logger;
  readonly stdin?: Readable;
}

export interface LoadFileResult extends LoadResult {
  readonly syncRunId: number;
}

export async function loadFile(input: LoadFileInput): Promise<LoadFileResult> {
  const tables = warehouseTables(input.schema);
  const fromStdin = input.file === '-';
  const { exportedAt } = input;

  // A dedicated connection, destroyed at the end so that its session lock can never linger.
  const client = await input.warehouse.pool.connect();
  // Opened only once the connection exists, so a failed connect leaks no file handle.
  const opened: Readable[] = [fromStdin ? (input.stdin ?? process.stdin) : readFile(input.file)];
  const source = opened[0]!;
  try {
    if (!(await tryLockChain(client, input.schema, input.chainId))) throw new ChainLockedError(input.chainId);
    const orphans = await failRunsOfDeadProcesses(client, tables, input.chainId);
    if (orphans.length) input.logger.warn('marked failed the unfinished load-file runs of processes that died', { chain: input.chainId, syncRunIds: orphans });
    // A dry run makes its run row inside the transaction it rolls back: it leaves no trace.
    if (input.dryRun) await client.query('BEGIN');
    const syncRunId = await createRun(client, tables, {
      runId: randomUUID(),
      chainId: input.chainId,
      mode: 'file',
      state: 'loading',
      source: fromStdin ? 'stdin' : path.basename(input.file),
    });
    const logger = input.logger.child({ chain: input.chainId, syncRunId });
    try {
      const result = await loadWindow({
        client,
        tables,
        chainId: input.chainId,
        syncRunId,
        source,
        stage: stageExport,
        // Standard input cannot be read twice; a file can.
        ...(fromStdin ? {} : { reopen: () => opened[opened.push(readFile(input.file)) - 1]! }),
        exportedAt,
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
    if (!fromStdin) for (const stream of opened) stream.destroy();
    await releaseRunConnection(client);
  }
}

async function recordOnFreshConnection(input: LoadFileInput, tables: ReturnType<typeof warehouseTables>, syncRunId: number, error: WindowLoadError): Promise<void> {
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

/**
 * The file as a stream whose open error (gone, unreadable) waits for the reader: an 'error'
 * emitted before the load reads it would otherwise be unhandled and kill the process.
 */
function readFile(file: string): Readable {
  const stream = createReadStream(file);
  stream.on('error', () => {}); // the reader gets the same error from the destroyed stream
  return stream;
}
