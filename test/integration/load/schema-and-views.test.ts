// The warehouse schema: migrations are idempotent, everything is documented, and the analyst
// views give the hand-computed answers on a small fixture.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BOOKKEEPING_COLUMNS, CONTENT_COLUMNS, DERIVED_COLUMNS, VOUCHER_COLUMNS, VOUCHER_KEY } from '../../../src/voucher/voucher-table.js';
import { migrateToLatest } from '../../../src/warehouse/migrate.js';
import type { Warehouse } from '../../../src/warehouse/warehouse.js';
import { loadCsv } from '../../support/load.js';
import { openTestWarehouse, withSchema } from '../../support/warehouse.js';

let warehouse: Warehouse;
before(async () => {
  warehouse = await openTestWarehouse();
});
after(async () => {
  await warehouse?.close();
});

const FIXTURE = [
  'id,status,campaign_id,campaign_type,campaign_title,amount_original,amount_redeemed,amount,date_time_creation,date_time_redeemed,date_time_expiry',
  '1,redeemed,10,Loyalty , Spring ,10.00,10.00,10.00,2024-03-01T10:00:00Z,2024-03-02T09:00:00Z,2049-01-01T00:00:00Z',
  '2,redeemed,10,loyalty,Spring,10.00,4.00,4.00,2024-03-01T23:30:00Z,2024-03-05T12:00:00Z,2020-01-01T00:00:00Z',
  '3,claimed,10,loyalty,Spring,6.00,0.00,6.00,2024-03-02T00:10:00Z,,2024-03-10T12:00:00Z',
  '4,generated,10,loyalty,Spring,5.00,0.00,5.00,2024-03-02T08:00:00Z,,2050-01-01 00:00:00',
  '5,claimed,20,birthday,Bday,7.50,0.00,7.50,2024-03-02T09:00:00Z,,',
  '6,claimed,20,birthday,Bday,2.50,0.00,2.50,2024-03-03T09:00:00Z,,2049-06-01T00:00:00Z',
  '7,generated,,,,1.00,0.00,1.00,2024-03-03T10:00:00Z,,',
  '8,generated,0,,,1.00,0.00,1.00,2024-03-03T11:00:00Z,,',
  '9,claimed,20,birthday,Bday,99.00,0.00,99.00,2024-03-03T12:00:00Z,,',
].join('\n');

describe('migrations', () => {
  it('run twice: the second run applies nothing', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const again = await migrateToLatest(warehouse.db, schema);
      assert.deepEqual(again.applied, []);
      assert.deepEqual(again.current, ['0001_warehouse', '0002_full_refresh_counts', '0003_schedule_leases', '0004_trust', '0005_operations', '0006_indexes_by_measurement', '0007_brin_without_expiry', '0008_brin_on_version_only', '0009_export_runs', '0010_voucher_history']);
    });
  });

  it('make vouchers exactly the declared voucher table: key, columns, types, order', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const { rows: columns } = await warehouse.pool.query<{ name: string; type: string; not_null: boolean }>(
        `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null
         FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
        [`"${schema}".vouchers`],
      );
      const sqlType: Record<string, string> = { bigint: 'bigint', integer: 'integer', numeric: 'numeric', text: 'text', boolean: 'boolean', timestamptz: 'timestamp with time zone', jsonb: 'jsonb' };
      const declared = [
        { name: 'chain_id', type: 'bigint', not_null: true },
        ...VOUCHER_COLUMNS.map((c) => ({ name: c.name, type: sqlType[c.type]!, not_null: VOUCHER_KEY.includes(c.name as 'voucher_id') })),
        ...DERIVED_COLUMNS.map((c) => ({ name: c.name, type: sqlType[c.type]!, not_null: false })),
        ...BOOKKEEPING_COLUMNS.map((c) => ({ name: c.name, type: sqlType[c.type]!, not_null: c.notNull })),
      ];
      assert.deepEqual(columns, declared);
      const { rows: key } = await warehouse.pool.query<{ name: string }>(
        `SELECT a.attname AS name FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
         WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY k.n`,
        [`"${schema}".vouchers`],
      );
      assert.deepEqual(key.map((k) => k.name), [...VOUCHER_KEY]);
    });
  });

  it('give voucher_versions and voucher_history a column for every content column of the declared voucher table, of its type', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const columnsOf = async (relation: string) =>
        (
          await warehouse.pool.query<{ name: string; type: string }>(
            `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
             FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
            [`"${schema}".${relation}`],
          )
        ).rows;
      const sqlType: Record<string, string> = { bigint: 'bigint', integer: 'integer', numeric: 'numeric', text: 'text', boolean: 'boolean', timestamptz: 'timestamp with time zone', jsonb: 'jsonb' };
      const content = [...CONTENT_COLUMNS.map((c) => ({ name: c.name, type: sqlType[c.type]! })), { name: 'extra', type: 'jsonb' }, { name: 'deleted', type: 'boolean' }, { name: 'sync_run_id', type: 'bigint' }];
      const key = [{ name: 'chain_id', type: 'bigint' }, { name: 'voucher_id', type: 'bigint' }, { name: 'valid_from', type: 'timestamp with time zone' }];
      assert.deepEqual(await columnsOf('voucher_versions'), [...key, ...content]);
      assert.deepEqual(await columnsOf('voucher_history'), [...key, { name: 'valid_to', type: 'timestamp with time zone' }, ...content]);
    });
  });

  it('refuse a schema name that is not a plain identifier', async () => {
    await assert.rejects(migrateToLatest(warehouse.db, 'bad"; DROP'), /Invalid warehouse schema name/);
  });

  it('leave a comment on every table, view and column', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const { rows } = await warehouse.pool.query(
        `SELECT c.relname, a.attname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'v') AND c.relname NOT LIKE 'kysely%'
           AND (obj_description(c.oid, 'pg_class') IS NULL OR col_description(c.oid, a.attnum) IS NULL)`,
        [schema],
      );
      assert.deepEqual(rows, [], 'undocumented objects');
      const views = await warehouse.pool.query(`SELECT table_name FROM information_schema.views WHERE table_schema = $1 ORDER BY 1`, [schema]);
      assert.deepEqual(views.rows.map((r) => r.table_name), ['campaign_redemption', 'voucher_daily', 'voucher_history', 'vouchers_current']);
    });
  });
});

