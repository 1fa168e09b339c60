/**
 * `spaaza-sync reset`, in the warehouse: moves a chain's watermark to an instant the operator
 * trusts (either way), and gives every row version dated after Spaaza's clock (which no export can
 * have) a version of now, so the next export of each row replaces it. One transaction, recorded
 * as a `sync_runs` row of mode `reset`, under the chain's lock (the caller holds it).
 */
import type { ClientBase } from 'pg';
import type { WarehouseTables } from '../warehouse/tables.js';

export interface ResetInput {
  readonly chainId: number;
  readonly runId: string;
  readonly stream: string;
  readonly watermark: Date;
  /** Versions after this cannot be right (Spaaza's now, plus its tolerance). */
  readonly restampAfter: Date;
  /** The version such rows get: Spaaza's now, so that any later export replaces them. */
  readonly restampTo: Date;
}

export interface ResetOutcome {
  readonly syncRunId: number;
  readonly previousWatermark: Date | null;
  readonly vouchersRestamped: number;
  readonly campaignsRestamped: number;
  readonly lastFullRefreshCleared: boolean;
  /** What was done, as recorded in the run's warnings. */
  readonly summary: string;
}

export async function resetChain(client: ClientBase, tables: WarehouseTables, input: ResetInput): Promise<ResetOutcome> {
  const iso = (d: Date | null) => (d ? d.toISOString().replace(/\.000Z$/, 'Z') : 'none');
  await client.query('BEGIN');
  try {
    const { rows: state } = await client.query<{ watermark: Date; last_full_refresh_at: Date | null }>(
      `SELECT watermark, last_full_refresh_at FROM ${tables.syncState} WHERE chain_id = $1 AND stream = $2 FOR UPDATE`,
      [input.chainId, input.stream],
    );
    const previous = state[0]?.watermark ?? null;
    const clearFullRefresh = (state[0]?.last_full_refresh_at ?? null) !== null && state[0]!.last_full_refresh_at! > input.restampAfter;
    const vouchers = await client.query(`UPDATE ${tables.vouchers} SET source_exported_at = $3 WHERE chain_id = $1 AND source_exported_at > $2`, [input.chainId, input.restampAfter, input.restampTo]);
    const campaigns = await client.query(`UPDATE ${tables.campaigns} SET source_exported_at = $3 WHERE chain_id = $1 AND source_exported_at > $2`, [input.chainId, input.restampAfter, input.restampTo]);
    await restampHistory(client, tables, input);
    const restamped = vouchers.rowCount ?? 0;
    const summary =
      `watermark moved from ${iso(previous)} to ${iso(input.watermark)}` +
      (restamped + (campaigns.rowCount ?? 0) > 0 ? `; ${restamped} voucher and ${campaigns.rowCount ?? 0} campaign version(s) dated after ${iso(input.restampAfter)} set to ${iso(input.restampTo)}` : '') +
      (clearFullRefresh ? '; the last full refresh, dated in the future, was cleared' : '');
    const { rows: run } = await client.query<{ id: string }>(
      `INSERT INTO ${tables.syncRuns} (run_id, chain_id, stream, mode, state, window_end, finished_at, warnings)
       VALUES ($1, $2, $3, 'reset', 'committed', $4, clock_timestamp(), ARRAY[$5]) RETURNING id`,
      [input.runId, input.chainId, input.stream, input.watermark, summary],
    );
    const syncRunId = Number(run[0]!.id);
    await client.query(
      `INSERT INTO ${tables.syncState} AS s (chain_id, stream, watermark, last_run_id, updated_at) VALUES ($1, $2, $3, $4, now())
       ON CONFLICT (chain_id, stream) DO UPDATE SET watermark = $3, last_run_id = $4, updated_at = now(),
         last_full_refresh_at = CASE WHEN $5 THEN NULL ELSE s.last_full_refresh_at END`,
      [input.chainId, input.stream, input.watermark, syncRunId, clearFullRefresh],
    );
    await client.query('COMMIT');
    return { syncRunId, previousWatermark: previous, vouchersRestamped: restamped, campaignsRestamped: campaigns.rowCount ?? 0, lastFullRefreshCleared: clearFullRefresh, summary };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

/**
 * voucher_versions after the same restamp: of a voucher's versions dated after the clock, only
 * the last is what `vouchers` holds; it now starts at the new version (or just after the
 * voucher's last version before the bound, which may be later: it must stay the last), and the
 * others, which never held, go.
 */
async function restampHistory(client: ClientBase, tables: WarehouseTables, input: ResetInput): Promise<void> {
  const values = [input.chainId, input.restampAfter, input.restampTo];
  await client.query(
    `DELETE FROM ${tables.voucherVersions} h WHERE h.chain_id = $1 AND h.valid_from > $2
       AND EXISTS (SELECT 1 FROM ${tables.voucherVersions} n WHERE n.chain_id = h.chain_id AND n.voucher_id = h.voucher_id AND n.valid_from > h.valid_from)`,
    values.slice(0, 2),
  );
  await client.query(
    `UPDATE ${tables.voucherVersions} h
     SET valid_from = greatest($3::timestamptz, (SELECT max(p.valid_from) + interval '1 millisecond' FROM ${tables.voucherVersions} p
                                                WHERE p.chain_id = h.chain_id AND p.voucher_id = h.voucher_id AND p.valid_from <= $2))
     WHERE h.chain_id = $1 AND h.valid_from > $2`,
    values,
  );
}
