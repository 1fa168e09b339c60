/**
 * Every failure code of spaaza-sync in ONE table: the stage it comes from, whether another try can
 * help, the exit code the CLI ends with, and the sentence that tells the operator what to do.
 * Codes are stable: they are stored in sync_runs.error_code, printed as `error [code]` and
 * labelled in metrics. A code not in the table does not compile (ErrorCode); a test checks that
 * every code written in the sources is here.
 *
 * Failures that are not ours (HTTP statuses, undici and Node codes, SQLSTATEs) are judged by the
 * retry rules of src/failure-table.ts; a SQLSTATE surfaces as `sqlstate_XXXXX`.
 */
import { ruleForError, sqlstateOf, SQLSTATE_TABLE } from './failure-table.js';

export type Stage = 'config' | 'extract' | 'transform' | 'load' | 'warehouse' | 'sync' | 'cli';

/** 0 ok, 1 a run failed, 2 bad configuration or usage, 3 a chain was locked by another run. */
export const EXIT = { ok: 0, runFailed: 1, usage: 2, locked: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface ErrorEntry {
  readonly stage: Stage;
  /**
   * Whether another attempt may succeed. `by-cause` where it depends on what failed underneath
   * (a 503 or a 404 from storage): the throw site says, and says no when it does not.
   */
  readonly retryable: boolean | 'by-cause';
  readonly exit: ExitCode;
  /** What the operator does about it: one sentence, imperative. */
  readonly todo: string;
}

const fails = (stage: Stage, todo: string, retryable: ErrorEntry['retryable'] = false, exit: ExitCode = EXIT.runFailed): ErrorEntry => Object.freeze({ stage, retryable, exit, todo });

export const ERROR_TABLE = Object.freeze({
  // Configuration and usage
  config_invalid: fails('config', 'Fix each problem listed (it names the option, variable or field), then run the command again.', false, EXIT.usage),

  // The Services API and storage
  unauthorized: fails('extract', 'Check the token id and secret (SPAAZA_TOKEN_ID, SPAAZA_TOKEN_SECRET or the files configured) and that the token is active.'),
  forbidden: fails('extract', "Give the token a scope that includes the chain, or configure the chain with a token of its own."),
  bad_request: fails('extract', 'Fix the request or the configuration it came from (sync.dateFields, a segment rule); it is not retried.'),
  task_not_found: fails('extract', 'Check that the token can see the chain of the task; `spaaza-sync abandon` gives up a window whose task is gone.'),
  download_unavailable: fails('extract', 'Nothing: the window is planned again with a new export task.'),
  http_error: fails('extract', 'Read the status in the message: Spaaza answered something this version does not expect; report it if it persists.'),
  rate_limited: fails('extract', 'Run fewer chains at once (schedule.parallelChains) or later; the next run tries again.', true),
  server_error: fails('extract', "Nothing now: Spaaza's Services API is failing and the next run tries again; check Spaaza's status if it persists.", true),
  poll_deadline: fails('extract', 'Nothing: the export task goes on at Spaaza and the next run resumes it; raise extract.pollDeadline if exports are this slow.'),
  timeout: fails('extract', 'Check that the host named is reachable and answers in time; raise extract.requestTimeout if it is slow.', true),
  network_error: fails('extract', 'Check that the host named is reachable from here (DNS, firewall, proxy).', 'by-cause'),
  create_outcome_unknown: fails('extract', 'Nothing: the next run finds the export task by its marker and adopts it rather than create a second.', true),
  invalid_response: fails('extract', 'Check that spaaza.baseUrl is the Services API (not a proxy page); report it if it is.'),
  invalid_request: fails('extract', 'Report it with the message: the client was asked for something it cannot send.'),
  download_url_expired: fails('extract', "Nothing: a fresh URL is asked for; if it keeps happening, check this machine's clock and the download's speed.", true),
  download_failed: fails('extract', 'Check that the storage host is reachable from here; a failure another try may fix is tried again with a fresh URL.', 'by-cause'),
  implausible_time: fails('extract', "Check this machine's clock (NTP) and the Date header of Spaaza's answers (a proxy may rewrite it); sync.maxClockSkew is the tolerance."),
  response_too_large: fails('extract', 'Check that spaaza.baseUrl is the Services API; raise extract.maxResponseBytes if the answer is genuine.'),

  // The export's bytes
  csv_header_ambiguous: fails('transform', 'Look at the export\'s header: two of its columns name the same field; report it if Spaaza sent it so.'),
  csv_header_missing_id: fails('transform', 'Check that the file is a voucher export: its header has no id column.'),
  csv_header_too_long: fails('transform', 'Raise sync.maxRecordBytes if the header is genuine; else the file is not a voucher export.'),
  csv_truncated: fails('transform', 'Nothing: the download is tried again; if it persists, the file at Spaaza is incomplete.', true),

  // Writing to the warehouse
  too_many_rejects: fails('load', 'Read the rejects in voucher_rejects (line and reason); fix the source, or raise sync.maxRejectRatio (--max-reject-ratio) if they are acceptable.'),
  chain_locked: fails('load', 'Wait for the run that holds the chain to finish (`spaaza-sync status` shows it), then run again.', false, EXIT.locked),
  load_failed: fails('load', 'Read the message: the window was rolled back and the watermark did not move; run again once the cause is fixed.', 'by-cause'),

  // The warehouse itself
  warehouse_unreachable: fails('warehouse', 'Check that PostgreSQL is running and that DATABASE_URL (host, port, database, user, password) is right.', true),
  warehouse_connection_lost: fails('warehouse', 'Nothing: the window was rolled back and the next run resumes its export task; check PostgreSQL if it repeats.'),
  migration_failed: fails('warehouse', 'Read the message: the migration was rolled back; fix its cause (permissions, an object in the way) and run `spaaza-sync migrate` again.'),
  migration_locked: fails('warehouse', 'Another process is migrating this warehouse: wait for it, then run again.', true),
  embedded_data_dir_unusable: fails('warehouse', 'Give the embedded PostgreSQL a data folder it can own (remove or fix the one named), or set DATABASE_URL.'),
  embedded_password_missing: fails('warehouse', 'Restore the password file named, or remove the embedded data folder to start afresh (its data is lost), or set DATABASE_URL.'),
  embedded_postgres_busy: fails('warehouse', 'Another process runs the embedded PostgreSQL of this folder: stop it, or set DATABASE_URL.'),
  embedded_postgres_failed: fails('warehouse', 'Read the server log named in the message; set DATABASE_URL to use a PostgreSQL of your own.'),

  // A run of a chain
  failpoint: fails('sync', 'Unset SPAAZA_SYNC_FAILPOINT: it is for tests only.', true),
  interrupted: fails('sync', 'Nothing: the next run goes on from where this one stopped.'),
  task_error: fails('sync', 'Nothing: the next run plans the window again; tell Spaaza if its export tasks keep failing.'),
  task_stuck: fails('sync', 'Nothing: the window is planned afresh; if it repeats, Spaaza\'s export queue is stuck (extract.abandonAfterDeadlines).'),
  watermark_ahead: fails('sync', "Check this machine's clock and Spaaza's; `spaaza-sync reset --watermark` sets a wrong watermark back."),
  window_failed: fails('sync', 'Read the message: the window was rolled back and the watermark did not move; run again once the cause is fixed.', 'by-cause'),
  deletions_refused: fails('sync', 'Check the export: if that many vouchers are truly gone, run full-refresh again with --allow-mass-delete.'),
  deletions_skipped_incomplete: fails('sync', "Run full-refresh again; if it persists, read the run's warnings and rejects in sync_runs and voucher_rejects."),
  not_reconciled: fails('sync', 'Run full-refresh again once the failure before it is fixed.'),
  run_failed: fails('sync', 'Read the message: the windows committed before it stay, later ones were not run; run again once the cause is fixed.', 'by-cause'),
  process_died: fails('sync', 'Nothing: a load-file whose process died left its window rolled back; run the load-file again.'),
  abandoned_by_operator: fails('sync', 'Nothing: `spaaza-sync abandon` gave the window up on purpose; the next run plans it again.'),
} satisfies Record<string, ErrorEntry>);

/** A code of ours. */
export type OwnErrorCode = keyof typeof ERROR_TABLE;
/** A PostgreSQL failure, by its SQLSTATE. */
export type SqlstateCode = `sqlstate_${string}`;
export type ErrorCode = OwnErrorCode | SqlstateCode;

export function isOwnErrorCode(code: string): code is OwnErrorCode {
  return Object.hasOwn(ERROR_TABLE, code);
}

const SQLSTATE_TODO = 'Read the message (PostgreSQL said it): the window was rolled back and the watermark did not move; run again once the cause is fixed.';

/** The entry of any code: ours, a SQLSTATE (retryable by its class), else a failure nobody named. */
export function errorEntry(code: string): ErrorEntry {
  if (isOwnErrorCode(code)) return ERROR_TABLE[code];
  const sqlstate = /^sqlstate_([0-9A-Z]{5})$/.exec(code)?.[1];
  if (sqlstate) {
    const rule = SQLSTATE_TABLE[sqlstate] ?? SQLSTATE_TABLE[sqlstate.slice(0, 2)];
    return fails('warehouse', SQLSTATE_TODO, rule?.retry ?? false);
  }
  return ERROR_TABLE.window_failed;
}

/** An error of ours: a code of the table (or a SQLSTATE), whether it may be retried, and context. */
interface CodedError {
  readonly code: string;
  readonly retryable: boolean;
}

/** A SpaazaSyncError, told apart without importing it (errors.ts reads this table). */
function isCoded(error: unknown): error is CodedError {
  if (!(error instanceof Error)) return false;
  const { code, retryable } = error as Partial<CodedError>;
  return typeof retryable === 'boolean' && typeof code === 'string' && (isOwnErrorCode(code) || code.startsWith('sqlstate_'));
}

/**
 * The stable code of any failure: ours as it is, a lost warehouse connection, a SQLSTATE, else
 * `fallback` (the stage's generic code).
 */
export function codeOf(error: unknown, fallback: OwnErrorCode): ErrorCode {
  if (isCoded(error)) return error.code as ErrorCode;
  if (ruleForError(error).kind === 'connection_lost') return 'warehouse_connection_lost';
  const sqlstate = sqlstateOf(error);
  return sqlstate ? `sqlstate_${sqlstate}` : fallback;
}

/** Whether another attempt may help: ours say so; anything else is judged by the failure table. */
export function isRetryable(error: unknown): boolean {
  return isCoded(error) ? error.retryable : ruleForError(error).retry;
}

/** The exit code a command ends with when `error` stops it. */
export function exitCodeOf(error: unknown): ExitCode {
  return isCoded(error) ? errorEntry(error.code).exit : EXIT.runFailed;
}
