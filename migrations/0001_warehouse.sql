-- 0001_warehouse: the tables and views of the spaaza-sync warehouse (DESIGN.md §3, §4).
--
-- Run by the Migrator inside one transaction, with the target namespace already first on the
-- search path: nothing here is qualified. Forward-only. Works on PostgreSQL 15 and 17.
--
-- chain_id leads every key. `vouchers` has no foreign key to the bookkeeping tables
-- (sync_runs, sync_state, voucher_rejects), so it can later be distributed by chain.

-- ---------------------------------------------------------------------------------------------
-- sync_runs: one row per run and window
-- ---------------------------------------------------------------------------------------------

CREATE TABLE sync_runs (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id              uuid NOT NULL,
    chain_id            bigint NOT NULL,
    stream              text NOT NULL DEFAULT 'vouchers',
    mode                text NOT NULL
                        CHECK (mode IN ('incremental', 'backfill', 'full-refresh', 'file')),
    window_start        timestamptz,
    window_end          timestamptz,
    task_id             bigint,
    task_marker         text,
    source              text,
    state               text NOT NULL
                        CHECK (state IN ('planned', 'task_created', 'polling', 'downloading',
                                         'loading', 'committed', 'failed', 'abandoned')),
    started_at          timestamptz NOT NULL DEFAULT now(),
    finished_at         timestamptz,
    source_exported_at  timestamptz,
    rows_read           bigint NOT NULL DEFAULT 0,
    rows_inserted       bigint NOT NULL DEFAULT 0,
    rows_updated        bigint NOT NULL DEFAULT 0,
    rows_unchanged      bigint NOT NULL DEFAULT 0,
    rows_rejected       bigint NOT NULL DEFAULT 0,
    rows_inconsistent   bigint NOT NULL DEFAULT 0,
    rows_duplicate      bigint NOT NULL DEFAULT 0,
    rows_deleted        bigint NOT NULL DEFAULT 0,
    bytes               bigint NOT NULL DEFAULT 0,
    unknown_columns     text[] NOT NULL DEFAULT '{}',
    deletions_refused   boolean NOT NULL DEFAULT false,
    error_code          text,
    error_message       text
);

CREATE INDEX sync_runs_chain_started_idx ON sync_runs (chain_id, started_at DESC);

CREATE INDEX sync_runs_unfinished_idx ON sync_runs (chain_id, mode, started_at)
    WHERE state NOT IN ('committed', 'failed', 'abandoned');

-- ---------------------------------------------------------------------------------------------
-- sync_state: the watermark per chain and stream
-- ---------------------------------------------------------------------------------------------

CREATE TABLE sync_state (
    chain_id              bigint NOT NULL,
    stream                text NOT NULL,
    watermark             timestamptz NOT NULL,
    last_run_id           bigint,
    updated_at            timestamptz NOT NULL DEFAULT now(),
    last_full_refresh_at  timestamptz,
    PRIMARY KEY (chain_id, stream)
);

-- ---------------------------------------------------------------------------------------------
-- vouchers: the latest known state of every voucher
-- ---------------------------------------------------------------------------------------------

CREATE TABLE vouchers (
    chain_id            bigint NOT NULL,
    voucher_id          bigint NOT NULL,
    voucher_key         text,
    user_id             bigint,
    campaign_id         bigint,
    campaign_type       text,
    campaign_title      text,
    voucher_type        text,
    status              text,
    locked              boolean,
    title               text,
    currency_id         integer,
    currency_symbol     text,
    amount_original     numeric,
    amount_redeemed     numeric,
    amount              numeric,
    created_at          timestamptz,
    redeemed_at         timestamptz,
    expires_at          timestamptz,
    is_redeemed         boolean,
    has_real_expiry     boolean,
    extra               jsonb NOT NULL DEFAULT '{}',
    first_seen_run_id   bigint NOT NULL,
    last_seen_run_id    bigint NOT NULL,
    source_exported_at  timestamptz NOT NULL,
    first_seen_at       timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz,
    PRIMARY KEY (chain_id, voucher_id)
);

CREATE INDEX vouchers_chain_created_idx  ON vouchers (chain_id, created_at);
CREATE INDEX vouchers_chain_redeemed_idx ON vouchers (chain_id, redeemed_at)
    WHERE redeemed_at IS NOT NULL;
