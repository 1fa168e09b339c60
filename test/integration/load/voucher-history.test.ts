// voucher_history and vouchers_as_of() after a sequence of syncs and full refreshes with activity
// in between (claims, redemptions, locks, expiry edits, deletions, new vouchers), over real HTTP
// and a real PostgreSQL: vouchers_as_of(each export's time) is the warehouse as it then stood, and
// at each full refresh the simulator's state then. Seeded: the activity's choices print their seed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Voucher } from '../../../src/simulator/voucher.js';
import type { Warehouse } from '../../../src/warehouse/warehouse.js';
import { startHarness, type Harness } from '../../support/sync-harness.js';
import { loadCsv } from '../../support/load.js';
import { openTestWarehouse, withSchema } from '../../support/warehouse.js';
import { seededRandom } from '../../support/random.js';

const SEED = Number(process.env.SPAAZA_HISTORY_SEED ?? Math.floor(Math.random() * 1e6));

let warehouse: Warehouse;
before(async () => {
  warehouse = await openTestWarehouse();
});
after(async () => {
  await warehouse?.close();
});


/** What the comparison looks at: the columns an activity changes, and the voucher's identity. */
type Row = { id: number; status: string | null; locked: boolean | null; amount: string | null; redeemed: string | null; expires: string | null };
const sqlRow = `voucher_id::int AS id, status, locked, amount::text AS amount,
  to_char(redeemed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') AS redeemed, to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') AS expires`;
const iso = (seconds: number | null) => (seconds === null ? null : new Date(seconds * 1000).toISOString().slice(0, 19));
const fromSim = (v: Voucher): Row => ({ id: v.id, status: v.status, locked: v.locked, amount: Number(v.amount).toFixed(2), redeemed: iso(v.redeemedAt), expires: iso(v.expiresAt) });
const normal = (r: Row): Row => ({ ...r, amount: r.amount === null ? null : Number(r.amount).toFixed(2) });
const sorted = (rows: Row[]) => rows.map(normal).sort((a, b) => a.id - b.id);

function activity(h: Harness, chainId: number, next: () => number): void {
  const live = [...h.sim.groundTruth(chainId)];
  const pick = (share: number) => live.filter(() => next() < share);
  for (let i = 0; i < 5; i++) h.sim.vouchers.create(chainId);
  for (const v of pick(0.06).filter((v) => v.status === 'generated')) h.sim.vouchers.claim(v.id);
  for (const v of pick(0.05).filter((v) => v.status !== 'redeemed' && Number(v.amount) > 0)) h.sim.vouchers.redeem(v.id);
  for (const v of pick(0.04).filter((v) => v.status !== 'redeemed')) h.sim.vouchers.lock(v.id, !v.locked);
  for (const v of pick(0.04)) h.sim.vouchers.setExpiry(v.id, new Date(h.sim.now().getTime() + Math.floor(next() * 60) * 86_400_000));
  for (const v of pick(0.02)) h.sim.vouchers.delete(v.id);
}

