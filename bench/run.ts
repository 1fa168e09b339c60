// `npm run bench -- [--rows 1000000] [--naive-rows 20000] [--skip-pgloader] [--skip-queries]`:
// spaaza-sync end to end against the bundled simulator over loopback HTTP, next to baselines that
// load the very CSV file the simulator served (bench/baselines.ts), each phase after a CHECKPOINT:
//   A.  psql \copy into a table with the CSV's columns and key: the limit, no typing, no merge;
//   A′. psql \copy into `LIKE vouchers` (its defaults, indexes and constraints, as the current
//       migrations make them; the NOT NULL columns a CSV cannot fill get defaults): the limit for
//       the chosen schema;
//   pgloader into A's table, when it is on the PATH (else a note);
//   B.  a naive loader (one INSERT … ON CONFLICT per row) on --naive-rows rows, extrapolated;
//   then the real CLI (compiled, in a process of its own so its peak RSS is its alone):
//   1. full export into an empty warehouse (it runs first: it migrates the schema A′ copies),
//   2. the same export again, 3. the export with 10% of the vouchers changed, 4. an incremental
//   window of 1,000 new vouchers.
// Per phase: wall time, rows/s, peak RSS, × A and × A′, CPU of the loader and of PostgreSQL, rows per
// CPU-second of the two, and the load path the CLI's `window committed` lines name (`loadPath`).
// The CLI's times are the windows' own (from the sync log), without the wait for the simulator
// to render the export. Then, in the loaded schema, the analyst queries (bench/analyst-queries.ts)
// are timed with the current indexes of `vouchers` and with the index set of before the fast load
// path (bench/query-latency.ts). Prints tables and writes JSON to bench/results/. Nothing reads
// the whole file into memory: --rows 5000000 runs in flat memory.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { silentLogger } from '../src/log.js';
import { startSimulator } from '../src/simulator/simulator.js';
import { openWarehouse } from '../src/warehouse/warehouse.js';
import { analystQueries } from './analyst-queries.js';
import { csvHeader, naiveInserts, pgloaderLoad, psqlCopy, warehouseCopy, type BenchContext, type Outcome } from './baselines.js';
import { checkpoint, postgresCpuSeconds, rowsPerCpuSecond, type Phase } from './measure.js';
import { compareWithOldIndexes, printComparison, type IndexComparison } from './query-latency.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    'naive-rows': { type: 'string', default: '20000' },
    'skip-pgloader': { type: 'boolean', default: false },
    'skip-queries': { type: 'boolean', default: false },
  },
});
const vouchers = Number(values.rows);
const naiveRows = Number(values['naive-rows']);
const SCHEMA = 'spaaza_bench';
const MB = 1024 * 1024;
const root = path.resolve(import.meta.dirname, '..');

const work = await mkdtemp(path.join(os.tmpdir(), 'spaaza-bench-'));
const storageDir = path.join(work, 'storage');
console.log(`simulator: 1 chain, ${vouchers.toLocaleString('en')} vouchers`);
const sim = await startSimulator({ chains: 1, vouchersPerChain: vouchers, historyDays: 730, taskDurationMs: 0, storageDir, startMs: Date.UTC(2026, 4, 26, 12) });
const chainId = sim.chainIds[0]!;
const warehouse = await openWarehouse({ databaseUrl: process.env.DATABASE_URL, logger: silentLogger });
const databaseUrl = warehouse.embedded?.connectionString ?? process.env.DATABASE_URL!;
const ctx: BenchContext = { pool: warehouse.pool, databaseUrl, schema: SCHEMA, scratchDir: work };

const phases: Phase[] = [];
/** What did not run, or ran wrong, said under the table and kept in the JSON. */
const notes: string[] = [];
const take = (outcome: Outcome) => ('phase' in outcome ? phases.push(outcome.phase) : notes.push(outcome.note));

