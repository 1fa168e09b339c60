/**
 * Spaaza's times are inputs, and inputs can be wrong: a proxy with a bad clock, a task dated in
 * 2099. A wrong reading that were trusted would move a watermark or stamp rows where no later
 * export can reach them (DESIGN §2 "Time", §5.8). So a Spaaza time is used only when it is
 * plausible: within `maxSkewMs` of this host's clock (either way), and consistent with the task's
 * own times. Anything else is an ImplausibleTimeError: the window fails and nothing moves.
 */
import { formatDuration } from '../config/durations.js';
import { ExtractError } from './errors.js';
import type { Task } from './task-schemas.js';

/** Task dates carry whole seconds and the `Date` header too: allow for the rounding. */
export const ROUNDING_MS = 2_000;

/**
 * How far after the `Date` of the answer that carries it a task date may lie: the servers that
 * write tasks and answer requests need not share one clock to the second. A wrong clock reading is
 * months or years off; refusing a minute would stop a healthy sync.
 */
export const TASK_DATE_TOLERANCE_MS = 60_000;

/** A Spaaza time that cannot be right; never retried (the same answer would come back). */
export class ImplausibleTimeError extends ExtractError {
  constructor(message: string, context: { taskId?: number; chainId?: number } = {}) {
    super('implausible_time', message, { retryable: false, context });
  }
}

/** `ms` as ISO 8601, or the text when it is not a time. */
function show(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : String(ms);
}

/** "365d6h ahead of" / "20m3s behind": how far `ms` is from `referenceMs`, to two units. */
export function describeOffset(ms: number, referenceMs: number): string {
  const offset = ms - referenceMs;
  return `${roughDuration(Math.abs(offset))} ${offset >= 0 ? 'ahead of' : 'behind'}`;
}

/** A duration in the config's syntax, rounded to whole seconds and its two largest units. */
export function roughDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const text = formatDuration(Math.round(ms / 1000) * 1000);
  return /^\d+[a-z]+(?:\d+[a-z]+)?/.exec(text)?.[0] ?? text;
}

/**
 * Throws unless the `Date` of a Services API answer (`serverMs`) is within `maxSkewMs` of this
 * host's clock (`hostMs`). One of the two clocks is wrong when it is not, and neither can be
 * told right: nothing is planned or stamped from it.
 */
export function assertPlausibleServerClock(serverMs: number, hostMs: number, maxSkewMs: number, header: string): void {
  if (Math.abs(serverMs - hostMs) <= maxSkewMs) return;
  throw new ImplausibleTimeError(
    `Spaaza's clock, as the Date header of its last answer says it ("${header}"), is ${describeOffset(serverMs, hostMs)} this machine's clock ` +
      `(${show(hostMs)}), beyond maxClockSkew (${roughDuration(maxSkewMs)}): a proxy or Spaaza has a wrong clock, or this machine has. ` +
      'Nothing was planned or written. Check this machine\'s time (NTP) and what sits between it and Spaaza; raise SPAAZA_MAX_CLOCK_SKEW only if the skew is real.',
  );
}

/** A task date: epoch ms, or null when absent or empty (reference §12 #6 says to accept empty). */
export function taskDate(text: string | null | undefined): number | null {
  if (text === null || text === undefined || text.trim() === '') return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? Number.NaN : ms;
}

export interface PlausibleTaskTimes {
  /** `state.created_date`. */
  readonly createdMs: number;
  /** `state.last_run_date`, or null when the task has not run (or says nothing). */
  readonly lastRunMs: number | null;
  /** Spaaza's time of the export's snapshot: the last run, else the creation. */
  readonly exportedAtMs: number;
}

export interface TaskTimeBounds {
  /** Spaaza's now (the validated Date header), or this host's now when Spaaza sent none. */
  readonly nowMs: number;
  /** How far past `nowMs` a task date may lie: TASK_DATE_TOLERANCE_MS, or the whole bound when this host's clock stands in. */
  readonly toleranceMs?: number;
  /** The task cannot be older than its window's row (host or warehouse clock), less the bound. */
  readonly notBeforeMs: number;
  readonly maxSkewMs: number;
}

/**
 * The task's times, checked: each a time, none after Spaaza's now, the creation not before the
 * window that asked for it (less the bound), and the run not before the creation.
 */
export function plausibleTaskTimes(task: Task, bounds: TaskTimeBounds): PlausibleTaskTimes {
  const fail = (what: string) =>
    new ImplausibleTimeError(
      `Export task ${task.id} says ${what}: that cannot be right, so its export is not loaded and nothing moves. ` +
        'It is a wrong clock at Spaaza or on the way; the next run takes a new export. Report it to Spaaza if it persists.',
      { taskId: task.id, chainId: task.chain },
    );
  const createdMs = taskDate(task.state.created_date);
  const lastRunMs = taskDate(task.state.last_run_date);
  if (createdMs === null || Number.isNaN(createdMs)) throw fail(`created_date "${task.state.created_date}", which is not an ISO 8601 time`);
  if (lastRunMs !== null && Number.isNaN(lastRunMs)) throw fail(`last_run_date "${task.state.last_run_date}", which is not an ISO 8601 time`);
  const latest = bounds.nowMs + Math.max(bounds.toleranceMs ?? 0, TASK_DATE_TOLERANCE_MS);
  if (createdMs > latest) throw fail(`it was created at ${task.state.created_date}, ${describeOffset(createdMs, bounds.nowMs)} Spaaza's own clock`);
  if (lastRunMs !== null && lastRunMs > latest) throw fail(`it ran at ${task.state.last_run_date}, ${describeOffset(lastRunMs, bounds.nowMs)} Spaaza's own clock`);
  if (createdMs < bounds.notBeforeMs - bounds.maxSkewMs) {
    throw fail(`it was created at ${task.state.created_date}, ${describeOffset(createdMs, bounds.notBeforeMs)} the window that asked for it (more than maxClockSkew, ${roughDuration(bounds.maxSkewMs)})`);
  }
  if (lastRunMs !== null && lastRunMs < createdMs - ROUNDING_MS) throw fail(`it ran at ${task.state.last_run_date}, before it was created (${task.state.created_date})`);
  return { createdMs, lastRunMs, exportedAtMs: lastRunMs ?? createdMs };
}
