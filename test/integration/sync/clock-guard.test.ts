// Time as an input (DESIGN §5.8): one wrong clock reading (a Date header a year off, a task dated
// 2036 or 2099) must fail the run with a clear error and move nothing, neither the watermark nor a
// row's version; an empty last_run_date is accepted. The simulator follows this host's clock and
// the default bound of 15 minutes applies, as for a real user.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compareWithGroundTruth } from '../../../src/simulator/compare-warehouse.js';
import { API_POINTS, type FaultRule } from '../../../src/simulator/faults.js';
import type { Warehouse } from '../../../src/warehouse/warehouse.js';
import { startHarness, type Harness } from '../../support/sync-harness.js';
import { fingerprint, openTestWarehouse, withSchema } from '../../support/warehouse.js';

let warehouse: Warehouse;
before(async () => {
  warehouse = await openTestWarehouse();
});
after(async () => {
  await warehouse?.close();
});

const YEAR = 365 * 86_400;
const hostNow = () => Math.floor(Date.now() / 1000) * 1000;

/**
 * A harness on this host's clock with the default clock bound (the harness's own is 10 years). The
 * settle delay is short, so the clock need not be moved far from this host's to see new vouchers.
 */
async function withHostClock(t: { fullName: string; name: string }, work: (h: Harness, schema: string) => Promise<void>, env: Record<string, string> = {}) {
  await withSchema(warehouse, t as never, async (schema) => {
    const h = await startHarness(warehouse, schema, { chains: 1, vouchersPerChain: 300, startMs: hostNow() }, { SPAAZA_BACKFILL_START_DATE: '', SPAAZA_MAX_CLOCK_SKEW: '15m', SPAAZA_SETTLE: '30s', ...env });
    try {
      await work(h, schema);
    } finally {
      await h.close();
    }
  });
}

async function state(schema: string): Promise<{ watermark: Date | null; vouchers: string; campaigns: string }> {
  const { rows } = await warehouse.pool.query(`SELECT watermark FROM "${schema}".sync_state WHERE chain_id = 1764`);
  return { watermark: rows[0]?.watermark ?? null, vouchers: await fingerprint(warehouse, `"${schema}".vouchers`), campaigns: await fingerprint(warehouse, `"${schema}".campaigns`) };
}

/** The latest row version and watermark must never be after Spaaza's clock. */
async function assertNothingAhead(h: Harness, schema: string): Promise<void> {
  const { rows } = await warehouse.pool.query(
    `SELECT (SELECT max(source_exported_at) FROM "${schema}".vouchers) AS stamp, (SELECT max(watermark) FROM "${schema}".sync_state) AS watermark`,
  );
  const limit = h.sim.now().getTime() + 2000;
  assert.ok(!rows[0].stamp || rows[0].stamp.getTime() <= limit, `a row is stamped ${rows[0].stamp?.toISOString()}, after Spaaza's clock`);
  assert.ok(!rows[0].watermark || rows[0].watermark.getTime() <= limit, `the watermark ${rows[0].watermark?.toISOString()} is after Spaaza's clock`);
}

const everywhere = (action: FaultRule['action']): FaultRule[] => API_POINTS.map((at) => ({ at, action }));

