-- Voucher history: every observed version of every voucher, so that an analyst can ask what
-- the warehouse knew at any time (vouchers_as_of). voucher_versions is written in the same
-- statement as the change to vouchers: an upsert that changes a voucher adds its new version, a
-- full refresh's soft deletion adds one with deleted = true; an export that repeats what is stored
-- writes nothing. Versions are never updated: closing the previous version in place (valid_to)
-- cost +56% on a re-sync with 10% changed at 1,000,000 vouchers, so the view voucher_history
-- derives valid_to from the next version instead.

CREATE TABLE voucher_versions (
    chain_id            bigint NOT NULL,
    voucher_id          bigint NOT NULL,
    valid_from          timestamptz NOT NULL,
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
    deleted             boolean NOT NULL,
    sync_run_id         bigint NOT NULL,
    PRIMARY KEY (chain_id, voucher_id, valid_from)
);

-- Versions arrive in export-time order: a BRIN index finds the few dated after an export (a
-- wrong clock's, to be dropped when an older export replaces them) at almost no cost.
CREATE INDEX voucher_versions_valid_from_brin ON voucher_versions USING brin (valid_from);


COMMENT ON TABLE voucher_versions IS
    'Every version of every voucher the warehouse has observed, one row per version, never updated: what vouchers held from valid_from until the next version. Written in the same statement as each change to vouchers (an export that repeats stored content writes nothing). Read it through the view voucher_history or the function vouchers_as_of(t).';
COMMENT ON COLUMN voucher_versions.chain_id IS 'Spaaza chain (retailer) id, as in vouchers.';
COMMENT ON COLUMN voucher_versions.voucher_id IS 'Spaaza voucher id, as in vouchers.';
COMMENT ON COLUMN voucher_versions.valid_from IS
    'Spaaza''s time of the export that first showed this version (its source_exported_at); it holds until the next version''s. For the versions seeded when this table was created: the export time of the row as it then stood.';
COMMENT ON COLUMN voucher_versions.voucher_key IS 'As vouchers.voucher_key in this version.';
COMMENT ON COLUMN voucher_versions.user_id IS 'As vouchers.user_id in this version.';
COMMENT ON COLUMN voucher_versions.campaign_id IS 'As vouchers.campaign_id in this version.';
COMMENT ON COLUMN voucher_versions.campaign_type IS 'As vouchers.campaign_type in this version.';
COMMENT ON COLUMN voucher_versions.campaign_title IS 'As vouchers.campaign_title in this version.';
COMMENT ON COLUMN voucher_versions.voucher_type IS 'As vouchers.voucher_type in this version.';
COMMENT ON COLUMN voucher_versions.status IS 'As vouchers.status in this version: generated, claimed or redeemed.';
COMMENT ON COLUMN voucher_versions.locked IS 'As vouchers.locked in this version.';
COMMENT ON COLUMN voucher_versions.title IS 'As vouchers.title in this version.';
COMMENT ON COLUMN voucher_versions.currency_id IS 'As vouchers.currency_id in this version.';
COMMENT ON COLUMN voucher_versions.currency_symbol IS 'As vouchers.currency_symbol in this version.';
COMMENT ON COLUMN voucher_versions.amount_original IS 'As vouchers.amount_original in this version.';
COMMENT ON COLUMN voucher_versions.amount_redeemed IS 'As vouchers.amount_redeemed in this version.';
COMMENT ON COLUMN voucher_versions.amount IS 'As vouchers.amount in this version.';
COMMENT ON COLUMN voucher_versions.created_at IS 'As vouchers.created_at in this version.';
COMMENT ON COLUMN voucher_versions.redeemed_at IS 'As vouchers.redeemed_at in this version.';
COMMENT ON COLUMN voucher_versions.expires_at IS 'As vouchers.expires_at in this version (2050-01-01 or later: no real expiry).';
COMMENT ON COLUMN voucher_versions.is_redeemed IS 'As vouchers.is_redeemed in this version.';
COMMENT ON COLUMN voucher_versions.has_real_expiry IS 'As vouchers.has_real_expiry in this version.';
COMMENT ON COLUMN voucher_versions.extra IS 'As vouchers.extra in this version: CSV columns the warehouse does not know.';
COMMENT ON COLUMN voucher_versions.deleted IS
    'True for a version in which a full refresh found the voucher gone from Spaaza (vouchers.deleted_at set); a later version with false means it came back.';
COMMENT ON COLUMN voucher_versions.sync_run_id IS 'sync_runs.id of the window that wrote this version (for a seeded version: vouchers.last_seen_run_id).';

-- One version per voucher the warehouse holds now, valid from its export time.
INSERT INTO voucher_versions (chain_id, voucher_id, valid_from, voucher_key, user_id, campaign_id, campaign_type, campaign_title,
    voucher_type, status, locked, title, currency_id, currency_symbol, amount_original, amount_redeemed, amount, created_at, redeemed_at,
    expires_at, is_redeemed, has_real_expiry, extra, deleted, sync_run_id)
SELECT chain_id, voucher_id, source_exported_at, voucher_key, user_id, campaign_id, campaign_type, campaign_title,
    voucher_type, status, locked, title, currency_id, currency_symbol, amount_original, amount_redeemed, amount, created_at, redeemed_at,
    expires_at, is_redeemed, has_real_expiry, extra, deleted_at IS NOT NULL, last_seen_run_id
FROM vouchers;

-- Each version with the time the next one superseded it (NULL for the current one).
CREATE VIEW voucher_history AS
SELECT chain_id, voucher_id, valid_from,
       lead(valid_from) OVER (PARTITION BY chain_id, voucher_id ORDER BY valid_from) AS valid_to,
       voucher_key, user_id, campaign_id, campaign_type, campaign_title, voucher_type, status, locked, title, currency_id, currency_symbol,
       amount_original, amount_redeemed, amount, created_at, redeemed_at, expires_at, is_redeemed, has_real_expiry, extra, deleted, sync_run_id
FROM voucher_versions;

COMMENT ON VIEW voucher_history IS
    'Every version of every voucher the warehouse has observed (voucher_versions), with valid_to: what vouchers held from valid_from until valid_to. vouchers_as_of(t) picks the versions valid at t.';
COMMENT ON COLUMN voucher_history.chain_id IS 'Spaaza chain (retailer) id, as in vouchers.';
COMMENT ON COLUMN voucher_history.voucher_id IS 'Spaaza voucher id, as in vouchers.';
COMMENT ON COLUMN voucher_history.valid_from IS 'Spaaza''s time of the export that first showed this version (voucher_versions.valid_from).';
COMMENT ON COLUMN voucher_history.valid_to IS 'Spaaza''s time of the export that superseded this version (the next version''s valid_from); NULL for the current one.';
COMMENT ON COLUMN voucher_history.voucher_key IS 'As voucher_versions.voucher_key.';
COMMENT ON COLUMN voucher_history.user_id IS 'As voucher_versions.user_id.';
COMMENT ON COLUMN voucher_history.campaign_id IS 'As voucher_versions.campaign_id.';
COMMENT ON COLUMN voucher_history.campaign_type IS 'As voucher_versions.campaign_type.';
COMMENT ON COLUMN voucher_history.campaign_title IS 'As voucher_versions.campaign_title.';
COMMENT ON COLUMN voucher_history.voucher_type IS 'As voucher_versions.voucher_type.';
COMMENT ON COLUMN voucher_history.status IS 'As voucher_versions.status.';
COMMENT ON COLUMN voucher_history.locked IS 'As voucher_versions.locked.';
COMMENT ON COLUMN voucher_history.title IS 'As voucher_versions.title.';
COMMENT ON COLUMN voucher_history.currency_id IS 'As voucher_versions.currency_id.';
COMMENT ON COLUMN voucher_history.currency_symbol IS 'As voucher_versions.currency_symbol.';
COMMENT ON COLUMN voucher_history.amount_original IS 'As voucher_versions.amount_original.';
COMMENT ON COLUMN voucher_history.amount_redeemed IS 'As voucher_versions.amount_redeemed.';
COMMENT ON COLUMN voucher_history.amount IS 'As voucher_versions.amount.';
COMMENT ON COLUMN voucher_history.created_at IS 'As voucher_versions.created_at.';
COMMENT ON COLUMN voucher_history.redeemed_at IS 'As voucher_versions.redeemed_at.';
COMMENT ON COLUMN voucher_history.expires_at IS 'As voucher_versions.expires_at.';
COMMENT ON COLUMN voucher_history.is_redeemed IS 'As voucher_versions.is_redeemed.';
COMMENT ON COLUMN voucher_history.has_real_expiry IS 'As voucher_versions.has_real_expiry.';
COMMENT ON COLUMN voucher_history.extra IS 'As voucher_versions.extra.';
COMMENT ON COLUMN voucher_history.deleted IS 'As voucher_versions.deleted.';
COMMENT ON COLUMN voucher_history.sync_run_id IS 'As voucher_versions.sync_run_id.';

-- Each voucher as it stood at `at`: the version valid then. Soft-deleted versions only when asked.
CREATE FUNCTION vouchers_as_of(at timestamptz, include_deleted boolean DEFAULT false)
RETURNS SETOF voucher_history
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $$
    SELECT * FROM voucher_history h
    WHERE h.valid_from <= at AND (h.valid_to IS NULL OR h.valid_to > at) AND (include_deleted OR NOT h.deleted)
$$;

COMMENT ON FUNCTION vouchers_as_of(timestamptz, boolean) IS
    'Each voucher as the warehouse knew it at `at` (Spaaza''s time of the exports): the voucher_history version valid then, one row per voucher that existed; with include_deleted, the versions in which a full refresh had found it gone too. A voucher first exported after `at` is not there, even if Spaaza created it before.';
