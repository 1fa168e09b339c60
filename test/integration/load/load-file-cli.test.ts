// `spaaza-sync load-file` as a user runs it: a real process, a real warehouse, exit codes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Warehouse } from '../../../src/warehouse/warehouse.js';
import { CHAIN, newDataset, renderCsv } from '../../support/voucher-csv.js';
import { connectionStringOf, fingerprint, openTestWarehouse, withSchema } from '../../support/warehouse.js';

let warehouse: Warehouse;
let dir: string;
before(async () => {
  warehouse = await openTestWarehouse();
  dir = await mkdtemp(path.join(tmpdir(), 'spaaza-loadfile-'));
});
after(async () => {
  await warehouse?.close();
  await rm(dir, { recursive: true, force: true });
});

function cli(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      env: { ...process.env, DATABASE_URL: connectionStringOf(warehouse) },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.stdin.end(stdin ?? '');
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const password = () => new URL(connectionStringOf(warehouse)).password;

describe('spaaza-sync load-file', () => {
  it('loads a file, then finds nothing to change in it a second time', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const file = path.join(dir, 'vouchers.csv');
      await writeFile(file, renderCsv(newDataset(400)));
      const first = await cli(['load-file', file, '--chain', String(CHAIN), '--schema', schema, '--exported-at', '2026-05-26T12:00:00Z', '--json']);
      assert.equal(first.code, 0, first.stderr);
      const a = JSON.parse(first.stdout) as Record<string, number>;
      assert.ok(a.inserted! > 390 && a.inserted === a.rowsRead);
      const second = await cli(['load-file', file, '--chain', String(CHAIN), '--schema', schema, '--exported-at', '2026-05-26T12:00:00Z', '--json']);
      const b = JSON.parse(second.stdout) as Record<string, number>;
      assert.deepEqual([b.inserted, b.updated, b.unchanged], [0, 0, a.rowsRead]);
      const text = await cli(['load-file', file, '--chain', String(CHAIN), '--schema', schema, '--exported-at', '2026-05-26T12:00:00Z']);
      assert.match(text.stdout, /rows read \d+: 0 inserted, 0 updated, \d+ unchanged, 0 rejected/);
      if (password()) assert.ok(![first, second, text].some((r) => (r.stdout + r.stderr).includes(`:${password()}@`)), "no password in the output");
      const runs = await warehouse.pool.query(`SELECT mode, state, source FROM "${schema}".sync_runs ORDER BY id`);
      assert.deepEqual(runs.rows[0], { mode: 'file', state: 'committed', source: 'vouchers.csv' });
      const state = await warehouse.pool.query(`SELECT count(*)::int AS n FROM "${schema}".sync_state`);
      assert.equal(state.rows[0].n, 0, 'a file load never sets a watermark');
    });
  });

  it('reads standard input with "-"', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const result = await cli(['load-file', '-', '--chain', String(CHAIN), '--schema', schema, '--exported-at', '2026-05-26T12:00:00Z', '--json'], 'id,status\n1,claimed\n2,redeemed\n');
      assert.equal(result.code, 0, result.stderr);
      assert.equal((JSON.parse(result.stdout) as { inserted: number }).inserted, 2);
      const runs = await warehouse.pool.query(`SELECT source, source_exported_at FROM "${schema}".sync_runs`);
      assert.deepEqual(runs.rows, [{ source: 'stdin', source_exported_at: new Date('2026-05-26T12:00:00Z') }]);
    });
  });

  it('exits 3 when another run holds the chain', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const holder = await warehouse.pool.connect();
      try {
        await holder.query('SELECT pg_advisory_lock(hashtext($1), hashtext($2))', [schema, String(CHAIN)]);
        const result = await cli(['load-file', '-', '--chain', String(CHAIN), '--schema', schema, '--exported-at', '2026-05-26T12:00:00Z'], 'id,status\n1,claimed\n');
        assert.equal(result.code, 3);
        assert.match(result.stderr, /Chain 1764 is being synced by another run/);
      } finally {
        holder.release(true);
      }
    });
  });

  it('exits 1 with a sentence naming the problem when the file cannot be loaded', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const result = await cli(['load-file', '-', '--chain', String(CHAIN), '--schema', schema, '--exported-at', '2026-05-26T12:00:00Z'], 'code,status\n1,claimed\n');
      assert.equal(result.code, 1);
      assert.match(result.stderr, /csv_header_missing_id.*no voucher id column.*"code", "status"/);
      const runs = await warehouse.pool.query(`SELECT state, error_code FROM "${schema}".sync_runs`);
      assert.deepEqual(runs.rows, [{ state: 'failed', error_code: 'csv_header_missing_id' }]);
    });
  });

  it('asks for --exported-at instead of trusting the file\'s modification time, and loads nothing without it', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const file = path.join(dir, 'copied.csv');
      await writeFile(file, 'id,status\n1,claimed\n');
      for (const args of [[file], ['-']]) {
        const result = await cli(['load-file', ...args, '--chain', String(CHAIN), '--schema', schema], 'id,status\n1,claimed\n');
        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, /--exported-at.*last_run_date.*modification time/s);
      }
      const { rows } = await warehouse.pool.query(`SELECT (SELECT count(*)::int FROM "${schema}".vouchers) AS vouchers, (SELECT count(*)::int FROM "${schema}".sync_runs) AS runs`);
      assert.deepEqual(rows[0], { vouchers: 0, runs: 0 });
    });
  });

  it('refuses an --exported-at in the future beyond the clock bound (a typo such as 2062), and loads nothing', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const soon = new Date(Date.now() + 5 * 60_000).toISOString();
      const ok = await cli(['load-file', '-', '--chain', String(CHAIN), '--schema', schema, '--exported-at', soon], 'id,status\n1,claimed\n');
      assert.equal(ok.code, 0, `five minutes ahead is within the bound: ${ok.stderr}`);
      const result = await cli(['load-file', '-', '--chain', String(CHAIN), '--schema', schema, '--exported-at', '2062-05-26T12:00:00Z'], 'id,status\n2,redeemed\n');
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /--exported-at 2062-05-26T12:00:00Z is .* ahead of this machine's clock/);
      const { rows } = await warehouse.pool.query(`SELECT voucher_id::int FROM "${schema}".vouchers ORDER BY 1`);
      assert.deepEqual(rows, [{ voucher_id: 1 }]);
    });
  });

  it('--dry-run says what would change, per status and with revivals, and writes nothing at all', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const at = '2026-05-26T12:00:00Z';
      const first = await cli(['load-file', '-', '--chain', String(CHAIN), '--schema', schema, '--exported-at', at], 'id,status\n1,redeemed\n2,redeemed\n3,claimed\n4,claimed\n');
      assert.equal(first.code, 0, first.stderr);
      await warehouse.pool.query(`UPDATE "${schema}".vouchers SET deleted_at = now() WHERE voucher_id = 4`);
      const tables = ['vouchers', 'campaigns', 'voucher_rejects', 'sync_runs', 'sync_state'];
      const before = await Promise.all(tables.map((table) => fingerprint(warehouse, `"${schema}".${table}`)));
      // An older-looking file: two redeemed vouchers back to claimed, one revived, one new, one bad row.
      const csv = 'id,status\n1,claimed\n2,claimed\n3,claimed\n4,claimed\n5,generated\nx,claimed\n';
      const dry = await cli(['load-file', '-', '--chain', String(CHAIN), '--schema', schema, '--exported-at', '2026-05-27T12:00:00Z', '--dry-run', '--json'], csv);
      assert.equal(dry.code, 0, dry.stderr);
      const report = JSON.parse(dry.stdout);
      assert.equal(report.dryRun, true);
      assert.deepEqual([report.inserted, report.updated, report.revived, report.unchanged, report.rejected], [1, 3, 1, 1, 1]);
      assert.deepEqual(report.statusChanges, [
        { from: null, to: 'generated', count: 1 },
        { from: 'claimed', to: 'claimed', count: 1 },
        { from: 'redeemed', to: 'claimed', count: 2 },
      ]);
      assert.deepEqual(await Promise.all(tables.map((table) => fingerprint(warehouse, `"${schema}".${table}`))), before, 'nothing was written');
      const text = await cli(['load-file', '-', '--chain', String(CHAIN), '--schema', schema, '--exported-at', '2026-05-27T12:00:00Z', '--dry-run'], csv);
      assert.match(text.stdout, /dry run: nothing was written/);
      assert.match(text.stdout, /redeemed → claimed: 2/);
    });
  });

  it('exits 2 on bad usage', async () => {
    assert.equal((await cli(['load-file', '-'])).code, 2, 'missing --chain');
    assert.equal((await cli(['load-file', '-', '--chain', 'x'])).code, 2);
    const badSchema = await cli(['load-file', '-', '--chain', '1', '--schema', 'Bad-Name', '--exported-at', '2026-05-26T12:00:00Z']);
    assert.equal(badSchema.code, 2);
    assert.match(badSchema.stderr, /Invalid warehouse schema name/);
  });
});