describe('analyst views on a hand-computed fixture', () => {
  it('vouchers_current, campaign_redemption and voucher_daily', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      await loadCsv(warehouse, schema, FIXTURE);
      await warehouse.pool.query(`UPDATE "${schema}".vouchers SET deleted_at = now() WHERE voucher_id = 9`);

      const current = await warehouse.pool.query(
        `SELECT voucher_id::int AS id, campaign_id::int AS campaign, campaign_type, campaign_title, is_redeemed, has_real_expiry, is_expired, days_to_expiry, amount_remaining::text AS remaining
         FROM "${schema}".vouchers_current ORDER BY voucher_id`,
      );
      const daysUntil = (iso: string) => Math.floor((Date.parse(iso) - Date.now()) / 86_400_000);
      const byId = new Map(current.rows.map((r) => [r.id, r]));
      assert.deepEqual([...byId.keys()], [1, 2, 3, 4, 5, 6, 7, 8], 'the soft-deleted voucher 9 is not current');
      assert.deepEqual(byId.get(1), { id: 1, campaign: 10, campaign_type: 'loyalty', campaign_title: 'Spring', is_redeemed: true, has_real_expiry: true, is_expired: false, days_to_expiry: byId.get(1)!.days_to_expiry, remaining: '0' });
      assert.ok([daysUntil('2049-01-01T00:00:00Z'), daysUntil('2049-01-01T00:00:00Z') - 1].includes(byId.get(1)!.days_to_expiry));
      assert.equal(byId.get(2).is_expired, false, 'a redeemed voucher past its expiry is not expired');
      assert.equal(byId.get(2).remaining, '0', 'the remainder of a partial redemption lives elsewhere');
      assert.equal(byId.get(3).is_expired, true);
      assert.ok(byId.get(3).days_to_expiry < -900);
      assert.deepEqual([byId.get(4).has_real_expiry, byId.get(4).is_expired, byId.get(4).days_to_expiry], [false, false, null], 'the 2050 sentinel');
      assert.deepEqual([byId.get(5).has_real_expiry, byId.get(5).is_expired, byId.get(5).days_to_expiry], [null, false, null], 'no expiry at all');
      assert.equal(byId.get(7).campaign, null);
      assert.equal(byId.get(8).campaign, null, 'campaign 0 means none');
      assert.equal(byId.get(6).remaining, '2.50');

      const redemption = await warehouse.pool.query(
        `SELECT campaign_id::int AS campaign, campaign_type AS type, campaign_title AS title, vouchers_issued::int AS issued, vouchers_redeemed::int AS redeemed,
                redemption_rate::text AS rate, amount_issued::text AS amount_issued, amount_redeemed::text AS amount_redeemed,
                amount_outstanding::text AS outstanding, vouchers_expired::int AS expired
         FROM "${schema}".campaign_redemption ORDER BY campaign_id NULLS LAST`,
      );
      assert.deepEqual(redemption.rows, [
        { campaign: 10, type: 'loyalty', title: 'Spring', issued: 4, redeemed: 2, rate: '0.5000', amount_issued: '31.00', amount_redeemed: '14.00', outstanding: '5.00', expired: 1 },
        { campaign: 20, type: 'birthday', title: 'Bday', issued: 2, redeemed: 0, rate: '0.0000', amount_issued: '10.00', amount_redeemed: '0', outstanding: '10.00', expired: 0 },
        { campaign: null, type: null, title: null, issued: 2, redeemed: 0, rate: '0.0000', amount_issued: '2.00', amount_redeemed: '0', outstanding: '2.00', expired: 0 },
      ]);

      const daily = await warehouse.pool.query(
        `SELECT campaign_id::int AS campaign, to_char(day, 'YYYY-MM-DD') AS day, issued::int, redeemed::int, expired::int
         FROM "${schema}".voucher_daily ORDER BY campaign_id NULLS LAST, day`,
      );
      assert.deepEqual(daily.rows, [
        { campaign: 10, day: '2024-03-01', issued: 2, redeemed: 0, expired: 0 },
        { campaign: 10, day: '2024-03-02', issued: 2, redeemed: 1, expired: 0 },
        { campaign: 10, day: '2024-03-05', issued: 0, redeemed: 1, expired: 0 },
        { campaign: 10, day: '2024-03-10', issued: 0, redeemed: 0, expired: 1 },
        { campaign: 20, day: '2024-03-02', issued: 1, redeemed: 0, expired: 0 },
        { campaign: 20, day: '2024-03-03', issued: 1, redeemed: 0, expired: 0 },
        { campaign: null, day: '2024-03-03', issued: 2, redeemed: 0, expired: 0 },
      ]);

      const campaigns = await warehouse.pool.query(`SELECT campaign_id::int AS id, campaign_type, title FROM "${schema}".campaigns ORDER BY 1`);
      assert.deepEqual(campaigns.rows, [
        { id: 10, campaign_type: 'loyalty', title: 'Spring' },
        { id: 20, campaign_type: 'birthday', title: 'Bday' },
      ]);
    });
  });
});