CREATE INDEX vouchers_chain_expires_idx  ON vouchers (chain_id, expires_at);
CREATE INDEX vouchers_chain_campaign_idx ON vouchers (chain_id, campaign_id);
CREATE INDEX vouchers_chain_status_idx   ON vouchers (chain_id, status);
CREATE INDEX vouchers_chain_exported_live_idx ON vouchers (chain_id, source_exported_at)
    WHERE deleted_at IS NULL;

-- ---------------------------------------------------------------------------------------------
-- campaigns: each campaign's latest type and title
-- ---------------------------------------------------------------------------------------------

CREATE TABLE campaigns (
    chain_id            bigint NOT NULL,
    campaign_id         bigint NOT NULL,
    campaign_type       text,
    title               text,
    source_exported_at  timestamptz NOT NULL,
    first_seen_run_id   bigint NOT NULL,
    last_seen_run_id    bigint NOT NULL,
    first_seen_at       timestamptz NOT NULL DEFAULT now(),
    last_seen_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, campaign_id)
);

-- ---------------------------------------------------------------------------------------------
-- voucher_rejects: CSV records that could not be loaded
-- ---------------------------------------------------------------------------------------------

CREATE TABLE voucher_rejects (
    chain_id      bigint NOT NULL,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    sync_run_id   bigint NOT NULL REFERENCES sync_runs (id),
    window_start  timestamptz,
    window_end    timestamptz,
    line          bigint NOT NULL,
    voucher_id    text,
    raw_record    text NOT NULL,
    reason        text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, id)
);

CREATE INDEX voucher_rejects_sync_run_idx ON voucher_rejects (sync_run_id);

-- ---------------------------------------------------------------------------------------------
-- Views for analysts (computed at query time; now() is the start of the querying transaction)
-- ---------------------------------------------------------------------------------------------

CREATE VIEW vouchers_current AS
SELECT
    v.chain_id,
    v.voucher_id,
    v.voucher_key,
    v.user_id,
    v.campaign_id,
    v.campaign_type,
    v.campaign_title,
    v.voucher_type,
    v.status,
    v.locked,
    v.title,
    v.currency_id,
    v.currency_symbol,
    v.amount_original,
    v.amount_redeemed,
    v.amount,
    v.created_at,
    v.redeemed_at,
    v.expires_at,
    v.is_redeemed,
    v.has_real_expiry,
    v.extra,
    v.first_seen_run_id,
    v.last_seen_run_id,
    v.source_exported_at,
    v.first_seen_at,
    v.updated_at,
    v.deleted_at,
    coalesce(v.has_real_expiry IS TRUE
             AND v.expires_at IS NOT NULL
             AND v.expires_at <= now()
             AND v.is_redeemed IS NOT TRUE,
             false)                                                         AS is_expired,
    CASE WHEN v.has_real_expiry IS TRUE THEN
        floor((extract(epoch FROM v.expires_at) - extract(epoch FROM now())) / 86400)::integer
    END                                                                     AS days_to_expiry,
    CASE WHEN v.is_redeemed IS TRUE THEN 0::numeric ELSE v.amount END       AS amount_remaining
FROM vouchers v
WHERE v.deleted_at IS NULL;

CREATE VIEW campaign_redemption AS
SELECT
    g.chain_id,
    g.campaign_id,
    coalesce(c.campaign_type, g.voucher_campaign_type)                      AS campaign_type,
    coalesce(c.title, g.voucher_campaign_title)                             AS campaign_title,
    g.vouchers_issued,
    g.vouchers_redeemed,
    round(g.vouchers_redeemed::numeric / nullif(g.vouchers_issued, 0), 4)   AS redemption_rate,
    g.amount_issued,
    g.amount_redeemed,
    g.amount_outstanding,
    g.vouchers_expired
