// A watermark or row versions already ahead of Spaaza's clock (left by an older version or a
// hand-made load): every command that judges the warehouse reports it as an error, never as
// fresh; `reset` repairs it; and an export replaces a version that cannot be right.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { warehouseTables } from '../../../src/warehouse/tables.js';
import { freshnessSamples } from '../../../src/schedule/freshness.js';
import { compareWithGroundTruth } from '../../../src/simulator/compare-warehouse.js';
import type { Warehouse } from '../../../src/warehouse/warehouse.js';
import { startHarness, type Harness } from '../../support/sync-harness.js';
import { openTestWarehouse, withSchema } from '../../support/warehouse.js';

let warehouse: Warehouse;
before(async () => {
  warehouse = await openTestWarehouse();
});
after(async () => {
  await warehouse?.close();
});

const hostNow = () => Math.floor(Date.now() / 1000) * 1000;

async function withHostClock(t: { fullName: string; name: string }, work: (h: Harness, schema: string) => Promise<void>) {
  await withSchema(warehouse, t as never, async (schema) => {
    const h = await startHarness(warehouse, schema, { chains: 1, vouchersPerChain: 300, startMs: hostNow() }, { SPAAZA_BACKFILL_START_DATE: '', SPAAZA_MAX_CLOCK_SKEW: '15m', SPAAZA_SETTLE: '30s' });
    try {
      await work(h, schema);
    } finally {
      await h.close();
    }
  });
}

/** What an older version's wrong clock reading left: a watermark a year ahead, and rows dated 2099. */
async function plantFutureTimes(schema: string): Promise<{ watermark: Date; ids: number[] }> {
  const { rows } = await warehouse.pool.query(`SELECT watermark FROM "${schema}".sync_state WHERE chain_id = 1764`);
  const { rows: picked } = await warehouse.pool.query(
    `UPDATE "${schema}".vouchers SET source_exported_at = '2099-01-01T00:00:00Z'
     WHERE voucher_id IN (SELECT voucher_id FROM "${schema}".vouchers ORDER BY voucher_id LIMIT 5) RETURNING voucher_id::int AS id`,
  );
  await warehouse.pool.query(`UPDATE "${schema}".sync_state SET watermark = watermark + interval '365 days' WHERE chain_id = 1764`);
  return { watermark: rows[0].watermark, ids: picked.map((r) => r.id).sort((a, b) => a - b) };
}

