// The load benchmark: `npm run bench:load -- --rows 1000000`.
// Generates a voucher CSV with the simulator's generator, then in one warehouse schema:
//   1. loads it into an empty warehouse, 2. loads it again unchanged, 3. loads a later export
//   with 10% of the vouchers changed; and as the baseline, `psql \copy` of the same file into a
//   table with the same columns and key. Prints rows/s, peak RSS and the ratio to the baseline.
//   `npm run bench` is the end-to-end benchmark; this one is the load stage alone.
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { silentLogger } from '../src/log.js';
import { DEFAULT_DIALECT } from '../src/simulator/csv-dialect.js';
import { Dataset } from '../src/simulator/dataset.js';
import { csvChunks } from '../src/simulator/export-file.js';
import { migrateToLatest } from '../src/warehouse/migrate.js';
import { openWarehouse } from '../src/warehouse/warehouse.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, keep: { type: 'boolean', default: false } } });
const rows = Number(values.rows);
const CHAIN = 1764;
const START = Date.UTC(2026, 4, 26, 12) / 1000;
const SCHEMA = 'bench_load';
const MB = 1024 * 1024;

const dir = await mkdtemp(path.join(tmpdir(), 'spaaza-bench-'));
const warehouse = await openWarehouse({ databaseUrl: process.env.DATABASE_URL, logger: silentLogger });
const connectionString = warehouse.embedded?.connectionString ?? process.env.DATABASE_URL!;

try {
  console.log(`generating ${rows.toLocaleString('en')} vouchers…`);
  const dataset = new Dataset(1, [CHAIN], rows, START);
  const first = path.join(dir, 'export-1.csv');
  await render(dataset, START, first);
  // A day later: 10% of the vouchers changed (claimed, redeemed or locked).
  const snapshot = dataset.snapshot(CHAIN, START);
  let changed = 0;
  for (const voucher of dataset.vouchers(snapshot)) {
    if (voucher.deleted || voucher.id % 10 !== 3) continue;
    if (voucher.status === 'generated') dataset.claim(voucher.id);
    else if (voucher.status === 'claimed') dataset.redeem(voucher.id, START + 86_400);
    else dataset.lock(voucher.id, !voucher.locked);
    changed += 1;
  }
  const second = path.join(dir, 'export-2.csv');
  await render(dataset, START + 86_400, second);
  const bytes = (await stat(first)).size;
  console.log(`file: ${(bytes / MB).toFixed(0)} MB; ${changed.toLocaleString('en')} vouchers changed in the second export`);

  await warehouse.pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await migrateToLatest(warehouse.db, SCHEMA);

  const baseline = await psqlCopy(first);
  const phases = [
    { name: 'load into empty warehouse', ...(await loadOnce(first, '2026-05-26T12:00:00Z')) },
    { name: 'same export again', ...(await loadOnce(first, '2026-05-26T12:00:00Z')) },
    { name: 'later export, 10% changed', ...(await loadOnce(second, '2026-05-27T12:00:00Z')) },
  ];

  const line = (cols: string[]) => console.log(cols.map((c, i) => (i === 0 ? c.padEnd(28) : c.padStart(12))).join(''));
  console.log('');
  line(['phase', 'rows', 'seconds', 'rows/s', 'peak RSS MB', '× baseline']);
  line([baseline.name, String(baseline.rows), baseline.seconds.toFixed(2), rate(baseline), '-', '1.00']);
  for (const p of phases) {
    line([p.name, String(p.rowsRead), p.seconds.toFixed(2), rate({ rows: p.rowsRead, seconds: p.seconds }), (p.peakRssBytes / MB).toFixed(0), (p.seconds / baseline.seconds).toFixed(2)]);
    console.log(`${''.padEnd(28)}inserted ${p.inserted}, updated ${p.updated}, unchanged ${p.unchanged}, rejected ${p.rejected}`);
  }
} finally {
  if (!values.keep) await warehouse.pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => {});
  await warehouse.close();
  await rm(dir, { recursive: true, force: true });
}

async function render(dataset: Dataset, at: number, file: string): Promise<void> {
  const snapshot = dataset.snapshot(CHAIN, at);
  await pipeline(Readable.from(csvChunks({ dataset, snapshot, segment: null, dialect: DEFAULT_DIALECT, seed: 1 }, { rows: 0 })), createWriteStream(file));
}

function rate(r: { rows: number; seconds: number }): string {
  return Math.round(r.rows / r.seconds).toLocaleString('en');
}

interface OnceResult {
  rowsRead: number;
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: number;
  seconds: number;
  peakRssBytes: number;
}

function loadOnce(file: string, exportedAt: string): Promise<OnceResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/load-once.ts', file, SCHEMA, exportedAt], {
      env: { ...process.env, DATABASE_URL: connectionString },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as OnceResult) : reject(new Error(`load-once exited ${code}`))));
  });
}

/** The baseline: psql's \copy of the same file into a table with the same columns and key. */
async function psqlCopy(file: string): Promise<{ name: string; rows: number; seconds: number }> {
  await warehouse.pool.query(`
    CREATE TABLE ${SCHEMA}.baseline_copy (id bigint, voucher_key text, chain_id bigint, user_id bigint, campaign_id bigint,
      campaign_type text, campaign_title text, type text, status text, locked boolean, title text, currency_id integer,
      currency_symbol text, amount_original numeric, amount_redeemed numeric, amount numeric,
      date_time_creation timestamptz, date_time_redeemed timestamptz, date_time_expiry timestamptz, PRIMARY KEY (chain_id, id))`);
  const started = performance.now();
  execFileSync('psql', [connectionString, '-v', 'ON_ERROR_STOP=1', '-q', '-c', `\\copy ${SCHEMA}.baseline_copy FROM '${file}' WITH (FORMAT csv, HEADER true)`], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const seconds = (performance.now() - started) / 1000;
  const { rows } = await warehouse.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${SCHEMA}.baseline_copy`);
  return { name: 'baseline: psql \\copy', rows: Number(rows[0]!.n), seconds };
}
