/** `sync_runs`: one row per run and window, created before any work and closed at the end. */
import type { ClientBase } from 'pg';
import type { WarehouseTables } from './tables.js';

export type RunMode = 'incremental' | 'backfill' | 'full-refresh' | 'file';
export type RunState = 'planned' | 'task_created' | 'polling' | 'downloading' | 'loading' | 'committed' | 'failed' | 'abandoned';

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

export async function markCommitted(client: ClientBase, tables: WarehouseTables, id: number, counts: RunCounts): Promise<void> {
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
      id,
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
  id: number,
  failure: { code: string; message: string; rowsRead?: number; rejected?: number; bytes?: number },
): Promise<void> {
  await client.query(
    `UPDATE ${tables.syncRuns} SET state = 'failed', finished_at = clock_timestamp(), error_code = $2, error_message = $3,
       rows_read = coalesce($4, rows_read), rows_rejected = coalesce($5, rows_rejected), bytes = coalesce($6, bytes)
     WHERE id = $1 AND state <> 'committed'`,
    [id, failure.code, failure.message, failure.rowsRead ?? null, failure.rejected ?? null, failure.bytes ?? null],
  );
}

export async function setRunState(client: ClientBase, tables: WarehouseTables, id: number, state: RunState): Promise<void> {
  await client.query(`UPDATE ${tables.syncRuns} SET state = $2 WHERE id = $1`, [id, state]);
}

/** Adds a sentence to the row's warnings: something it noticed but did not fail on. */
export async function addWarning(client: ClientBase, tables: WarehouseTables, id: number, warning: string): Promise<void> {
  await client.query(`UPDATE ${tables.syncRuns} SET warnings = array_append(warnings, $2) WHERE id = $1`, [id, warning]);
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
     WHERE chain_id = $1 AND mode = 'file' AND state NOT IN ('committed', 'failed', 'abandoned')
     RETURNING id`,
    [chainId],
  );
  return rows.map((r) => Number(r.id));
}
