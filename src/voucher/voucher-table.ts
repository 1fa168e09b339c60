/**
 * The voucher table, declared once: its key, the columns read from the CSV, the derived ones and
 * the warehouse's own bookkeeping, in the order of `vouchers` (migrations/; a test compares the
 * two). Header matching, row normalization, both staging tables, the COPY column lists and the
 * upsert are all derived from this list.
 *
 * A CSV header matches a column when, trimmed and lower-cased, it equals one of the column's
 * `headers` (the canonical export name first, then the classic `voucher_*` API names of
 * reference §7.2 and other names seen in Spaaza's documents).
 */

export type ColumnType = 'bigint' | 'integer' | 'numeric' | 'text' | 'boolean' | 'timestamptz';

export interface VoucherColumn {
  /** Warehouse column name. */
  readonly name: string;
  readonly type: ColumnType;
  /** CSV header names that feed this column, lower-case. */
  readonly headers: readonly string[];
  /** An empty cell is a reject instead of NULL (only when the column is in the file). */
  readonly required?: boolean;
  /**
   * Text clean-up applied before type parsing: `trim` drops leading and trailing white space (as
   * JavaScript's String.prototype.trim defines it), `trim-lower` also lower-cases. Data, not a
   * function, so that the reference transform (clean-text.ts) and the SQL of the typed COPY path
   * (transform/typed-copy/copy-plan.ts) apply the same rule.
   */
  readonly clean?: TextClean;
}

export type TextClean = 'trim' | 'trim-lower';
const trim = 'trim';
const trimLower = 'trim-lower';

/** The primary key of `vouchers`: a voucher id is unique within its chain only. */
export const VOUCHER_KEY = ['chain_id', 'voucher_id'] as const;

/** Columns read from the CSV, in the warehouse's column order (after `chain_id`). */
export const VOUCHER_COLUMNS: readonly VoucherColumn[] = [
  { name: 'voucher_id', type: 'bigint', headers: ['id', 'voucher_id'], required: true },
  { name: 'voucher_key', type: 'text', headers: ['voucher_key', 'key'] },
  { name: 'user_id', type: 'bigint', headers: ['user_id', 'voucher_user_id'] },
  { name: 'campaign_id', type: 'bigint', headers: ['campaign_id', 'voucher_campaign_id'] },
  { name: 'campaign_type', type: 'text', headers: ['campaign_type'], clean: trimLower },
  { name: 'campaign_title', type: 'text', headers: ['campaign_title'], clean: trim },
  { name: 'voucher_type', type: 'text', headers: ['type', 'voucher_type'], clean: trimLower },
  { name: 'status', type: 'text', headers: ['status', 'voucher_status'], required: true, clean: trimLower },
  { name: 'locked', type: 'boolean', headers: ['locked', 'voucher_locked'] },
  { name: 'title', type: 'text', headers: ['title', 'voucher_title'] },
  { name: 'currency_id', type: 'integer', headers: ['currency_id', 'voucher_currency_id'] },
  { name: 'currency_symbol', type: 'text', headers: ['currency_symbol', 'voucher_currency_symbol'] },
  { name: 'amount_original', type: 'numeric', headers: ['amount_original', 'voucher_amount_original'] },
  { name: 'amount_redeemed', type: 'numeric', headers: ['amount_redeemed', 'voucher_amount_redeemed'] },
  { name: 'amount', type: 'numeric', headers: ['amount', 'voucher_amount'] },
  {
    name: 'created_at',
    type: 'timestamptz',
    headers: ['date_time_creation', 'date_time_created', 'created_date', 'voucher_created_datetime', 'voucher_created_datetime_utc'],
  },
  { name: 'redeemed_at', type: 'timestamptz', headers: ['date_time_redeemed', 'voucher_redeemed_datetime', 'voucher_redeemed_datetime_utc'] },
  { name: 'expires_at', type: 'timestamptz', headers: ['date_time_expiry', 'voucher_expiry_datetime_utc', 'voucher_expiry_datetime'] },
];

/** Derived from other columns by the transform; stored, never read from the CSV. */
export const DERIVED_COLUMNS = [
  { name: 'is_redeemed', type: 'boolean', from: ['status'] },
  { name: 'has_real_expiry', type: 'boolean', from: ['expires_at'] },
] as const satisfies readonly { name: string; type: ColumnType; from: readonly string[] }[];

/** The CSV's `chain_id` column is checked against the chain being loaded, never stored from it. */
export const CHAIN_HEADERS: readonly string[] = ['chain_id', 'voucher_chain_id'];

/** Clock-derived columns (e.g. `voucher_expiry_seconds_remaining`): not stored, never a change. */
export function isVolatileHeader(header: string): boolean {
  return header.endsWith('seconds_remaining');
}

export type ColumnName = (typeof VOUCHER_COLUMNS)[number]['name'] | (typeof DERIVED_COLUMNS)[number]['name'];

/** Every stored content column (read and derived), in order: what a change is judged on. */
export const CONTENT_COLUMNS: readonly { name: string; type: ColumnType }[] = [
  ...VOUCHER_COLUMNS.filter((c) => c.name !== 'voucher_id'),
  ...DERIVED_COLUMNS,
];

/** The warehouse's own columns of `vouchers`, after the content: written by the load, never read from a CSV. */
export const BOOKKEEPING_COLUMNS: readonly { name: string; type: ColumnType | 'jsonb'; notNull: boolean }[] = [
  { name: 'extra', type: 'jsonb', notNull: true },
  { name: 'first_seen_run_id', type: 'bigint', notNull: true },
  { name: 'last_seen_run_id', type: 'bigint', notNull: true },
  { name: 'source_exported_at', type: 'timestamptz', notNull: true },
  { name: 'first_seen_at', type: 'timestamptz', notNull: true },
  { name: 'updated_at', type: 'timestamptz', notNull: true },
  { name: 'deleted_at', type: 'timestamptz', notNull: false },
];
