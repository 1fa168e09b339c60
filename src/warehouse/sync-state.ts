/**
 * `sync_state`, one row per chain and stream. The per-chain watermark: the planned upper bound of the last committed window contiguous with
 * it (DESIGN §2). Written in the window's own transaction, and only forward: a window that starts
 * after the current watermark (a detached backfill) or ends before it leaves it alone.
 */
import type { ClientBase, Pool } from 'pg';
import type { WarehouseTables } from './tables.js';

/** The one stream spaaza-sync syncs: the chain's vouchers. */
export const VOUCHERS_STREAM = 'vouchers';

export interface WatermarkAdvance {
  readonly stream: string;
  /** Start of the window; null for an unfiltered export, which covers everything before its end. */
  readonly windowStart: Date | null;
  readonly windowEnd: Date;
  /**
   * May this window create the chain's first watermark? True for incremental and full-refresh
   * windows; false for a backfill, whose range says nothing about what lies before it.
   */
  readonly establish?: boolean;
}

/** Returns true when the watermark moved. */
export async function advanceWatermark(
  client: ClientBase,
  tables: WarehouseTables,
  chainId: number,
  syncRunId: number,
  advance: WatermarkAdvance,
): Promise<boolean> {
  const move = `watermark = $3, last_run_id = $4, updated_at = now()`;
  const forward = `s.watermark < $3 AND ($5::timestamptz IS NULL OR s.watermark >= $5::timestamptz)`;
  const { rowCount } =
    advance.establish === false
      ? await client.query(`UPDATE ${tables.syncState} AS s SET ${move} WHERE chain_id = $1 AND stream = $2 AND ${forward}`, [
          chainId,
          advance.stream,
          advance.windowEnd,
          syncRunId,
          advance.windowStart,
        ])
      : await client.query(
          `INSERT INTO ${tables.syncState} AS s (chain_id, stream, watermark, last_run_id, updated_at)
           VALUES ($1, $2, $3, $4, now())
           ON CONFLICT (chain_id, stream) DO UPDATE SET ${move} WHERE ${forward}`,
          [chainId, advance.stream, advance.windowEnd, syncRunId, advance.windowStart],
        );
  return (rowCount ?? 0) > 0;
}

export async function readWatermark(client: ClientBase | Pool, tables: WarehouseTables, chainId: number, stream: string): Promise<Date | null> {
  const { rows } = await client.query<{ watermark: Date }>(`SELECT watermark FROM ${tables.syncState} WHERE chain_id = $1 AND stream = $2`, [chainId, stream]);
  return rows[0]?.watermark ?? null;
}

export interface ChainState {
  readonly watermark: Date | null;
  readonly lastFullRefreshAt: Date | null;
}

export async function readChainState(client: ClientBase | Pool, tables: WarehouseTables, chainId: number, stream: string = VOUCHERS_STREAM): Promise<ChainState> {
  const { rows } = await client.query<{ watermark: Date; last_full_refresh_at: Date | null }>(
    `SELECT watermark, last_full_refresh_at FROM ${tables.syncState} WHERE chain_id = $1 AND stream = $2`,
    [chainId, stream],
  );
  return { watermark: rows[0]?.watermark ?? null, lastFullRefreshAt: rows[0]?.last_full_refresh_at ?? null };
}

/** A full refresh reconciled the chain's deletions as of `exportedAt` (in the window's transaction). */
export async function markFullRefresh(client: ClientBase, tables: WarehouseTables, chainId: number, stream: string, exportedAt: Date): Promise<void> {
  await client.query(`UPDATE ${tables.syncState} SET last_full_refresh_at = $3 WHERE chain_id = $1 AND stream = $2`, [chainId, stream, exportedAt]);
}
