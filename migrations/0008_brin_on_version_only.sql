-- 0008_brin_on_version_only: the BRIN index of vouchers on the row version alone (issue
-- "Performance").
--
-- 0007 left expires_at out, for voucher_daily read whole (see there). The next 5,000,000 run
-- showed the same of the remaining voucher times: the README's "issued vs redeemed per week" used
-- the BRIN for voucher_daily's `redeemed_at IS NOT NULL` and took 1.25 times as long as with no
-- index at all (4.2 s against 3.4 s). Only the version stays summarized, for the one search that
-- earns it: rows versioned after Spaaza's now (status, check, every sync), 3 ms against 0.8 s at
-- 5,000,000. A selective filter of your own on a voucher time deserves a B-tree of its own
-- (README, "The warehouse schema").

DROP INDEX vouchers_times_brin;

CREATE INDEX vouchers_version_brin ON vouchers
    USING brin (source_exported_at)
    WITH (pages_per_range = 32, autosummarize = on);

COMMENT ON INDEX vouchers_version_brin IS
    'Block-range summaries of the row versions (source_exported_at), for "rows versioned after now" (status, check, sync before it runs); nearly free to maintain. Replaced the per-column B-tree indexes of 0001 (migrations 0006 to 0008).';
