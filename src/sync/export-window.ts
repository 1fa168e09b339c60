/**
 * One window from export task to COMMIT (DESIGN §2), where the three stages meet: create the
 * task (or adopt it) and store its id before anything else, execute it once, wait for it
 * (extract/export-task.ts), then download it from a fresh URL and stream the body through the
 * transform's staging into the load. A broken download is retried with a new URL; the load
 * commits the data, the run row and the watermark together or not at all.
 */
import type { ClientBase } from 'pg';
import { SpaazaSyncError } from '../errors.js';
import { codeOf, isRetryable, type ErrorCode } from '../error-table.js';
import { ExtractError } from '../extract/errors.js';
import { dateWindowSegment, exportRequest, openExport, waitForTask } from '../extract/export-task.js';
import { redactText, redactUrl } from '../extract/redact.js';
import { plausibleTaskTimes, type TaskTimeBounds } from '../extract/spaaza-time.js';
import type { Task } from '../extract/task-schemas.js';
import type { TasksClient } from '../extract/tasks-client.js';
import type { Logger } from '../log.js';
import { loadWindow, WindowLoadError, type LoadResult, type LoadSettings } from '../load/load-window.js';
import type { ReconcileOptions } from '../load/reconcile-deletions.js';
import { countPollDeadline, markAbandoned, markFailed, setDownloading, setRunState, setTask, type RunMode } from '../warehouse/sync-runs.js';
import type { WarehouseTables } from '../warehouse/tables.js';
import { stageExport } from '../transform/stage-export.js';
import type { Failpoints } from './failpoints.js';
import { isoZ } from './windows.js';

/** The sync.* and extract.* settings of a run: the load's, and how tasks are made and waited for. */
export interface SyncSettings extends Required<LoadSettings> {
  readonly settleMs: number;
  /** Spaaza's times further than this from this host's clock (or its own) are refused. */
  readonly maxClockSkewMs: number;
  readonly dateFields: readonly string[];
  readonly pollInitialMs: number;
  readonly pollMaxIntervalMs: number;
  readonly pollDeadlineMs: number;
  /** A task that outlives this many poll deadlines is stuck: abandoned, its window planned again. */
  readonly abandonAfterDeadlines: number;
  readonly downloadAttempts: number;
  readonly stream: string;
}

export interface ChainContext {
  readonly chainId: number;
  readonly api: TasksClient;
  /** The run's dedicated connection, holding the chain's lock. */
  readonly db: ClientBase;
  readonly tables: WarehouseTables;
  readonly settings: SyncSettings;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly failpoint: Failpoints;
  /** Live progress of the window in flight (for a terminal's progress line). */
  readonly progress?: (update: WindowProgress) => void;
}

export interface WindowProgress {
  readonly chainId: number;
  readonly syncRunId: number;
  readonly phase: 'export' | 'polling' | 'downloading' | 'committed';
  readonly bytes: number;
  readonly rows: number;
}

export interface WindowJob {
  readonly syncRunId: number;
  readonly mode: RunMode;
  /** Null for an unfiltered export. */
  readonly start: Date | null;
  /** Null until the task of an unfiltered export exists. */
  readonly end: Date | null;
  readonly marker: string;
  /** Set when resuming: the stored task, never created or executed again. */
  readonly taskId: number | null;
  /** The window's row existed before this run (its task may exist even without a stored id). */
  readonly resumed: boolean;
  /** When the window's row was made: no task of it can be older (less the clock bound). */
  readonly rowCreatedAt: Date;
  /** Move the watermark with this window (not for a detached backfill decided by the rule itself). */
  readonly advancesWatermark: boolean;
  readonly reconcile?: Omit<ReconcileOptions, 'isComplete'>;
}

export type WindowOutcome =
  | {
      readonly kind: 'committed';
      readonly result: LoadResult;
      readonly taskId: number;
      readonly start: Date | null;
      readonly end: Date;
      /** Wall time of the whole window, and of the wait for the export task to finish. */
      readonly seconds: number;
      readonly exportWaitSeconds: number;
    }
  /** The stored task can no longer be downloaded: its window must be planned again. */
  | { readonly kind: 'abandoned'; readonly reason: string };

