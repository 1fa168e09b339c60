/**
 * `sync`, `backfill` and `full-refresh` for every configured chain (or one): migrate, then run
 * each chain under its own lock with its own Tasks API client, and sum the outcomes into an exit
 * code: 1 when any chain failed, else 3 when any was skipped because of its lock, else 0.
 */
import { randomUUID } from 'node:crypto';
import type { SyncConfig } from '../config/index.js';
import { ConfigError } from '../errors.js';
import type { RetryInfo } from '../extract/tasks-client.js';
import type { Logger } from '../log.js';
import { VOUCHERS_STREAM } from '../warehouse/sync-state.js';
import { warehouseTables } from '../warehouse/tables.js';
import { readWarehouseId } from '../warehouse/warehouse-identity.js';
import { migrateToLatest } from '../warehouse/migrate.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { tasksClientFor } from './chain-client.js';
import { failpoints } from './failpoints.js';
import type { WindowProgress } from './export-window.js';
import { syncChain, type ChainCommand, type ChainOutcome, type ChainRunSettings } from './sync-chain.js';

export interface SyncRequest {
  readonly command: ChainCommand;
  /** Only this chain; it must be configured. */
  readonly chainId?: number;
  /** Overrides sync.maxRejectRatio for this run. */
  readonly maxRejectRatio?: number;
  /** Wait this long for chains another run holds (the daemon's full refresh must not be skipped). */
  readonly lockWaitMs?: number;
}

export interface SyncReport {
  readonly runId: string;
  readonly outcomes: readonly ChainOutcome[];
  readonly exitCode: 0 | 1 | 3;
}

export async function runSync(
  config: SyncConfig,
  request: SyncRequest,
  deps: {
    warehouse: Warehouse;
    logger: Logger;
    signal: AbortSignal;
    progress?: (update: WindowProgress) => void;
    onHttpRetry?: (info: RetryInfo) => void;
  },
): Promise<SyncReport> {
  const chains = config.spaaza.chains.filter((c) => request.chainId === undefined || c.id === request.chainId);
  if (chains.length === 0) {
    throw new ConfigError(`Chain ${request.chainId} is not configured.`, [
      `--chain: configured chains are ${config.spaaza.chains.map((c) => c.id).join(', ')}; add it to spaaza.chains or SPAAZA_CHAIN_IDS`,
    ]);
  }
  await migrateToLatest(deps.warehouse.db, config.schema);
  const runId = randomUUID();
  const settings = chainSettings(config, request);
  const tables = warehouseTables(config.schema);
  const warehouseId = await readWarehouseId(deps.warehouse.pool, tables);

  const runChain = async (chain: SyncConfig['spaaza']['chains'][number]): Promise<ChainOutcome> => {
    const logger = deps.logger.child({ runId, chain: chain.id });
    const api = tasksClientFor(config, chain, logger, deps.onHttpRetry ? { onRetry: deps.onHttpRetry } : {});
    try {
      return await syncChain({
        chainId: chain.id,
        command: request.command,
        runId,
        pool: deps.warehouse.pool,
        schema: config.schema,
        tables,
        warehouseId,
        api,
        settings,
        logger,
        signal: deps.signal,
        failpoint: failpoints(config.failpoint),
        ...(request.lockWaitMs ? { lockWaitMs: request.lockWaitMs } : {}),
        ...(deps.progress ? { progress: deps.progress } : {}),
      });
    } finally {
      await api.close();
    }
  };

  const outcomes = await mapLimited(chains, config.schedule.parallelChains, runChain);
  const exitCode = outcomes.some((o) => o.status === 'failed') ? 1 : outcomes.some((o) => o.status === 'locked') ? 3 : 0;
  return { runId, outcomes, exitCode };
}

function chainSettings(config: SyncConfig, request: SyncRequest): ChainRunSettings {
  return {
    ...config.sync,
    ...config.extract,
    maxRejectRatio: request.maxRejectRatio ?? config.sync.maxRejectRatio,
    maxDeleteRatio: config.fullRefresh.maxDeleteRatio,
    fullRefreshMaxAgeMs: config.fullRefresh.maxAgeMs,
    stream: VOUCHERS_STREAM,
  };
}

/** Runs `work` over `items`, at most `limit` at a time, keeping the input order in the result. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
