/**
 * One command's work for one chain (DESIGN §2 "Runs and resume"): take the chain's lock on a
 * dedicated connection, finish the unfinished windows of the same mode first (their stored tasks,
 * never created again), then plan and run new windows strictly in order; the first failure stops
 * the chain. One module knows all three stages: extract (the export task), transform and load.
 */
import type { Pool, PoolClient } from 'pg';
import type { TasksClient } from '../extract/tasks-client.js';
import type { Logger } from '../log.js';
import { tryLockChain } from '../load/chain-lock.js';
import { createRun } from '../load/run-history.js';
import type { WarehouseTables } from '../load/tables.js';
import { readWatermark } from '../load/watermark.js';
import { runWindow, type ChainContext, type SyncSettings, type WindowJob, type WindowOutcome, type WindowProgress } from './export-window.js';
import type { Failpoints } from './failpoints.js';
import { markAbandoned, setMarker, taskMarker, unfinishedRows, type RunRow } from './run-rows.js';
import { planBackfill, planIncremental, type TimeWindow } from './windows.js';

export interface ChainRunSettings extends SyncSettings {
  readonly lookbackMs: number;
  readonly maxWindowDays: number;
  readonly backfillStartDate: Date | null;
  readonly resumeMaxAgeMs: number;
  readonly maxDeleteRatio: number;
}

export type ChainCommand =
  | { readonly mode: 'incremental' }
  | { readonly mode: 'backfill'; readonly from: Date; readonly to: Date | null }
  | { readonly mode: 'full-refresh'; readonly allowMassDelete: boolean };

export interface ChainRunInput {
  readonly chainId: number;
  readonly command: ChainCommand;
  readonly runId: string;
  readonly pool: Pool;
  readonly schema: string;
  readonly tables: WarehouseTables;
  readonly api: TasksClient;
  readonly settings: ChainRunSettings;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly failpoint: Failpoints;
  readonly progress?: (update: WindowProgress) => void;
  /** Wait this long for a chain held by another run before skipping it (default: do not wait). */
  readonly lockWaitMs?: number;
}

export interface WindowReport {
  readonly rowId: number;
  readonly start: Date | null;
  readonly end: Date;
  readonly taskId: number;
  readonly resumed: boolean;
  readonly rowsRead: number;
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly rejected: number;
  readonly deleted: number;
  readonly deletionsRefused: boolean;
  readonly seconds: number;
  readonly exportWaitSeconds: number;
}

export interface ChainOutcome {
  readonly chainId: number;
  readonly status: 'ok' | 'failed' | 'locked';
  readonly windows: readonly WindowReport[];
  readonly watermark: Date | null;
  readonly error?: { readonly code: string; readonly message: string };
}

