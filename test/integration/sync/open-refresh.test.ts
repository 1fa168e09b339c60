// The refresh of open vouchers (schedule.openRefreshCron, `spaaza-sync refresh-open`), measured on
// the simulator: a day of claims, locks and expiry edits, synced every hour, with and without the
// refresh after each sync. Without it those changes wait for the nightly full refresh; with it,
// every voucher still stale is one outside its scope (expiring later, created earlier). Seeded.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compareWithGroundTruth } from '../../../src/simulator/compare-warehouse.js';
import { refreshOpenVouchers } from '../../../src/sync/open-refresh.js';
import type { Warehouse } from '../../../src/warehouse/warehouse.js';
import { startHarness, type Harness } from '../../support/sync-harness.js';
import { openTestWarehouse, withSchema } from '../../support/warehouse.js';
import { seededRandom } from '../../support/random.js';

const SEED = Number(process.env.SPAAZA_OPEN_REFRESH_SEED ?? Math.floor(Math.random() * 1e6));
const DAY = 86_400_000;
const HOURS = 24;

let warehouse: Warehouse;
before(async () => {
  warehouse = await openTestWarehouse();
});
after(async () => {
  await warehouse?.close();
});


/** An hour of what dashboards miss: claims, locks, expiry edits (and a few new and redeemed vouchers). */
function hourOfActivity(h: Harness, chainId: number, next: () => number): void {
  const live = [...h.sim.groundTruth(chainId)];
  const now = h.sim.now().getTime();
  for (const v of live) {
    const r = next();
    if (r < 0.01 && v.status === 'generated') h.sim.vouchers.claim(v.id);
    else if (r < 0.016 && v.status !== 'redeemed') h.sim.vouchers.lock(v.id, !v.locked);
    else if (r < 0.02) h.sim.vouchers.setExpiry(v.id, new Date(now + Math.floor(next() * 40) * DAY));
    else if (r < 0.021 && v.status !== 'redeemed' && Number(v.amount) > 0) h.sim.vouchers.redeem(v.id);
  }
  if (next() < 0.5) h.sim.vouchers.create(chainId);
}

interface DayResult {
  readonly stale: number;
  readonly live: number;
  readonly outOfScope: boolean;
  readonly exports: number;
}

async function simulateDay(t: { fullName: string; name: string }, withRefresh: boolean): Promise<DayResult> {
  let result: DayResult | null = null;
  await withSchema(warehouse, { ...t, name: `${t.name} ${withRefresh}`, fullName: `${t.fullName} ${withRefresh}` } as never, async (schema) => {
    const h = await startHarness(warehouse, schema, { chains: 1, vouchersPerChain: 1200, historyDays: 90, seed: 7 }, { SPAAZA_OPEN_REFRESH_CRON: '0 * * * *' });
    try {
      const chainId = h.sim.chainIds[0]!;
      const config = await h.config();
      const next = seededRandom(SEED);
      assert.equal((await h.sync({ mode: 'full-refresh', allowMassDelete: false })).exitCode, 0);
      let exports = 0;
      for (let hour = 0; hour < HOURS; hour++) {
        hourOfActivity(h, chainId, next);
        h.sim.advance(3600);
        assert.equal((await h.sync({ mode: 'incremental' })).exitCode, 0);
        if (withRefresh) {
          const [outcome] = await refreshOpenVouchers(config, { warehouse, logger: h.logger, signal: new AbortController().signal });
          assert.equal(outcome!.status, 'ok', JSON.stringify(outcome));
          exports += 1;
        }
      }
      const comparison = await compareWithGroundTruth(warehouse.pool, schema, h.sim, chainId);
      assert.deepEqual([comparison.missing, comparison.extra], [[], []], 'every voucher arrived, none is extra');
      const staleIds = new Set(comparison.differing.map((d) => d.id));
      // With the refresh, a voucher still stale is one outside its scope now.
      const nowMs = h.sim.now().getTime();
      const inScope = [...h.sim.groundTruth(chainId)].filter(
        (v) => staleIds.has(v.id) && ((v.expiresAt !== null && v.expiresAt * 1000 >= nowMs && v.expiresAt * 1000 <= nowMs + 14 * DAY) || v.createdAt * 1000 >= nowMs - 30 * DAY),
      );
      result = { stale: staleIds.size, live: [...h.sim.groundTruth(chainId)].length, outOfScope: inScope.length === 0, exports };
      const runs = await warehouse.pool.query(`SELECT count(*)::int AS n FROM "${schema}".sync_runs WHERE mode = 'open-refresh' AND state = 'committed'`);
      assert.equal(runs.rows[0].n, exports, 'each refresh is one committed run of mode open-refresh');
      const moved = await warehouse.pool.query(`SELECT count(*)::int AS n FROM "${schema}".vouchers WHERE deleted_at IS NOT NULL`);
      assert.equal(moved.rows[0].n, 0, 'the refresh never deletes');
    } finally {
      await h.close();
    }
  });
  return result!;
}

describe('the refresh of open vouchers', () => {
  it(`leaves only vouchers outside its scope stale after a day of claims, locks and expiry edits (seed ${SEED})`, async (t) => {
    const without = await simulateDay(t, false);
    const withIt = await simulateDay(t, true);
    const line = `after ${HOURS} hourly syncs of a day of claims, locks and expiry edits: ${without.stale} of ${without.live} live vouchers stale in vouchers_current without the open refresh, ${withIt.stale} of ${withIt.live} with it (${withIt.exports} refreshes)`;
    t.diagnostic(line);
    console.log(line);
    assert.ok(without.stale > 0, 'without it, claims and locks wait for the nightly full refresh');
    assert.ok(withIt.stale < without.stale, line);
    assert.ok(withIt.outOfScope, 'with it, every stale voucher is outside its scope (expiring later than 14 days, created over 30 days ago)');
  });
});
