/**
 * `sync_runs`, the warehouse's run history: one row per run and window, created before any work
 * and closed at the end. Every query of the table is here, named for what it does: the row's
 * task marker and id stored as soon as known, the state of a window as it moves, the unfinished
 * rows a new run resumes first, and how a row ends (committed, failed or abandoned).
 */
import type { ClientBase, Pool } from 'pg';
import type { ErrorCode, OwnErrorCode } from '../error-table.js';
import type { WarehouseTables } from './tables.js';

export const RUN_MODES = ['incremental', 'backfill', 'full-refresh', 'file', 'export', 'open-refresh'] as const;
export type RunMode = (typeof RUN_MODES)[number];
/** The modes of the sync (a window of an export task); `file` is load-file's. */
export const SYNC_MODES = ['incremental', 'backfill', 'full-refresh'] as const satisfies readonly RunMode[];

export const RUN_STATES = ['planned', 'task_created', 'polling', 'downloading', 'loading', 'committed', 'failed', 'abandoned'] as const;
export type RunState = (typeof RUN_STATES)[number];
/** A row in one of these states is done with: nothing resumes it. */
export const FINISHED_STATES = ['committed', 'failed', 'abandoned'] as const satisfies readonly RunState[];

const sqlList = (values: readonly string[]) => `(${values.map((v) => `'${v}'`).join(', ')})`;
/** `state NOT IN ${UNFINISHED}`-ready lists, from the constants above. */
export const FINISHED_SQL = sqlList(FINISHED_STATES);
const SYNC_MODES_SQL = sqlList(SYNC_MODES);

export interface NewRun {
  readonly runId: string;
  readonly chainId: number;
  readonly mode: RunMode;
  readonly state: RunState;
  readonly windowStart?: Date | null;
  readonly windowEnd?: Date | null;
  /** Where the data comes from: a file name, or a URL without its query. */
  readonly source?: string | null;
}

/** Inserts the run row (committed at once when `client` is outside a transaction); returns its id. */
export async function createRun(client: ClientBase, tables: WarehouseTables, run: NewRun): Promise<number> {
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO ${tables.syncRuns} (run_id, chain_id, mode, state, window_start, window_end, source)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [run.runId, run.chainId, run.mode, run.state, run.windowStart ?? null, run.windowEnd ?? null, run.source ?? null],
  );
  return Number(rows[0]!.id);
}

export interface RunCounts {
  readonly rowsRead: number;
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly rejected: number;
  readonly inconsistent: number;
  readonly duplicates: number;
  readonly bytes: number;
  readonly unknownColumns: readonly string[];
  readonly exportedAt: Date;
  /** What the window noticed but did not fail on (sync_runs.warnings). */
  readonly warnings?: readonly string[];
  /** Full refresh only. */
  readonly deletions?: {
    readonly deleted: number;
    readonly refused: boolean;
    readonly liveBefore: number;
    readonly liveAfter: number;
    readonly skippedBecause: 'incomplete' | 'guard' | null;
  } | null;
}

export async function markCommitted(client: ClientBase, tables: WarehouseTables, syncRunId: number, counts: RunCounts): Promise<void> {
  await client.query(
    `UPDATE ${tables.syncRuns} SET state = 'committed', finished_at = clock_timestamp(),
       rows_read = $2, rows_inserted = $3, rows_updated = $4, rows_unchanged = $5, rows_rejected = $6,
       rows_inconsistent = $7, rows_duplicate = $8, bytes = $9, unknown_columns = $10, source_exported_at = $11,
       rows_deleted = $12, deletions_refused = $13, live_rows_before = $14, live_rows_after = $15,
       warnings = warnings || $17::text[],
       error_code = CASE WHEN $13 THEN 'deletions_refused' WHEN $16 THEN 'deletions_skipped_incomplete' END,
       error_message = CASE
         WHEN $13 THEN 'the full refresh would delete more vouchers than maxDeleteRatio allows; nothing was deleted (use --allow-mass-delete if that is right)'
         WHEN $16 THEN 'the export could not be proven complete, so it was upserted but nothing was deleted; sync_runs.warnings says why'
       END
     WHERE id = $1`,
    [
      syncRunId,
      counts.rowsRead,
      counts.inserted,
      counts.updated,
      counts.unchanged,
      counts.rejected,
      counts.inconsistent,
      counts.duplicates,
      counts.bytes,
      counts.unknownColumns,
      counts.exportedAt,
      counts.deletions?.deleted ?? 0,
      counts.deletions?.refused ?? false,
      counts.deletions?.liveBefore ?? null,
      counts.deletions?.liveAfter ?? null,
      counts.deletions?.skippedBecause === 'incomplete',
      counts.warnings ?? [],
    ],
  );
}

