// The main job end to end, over real HTTP and a real PostgreSQL: backfill, activity, incremental
// syncs, full refresh; the warehouse must equal the simulator's ground truth.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { warehouseTables } from '../../../src/warehouse/tables.js';
import { readWarehouseId } from '../../../src/warehouse/warehouse-identity.js';
import { compareWithGroundTruth } from '../../../src/simulator/compare-warehouse.js';
import { taskMarker } from '../../../src/sync/task-marker.js';
import type { Warehouse } from '../../../src/warehouse/warehouse.js';
import { START, startHarness, type Harness } from '../../support/sync-harness.js';
import { openTestWarehouse, withSchema } from '../../support/warehouse.js';

let warehouse: Warehouse;
before(async () => {
  warehouse = await openTestWarehouse();
});
after(async () => {
  await warehouse?.close();
});

async function withHarness(t: { fullName: string; name: string }, options: Parameters<typeof startHarness>[2], work: (h: Harness, schema: string) => Promise<void>, env: Record<string, string> = {}) {
  await withSchema(warehouse, t as never, async (schema) => {
    const h = await startHarness(warehouse, schema, options, env);
    try {
      await work(h, schema);
    } finally {
      await h.close();
    }
  });
}

function activity(h: Harness, round: number) {
  const created: number[] = [];
  const redeemed: number[] = [];
  for (const chainId of h.sim.chainIds) {
    const live = [...h.sim.groundTruth(chainId)];
    const every = (n: number, offset: number) => live.filter((_, i) => (i + round * 13 + offset) % n === 0);
    for (let i = 0; i < 25; i++) created.push(h.sim.vouchers.create(chainId).id);
    for (const v of every(37, 1).filter((v) => v.status === 'generated')) h.sim.vouchers.claim(v.id);
    for (const v of every(29, 2).filter((v) => v.status !== 'redeemed' && Number(v.amount) > 0)) {
      const { regenerated } = h.sim.vouchers.redeem(v.id, Number(v.amount) >= 10 ? '1.00' : undefined);
      redeemed.push(v.id);
      if (regenerated) created.push(regenerated.id);
    }
    for (const v of every(61, 3).filter((v) => v.status !== 'redeemed')) h.sim.vouchers.lock(v.id, true);
    for (const v of every(67, 4)) h.sim.vouchers.setExpiry(v.id, new Date(START + 40 * 86_400_000));
    for (const v of every(71, 5)) h.sim.vouchers.delete(v.id);
  }
  return { created, redeemed };
}