describe('voucher history', () => {
  it(`vouchers_as_of(each export's time) is the warehouse as it stood, and the source at each full refresh (seed ${SEED})`, async (t) => {
    await withSchema(warehouse, t as never, async (schema) => {
      const h = await startHarness(warehouse, schema, { chains: 1, vouchersPerChain: 300, historyDays: 30 });
      try {
        const chainId = h.sim.chainIds[0]!;
        const next = seededRandom(SEED);
        const q = async (sql: string, values: unknown[] = []) => (await warehouse.pool.query(sql, values)).rows;
        const points: { at: Date; warehouse: Row[]; source: Row[] | null; mode: string }[] = [];
        const steps = ['full-refresh', 'incremental', 'incremental', 'full-refresh', 'incremental', 'full-refresh', 'full-refresh'] as const;
        for (const [i, mode] of steps.entries()) {
          if (i > 0) {
            if (i < steps.length - 1) activity(h, chainId, next); // the last refresh repeats the one before: it writes no version
            h.sim.advance(3 * 3600);
          }
          const report = await h.sync(mode === 'full-refresh' ? { mode, allowMassDelete: true } : { mode });
          assert.equal(report.exitCode, 0, JSON.stringify(report.outcomes));
          const [last] = await q(`SELECT max(source_exported_at) AS at FROM "${schema}".sync_runs WHERE state = 'committed'`);
          points.push({
            at: last.at as Date,
            mode,
            warehouse: sorted(await q(`SELECT ${sqlRow} FROM "${schema}".vouchers WHERE chain_id = $1 AND deleted_at IS NULL`, [chainId])),
            source: mode === 'full-refresh' ? sorted([...h.sim.groundTruth(chainId)].map(fromSim)) : null,
          });
        }
        const versionsBefore = Number((await q(`SELECT count(*) AS n FROM "${schema}".voucher_history`))[0].n);
        for (const [i, point] of points.entries()) {
          const asOf = sorted(await q(`SELECT ${sqlRow} FROM "${schema}".vouchers_as_of($1) WHERE chain_id = $2`, [point.at, chainId]));
          assert.deepEqual(asOf, point.warehouse, `step ${i} (${point.mode}): vouchers_as_of(${point.at.toISOString()}) is the warehouse as it stood`);
          if (point.source) assert.deepEqual(asOf, point.source, `step ${i}: at a full refresh, the source as it stood`);
          // Between two exports nothing changed: a moment later is the same answer.
          const later = sorted(await q(`SELECT ${sqlRow} FROM "${schema}".vouchers_as_of($1::timestamptz + interval '1 hour') WHERE chain_id = $2`, [point.at, chainId]));
          assert.deepEqual(later, point.warehouse, `step ${i}: an hour later, before the next export`);
        }
        const empty = await q(`SELECT count(*)::int AS n FROM "${schema}".vouchers_as_of($1::timestamptz - interval '1 second')`, [points[0]!.at]);
        assert.equal(empty[0].n, 0, 'before the first export the warehouse knew nothing');

        // Every voucher has exactly one current version, and the versions of one voucher never overlap.
        const [shape] = await q(
          `SELECT (SELECT count(*)::int FROM "${schema}".vouchers) AS vouchers,
                  (SELECT count(*)::int FROM "${schema}".voucher_history WHERE valid_to IS NULL) AS current,
                  (SELECT count(*)::int FROM "${schema}".voucher_history a JOIN "${schema}".voucher_history b
                     ON a.chain_id = b.chain_id AND a.voucher_id = b.voucher_id AND a.valid_from < b.valid_from AND (a.valid_to IS NULL OR a.valid_to > b.valid_from)) AS overlapping,
                  (SELECT count(*)::int FROM "${schema}".vouchers v JOIN "${schema}".voucher_history h
                     ON h.chain_id = v.chain_id AND h.voucher_id = v.voucher_id AND h.valid_to IS NULL
                     WHERE h.deleted <> (v.deleted_at IS NOT NULL) OR h.status IS DISTINCT FROM v.status OR h.valid_from <> v.source_exported_at) AS current_differs`,
        );
        assert.deepEqual(shape, { vouchers: shape.vouchers, current: shape.vouchers, overlapping: 0, current_differs: 0 });
        const deletedVersions = await q(`SELECT count(*)::int AS n FROM "${schema}".vouchers_as_of($1, true) WHERE deleted`, [points.at(-1)!.at]);
        assert.ok(deletedVersions[0].n > 0, 'with include_deleted, the vouchers a full refresh found gone are there, marked deleted');
        // The last refresh repeated the one before: no version was written for it.
        const versionsAfterRepeat = Number((await q(`SELECT count(*) AS n FROM "${schema}".voucher_history WHERE valid_from = $1`, [points.at(-1)!.at]))[0].n);
        assert.equal(versionsAfterRepeat, 0, 'an export that repeats what is stored writes no version');
        assert.ok(versionsBefore > shape.vouchers, 'the activity wrote versions beyond the first');
      } finally {
        await h.close();
      }
    });
  });

  it("migration 0010's seed gives every voucher then held one version, valid from its export time", async (t) => {
    await withSchema(warehouse, t as never, async (schema) => {
      await loadCsv(warehouse, schema, 'id,status,amount\n1,claimed,5.00\n2,redeemed,7.00\n3,generated,1.00\n', { exportedAt: new Date('2026-05-26T12:00:00Z') });
      await warehouse.pool.query(`UPDATE "${schema}".vouchers SET deleted_at = now() WHERE voucher_id = 3`);
      // As the warehouse stood before 0010: vouchers, and no versions. Then the migration's own seed statement.
      const migration = readFileSync(new URL('../../../migrations/0010_voucher_history.sql', import.meta.url), 'utf8');
      const seed = /INSERT INTO voucher_versions[\s\S]*?FROM vouchers;/.exec(migration)?.[0];
      assert.ok(seed, 'the migration seeds voucher_versions from vouchers');
      const client = await warehouse.pool.connect();
      try {
        await client.query(`SET search_path TO "${schema}"`);
        await client.query('TRUNCATE voucher_versions');
        await client.query(seed);
      } finally {
        client.release(true);
      }
      const { rows } = await warehouse.pool.query(
        `SELECT voucher_id::int AS id, status, deleted, valid_from, valid_to FROM "${schema}".voucher_history ORDER BY voucher_id`,
      );
      assert.deepEqual(rows.map((r) => [r.id, r.status, r.deleted, r.valid_from.toISOString(), r.valid_to]), [
        [1, 'claimed', false, '2026-05-26T12:00:00.000Z', null],
        [2, 'redeemed', false, '2026-05-26T12:00:00.000Z', null],
        [3, 'generated', true, '2026-05-26T12:00:00.000Z', null],
      ]);
      const asOf = await warehouse.pool.query(`SELECT voucher_id::int AS id FROM "${schema}".vouchers_as_of('2026-06-01Z') ORDER BY 1`);
      assert.deepEqual(asOf.rows.map((r) => r.id), [1, 2], 'the soft-deleted voucher only with include_deleted');
    });
  });

  it('an older export never adds a version; a version dated after the clock is dropped once an export replaces it: it never held', async (t) => {
    await withSchema(warehouse, t as never, async (schema) => {
      const csv = (status: string) => `id,status,amount\n1,${status},5.00\n`;
      await loadCsv(warehouse, schema, csv('claimed'), { exportedAt: new Date('2026-05-26T12:00:00Z') });
      await loadCsv(warehouse, schema, csv('generated'), { exportedAt: new Date('2026-05-26T11:00:00Z') }); // older: ignored
      const history = async () =>
        (await warehouse.pool.query(`SELECT status, valid_from, valid_to FROM "${schema}".voucher_history ORDER BY valid_from, status`)).rows.map((r) => [r.status, r.valid_from.toISOString(), r.valid_to?.toISOString() ?? null]);
      assert.deepEqual(await history(), [['claimed', '2026-05-26T12:00:00.000Z', null]]);
      // A wrong clock dated a version in 2030; the next real export replaces it, and the 2030 one goes.
      await warehouse.pool.query(`UPDATE "${schema}".vouchers SET source_exported_at = '2030-01-01Z'; UPDATE "${schema}".voucher_versions SET valid_from = '2030-01-01Z'`);
      await loadCsv(warehouse, schema, csv('redeemed'), { exportedAt: new Date('2026-05-27T12:00:00Z') });
      assert.deepEqual(await history(), [['redeemed', '2026-05-27T12:00:00.000Z', null]]);
      const { rows } = await warehouse.pool.query(`SELECT status FROM "${schema}".vouchers_as_of('2031-01-01Z')`);
      assert.deepEqual(rows, [{ status: 'redeemed' }]);
    });
  });
});