export async function syncChain(input: ChainRunInput): Promise<ChainOutcome> {
  const logger = input.logger.child({ chain: input.chainId, mode: input.command.mode });
  const windows: WindowReport[] = [];
  let db: PoolClient;
  try {
    db = await input.pool.connect();
  } catch (error) {
    logger.error('cannot reach the warehouse', { error: (error as Error).message });
    return { chainId: input.chainId, status: 'failed', windows, watermark: null, error: { code: 'warehouse_unreachable', message: (error as Error).message } };
  }
  const onError = (error: Error) => logger.warn('the run connection failed', { error: error.message });
  db.on('error', onError);
  try {
    // A host that vanishes must not hold the chain's lock until the kernel's default keepalive (2 h).
    await db.query('SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; SET tcp_keepalives_count = 3');
    if (!(await acquireChainLock(db, input))) {
      logger.warn('another run holds this chain; skipped');
      return { chainId: input.chainId, status: 'locked', windows, watermark: null };
    }
    const ctx: ChainContext = {
      chainId: input.chainId,
      api: input.api,
      db,
      tables: input.tables,
      settings: input.settings,
      logger,
      signal: input.signal,
      failpoint: input.failpoint,
      ...(input.progress ? { progress: input.progress } : {}),
    };
    const mode = input.command.mode;
    const run = async (job: WindowJob, resumed: boolean): Promise<WindowOutcome> => {
      const outcome = await runWindow({ ...ctx, logger: logger.child({ syncRunId: job.rowId }) }, job);
      if (outcome.kind === 'committed') windows.push(report(job.rowId, outcome, resumed));
      return outcome;
    };

    // 1. Finish what an earlier run left, oldest first, with its stored bounds and task.
    let resumedFullRefresh = false;
    for (const row of await unfinishedRows(db, input.tables, input.chainId, mode)) {
      if (input.signal.aborted) break;
      if (Date.now() - row.startedAt.getTime() > input.settings.resumeMaxAgeMs) {
        await markAbandoned(db, input.tables, row.id, 'too old to resume');
        continue;
      }
      const marker = row.taskMarker ?? taskMarker(input.chainId, row.id, row.windowStart, row.windowEnd);
      const outcome = await run(jobForRow(row, input.command, marker, input.settings.maxDeleteRatio), true);
      if (outcome.kind === 'abandoned') {
        logger.warn('abandoned a stored export task; its window is planned again', { syncRunId: row.id, reason: outcome.reason });
        if (mode === 'backfill' && row.windowStart && row.windowEnd) await runNew([{ start: row.windowStart, end: row.windowEnd }]);
      } else if (mode === 'full-refresh') {
        resumedFullRefresh = true;
      }
    }

    // 2. Plan new windows.
    async function runNew(planned: readonly (TimeWindow | null)[]): Promise<void> {
      for (const window of planned) {
        if (input.signal.aborted) return; // shutting down: plan nothing more
        const rowId = await createRun(db, input.tables, {
          runId: input.runId,
          chainId: input.chainId,
          mode,
          state: 'planned',
          windowStart: window?.start ?? null,
          windowEnd: window?.end ?? null,
        });
        const marker = taskMarker(input.chainId, rowId, window?.start ?? null, window?.end ?? null);
        await setMarker(db, input.tables, rowId, marker);
        await run(jobFor(rowId, marker, window, null, input.command, input.settings.maxDeleteRatio), false);
      }
    }

    const now = input.api.serverNow() ?? (await probeServerNow(input.api));
    if (input.command.mode === 'incremental') {
      const watermark = await readWatermark(db, input.tables, input.chainId, input.settings.stream);
      const plan = planIncremental({ ...input.settings, watermark, now });
      await runNew(plan.kind === 'unfiltered' ? [null] : plan.windows);
    } else if (input.command.mode === 'backfill') {
      await runNew(planBackfill({ from: input.command.from, to: input.command.to, now, settleMs: input.settings.settleMs, maxWindowDays: input.settings.maxWindowDays }));
    } else if (!resumedFullRefresh) {
      await runNew([null]);
    }

    const watermark = await readWatermark(db, input.tables, input.chainId, input.settings.stream);
    const refused = windows.some((w) => w.deletionsRefused);
    return {
      chainId: input.chainId,
      status: refused ? 'failed' : 'ok',
      windows,
      watermark,
      ...(refused ? { error: { code: 'deletions_refused', message: 'the full refresh would delete more than maxDeleteRatio of the live vouchers; upserts committed, nothing deleted (re-run with --allow-mass-delete if that is right)' } } : {}),
    };
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'run_failed';
    const message = error instanceof Error ? error.message : String(error);
    logger.error('the chain failed; later windows were not run', { code, error: message });
    const watermark = await readWatermark(db, input.tables, input.chainId, input.settings.stream).catch(() => null);
    return { chainId: input.chainId, status: 'failed', windows, watermark, error: { code, message } };
  } finally {
    db.off('error', onError);
    db.release(true); // destroys the connection, and with it the session's lock
  }
}

/** Takes the chain's lock, waiting up to `lockWaitMs` (checking every 2 s) unless aborted. */
async function acquireChainLock(db: PoolClient, input: ChainRunInput): Promise<boolean> {
  const deadline = Date.now() + (input.lockWaitMs ?? 0);
  for (;;) {
    if (await tryLockChain(db, input.schema, input.chainId)) return true;
    if (Date.now() >= deadline || input.signal.aborted) return false;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

function jobFor(rowId: number, marker: string, window: TimeWindow | null, taskId: number | null, command: ChainCommand, maxDeleteRatio: number): WindowJob {
  return {
    rowId,
    mode: command.mode,
    start: window?.start ?? null,
    end: window?.end ?? null,
    marker,
    taskId,
    resumed: false,
    advancesWatermark: true,
    ...(command.mode === 'full-refresh' ? { reconcile: { maxDeleteRatio, allowMassDelete: command.allowMassDelete } } : {}),
  };
}

function jobForRow(row: RunRow, command: ChainCommand, marker: string, maxDeleteRatio: number): WindowJob {
  const window = row.windowStart && row.windowEnd ? { start: row.windowStart, end: row.windowEnd } : null;
  const job = jobFor(row.id, marker, window, row.taskId, command, maxDeleteRatio);
  // An unfiltered row keeps its stored end (created_date − settle) once its task exists.
  return { ...job, resumed: true, ...(window === null ? { end: row.windowEnd } : {}) };
}

function report(rowId: number, outcome: Extract<WindowOutcome, { kind: 'committed' }>, resumed: boolean): WindowReport {
  const r = outcome.result;
  return {
    rowId,
    start: outcome.start,
    end: outcome.end,
    taskId: outcome.taskId,
    resumed,
    rowsRead: r.rowsRead,
    inserted: r.inserted,
    updated: r.updated,
    unchanged: r.unchanged,
    rejected: r.rejected,
    deleted: r.deletions?.deleted ?? 0,
    deletionsRefused: r.deletions?.refused ?? false,
    seconds: outcome.seconds,
    exportWaitSeconds: outcome.exportWaitSeconds,
  };
}

/** Spaaza's clock before any call was made: one cheap authenticated request. */
async function probeServerNow(api: TasksClient): Promise<Date> {
  await api.listTasks({ action: 'export', limit: 1, offset: 0 });
  return api.serverNow() ?? new Date();
}
