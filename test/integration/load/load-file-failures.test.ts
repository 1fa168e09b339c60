/**
 * load-file when the world is not as asked: a path that is not there (refused before anything is
 * recorded, no stack trace), a stream that fails after the run row exists (the row is failed, the
 * process does not crash), and a process killed mid-load (the next run of the chain finishes its
 * row as failed, with the reason).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadFile } from '../../../src/sync/load-file.js';
import { silentLogger } from '../../../src/log.js';
import type { Warehouse } from '../../../src/warehouse/warehouse.js';
import { CHAIN, newDataset, renderCsv } from '../../support/voucher-csv.js';
import { connectionStringOf, openTestWarehouse, withSchema } from '../../support/warehouse.js';

let warehouse: Warehouse;
let dir: string;
before(async () => {
  warehouse = await openTestWarehouse();
  dir = await mkdtemp(path.join(tmpdir(), 'spaaza-loadfile-failures-'));
});
after(async () => {
  await warehouse?.close();
  await rm(dir, { recursive: true, force: true });
});

function cli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: dir, DATABASE_URL: connectionStringOf(warehouse), ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  child.stdin.end('');
  return { child, done: new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))) };
}

const runs = async (schema: string) =>
  (await warehouse.pool.query<{ id: string; mode: string; state: string; error_code: string | null; error_message: string | null }>(`SELECT id, mode, state, error_code, error_message FROM "${schema}".sync_runs ORDER BY id`)).rows;

const AT = '2026-05-26T12:00:00Z';

describe('load-file failures', () => {
  it('a missing path is refused before anything is recorded, in one sentence without a stack trace', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      for (const args of [['--exported-at', AT], []]) {
        const result = await cli(['load-file', path.join(dir, 'not-there.csv'), '--chain', String(CHAIN), '--schema', schema, ...args]).done;
        assert.equal(result.code, 2, result.stderr);
        assert.doesNotMatch(result.stderr, /\n\s+at .*:\d+:\d+/, `no stack trace:\n${result.stderr}`);
        assert.doesNotMatch(result.stderr, /unexpected error/);
      }
      const first = await cli(['load-file', path.join(dir, 'not-there.csv'), '--chain', String(CHAIN), '--schema', schema, '--exported-at', AT]).done;
      assert.match(first.stderr, /^Cannot read .*not-there\.csv \(no such file\)\./);
      assert.deepEqual(await runs(schema), [], 'no run row');
    });
  });

  it('a file that fails once its run row exists fails the row instead of crashing the process', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const uncaught: unknown[] = [];
      const onUncaught = (error: unknown) => uncaught.push(error);
      process.on('uncaughtException', onUncaught);
      try {
        await assert.rejects(
          loadFile({ warehouse, schema, chainId: CHAIN, file: path.join(dir, 'vanished.csv'), exportedAt: new Date(AT), settings: { maxRejectRatio: 0.01, noExpiryFrom: new Date('2050-01-01T00:00:00Z') }, logger: silentLogger }),
          /ENOENT/,
        );
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.deepEqual(uncaught, []);
      } finally {
        process.off('uncaughtException', onUncaught);
      }
      assert.deepEqual((await runs(schema)).map((r) => r.state), ['failed']);
    });
  });

  it('one load-file right after another finds the chain free: the lock is released, not left to a closing connection', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const file = path.join(dir, 'back-to-back.csv');
      await writeFile(file, renderCsv(newDataset(20, 3)));
      // A destroyed connection drops its session lock only when the server notices: a run started
      // at once (a script, a careless operator) would be refused with chain_locked.
      for (let i = 0; i < 40; i++) {
        const result = await loadFile({ warehouse, schema, chainId: CHAIN, file, exportedAt: new Date(AT), settings: { maxRejectRatio: 0.01, noExpiryFrom: new Date('2050-01-01T00:00:00Z') }, logger: silentLogger });
        assert.equal(result.rowsRead, 20, `load ${i + 1}`);
        const { rows } = await warehouse.pool.query<{ held: string }>(
          `SELECT count(*) AS held FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = hashtext($1)::oid AND objid = hashtext($2)::oid`,
          [schema, String(CHAIN)],
        );
        assert.equal(Number(rows[0]!.held), 0, `the chain's lock is still held after load ${i + 1} returned`);
      }
    });
  });

  it('a load-file killed mid-load leaves its row for the next run of the chain, which fails it with the reason', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const file = path.join(dir, 'big.csv');
      await writeFile(file, renderCsv(newDataset(120_000)));
      // Small batches make the load long enough to be caught in the middle.
      const loading = cli(['load-file', file, '--chain', String(CHAIN), '--schema', schema, '--exported-at', AT], { SPAAZA_MERGE_BATCH_ROWS: '500' });
      let seen = false;
      for (let i = 0; i < 400 && !seen; i++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        seen = (await runs(schema)).some((r) => r.state === 'loading');
      }
      assert.ok(seen, 'the load was caught while loading');
      loading.child.kill('SIGKILL');
      assert.equal((await loading.done).signal, 'SIGKILL');
      assert.deepEqual((await runs(schema)).map((r) => r.state), ['loading'], 'the dead process left its row unfinished');

      // The next run of the chain (here another load-file) finds and finishes it.
      const small = path.join(dir, 'small.csv');
      await writeFile(small, renderCsv(newDataset(50)));
      const next = await cli(['load-file', small, '--chain', String(CHAIN), '--schema', schema, '--exported-at', AT]).done;
      assert.equal(next.code, 0, next.stderr);
      const [dead, fresh] = await runs(schema);
      assert.deepEqual([dead!.state, dead!.error_code], ['failed', 'process_died']);
      assert.match(dead!.error_message!, /ended before it finished/);
      assert.equal(fresh!.state, 'committed');
    });
  });
});
