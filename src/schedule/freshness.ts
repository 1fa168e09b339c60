/**
 * What `/metrics` reports at each scrape about how fresh each chain is: the lag of its watermark
 * behind the clock, and what a wrong clock reading left ahead of it. Between runs the daemon has
 * no Spaaza answer to read the time from; this host's clock stands in, with the clock bound as
 * tolerance (the runs themselves refuse a Spaaza clock further away than that).
 */
import type { Pool } from 'pg';
import { aheadOfClock } from '../load/ahead-of-clock.js';
import type { WarehouseTables } from '../warehouse/tables.js';
import { readWatermark, VOUCHERS_STREAM } from '../warehouse/sync-state.js';
import type { FreshnessSample } from './metrics.js';

export async function freshnessSamples(pool: Pool, tables: WarehouseTables, chainIds: readonly number[], nowMs: number, toleranceMs: number): Promise<FreshnessSample[]> {
  const samples: FreshnessSample[] = [];
  for (const chainId of chainIds) {
    const ahead = await aheadOfClock(pool, tables, chainId, new Date(nowMs + toleranceMs));
    const watermark = await readWatermark(pool, tables, chainId, VOUCHERS_STREAM);
    // A watermark ahead of the clock means nothing is being synced: never report it as fresh.
    const lagSeconds = watermark === null ? null : ahead.watermark !== null ? Number.POSITIVE_INFINITY : Math.round((nowMs - watermark.getTime()) / 1000);
    samples.push({ chainId, lagSeconds, aheadOfClock: { watermark: ahead.watermark !== null, rows: ahead.rows } });
  }
  return samples;
}