try {
  await warehouse.pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);

  const empty = await syncOnce('full-refresh');
  const exportFile = await onlyFile(storageDir);
  const bytes = (await stat(exportFile)).size;
  const header = await csvHeader(exportFile);
  const baselineA = await psqlCopy(ctx, exportFile, header);
  phases.push(baselineA);
  take(await warehouseCopy(ctx, exportFile, header));
  if (values['skip-pgloader']) notes.push('pgloader skipped (--skip-pgloader)');
  else take(await pgloaderLoad(ctx, exportFile, header, baselineA.rows));
  phases.push(await naiveInserts(ctx, exportFile, Math.min(naiveRows, empty.rows), empty.rows));
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

  let queries: IndexComparison | null = null;
  if (values['skip-queries']) notes.push('analyst queries skipped (--skip-queries)');
  else queries = await compareWithOldIndexes(warehouse.pool, SCHEMA, analystQueries(SCHEMA, chainId, new Date(sim.state.clock.nowMs())));

  const postgres = await serverVersion();
  console.log(`\n${vouchers.toLocaleString('en')} vouchers, export ${(bytes / MB).toFixed(0)} MB; PostgreSQL ${postgres}; ${os.cpus().length} cores`);
  const rows = phases.map((p) => derived(p, baselineA));
  printPhases(rows);
  for (const note of notes) console.log(`note: ${note}`);
  const window = phases.at(-1)!;
  console.log(`\nown time of the incremental window: ${(window.seconds * 1000).toFixed(0)} ms for ${window.rows} rows (${((window.seconds * 1000 * 1000) / Math.max(window.rows, 1)).toFixed(0)} ms per 1,000)`);
  if (queries) printComparison(queries);

  const resultsDir = path.join(root, 'bench', 'results');
  await mkdir(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `bench-${vouchers}.json`);
  const result = { date: new Date().toISOString(), vouchers, naiveRows, exportBytes: bytes, cores: os.cpus().length, postgres, node: process.version, phases: rows, notes, queries };
  await writeFile(file, JSON.stringify(result, null, 2) + '\n');
  console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
} finally {
  await warehouse.pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => {});
  await warehouse.close();
  await sim.close();
  await rm(work, { recursive: true, force: true });
}

/** A phase with the figures the table shows computed from it: the JSON holds the same. */
interface PhaseRow extends Phase {
  rowsPerSecond: number;
  timesA: number;
  /** Its time over A′'s, null when A′ did not run. */
  timesAPrime: number | null;
  rowsPerCpuSecond: number | null;
}

function derived(p: Phase, a: Phase): PhaseRow {
  const aPrime = phases.find((q) => q.name.startsWith('A′'));
  return { ...p, rowsPerSecond: p.rows / p.seconds, timesA: p.seconds / a.seconds, timesAPrime: aPrime ? p.seconds / aPrime.seconds : null, rowsPerCpuSecond: rowsPerCpuSecond(p) };
}

function printPhases(rows: readonly PhaseRow[]): void {
  const line = (cols: string[]) => console.log(cols.map((c, i) => (i === 0 ? c.padEnd(34) : i === cols.length - 1 ? `  ${c}` : c.padStart(11))).join(''));
  const fixed = (n: number | null, digits: number) => (n === null ? '-' : n.toFixed(digits));
  const count = (n: number | null) => (n === null ? '-' : Math.round(n).toLocaleString('en'));
  line(['phase', 'rows', 'seconds', 'rows/s', 'RSS MB', '× A', '× A′', 'CPU s', 'PG CPU s', 'rows/CPU-s', 'load path']);
  for (const p of rows) {
    line([
      p.name,
      p.rows.toLocaleString('en'),
      p.seconds.toFixed(2),
      count(p.rowsPerSecond),
      fixed(p.peakRssBytes && p.peakRssBytes / MB, 0),
      p.timesA.toFixed(2),
      fixed(p.timesAPrime, 2),
      fixed(p.cpuSeconds, 1),
      fixed(p.postgresCpuSeconds, 1),
      count(p.rowsPerCpuSecond),
      p.loadPath ?? '-',
    ]);
    if (p.detail) console.log(`${''.padEnd(34)}${p.detail}`);
  }
}

/** One run of the compiled CLI; its window's own time (without the export wait) and peak RSS. */
async function syncOnce(command: 'sync' | 'full-refresh'): Promise<Phase> {
  await checkpoint(warehouse.pool);
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
    loadPath: loadPathOf(windows),
    detail: `${windows.length} window(s): inserted ${sum('inserted')}, updated ${sum('updated')}, unchanged ${sum('unchanged')}, deleted ${sum('deleted')}; export wait ${sum('exportWaitSeconds').toFixed(1)} s not counted`,
  };
}

/** The windows' `loadPath` (typed-copy, reference), distinct ones joined by `+`; null while the CLI logs none. */
function loadPathOf(windows: readonly Record<string, unknown>[]): string | null {
  const paths = [...new Set(windows.map((w) => (typeof w.loadPath === 'string' ? w.loadPath : '-')))];
  return paths.every((p) => p === '-') ? null : paths.join('+');
}

async function onlyFile(dir: string): Promise<string> {
  const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((f) => f.isFile() && f.name.endsWith('.csv'));
  if (files.length !== 1) throw new Error(`expected one export file in ${dir}, found ${files.length}`);
  return path.join(files[0]!.parentPath, files[0]!.name);
}

async function serverVersion(): Promise<string> {
  const { rows } = await warehouse.pool.query<{ v: string }>('SELECT current_setting($$server_version$$) AS v');
  return rows[0]!.v.split(' ')[0]!;
}