FROM (
    SELECT
        vc.chain_id,
        vc.campaign_id,
        -- fallback when the campaign is not in `campaigns`: the type and title of the voucher
        -- exported most recently (ties: the highest voucher id) that carries one
        (array_agg(vc.campaign_type ORDER BY vc.source_exported_at DESC, vc.voucher_id DESC)
            FILTER (WHERE vc.campaign_type IS NOT NULL))[1]                 AS voucher_campaign_type,
        (array_agg(vc.campaign_title ORDER BY vc.source_exported_at DESC, vc.voucher_id DESC)
            FILTER (WHERE vc.campaign_title IS NOT NULL))[1]                AS voucher_campaign_title,
        count(*)                                                            AS vouchers_issued,
        count(*) FILTER (WHERE vc.is_redeemed IS TRUE)                      AS vouchers_redeemed,
        coalesce(sum(vc.amount_original), 0)                                AS amount_issued,
        coalesce(sum(vc.amount_redeemed) FILTER (WHERE vc.is_redeemed IS TRUE), 0)
                                                                            AS amount_redeemed,
        coalesce(sum(vc.amount_remaining)
                     FILTER (WHERE vc.is_redeemed IS NOT TRUE AND NOT vc.is_expired), 0)
                                                                            AS amount_outstanding,
        count(*) FILTER (WHERE vc.is_expired)                               AS vouchers_expired
    FROM vouchers_current vc
    GROUP BY vc.chain_id, vc.campaign_id
) g
LEFT JOIN campaigns c
       ON c.chain_id = g.chain_id
      AND c.campaign_id = g.campaign_id;

CREATE VIEW voucher_daily AS
SELECT
    e.chain_id,
    e.campaign_id,
    e.day,
    count(*) FILTER (WHERE e.kind = 'issued')                               AS issued,
    count(*) FILTER (WHERE e.kind = 'redeemed')                             AS redeemed,
    count(*) FILTER (WHERE e.kind = 'expired')                              AS expired
FROM (
    SELECT vc.chain_id, vc.campaign_id,
           (vc.created_at AT TIME ZONE 'UTC')::date AS day, 'issued'::text AS kind
      FROM vouchers_current vc
     WHERE vc.created_at IS NOT NULL
    UNION ALL
    SELECT vc.chain_id, vc.campaign_id,
           (vc.redeemed_at AT TIME ZONE 'UTC')::date, 'redeemed'::text
      FROM vouchers_current vc
     WHERE vc.redeemed_at IS NOT NULL
       AND vc.is_redeemed IS TRUE
    UNION ALL
    SELECT vc.chain_id, vc.campaign_id,
           (vc.expires_at AT TIME ZONE 'UTC')::date, 'expired'::text
      FROM vouchers_current vc
     WHERE vc.is_expired
) e
GROUP BY e.chain_id, e.campaign_id, e.day;

-- ---------------------------------------------------------------------------------------------
-- Comments: sync_runs
-- ---------------------------------------------------------------------------------------------

COMMENT ON TABLE sync_runs IS
    'History of spaaza-sync runs: one row per run and date window. A command (sync, backfill, full-refresh, load-file) is one run_id; each window it exports and loads is one row with its own id. Vouchers, campaigns and rejects point at id for lineage. Use it to see when data was last loaded, from which Spaaza export task, and what each load changed.';
COMMENT ON COLUMN sync_runs.id IS
    'Identifier of this window''s row (assigned by the warehouse). vouchers.first_seen_run_id / last_seen_run_id, campaigns.*_run_id, voucher_rejects.sync_run_id and sync_state.last_run_id refer to it.';
COMMENT ON COLUMN sync_runs.run_id IS
    'Identifier of the command invocation; shared by all windows (rows) of one sync, backfill, full-refresh or load-file command.';
COMMENT ON COLUMN sync_runs.chain_id IS
    'Spaaza chain (retailer) id the window was exported for.';
COMMENT ON COLUMN sync_runs.stream IS
    'Spaaza export index that was synced; currently always ''vouchers''.';
COMMENT ON COLUMN sync_runs.mode IS
    'Kind of run: ''incremental'' (regular sync from the watermark), ''backfill'' (re-export of a past date range), ''full-refresh'' (complete export; may soft-delete vouchers that vanished from Spaaza) or ''file'' (a CSV loaded from disk with load-file).';
COMMENT ON COLUMN sync_runs.window_start IS
    'Start of the date window (inclusive) of the export: vouchers created or redeemed from this instant on. NULL when the export was not limited to a date range (full refresh, unfiltered first run, file load).';
COMMENT ON COLUMN sync_runs.window_end IS
    'End of the date window (inclusive) of the export: vouchers created or redeemed up to this instant. Consecutive windows share their boundary instant. NULL when the export was not limited to a date range.';
COMMENT ON COLUMN sync_runs.task_id IS
    'Id of the Spaaza export task (POST /tasks) that produced the data. NULL before the task was created and for file loads.';
