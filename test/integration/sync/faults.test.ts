// The sync under the faults a real Spaaza can throw at it: each window either commits correctly
// or fails without changing data or watermark, and a clean run afterwards catches up.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compareWithGroundTruth } from '../../../src/simulator/compare-warehouse.js';
import type { FaultRule } from '../../../src/simulator/faults.js';
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

const CHAIN = 1764;

async function scenario(
  t: { fullName: string; name: string },
  faults: FaultRule[],
  check: (h: Harness, schema: string, report: Awaited<ReturnType<Harness['sync']>>) => Promise<void>,
  env: Record<string, string> = {},
  clockRate = 0,
) {
  await withSchema(warehouse, t as never, async (schema) => {
    const h = await startHarness(warehouse, schema, { chains: 1, vouchersPerChain: 600, clockRate }, { SPAAZA_BACKFILL_START_DATE: '', ...env });
    try {
      // A first clean sync, then activity, then the faulty run.
      assert.equal((await h.sync({ mode: 'incremental' })).exitCode, 0);
      for (let i = 0; i < 10; i++) h.sim.vouchers.create(CHAIN);
      h.sim.advance(15 * 60);
      h.sim.setFaults(faults);
      await check(h, schema, await h.sync({ mode: 'incremental' }));
    } finally {
      await h.close();
    }
  });
}

async function assertCaughtUp(h: Harness, schema: string) {
  h.sim.setFaults([]);
  h.sim.advance(60);
  const report = await h.sync({ mode: 'incremental' });
  assert.equal(report.exitCode, 0, JSON.stringify(report.outcomes));
  assert.ok((await compareWithGroundTruth(warehouse.pool, schema, h.sim, CHAIN)).equal, 'the next clean run catches up');
}

describe('sync under faults', () => {
  it('retries an expired download URL with a fresh one', async (t) => {
    // Spaaza's clock runs 1000× fast here, so a URL that expires after 0 s is stale when used.
    await scenario(
      t,
      [{ at: 'download_url', calls: [1], action: { kind: 'expire', seconds: 0 } }],
      async (h, schema, report) => {
        assert.equal(report.exitCode, 0, JSON.stringify(report.outcomes));
        assert.equal(h.sim.calls().download_url, 2, 'a fresh URL for the second attempt');
        assert.ok(h.lines.some((l) => l.includes('download failed; retrying with a fresh URL')));
        assert.ok((await compareWithGroundTruth(warehouse.pool, schema, h.sim, CHAIN)).equal);
      },
      {},
      1000,
    );
  });

  it('fails the window of a task that ends in ERROR, with its logs, and changes nothing', async (t) => {
    await withSchema(warehouse, t as never, async (schema) => {
      const h = await startHarness(warehouse, schema, { chains: 1, vouchersPerChain: 300 }, { SPAAZA_BACKFILL_START_DATE: '' });
      try {
        assert.equal((await h.sync({ mode: 'incremental' })).exitCode, 0);
        h.sim.vouchers.create(CHAIN);
        h.sim.advance(900);
        const before = await Promise.all(['vouchers', 'sync_state'].map((x) => fingerprint(warehouse, `"${schema}".${x}`)));
        h.sim.setFaults([{ at: 'run_task', action: { kind: 'error', message: 'Elasticsearch query timed out' } }]);
        const report = await h.sync({ mode: 'incremental' });
        assert.equal(report.exitCode, 1);
        assert.equal(report.outcomes[0]!.error?.code, 'task_error');
        assert.match(report.outcomes[0]!.error!.message, /ended in ERROR.*Elasticsearch query timed out/);
        assert.deepEqual(await Promise.all(['vouchers', 'sync_state'].map((x) => fingerprint(warehouse, `"${schema}".${x}`))), before);
        const failed = await warehouse.pool.query(`SELECT state, error_code FROM "${schema}".sync_runs ORDER BY id DESC LIMIT 1`);
        assert.deepEqual(failed.rows[0], { state: 'failed', error_code: 'task_error' });
        await assertCaughtUp(h, schema);
      } finally {
        await h.close();
      }
    });
  });

  it('keeps a stuck task for the next run when the poll deadline passes', async (t) => {
    await scenario(
      t,
      [{ at: 'run_task', times: 1, action: { kind: 'stuck' } }],
      async (h, schema, report) => {
        assert.equal(report.exitCode, 1);
        assert.equal(report.outcomes[0]!.error?.code, 'poll_deadline');
        const kept = await warehouse.pool.query(`SELECT id, state, task_id::int FROM "${schema}".sync_runs ORDER BY id DESC LIMIT 1`);
        assert.equal(kept.rows[0].state, 'polling', 'the row keeps its task');
        // The next run resumes that very task (still stuck here) instead of creating another export.
        const creates = h.sim.calls().create_task;
        const again = await h.sync({ mode: 'incremental' });
        assert.equal(again.outcomes[0]!.error?.code, 'poll_deadline');
        assert.equal(h.sim.calls().create_task, creates, 'no second export was created');
      },
      // Below the limit of deadlines a task may outlive (test/integration/sync/unstick.test.ts goes past it).
      { SPAAZA_POLL_DEADLINE: '1s', SPAAZA_ABANDON_AFTER_DEADLINES: '3' },
    );
  });

  it('rides out a 429 storm, honouring Retry-After', async (t) => {
    await scenario(t, [{ at: 'get_task', calls: [1, 2, 3], action: { kind: 'status', status: 429, retryAfterSeconds: 1 } }, { at: 'create_task', calls: [1], action: { kind: 'status', status: 503 } }], async (h, schema, report) => {
      assert.equal(report.exitCode, 0, JSON.stringify(report.outcomes));
      assert.ok(h.lines.some((l) => l.includes('429')), 'the retries are logged');
      assert.ok((await compareWithGroundTruth(warehouse.pool, schema, h.sim, CHAIN)).equal);
    });
  });

  it('retries a connection reset mid-download and a truncated body, committing only a whole file', async (t) => {
    await scenario(
      t,
      [
        { at: 'storage', calls: [1], action: { kind: 'reset', afterBytes: 2000 } },
        { at: 'storage', calls: [2], action: { kind: 'truncate', keepBytes: 3000 } },
      ],
      async (h, schema, report) => {
        assert.equal(report.exitCode, 0, JSON.stringify(report.outcomes));
        assert.equal(h.sim.calls().storage, 3, 'two broken downloads, then a whole one');
        assert.ok((await compareWithGroundTruth(warehouse.pool, schema, h.sim, CHAIN)).equal);
        const runs = await warehouse.pool.query(`SELECT state FROM "${schema}".sync_runs ORDER BY id DESC LIMIT 1`);
        assert.equal(runs.rows[0].state, 'committed');
      },
    );
  });

  it('fails the window when every download attempt breaks, leaving data and watermark as they were', async (t) => {
    await scenario(t, [{ at: 'storage', action: { kind: 'truncate', keepBytes: 1500 } }], async (h, schema, report) => {
      assert.equal(report.exitCode, 1);
      const run = await warehouse.pool.query(`SELECT state FROM "${schema}".sync_runs ORDER BY id DESC LIMIT 1`);
      assert.equal(run.rows[0].state, 'failed');
      await assertCaughtUp(h, schema);
    });
  });
});
