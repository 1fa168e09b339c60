// `npm run bench -- [--rows 1000000] [--naive-rows 20000]`: spaaza-sync end to end against the
// bundled simulator over loopback HTTP, next to two baselines, on the same export:
//   A. psql \copy of the very CSV file the simulator served, into a table with its columns and key;
//   B. a naive loader (one INSERT … ON CONFLICT per row) on --naive-rows rows, extrapolated;
//   then the real CLI (compiled, in a process of its own so its peak RSS is its alone):
//   1. full export into an empty warehouse, 2. the same export again, 3. the export with 10% of
//   the vouchers changed, 4. an incremental window of 1,000 new vouchers.
// Wall times are the window's own (from the sync log), without the wait for the simulator to
// render the export. Prints a table and writes JSON to bench/results/.
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse';
import { silentLogger } from '../src/log.js';
import { startSimulator } from '../src/simulator/simulator.js';
import { openWarehouse } from '../src/warehouse/warehouse.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, 'naive-rows': { type: 'string', default: '20000' } } });
const vouchers = Number(values.rows);
const naiveRows = Number(values['naive-rows']);
const SCHEMA = 'spaaza_bench';
const MB = 1024 * 1024;
const root = path.resolve(import.meta.dirname, '..');
const BASELINE_COLUMNS = `id bigint, voucher_key text, chain_id bigint, user_id bigint, campaign_id bigint, campaign_type text,
  campaign_title text, type text, status text, locked boolean, title text, currency_id integer, currency_symbol text,
  amount_original numeric, amount_redeemed numeric, amount numeric, date_time_creation timestamptz,
  date_time_redeemed timestamptz, date_time_expiry timestamptz, PRIMARY KEY (chain_id, id)`;


const work = await mkdtemp(path.join(os.tmpdir(), 'spaaza-bench-'));
const storageDir = path.join(work, 'storage');
console.log(`simulator: 1 chain, ${vouchers.toLocaleString('en')} vouchers`);
const sim = await startSimulator({ chains: 1, vouchersPerChain: vouchers, historyDays: 730, taskDurationMs: 0, storageDir, startMs: Date.UTC(2026, 4, 26, 12) });
const chainId = sim.chainIds[0]!;
const warehouse = await openWarehouse({ databaseUrl: process.env.DATABASE_URL, logger: silentLogger });
const databaseUrl = warehouse.embedded?.connectionString ?? process.env.DATABASE_URL!;

interface Phase {
  name: string;
  rows: number;
  seconds: number;
  peakRssBytes: number | null;
  /** CPU seconds of the spaaza-sync process, and of all PostgreSQL server processes, in the phase. */
  cpuSeconds: number | null;
  postgresCpuSeconds: number | null;
  detail: string;
}
const phases: Phase[] = [];