COMMENT ON COLUMN sync_runs.task_marker IS
    'Unique marker written into the export task''s description (desc), used to find the task again when a run is resumed. NULL for file loads.';
COMMENT ON COLUMN sync_runs.source IS
    'Where the data came from: scheme, host and path of the download URL (never its query string, which holds the signature), or the file name for a file load. NULL until known.';
COMMENT ON COLUMN sync_runs.state IS
    'Progress of the window: planned, task_created, polling, downloading, loading, then committed (its data is in the warehouse), failed (see error_code / error_message; it changed no vouchers and no watermark) or abandoned (its export could no longer be downloaded or was too old to resume; the window is planned again as a new row). Only committed windows changed vouchers.';
COMMENT ON COLUMN sync_runs.started_at IS
    'When the window started (warehouse clock).';
COMMENT ON COLUMN sync_runs.finished_at IS
    'When the window reached committed, failed or abandoned (warehouse clock). NULL while it is still running or was interrupted.';
COMMENT ON COLUMN sync_runs.source_exported_at IS
    'Spaaza''s time of the export: the task''s last_run_date once DONE (else its created_date); for a file load, --exported-at or the file''s modification time. NULL until known.';
COMMENT ON COLUMN sync_runs.rows_read IS
    'Number of data records read from the CSV (header excluded).';
COMMENT ON COLUMN sync_runs.rows_inserted IS
    'Number of vouchers that were new to the warehouse.';
COMMENT ON COLUMN sync_runs.rows_updated IS
    'Number of existing vouchers whose content changed and were rewritten.';
COMMENT ON COLUMN sync_runs.rows_unchanged IS
    'Number of vouchers already stored with identical content (or from a newer export), so nothing was written.';
COMMENT ON COLUMN sync_runs.rows_rejected IS
    'Number of records that could not be loaded; each one is in voucher_rejects with its line and reason.';
COMMENT ON COLUMN sync_runs.rows_inconsistent IS
    'Number of records loaded as sent although their redemption time or amounts disagree with their status.';
COMMENT ON COLUMN sync_runs.rows_duplicate IS
    'Number of records whose voucher id appeared again later in the same export (the last line of an id wins).';
COMMENT ON COLUMN sync_runs.rows_deleted IS
    'Number of vouchers soft-deleted (deleted_at set) because they were missing from a full refresh. 0 for other modes.';
COMMENT ON COLUMN sync_runs.bytes IS
    'Size of the downloaded or read CSV file, in bytes.';
COMMENT ON COLUMN sync_runs.unknown_columns IS
    'CSV header names the warehouse does not know; their values were kept in vouchers.extra. Empty array when none.';
COMMENT ON COLUMN sync_runs.deletions_refused IS
    'True when a full refresh would have soft-deleted more vouchers than its safety guard allows (default 10% of the chain''s live vouchers, or any at all from an empty export without --allow-mass-delete): its upserts committed but nothing was deleted. False otherwise.';
COMMENT ON COLUMN sync_runs.error_code IS
    'Machine-readable error code of a failed window. NULL unless state is failed (or abandoned with a reason).';
COMMENT ON COLUMN sync_runs.error_message IS
    'Human-readable error of a failed window. NULL unless state is failed (or abandoned with a reason).';

-- ---------------------------------------------------------------------------------------------
-- Comments: sync_state
-- ---------------------------------------------------------------------------------------------

COMMENT ON TABLE sync_state IS
    'Progress of incremental syncing: one row per chain and stream. The watermark says up to which instant Spaaza''s vouchers have been loaded.';
COMMENT ON COLUMN sync_state.chain_id IS
    'Spaaza chain (retailer) id.';
COMMENT ON COLUMN sync_state.stream IS
    'Spaaza export index the watermark belongs to; currently always ''vouchers''.';
COMMENT ON COLUMN sync_state.watermark IS
    'Upper bound (window_end, Spaaza''s clock) of the last committed window contiguous with the loaded history: vouchers created or redeemed before it have been loaded. The next incremental sync starts from it minus a lookback overlap. Only ever moves forward.';
COMMENT ON COLUMN sync_state.last_run_id IS
    'sync_runs.id of the window that last moved the watermark. NULL if never set by a run.';