/** A window that failed; its row is marked failed unless `keptForResume` (deadline). Its stage is its code's. */
export class WindowError extends SpaazaSyncError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly keptForResume: boolean,
    cause?: unknown,
  ) {
    super(code, message, { cause });
  }
}

/**
 * One window from its export task to COMMIT: the task created (or adopted, or resumed), waited
 * for, its file downloaded and loaded (downloadAndLoad). A failure marks the row failed, or keeps
 * it for resume, or abandons it (windowFailed).
 */
export async function runWindow(ctx: ChainContext, job: WindowJob): Promise<WindowOutcome> {
  const startedAt = performance.now();
  try {
    const started = await startTask(ctx, job);
    const task = await awaitTask(ctx, job, started.task);
    const exportWaitSeconds = (performance.now() - started.waitStartedAt) / 1000;
    if (task.state.code === 'ERROR') return await taskFailed(ctx, job, task);
    // The export's own times: they become the watermark (unfiltered) and every row's version.
    const times = plausibleTaskTimes(task, timeBounds(ctx, job));
    const end = started.end ?? new Date(times.createdMs - ctx.settings.settleMs);
    const result = await downloadAndLoad(ctx, job, task.id, end, new Date(times.exportedAtMs));
    if (result === 'abandoned') return { kind: 'abandoned', reason: `task ${task.id} has no file any more` };
    const committed = { kind: 'committed', result, taskId: task.id, start: job.start, end, seconds: (performance.now() - startedAt) / 1000, exportWaitSeconds } as const;
    reportCommitted(ctx, job, committed);
    ctx.failpoint('after-commit');
    return committed;
  } catch (error) {
    return windowFailed(ctx, job, error);
  }
}

/**
 * The window's export task: created and executed, or adopted (a resumed row whose task exists
 * though its id was never stored: the crash came between create and store), or the stored one.
 * `end` is known once an unfiltered export's task exists; `waitStartedAt` is when the wait for
 * Spaaza to run the export began (execute may block until it is done).
 */
async function startTask(ctx: ChainContext, job: WindowJob): Promise<{ task: Task; end: Date | null; waitStartedAt: number }> {
  const { api, db, tables, logger } = ctx;
  if (job.taskId !== null) {
    const task = await api.getTask(job.taskId);
    logger.info('resuming the stored export task', { taskId: task.id, state: task.state.code });
    return { task, end: job.end, waitStartedAt: performance.now() };
  }
  const earlier = job.resumed ? await api.findTaskByMarker(job.marker) : null;
  const { task, adopted } = earlier ? { task: earlier, adopted: true } : await api.createTask(windowRequest(ctx, job), job.marker);
  const { createdMs } = plausibleTaskTimes(task, timeBounds(ctx, job));
  const end = job.start === null && job.end === null ? new Date(createdMs - ctx.settings.settleMs) : job.end;
  await setTask(db, tables, job.syncRunId, task.id, end);
  logger.info(adopted ? 'adopted the export task created by an earlier attempt' : 'export task created', { taskId: task.id });
  ctx.failpoint('after-create');
  const waitStartedAt = performance.now();
  if (!earlier) await api.executeTask(task.id);
  return { task, end, waitStartedAt };
}

/** Polls the task until DONE or ERROR; at the poll deadline the window is kept for resume. */
async function awaitTask(ctx: ChainContext, job: WindowJob, task: Task): Promise<Task> {
  await setRunState(ctx.db, ctx.tables, job.syncRunId, 'polling');
  ctx.progress?.({ chainId: ctx.chainId, syncRunId: job.syncRunId, phase: 'polling', bytes: 0, rows: 0 });
  return waitForTask(ctx.api, task, {
    initialMs: ctx.settings.pollInitialMs,
    maxIntervalMs: ctx.settings.pollMaxIntervalMs,
    deadlineMs: ctx.settings.pollDeadlineMs,
    signal: ctx.signal,
    afterFirstPoll: () => ctx.failpoint('polling'),
  }).catch((error: unknown) => {
    // Kept for resume: the task goes on at Spaaza, and the next run picks it up.
    throw error instanceof ExtractError && error.code === 'poll_deadline' ? new WindowError('poll_deadline', error.message, true, error) : error;
  });
}

