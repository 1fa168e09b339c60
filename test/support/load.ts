/** Runs one window load the way the pipeline does: a dedicated connection and a run row. */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { DEFAULTS } from '../../src/defaults.js';
import { silentLogger } from '../../src/log.js';
import { loadWindow, type LoadHooks, type LoadPathSetting, type LoadResult } from '../../src/load/load-window.js';
import type { ReconcileOptions } from '../../src/load/reconcile-deletions.js';
import { createRun, type RunMode } from '../../src/warehouse/sync-runs.js';
import { warehouseTables } from '../../src/warehouse/tables.js';
import { stageExport } from '../../src/transform/stage-export.js';
import type { WatermarkAdvance } from '../../src/warehouse/sync-state.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { CHAIN } from './voucher-csv.js';

export interface LoadOptions {
  exportedAt?: Date;
  hooks?: LoadHooks;
  watermark?: WatermarkAdvance;
  window?: { start: Date | null; end: Date | null };
  maxRejectRatio?: number;
  mode?: RunMode;
  chainId?: number;
  /** Rows per merge batch (the load's default otherwise). */
  batchRows?: number;
  /** Load as a full refresh that soft-deletes what the export lacks. */
  reconcile?: ReconcileOptions;
  /** The load path (default: SPAAZA_LOAD_PATH of the test's environment, else auto), so a suite can run on either. */
  loadPath?: LoadPathSetting;
  /** Called when the load reads the export a second time. */
  onReopen?: () => void;
  /** Receives the load connection's backend pid before loading. */
  onPid?: (pid: number) => void;
}

export async function loadCsv(warehouse: Warehouse, schema: string, csv: string | Buffer, options: LoadOptions = {}): Promise<LoadResult & { syncRunId: number }> {
  const tables = warehouseTables(schema);
  const client = await warehouse.pool.connect();
  try {
    const chainId = options.chainId ?? CHAIN;
    const syncRunId = await createRun(client, tables, { runId: randomUUID(), chainId, mode: options.mode ?? 'file', state: 'loading' });
    options.onPid?.((client as unknown as { processID: number }).processID);
    const result = await loadWindow({
      client,
      tables,
      chainId,
      syncRunId,
      source: Readable.from([typeof csv === 'string' ? Buffer.from(csv) : csv]),
      stage: stageExport,
      reopen: () => {
        options.onReopen?.();
        return Readable.from([typeof csv === 'string' ? Buffer.from(csv) : csv]);
      },
      exportedAt: options.exportedAt ?? new Date('2026-05-26T12:00:00Z'),
      ...(options.window ? { window: options.window } : {}),
      ...(options.watermark ? { watermark: options.watermark } : {}),
      settings: {
        maxRejectRatio: options.maxRejectRatio ?? DEFAULTS.maxRejectRatio,
        noExpiryFrom: DEFAULTS.noExpiryFrom,
        ...(options.batchRows ? { mergeBatchRows: options.batchRows } : {}),
        loadPath: options.loadPath ?? testLoadPath(),
      },
      logger: silentLogger,
      ...(options.hooks ? { hooks: options.hooks } : {}),
      ...(options.reconcile ? { reconcile: options.reconcile } : {}),
    });
    return { ...result, syncRunId };
  } finally {
    client.release(true);
  }
}

/** SPAAZA_LOAD_PATH of the test run: CI runs the suite once on each path. */
export function testLoadPath(): LoadPathSetting {
  return process.env.SPAAZA_LOAD_PATH === 'reference' ? 'reference' : 'auto';
}