COMMENT ON COLUMN sync_state.updated_at IS
    'When this row last changed (warehouse clock).';
COMMENT ON COLUMN sync_state.last_full_refresh_at IS
    'When the last full refresh of this chain and stream committed. NULL if there was none.';

-- ---------------------------------------------------------------------------------------------
-- Comments: vouchers
-- ---------------------------------------------------------------------------------------------

COMMENT ON TABLE vouchers IS
    'Every Spaaza voucher seen, one row per chain and voucher, in the state of the latest export that carried it; includes soft-deleted vouchers (deleted_at set). Analysts usually want the view vouchers_current instead.';
COMMENT ON COLUMN vouchers.chain_id IS
    'Spaaza chain (retailer) id. Taken from the export task, never from the CSV.';
COMMENT ON COLUMN vouchers.voucher_id IS
    'Spaaza voucher id (CSV column id / voucher_id). Unique within a chain.';
COMMENT ON COLUMN vouchers.voucher_key IS
    'Spaaza''s voucher key (the code used to look the voucher up or redeem it). NULL when not exported.';
COMMENT ON COLUMN vouchers.user_id IS
    'Spaaza user (member) the voucher belongs to. NULL when it is not assigned to a user.';
COMMENT ON COLUMN vouchers.campaign_id IS
    'Spaaza campaign that issued the voucher. NULL when the export had none (empty or 0).';
COMMENT ON COLUMN vouchers.campaign_type IS
    'Type of the issuing campaign as exported, lower-cased and trimmed. NULL when empty.';
COMMENT ON COLUMN vouchers.campaign_title IS
    'Title of the issuing campaign as exported with this voucher, trimmed. The campaigns table keeps each campaign''s latest title.';
COMMENT ON COLUMN vouchers.voucher_type IS
    'Spaaza voucher type, e.g. basket (money off), basket_pct (percentage off: amounts are percentages, not money), honour, basket_fixed_unit.';
COMMENT ON COLUMN vouchers.status IS
    'Spaaza voucher status: generated, claimed or redeemed. NULL when empty.';
COMMENT ON COLUMN vouchers.locked IS
    'True when Spaaza has locked the voucher (it cannot be redeemed while locked). NULL when empty.';
COMMENT ON COLUMN vouchers.title IS
    'Title of the voucher shown to the member. NULL when empty.';
COMMENT ON COLUMN vouchers.currency_id IS
    'Spaaza currency id of the amounts. NULL when empty.';
COMMENT ON COLUMN vouchers.currency_symbol IS
    'Currency symbol of the amounts, e.g. €. NULL when empty.';
COMMENT ON COLUMN vouchers.amount_original IS
    'Value of the voucher when issued, in its currency (a percentage for basket_pct vouchers). Exact decimal. NULL when empty.';
COMMENT ON COLUMN vouchers.amount_redeemed IS
    'Value redeemed, in the voucher''s currency (percentage for basket_pct). 0 until redeemed. A partial redemption puts the remainder on a new, regenerated voucher. NULL when empty.';
COMMENT ON COLUMN vouchers.amount IS
    'Current value of the voucher as Spaaza reports it, in its currency (percentage for basket_pct); after a redemption it equals the redeemed part. NULL when empty.';
COMMENT ON COLUMN vouchers.created_at IS
    'When Spaaza issued the voucher (UTC instant). NULL when empty.';
COMMENT ON COLUMN vouchers.redeemed_at IS
    'When the voucher was redeemed (UTC instant). NULL when not redeemed.';
COMMENT ON COLUMN vouchers.expires_at IS
    'Expiry as sent by Spaaza (UTC instant). A value at or after 2050-01-01 is Spaaza''s "no expiry" sentinel (see has_real_expiry). NULL when the voucher has no expiry at all.';
COMMENT ON COLUMN vouchers.is_redeemed IS
    'True exactly when status = ''redeemed''. NULL when status is NULL.';
COMMENT ON COLUMN vouchers.has_real_expiry IS
    'True when expires_at is a real expiry; false when it is at/after the 2050-01-01 "no expiry" sentinel; NULL when there is no expiry at all.';
COMMENT ON COLUMN vouchers.extra IS
    'CSV columns the warehouse does not know, as a JSON object {header: value as text, null when empty}. {} when none.';
COMMENT ON COLUMN vouchers.first_seen_run_id IS
    'sync_runs.id of the window that first loaded this voucher.';
