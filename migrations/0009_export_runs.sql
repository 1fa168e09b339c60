-- `spaaza-sync export --load` and the scheduled refresh of open vouchers: a filtered export
-- loaded into the warehouse is a run of its own mode (`export`, `open-refresh`). Like a `file`
-- run it never moves the watermark and never deletes, and a row its dying process left
-- unfinished is failed by the next run of the chain (process_died).

ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_mode_check;
ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_mode_check
    CHECK (mode IN ('incremental', 'backfill', 'full-refresh', 'file', 'reset', 'export', 'open-refresh'));

COMMENT ON COLUMN sync_runs.mode IS
    'Kind of run: ''incremental'' (regular sync from the watermark), ''backfill'' (re-export of a past date range), ''full-refresh'' (complete export; may soft-delete vouchers that vanished from Spaaza), ''file'' (a CSV loaded from disk with load-file), ''export'' (a filtered export loaded with spaaza-sync export --load; source names its task), ''open-refresh'' (the scheduled refresh of the vouchers expiring soon or created lately: schedule.openRefreshCron) or ''reset'' (an operator moved the watermark with spaaza-sync reset; window_end holds the new watermark, error_message what changed).';
