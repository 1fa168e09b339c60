// Interruptions followed by activity, and runs that could adopt what is not theirs: an interrupted
// full refresh must not be "finished" later with its old snapshot, a rerun of a backfill exports
// only what is not yet committed, and a task is adopted only by the warehouse that created it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compareWithGroundTruth } from '../../../src/simulator/compare-warehouse.js';
import type { Warehouse } from '../../../src/warehouse/warehouse.js';
import { migrateToLatest } from '../../../src/warehouse/migrate.js';
import { START, startHarness, type Harness } from '../../support/sync-harness.js';
import { openTestWarehouse, withSchema } from '../../support/warehouse.js';

let warehouse: Warehouse;
before(async () => {
  warehouse = await openTestWarehouse();
});
after(async () => {
  await warehouse?.close();
});

async function withHarness(t: { fullName: string; name: string }, options: Parameters<typeof startHarness>[2], env: Record<string, string>, work: (h: Harness, schema: string) => Promise<void>) {
  await withSchema(warehouse, t as never, async (schema) => {
    const h = await startHarness(warehouse, schema, options, env);
    try {
      await work(h, schema);
    } finally {
      await h.close();
    }
  });
}

/** Resolves once `condition` holds, polling every 20 ms (real time). */
async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const exportsOf = (h: Harness, chainId = 1764) => h.sim.state.tasks.list().filter((task) => task.request.chain === chainId).length;

/** Customers act after the interruption: deletions, claims and locks no date field reveals. */
function activity(h: Harness): { deleted: number[]; changed: number[] } {
  const live = [...h.sim.groundTruth(1764)];
  const deleted = live.slice(10, 13).map((v) => h.sim.vouchers.delete(v.id).id);
  const rest = live.slice(13);
  const claimed = rest.filter((v) => v.status === 'generated').slice(0, 4).map((v) => h.sim.vouchers.claim(v.id).id);
  const locked = rest.filter((v) => !v.locked && v.status !== 'redeemed').slice(20, 23).map((v) => h.sim.vouchers.lock(v.id, true).id);
  return { deleted, changed: [...claimed, ...locked] };
}

describe('a full refresh interrupted once its task exists, then customers act', () => {
  for (const how of ['SIGKILL', 'SIGTERM'] as const) {
    it(`(${how}) the next full refresh takes a fresh export when the old one is older than fullRefresh.maxAge, and exits 0 only reconciled`, async (t) => {
      await withHarness(t, { chains: 1, vouchersPerChain: 400 }, { SPAAZA_BACKFILL_START_DATE: '' }, async (h, schema) => {
        assert.equal((await h.sync({ mode: 'incremental' })).exitCode, 0);
        h.sim.advance(600);
        // A slow download keeps the window in flight long enough to be interrupted after its task exists.
        h.sim.setFaults([{ at: 'storage', times: 1, action: { kind: 'throttle', bytesPerSecond: 20_000 } }]);
        const before = exportsOf(h);
        const killed = h.spawn(['full-refresh']);
        await until('the full refresh to download', async () => {
          const { rows } = await warehouse.pool.query(`SELECT 1 FROM "${schema}".sync_runs WHERE mode = 'full-refresh' AND state IN ('downloading', 'loading')`);
          return rows.length > 0;
        });
        killed.child.kill(how);
        const first = await killed.done;
        assert.ok(how === 'SIGKILL' ? first.signal === 'SIGKILL' : first.code === 1, `${how}: ${first.code} ${first.signal} ${first.stderr.slice(-400)}`);
        assert.equal(exportsOf(h) - before, 1);
        h.sim.setFaults([]);

        const { deleted, changed } = activity(h);
        h.sim.advance(2 * 3600); // the old snapshot is now two hours old: older than the 1 h bound
        const rerun = await h.cli(['full-refresh', '--json']);
        assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr);
        const outcome = JSON.parse(rerun.stdout).outcomes[0];
        assert.deepEqual(outcome.windows.map((w: { resumed: boolean }) => w.resumed), [true, false], 'the old task was loaded, then a fresh one taken');
        assert.equal(exportsOf(h) - before, 2);

        const c = await compareWithGroundTruth(warehouse.pool, schema, h.sim, 1764);
        assert.deepEqual({ extra: c.extra, missing: c.missing, differing: c.differing.map((d) => d.id) }, { extra: [], missing: [], differing: [] });
        assert.ok(deleted.every((id) => !c.extra.includes(id)) && changed.length > 0);
        const { rows } = await warehouse.pool.query(`SELECT last_full_refresh_at FROM "${schema}".sync_state WHERE chain_id = 1764`);
        assert.equal(rows[0].last_full_refresh_at.getTime(), Math.floor(h.sim.now().getTime() / 1000) * 1000, 'the last full refresh is the fresh one');
        const warned = await warehouse.pool.query(`SELECT warnings FROM "${schema}".sync_runs WHERE mode = 'full-refresh' ORDER BY id LIMIT 1`);
        assert.match(warned.rows[0].warnings.join(' '), /older than fullRefresh\.maxAge/);
      });
    });
  }

  it('resumes the old task alone when it is fresh enough, and then reflects its snapshot', async (t) => {
    await withHarness(t, { chains: 1, vouchersPerChain: 300 }, { SPAAZA_BACKFILL_START_DATE: '' }, async (h) => {
      assert.equal((await h.sync({ mode: 'incremental' })).exitCode, 0);
      h.sim.advance(600);
      const killed = await h.cli(['full-refresh'], { SPAAZA_SYNC_FAILPOINT: 'mid-copy:kill' });
      assert.equal(killed.signal, 'SIGKILL');
      const before = exportsOf(h);
      h.sim.advance(20 * 60);
      const rerun = await h.cli(['full-refresh', '--json']);
      assert.equal(rerun.code, 0, rerun.stderr);
      assert.deepEqual(JSON.parse(rerun.stdout).outcomes[0].windows.map((w: { resumed: boolean }) => w.resumed), [true]);
      assert.equal(exportsOf(h), before, 'no new export');
    });
  });
});

