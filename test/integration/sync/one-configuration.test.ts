/**
 * Every command reads the same validated configuration. A config file in the working folder
 * names the warehouse through `databaseUrlFile` (what the README recommends for containers) and
 * the schema; no DATABASE_URL or SPAAZA_SCHEMA is set. Each command must reach that warehouse:
 * one that fell back to the embedded server would create `.spaaza-sync/` in the folder.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { redactDatabaseUrl } from '../../../src/config/index.js';
import type { Warehouse } from '../../../src/warehouse/warehouse.js';
import { startHarness, type CliResult, type Harness } from '../../support/sync-harness.js';
import { newDataset, renderCsv } from '../../support/voucher-csv.js';
import { connectionStringOf, openTestWarehouse } from '../../support/warehouse.js';

const CLI = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const SCHEMA = 'one_configuration';

describe('one configuration for every command', () => {
  let warehouse: Warehouse;
  let harness: Harness;
  let folder: string;
  let env: Record<string, string>;

  before(async () => {
    warehouse = await openTestWarehouse();
    await warehouse.pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    harness = await startHarness(warehouse, SCHEMA, { vouchersPerChain: 300 });
    folder = await mkdtemp(join(tmpdir(), 'spaaza-sync-one-config-'));
    await mkdir(join(folder, 'config'));
    await mkdir(join(folder, 'secrets'));
    await writeFile(join(folder, 'secrets', 'database-url'), `${connectionStringOf(warehouse)}\n`, { mode: 0o600 });
    await writeFile(join(folder, 'config', 'spaaza-sync.json'), JSON.stringify({ databaseUrlFile: '../secrets/database-url', schema: SCHEMA }), { mode: 0o600 });
    await chmod(join(folder, 'config', 'spaaza-sync.json'), 0o600);
    // The harness's environment, without the two variables the file must stand in for.
    const { SPAAZA_SCHEMA: _schema, ...rest } = harness.env;
    env = { PATH: process.env.PATH ?? '', HOME: folder, ...rest, SPAAZA_INCREMENTAL_CRON: '* * * * * *', SPAAZA_FULL_REFRESH_CRON: '0 0 1 1 *' };
  });

  after(async () => {
    await harness?.close();
    await warehouse?.pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await warehouse?.close();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  const cli = (args: string[], options: { stdin?: string; untilMs?: number } = {}) => {
    const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], { cwd: folder, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.stdin.end(options.stdin ?? '');
    return { child, done: new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))) };
  };
  const run = async (args: string[]) => {
    const result = await cli(args).done;
    assert.equal(result.code, 0, `${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
    assert.ok(!existsSync(join(folder, '.spaaza-sync')), `${args[0]} opened the embedded warehouse instead of the configured one:\n${result.stderr}`);
    return result;
  };
  const modes = async () =>
    (await warehouse.pool.query<{ mode: string }>(`SELECT DISTINCT mode FROM ${SCHEMA}.sync_runs ORDER BY mode`)).rows.map((r) => r.mode);

  it('migrate, db, check, sync, status, load-file, reset, abandon, full-refresh and schedule all reach the warehouse of databaseUrlFile', async () => {
    const display = redactDatabaseUrl(connectionStringOf(warehouse));
    const chain = harness.sim.chainIds[0]!;

    const migrated = await run(['migrate']);
    assert.match(migrated.stdout, new RegExp(`schema "${SCHEMA}" at ${display.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: applied`));
    const tables = await warehouse.pool.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1`, [SCHEMA]);
    assert.ok(tables.rows[0].n > 5, 'migrate created the tables in the configured warehouse');

    assert.match((await run(['db', '--check'])).stdout, new RegExp(`^warehouse: ${display.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    await run(['check']);
    await run(['sync', '--chain', String(chain)]);
    const status = JSON.parse((await run(['status', '--json'])).stdout) as { warehouse: string; schema: string; chains: { chainId: number; watermark: string | null }[] };
    assert.equal(status.warehouse, display);
    assert.equal(status.schema, SCHEMA);

    const csvFile = join(folder, 'vouchers.csv');
    await writeFile(csvFile, renderCsv(newDataset(20)));
    await run(['load-file', csvFile, '--chain', String(chain), '--exported-at', '2026-05-26T12:00:00Z']);
    await run(['reset', '--chain', String(chain), '--watermark', '2026-05-20T00:00:00Z', '--yes']);
    assert.match((await run(['abandon', '--chain', String(chain), '--yes'])).stdout, /nothing to abandon/);
    await run(['full-refresh', '--chain', String(chain)]);
    assert.deepEqual(await modes(), ['file', 'full-refresh', 'incremental', 'reset']);

    // The daemon: its tick every second takes a lease in the configured schema.
    const daemon = cli(['schedule']);
    const deadline = Date.now() + 60_000;
    let leases = 0;
    while (Date.now() < deadline && leases === 0) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      leases = (await warehouse.pool.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.schedule_leases`)).rows[0].n;
    }
    daemon.child.kill('SIGTERM');
    const stopped = await daemon.done;
    assert.ok(leases > 0, `the daemon took no lease in the configured warehouse:\n${stopped.stderr}`);
    assert.ok(!existsSync(join(folder, '.spaaza-sync')), 'the daemon opened the embedded warehouse');
  });

  it('a DATABASE_URL that does not parse (an unencoded / ? # in the password, a port typo) is refused by every command without showing it', async () => {
    const urls = ['postgresql://postgres:ab/cdSecretX1@127.0.0.1:5432/test', 'postgres://postgres:ab?cdSecretX1@127.0.0.1:5432/test', 'postgres://postgres:12#cdSecretX1@127.0.0.1:5432/test', 'postgres://postgres:abSecretX1@127.0.0.1:54x2/test'];
    for (const url of urls) {
      for (const args of [['migrate'], ['db', '--check'], ['status']]) {
        const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], { cwd: folder, env: { ...env, DATABASE_URL: url }, stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (d: Buffer) => (output += d));
        child.stderr.on('data', (d: Buffer) => (output += d));
        const code = await new Promise((resolve) => child.on('close', resolve));
        assert.equal(code, 2, `${args[0]} with ${url}:\n${output}`);
        assert.match(output, /DATABASE_URL: /);
        for (const piece of ['SecretX1', 'ab/cd', 'ab?cd', '12#cd']) assert.ok(!output.includes(piece), `${args[0]} shows ${piece}:\n${output}`);
      }
    }
  });
});
