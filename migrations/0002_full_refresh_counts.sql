-- 0002_full_refresh_counts: a full refresh records the chain's live row count before and after
-- it reconciled deletions, next to the rows its export held.

ALTER TABLE sync_runs
    ADD COLUMN live_rows_before bigint,
    ADD COLUMN live_rows_after bigint;

COMMENT ON COLUMN sync_runs.live_rows_before IS
    'Full refresh only: live (not soft-deleted) vouchers of the chain in the warehouse before this run reconciled deletions. Compare with rows_read, the rows Spaaza''s complete export held. NULL for other modes.';
COMMENT ON COLUMN sync_runs.live_rows_after IS
    'Full refresh only: live vouchers of the chain after this run committed (after soft-deleting the vouchers the export no longer contained). NULL for other modes.';
