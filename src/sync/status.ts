/**
 * What `status` reports per chain, from the warehouse, judged against Spaaza's clock (this host's
 * when Spaaza does not answer, so it works with Spaaza down).
 */
import type { ClientBase } from 'pg';
import { aheadOfClock, describeAheadOfClock } from '../load/ahead-of-clock.js';
import { chainCounts } from '../warehouse/chain-status.js';
import { countUnfinished, recentRuns } from '../warehouse/sync-runs.js';
import { readChainState } from '../warehouse/sync-state.js';
import type { WarehouseTables } from '../warehouse/tables.js';
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
  const state = await readChainState(db, tables, chainId);
  const ahead = await aheadOfClock(db, tables, chainId, latestPossible(clock));
  const counts = await chainCounts(db, tables, chainId);
  const unfinishedRuns = await countUnfinished(db, tables, chainId);
  const last = await recentRuns(db, tables, chainId, runs);
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  const { watermark } = state;
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
    lastFullRefresh: iso(state.lastFullRefreshAt),
    ...counts,
    unfinishedRuns,
    lastRuns: last.map((r) => ({
      id: r.id,
      mode: r.mode,
      state: r.state,
      windowStart: iso(r.windowStart),
      windowEnd: iso(r.windowEnd),
      taskId: r.taskId,
      finishedAt: iso(r.finishedAt),
      rowsRead: r.rowsRead,
      inserted: r.inserted,
      updated: r.updated,
      rejected: r.rejected,
      deleted: r.deleted,
      error: r.errorCode ? `[${r.errorCode}] ${r.errorMessage ?? ''}` : null,
    })),
  };
}
