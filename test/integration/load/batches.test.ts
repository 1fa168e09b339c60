// A window is merged in batches while the next one is parsed. Whatever the batch size, a window
// must end exactly as if it had been merged at once: the same rows, counts, rejects and
// deletions; and a failure in any batch must leave the warehouse as it was.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { parse } from 'csv-parse/sync';
import { WindowLoadError } from '../../../src/load/load-window.js';
import type { Warehouse } from '../../../src/warehouse/warehouse.js';
import { loadCsv, type LoadOptions } from '../../support/load.js';
import { START_SECONDS, newDataset, renderCsv } from '../../support/voucher-csv.js';
import { fingerprint, openTestWarehouse, withSchema } from '../../support/warehouse.js';

let warehouse: Warehouse;
before(async () => {
  warehouse = await openTestWarehouse();
});
after(async () => {
  await warehouse?.close();
});

const T1 = new Date('2026-05-26T12:00:00Z');
const T2 = new Date('2026-05-27T12:00:00Z');

/** An export of 240 vouchers, then the same ids out of order with other values, and two bad rows. */
function exportWithAnomalies(): { first: string; second: string } {
  const dataset = newDataset(240);
  const first = renderCsv(dataset);
  const lines = first.trimEnd().split('\n');
  const header = lines[0]!;
  // Records without quoted line breaks, so that a line is a record.
  const simple = lines.slice(1).filter((l) => /^\d+,/.test(l) && !l.includes('"'));
  const repeated = simple.slice(5, 25).reverse().map((l) => l.replace(/,(generated|claimed),/, ',redeemed,'));
  const bad = ['not-a-number,x', `${simple[30]!.split(',')[0]},broken`];
  const changed = [...lines.slice(1), ...repeated, ...bad].join('\n') + '\n';
  // A day later: 10% of the vouchers changed.
  for (const voucher of dataset.vouchers(dataset.snapshot(1764, START_SECONDS))) if (voucher.id % 10 === 3 && voucher.status === 'generated') dataset.claim(voucher.id);
  const later = renderCsv(dataset, START_SECONDS + 86_400);
  return { first: `${header}\n${changed}`, second: later };
}

const TABLES = ['vouchers', 'campaigns', 'voucher_rejects'];
/** Table content without the columns that differ between two loads by design (clock, identity). */
async function content(schema: string): Promise<string[]> {
  return Promise.all(TABLES.map((t) => fingerprint(warehouse, `(SELECT ${columnsOf(t)} FROM "${schema}".${t})`)));
}
function columnsOf(table: string): string {
  if (table === 'vouchers') return 'chain_id, voucher_id, status, amount, redeemed_at, extra, first_seen_run_id, last_seen_run_id, source_exported_at, deleted_at IS NULL AS live';
  if (table === 'campaigns') return 'chain_id, campaign_id, campaign_type, title, source_exported_at, last_seen_run_id';
  return 'chain_id, sync_run_id, line, voucher_id, raw_record, reason';
}

function counts(result: Awaited<ReturnType<typeof loadCsv>>) {
  const { rowsRead, inserted, updated, unchanged, rejected, duplicates, campaignsWritten } = result;
  return { rowsRead, inserted, updated, unchanged, rejected, duplicates, campaignsWritten, deleted: result.deletions?.deleted ?? null };
}

async function loadBoth(csv: string, options: LoadOptions, schemas: [string, string]) {
  const whole = await loadCsv(warehouse, schemas[0], csv, options);
  const batched = await loadCsv(warehouse, schemas[1], csv, { ...options, batchRows: 7 });
  return { whole: counts(whole), batched: counts(batched) };
}

