/**
 * A chain whose export task never finishes is not stuck for resumeMaxAge: after
 * extract.abandonAfterDeadlines poll deadlines the task is abandoned and the window planned afresh,
 * and `spaaza-sync abandon` does it at once for the cases no rule covers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
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

const CHAIN = 1764;

/** A first clean sync, activity, then a run whose new export task is stuck at Spaaza. */
async function withStuckTask(t: { fullName: string; name: string }, env: Record<string, string>, work: (h: Harness, schema: string) => Promise<void>) {
  await withSchema(warehouse, t as never, async (schema) => {
    const h = await startHarness(warehouse, schema, { chains: 1, vouchersPerChain: 300 }, { SPAAZA_BACKFILL_START_DATE: '', SPAAZA_POLL_DEADLINE: '1s', ...env });
    try {
      assert.equal((await h.sync({ mode: 'incremental' })).exitCode, 0);
      for (let i = 0; i < 10; i++) h.sim.vouchers.create(CHAIN);
      h.sim.advance(15 * 60);
      h.sim.setFaults([{ at: 'run_task', times: 1, action: { kind: 'stuck' } }]);
      const stuck = await h.sync({ mode: 'incremental' });
      assert.equal(stuck.outcomes[0]!.error?.code, 'poll_deadline', JSON.stringify(stuck.outcomes));
      await work(h, schema);
    } finally {
      await h.close();
    }
  });
}

const rows = async (schema: string) =>
  (
    await warehouse.pool.query<{ id: string; state: string; task_id: string | null; error_code: string | null; error_message: string | null; poll_deadlines: number }>(
      `SELECT id, state, task_id, error_code, error_message, poll_deadlines FROM "${schema}".sync_runs ORDER BY id`,
    )
  ).rows;

