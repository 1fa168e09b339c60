-- 0007_brin_without_expiry: the BRIN index of 0006 without expires_at (issue "Performance").
--
-- Measured at 5,000,000 vouchers (bench/results/bench-5000000.json, then by hand): for the
-- "expired" part of voucher_daily (`expires_at <= now()`, true of nearly every block range) the
-- planner chose a bitmap scan of the BRIN over a sequential one, and rechecked every row of the
-- table (3.2 million removed by recheck of 5 million): voucher_daily read whole took 6.1 s
-- against 3.9 s without it, 20% slower than with the B-trees of before 0006. Expiry follows the
-- order rows are written in too loosely for a summary per block range to exclude anything an
-- analyst asks for. Without it, vouchers_current and campaign_redemption read whole are 10–15%
-- faster as well, and a range filter on created_at (a smaller index) about 8 times faster.

DROP INDEX vouchers_times_brin;

CREATE INDEX vouchers_times_brin ON vouchers
    USING brin (source_exported_at, created_at, redeemed_at)
    WITH (pages_per_range = 32, autosummarize = on);

COMMENT ON INDEX vouchers_times_brin IS
    'Block-range summaries of the version, creation and redemption times, for range filters (created_at >= …, rows versioned after now); nearly free to maintain. Replaced the per-column B-tree indexes of 0001 (migrations 0006 and 0007).';
