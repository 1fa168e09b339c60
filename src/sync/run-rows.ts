/**
 * The `sync_runs` rows of the extract side: the task marker and id stored as soon as known, the
 * state of a window as it moves, and the unfinished rows a new run resumes first.
 */
import type { ClientBase, Pool } from 'pg';
import type { RunMode, RunState } from '../load/run-history.js';
import type { WarehouseTables } from '../load/tables.js';
import { isoZ } from './windows.js';

export interface RunRow {
  readonly id: number;
  /** The command invocation the row belongs to. */
  readonly runId: string;
  readonly chainId: number;
  readonly mode: RunMode;
  readonly state: RunState;
  readonly windowStart: Date | null;
  readonly windowEnd: Date | null;
  readonly taskId: number | null;
  readonly taskMarker: string | null;
  readonly startedAt: Date;
}

/**
 * The `desc` marker of a window's export task (DESIGN §2): unique across warehouses, because it
 * carries the warehouse's identity besides the chain, the row id and the bounds.
 */
export function taskMarker(warehouseId: string, chainId: number, rowId: number, start: Date | null, end: Date | null): string {
  return `spaaza-sync ${warehouseId} ${chainId}/${rowId} ${start ? isoZ(start) : '*'}..${end ? isoZ(end) : '*'}`;
}

/** Whether a stored marker names this warehouse (markers of older versions do not). */
export function isMarkerOf(marker: string, warehouseId: string): boolean {
  return marker.startsWith(`spaaza-sync ${warehouseId} `);
}

export async function setMarker(client: ClientBase, tables: WarehouseTables, id: number, marker: string): Promise<void> {
  await client.query(`UPDATE ${tables.syncRuns} SET task_marker = $2 WHERE id = $1`, [id, marker]);
}

export async function setTask(client: ClientBase, tables: WarehouseTables, id: number, taskId: number, windowEnd: Date | null): Promise<void> {
  await client.query(`UPDATE ${tables.syncRuns} SET task_id = $2, state = 'task_created', window_end = coalesce(window_end, $3) WHERE id = $1`, [id, taskId, windowEnd]);
}

export async function setDownloading(client: ClientBase, tables: WarehouseTables, id: number, source: string): Promise<void> {
  await client.query(`UPDATE ${tables.syncRuns} SET state = 'downloading', source = $2 WHERE id = $1`, [id, source]);
}

/** Finishes a row that will not be completed; `code` says why when a rule or an operator decided it. */
export async function markAbandoned(client: ClientBase, tables: WarehouseTables, id: number, reason: string, code: string | null = null): Promise<void> {
  await client.query(`UPDATE ${tables.syncRuns} SET state = 'abandoned', finished_at = clock_timestamp(), error_message = $2, error_code = $3 WHERE id = $1`, [id, reason, code]);
}

/** One more poll deadline passed with the row's task unfinished; returns how many so far. */
export async function countPollDeadline(client: ClientBase, tables: WarehouseTables, id: number): Promise<number> {
  const { rows } = await client.query<{ n: number }>(`UPDATE ${tables.syncRuns} SET poll_deadlines = poll_deadlines + 1 WHERE id = $1 RETURNING poll_deadlines AS n`, [id]);
  return rows[0]?.n ?? 0;
}

/** Rows of this chain and mode a crash or deadline left unfinished, oldest first. */
export async function unfinishedRows(client: ClientBase, tables: WarehouseTables, chainId: number, mode: RunMode): Promise<RunRow[]> {
  const { rows } = await client.query(
    `SELECT id, run_id, chain_id, mode, state, window_start, window_end, task_id, task_marker, started_at
     FROM ${tables.syncRuns}
     WHERE chain_id = $1 AND mode = $2 AND state NOT IN ('committed', 'failed', 'abandoned')
     ORDER BY id`,
    [chainId, mode],
  );
  return rows.map(toRunRow);
}

function toRunRow(r: Record<string, unknown>): RunRow {
  return {
    id: Number(r.id),
    runId: r.run_id as string,
    chainId: Number(r.chain_id),
    mode: r.mode as RunMode,
    state: r.state as RunState,
    windowStart: r.window_start as Date | null,
    windowEnd: r.window_end as Date | null,
    taskId: r.task_id === null ? null : Number(r.task_id),
    taskMarker: r.task_marker as string | null,
    startedAt: r.started_at as Date,
  };
}

/** The windows rows of these runs cover: committed, or still to be finished. */
export async function windowsOfRuns(client: ClientBase, tables: WarehouseTables, chainId: number, runIds: readonly string[]): Promise<{ start: Date; end: Date }[]> {
  if (runIds.length === 0) return [];
  const { rows } = await client.query<{ window_start: Date; window_end: Date }>(
    `SELECT window_start, window_end FROM ${tables.syncRuns}
     WHERE chain_id = $1 AND run_id = ANY($2::uuid[]) AND state NOT IN ('failed', 'abandoned')
       AND window_start IS NOT NULL AND window_end IS NOT NULL`,
    [chainId, runIds],
  );
  return rows.map((r) => ({ start: r.window_start, end: r.window_end }));
}

/** Every unfinished row of a chain, of any mode, oldest first; or only those of one run (`sync_runs.id` or `run_id`). */
export async function unfinishedRowsOfChain(client: ClientBase | Pool, tables: WarehouseTables, chainId: number, run?: { id: number } | { runId: string }): Promise<RunRow[]> {
  const filter = run === undefined ? '' : 'id' in run ? 'AND id = $2' : 'AND run_id = $2::uuid';
  const { rows } = await client.query(
    `SELECT id, run_id, chain_id, mode, state, window_start, window_end, task_id, task_marker, started_at
     FROM ${tables.syncRuns}
     WHERE chain_id = $1 AND state NOT IN ('committed', 'failed', 'abandoned') ${filter}
     ORDER BY id`,
    run === undefined ? [chainId] : [chainId, 'id' in run ? run.id : run.runId],
  );
  return rows.map(toRunRow);
}

/** Abandons these rows (those still unfinished), with the reason; returns the ids it changed. */
export async function abandonRows(client: ClientBase, tables: WarehouseTables, ids: readonly number[], reason: string, code: string): Promise<number[]> {
  const { rows } = await client.query<{ id: string }>(
    `UPDATE ${tables.syncRuns} SET state = 'abandoned', finished_at = clock_timestamp(), error_code = $3, error_message = $2
     WHERE id = ANY($1::bigint[]) AND state NOT IN ('committed', 'failed', 'abandoned') RETURNING id`,
    [ids, reason, code],
  );
  return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}

/**
 * Unfinished rows of any sync mode older than resumeMaxAge: a run of their own mode would abandon
 * them as too old to resume, but that mode may never run again (a one-off backfill, a CLI full
 * refresh). Any run of the chain finishes them, so none stays unfinished for good.
 */
export async function abandonStaleRows(client: ClientBase, tables: WarehouseTables, chainId: number, resumeMaxAgeMs: number): Promise<number[]> {
  const { rows } = await client.query<{ id: string }>(
    `UPDATE ${tables.syncRuns} SET state = 'abandoned', finished_at = clock_timestamp(),
       error_message = 'too old to resume (older than sync.resumeMaxAge); its range is planned again by the next run of its mode'
     WHERE chain_id = $1 AND mode IN ('incremental', 'backfill', 'full-refresh') AND state NOT IN ('committed', 'failed', 'abandoned')
       AND started_at < clock_timestamp() - $2 * interval '1 millisecond'
     RETURNING id`,
    [chainId, resumeMaxAgeMs],
  );
  return rows.map((r) => Number(r.id));
}
