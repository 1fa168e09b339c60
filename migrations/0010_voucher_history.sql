-- voucher_history: every observed version of every voucher, so that an analyst can ask what
-- the warehouse knew at any time (vouchers_as_of). Written in the same transaction as the change
-- to vouchers: an upsert that changes a voucher closes its current version (valid_to) and adds
-- the new one; a full refresh's soft deletion adds a version with deleted = true. An export that
-- repeats what is stored writes nothing here either.

CREATE TABLE voucher_history (
    chain_id            bigint NOT NULL,
    voucher_id          bigint NOT NULL,
    valid_from          timestamptz NOT NULL,
    valid_to            timestamptz,
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
    PRIMARY KEY (chain_id, voucher_id, valid_from),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);


COMMENT ON TABLE voucher_history IS
    'Every version of every voucher the warehouse has observed, one row per version: what vouchers held from valid_from until valid_to. Written in the same transaction as each change to vouchers (an export that repeats stored content writes nothing). Query it with vouchers_as_of(t).';
COMMENT ON COLUMN voucher_history.chain_id IS 'Spaaza chain (retailer) id, as in vouchers.';
COMMENT ON COLUMN voucher_history.voucher_id IS 'Spaaza voucher id, as in vouchers.';
COMMENT ON COLUMN voucher_history.valid_from IS
    'Spaaza''s time of the export that first showed this version (its source_exported_at). For the versions seeded when this table was created: the export time of the row as it then stood.';
COMMENT ON COLUMN voucher_history.valid_to IS
    'Spaaza''s time of the export that superseded this version; NULL for the current one. Equal to valid_from for a version dated after the clock by a wrong reading and replaced by an older export: it never held.';
COMMENT ON COLUMN voucher_history.voucher_key IS 'As vouchers.voucher_key in this version.';
COMMENT ON COLUMN voucher_history.user_id IS 'As vouchers.user_id in this version.';
COMMENT ON COLUMN voucher_history.campaign_id IS 'As vouchers.campaign_id in this version.';
COMMENT ON COLUMN voucher_history.campaign_type IS 'As vouchers.campaign_type in this version.';
COMMENT ON COLUMN voucher_history.campaign_title IS 'As vouchers.campaign_title in this version.';
COMMENT ON COLUMN voucher_history.voucher_type IS 'As vouchers.voucher_type in this version.';
COMMENT ON COLUMN voucher_history.status IS 'As vouchers.status in this version: generated, claimed or redeemed.';
COMMENT ON COLUMN voucher_history.locked IS 'As vouchers.locked in this version.';
COMMENT ON COLUMN voucher_history.title IS 'As vouchers.title in this version.';
COMMENT ON COLUMN voucher_history.currency_id IS 'As vouchers.currency_id in this version.';
COMMENT ON COLUMN voucher_history.currency_symbol IS 'As vouchers.currency_symbol in this version.';
COMMENT ON COLUMN voucher_history.amount_original IS 'As vouchers.amount_original in this version.';
COMMENT ON COLUMN voucher_history.amount_redeemed IS 'As vouchers.amount_redeemed in this version.';
COMMENT ON COLUMN voucher_history.amount IS 'As vouchers.amount in this version.';
COMMENT ON COLUMN voucher_history.created_at IS 'As vouchers.created_at in this version.';
COMMENT ON COLUMN voucher_history.redeemed_at IS 'As vouchers.redeemed_at in this version.';
COMMENT ON COLUMN voucher_history.expires_at IS 'As vouchers.expires_at in this version (2050-01-01 or later: no real expiry).';
COMMENT ON COLUMN voucher_history.is_redeemed IS 'As vouchers.is_redeemed in this version.';
COMMENT ON COLUMN voucher_history.has_real_expiry IS 'As vouchers.has_real_expiry in this version.';
COMMENT ON COLUMN voucher_history.extra IS 'As vouchers.extra in this version: CSV columns the warehouse does not know.';
COMMENT ON COLUMN voucher_history.deleted IS
    'True for a version in which a full refresh found the voucher gone from Spaaza (vouchers.deleted_at set); a later version with false means it came back.';
COMMENT ON COLUMN voucher_history.sync_run_id IS 'sync_runs.id of the window that wrote this version (for a seeded version: vouchers.last_seen_run_id).';

-- One version per voucher the warehouse holds now, valid from its export time.
INSERT INTO voucher_history (chain_id, voucher_id, valid_from, valid_to, voucher_key, user_id, campaign_id, campaign_type, campaign_title,
    voucher_type, status, locked, title, currency_id, currency_symbol, amount_original, amount_redeemed, amount, created_at, redeemed_at,
    expires_at, is_redeemed, has_real_expiry, extra, deleted, sync_run_id)
SELECT chain_id, voucher_id, source_exported_at, NULL, voucher_key, user_id, campaign_id, campaign_type, campaign_title,
    voucher_type, status, locked, title, currency_id, currency_symbol, amount_original, amount_redeemed, amount, created_at, redeemed_at,
    expires_at, is_redeemed, has_real_expiry, extra, deleted_at IS NOT NULL, last_seen_run_id
FROM vouchers;

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