describe('merging in batches', () => {
  it('ends exactly as one merge: rows, counts, duplicates across batches, rejects and campaigns', async (t) => {
    await withSchema(warehouse, t, async (a) => {
      // A second schema of its own, for the same export loaded in batches.
      await withSchema(warehouse, { fullName: `${t.fullName} (batched)` } as TestContext, async (b) => {
        const { first, second } = exportWithAnomalies();
        const initial = await loadBoth(first, { exportedAt: T1 }, [a, b]);
        assert.deepEqual(initial.batched, initial.whole);
        assert.equal(initial.whole.duplicates, 20, 'twenty ids come back later in the file, out of order');
        assert.equal(initial.whole.rejected, 2);
        assert.equal(initial.whole.inserted, initial.whole.rowsRead - 2 - 20);
        assert.deepEqual(await content(b), await content(a));

        const again = await loadBoth(first, { exportedAt: T1 }, [a, b]);
        assert.deepEqual(again.batched, again.whole);
        assert.equal(again.whole.inserted + again.whole.updated, 0, 'the same export twice writes nothing');

        const later = await loadBoth(second, { exportedAt: T2 }, [a, b]);
        assert.deepEqual(later.batched, later.whole);
        assert.ok(later.whole.updated > 0);
        assert.deepEqual(await content(b), await content(a));
      });
    });
  });

  it('lets the last line of an id win across batches', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const csv = 'id,status,amount\n' + Array.from({ length: 30 }, (_, i) => `${i + 1},claimed,1.00`).join('\n') + '\n5,redeemed,2.00\n5,claimed,3.00\n';
      let reread = 0;
      const result = await loadCsv(warehouse, schema, csv, { batchRows: 4, onReopen: () => reread++ });
      assert.equal(reread, 1, 'an id repeating in a later batch makes the load read the export again');
      assert.deepEqual([result.inserted, result.updated, result.unchanged, result.duplicates], [30, 0, 0, 2]);
      const { rows } = await warehouse.pool.query(`SELECT status, amount::text FROM "${schema}".vouchers WHERE voucher_id = 5`);
      assert.deepEqual(rows, [{ status: 'claimed', amount: '3.00' }]);
    });
  });

  it('soft-deletes in a full refresh exactly the vouchers no batch contained', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const ids = Array.from({ length: 60 }, (_, i) => i + 1);
      await loadCsv(warehouse, schema, 'id,status\n' + ids.map((id) => `${id},claimed`).join('\n') + '\n', { exportedAt: T1 });
      const gone = new Set([3, 17, 18, 41, 60]);
      // Out of order, and one voucher only present as a reject that still names its id.
      const kept = ids.filter((id) => !gone.has(id) && id !== 25).reverse();
      const csv = 'id,status\n' + kept.map((id) => `${id},claimed`).join('\n') + '\n25,\n';
      let reread = 0;
      const result = await loadCsv(warehouse, schema, csv, {
        // The reject sends the typed COPY path to the reference path, a read of its own.
        loadPath: 'reference',
        exportedAt: T2,
        batchRows: 8,
        onReopen: () => reread++,
        reconcile: { maxDeleteRatio: 0.5, allowMassDelete: false, isComplete: () => true },
      });
      assert.equal(reread, 0, 'ids out of order but unique need no second read');
      assert.deepEqual([result.inserted, result.updated, result.unchanged, result.rejected], [0, 0, 54, 1]);
      assert.equal(result.deletions?.deleted, 5);
      const { rows } = await warehouse.pool.query(`SELECT voucher_id::int AS id FROM "${schema}".vouchers WHERE deleted_at IS NOT NULL ORDER BY 1`);
      assert.deepEqual(rows.map((r) => r.id), [...gone].sort((x, y) => x - y));
    });
  });

  it('leaves the warehouse as it was when a later batch fails', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const { first, second } = exportWithAnomalies();
      await loadCsv(warehouse, schema, first, { exportedAt: T1 });
      const before = await content(schema);
      // A PostgreSQL error in the merge of a batch well after the first.
      const last = (parse(second) as string[][])[150]![0]!;
      await warehouse.pool.query(`
        CREATE FUNCTION "${schema}".refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.voucher_id = ${last} THEN RAISE EXCEPTION 'refused by test trigger'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER refuse BEFORE UPDATE ON "${schema}".vouchers FOR EACH ROW EXECUTE FUNCTION "${schema}".refuse();`);
      const changed = second.replace(new RegExp(`^${last},.*$`, 'm'), (line) => line.replace(/,(generated|claimed|redeemed),/, ',expired,'));
      const error = await loadCsv(warehouse, schema, changed, { exportedAt: T2, batchRows: 10 }).catch((e: unknown) => e);
      assert.ok(error instanceof WindowLoadError);
      assert.equal(error.code, 'sqlstate_P0001');
      assert.deepEqual(await content(schema), before);

      // A failure between batches (mid-COPY of a later one).
      const midCopy = (rows: number) => {
        if (rows > 100) throw new Error('injected failure in a later batch');
      };
      const failed = await loadCsv(warehouse, schema, second, { exportedAt: T2, batchRows: 10, hooks: { midCopy } }).catch((e: unknown) => e);
      assert.ok(failed instanceof WindowLoadError);
      assert.deepEqual(await content(schema), before);
    });
  });
});
