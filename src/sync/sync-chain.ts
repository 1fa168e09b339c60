/**
 * One command's work for one chain (DESIGN §2 "Runs and resume"): take the chain's lock on a
 * dedicated connection, check Spaaza's clock and the watermark against it, finish the unfinished
 * windows of the same mode first (their stored tasks, never created again), then plan and run new
 * windows strictly in order; the first failure stops the chain. One module knows all three
 * stages: extract (the export task), transform and load.
 */
import type { Pool, PoolClient } from 'pg';
import { SpaazaSyncError } from '../errors.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '../backoff.js';
import { codeOf, type ErrorCode, type OwnErrorCode } from '../error-table.js';
import type { SpaazaClockReading } from '../extract/server-clock.js';
import { describeOffset } from '../extract/spaaza-time.js';
import type { TasksClient } from '../extract/tasks-client.js';
import type { Logger } from '../log.js';
import { releaseRunConnection, tryLockChain } from '../warehouse/chain-lock.js';
import { abandonStaleRows, addWarning, createRun, failRunsOfDeadProcesses, markAbandoned, setMarker, unfinishedRows, windowsOfRuns, type RunRow } from '../warehouse/sync-runs.js';
import type { WarehouseTables } from '../warehouse/tables.js';
import { readWatermark } from '../warehouse/sync-state.js';
import { runWindow, WindowError, type ChainContext, type SyncSettings, type WindowJob, type WindowOutcome, type WindowProgress } from './export-window.js';
import type { Failpoints } from './failpoints.js';
import { isMarkerOf, taskMarker } from './task-marker.js';
import { backfillSteps, isoZ, planBackfill, planIncremental, type TimeWindow } from './windows.js';

export interface ChainRunSettings extends SyncSettings {
  readonly lookbackMs: number;
  readonly maxWindowDays: number;
  readonly backfillStartDate: Date | null;
  readonly resumeMaxAgeMs: number;
  readonly maxDeleteRatio: number;
  /** A full refresh must reconcile against an export at most this old (on Spaaza's clock). */
  readonly fullRefreshMaxAgeMs: number;
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
  /** The warehouse's identity (warehouse_identity.id): part of every task marker. */
  readonly warehouseId: string;
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
  readonly syncRunId: number;
  readonly start: Date | null;
  readonly end: Date;
  readonly taskId: number;
  readonly resumed: boolean;
  /** Spaaza's time of the export's snapshot. */
  readonly exportedAt: Date;
  readonly rowsRead: number;
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly rejected: number;
  readonly deleted: number;
  readonly deletionsRefused: boolean;
  /** A full refresh whose export could not be proven complete deleted nothing. */
  readonly deletionsSkipped: boolean;
  readonly seconds: number;
  readonly exportWaitSeconds: number;
}

export interface ChainOutcome {
  readonly chainId: number;
  readonly status: 'ok' | 'failed' | 'locked';
  readonly windows: readonly WindowReport[];
  readonly watermark: Date | null;
  readonly error?: { readonly code: ErrorCode; readonly message: string };
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
    const orphans = await failRunsOfDeadProcesses(db, input.tables, input.chainId);
    if (orphans.length) logger.warn('marked failed the unfinished load-file runs of processes that died', { syncRunIds: orphans });
    const stale = await abandonStaleRows(db, input.tables, input.chainId, input.settings.resumeMaxAgeMs);
    if (stale.length) logger.warn('abandoned unfinished windows too old to resume', { syncRunIds: stale });
    const run = new ChainRun(input, db, logger, windows);
    // Spaaza's clock first: one wrong reading must stop the run before anything moves.
    await spaazaNow(input.api);
    await run.assertWatermarkNotAhead(input.api.spaazaClock());
    if (input.command.mode === 'incremental') await run.incremental();
    else if (input.command.mode === 'backfill') await run.backfill(input.command);
    else await run.fullRefresh();

    const watermark = await readWatermark(db, input.tables, input.chainId, input.settings.stream);
    const failure = run.failure();
    return { chainId: input.chainId, status: failure ? 'failed' : 'ok', windows, watermark, ...(failure ? { error: failure } : {}) };
  } catch (error) {
    const code = codeOf(error, 'run_failed');
    const message = error instanceof Error ? error.message : String(error);
    logger.error('the chain failed; later windows were not run', { code, error: message });
    const watermark = await readWatermark(db, input.tables, input.chainId, input.settings.stream).catch(() => null);
    return { chainId: input.chainId, status: 'failed', windows, watermark, error: { code, message } };
  } finally {
    db.off('error', onError);
    await releaseRunConnection(db);
  }
}