describe('sync end to end', () => {
  it('backfill, activity, incremental syncs and a full refresh leave the warehouse equal to the source', async (t) => {
    await withHarness(t, { chains: 2 }, async (h, schema) => {
      const first = await h.sync({ mode: 'incremental' });
      assert.equal(first.exitCode, 0, JSON.stringify(first.outcomes));
      for (const o of first.outcomes) assert.equal(o.windows.length, 7, 'a first run backfills from backfillStartDate in 10-day windows');
      for (const chainId of h.sim.chainIds) assert.ok((await compareWithGroundTruth(warehouse.pool, schema, h.sim, chainId)).equal, 'after the backfill');

      for (const round of [1, 2]) {
        const { created, redeemed } = activity(h, round);
        h.sim.advance(15 * 60);
        const report = await h.sync({ mode: 'incremental' });
        assert.equal(report.exitCode, 0);
        // Incremental sync guarantees new and newly redeemed vouchers are current.
        const { rows } = await warehouse.pool.query(`SELECT voucher_id::int AS id, status FROM "${schema}".vouchers WHERE voucher_id = ANY($1)`, [[...created, ...redeemed]]);
        const byId = new Map(rows.map((r) => [r.id, r.status]));
        for (const id of created) assert.ok(byId.has(id), `created voucher ${id} arrived`);
        for (const id of redeemed) assert.equal(byId.get(id), 'redeemed', `redeemed voucher ${id} is current`);
      }

      const refresh = await h.sync({ mode: 'full-refresh', allowMassDelete: false });
      assert.equal(refresh.exitCode, 0, JSON.stringify(refresh.outcomes));
      for (const chainId of h.sim.chainIds) {
        const comparison = await compareWithGroundTruth(warehouse.pool, schema, h.sim, chainId);
        assert.deepEqual({ missing: comparison.missing, extra: comparison.extra, differing: comparison.differing.slice(0, 5) }, { missing: [], extra: [], differing: [] });
      }
      const deleted = await warehouse.pool.query(`SELECT voucher_id::int AS id FROM "${schema}".vouchers WHERE deleted_at IS NOT NULL`);
      assert.ok(deleted.rows.length > 0);
      for (const { id } of deleted.rows) assert.equal(h.sim.vouchers.get(id).deleted, true, `voucher ${id} is soft-deleted because Spaaza deleted it`);
      const runs = await warehouse.pool.query(`SELECT rows_deleted::int, live_rows_before::int, live_rows_after::int FROM "${schema}".sync_runs WHERE mode = 'full-refresh'`);
      for (const r of runs.rows) assert.equal(r.live_rows_before - r.rows_deleted, r.live_rows_after);

      const again = await h.sync({ mode: 'full-refresh', allowMassDelete: false });
      assert.deepEqual(again.outcomes.map((o) => o.windows[0]!.inserted + o.windows[0]!.updated + o.windows[0]!.deleted), [0, 0], 'a second refresh changes nothing');
    });
  });

  it('refuses a full refresh that would delete too much, keeping the upserts', async (t) => {
    await withHarness(t, { chains: 1, vouchersPerChain: 400 }, async (h, schema) => {
      assert.equal((await h.sync({ mode: 'incremental' })).exitCode, 0);
      const live = [...h.sim.groundTruth(h.sim.chainIds[0]!)];
      for (const v of live.slice(0, 80)) h.sim.vouchers.delete(v.id); // 20% > the 10% guard
      const newcomer = h.sim.vouchers.create(h.sim.chainIds[0]!);
      h.sim.advance(60);
      const refused = await h.sync({ mode: 'full-refresh', allowMassDelete: false });
      assert.equal(refused.exitCode, 1);
      assert.equal(refused.outcomes[0]!.error?.code, 'deletions_refused');
      const state = await warehouse.pool.query(`SELECT count(*) FILTER (WHERE deleted_at IS NOT NULL)::int AS deleted, count(*) FILTER (WHERE voucher_id = $1)::int AS newcomer FROM "${schema}".vouchers`, [newcomer.id]);
      assert.deepEqual(state.rows[0], { deleted: 0, newcomer: 1 }, 'nothing deleted, upserts committed');
      const run = await warehouse.pool.query(`SELECT deletions_refused FROM "${schema}".sync_runs WHERE mode = 'full-refresh'`);
      assert.equal(run.rows[0].deletions_refused, true);

      h.sim.advance(60);
      const allowed = await h.sync({ mode: 'full-refresh', allowMassDelete: true });
      assert.equal(allowed.exitCode, 0);
      assert.equal(allowed.outcomes[0]!.windows[0]!.deleted, 80);
      assert.ok((await compareWithGroundTruth(warehouse.pool, schema, h.sim, h.sim.chainIds[0]!)).equal);
    });
  });

  it('catches boundary cases: a voucher on a window boundary, redeemed long after creation, created before the backfill but redeemed inside it', async (t) => {
    const boundary = Date.UTC(2026, 4, 20, 0, 0, 0); // a window boundary of the backfill below
    await withHarness(t, { chains: 1, vouchersPerChain: 300, startMs: boundary }, async (h, schema) => {
      const chainId = h.sim.chainIds[0]!;
      const onBoundary = h.sim.vouchers.create(chainId);
      assert.equal(onBoundary.createdAt * 1000, boundary);
      const old = [...h.sim.groundTruth(chainId)].find((v) => v.status === 'claimed' && v.createdAt * 1000 < boundary - 40 * 86_400_000)!;
      h.sim.advance(3 * 86_400);
      h.sim.vouchers.redeem(old.id);
      h.sim.advance(86_400);

      const report = await h.sync({ mode: 'backfill', from: new Date('2026-05-19T00:00:00Z'), to: new Date('2026-05-23T00:00:00Z') }, { SPAAZA_MAX_WINDOW_DAYS: '1' });
      assert.equal(report.exitCode, 0);
      const windows = report.outcomes[0]!.windows.map((w) => [w.start!.toISOString(), w.end.toISOString()]);
      assert.ok(windows.some(([, end]) => end === new Date(boundary).toISOString()) && windows.some(([start]) => start === new Date(boundary).toISOString()));
      const { rows } = await warehouse.pool.query(`SELECT voucher_id::int AS id, status FROM "${schema}".vouchers WHERE voucher_id = ANY($1) ORDER BY 1`, [[onBoundary.id, old.id]]);
      assert.deepEqual(rows, [
        { id: old.id, status: 'redeemed' },
        { id: onBoundary.id, status: onBoundary.status },
      ].sort((a, b) => a.id - b.id));
      const watermark = await warehouse.pool.query(`SELECT count(*)::int AS n FROM "${schema}".sync_state`);
      assert.equal(watermark.rows[0].n, 0, 'a backfill never creates the first watermark: what lies before its range is unknown');
    });
  });

  it('adopts the task of a row that crashed between creating its export and storing the id', async (t) => {
    await withHarness(t, { chains: 1, vouchersPerChain: 200 }, async (h, schema) => {
      // The state a crash right after POST /tasks leaves: a planned row with its marker, and the task at Spaaza.
      const { rows } = await warehouse.pool.query(
        `INSERT INTO "${schema}".sync_runs (run_id, chain_id, mode, state) VALUES (gen_random_uuid(), 1764, 'incremental', 'planned') RETURNING id::int`,
      );
      const marker = taskMarker(await readWarehouseId(warehouse.pool, warehouseTables(schema)), 1764, rows[0].id, null, null);
      await warehouse.pool.query(`UPDATE "${schema}".sync_runs SET task_marker = $2 WHERE id = $1`, [rows[0].id, marker]);
      const created = await fetch(`${h.sim.url}/tasks`, {
        method: 'POST',
        headers: { authorization: h.sim.bearer(1764), 'content-type': 'application/json' },
        body: JSON.stringify({ chain: 1764, desc: marker, target: { action: 'export', export_index: 'vouchers', export_format: 'csv' }, trigger: { once: '2026-05-26T12:00:00Z' } }),
      });
      const task = (await created.json()) as { id: number };
      const creates = h.sim.calls().create_task;

      const report = await h.sync({ mode: 'incremental' });
      assert.equal(report.exitCode, 0);
      const first = report.outcomes[0]!.windows[0]!;
      assert.deepEqual([first.syncRunId, first.taskId, first.resumed], [rows[0].id, task.id, true], 'the stored row adopted the existing task');
      assert.equal(h.sim.calls().create_task - creates, 1, 'only the next, newly planned window created an export');
      assert.ok((await compareWithGroundTruth(warehouse.pool, schema, h.sim, 1764)).equal);
    });
  });

  it('reads an export again from a fresh URL when its ids repeat across merge batches, and a reload writes nothing', async (t) => {
    // Batches of 50 rows (250 on the typed COPY path): the first 20 vouchers come back at the end of the file.
    await withHarness(t, { chains: 1, vouchersPerChain: 1000 }, async (h, schema) => {
      h.sim.setDialect({ repeatFirstRows: 20 });
      const downloads = () => h.sim.calls().download_url;
      const before = downloads();
      const first = await h.sync({ mode: 'full-refresh', allowMassDelete: false });
      assert.equal(first.exitCode, 0);
      assert.equal(downloads() - before, 2, 'one download, then a second from a fresh URL');
      const window = first.outcomes[0]!.windows[0]!;
      const run = await warehouse.pool.query(`SELECT rows_read::int, rows_duplicate::int FROM "${schema}".sync_runs WHERE id = $1`, [window.syncRunId]);
      assert.equal(run.rows[0].rows_duplicate, 20);
      assert.equal(run.rows[0].rows_read, window.inserted + 20);
      // The window's log line carries its wall time and, within it, the wait for the export (the benchmark reads both).
      const committed = h.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'window committed')!;
      assert.ok(typeof committed.seconds === 'number' && typeof committed.exportWaitSeconds === 'number');
      assert.ok(committed.exportWaitSeconds >= 0 && committed.exportWaitSeconds <= committed.seconds, JSON.stringify(committed));
      assert.ok((await compareWithGroundTruth(warehouse.pool, schema, h.sim, 1764)).equal);

      // The same export again, but for one deleted voucher: read twice again, and still complete.
      const gone = (await warehouse.pool.query(`SELECT voucher_id::int AS id FROM "${schema}".vouchers ORDER BY voucher_id DESC LIMIT 1`)).rows[0].id;
      h.sim.vouchers.delete(gone);
      h.sim.advance(60);
      const again = await h.sync({ mode: 'full-refresh', allowMassDelete: false });
      assert.equal(again.exitCode, 0);
      const reload = again.outcomes[0]!.windows[0]!;
      assert.deepEqual([reload.inserted, reload.updated, reload.deleted], [0, 0, 1], 'nothing written but the one deletion');
      assert.ok((await compareWithGroundTruth(warehouse.pool, schema, h.sim, 1764)).equal);
    }, { SPAAZA_MERGE_BATCH_ROWS: '50' });
  });

  it('reads exports with offset timestamps, space timestamps and the classic voucher_* header', async (t) => {
    await withHarness(t, { chains: 1, vouchersPerChain: 300 }, async (h, schema) => {
      h.sim.setDialect({ timestamps: 'offset', header: 'classic', bom: true, lineEnding: '\r\n' });
      assert.equal((await h.sync({ mode: 'incremental' })).exitCode, 0);
      assert.ok((await compareWithGroundTruth(warehouse.pool, schema, h.sim, h.sim.chainIds[0]!)).equal);
      h.sim.setDialect({ timestamps: 'space', shuffleColumns: true, extraColumn: 'loyalty_tier' });
      h.sim.vouchers.create(h.sim.chainIds[0]!);
      h.sim.advance(3600);
      assert.equal((await h.sync({ mode: 'full-refresh', allowMassDelete: false })).exitCode, 0);
      assert.ok((await compareWithGroundTruth(warehouse.pool, schema, h.sim, h.sim.chainIds[0]!)).equal);
      const extra = await warehouse.pool.query(`SELECT count(*)::int AS n FROM "${schema}".vouchers WHERE extra ? 'loyalty_tier'`);
      assert.ok(extra.rows[0].n > 0, 'the unknown column is kept in extra');
    });
  });
});