COMMENT ON COLUMN vouchers.last_seen_run_id IS
    'sync_runs.id of the window that last wrote this row (its content changed, or it was soft-deleted). Not touched when an export repeats identical content.';
COMMENT ON COLUMN vouchers.source_exported_at IS
    'Spaaza''s time of the export this row''s content came from. A row is only replaced by an export at or after this time.';
COMMENT ON COLUMN vouchers.first_seen_at IS
    'When the warehouse first stored this voucher (warehouse clock).';
COMMENT ON COLUMN vouchers.updated_at IS
    'When this row''s content (a voucher column, extra or deleted_at) last changed in the warehouse (warehouse clock).';
COMMENT ON COLUMN vouchers.deleted_at IS
    'When a full refresh found that the voucher no longer exists in Spaaza (soft delete). NULL for live vouchers; cleared if the voucher reappears.';

-- ---------------------------------------------------------------------------------------------
-- Comments: campaigns
-- ---------------------------------------------------------------------------------------------

COMMENT ON TABLE campaigns IS
    'Spaaza campaigns seen in voucher exports, one row per chain and campaign, with the latest type and title exported.';
COMMENT ON COLUMN campaigns.chain_id IS
    'Spaaza chain (retailer) id.';
COMMENT ON COLUMN campaigns.campaign_id IS
    'Spaaza campaign id (vouchers.campaign_id).';
COMMENT ON COLUMN campaigns.campaign_type IS
    'Latest exported campaign type, lower-cased and trimmed. NULL when the export had none.';
COMMENT ON COLUMN campaigns.title IS
    'Latest exported campaign title, trimmed. NULL when the export had none.';
COMMENT ON COLUMN campaigns.source_exported_at IS
    'Spaaza''s time of the export the type and title came from.';
COMMENT ON COLUMN campaigns.first_seen_run_id IS
    'sync_runs.id of the window that first saw this campaign.';
COMMENT ON COLUMN campaigns.last_seen_run_id IS
    'sync_runs.id of the window that last saw this campaign.';
COMMENT ON COLUMN campaigns.first_seen_at IS
    'When the warehouse first stored this campaign (warehouse clock).';
COMMENT ON COLUMN campaigns.last_seen_at IS
    'When a voucher export last carried this campaign (warehouse clock).';

-- ---------------------------------------------------------------------------------------------
-- Comments: voucher_rejects
-- ---------------------------------------------------------------------------------------------

COMMENT ON TABLE voucher_rejects IS
    'CSV records of a Spaaza export that could not be loaded (bad id, timestamp, amount, boolean, field count, another chain, ...), with the raw text and the reason. A failed window keeps its first 1,000 rejects.';
COMMENT ON COLUMN voucher_rejects.chain_id IS
    'Spaaza chain (retailer) id of the export.';
COMMENT ON COLUMN voucher_rejects.id IS
    'Identifier of the reject (assigned by the warehouse).';
COMMENT ON COLUMN voucher_rejects.sync_run_id IS
    'sync_runs.id of the window whose file contained the record.';
COMMENT ON COLUMN voucher_rejects.window_start IS
    'Start of that window''s date range (copied from sync_runs). NULL when the window had none.';
COMMENT ON COLUMN voucher_rejects.window_end IS
    'End of that window''s date range (copied from sync_runs). NULL when the window had none.';
COMMENT ON COLUMN voucher_rejects.line IS
    'Line of the CSV file where the record starts, 1-based, the header being line 1 (a quoted field may span several lines).';
COMMENT ON COLUMN voucher_rejects.voucher_id IS
    'Voucher id as written in the record, when it could be read. NULL otherwise.';
COMMENT ON COLUMN voucher_rejects.raw_record IS
    'The record exactly as it appeared in the file (without its line ending).';
COMMENT ON COLUMN voucher_rejects.reason IS
    'Why the record was rejected, naming the column and problem.';
COMMENT ON COLUMN voucher_rejects.created_at IS
    'When the reject was stored (warehouse clock).';

-- ---------------------------------------------------------------------------------------------
-- Comments: vouchers_current
-- ---------------------------------------------------------------------------------------------

COMMENT ON VIEW vouchers_current IS
    'Live Spaaza vouchers (not soft-deleted), with is_expired, days_to_expiry and amount_remaining computed at query time. The starting point for voucher analysis.';
