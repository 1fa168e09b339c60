-- 0006_indexes_by_measurement: the secondary indexes of `vouchers` kept only where they earn their
-- cost (issue "Performance"; the measurements are in README "Performance").
--
-- Each B-tree index cost a full load of 1,000,000 vouchers 0.8 to 2.1 s (created +0.9, redeemed
-- +0.8, expires +2.1, campaign +2.1, status +1.5, exported-live +1.2: together more than the
-- load itself), and every changed row pays again. What used them:
--   - the README's analyst queries and the views read a chain's vouchers whole (per-campaign
--     aggregates, days_to_expiry and UTC days are computed per row): sequential scans, with or
--     without the indexes (EXPLAIN in the README);
--   - status, the deletion check of a full refresh and the merge read a chain whole or by its
--     primary key;
--   - only aheadOfClock (rows versioned after Spaaza's now, which a wrong clock leaves) searched
--     by source_exported_at, and it finds none almost always.
-- One BRIN index replaces them: a summary per 32 pages of the times, which follow the order rows
-- are written in (a first load writes vouchers by id, that is by creation; a new version goes
-- where there is room, mostly at the end). It costs the load next to nothing, answers "versions
-- after now" by skipping every range, and still narrows an analyst's range filter on created_at,
-- redeemed_at or expires_at.

DROP INDEX vouchers_chain_created_idx;
DROP INDEX vouchers_chain_redeemed_idx;
DROP INDEX vouchers_chain_expires_idx;
DROP INDEX vouchers_chain_campaign_idx;
DROP INDEX vouchers_chain_status_idx;
DROP INDEX vouchers_chain_exported_live_idx;
DROP INDEX vouchers_chain_exported_deleted_idx;

CREATE INDEX vouchers_times_brin ON vouchers
    USING brin (source_exported_at, created_at, redeemed_at, expires_at)
    WITH (pages_per_range = 32, autosummarize = on);

COMMENT ON INDEX vouchers_times_brin IS
    'Block-range summaries of the version and voucher times, for range filters (created_at >= …, rows versioned after now); nearly free to maintain. Replaced the per-column B-tree indexes of 0001 (see migration 0006).';