/** A task that ended in ERROR: a stored one is not resumed (DESIGN §2) but abandoned, its window planned again now. */
async function taskFailed(ctx: ChainContext, job: WindowJob, task: Task): Promise<WindowOutcome> {
  const logs = redactText(JSON.stringify(task.logs ?? [])).slice(0, 2000);
  if (!job.resumed) throw new WindowError('task_error', `Spaaza export task ${task.id} ended in ERROR. Its logs: ${logs}`, false);
  const reason = `its export task ${task.id} ended in ERROR; logs: ${logs}`;
  await markAbandoned(ctx.db, ctx.tables, job.syncRunId, reason);
  return { kind: 'abandoned', reason };
}

function reportCommitted(ctx: ChainContext, job: WindowJob, window: Extract<WindowOutcome, { kind: 'committed' }>): void {
  const { result } = window;
  ctx.progress?.({ chainId: ctx.chainId, syncRunId: job.syncRunId, phase: 'committed', bytes: result.bytes, rows: result.rowsRead });
  ctx.logger.info('window committed', {
    taskId: window.taskId,
    start: job.start && isoZ(job.start),
    end: isoZ(window.end),
    rows: result.rowsRead,
    inserted: result.inserted,
    updated: result.updated,
    unchanged: result.unchanged,
    rejected: result.rejected,
    deleted: result.deletions?.deleted ?? 0,
    bytes: result.bytes,
    watermarkMoved: result.watermarkMoved,
    loadPath: result.loadPath,
    // Wall time of the window, and of it the wait for Spaaza to finish the export.
    seconds: round(window.seconds),
    exportWaitSeconds: round(window.exportWaitSeconds),
  });
}

/**
 * What a failed window leaves: abandoned when its task can no longer give a file or is stuck;
 * kept for resume after a poll deadline, a lost connection or a shutdown; else marked failed
 * (unless the load recorded it already, with its rejects). Returns only an abandonment.
 */
async function windowFailed(ctx: ChainContext, job: WindowJob, error: unknown): Promise<WindowOutcome> {
  const { db, tables, logger } = ctx;
  if (error instanceof ExtractError && error.code === 'download_unavailable' && job.taskId !== null) {
    await markAbandoned(db, tables, job.syncRunId, error.message);
    return { kind: 'abandoned', reason: error.message };
  }
  if (error instanceof WindowError && error.code === 'poll_deadline') {
    const deadlines = await countPollDeadline(db, tables, job.syncRunId);
    if (deadlines >= ctx.settings.abandonAfterDeadlines) {
      const task = job.taskId === null ? 'its export task' : `its export task ${job.taskId}`;
      const reason = `${task} was still unfinished after ${deadlines} poll deadlines of ${Math.round(ctx.settings.pollDeadlineMs / 1000)} s (extract.abandonAfterDeadlines): stuck at Spaaza; abandoned, and its window planned afresh`;
      logger.warn('abandoned a stuck export task', { syncRunId: job.syncRunId, deadlines });
      await markAbandoned(db, tables, job.syncRunId, reason, 'task_stuck');
      return { kind: 'abandoned', reason };
    }
  }
  if (error instanceof WindowError && error.keptForResume) throw error;
  if (ctx.signal.aborted) {
    // Shutting down: the window was rolled back; its row keeps the task for the next run.
    throw new WindowError('interrupted', 'The run was interrupted; the window was rolled back and the next run resumes its export task.', true, error);
  }
  if (error instanceof WindowLoadError && error.recorded) throw error;
  const failure = error instanceof SpaazaSyncError ? error : new WindowError(codeOf(error, 'window_failed'), error instanceof Error ? error.message : String(error), false, error);
  await markFailed(db, tables, job.syncRunId, { code: failure.code, message: failure.message }).catch((e: unknown) => logger.warn('could not mark the window failed', { error: e }));
  throw failure;
}