/** The state of one chain's run: its connection, the windows it committed, and how each mode plans. */
class ChainRun {
  private readonly ctx: ChainContext;
  private readonly mode: ChainCommand['mode'];
  /** Why this run cannot claim success although no window failed (set by the full refresh). */
  private unreconciled: { code: OwnErrorCode; message: string } | null = null;
  /** A signal stopped the run before it did all it planned. */
  private cutShort = false;

  constructor(
    private readonly input: ChainRunInput,
    private readonly db: PoolClient,
    private readonly logger: Logger,
    private readonly windows: WindowReport[],
  ) {
    this.mode = input.command.mode;
    this.ctx = {
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
  }

  /** A watermark past Spaaza's clock was set by a wrong clock reading: every run would plan nothing. */
  async assertWatermarkNotAhead(clock: SpaazaClockReading): Promise<void> {
    const { tables, chainId, settings } = this.input;
    const { now, toleranceMs } = clock;
    const watermark = await readWatermark(this.db, tables, chainId, settings.stream);
    if (watermark === null || watermark.getTime() <= now.getTime() + toleranceMs) return;
    throw new SpaazaSyncError(
      'watermark_ahead',
      `The watermark of chain ${chainId} (${isoZ(watermark)}) is ${describeOffset(watermark.getTime(), now.getTime())} ${clock.source === 'spaaza' ? "Spaaza's clock" : "this machine's clock (Spaaza sent no readable Date header), beyond the clock bound"} (${isoZ(now)}): ` +
        'a wrong clock reading set it, and no window after it could ever be planned. Nothing was synced. ' +
        `Repair: spaaza-sync reset --chain ${chainId} --watermark <the last instant you trust> (spaaza-sync status shows the committed windows), then sync.`,
    );
  }

  async incremental(): Promise<void> {
    for (const row of await this.resumableRows()) await this.resume(row);
    const { settings, tables, chainId } = this.input;
    const watermark = await readWatermark(this.db, tables, chainId, settings.stream);
    const plan = planIncremental({ ...settings, watermark, now: await spaazaNow(this.input.api) });
    await this.runNew(plan.kind === 'unfiltered' ? [null] : plan.windows);
  }

  /** A rerun of an interrupted backfill exports only what that run has not committed yet. */
  async backfill(command: Extract<ChainCommand, { mode: 'backfill' }>): Promise<void> {
    const { settings, tables, chainId } = this.input;
    const resumable = (await this.resumableRows()).filter((row) => row.windowStart && row.windowEnd);
    const covered = await windowsOfRuns(this.db, tables, chainId, [...new Set(resumable.map((r) => r.runId))]);
    const planned = planBackfill({ from: command.from, to: command.to, now: await spaazaNow(this.input.api), settleMs: settings.settleMs, maxWindowDays: settings.maxWindowDays });
    const steps = backfillSteps(resumable.map((row) => ({ row, window: { start: row.windowStart!, end: row.windowEnd! } })), covered, planned);
    // Every window gets its row now, so an interrupted run leaves them all to be finished.
    const rows = new Map<TimeWindow, { syncRunId: number; marker: string }>();
    for (const step of steps) if (step.kind === 'plan') rows.set(step.window, await this.newRow(step.window));
    for (const step of steps) {
      if (this.stopping()) return;
      if (step.kind === 'resume') await this.resume(step.row.row);
      else await this.runRow(rows.get(step.window)!, step.window);
    }
  }

  /**
   * A full refresh that succeeds has reconciled the chain against an export no older than
   * fullRefreshMaxAge: a resumed export that is older (or could not be proven complete) is still
   * loaded, for its data, and then a fresh one is taken in the same run.
   */
  async fullRefresh(): Promise<void> {
    let reconciled = false;
    for (const row of await this.resumableRows()) {
      const outcome = await this.resume(row);
      if (outcome?.kind !== 'committed') continue;
      const report = this.windows.at(-1)!;
      const age = (await spaazaNow(this.input.api)).getTime() - report.exportedAt.getTime();
      if (report.deletionsRefused) return; // a fresh export would be refused just the same
      if (age > this.input.settings.fullRefreshMaxAgeMs) {
        const warning = `the resumed export's snapshot (${isoZ(report.exportedAt)}) is older than fullRefresh.maxAge; it was loaded, and a fresh export was taken in the same run`;
        this.logger.warn(warning, { syncRunId: row.syncRunId });
        await addWarning(this.db, this.input.tables, row.syncRunId, warning);
      } else if (!report.deletionsSkipped) {
        reconciled = true;
      }
    }
    if (!reconciled) await this.runNew([null]);
    const last = this.windows.at(-1);
    if (last && last.deletionsSkipped && !last.deletionsRefused) {
      this.unreconciled = {
        code: 'deletions_skipped_incomplete',
        message: 'the full export could not be proven complete (see sync_runs.warnings), so it was upserted but deleted nothing; the chain is not reconciled. Run full-refresh again; if it persists, look at the rejects of the run',
      };
    }
  }

  /** The outcome's error, if the run did not do what its command promises. */
  failure(): { code: OwnErrorCode; message: string } | null {
    if (this.windows.some((w) => w.deletionsRefused)) {
      return {
        code: 'deletions_refused',
        message: 'the full refresh would delete more than maxDeleteRatio of the live vouchers; upserts committed, nothing deleted (re-run with --allow-mass-delete if that is right)',
      };
    }
    if (this.cutShort) return { code: 'interrupted', message: 'the run was interrupted before it finished; the next run goes on from where it stopped' };
    if (this.mode === 'full-refresh' && this.windows.length === 0) return { code: 'not_reconciled', message: 'the full refresh committed no export' };
    return this.unreconciled;
  }

  /** Whether a signal asks the run to stop before its next window (remembered for the outcome). */
  private stopping(): boolean {
    if (this.input.signal.aborted) this.cutShort = true;
    return this.cutShort;
  }

  /** This chain's unfinished rows of the mode, oldest first; those too old to resume are abandoned. */
  private async resumableRows(): Promise<RunRow[]> {
    const { tables, chainId, settings, warehouseId } = this.input;
    const rows: RunRow[] = [];
    for (const row of await unfinishedRows(this.db, tables, chainId, this.mode)) {
      if (Date.now() - row.startedAt.getTime() > settings.resumeMaxAgeMs) {
        await markAbandoned(this.db, tables, row.syncRunId, 'too old to resume');
      } else if (row.taskId === null && row.taskMarker !== null && !isMarkerOf(row.taskMarker, warehouseId)) {
        // An older version's marker does not name this warehouse: a task found by it may not be ours.
        await markAbandoned(this.db, tables, row.syncRunId, 'its task marker does not name this warehouse, so no task can be proven to be its own');
      } else {
        rows.push(row);
      }
    }
    return rows;
  }

  /** Finishes a row an earlier run left, with its stored bounds and task; an abandoned backfill window is planned again. */
  private async resume(row: RunRow): Promise<WindowOutcome | null> {
    if (this.stopping()) return null;
    const marker = row.taskMarker ?? taskMarker(this.input.warehouseId, this.input.chainId, row.syncRunId, row.windowStart, row.windowEnd);
    const outcome = await this.runJob(jobForRow(row, this.input.command, marker, this.input.settings.maxDeleteRatio), true);
    if (outcome.kind === 'abandoned') {
      this.logger.warn('abandoned a stored export task; its window is planned again', { syncRunId: row.syncRunId, reason: outcome.reason });
      if (this.mode === 'backfill' && row.windowStart && row.windowEnd) await this.runNew([{ start: row.windowStart, end: row.windowEnd }]);
    }
    return outcome;
  }

  private async runNew(planned: readonly (TimeWindow | null)[]): Promise<void> {
    for (const window of planned) {
      if (this.stopping()) return; // shutting down: plan nothing more
      await this.runRow(await this.newRow(window), window);
    }
  }

  /** The window's run row, committed before its export task exists, with its marker. */
  private async newRow(window: TimeWindow | null): Promise<{ syncRunId: number; marker: string }> {
    const { tables, runId, chainId, warehouseId } = this.input;
    const syncRunId = await createRun(this.db, tables, { runId, chainId, mode: this.mode, state: 'planned', windowStart: window?.start ?? null, windowEnd: window?.end ?? null });
    const marker = taskMarker(warehouseId, chainId, syncRunId, window?.start ?? null, window?.end ?? null);
    await setMarker(this.db, tables, syncRunId, marker);
    return { syncRunId, marker };
  }

  /** A new window, run to its end: one given up at once (abandonAfterDeadlines 1) stops the chain, since no later window could move the watermark past it. */
  private async runRow(row: { syncRunId: number; marker: string }, window: TimeWindow | null): Promise<WindowOutcome> {
    const outcome = await this.runJob(jobFor(row.syncRunId, row.marker, window, null, this.input.command, this.input.settings.maxDeleteRatio), false);
    if (outcome.kind === 'abandoned') throw new WindowError('task_stuck', `A new export task was abandoned: ${outcome.reason}. The next run plans the window again.`, true);
    return outcome;
  }

  private async runJob(job: WindowJob, resumed: boolean): Promise<WindowOutcome> {
    const outcome = await runWindow({ ...this.ctx, logger: this.logger.child({ syncRunId: job.syncRunId }) }, job);
    if (outcome.kind === 'committed') this.windows.push(report(job.syncRunId, outcome, resumed));
    return outcome;
  }
}

/** Checks for a held lock back off to this: a run waiting an hour for a full refresh asks every few seconds. */
const LOCK_BACKOFF = { baseMs: 250, maxMs: 4_000, random: Math.random };

/** Takes the chain's lock, waiting up to `lockWaitMs` unless aborted. */
async function acquireChainLock(db: PoolClient, input: ChainRunInput): Promise<boolean> {
  const deadline = Date.now() + (input.lockWaitMs ?? 0);
  for (let attempt = 1; ; attempt++) {
    if (await tryLockChain(db, input.schema, input.chainId)) return true;
    const left = deadline - Date.now();
    if (left <= 0 || input.signal.aborted) return false;
    await sleep(Math.min(left, backoffDelay(attempt, LOCK_BACKOFF)), undefined, { signal: input.signal }).catch(() => {});
  }
}

function jobFor(syncRunId: number, marker: string, window: TimeWindow | null, taskId: number | null, command: ChainCommand, maxDeleteRatio: number): WindowJob {
  return {
    syncRunId,
    mode: command.mode,
    start: window?.start ?? null,
    end: window?.end ?? null,
    marker,
    taskId,
    resumed: false,
    rowCreatedAt: new Date(),
    advancesWatermark: true,
    ...(command.mode === 'full-refresh' ? { reconcile: { maxDeleteRatio, allowMassDelete: command.allowMassDelete } } : {}),
  };
}

function jobForRow(row: RunRow, command: ChainCommand, marker: string, maxDeleteRatio: number): WindowJob {
  const window = row.windowStart && row.windowEnd ? { start: row.windowStart, end: row.windowEnd } : null;
  const job = jobFor(row.syncRunId, marker, window, row.taskId, command, maxDeleteRatio);
  // An unfiltered row keeps its stored end (created_date − settle) once its task exists.
  return { ...job, resumed: true, rowCreatedAt: row.startedAt, ...(window === null ? { end: row.windowEnd } : {}) };
}

function report(syncRunId: number, outcome: Extract<WindowOutcome, { kind: 'committed' }>, resumed: boolean): WindowReport {
  const r = outcome.result;
  return {
    syncRunId,
    start: outcome.start,
    end: outcome.end,
    taskId: outcome.taskId,
    resumed,
    exportedAt: r.exportedAt,
    rowsRead: r.rowsRead,
    inserted: r.inserted,
    updated: r.updated,
    unchanged: r.unchanged,
    rejected: r.rejected,
    deleted: r.deletions?.deleted ?? 0,
    deletionsRefused: r.deletions?.refused ?? false,
    deletionsSkipped: r.deletions?.skippedBecause === 'incomplete',
    seconds: outcome.seconds,
    exportWaitSeconds: outcome.exportWaitSeconds,
  };
}

/** Spaaza's clock (validated against this host's), asking it with one cheap call before any answer. */
async function spaazaNow(api: TasksClient): Promise<Date> {
  if (api.serverNow() === null) await api.listTasks({ action: 'export', limit: 1, offset: 0 });
  return api.spaazaClock().now;
}