describe('a wrong clock reading', () => {
  const cases: { name: string; first: boolean; faults: FaultRule[]; pattern: RegExp }[] = [
    { name: 'a Date header a year ahead', first: false, faults: everywhere({ kind: 'date', seconds: YEAR }), pattern: /Date header.*ahead of this machine's clock.*maxClockSkew \(15m\)/ },
    { name: 'a Date header a year behind', first: false, faults: everywhere({ kind: 'date', seconds: -YEAR }), pattern: /behind this machine's clock/ },
    { name: 'a Date header 20 minutes ahead', first: false, faults: everywhere({ kind: 'date', seconds: 20 * 60 }), pattern: /2\dm\d+s ahead of this machine's clock/ },
    {
      name: 'an unfiltered export whose task says it was created in 2036',
      first: true,
      faults: ['create_task', 'get_task', 'list_tasks'].map((at) => ({ at: at as FaultRule['at'], action: { kind: 'task_times', createdSeconds: Math.floor((Date.UTC(2036, 0, 1) - hostNow()) / 1000) } })),
      pattern: /created at 2036.*ahead of Spaaza's own clock/,
    },
    {
      name: 'a task that says it ran in 2099',
      first: false,
      faults: [{ at: 'get_task', action: { kind: 'task_times', lastRunSeconds: Math.floor((Date.UTC(2099, 0, 1) - hostNow()) / 1000) } }],
      pattern: /ran at 2099.*ahead of Spaaza's own clock/,
    },
    { name: 'a task dated 1970', first: false, faults: [{ at: 'get_task', action: { kind: 'task_times', createdSeconds: -Math.floor(hostNow() / 1000), lastRunSeconds: -Math.floor(hostNow() / 1000) } }], pattern: /created at 1970.*behind the window/ },
  ];
  for (const c of cases) {
    it(`${c.name}: the run fails (exit 1) with a clear error, nothing moves, and the next clean run syncs`, async (t) => {
      await withHostClock(t, async (h, schema) => {
        if (!c.first) {
          assert.equal((await h.sync({ mode: 'incremental' })).exitCode, 0);
          h.sim.vouchers.create(1764);
          h.sim.advance(120);
        }
        const before = await state(schema);
        h.sim.setFaults(c.faults);
        const cli = await h.cli(['sync', '--json']);
        assert.equal(cli.code, 1, cli.stdout + cli.stderr);
        const outcome = JSON.parse(cli.stdout).outcomes[0];
        assert.equal(outcome.error.code, 'implausible_time');
        assert.match(outcome.error.message, c.pattern);
        assert.deepEqual(await state(schema), before, 'nothing moved');
        await assertNothingAhead(h, schema);

        h.sim.setFaults([]);
        h.sim.advance(60);
        const clean = await h.sync({ mode: 'incremental' }, { SPAAZA_RESUME_MAX_AGE: '1s' });
        assert.equal(clean.exitCode, 0, JSON.stringify(clean.outcomes[0]!.error));
        assert.ok(clean.outcomes[0]!.windows.length > 0, 'the clean run synced');
        await assertNothingAhead(h, schema);
        // The voucher created before the wrong reading arrived with the clean run.
        const c2 = await compareWithGroundTruth(warehouse.pool, schema, h.sim, 1764);
        assert.deepEqual(c2.missing, []);
      });
    });
  }

  it('a full refresh refuses a task dated 2099 too, and deletes nothing', async (t) => {
    await withHostClock(t, async (h, schema) => {
      assert.equal((await h.sync({ mode: 'incremental' })).exitCode, 0);
      h.sim.vouchers.delete([...h.sim.groundTruth(1764)][5]!.id);
      h.sim.advance(120);
      const before = await state(schema);
      h.sim.setFaults([{ at: 'get_task', action: { kind: 'task_times', lastRunSeconds: Math.floor((Date.UTC(2099, 0, 1) - hostNow()) / 1000) } }]);
      const report = await h.sync({ mode: 'full-refresh', allowMassDelete: false });
      assert.equal(report.exitCode, 1);
      assert.equal(report.outcomes[0]!.error!.code, 'implausible_time');
      assert.deepEqual(await state(schema), before);
    });
  });
});

describe('an empty last_run_date', () => {
  it('is read as "not run": the export time is the creation time, and the window commits', async (t) => {
    await withHostClock(t, async (h, schema) => {
      h.sim.setFaults([{ at: 'get_task', action: { kind: 'task_times', lastRunDate: '' } }]);
      const report = await h.sync({ mode: 'incremental' });
      assert.equal(report.exitCode, 0, JSON.stringify(report.outcomes[0]!.error));
      const task = h.sim.state.tasks.list()[0]!;
      assert.equal(report.outcomes[0]!.windows[0]!.exportedAt.getTime(), Math.floor(task.createdMs / 1000) * 1000);
      assert.ok((await compareWithGroundTruth(warehouse.pool, schema, h.sim, 1764)).equal);
    });
  });
});
