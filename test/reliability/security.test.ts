// Hostile values are data, never code: SQL injection payloads in every text column are stored
// verbatim and harmless; identifiers and endpoints that could be abused are refused up front.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { migrateToLatest } from '../../src/warehouse/migrate.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { loadCsv } from '../support/load.js';
import { openTestWarehouse, withSchema } from '../support/warehouse.js';

let warehouse: Warehouse;
before(async () => {
  warehouse = await openTestWarehouse();
});
after(async () => {
  await warehouse?.close();
});

const PAYLOADS = [
  `'); DROP TABLE vouchers; --`,
  `Robert'); DROP TABLE students;--`,
  `' OR '1'='1`,
  `"; DROP SCHEMA public CASCADE; --`,
  `$1`,
  `\\.`,
  `\\N`,
  `E'\\\\x00'`,
  `tab\there`,
  `back\\slash`,
  `line\nbreak`,
  `${'%s'.repeat(5)}`,
  `<script>alert(1)</script>`,
  `{"extra": "json"}`,
  `COPY vouchers TO PROGRAM 'id'`,
];

const quote = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

it('stores SQL injection payloads in every text column verbatim, and the tables stay intact', async (t) => {
  await withSchema(warehouse, t, async (schema) => {
    const header = 'id,voucher_key,campaign_id,campaign_title,title,currency_symbol,status,loyalty_note';
    const lines = PAYLOADS.map((p, i) => [String(5000 + i), p, '1', p, p, p, 'claimed', p].map(quote).join(','));
    const result = await loadCsv(warehouse, schema, [header, ...lines].join('\n') + '\n');
    assert.equal(result.rejected, 0);
    assert.equal(result.inserted, PAYLOADS.length);
    const { rows } = await warehouse.pool.query(`SELECT voucher_id::int AS id, voucher_key, campaign_title, title, currency_symbol, extra->>'loyalty_note' AS note FROM "${schema}".vouchers ORDER BY voucher_id`);
    rows.forEach((row, i) => {
      const p = PAYLOADS[i]!;
      assert.deepEqual([row.voucher_key, row.title, row.currency_symbol, row.note], [p, p, p, p], `payload ${i} stored verbatim`);
      assert.equal(row.campaign_title, p.trim(), 'campaign titles are trimmed, nothing else');
    });
    const tables = await warehouse.pool.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1`, [schema]);
    assert.ok(tables.rows[0].n >= 9, 'every table is still there');
    const campaigns = await warehouse.pool.query(`SELECT title FROM "${schema}".campaigns`);
    assert.equal(campaigns.rows[0].title, PAYLOADS.at(-1)!.trim());
  });
});

it('refuses a schema name that is not a plain identifier', async () => {
  for (const bad of ['spaaza"; DROP SCHEMA public; --', 'Spaaza', 'a-b', '1abc', '', 'x'.repeat(64)]) {
    await assert.rejects(migrateToLatest(warehouse.db, bad), /Invalid warehouse schema name/, bad);
    if (bad === '') continue; // an empty variable counts as unset: the default schema applies
    await assert.rejects(loadConfig({ env: { SPAAZA_SCHEMA: bad, SPAAZA_BASE_URL: 'http://127.0.0.1:1', SPAAZA_CHAIN_IDS: '1', SPAAZA_TOKEN_ID: '123e4567-e89b-42d3-a456-426614174000', SPAAZA_TOKEN_SECRET: 's' }, cwd: '/' }), ConfigError);
  }
});

it('refuses plain http to a host that is not loopback, and never echoes a secret in a problem', async () => {
  const env = { SPAAZA_CHAIN_IDS: '1', SPAAZA_TOKEN_ID: '123e4567-e89b-42d3-a456-426614174000', SPAAZA_TOKEN_SECRET: 'very-secret-value', DATABASE_URL: 'postgres://u:db-password@db.example.com/x' };
  for (const url of ['http://spaaza.example.com', 'http://10.0.0.5:8080', 'http://169.254.169.254']) {
    const error = await loadConfig({ env: { ...env, SPAAZA_BASE_URL: url }, cwd: '/' }).then(
      () => assert.fail(`${url} was accepted`),
      (e: unknown) => e as ConfigError,
    );
    const text = `${error.message}\n${error.problems.join('\n')}`;
    assert.match(text, /https/);
    assert.ok(!text.includes('very-secret-value') && !text.includes('db-password'));
  }
  for (const url of ['http://127.0.0.1:4010', 'http://localhost:4010', 'http://[::1]:4010', 'https://spaaza.example.com']) {
    await loadConfig({ env: { ...env, SPAAZA_BASE_URL: url }, cwd: '/' });
  }
});
