/**
 * The schedule daemon (`spaaza-sync schedule`): incremental syncs and full refreshes on cron
 * schedules, safe with replicas. Each tick is elected once across all replicas through the
 * warehouse (PgRunCoordinator); within a process node-cron prevents overlaps; across processes
 * the per-chain lock does. Stopping aborts polling and downloads, rolls back the window in
 * flight (its task stays stored for the next run) and waits for runs to end, within a bound.
 */
import cron, { type ScheduledTask } from 'node-cron';
import type { SyncConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import { refreshOpenVouchers, type OpenRefreshOutcome } from '../sync/open-refresh.js';
import { runSync, type SyncReport } from '../sync/run-sync.js';
import type { ChainCommand } from '../sync/sync-chain.js';
import { migrateToLatest } from '../warehouse/migrate.js';
import { lastCommittedAt } from '../warehouse/sync-runs.js';
import { warehouseTables } from '../warehouse/tables.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import type { SyncMetrics } from './metrics.js';
import { PgRunCoordinator } from './pg-run-coordinator.js';
import { isWarehouseUnavailable } from '../failure-table.js';
import { backoffDelay } from '../backoff.js';
import { setTimeout as sleep } from 'node:timers/promises';

export interface DaemonOptions {
  readonly config: SyncConfig;
  readonly warehouse: Warehouse;
  readonly logger: Logger;
  readonly metrics?: SyncMetrics;
  /** Who this replica is, in the lease table. */
  readonly holder: string;
}

type Schedule = 'incremental' | 'full-refresh' | 'open-refresh';

export class SyncDaemon {
  private readonly tasks: ScheduledTask[] = [];
  private readonly controller = new AbortController();
  private readonly inFlight = new Set<Promise<unknown>>();
  private running = false;

  constructor(private readonly options: DaemonOptions) {}

  get isRunning(): boolean {
    return this.running;
  }

  async start(): Promise<void> {
    const { config, warehouse, logger } = this.options;
    await this.withDatabaseRetry('migrate', () => migrateToLatest(warehouse.db, config.schema));
    const coordinator = new PgRunCoordinator(warehouse.pool, config.schema, this.options.holder, logger);
    const schedules: [Schedule, string][] = [
      ['incremental', config.schedule.incrementalCron],
      ['full-refresh', config.schedule.fullRefreshCron],
      ...(config.schedule.openRefreshCron ? [['open-refresh', config.schedule.openRefreshCron] as [Schedule, string]] : []),
    ];
    for (const [name, expression] of schedules) {
      const task = cron.schedule(expression, () => this.tick(name), {
        name: `spaaza-sync:${config.schema}:${name}`,
        timezone: config.schedule.timezone,
        noOverlap: true,
        distributed: true,
        runCoordinator: coordinator,
        distributedLease: intervalMs(expression, config.schedule.timezone),
      });
      task.on('execution:skipped', (context) => logger.debug('tick skipped', { schedule: name, reason: context.reason }));
      this.tasks.push(task);
    }
    this.running = true;
    logger.info('schedule started', {
      holder: this.options.holder,
      incremental: config.schedule.incrementalCron,
      fullRefresh: config.schedule.fullRefreshCron,
      openRefresh: config.schedule.openRefreshCron ?? 'off',
      timezone: config.schedule.timezone,
      parallelChains: config.schedule.parallelChains,
    });
    // A process that was down for longer than one interval catches up at once.
    if (await this.incrementalIsOverdue()) {
      logger.info('the last successful incremental sync is older than one interval: running one now');
      void this.tick('incremental');
    }
  }

  /**
   * Stops scheduling, aborts the runs in flight (their windows roll back and keep their tasks)
   * and waits for them, at most `timeoutMs`. Returns false when runs were still going then.
   */
  async stop(timeoutMs: number): Promise<boolean> {
    this.running = false;
    for (const task of this.tasks) await task.stop();
    this.controller.abort(new Error('the schedule is shutting down'));
    const settled = Promise.allSettled([...this.inFlight]).then(() => true);
    const timedOut = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
    const done = await Promise.race([settled, timedOut]);
    for (const task of this.tasks) await task.destroy();
    return done;
  }

  /** One scheduled run: every chain, at most `parallelChains` at a time. */
  async tick(schedule: Schedule): Promise<SyncReport | OpenRefreshOutcome[] | null> {
    if (this.controller.signal.aborted) return null;
    const command: ChainCommand = schedule === 'incremental' ? { mode: 'incremental' } : { mode: 'full-refresh', allowMassDelete: false };
    const run = schedule === 'open-refresh' ? this.refreshOpen() : this.runOnce(command);
    this.inFlight.add(run);
    try {
      return await run;
    } finally {
      this.inFlight.delete(run);
    }
  }

  private async runOnce(command: ChainCommand): Promise<SyncReport | null> {
    const { config, warehouse, logger, metrics } = this.options;
    try {
      const report = await this.withDatabaseRetry(command.mode, () =>
        // A full refresh waits for chains an incremental run holds (both fire at 03:00 by default).
        runSync(config, { command, ...(command.mode === 'full-refresh' ? { lockWaitMs: 60 * 60_000 } : {}) }, {
          warehouse,
          logger,
          signal: this.controller.signal,
          ...(metrics ? { onHttpRetry: (info) => metrics.httpRetry(info) } : {}),
        }),
      );
      for (const outcome of report.outcomes) {
        metrics?.runFinished({ chainId: outcome.chainId, mode: command.mode, status: outcome.status });
        for (const w of outcome.windows) metrics?.windowCommitted({ chainId: outcome.chainId, mode: command.mode, ...w });
        if (outcome.status === 'ok') metrics?.lastSuccess(outcome.chainId, new Date());
      }
      logger.info('scheduled run finished', {
        mode: command.mode,
        outcomes: report.outcomes.map((o) => ({ chain: o.chainId, status: o.status, windows: o.windows.length, error: o.error?.code })),
      });
      return report;
    } catch (error) {
      logger.error('scheduled run failed; the next tick tries again', { mode: command.mode, error: (error as Error).message });
      for (const chain of config.spaaza.chains) metrics?.runFinished({ chainId: chain.id, mode: command.mode, status: 'failed' });
      return null;
    }
  }

  /** The refresh of open vouchers: every chain, counted in the metrics like the other runs. */
  private async refreshOpen(): Promise<OpenRefreshOutcome[] | null> {
    const { config, warehouse, logger, metrics } = this.options;
    try {
      const outcomes = await this.withDatabaseRetry('open-refresh', () => refreshOpenVouchers(config, { warehouse, logger, signal: this.controller.signal }));
      for (const o of outcomes) {
        metrics?.runFinished({ chainId: o.chainId, mode: 'open-refresh', status: o.status });
        if (o.result && o.seconds !== undefined) {
          metrics?.windowCommitted({ chainId: o.chainId, mode: 'open-refresh', seconds: o.seconds, exportWaitSeconds: 0, rowsRead: o.result.rowsRead, inserted: o.result.inserted, updated: o.result.updated, unchanged: o.result.unchanged, rejected: o.result.rejected, deleted: 0 });
        }
      }
      return outcomes;
    } catch (error) {
      logger.error('the scheduled open refresh failed; the next tick tries again', { error: (error as Error).message });
      return null;
    }
  }

  /** Retries work that failed because the database was unreachable (7 waits of the one backoff: about 31 s in all on average, 61 s at most), unless stopping. */
  private async withDatabaseRetry<T>(what: string, work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        if (!isWarehouseUnavailable(error) || attempt >= 8 || this.controller.signal.aborted) throw error;
        const delay = backoffDelay(attempt);
        this.options.logger.warn('the warehouse is unreachable; retrying', { what, attempt, delayMs: delay, error: (error as Error).message });
        await sleep(delay, undefined, { signal: this.controller.signal }).catch(() => {});
      }
    }
  }

  private async incrementalIsOverdue(): Promise<boolean> {
    const { config, warehouse } = this.options;
    const last = await lastCommittedAt(warehouse.pool, warehouseTables(config.schema), 'incremental');
    return !last || Date.now() - last.getTime() > intervalMs(config.schedule.incrementalCron, config.schedule.timezone);
  }
}

/** The time between two fires of a cron expression (its next two runs). */
export function intervalMs(expression: string, timezone: string): number {
  const probe = cron.createTask(expression, () => {}, { timezone });
  try {
    const [a, b] = probe.getNextRuns(2);
    return a && b ? b.getTime() - a.getTime() : 60_000;
  } finally {
    void probe.destroy();
  }
}