describe('a stored task that ended in ERROR', () => {
  it('is not resumed: its row is abandoned with the reason and its window planned again in the same run', async (t) => {
    await withHarness(t, { chains: 1, vouchersPerChain: 300 }, { SPAAZA_BACKFILL_START_DATE: '' }, async (h, schema) => {
      assert.equal((await h.sync({ mode: 'incremental' })).exitCode, 0);
      h.sim.vouchers.create(1764);
      h.sim.advance(900);
      // The run dies right after creating its task, which Spaaza then fails.
      h.sim.setFaults([{ at: 'run_task', times: 1, action: { kind: 'error', message: 'index unavailable' } }]);
      const killed = await h.cli(['sync'], { SPAAZA_SYNC_FAILPOINT: 'after-create:kill' });
      assert.equal(killed.signal, 'SIGKILL');
      h.sim.advance(60);
      const rerun = await h.sync({ mode: 'incremental' });
      assert.equal(rerun.exitCode, 0, JSON.stringify(rerun.outcomes[0]!.error));
      const { rows } = await warehouse.pool.query(`SELECT state, error_message FROM "${schema}".sync_runs WHERE mode = 'incremental' ORDER BY id`);
      assert.deepEqual(rows.map((r) => r.state), ['committed', 'abandoned', 'committed']);
      assert.match(rows[1].error_message, /ended in ERROR.*index unavailable/);
      assert.ok((await compareWithGroundTruth(warehouse.pool, schema, h.sim, 1764)).equal);
    });
  });
});

describe('a backfill killed after its 3rd of 5 windows, then run again', () => {
  it('exports only the windows not yet committed: 5 exports for 5 windows', async (t) => {
    await withHarness(t, { chains: 1, vouchersPerChain: 500 }, {}, async (h, schema) => {
      const from = new Date(START - 50 * 86_400_000).toISOString().slice(0, 10);
      const to = new Date(START - 2 * 86_400_000).toISOString().slice(0, 10);
      // Seconds per window's download: room to kill while the third window is in flight.
      h.sim.setFaults([{ at: 'storage', action: { kind: 'delay', ms: 2500 } }]);
      const before = exportsOf(h);
      const run = h.spawn(['backfill', '--from', from, '--to', to]);
      await until('the third export task', () => exportsOf(h) - before >= 3);
      run.child.kill('SIGKILL');
      assert.equal((await run.done).signal, 'SIGKILL');
      assert.ok(exportsOf(h) - before < 5, 'killed before its last window');
      h.sim.setFaults([]);
      // Time passes before the rerun: a task killed before its execute call becomes due meanwhile.
      h.sim.advance(60);

      const rerun = await h.cli(['backfill', '--from', from, '--to', to, '--json']);
      assert.equal(rerun.code, 0, rerun.stderr);
      assert.equal(exportsOf(h) - before, 5, 'resuming never re-plans a window');
      const { rows } = await warehouse.pool.query(`SELECT window_start, window_end, state FROM "${schema}".sync_runs WHERE mode = 'backfill' ORDER BY window_start`);
      assert.equal(rows.length, 5);
      assert.ok(rows.every((r) => r.state === 'committed'));
      for (let k = 1; k < rows.length; k++) assert.equal(rows[k].window_start.getTime(), rows[k - 1].window_end.getTime(), 'the windows tile the range');

      // A later backfill of the same range is a re-sync: it exports again.
      const again = await h.cli(['backfill', '--from', from, '--to', to]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(exportsOf(h) - before, 10);
    });
  });
});

describe('two warehouses on one chain', () => {
  it("after an ambiguous POST /tasks, warehouse B never adopts warehouse A's task", async (t) => {
    await withHarness(t, { chains: 1, vouchersPerChain: 300 }, { SPAAZA_BACKFILL_START_DATE: '' }, async (h, schemaA) => {
      const schemaB = `${schemaA}_b`;
      await warehouse.pool.query(`DROP SCHEMA IF EXISTS "${schemaB}" CASCADE`);
      await migrateToLatest(warehouse.db, schemaB);
      try {
        const a = await h.sync({ mode: 'incremental' });
        assert.equal(a.exitCode, 0);
        const taskOfA = a.outcomes[0]!.windows[0]!.taskId;
        h.sim.advance(86_400);
        h.sim.vouchers.create(1764);
        // B's first create answers 500 after creating nothing: B looks for its marker before creating again.
        h.sim.setFaults([{ at: 'create_task', calls: [1], action: { kind: 'status', status: 500 } }]);
        const b = await h.sync({ mode: 'incremental' }, { SPAAZA_SCHEMA: schemaB });
        assert.equal(b.exitCode, 0, JSON.stringify(b.outcomes[0]!.error));
        const window = b.outcomes[0]!.windows[0]!;
        assert.notEqual(window.taskId, taskOfA, "B adopted A's task");
        assert.ok(window.exportedAt.getTime() >= h.sim.now().getTime() - 2000, "B's rows carry its own export time");
        assert.ok((await compareWithGroundTruth(warehouse.pool, schemaB, h.sim, 1764)).equal);
        const markers = h.sim.state.tasks.list().map((task) => task.request.desc);
        assert.equal(new Set(markers).size, markers.length, 'every marker is unique');
      } finally {
        await warehouse.pool.query(`DROP SCHEMA IF EXISTS "${schemaB}" CASCADE`);
      }
    });
  });
});
