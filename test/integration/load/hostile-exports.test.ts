// Exports that parse but are wrong must never cost a live voucher: a quote that swallows the
// records after it, rejected records whose id is written 0123 or +123, a record cut at the size
// bound, a quoted field that holds what reads as further records. A full refresh of such an export
// upserts what is good, deletes nothing, and records why. Positions are drawn from a printed seed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { Rng } from '../../../src/simulator/random.js';
import type { CsvDialect } from '../../../src/simulator/csv-dialect.js';
import type { Warehouse } from '../../../src/warehouse/warehouse.js';
import { loadCsv } from '../../support/load.js';
import { newDataset, renderCsv, START_SECONDS } from '../../support/voucher-csv.js';
import { openTestWarehouse, withSchema } from '../../support/warehouse.js';

let warehouse: Warehouse;
before(async () => {
  warehouse = await openTestWarehouse();
});
after(async () => {
  await warehouse?.close();
});

const SEED = Number(process.env.SEED ?? Date.now() % 1_000_000);
const rng = new Rng(SEED);
const VOUCHERS = 600;
const reconcile = { maxDeleteRatio: 0.5, allowMassDelete: false, isComplete: () => true };
const later = new Date((START_SECONDS + 3600) * 1000);
const MAX_RECORD_BYTES = 4 * 1024 * 1024; // the default of sync.maxRecordBytes

async function live(schema: string): Promise<number> {
  const { rows } = await warehouse.pool.query(`SELECT count(*)::int AS n FROM "${schema}".vouchers WHERE deleted_at IS NULL`);
  return rows[0].n;
}

async function warnings(schema: string, syncRunId: number): Promise<string> {
  const { rows } = await warehouse.pool.query(`SELECT error_code, error_message, warnings FROM "${schema}".sync_runs WHERE id = $1`, [syncRunId]);
  return [rows[0].error_code, rows[0].error_message, ...(rows[0].warnings ?? [])].join(' | ');
}