COMMENT ON COLUMN vouchers_current.chain_id IS
    'Spaaza chain (retailer) id.';
COMMENT ON COLUMN vouchers_current.voucher_id IS
    'Spaaza voucher id. Unique within a chain.';
COMMENT ON COLUMN vouchers_current.voucher_key IS
    'Spaaza''s voucher key (the code used to look the voucher up or redeem it). NULL when not exported.';
COMMENT ON COLUMN vouchers_current.user_id IS
    'Spaaza user (member) the voucher belongs to. NULL when it is not assigned to a user.';
COMMENT ON COLUMN vouchers_current.campaign_id IS
    'Spaaza campaign that issued the voucher. NULL when the export had none.';
COMMENT ON COLUMN vouchers_current.campaign_type IS
    'Type of the issuing campaign as exported with this voucher, lower-cased and trimmed. NULL when empty.';
COMMENT ON COLUMN vouchers_current.campaign_title IS
    'Title of the issuing campaign as exported with this voucher. See campaigns for the latest title.';
COMMENT ON COLUMN vouchers_current.voucher_type IS
    'Spaaza voucher type, e.g. basket (money off), basket_pct (percentage off: amounts are percentages, not money), honour, basket_fixed_unit.';
COMMENT ON COLUMN vouchers_current.status IS
    'Spaaza voucher status: generated, claimed or redeemed. Expiry is not a status: see is_expired.';
COMMENT ON COLUMN vouchers_current.locked IS
    'True when Spaaza has locked the voucher (it cannot be redeemed while locked). NULL when empty.';
COMMENT ON COLUMN vouchers_current.title IS
    'Title of the voucher shown to the member. NULL when empty.';
COMMENT ON COLUMN vouchers_current.currency_id IS
    'Spaaza currency id of the amounts. NULL when empty.';
COMMENT ON COLUMN vouchers_current.currency_symbol IS
    'Currency symbol of the amounts, e.g. €. NULL when empty.';
COMMENT ON COLUMN vouchers_current.amount_original IS
    'Value of the voucher when issued, in its currency (a percentage for basket_pct vouchers). NULL when empty.';
COMMENT ON COLUMN vouchers_current.amount_redeemed IS
    'Value redeemed (percentage for basket_pct); 0 until redeemed. The remainder of a partial redemption is on a regenerated voucher. NULL when empty.';
COMMENT ON COLUMN vouchers_current.amount IS
    'Current value as Spaaza reports it (percentage for basket_pct); after a redemption it equals the redeemed part. NULL when empty.';
COMMENT ON COLUMN vouchers_current.created_at IS
    'When Spaaza issued the voucher (UTC instant). NULL when empty.';
COMMENT ON COLUMN vouchers_current.redeemed_at IS
    'When the voucher was redeemed (UTC instant). NULL when not redeemed.';
COMMENT ON COLUMN vouchers_current.expires_at IS
    'Expiry as sent by Spaaza; at/after 2050-01-01 means "no expiry" (has_real_expiry false). NULL when the voucher has no expiry at all.';
COMMENT ON COLUMN vouchers_current.is_redeemed IS
    'True exactly when status = ''redeemed''. NULL when status is NULL.';
COMMENT ON COLUMN vouchers_current.has_real_expiry IS
    'True when expires_at is a real expiry; false for the 2050-01-01 "no expiry" sentinel; NULL when there is no expiry at all.';
COMMENT ON COLUMN vouchers_current.extra IS
    'CSV columns the warehouse does not know, as a JSON object {header: value as text, null when empty}. {} when none.';
COMMENT ON COLUMN vouchers_current.first_seen_run_id IS
    'sync_runs.id of the window that first loaded this voucher.';
COMMENT ON COLUMN vouchers_current.last_seen_run_id IS
    'sync_runs.id of the window that last changed this voucher.';
COMMENT ON COLUMN vouchers_current.source_exported_at IS
    'Spaaza''s time of the export this row''s content came from: how fresh the row is.';
COMMENT ON COLUMN vouchers_current.first_seen_at IS
    'When the warehouse first stored this voucher (warehouse clock).';
COMMENT ON COLUMN vouchers_current.updated_at IS
    'When this voucher''s content last changed in the warehouse (warehouse clock).';
