/**
 * `spaaza-sync export`: one of the source document's exports (every voucher, or those a segment
 * selects), with the robustness of the sync: the retry table of the Tasks API client, adoption by
 * marker after an ambiguous create, the poll deadline, a fresh pre-signed URL per download
 * attempt, and the completeness check of the counted body. What is done with the file (written
 * out, or loaded) is the caller's `consume`.
 */
import { randomUUID } from 'node:crypto';
import { exportSegment, type ExportFilters } from '../extract/export-filters.js';
import { exportRequest, openExport, waitForTask, type ExportFile, type Segment } from '../extract/export-task.js';
import { redactText, redactUrl } from '../extract/redact.js';
import { plausibleTaskTimes } from '../extract/spaaza-time.js';
import type { Task } from '../extract/task-schemas.js';
import type { CreateTaskBody, TasksClient } from '../extract/tasks-client.js';
import { isRetryable } from '../error-table.js';
import { SpaazaSyncError } from '../errors.js';
import type { SyncConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { loadUnderChainLock, type LockedLoadMode, type LockedLoadResult } from './locked-load.js';

export interface ExportSettings {
  readonly pollInitialMs: number;
  readonly pollMaxIntervalMs: number;
  readonly pollDeadlineMs: number;
  readonly downloadAttempts: number;
  readonly maxClockSkewMs: number;
}

/** The configuration's: extract's waits and attempts, sync's clock bound. */
export function exportSettingsOf(config: SyncConfig): ExportSettings {
  const { pollInitialMs, pollMaxIntervalMs, pollDeadlineMs, downloadAttempts } = config.extract;
  return { pollInitialMs, pollMaxIntervalMs, pollDeadlineMs, downloadAttempts, maxClockSkewMs: config.sync.maxClockSkewMs };
}

/**
 * An export's file loaded under the chain's lock as one run of `mode` (export --load, the open
 * refresh): the sync's rules, no watermark, no deletion; versions after Spaaza's now are wrong.
 */
export async function loadExportFile(
  target: { warehouse: Warehouse; config: SyncConfig; chainId: number; mode: Extract<LockedLoadMode, 'export' | 'open-refresh'>; api: TasksClient; logger: Logger },
  file: ExportFile,
  exportedAt: Date,
  task: Task,
): Promise<LockedLoadResult> {
  const { now, toleranceMs } = target.api.spaazaClock();
  return loadUnderChainLock({
    warehouse: target.warehouse,
    schema: target.config.schema,
    chainId: target.chainId,
    mode: target.mode,
    sourceLabel: `export task ${task.id}`,
    open: () => file.body,
    reopen: file.reopen,
    exportedAt,
    versionsValidUntil: new Date(now.getTime() + toleranceMs),
    settings: target.config.sync,
    logger: target.logger,
  });
}

/** The exact request `export` sends (what `--dry-run` shows), and Spaaza's now it was built at. */
export interface PlannedExport {
  readonly chainId: number;
  readonly marker: string;
  readonly spaazaNow: Date;
  readonly segment: Segment | null;
  readonly request: CreateTaskBody;
}

/**
 * Builds the request at Spaaza's now (read from a Services API answer: the flags' bounds are on
 * Spaaza's clock, never this machine's). Throws ExportFilterError before anything is sent.
 */
export async function planExport(api: TasksClient, chainId: number, filters: ExportFilters): Promise<PlannedExport> {
  exportSegment(filters, new Date()); // bad filters are refused before anything is sent, even the clock's read
  if (api.serverNow() === null) await api.listTasks({ action: 'export', limit: 1, offset: 0 });
  const spaazaNow = api.spaazaClock().now;
  const segment = exportSegment(filters, spaazaNow);
  const marker = `spaaza-sync export ${chainId} ${randomUUID()}`;
  const request = exportRequest(chainId, marker, segment, spaazaNow);
  return { chainId, marker, spaazaNow, segment, request: { ...request, desc: `${marker}: ${describeSegment(segment)}` } };
}

export interface ExportDone<T> {
  readonly task: Task;
  /** Spaaza's time of the export (the task's last run): the version of every row in it. */
  readonly exportedAt: Date;
  readonly result: T;
}

export interface ExportRun {
  readonly api: TasksClient;
  readonly settings: ExportSettings;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
  /** Called as the task moves on: created (or adopted), done, each download attempt. */
  readonly onPhase?: (phase: 'created' | 'polling' | 'downloading', taskId: number) => void;
}

/**
 * Creates the task (adopting one an ambiguous create left), waits for it, and hands its file to
 * `consume`, again with a fresh URL when an attempt fails in a way another may fix (and
 * `consume` says it can start over: it returns false from `canRetry` once it has written
 * somewhere it cannot take back, such as standard output).
 */
export async function runExport<T>(
  run: ExportRun,
  plan: PlannedExport,
  consume: { (file: ExportFile, exportedAt: Date, task: Task): Promise<T>; canRetry?: () => boolean },
): Promise<ExportDone<T>> {
  const { api, settings, logger } = run;
  const notBeforeMs = Date.now();
  const { task: created, adopted } = await api.createTask(plan.request, plan.marker);
  logger.info(adopted ? 'adopted the export task an earlier attempt created' : 'export task created', { taskId: created.id });
  run.onPhase?.('created', created.id);
  await api.executeTask(created.id);
  run.onPhase?.('polling', created.id);
  const task = await waitForTask(api, created, {
    initialMs: settings.pollInitialMs,
    maxIntervalMs: settings.pollMaxIntervalMs,
    deadlineMs: settings.pollDeadlineMs,
    ...(run.signal ? { signal: run.signal } : {}),
  });
  if (task.state.code === 'ERROR') {
    throw new SpaazaSyncError('task_error', `Spaaza export task ${task.id} ended in ERROR. Its logs: ${redactText(JSON.stringify(task.logs ?? [])).slice(0, 2000)}`);
  }
  const { now, toleranceMs } = api.spaazaClock();
  const times = plausibleTaskTimes(task, { nowMs: now.getTime(), toleranceMs, notBeforeMs, maxSkewMs: settings.maxClockSkewMs });
  const exportedAt = new Date(times.exportedAtMs);
  for (let attempt = 1; ; attempt++) {
    run.onPhase?.('downloading', task.id);
    const file = await openExport(api, task.id, redactUrl, run.signal ? { signal: run.signal } : {}).catch((error: unknown) => error as Error);
    const last = attempt >= settings.downloadAttempts || run.signal?.aborted === true;
    if (file instanceof Error) {
      if (last || !isRetryable(file)) throw file;
      logger.warn('the download failed; trying again with a fresh URL', { attempt, error: file.message });
      continue;
    }
    try {
      return { task, exportedAt, result: await consume(file, exportedAt, task) };
    } catch (error) {
      file.destroy();
      if (last || !isRetryable(error) || consume.canRetry?.() === false) throw error;
      logger.warn('the download failed; trying again with a fresh URL', { attempt, error: (error as Error).message });
    }
  }
}

/** The segment in a few words, for the task's desc (what Spaaza's dashboard shows). */
export function describeSegment(segment: Segment | null): string {
  if (segment === null) return 'all vouchers';
  const rule = (r: Segment['rules'][number]) => {
    const args = Object.entries(r)
      .filter(([k]) => !['field_name', 'field_type', 'operator'].includes(k))
      .map(([, v]) => String(v))
      .join('..');
    return `${r.field_name} ${r.operator} ${args}`;
  };
  return `vouchers with ${segment.rules.map(rule).join(segment.join === 'all' ? ' and ' : ' or ')}`;
}

/** A download that proved nothing about its length (no Content-Length, or an encoding). */
export function unprovenWarning(file: ExportFile): string | null {
  return file.complete() ? null : 'the download could not be proven complete (no Content-Length, or a Content-Encoding): it may lack records';
}

