/**
 * Every environment variable the tool reads, as data: the README's configuration reference and
 * `--help` are generated (or checked) from this list. A variable replaces the config-file key
 * named by `path`; an empty variable counts as unset.
 */

/** How the value is written; `integer` and `ratio` values are numbers, `list` is comma-separated. */
export type EnvVarFormat =
  | 'path'
  | 'postgres-url'
  | 'url'
  | 'uuid'
  | 'secret'
  | 'chain-ids'
  | 'identifier'
  | 'duration'
  | 'integer'
  | 'ratio'
  | 'date'
  | 'list'
  | 'text'
  | 'failpoint';

export interface EnvVar {
  readonly name: string;
  /** The config-file key this variable replaces (dotted), or null for SPAAZA_CONFIG itself. */
  readonly path: string | null;
  readonly format: EnvVarFormat;
  /** The default in config-file syntax, or null when there is none. */
  readonly default: string | null;
  readonly description: string;
}

const v = (name: string, path: string | null, format: EnvVarFormat, def: string | null, description: string): EnvVar =>
  Object.freeze({ name, path, format, default: def, description });

export const ENV_VARS: readonly EnvVar[] = Object.freeze([
  v('SPAAZA_CONFIG', null, 'path', './config/spaaza-sync.json', 'Path of the JSON config file, when --config is not given. Without either, ./config/spaaza-sync.json is read if it exists.'),
  v('DATABASE_URL', 'databaseUrl', 'postgres-url', null, 'PostgreSQL connection URL; it may hold the password. Unset: an embedded PostgreSQL under .spaaza-sync/pg. Replaces databaseUrl and databaseUrlFile.'),
  v('SPAAZA_SCHEMA', 'schema', 'identifier', 'spaaza', 'Warehouse schema: lower-case letters, digits and underscores, at most 63 characters.'),
  v('SPAAZA_BASE_URL', 'spaaza.baseUrl', 'url', null, 'Spaaza Services API address (required). https unless the host is loopback (127.0.0.0/8, ::1, localhost).'),
  v('SPAAZA_TOKEN_ID', 'spaaza.tokenId', 'uuid', null, 'Id (a UUID) of the access token shared by the chains that have no token of their own.'),
  v('SPAAZA_TOKEN_SECRET', 'spaaza.tokenSecretFile', 'secret', null, 'Secret of the shared access token. Replaces spaaza.tokenSecretFile.'),
  v('SPAAZA_CHAIN_IDS', 'spaaza.chains', 'chain-ids', null, 'Comma-separated chain ids that use the shared token, added to the chains of the file (a chain with its own token in the file keeps it).'),
  v('SPAAZA_LOOKBACK', 'sync.lookback', 'duration', '2h', 'How far before the watermark an incremental run starts again (overlap between runs). At least the settle delay.'),
  v('SPAAZA_SETTLE', 'sync.settle', 'duration', '10m', 'How far behind Spaaza\'s clock an incremental run stops, so recent vouchers have been indexed.'),
  v('SPAAZA_MAX_WINDOW_DAYS', 'sync.maxWindowDays', 'integer', '31', 'Longest date window of one export task, in days.'),
  v('SPAAZA_BACKFILL_START_DATE', 'sync.backfillStartDate', 'date', null, 'First run of a chain without a watermark: export windows from this date (YYYY-MM-DD = 00:00:00Z of that UTC day, or an ISO 8601 instant). Unset: one unfiltered export.'),
  v('SPAAZA_RESUME_MAX_AGE', 'sync.resumeMaxAge', 'duration', '24h', 'Unfinished windows younger than this are resumed with their stored task; older ones are abandoned and planned again.'),
  v('SPAAZA_MERGE_BATCH_ROWS', 'sync.mergeBatchRows', 'integer', '50000', 'Rows merged into the warehouse per batch while the next batch is parsed; larger uses more memory.'),
  v('SPAAZA_MAX_CLOCK_SKEW', 'sync.maxClockSkew', 'duration', '15m', 'Largest accepted distance between Spaaza\'s clock (its Date header, task dates) and this machine\'s, either way; a run that sees more fails and moves nothing.'),
  v('SPAAZA_MAX_RECORD_BYTES', 'sync.maxRecordBytes', 'integer', '4194304', 'Largest CSV record (and so field) in bytes; a longer one is cut, rejected, and makes a full refresh skip its deletions. Bounds memory.'),
  v('SPAAZA_LOAD_PATH', 'sync.loadPath', 'text', 'auto', 'How an export is staged: auto (PostgreSQL types the records by COPY when that can be exact, else the reference parser in Node takes over) or reference (always the reference parser).'),
  v('SPAAZA_MAX_REJECT_RATIO', 'sync.maxRejectRatio', 'ratio', '0.01', 'A window fails when its rejected rows exceed this share of its rows and 100 rows (0 to 1).'),
  v('SPAAZA_NO_EXPIRY_FROM', 'sync.noExpiryFrom', 'date', '2050-01-01T00:00:00Z', 'Expiries at or after this instant mean "no real expiry".'),
  v('SPAAZA_DATE_FIELDS', 'sync.dateFields', 'list', 'date_time_creation,date_time_redeemed', 'Comma-separated voucher date fields an incremental window filters on (any of them inside the window).'),
  v('SPAAZA_POLL_INITIAL', 'extract.pollInitial', 'duration', '250ms', 'First wait before polling a new export task; each later wait is 1.5 times longer.'),
  v('SPAAZA_POLL_MAX_INTERVAL', 'extract.pollMaxInterval', 'duration', '60s', 'Longest wait between two polls of a task.'),
  v('SPAAZA_POLL_DEADLINE', 'extract.pollDeadline', 'duration', '60m', 'How long a run waits for an export task to finish; the task is kept for the next run.'),
  v('SPAAZA_ABANDON_AFTER_DEADLINES', 'extract.abandonAfterDeadlines', 'integer', '2', 'A task still unfinished after this many poll deadlines (over as many runs) is abandoned as stuck, and its window planned afresh with a new task.'),
  v('SPAAZA_DOWNLOAD_ATTEMPTS', 'extract.downloadAttempts', 'integer', '3', 'Attempts to download one export, each with a fresh download URL.'),
  v('SPAAZA_REQUEST_TIMEOUT', 'extract.requestTimeout', 'duration', '30s', 'Timeout of one Services API request.'),
  v('SPAAZA_EXECUTE_TIMEOUT', 'extract.executeTimeout', 'duration', '15m', 'Timeout of POST /tasks/{id}/execute, which may block while the export runs.'),
  v('SPAAZA_HTTP_RETRIES', 'extract.httpRetries', 'integer', '5', 'Retries of one request after 429, 5xx or a network error (with backoff and jitter).'),
  v('SPAAZA_MAX_RESPONSE_BYTES', 'extract.maxResponseBytes', 'integer', '8388608', 'Largest Services API answer in bytes; a larger one fails the call (it is not JSON Spaaza would send).'),
  v('SPAAZA_MAX_DELETE_RATIO', 'fullRefresh.maxDeleteRatio', 'ratio', '0.1', 'A full refresh refuses to soft-delete more than this share of a chain\'s live vouchers, unless --allow-mass-delete (0 to 1).'),
  v('SPAAZA_FULL_REFRESH_MAX_AGE', 'fullRefresh.maxAge', 'duration', '1h', 'A full refresh reconciles against an export no older than this: a resumed older export is loaded, then a fresh one taken in the same run.'),
  v('SPAAZA_INCREMENTAL_CRON', 'schedule.incrementalCron', 'text', '*/15 * * * *', '`schedule`: cron expression of the incremental sync.'),
  v('SPAAZA_FULL_REFRESH_CRON', 'schedule.fullRefreshCron', 'text', '0 3 * * *', '`schedule`: cron expression of the full refresh.'),
  v('SPAAZA_TIMEZONE', 'schedule.timezone', 'text', 'UTC', '`schedule`: IANA time zone of the cron expressions.'),
  v('SPAAZA_PARALLEL_CHAINS', 'schedule.parallelChains', 'integer', '1', '`schedule`: how many chains are synced at the same time.'),
  v('SPAAZA_OPEN_REFRESH_CRON', 'schedule.openRefreshCron', 'text', null, '`schedule`: cron expression of the refresh of the vouchers dashboards care about most (expiring soon or created lately; upserts, never deletes). Unset: off.'),
  v('SPAAZA_OPEN_REFRESH_EXPIRING_WITHIN', 'schedule.openRefreshExpiringWithin', 'duration', '14d', '`schedule`: the open refresh takes the vouchers expiring within this.'),
  v('SPAAZA_OPEN_REFRESH_CREATED_WITHIN', 'schedule.openRefreshCreatedWithin', 'duration', '30d', '`schedule`: the open refresh also takes the vouchers created within this.'),
  v('SPAAZA_SYNC_FAILPOINT', 'failpoint', 'failpoint', null, 'Test only: arm a crash failpoint, <name>:<kill|throw>, name one of after-create, polling, mid-download, mid-copy, before-commit, after-commit.'),
]);
