/**
 * What `status` reports per chain, from the warehouse, judged against Spaaza's clock (this host's
 * when Spaaza does not answer, so it works with Spaaza down).
 */
import type { ClientBase } from 'pg';
import { aheadOfClock, describeAheadOfClock } from '../load/ahead-of-clock.js';
import type { WarehouseTables } from '../load/tables.js';
import { latestPossible, type ClockReading } from './spaaza-clock.js';

export interface ChainStatus {
  readonly chainId: number;
  readonly watermark: string | null;
  /**
   * Seconds between Spaaza's now and the watermark: how stale the warehouse may be. Null when
   * never synced, or when the watermark is ahead of the clock (an error, never "fresh").
   */
  readonly freshnessLagSeconds: number | null;
  /** The clock the chain was judged against. */
  readonly clock: { readonly now: string; readonly source: 'spaaza' | 'host'; readonly skewSeconds: number | null; readonly problem: string | null };
  /** What is wrong, each with its repair (a watermark or row versions ahead of Spaaza's clock). */
  readonly errors: readonly string[];
  readonly lastFullRefresh: string | null;
  readonly liveVouchers: number;
  readonly deletedVouchers: number;
  readonly rejectsLast24h: number;
  readonly unfinishedRuns: number;
  readonly lastRuns: readonly {
    readonly id: number;
    readonly mode: string;
    readonly state: string;
    readonly windowStart: string | null;
    readonly windowEnd: string | null;
    readonly taskId: number | null;
    readonly finishedAt: string | null;
    readonly rowsRead: number;
    readonly inserted: number;
    readonly updated: number;
    readonly rejected: number;
    readonly deleted: number;
    readonly error: string | null;
  }[];
}

export async function chainStatus(db: ClientBase, tables: WarehouseTables, chainId: number, clock: ClockReading, runs = 5): Promise<ChainStatus> {
  const state = await db.query(`SELECT watermark, last_full_refresh_at FROM ${tables.syncState} WHERE chain_id = $1 AND stream = 'vouchers'`, [chainId]);
  const ahead = await aheadOfClock(db, tables, chainId, latestPossible(clock));
  const counts = await db.query(
    `SELECT count(*) FILTER (WHERE deleted_at IS NULL) AS live, count(*) FILTER (WHERE deleted_at IS NOT NULL) AS deleted FROM ${tables.vouchers} WHERE chain_id = $1`,
    [chainId],
  );
  const rejects = await db.query(`SELECT count(*) AS n FROM ${tables.voucherRejects} WHERE chain_id = $1 AND created_at > now() - interval '24 hours'`, [chainId]);
  const unfinished = await db.query(`SELECT count(*) AS n FROM ${tables.syncRuns} WHERE chain_id = $1 AND state NOT IN ('committed', 'failed', 'abandoned')`, [chainId]);
  const last = await db.query(
    `SELECT id, mode, state, window_start, window_end, task_id, finished_at, rows_read, rows_inserted, rows_updated, rows_rejected, rows_deleted, error_code, error_message
     FROM ${tables.syncRuns} WHERE chain_id = $1 ORDER BY id DESC LIMIT $2`,
    [chainId, runs],
  );
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  const s = state.rows[0];
  const watermark: Date | null = s?.watermark ?? null;
  return {
    chainId,
    watermark: iso(watermark),
    freshnessLagSeconds: watermark === null || ahead.watermark !== null ? null : Math.round((clock.now.getTime() - watermark.getTime()) / 1000),
    clock: {
      now: clock.now.toISOString(),
      source: clock.source,
      skewSeconds: clock.skewMs === null ? null : Math.round(clock.skewMs / 1000),
      problem: clock.problem,
    },
    errors: describeAheadOfClock(ahead, chainId, clock.source === 'spaaza' ? "Spaaza's clock" : "this machine's clock plus maxClockSkew"),
    lastFullRefresh: iso(s?.last_full_refresh_at ?? null),
    liveVouchers: Number(counts.rows[0].live),
    deletedVouchers: Number(counts.rows[0].deleted),
    rejectsLast24h: Number(rejects.rows[0].n),
    unfinishedRuns: Number(unfinished.rows[0].n),
    lastRuns: last.rows.map((r) => ({
      id: Number(r.id),
      mode: r.mode,
      state: r.state,
      windowStart: iso(r.window_start),
      windowEnd: iso(r.window_end),
      taskId: r.task_id === null ? null : Number(r.task_id),
      finishedAt: iso(r.finished_at),
      rowsRead: Number(r.rows_read),
      inserted: Number(r.rows_inserted),
      updated: Number(r.rows_updated),
      rejected: Number(r.rows_rejected),
      deleted: Number(r.rows_deleted),
      error: r.error_code ? `[${r.error_code}] ${r.error_message ?? ''}` : null,
    })),
  };
}