describe('unsticking a chain', () => {
  it('abandons a task that outlived two poll deadlines, and plans its window afresh in the same run', async (t) => {
    await withStuckTask(t, {}, async (h, schema) => {
      const stuck = (await rows(schema)).at(-1)!;
      assert.deepEqual([stuck.state, stuck.poll_deadlines], ['polling', 1]);
      const creates = h.sim.calls().create_task;
      const report = await h.sync({ mode: 'incremental' });
      assert.equal(report.exitCode, 0, JSON.stringify(report.outcomes));
      assert.equal(h.sim.calls().create_task, creates + 1, 'one new export task for the window');
      const after = await rows(schema);
      const abandoned = after.find((r) => r.id === stuck.id)!;
      assert.deepEqual([abandoned.state, abandoned.error_code, abandoned.poll_deadlines], ['abandoned', 'task_stuck', 2]);
      assert.match(abandoned.error_message!, new RegExp(`export task ${stuck.task_id} was still unfinished after 2 poll deadlines`));
      assert.equal(after.at(-1)!.state, 'committed');
      assert.ok((await compareWithGroundTruth(warehouse.pool, schema, h.sim, CHAIN)).equal, 'the chain caught up');
    });
  });

  it('waits for as many deadlines as configured', async (t) => {
    await withStuckTask(t, { SPAAZA_ABANDON_AFTER_DEADLINES: '3' }, async (h, schema) => {
      assert.equal((await h.sync({ mode: 'incremental' })).outcomes[0]!.error?.code, 'poll_deadline');
      assert.deepEqual((await rows(schema)).at(-1)!.poll_deadlines, 2);
      assert.equal((await h.sync({ mode: 'incremental' })).exitCode, 0);
      assert.equal((await rows(schema)).find((r) => r.error_code === 'task_stuck')?.poll_deadlines, 3);
    });
  });

  it('a backfill whose fresh task is given up at once (abandonAfterDeadlines 1) fails instead of skipping the window', async (t) => {
    await withSchema(warehouse, t as never, async (schema) => {
      const h = await startHarness(warehouse, schema, { chains: 1, vouchersPerChain: 300 }, { SPAAZA_POLL_DEADLINE: '1s', SPAAZA_ABANDON_AFTER_DEADLINES: '1' });
      try {
        h.sim.setFaults([{ at: 'run_task', times: 1, action: { kind: 'stuck' } }]);
        const report = await h.sync({ mode: 'backfill', from: new Date('2026-05-01T00:00:00Z'), to: null });
        assert.equal(report.exitCode, 1, JSON.stringify(report.outcomes));
        assert.equal(report.outcomes[0]!.error?.code, 'task_stuck');
        assert.equal(report.outcomes[0]!.windows.length, 0, 'no later window ran past the abandoned one');
        const again = await h.sync({ mode: 'backfill', from: new Date('2026-05-01T00:00:00Z'), to: null });
        assert.equal(again.exitCode, 0, JSON.stringify(again.outcomes));
      } finally {
        await h.close();
      }
    });
  });

  it('any run of the chain abandons unfinished windows of another mode once they are older than resumeMaxAge', async (t) => {
    await withStuckTask(t, { SPAAZA_ABANDON_AFTER_DEADLINES: '10' }, async (h, schema) => {
      const stuck = (await rows(schema)).at(-1)!;
      // The stuck window is an incremental one: make it a day-old backfill that no backfill will resume.
      await warehouse.pool.query(`UPDATE "${schema}".sync_runs SET mode = 'backfill', started_at = now() - interval '2 days' WHERE id = $1`, [stuck.id]);
      const report = await h.sync({ mode: 'incremental' });
      assert.equal(report.exitCode, 0, JSON.stringify(report.outcomes));
      const after = (await rows(schema)).find((r) => r.id === stuck.id)!;
      assert.equal(after.state, 'abandoned');
      assert.match(after.error_message!, /too old to resume/);
    });
  });

  it('spaaza-sync abandon asks first, is refused while the chain is locked, then lets the next run plan afresh', async (t) => {
    await withStuckTask(t, { SPAAZA_ABANDON_AFTER_DEADLINES: '10' }, async (h, schema) => {
      const stuck = (await rows(schema)).at(-1)!;
      // Not a terminal and no --yes: nothing changes.
      const asked = await h.cli(['abandon', '--chain', String(CHAIN)]);
      assert.equal(asked.code, 2, asked.stderr);
      assert.match(asked.stderr, /add --yes/);
      assert.equal((await rows(schema)).at(-1)!.state, 'polling');

      // Another run holds the chain: refused with exit 3.
      const holder = await warehouse.pool.connect();
      try {
        await holder.query('SELECT pg_advisory_lock(hashtext($1), hashtext($2))', [schema, String(CHAIN)]);
        const locked = await h.cli(['abandon', '--chain', String(CHAIN), '--yes']);
        assert.equal(locked.code, 3, locked.stderr);
      } finally {
        holder.release(true);
      }

      const other = await h.cli(['abandon', '--chain', String(CHAIN), '--run', String(Number(stuck.id) + 1000), '--yes']);
      assert.equal(other.code, 0, other.stderr);
      assert.match(other.stdout, /nothing to abandon/);

      const done = await h.cli(['abandon', '--chain', String(CHAIN), '--run', stuck.id, '--yes', '--json']);
      assert.equal(done.code, 0, done.stderr);
      assert.deepEqual(JSON.parse(done.stdout), { chain: CHAIN, abandoned: [Number(stuck.id)] });
      const abandoned = (await rows(schema)).at(-1)!;
      assert.deepEqual([abandoned.state, abandoned.error_code], ['abandoned', 'abandoned_by_operator']);

      const creates = h.sim.calls().create_task;
      const next = await h.sync({ mode: 'incremental' });
      assert.equal(next.exitCode, 0, JSON.stringify(next.outcomes));
      assert.equal(h.sim.calls().create_task, creates + 1, 'the next run planned afresh instead of resuming the stuck task');
      assert.ok((await compareWithGroundTruth(warehouse.pool, schema, h.sim, CHAIN)).equal);
    });
  });
});