COMMENT ON COLUMN vouchers_current.deleted_at IS
    'Always NULL in this view (soft-deleted vouchers are left out); kept so the view has every column of vouchers.';
COMMENT ON COLUMN vouchers_current.is_expired IS
    'True when the voucher has a real expiry (has_real_expiry), that expiry has passed (expires_at <= now()) and it is not redeemed. False otherwise, never NULL. Computed at query time.';
COMMENT ON COLUMN vouchers_current.days_to_expiry IS
    'Whole days from now until expires_at, rounded down: 0 when it expires within 24 hours, negative once passed (-1 during the first 24 hours after). NULL unless has_real_expiry is true. Computed at query time.';
COMMENT ON COLUMN vouchers_current.amount_remaining IS
    'Value still available: 0 for redeemed vouchers, otherwise amount (also for expired ones; filter on is_expired). Not amount_original - amount_redeemed: the remainder of a partial redemption is a separate, regenerated voucher.';

-- ---------------------------------------------------------------------------------------------
-- Comments: campaign_redemption
-- ---------------------------------------------------------------------------------------------

COMMENT ON VIEW campaign_redemption IS
    'Redemption per chain and campaign over live vouchers (vouchers_current), computed at query time. Vouchers without a campaign form one row with campaign_id NULL. Amounts are summed as exported; they mix units if a campaign mixes currencies or percentage (basket_pct) vouchers.';
COMMENT ON COLUMN campaign_redemption.chain_id IS
    'Spaaza chain (retailer) id.';
COMMENT ON COLUMN campaign_redemption.campaign_id IS
    'Spaaza campaign id. NULL for the row of vouchers without a campaign.';
COMMENT ON COLUMN campaign_redemption.campaign_type IS
    'Campaign type from campaigns; if the campaign is not there, the type on its most recently exported voucher. NULL when unknown.';
COMMENT ON COLUMN campaign_redemption.campaign_title IS
    'Campaign title from campaigns; if the campaign is not there, the title on its most recently exported voucher. NULL when unknown.';
COMMENT ON COLUMN campaign_redemption.vouchers_issued IS
    'Number of live vouchers of the campaign (any status).';
COMMENT ON COLUMN campaign_redemption.vouchers_redeemed IS
    'Number of those vouchers that are redeemed (is_redeemed).';
COMMENT ON COLUMN campaign_redemption.redemption_rate IS
    'vouchers_redeemed / vouchers_issued as a fraction between 0 and 1, rounded to 4 decimals. NULL when vouchers_issued is 0.';
COMMENT ON COLUMN campaign_redemption.amount_issued IS
    'Sum of amount_original over the campaign''s vouchers, in their currency (0 when no amounts are known).';
COMMENT ON COLUMN campaign_redemption.amount_redeemed IS
    'Sum of amount_redeemed over the campaign''s redeemed vouchers (0 when none are redeemed).';
COMMENT ON COLUMN campaign_redemption.amount_outstanding IS
    'Sum of amount_remaining over vouchers that are neither redeemed nor expired: value members can still use (0 when none).';
COMMENT ON COLUMN campaign_redemption.vouchers_expired IS
    'Number of vouchers whose real expiry has passed without redemption (is_expired).';

-- ---------------------------------------------------------------------------------------------
-- Comments: voucher_daily
-- ---------------------------------------------------------------------------------------------

COMMENT ON VIEW voucher_daily IS
    'Daily voucher activity per chain, campaign and UTC day over live vouchers: issued, redeemed and expired counts. Only days with at least one event have a row. Computed at query time.';
COMMENT ON COLUMN voucher_daily.chain_id IS
    'Spaaza chain (retailer) id.';
COMMENT ON COLUMN voucher_daily.campaign_id IS
    'Spaaza campaign id. NULL for vouchers without a campaign.';
COMMENT ON COLUMN voucher_daily.day IS
    'Calendar day in UTC.';
COMMENT ON COLUMN voucher_daily.issued IS
    'Number of vouchers created (created_at) on that UTC day.';
COMMENT ON COLUMN voucher_daily.redeemed IS
    'Number of redeemed vouchers (is_redeemed) whose redeemed_at falls on that UTC day.';
COMMENT ON COLUMN voucher_daily.expired IS
    'Number of unredeemed vouchers whose real expiry (not the 2050 "no expiry" sentinel) falls on that UTC day and has already passed (expires_at <= now()).';