try {
  await warehouse.pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);

  const empty = await syncOnce('full-refresh');
  const exportFile = await onlyFile(storageDir);
  const bytes = (await stat(exportFile)).size;
  const baselineA = await psqlCopy(exportFile);
  const baselineB = await naiveInserts(exportFile, Math.min(naiveRows, empty.rows), empty.rows);
  phases.push(baselineA, baselineB);
  phases.push({ ...empty, name: 'full export, empty warehouse' });
  phases.push({ ...(await syncOnce('full-refresh')), name: 'same export again' });

  let changed = 0;
  const snapshot = sim.state.dataset.snapshot(chainId, sim.state.clock.nowSeconds());
  for (const voucher of sim.state.dataset.vouchers(snapshot)) {
    if (voucher.deleted || voucher.id % 10 !== 3) continue;
    if (voucher.status === 'generated') sim.state.dataset.claim(voucher.id);
    else if (voucher.status === 'claimed') sim.state.dataset.redeem(voucher.id, sim.state.clock.nowSeconds());
    else sim.state.dataset.lock(voucher.id, !voucher.locked);
    changed += 1;
  }
  phases.push({ ...(await syncOnce('full-refresh')), name: `export with ${changed.toLocaleString('en')} changed` });

  // An incremental run takes in what the changes above redeemed (3 hours on, past the 2-hour
  // lookback); then a window of 1,000 new vouchers.
  sim.state.clock.advance(3 * 3600_000);
  await syncOnce('sync');
  sim.state.clock.advance(3600_000);
  for (let i = 0; i < 1000; i++) sim.state.dataset.create(chainId, sim.state.clock.nowSeconds());
  sim.state.clock.advance(3600_000);
  phases.push({ ...(await syncOnce('sync')), name: 'incremental window, 1,000 new' });

  const base = baselineA.seconds;
  const line = (cols: string[]) => console.log(cols.map((c, i) => (i === 0 ? c.padEnd(34) : c.padStart(10))).join(''));
  console.log(`\n${vouchers.toLocaleString('en')} vouchers, export ${(bytes / MB).toFixed(0)} MB; PostgreSQL ${await serverVersion()}; ${os.cpus().length} cores`);
  line(['phase', 'rows', 'seconds', 'rows/s', 'RSS MB', '× A', 'CPU s', 'PG CPU s']);
  const fixed = (n: number | null, digits: number) => (n === null ? '-' : n.toFixed(digits));
  for (const p of phases) {
    line([
      p.name,
      p.rows.toLocaleString('en'),
      p.seconds.toFixed(2),
      Math.round(p.rows / p.seconds).toLocaleString('en'),
      fixed(p.peakRssBytes && p.peakRssBytes / MB, 0),
      (p.seconds / base).toFixed(2),
      fixed(p.cpuSeconds, 1),
      fixed(p.postgresCpuSeconds, 1),
    ]);
    if (p.detail) console.log(`${''.padEnd(34)}${p.detail}`);
  }
  const window = phases.at(-1)!;
  console.log(`\nown time of the incremental window: ${(window.seconds * 1000).toFixed(0)} ms for ${window.rows} rows (${((window.seconds * 1000 * 1000) / Math.max(window.rows, 1)).toFixed(0)} ms per 1,000)`);

  const resultsDir = path.join(root, 'bench', 'results');
  await mkdir(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `bench-${vouchers}.json`);
  const result = { date: new Date().toISOString(), vouchers, exportBytes: bytes, cores: os.cpus().length, postgres: await serverVersion(), node: process.version, phases };
  await writeFile(file, JSON.stringify(result, null, 2) + '\n');
  console.log(`results: ${path.relative(process.cwd(), file)}`);
} finally {
  await warehouse.pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => {});
  await warehouse.close();
  await sim.close();
  await rm(work, { recursive: true, force: true });
}

/** One run of the compiled CLI; its window's own time (without the export wait) and peak RSS. */
async function syncOnce(command: 'sync' | 'full-refresh'): Promise<Phase> {
  await checkpoint();
  const token = sim.tokens.at(-1)!;
  const rssFile = path.join(work, 'rss');
  const args = ['--import', path.join(root, 'bench', 'peak-rss.mjs'), path.join(root, 'bin', 'spaaza-sync.js'), command, ...(command === 'full-refresh' ? ['--allow-mass-delete'] : [])];
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    SPAAZA_BASE_URL: sim.url,
    SPAAZA_TOKEN_ID: token.id,
    SPAAZA_TOKEN_SECRET: token.secret,
    SPAAZA_CHAIN_IDS: String(chainId),
    SPAAZA_SCHEMA: SCHEMA,
    SPAAZA_BACKFILL_START_DATE: '2024-01-01',
    SPAAZA_POLL_INITIAL: '50ms',
    SPAAZA_POLL_MAX_INTERVAL: '200ms',
    // The benchmark's simulator runs on a virtual clock far from this machine's: it sets the clock bound for itself.
    SPAAZA_MAX_CLOCK_SKEW: '3650d',
    BENCH_RSS_FILE: rssFile,
  };
  const postgresBefore = await postgresCpuSeconds();
  const log = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('close', (code) => (code === 0 ? resolve(stderr) : reject(new Error(`spaaza-sync ${command} exited ${code}:\n${stderr}`))));
  });
  const windows = log
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, number | string>)
    .filter((l) => l.msg === 'window committed');
  const sum = (key: string) => windows.reduce((n, w) => n + Number(w[key] ?? 0), 0);
  const usage = JSON.parse(await readFile(rssFile, 'utf8')) as { peakRssBytes: number; cpuSeconds: number };
  const postgresAfter = await postgresCpuSeconds();
  return {
    name: command,
    rows: sum('rows'),
    seconds: sum('seconds') - sum('exportWaitSeconds'),
    peakRssBytes: usage.peakRssBytes,
    cpuSeconds: usage.cpuSeconds,
    postgresCpuSeconds: postgresBefore === null || postgresAfter === null ? null : postgresAfter - postgresBefore,
    detail: `${windows.length} window(s): inserted ${sum('inserted')}, updated ${sum('updated')}, unchanged ${sum('unchanged')}, deleted ${sum('deleted')}; export wait ${sum('exportWaitSeconds').toFixed(1)} s not counted`,
  };
}