export async function markFailed(
  client: ClientBase,
  tables: WarehouseTables,
  syncRunId: number,
  failure: { code: ErrorCode; message: string; rowsRead?: number; rejected?: number; bytes?: number },
): Promise<void> {
  await client.query(
    `UPDATE ${tables.syncRuns} SET state = 'failed', finished_at = clock_timestamp(), error_code = $2, error_message = $3,
       rows_read = coalesce($4, rows_read), rows_rejected = coalesce($5, rows_rejected), bytes = coalesce($6, bytes)
     WHERE id = $1 AND state <> 'committed'`,
    [syncRunId, failure.code, failure.message, failure.rowsRead ?? null, failure.rejected ?? null, failure.bytes ?? null],
  );
}

export async function setRunState(client: ClientBase, tables: WarehouseTables, syncRunId: number, state: RunState): Promise<void> {
  await client.query(`UPDATE ${tables.syncRuns} SET state = $2 WHERE id = $1`, [syncRunId, state]);
}

/** Adds a sentence to the row's warnings: something it noticed but did not fail on. */
export async function addWarning(client: ClientBase, tables: WarehouseTables, syncRunId: number, warning: string): Promise<void> {
  await client.query(`UPDATE ${tables.syncRuns} SET warnings = array_append(warnings, $2) WHERE id = $1`, [syncRunId, warning]);
}

/**
 * Rows of this chain that no process can finish any more: every run works under the chain's lock,
 * so once the caller holds it, a `file` row still in progress belongs to a process that died (a
 * sync window's row is different: it keeps its export task, and the next run of its mode resumes
 * it). Marked failed with the reason; returns their ids.
 */
export async function failRunsOfDeadProcesses(client: ClientBase, tables: WarehouseTables, chainId: number): Promise<number[]> {
  const { rows } = await client.query<{ id: string }>(
    `UPDATE ${tables.syncRuns} SET state = 'failed', finished_at = clock_timestamp(), error_code = 'process_died',
       error_message = 'the process running it ended before it finished (killed, or its host went away); nothing of it was committed. Found by the next run of the chain'
     WHERE chain_id = $1 AND mode IN ('file', 'export', 'open-refresh') AND state NOT IN ${FINISHED_SQL}
     RETURNING id`,
    [chainId],
  );
  return rows.map((r) => Number(r.id));
}