describe('a watermark and row versions ahead of Spaaza\'s clock', () => {
  it('are an error for sync, status, check and /metrics, and spaaza-sync reset repairs them', async (t) => {
    await withHostClock(t, async (h, schema) => {
      assert.equal((await h.sync({ mode: 'incremental' })).exitCode, 0);
      const { watermark } = await plantFutureTimes(schema);

      const sync = await h.cli(['sync', '--json']);
      assert.equal(sync.code, 1, 'an incremental run does not report ok with 0 windows');
      const outcome = JSON.parse(sync.stdout).outcomes[0];
      assert.equal(outcome.error.code, 'watermark_ahead');
      assert.match(outcome.error.message, /ahead of Spaaza's clock.*spaaza-sync reset --chain 1764 --watermark/);

      const status = await h.cli(['status', '--json']);
      assert.equal(status.code, 1, status.stderr);
      const chain = JSON.parse(status.stdout).chains[0];
      assert.equal(chain.freshnessLagSeconds, null, 'never reported as fresh');
      assert.equal(chain.clock.source, 'spaaza');
      assert.equal(chain.errors.length, 2);
      assert.match(chain.errors.join(' '), /the watermark .* is after Spaaza's clock.*5 voucher row\(s\) carry a version after Spaaza's clock \(up to 2099-01-01T00:00:00Z\)/);
      assert.match((await h.cli(['status'])).stdout, /ERROR: the watermark/);

      const check = await h.cli(['check']);
      assert.equal(check.code, 1);
      assert.match(check.stdout, /FAIL {2}chain 1764 warehouse times: the watermark/);

      const [sample] = await freshnessSamples(warehouse.pool, warehouseTables(schema), [1764], Date.now(), 15 * 60_000);
      assert.deepEqual(sample, { chainId: 1764, lagSeconds: Number.POSITIVE_INFINITY, aheadOfClock: { watermark: true, rows: 5 } });

      // reset asks first: without a terminal and without --yes it changes nothing.
      const iso = watermark.toISOString();
      const refused = await h.cli(['reset', '--chain', '1764', '--watermark', iso]);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /add --yes/);
      const future = await h.cli(['reset', '--chain', '1764', '--watermark', '2099-01-01T00:00:00Z', '--yes']);
      assert.equal(future.code, 2, 'a watermark after the clock is refused');
      const reset = await h.cli(['reset', '--chain', '1764', '--watermark', iso, '--yes', '--json']);
      assert.equal(reset.code, 0, reset.stderr);
      assert.deepEqual([JSON.parse(reset.stdout).vouchersRestamped, JSON.parse(reset.stdout).previousWatermark !== null], [5, true]);
      const { rows: runs } = await warehouse.pool.query(`SELECT mode, state, window_end, warnings FROM "${schema}".sync_runs WHERE mode = 'reset'`);
      assert.equal(runs.length, 1);
      assert.equal(runs[0].window_end.getTime(), watermark.getTime());
      assert.match(runs[0].warnings[0], /watermark moved from .* to .*; 5 voucher and 0 campaign version\(s\)/);

      h.sim.vouchers.create(1764);
      h.sim.advance(60);
      assert.equal((await h.cli(['sync'])).code, 0);
      const after = await h.cli(['status', '--json']);
      assert.equal(after.code, 0, after.stdout);
      assert.deepEqual(JSON.parse(after.stdout).chains[0].errors, []);
      assert.deepEqual((await compareWithGroundTruth(warehouse.pool, schema, h.sim, 1764)).missing, []);
    });
  });

  it('is refused while another run holds the chain (exit 3)', async (t) => {
    await withHostClock(t, async (h, schema) => {
      assert.equal((await h.sync({ mode: 'incremental' })).exitCode, 0);
      const holder = await warehouse.pool.connect();
      try {
        await holder.query('SELECT pg_advisory_lock(hashtext($1), hashtext($2))', [schema, '1764']);
        const result = await h.cli(['reset', '--chain', '1764', '--watermark', new Date(Date.now() - 3600_000).toISOString(), '--yes']);
        assert.equal(result.code, 3, result.stderr);
      } finally {
        holder.release(true);
      }
    });
  });

  it('a full refresh replaces row versions dated after Spaaza\'s clock with its own, and can delete such rows', async (t) => {
    await withHostClock(t, async (h, schema) => {
      assert.equal((await h.sync({ mode: 'incremental' })).exitCode, 0);
      const { ids } = await plantFutureTimes(schema);
      await warehouse.pool.query(`UPDATE "${schema}".sync_state SET watermark = watermark - interval '365 days' WHERE chain_id = 1764`);
      // Spaaza changes two of those vouchers and deletes a third.
      const [a, b, c] = ids.map((id) => h.sim.vouchers.get(id));
      h.sim.vouchers.lock(a!.id, !a!.locked);
      h.sim.vouchers.setExpiry(b!.id, new Date(hostNow() + 30 * 86_400_000));
      h.sim.vouchers.delete(c!.id);
      h.sim.advance(60);
      const report = await h.sync({ mode: 'full-refresh', allowMassDelete: false });
      assert.equal(report.exitCode, 0, JSON.stringify(report.outcomes[0]!.error));
      assert.ok((await compareWithGroundTruth(warehouse.pool, schema, h.sim, 1764)).equal, 'the changed vouchers are current, the deleted one is gone');
      const { rows } = await warehouse.pool.query(`SELECT count(*)::int AS n FROM "${schema}".vouchers WHERE source_exported_at > now() + interval '15 minutes'`);
      assert.equal(rows[0].n, 0, 'no version after the clock is left');
    });
  });
});
