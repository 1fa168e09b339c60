/** The checks every reliability scenario ends with: the warehouse against the source. */
import assert from 'node:assert/strict';
import { compareWithGroundTruth } from '../../src/simulator/compare-warehouse.js';
import type { Simulator } from '../../src/simulator/simulator.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import type { Tally } from './reliability-report.js';

/** Nothing lost, nothing duplicated, nothing stale, and the watermark not ahead of committed data. */
export async function assertMatchesSource(warehouse: Warehouse, schema: string, sim: Simulator, tally: Tally, label: string): Promise<void> {
  for (const chainId of sim.chainIds) {
    const c = await compareWithGroundTruth(warehouse.pool, schema, sim, chainId);
    tally.rowsChecked += c.sourceLive;
    tally.lost += c.missing.length;
    tally.stale += new Set(c.differing.map((d) => d.id)).size;
    const dup = await warehouse.pool.query(`SELECT count(*) - count(DISTINCT voucher_id) AS d FROM "${schema}".vouchers WHERE chain_id = $1`, [chainId]);
    tally.duplicated += Number(dup.rows[0].d);
    assert.deepEqual(
      { missing: c.missing.slice(0, 5), extra: c.extra.slice(0, 5), differing: c.differing.slice(0, 3) },
      { missing: [], extra: [], differing: [] },
      `${label}: chain ${chainId} differs from the source`,
    );
    const { rows } = await warehouse.pool.query(
      `SELECT s.watermark, (SELECT max(window_end) FROM "${schema}".sync_runs r WHERE r.chain_id = s.chain_id AND r.state = 'committed') AS covered
       FROM "${schema}".sync_state s WHERE s.chain_id = $1`,
      [chainId],
    );
    if (rows[0]) assert.ok(rows[0].watermark <= rows[0].covered, `${label}: the watermark is ahead of committed data`);
  }
}

/** No token secret, database password or pre-signed URL query in any of `texts`. */
export function countLeaks(texts: readonly string[], secrets: readonly string[]): number {
  let leaks = 0;
  for (const text of texts) {
    if (secrets.some((s) => s && text.includes(s)) || /X-Signature=|Bearer [0-9a-f-]{36}:/.test(text)) leaks += 1;
  }
  return leaks;
}