/** No export is newer than Spaaza's now: a stored version after it (and its tolerance) is wrong. */
function versionsValidUntil(ctx: ChainContext): Date {
  const { now, toleranceMs } = ctx.api.spaazaClock();
  return new Date(now.getTime() + toleranceMs);
}

/** What a task's times are checked against: Spaaza's validated now, and the window's age. */
function timeBounds(ctx: ChainContext, job: WindowJob): TaskTimeBounds {
  const { now, toleranceMs } = ctx.api.spaazaClock();
  return { nowMs: now.getTime(), toleranceMs, notBeforeMs: job.rowCreatedAt.getTime(), maxSkewMs: ctx.settings.maxClockSkewMs };
}

/** The window's export: the chain's vouchers with a date in the window, or all of them. */
function windowRequest(ctx: ChainContext, job: WindowJob) {
  const segment = job.start !== null && job.end !== null ? dateWindowSegment(ctx.settings.dateFields, job.start, job.end) : null;
  return exportRequest(ctx.chainId, job.marker, segment, ctx.api.serverNow() ?? new Date());
}

/** Up to `downloadAttempts` tries, each with a fresh URL; the body streams into the load. */
async function downloadAndLoad(ctx: ChainContext, job: WindowJob, taskId: number, end: Date, exportedAt: Date): Promise<LoadResult | 'abandoned'> {
  const { api, db, tables, logger, settings } = ctx;
  for (let attempt = 1; ; attempt++) {
    const last = attempt >= settings.downloadAttempts;
    const file = await openExport(api, taskId, redactUrl, {
      signal: ctx.signal,
      onUrl: (shown) => setDownloading(db, tables, job.syncRunId, shown),
      onFirstByte: () => ctx.failpoint('mid-download'),
    }).catch((error: unknown) => error as Error);
    if (file instanceof Error) {
      if (last || ctx.signal.aborted || !isRetryable(file)) throw file;
      logger.warn('download failed; retrying with a fresh URL', { attempt, error: file.message });
      continue;
    }
    try {
      await setRunState(db, tables, job.syncRunId, 'loading');
      return await loadWindow({
        client: db,
        tables,
        chainId: ctx.chainId,
        syncRunId: job.syncRunId,
        source: file.body,
        stage: stageExport,
        // An export whose ids repeat far apart, or that the typed path cannot load exactly, is read again.
        reopen: file.reopen,
        exportedAt,
        versionsValidUntil: versionsValidUntil(ctx),
        window: { start: job.start, end },
        ...(job.advancesWatermark ? { watermark: { stream: settings.stream, windowStart: job.start, windowEnd: end, establish: job.mode !== 'backfill' } } : {}),
        settings,
        logger,
        hooks: {
          midCopy: (rows) => {
            ctx.progress?.({ chainId: ctx.chainId, syncRunId: job.syncRunId, phase: 'downloading', bytes: file.bytes(), rows });
            ctx.failpoint('mid-copy');
          },
          beforeCommit: () => ctx.failpoint('before-commit'),
        },
        ...(job.reconcile ? { reconcile: { ...job.reconcile, isComplete: file.complete } } : {}),
        // Only a failure that will not be retried is recorded (with its first rejects).
        recordFailure: (error) => (last || !isRetryable(error)) && !ctx.signal.aborted,
      });
    } catch (error) {
      file.destroy();
      if (last || ctx.signal.aborted || !isRetryable(error)) throw error;
      // The run's connection holds the chain's lock: once it is gone, no attempt may write.
      if (!(await stillConnected(db))) {
        throw new WindowError('warehouse_connection_lost', `The warehouse connection was lost during the load (${(error as Error).message}); the window was rolled back and the next run resumes its export task.`, true, error);
      }
      logger.warn('the load failed in a way another try may fix; rolled back, retrying the window with a fresh URL', { attempt, error: (error as Error).message });
    }
  }
}


async function stillConnected(db: ClientBase): Promise<boolean> {
  return db.query('SELECT 1').then(
    () => true,
    () => false,
  );
}



function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