export interface RunRow {
  readonly syncRunId: number;
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

export async function setMarker(client: ClientBase, tables: WarehouseTables, syncRunId: number, marker: string): Promise<void> {
  await client.query(`UPDATE ${tables.syncRuns} SET task_marker = $2 WHERE id = $1`, [syncRunId, marker]);
}

export async function setTask(client: ClientBase, tables: WarehouseTables, syncRunId: number, taskId: number, windowEnd: Date | null): Promise<void> {
  await client.query(`UPDATE ${tables.syncRuns} SET task_id = $2, state = 'task_created', window_end = coalesce(window_end, $3) WHERE id = $1`, [syncRunId, taskId, windowEnd]);
}

export async function setDownloading(client: ClientBase, tables: WarehouseTables, syncRunId: number, source: string): Promise<void> {
  await client.query(`UPDATE ${tables.syncRuns} SET state = 'downloading', source = $2 WHERE id = $1`, [syncRunId, source]);
}

/** Finishes a row that will not be completed; `code` says why when a rule or an operator decided it. */
export async function markAbandoned(client: ClientBase, tables: WarehouseTables, syncRunId: number, reason: string, code: OwnErrorCode | null = null): Promise<void> {
  await client.query(`UPDATE ${tables.syncRuns} SET state = 'abandoned', finished_at = clock_timestamp(), error_message = $2, error_code = $3 WHERE id = $1`, [syncRunId, reason, code]);
}

/** One more poll deadline passed with the row's task unfinished; returns how many so far. */
export async function countPollDeadline(client: ClientBase, tables: WarehouseTables, syncRunId: number): Promise<number> {
  const { rows } = await client.query<{ n: number }>(`UPDATE ${tables.syncRuns} SET poll_deadlines = poll_deadlines + 1 WHERE id = $1 RETURNING poll_deadlines AS n`, [syncRunId]);
  return rows[0]?.n ?? 0;
}

/** Rows of this chain and mode a crash or deadline left unfinished, oldest first. */
export async function unfinishedRows(client: ClientBase, tables: WarehouseTables, chainId: number, mode: RunMode): Promise<RunRow[]> {
  const { rows } = await client.query(
    `SELECT id, run_id, chain_id, mode, state, window_start, window_end, task_id, task_marker, started_at
     FROM ${tables.syncRuns}
     WHERE chain_id = $1 AND mode = $2 AND state NOT IN ${FINISHED_SQL}
     ORDER BY id`,
    [chainId, mode],
  );
  return rows.map(toRunRow);
}

function toRunRow(r: Record<string, unknown>): RunRow {
  return {
    syncRunId: Number(r.id),
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
export async function unfinishedRowsOfChain(client: ClientBase | Pool, tables: WarehouseTables, chainId: number, run?: { syncRunId: number } | { runId: string }): Promise<RunRow[]> {
  const filter = run === undefined ? '' : 'syncRunId' in run ? 'AND id = $2' : 'AND run_id = $2::uuid';
  const { rows } = await client.query(
    `SELECT id, run_id, chain_id, mode, state, window_start, window_end, task_id, task_marker, started_at
     FROM ${tables.syncRuns}
     WHERE chain_id = $1 AND state NOT IN ${FINISHED_SQL} ${filter}
     ORDER BY id`,
    run === undefined ? [chainId] : [chainId, 'syncRunId' in run ? run.syncRunId : run.runId],
  );
  return rows.map(toRunRow);
}

/** Abandons these rows (those still unfinished), with the reason; returns the ids it changed. */
export async function abandonRows(client: ClientBase, tables: WarehouseTables, ids: readonly number[], reason: string, code: OwnErrorCode): Promise<number[]> {
  const { rows } = await client.query<{ id: string }>(
    `UPDATE ${tables.syncRuns} SET state = 'abandoned', finished_at = clock_timestamp(), error_code = $3, error_message = $2
     WHERE id = ANY($1::bigint[]) AND state NOT IN ${FINISHED_SQL} RETURNING id`,
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
     WHERE chain_id = $1 AND mode IN ${SYNC_MODES_SQL} AND state NOT IN ${FINISHED_SQL}
       AND started_at < clock_timestamp() - $2 * interval '1 millisecond'
     RETURNING id`,
    [chainId, resumeMaxAgeMs],
  );
  return rows.map((r) => Number(r.id));
}

/** When the last committed window of this mode finished (any chain), or null. */
export async function lastCommittedAt(client: ClientBase | Pool, tables: WarehouseTables, mode: RunMode): Promise<Date | null> {
  const { rows } = await client.query<{ last: Date | null }>(`SELECT max(finished_at) AS last FROM ${tables.syncRuns} WHERE mode = $1 AND state = 'committed'`, [mode]);
  return rows[0]?.last ?? null;
}

export interface RecentRun {
  readonly id: number;
  readonly mode: string;
  readonly state: string;
  readonly windowStart: Date | null;
  readonly windowEnd: Date | null;
  readonly taskId: number | null;
  readonly finishedAt: Date | null;
  readonly rowsRead: number;
  readonly inserted: number;
  readonly updated: number;
  readonly rejected: number;
  readonly deleted: number;
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
}

/** The chain's last `limit` rows, newest first. */
export async function recentRuns(client: ClientBase | Pool, tables: WarehouseTables, chainId: number, limit: number): Promise<RecentRun[]> {
  const { rows } = await client.query(
    `SELECT id, mode, state, window_start, window_end, task_id, finished_at, rows_read, rows_inserted, rows_updated, rows_rejected, rows_deleted, error_code, error_message
     FROM ${tables.syncRuns} WHERE chain_id = $1 ORDER BY id DESC LIMIT $2`,
    [chainId, limit],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    mode: r.mode as string,
    state: r.state as string,
    windowStart: r.window_start as Date | null,
    windowEnd: r.window_end as Date | null,
    taskId: r.task_id === null ? null : Number(r.task_id),
    finishedAt: r.finished_at as Date | null,
    rowsRead: Number(r.rows_read),
    inserted: Number(r.rows_inserted),
    updated: Number(r.rows_updated),
    rejected: Number(r.rows_rejected),
    deleted: Number(r.rows_deleted),
    errorCode: r.error_code as string | null,
    errorMessage: r.error_message as string | null,
  }));
}

/** How many of the chain's rows are still unfinished. */
export async function countUnfinished(client: ClientBase | Pool, tables: WarehouseTables, chainId: number): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${tables.syncRuns} WHERE chain_id = $1 AND state NOT IN ${FINISHED_SQL}`, [chainId]);
  return Number(rows[0]!.n);
}
