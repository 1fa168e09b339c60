/**
 * The refresh of the vouchers dashboards care about most: those expiring within
 * `schedule.openRefreshExpiringWithin` or created within `schedule.openRefreshCreatedWithin` (one
 * export per chain, `join: any`, bounds on Spaaza's clock). Claims, locks and expiry edits change
 * no date an incremental window selects on, so without it they reach the warehouse only with the
 * nightly full refresh. It upserts with the sync's rules, never deletes and never moves a
 * watermark; each chain's load is a run of mode `open-refresh` under the chain's lock, skipped
 * when another run holds it.
 */
import type { SyncConfig } from '../config/index.js';
import { codeOf, type ErrorCode } from '../error-table.js';
import { ChainLockedError } from '../errors.js';
import type { Logger } from '../log.js';
import { migrateToLatest } from '../warehouse/migrate.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { tasksClientFor } from './chain-client.js';
import { exportSettingsOf, loadExportFile, planExport, runExport, unprovenWarning } from './filtered-export.js';
import type { LockedLoadResult } from './locked-load.js';
import { mapLimited } from './run-sync.js';

export interface OpenRefreshOutcome {
  readonly chainId: number;
  readonly status: 'ok' | 'failed' | 'locked';
  readonly taskId?: number;
  readonly result?: Pick<LockedLoadResult, 'syncRunId' | 'rowsRead' | 'inserted' | 'updated' | 'unchanged' | 'rejected'>;
  readonly seconds?: number;
  readonly error?: { readonly code: ErrorCode; readonly message: string };
}

export async function refreshOpenVouchers(
  config: SyncConfig,
  deps: { warehouse: Warehouse; logger: Logger; signal: AbortSignal; chainId?: number },
): Promise<OpenRefreshOutcome[]> {
  await migrateToLatest(deps.warehouse.db, config.schema);
  const chains = config.spaaza.chains.filter((c) => deps.chainId === undefined || c.id === deps.chainId);
  return mapLimited(chains, config.schedule.parallelChains, (chain) => refreshChain(config, chain, deps));
}

async function refreshChain(
  config: SyncConfig,
  chain: SyncConfig['spaaza']['chains'][number],
  deps: { warehouse: Warehouse; logger: Logger; signal: AbortSignal },
): Promise<OpenRefreshOutcome> {
  const logger = deps.logger.child({ chain: chain.id, mode: 'open-refresh' });
  const api = tasksClientFor(config, chain, logger);
  const started = performance.now();
  try {
    const plan = await planExport(api, chain.id, {
      expiringWithinMs: config.schedule.openRefreshExpiringWithinMs,
      createdWithinMs: config.schedule.openRefreshCreatedWithinMs,
      join: 'any',
    });
    const done = await runExport({ api, settings: exportSettingsOf(config), logger, signal: deps.signal }, plan, async (file, exportedAt, task) => {
      const result = await loadExportFile({ warehouse: deps.warehouse, config, chainId: chain.id, mode: 'open-refresh', api, logger }, file, exportedAt, task);
      const warning = unprovenWarning(file);
      if (warning) logger.warn(warning, { taskId: task.id });
      return result;
    });
    const { syncRunId, rowsRead, inserted, updated, unchanged, rejected } = done.result;
    logger.info('open vouchers refreshed', { taskId: done.task.id, syncRunId, rowsRead, inserted, updated, unchanged, rejected });
    return { chainId: chain.id, status: 'ok', taskId: done.task.id, result: { syncRunId, rowsRead, inserted, updated, unchanged, rejected }, seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    if (error instanceof ChainLockedError) {
      logger.info('another run holds this chain; the open refresh skipped it');
      return { chainId: chain.id, status: 'locked' };
    }
    const message = error instanceof Error ? error.message : String(error);
    logger.error('the open refresh of the chain failed', { error: message });
    return { chainId: chain.id, status: 'failed', error: { code: codeOf(error, 'run_failed'), message } };
  } finally {
    await api.close();
  }
}
