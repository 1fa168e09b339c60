-- 0004_trust: what lets spaaza-sync prove which export tasks are its own, repair times that a
-- wrong clock set, and say on each run what it noticed.

-- ---------------------------------------------------------------------------------------------
-- warehouse_identity: one random id per warehouse schema, made here at migrate. It is part of
-- every export task's marker, so that two warehouses (staging beside production, a schema dropped
-- and made again) never adopt each other's tasks.
-- ---------------------------------------------------------------------------------------------

CREATE TABLE warehouse_identity (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    created_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO warehouse_identity DEFAULT VALUES;

COMMENT ON TABLE warehouse_identity IS
    'Bookkeeping, not for analysis: the identity of this warehouse schema, made when it was first migrated. Export tasks created by spaaza-sync carry it in their description, so a task is adopted only by the warehouse that created it.';
COMMENT ON COLUMN warehouse_identity.singleton IS 'Always true: the table holds exactly one row.';
COMMENT ON COLUMN warehouse_identity.id IS 'Random id of this warehouse schema; part of every export task marker (sync_runs.task_marker).';
COMMENT ON COLUMN warehouse_identity.created_at IS 'When the schema was migrated to include this table (warehouse clock).';

-- ---------------------------------------------------------------------------------------------
-- sync_runs: `reset` rows, and warnings
-- ---------------------------------------------------------------------------------------------

ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_mode_check;
ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_mode_check
    CHECK (mode IN ('incremental', 'backfill', 'full-refresh', 'file', 'reset'));

ALTER TABLE sync_runs ADD COLUMN warnings text[] NOT NULL DEFAULT '{}';

COMMENT ON COLUMN sync_runs.mode IS
    'Kind of run: ''incremental'' (regular sync from the watermark), ''backfill'' (re-export of a past date range), ''full-refresh'' (complete export; may soft-delete vouchers that vanished from Spaaza), ''file'' (a CSV loaded from disk with load-file) or ''reset'' (an operator moved the watermark with spaaza-sync reset; window_end holds the new watermark, error_message what changed).';
COMMENT ON COLUMN sync_runs.warnings IS
    'What the window noticed but did not fail on, one sentence each: duplicate column names that were renamed, records that may hide others (so a full refresh skipped its deletions), an export older than fullRefresh.maxAge. Empty when there was nothing to say.';

-- ---------------------------------------------------------------------------------------------
-- vouchers: finding row versions a wrong clock put in the future, among soft-deleted rows too
-- (live rows use vouchers_chain_exported_live_idx). Soft-deleted rows are few: it stays small.
-- ---------------------------------------------------------------------------------------------

CREATE INDEX vouchers_chain_exported_deleted_idx ON vouchers (chain_id, source_exported_at)
    WHERE deleted_at IS NOT NULL;
