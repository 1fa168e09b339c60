/**
 * The simulator's voucher record and the catalogue of its export fields.
 *
 * Glossary (used the same way across src/simulator):
 * - voucher: one record of the `vouchers` export index, as Spaaza keeps it.
 * - export field: a column of the CSV export and a field a segment rule may filter on.
 * - snapshot: the chain's live vouchers frozen at the instant an export task runs.
 */

export const VOUCHER_STATUSES = ['generated', 'claimed', 'redeemed'] as const;
export type VoucherStatus = (typeof VOUCHER_STATUSES)[number];

export const VOUCHER_TYPES = ['basket', 'basket_pct', 'honour', 'basket_fixed_unit'] as const;
export type VoucherType = (typeof VOUCHER_TYPES)[number];

/** Immutable: a mutation replaces the record, so a snapshot can share it safely. */
export interface Voucher {
  readonly id: number;
  readonly voucherKey: string;
  readonly chainId: number;
  readonly userId: number | null;
  readonly campaignId: number;
  readonly campaignType: string;
  readonly campaignTitle: string;
  readonly type: VoucherType;
  readonly status: VoucherStatus;
  readonly locked: boolean;
  readonly title: string;
  readonly currencyId: number;
  readonly currencySymbol: string;
  /** Decimal strings with two places, e.g. "10.00": amounts are never floats. */
  readonly amountOriginal: string;
  readonly amountRedeemed: string;
  readonly amount: string;
  /** Epoch seconds (UTC, whole seconds). */
  readonly createdAt: number;
  readonly redeemedAt: number | null;
  readonly expiresAt: number | null;
  readonly deleted: boolean;
}

export type ExportFieldType = 'integer' | 'number' | 'keyword' | 'text' | 'boolean' | 'date';

/** A field of the vouchers export index: its CSV column and how segment rules see it. */
export interface ExportField {
  /** Column name in the default header, and the `field_name` of segment rules. */
  readonly name: string;
  /** Column name in the classic `voucher_*` dialect (reference §7.2). */
  readonly classicName: string;
  readonly type: ExportFieldType;
  /** The typed value a segment rule compares; null when the voucher has none. */
  readonly value: (v: Voucher) => string | number | boolean | null;
  /** The exact decimal text of a `number` field, as the CSV carries it. */
  readonly decimal?: (v: Voucher) => string;
}

/** Every export field, in the default header order. */
export const EXPORT_FIELDS: readonly ExportField[] = [
  { name: 'id', classicName: 'voucher_id', type: 'integer', value: (v) => v.id },
  { name: 'voucher_key', classicName: 'voucher_key', type: 'keyword', value: (v) => v.voucherKey },
  { name: 'chain_id', classicName: 'chain_id', type: 'integer', value: (v) => v.chainId },
  { name: 'user_id', classicName: 'user_id', type: 'integer', value: (v) => v.userId },
  { name: 'campaign_id', classicName: 'campaign_id', type: 'integer', value: (v) => v.campaignId },
  { name: 'campaign_type', classicName: 'campaign_type', type: 'keyword', value: (v) => v.campaignType },
  { name: 'campaign_title', classicName: 'campaign_title', type: 'text', value: (v) => v.campaignTitle },
  { name: 'type', classicName: 'voucher_type', type: 'keyword', value: (v) => v.type },
  { name: 'status', classicName: 'voucher_status', type: 'keyword', value: (v) => v.status },
  { name: 'locked', classicName: 'voucher_locked', type: 'boolean', value: (v) => v.locked },
  { name: 'title', classicName: 'voucher_title', type: 'text', value: (v) => v.title },
  { name: 'currency_id', classicName: 'voucher_currency_id', type: 'integer', value: (v) => v.currencyId },
  { name: 'currency_symbol', classicName: 'voucher_currency_symbol', type: 'keyword', value: (v) => v.currencySymbol },
  { name: 'amount_original', classicName: 'voucher_amount_original', type: 'number', value: (v) => Number(v.amountOriginal), decimal: (v) => v.amountOriginal },
  { name: 'amount_redeemed', classicName: 'voucher_amount_redeemed', type: 'number', value: (v) => Number(v.amountRedeemed), decimal: (v) => v.amountRedeemed },
  { name: 'amount', classicName: 'voucher_amount', type: 'number', value: (v) => Number(v.amount), decimal: (v) => v.amount },
  { name: 'date_time_creation', classicName: 'voucher_created_datetime', type: 'date', value: (v) => v.createdAt },
  { name: 'date_time_redeemed', classicName: 'voucher_redeemed_datetime', type: 'date', value: (v) => v.redeemedAt },
  { name: 'date_time_expiry', classicName: 'voucher_expiry_datetime_utc', type: 'date', value: (v) => v.expiresAt },
];

const FIELDS_BY_NAME = new Map(EXPORT_FIELDS.map((f) => [f.name, f]));

export function exportField(name: string): ExportField | undefined {
  return FIELDS_BY_NAME.get(name);
}

/** The instant Spaaza uses for "no real expiry" (reference §7.3). */
export const NO_EXPIRY_SENTINEL = Date.UTC(2050, 0, 1) / 1000;
