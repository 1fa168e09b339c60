/**
 * Faults that lie about time in an otherwise normal answer: a `Date` header off by some seconds
 * (or not a date at all), and task dates shifted or blanked. They change only what is sent,
 * never the simulator's clock or the stored task, as a proxy or a buggy API node would.
 */
import { isoSeconds } from './clock.js';
import type { FaultAction } from './faults.js';
import type { TaskStateJson } from './tasks.js';

export type DateFault = Extract<FaultAction, { kind: 'date' }>;
export type TaskTimesFault = Extract<FaultAction, { kind: 'task_times' }>;

/** The `Date` header value a date fault sends at simulator time `nowMs`. */
export function faultedDateHeader(fault: DateFault, nowMs: number): string {
  if (fault.header !== undefined) return fault.header;
  return new Date(nowMs + (fault.seconds ?? 0) * 1000).toUTCString();
}

/** The state object with the fault's dates applied; a date that is null stays null. */
export function withTaskTimes(state: TaskStateJson, fault: TaskTimesFault): TaskStateJson {
  return {
    ...state,
    created_date: shift(state.created_date, fault.createdSeconds),
    last_modified: shift(state.last_modified, fault.lastModifiedSeconds),
    last_run_date: fault.lastRunDate !== undefined ? fault.lastRunDate : state.last_run_date === null ? null : shift(state.last_run_date, fault.lastRunSeconds),
  };
}

function shift(iso: string, seconds: number | undefined): string {
  return seconds === undefined ? iso : isoSeconds(Date.parse(iso) + seconds * 1000);
}