describe(`a full refresh of a hostile export (seed ${SEED})`, () => {
  const dataset = newDataset(VOUCHERS);
  const clean = renderCsv(dataset);
  // A quote opened in campaign_title swallows records only when nothing later in its row is quoted.
  const records = parse(clean, { columns: true }) as Record<string, string>[];
  // Deleted vouchers are not exported, so the export has fewer records than the dataset has
  // vouchers: a row drawn past its end would go unmarked and the case would test nothing.
  const ROWS = records.length;
  const anyRow = () => rng.int(5, ROWS - 5);
  const quoteFree = records.map((r, k) => ({ row: k + 1, r })).filter(({ r }) => !/[",\r\n]/.test(r.title!)).map(({ row }) => row);
  const swallowingRow = (min: number, max: number) => rng.pick(quoteFree.filter((row) => row >= min && row <= max));
  const hostile: { name: string; dialect: () => Partial<CsvDialect>; why: RegExp }[] = [
    { name: 'a swallowing quote', dialect: () => ({ malformedRows: [{ row: swallowingRow(5, ROWS - 200), kind: 'open_quote' }] }), why: /may hide others/ },
    {
      name: 'two swallowing quotes',
      dialect: () => ({ malformedRows: [{ row: swallowingRow(5, 200), kind: 'open_quote' }, { row: swallowingRow(300, 500), kind: 'open_quote' }] }),
      why: /may hide others/,
    },
    {
      name: 'a rejected record whose id is written with leading zeros',
      dialect: () => {
        const row = anyRow();
        return { malformedRows: [{ row, kind: 'padded_id' }, { row, kind: 'bad_timestamp' }] };
      },
      why: /^$/, // complete: the reject protects its voucher, nothing to delete
    },
    {
      name: 'a rejected record whose id is written with a plus sign',
      dialect: () => {
        const row = anyRow();
        return { malformedRows: [{ row, kind: 'signed_id' }, { row, kind: 'bad_amount' }] };
      },
      why: /^$/,
    },
    { name: 'a rejected record whose id is not a number', dialect: () => ({ malformedRows: [{ row: anyRow(), kind: 'bad_id' }] }), why: /no readable voucher id/ },
    { name: 'a record over the size bound', dialect: () => ({ malformedRows: [{ row: anyRow(), kind: 'huge_field', bytes: MAX_RECORD_BYTES + 1000 }] }), why: /may hide others/ },
    { name: 'a record with a field too few', dialect: () => ({ malformedRows: [{ row: anyRow(), kind: 'too_few_fields' }] }), why: /may hide others/ },
  ];
  for (const c of hostile) {
    it(`${c.name}: no live voucher is deleted, and the run says why`, async (t) => {
      await withSchema(warehouse, t, async (schema) => {
        await loadCsv(warehouse, schema, clean);
        const before = await live(schema);
        assert.ok(before > VOUCHERS * 0.9);
        const dialect = c.dialect();
        const csv = renderCsv(dataset, START_SECONDS, dialect);
        assert.notEqual(csv, clean, `${c.name}: the dialect marked no record (${JSON.stringify(dialect)})`);
        const result = await loadCsv(warehouse, schema, csv, { exportedAt: later, reconcile, mode: 'full-refresh' });
        assert.ok(result.rejected >= 1, `${c.name}: the hostile record was rejected (${JSON.stringify(dialect)})`);
        assert.equal(result.deletions?.deleted, 0, `${c.name}: ${result.deletions?.deleted} live vouchers were soft-deleted (${JSON.stringify(dialect)})`);
        assert.equal(await live(schema), before);
        const said = await warnings(schema, result.syncRunId);
        if (c.why.source === '^$') assert.equal(result.deletions?.skippedBecause, null, `${c.name}: ${said}`);
        else {
          assert.equal(result.deletions?.skippedBecause, 'incomplete', `${c.name}: ${said}`);
          assert.match(said, c.why);
          assert.match(said, /line \d+/, 'it names the lines');
        }
      });
    });
  }

  it('a quoted field that swallows a whole record and closes in the same column: a reject, not a row, and no deletion', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const H = 'id,chain_id,status,title,amount';
      const rows = [H, '9001,1764,claimed,Ten off,10.00', '9002,1764,claimed,"Gold tier,10.00', '9003,1764,claimed,Free coffee,3.00', '9004,1764,redeemed,bonus",5.00', '9005,1764,claimed,Spend,1.00'];
      await loadCsv(warehouse, schema, [H, '9001,1764,claimed,a,1', '9002,1764,claimed,b,1', '9003,1764,claimed,c,1', '9004,1764,claimed,d,1', '9005,1764,claimed,e,1'].join('\n') + '\n');
      const result = await loadCsv(warehouse, schema, rows.join('\n') + '\n', { exportedAt: later, reconcile, mode: 'full-refresh' });
      assert.equal(result.deletions?.deleted, 0);
      assert.equal(result.deletions?.skippedBecause, 'incomplete');
      const { rows: stored } = await warehouse.pool.query(`SELECT voucher_id::int, status, title FROM "${schema}".vouchers WHERE voucher_id = 9002`);
      assert.deepEqual(stored, [{ voucher_id: 9002, status: 'claimed', title: 'b' }], 'the merged record did not overwrite 9002 with the data of 9004');
      const { rows: rejects } = await warehouse.pool.query(`SELECT line::int, reason FROM "${schema}".voucher_rejects WHERE sync_run_id = $1`, [result.syncRunId]);
      assert.equal(rejects.length, 1);
      assert.equal(rejects[0].line, 3);
      assert.match(rejects[0].reason, /reads as further records.*9003/);
    });
  });
});

describe('an export with one unknown column name twice', () => {
  it('keeps both values in extra (the repeat as note_2) and records a warning on the run', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const dataset = newDataset(50);
      const csv = renderCsv(dataset, START_SECONDS, { extraColumn: 'note', duplicateExtraColumn: true });
      assert.match(csv.slice(0, csv.indexOf('\n')), /,note,note$/);
      const result = await loadCsv(warehouse, schema, csv);
      assert.equal(result.rejected, 0);
      const { rows } = await warehouse.pool.query(`SELECT extra FROM "${schema}".vouchers ORDER BY voucher_id LIMIT 5`);
      for (const { extra } of rows) {
        assert.deepEqual(Object.keys(extra).sort(), ['note', 'note_2']);
        assert.notEqual(extra.note, extra.note_2, 'the two columns keep their own values');
      }
      assert.match(await warnings(schema, result.syncRunId), /"note" more than once; the repeat is kept in vouchers\.extra as "note_2"/);
      const again = await loadCsv(warehouse, schema, csv);
      assert.deepEqual([again.inserted, again.updated], [0, 0], 'loading it again writes nothing');
    });
  });
});
