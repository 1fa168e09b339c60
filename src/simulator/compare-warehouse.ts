/**
 * Compares a warehouse with the simulator's ground truth for one chain: the live vouchers must be
 * exactly the simulator's live vouchers, with the same values. Used by the demo and the tests.
 */
import type { Pool } from 'pg';
import type { Simulator } from './simulator.js';
import type { Voucher } from './voucher.js';

export interface Comparison {
  readonly chainId: number;
  readonly sourceLive: number;
  readonly warehouseLive: number;
  /** Live in the simulator, absent (or soft-deleted) in the warehouse. */
  readonly missing: readonly number[];
  /** Live in the warehouse, deleted or unknown in the simulator. */
  readonly extra: readonly number[];
  readonly differing: readonly { readonly id: number; readonly column: string; readonly warehouse: string | null; readonly source: string | null }[];
  readonly equal: boolean;
}

const seconds = (s: number | null) => (s === null ? null : new Date(s * 1000).toISOString());

/** The columns compared, as text on both sides. */
const COLUMNS: readonly [string, (v: Voucher) => string | null][] = [
  ['voucher_key', (v) => v.voucherKey],
  ['user_id', (v) => (v.userId === null ? null : String(v.userId))],
  ['campaign_id', (v) => String(v.campaignId)],
  ['campaign_type', (v) => v.campaignType.trim().toLowerCase()],
  ['campaign_title', (v) => v.campaignTitle.trim()],
  ['voucher_type', (v) => v.type],
  ['status', (v) => v.status],
  ['locked', (v) => String(v.locked)],
  ['title', (v) => v.title],
  ['currency_id', (v) => String(v.currencyId)],
  ['currency_symbol', (v) => v.currencySymbol],
  ['amount_original', (v) => v.amountOriginal],
  ['amount_redeemed', (v) => v.amountRedeemed],
  ['amount', (v) => v.amount],
  ['created_at', (v) => seconds(v.createdAt)],
  ['redeemed_at', (v) => seconds(v.redeemedAt)],
  ['expires_at', (v) => seconds(v.expiresAt)],
];

export async function compareWithGroundTruth(pool: Pool, schema: string, sim: Simulator, chainId: number): Promise<Comparison> {
  const { rows } = await pool.query(
    `SELECT voucher_id::text AS id, voucher_key, user_id::text, campaign_id::text, campaign_type, campaign_title, voucher_type, status,
            locked::text, title, currency_id::text, currency_symbol, amount_original::text, amount_redeemed::text, amount::text,
            to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS".000Z"') AS created_at,
            to_char(redeemed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS".000Z"') AS redeemed_at,
            to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS".000Z"') AS expires_at
     FROM "${schema}".vouchers WHERE chain_id = $1 AND deleted_at IS NULL`,
    [chainId],
  );
  const stored = new Map<number, Record<string, string | null>>(rows.map((r) => [Number(r.id), r]));
  const missing: number[] = [];
  const differing: { id: number; column: string; warehouse: string | null; source: string | null }[] = [];
  let sourceLive = 0;
  for (const voucher of sim.groundTruth(chainId)) {
    sourceLive += 1;
    const row = stored.get(voucher.id);
    if (!row) {
      missing.push(voucher.id);
      continue;
    }
    stored.delete(voucher.id);
    for (const [column, value] of COLUMNS) {
      const expected = value(voucher);
      if (row[column] !== expected) differing.push({ id: voucher.id, column, warehouse: row[column] ?? null, source: expected });
    }
  }
  const extra = [...stored.keys()];
  return { chainId, sourceLive, warehouseLive: rows.length, missing, extra, differing, equal: missing.length === 0 && extra.length === 0 && differing.length === 0 };
}