async function onlyFile(dir: string): Promise<string> {
  const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((f) => f.isFile() && f.name.endsWith('.csv'));
  if (files.length !== 1) throw new Error(`expected one export file in ${dir}, found ${files.length}`);
  return path.join(files[0]!.parentPath, files[0]!.name);
}

/** Baseline A: psql's \copy of the served file into a table with the same columns and key. */
async function psqlCopy(file: string): Promise<Phase> {
  const header = (await firstLine(file)).trim();
  await warehouse.pool.query(`CREATE TABLE ${SCHEMA}.baseline_copy (${BASELINE_COLUMNS})`);
  await checkpoint();
  const started = performance.now();
  execFileSync('psql', [databaseUrl, '-v', 'ON_ERROR_STOP=1', '-q', '-c', `\\copy ${SCHEMA}.baseline_copy (${header}) FROM '${file}' WITH (FORMAT csv, HEADER true)`], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const seconds = (performance.now() - started) / 1000;
  const { rows } = await warehouse.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${SCHEMA}.baseline_copy`);
  return { name: 'A: psql \\copy', rows: Number(rows[0]!.n), seconds, peakRssBytes: null, cpuSeconds: null, postgresCpuSeconds: null, detail: '' };
}

/** Baseline B: one INSERT … ON CONFLICT DO UPDATE per row, the loader most people write. */
async function naiveInserts(file: string, rows: number, extrapolateTo: number): Promise<Phase> {
  await warehouse.pool.query(`CREATE TABLE ${SCHEMA}.baseline_naive (${BASELINE_COLUMNS})`);
  const parser = createReadStream(file).pipe(parse({ columns: true, to: rows }));
  const client = await warehouse.pool.connect();
  let done = 0;
  const started = performance.now();
  try {
    for await (const record of parser as AsyncIterable<Record<string, string>>) {
      const names = Object.keys(record);
      const values = names.map((n) => (record[n] === '' ? null : record[n]));
      await client.query(
        `INSERT INTO ${SCHEMA}.baseline_naive (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})
         ON CONFLICT (chain_id, id) DO UPDATE SET ${names.map((n) => `${n} = EXCLUDED.${n}`).join(', ')}`,
        values,
      );
      done += 1;
    }
  } finally {
    client.release();
  }
  const seconds = ((performance.now() - started) / 1000) * (extrapolateTo / done);
  return {
    name: 'B: INSERT per row (extrapolated)',
    rows: extrapolateTo,
    seconds,
    peakRssBytes: null,
    cpuSeconds: null,
    postgresCpuSeconds: null,
    detail: `measured on ${done.toLocaleString('en')} rows`,
  };
}

async function firstLine(file: string): Promise<string> {
  const handle = createReadStream(file, { start: 0, end: 64 * 1024, encoding: 'utf8' });
  let text = '';
  for await (const chunk of handle) text += chunk;
  return text.slice(0, text.indexOf('\n'));
}

/**
 * CPU seconds used so far by every PostgreSQL server process on this machine (the warehouse is
 * local here); null when /proc cannot tell. Includes the checkpointer and WAL writer: the server's
 * whole cost of a phase.
 */
async function postgresCpuSeconds(): Promise<number | null> {
  try {
    let ticks = 0;
    for (const pid of await readdir('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (name !== 'postgres') continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime + stime, and cutime + cstime: the postmaster collects the time of backends that exited.
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    }
    return ticks / 100; // USER_HZ
  } catch {
    return null;
  }
}

/** Each phase starts with the dirty pages of the one before written out, so it pays only for its own. */
async function checkpoint(): Promise<void> {
  await warehouse.pool.query('CHECKPOINT').catch(() => {}); // needs a superuser or pg_checkpoint
}

async function serverVersion(): Promise<string> {
  const { rows } = await warehouse.pool.query<{ v: string }>('SELECT current_setting($$server_version$$) AS v');
  return rows[0]!.v.split(' ')[0]!;
}
