/** The chain's figures `status` reports from the warehouse's tables (beside its run rows and state). */
import type { ClientBase, Pool } from 'pg';
import type { WarehouseTables } from './tables.js';

export interface ChainCounts {
  readonly liveVouchers: number;
  readonly deletedVouchers: number;
  readonly rejectsLast24h: number;
}

export async function chainCounts(client: ClientBase | Pool, tables: WarehouseTables, chainId: number): Promise<ChainCounts> {
  const { rows } = await client.query<{ live: string; deleted: string; rejects: string }>(
    `SELECT count(*) FILTER (WHERE deleted_at IS NULL) AS live, count(*) FILTER (WHERE deleted_at IS NOT NULL) AS deleted,
       (SELECT count(*) FROM ${tables.voucherRejects} WHERE chain_id = $1 AND created_at > now() - interval '24 hours') AS rejects
     FROM ${tables.vouchers} WHERE chain_id = $1`,
    [chainId],
  );
  return { liveVouchers: Number(rows[0]!.live), deletedVouchers: Number(rows[0]!.deleted), rejectsLast24h: Number(rows[0]!.rejects) };
}
