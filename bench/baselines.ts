// The baselines spaaza-sync is compared with, each loading the very CSV file the simulator served:
//   A   psql \copy into a table with the CSV's columns and key (no typing beyond COPY's, no merge);
//   A′  psql \copy into a copy of the warehouse's own `vouchers` (its columns and current indexes):
//       the limit for the chosen schema;
//   pgloader, into A's table, when installed;
//   B   one INSERT … ON CONFLICT per row, on a prefix of the file, extrapolated.
// Each baseline's table is dropped once counted, so the later phases share the server with the
// warehouse's tables alone.
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { access, constants, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import type { Pool } from 'pg';
import { CHAIN_HEADERS, VOUCHER_COLUMNS } from '../src/voucher/voucher-table.js';
import { checkpoint, runMeasured, withPostgresCpu, type Phase } from './measure.js';

export interface BenchContext {
  readonly pool: Pool;
  readonly databaseUrl: string;
  readonly schema: string;
  /** A private scratch directory, removed at the end. */
  readonly scratchDir: string;
}

const BASELINE_COLUMNS = `id bigint, voucher_key text, chain_id bigint, user_id bigint, campaign_id bigint, campaign_type text,
  campaign_title text, type text, status text, locked boolean, title text, currency_id integer, currency_symbol text,
  amount_original numeric, amount_redeemed numeric, amount numeric, date_time_creation timestamptz,
  date_time_redeemed timestamptz, date_time_expiry timestamptz, PRIMARY KEY (chain_id, id)`;

/** A phase, or why it did not run. */
export type Outcome = { phase: Phase } | { note: string };

/** The CSV's header fields, as written (a BOM dropped, quotes undone). */
export async function csvHeader(file: string): Promise<string[]> {
  const handle = createReadStream(file, { start: 0, end: 64 * 1024, encoding: 'utf8' });
  let text = '';
  for await (const chunk of handle) text += chunk;
  const [fields] = parseSync(text.slice(0, text.indexOf('\n') + 1), { bom: true }) as string[][];
  return fields ?? [];
}

/** Baseline A: psql's \copy of the served file into a table with the same columns and key. */
export async function psqlCopy(ctx: BenchContext, file: string, header: readonly string[]): Promise<Phase> {
  const table = `${ctx.schema}.baseline_copy`;
  await ctx.pool.query(`CREATE TABLE ${table} (${BASELINE_COLUMNS})`);
  const usage = await timedPsqlCopy(ctx, table, header, file);
  return { name: 'A: psql \\copy', rows: await countAndDrop(ctx, table), ...usage, loadPath: null, detail: '' };
}

/**
 * Baseline A′: \copy into `LIKE vouchers` with its defaults, indexes and constraints, so it costs
 * what the current migrations' schema costs to write. Must run after the schema is migrated.
 */
export async function warehouseCopy(ctx: BenchContext, file: string, header: readonly string[]): Promise<Outcome> {
  const mapping = warehouseColumns(header);
  if ('unmapped' in mapping) return { note: `A′ skipped: the CSV header(s) ${mapping.unmapped.map((h) => JSON.stringify(h)).join(', ')} have no single warehouse column to \\copy into` };
  const table = `${ctx.schema}.baseline_vouchers`;
  await ctx.pool.query(`CREATE TABLE ${table} (LIKE ${ctx.schema}.vouchers INCLUDING DEFAULTS INCLUDING INDEXES INCLUDING CONSTRAINTS)`);
  const filled = await fillUnfilledColumns(ctx, 'baseline_vouchers', new Set(mapping.columns));
  const indexes = await ctx.pool.query<{ n: string }>(`SELECT count(*) AS n FROM pg_indexes WHERE schemaname = $1 AND tablename = 'baseline_vouchers'`, [ctx.schema]);
  try {
    const usage = await timedPsqlCopy(ctx, table, mapping.columns, file);
    const detail = `${indexes.rows[0]!.n} indexes (with the key), as vouchers has them; defaults for ${filled.join(', ') || 'nothing'}`;
    return { phase: { name: 'A′: \\copy into vouchers’ schema', rows: await countAndDrop(ctx, table), ...usage, loadPath: null, detail } };
  } catch (error) {
    await ctx.pool.query(`DROP TABLE IF EXISTS ${table}`);
    return { note: `A′ failed: ${(error as Error).message.trim()}` };
  }
}

/** The warehouse column of each CSV header (through VOUCHER_COLUMNS' headers; the chain's headers to chain_id), or the headers that have none. */
export function warehouseColumns(header: readonly string[]): { columns: string[] } | { unmapped: string[] } {
  const byHeader = new Map<string, string>(VOUCHER_COLUMNS.flatMap((c) => c.headers.map((h) => [h, c.name] as const)));
  for (const h of CHAIN_HEADERS) byHeader.set(h, 'chain_id');
  const columns = header.map((h) => byHeader.get(h.trim().toLowerCase()));
  // A header without a column, or a second header for one column, cannot be copied as is.
  const unmapped = header.filter((h, i) => columns[i] === undefined || columns.indexOf(columns[i]) !== i);
  return unmapped.length > 0 ? { unmapped } : { columns: columns as string[] };
}

/** What a NOT NULL column without a default, that the CSV cannot fill, gets instead (by type); others lose NOT NULL. */
const FILLER: Readonly<Record<string, string>> = {
  bigint: '0',
  integer: '0',
  numeric: '0',
  'timestamp with time zone': 'now()',
  text: `''`,
  boolean: 'false',
  jsonb: `'{}'`,
};

/** Gives the NOT NULL columns the CSV leaves empty (run ids, the export's time) a default; returns their names. */
async function fillUnfilledColumns(ctx: BenchContext, table: string, filled: ReadonlySet<string>): Promise<string[]> {
  const { rows } = await ctx.pool.query<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM information_schema.columns
     WHERE table_schema = $1 AND table_name = $2 AND is_nullable = 'NO' AND column_default IS NULL ORDER BY ordinal_position`,
    [ctx.schema, table],
  );
  const relaxed: string[] = [];
  for (const { column_name: column, data_type: type } of rows) {
    if (filled.has(column)) continue;
    const filler = FILLER[type];
    await ctx.pool.query(`ALTER TABLE ${ctx.schema}.${table} ALTER COLUMN ${column} ${filler ? `SET DEFAULT ${filler}` : 'DROP NOT NULL'}`);
    relaxed.push(column);
  }
  return relaxed;
}

async function timedPsqlCopy(ctx: BenchContext, table: string, columns: readonly string[], file: string): Promise<Pick<Phase, 'seconds' | 'peakRssBytes' | 'cpuSeconds' | 'postgresCpuSeconds'>> {
  await checkpoint(ctx.pool);
  const command = `\\copy ${table} (${columns.join(', ')}) FROM '${file}' WITH (FORMAT csv, HEADER true)`;
  const { result, postgresCpuSeconds } = await withPostgresCpu(() => runMeasured('psql', [ctx.databaseUrl, '-X', '-v', 'ON_ERROR_STOP=1', '-q', '-c', command], { scratchDir: ctx.scratchDir }));
  return { seconds: result.seconds, peakRssBytes: result.peakRssBytes, cpuSeconds: result.cpuSeconds, postgresCpuSeconds };
}

async function countAndDrop(ctx: BenchContext, table: string): Promise<number> {
  const { rows } = await ctx.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  await ctx.pool.query(`DROP TABLE ${table}`);
  return Number(rows[0]!.n);
}

/** pgloader into a table like A's, with RFC 4180 quoting and cells kept exactly as written; a note when it is not installed. */
export async function pgloaderLoad(ctx: BenchContext, file: string, header: readonly string[], expectedRows: number): Promise<Outcome> {
  if (!(await onPath('pgloader'))) return { note: 'pgloader not on PATH: apt-get install pgloader to compare' };
  const table = `${ctx.schema}.baseline_pgloader`;
  await ctx.pool.query(`CREATE TABLE ${table} (${BASELINE_COLUMNS})`);
  const { url, password } = pgloaderUrl(ctx.databaseUrl);
  const fields = header.join(', ');
  // `keep unquoted blanks`: pgloader trims unquoted cells by default, \copy and spaaza-sync do not.
  const command = `LOAD CSV
  FROM '${file}' WITH ENCODING utf-8 (${fields})
  INTO ${url}
  TARGET TABLE ${table} (${fields})
  WITH skip header = 1, keep unquoted blanks,
       fields optionally enclosed by '"', fields escaped by double-quote, fields terminated by ',';
`;
  const rootDir = path.join(ctx.scratchDir, 'pgloader');
  await mkdir(rootDir, { recursive: true });
  const commandFile = path.join(rootDir, 'baseline.load');
  await writeFile(commandFile, command);
  await checkpoint(ctx.pool);
  // The password, if any, goes by PGPASSWORD (pgloader reads it) rather than into the command file.
  const env = password === null ? process.env : { ...process.env, PGPASSWORD: password };
  try {
    const { result, postgresCpuSeconds } = await withPostgresCpu(() => runMeasured('pgloader', ['--root-dir', rootDir, commandFile], { env, scratchDir: ctx.scratchDir }));
    const rows = await countAndDrop(ctx, table);
    const missing = rows === expectedRows ? '' : `; ${(expectedRows - rows).toLocaleString('en')} of ${expectedRows.toLocaleString('en')} rows not loaded (see its report)`;
    const detail = `${pgloaderVersion()}, its default batches and workers${missing}`;
    return { phase: { name: 'pgloader', rows, seconds: result.seconds, peakRssBytes: result.peakRssBytes, cpuSeconds: result.cpuSeconds, postgresCpuSeconds, loadPath: null, detail } };
  } catch (error) {
    await ctx.pool.query(`DROP TABLE IF EXISTS ${table}`);
    return { note: `pgloader failed: ${(error as Error).message.trim()}` };
  }
}

/** pgloader's URL form: postgresql://user@host:port/db (a ':' or '@' in the user doubled), the password apart. */
export function pgloaderUrl(databaseUrl: string): { url: string; password: string | null } {
  const u = new URL(databaseUrl);
  const user = decodeURIComponent(u.username).replace(/[:@]/g, (c) => c + c);
  const sslmode = u.searchParams.get('sslmode');
  const url = `postgresql://${user ? `${user}@` : ''}${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname}${sslmode ? `?sslmode=${sslmode}` : ''}`;
  return { url, password: u.password ? decodeURIComponent(u.password) : null };
}

function pgloaderVersion(): string {
  const out = execFileSync('pgloader', ['--version'], { encoding: 'utf8' });
  const version = /version "?([^"\s]+)/.exec(out)?.[1];
  return version ? `pgloader ${version}` : 'pgloader';
}

async function onPath(command: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const found = await access(path.join(dir, command), constants.X_OK).then(
      () => true,
      () => false,
    );
    if (found) return true;
  }
  return false;
}

/** Baseline B: one INSERT … ON CONFLICT DO UPDATE per row, the loader most people write; its time and CPU extrapolated. */
export async function naiveInserts(ctx: BenchContext, file: string, rows: number, extrapolateTo: number): Promise<Phase> {
  const table = `${ctx.schema}.baseline_naive`;
  await ctx.pool.query(`CREATE TABLE ${table} (${BASELINE_COLUMNS})`);
  await checkpoint(ctx.pool);
  const parser = createReadStream(file).pipe(parse({ columns: true, to: rows }));
  const client = await ctx.pool.connect();
  let done = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const { postgresCpuSeconds } = await withPostgresCpu(async () => {
    try {
      for await (const record of parser as AsyncIterable<Record<string, string>>) {
        const names = Object.keys(record);
        const values = names.map((n) => (record[n] === '' ? null : record[n]));
        await client.query(
          `INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})
           ON CONFLICT (chain_id, id) DO UPDATE SET ${names.map((n) => `${n} = EXCLUDED.${n}`).join(', ')}`,
          values,
        );
        done += 1;
      }
    } finally {
      client.release();
    }
  });
  const scale = extrapolateTo / Math.max(done, 1);
  const cpu = process.cpuUsage(cpuBefore);
  await countAndDrop(ctx, table);
  return {
    name: 'B: INSERT per row (extrapolated)',
    rows: extrapolateTo,
    seconds: ((performance.now() - started) / 1000) * scale,
    peakRssBytes: null,
    // This process's CPU: the simulator in it is idle meanwhile.
    cpuSeconds: ((cpu.user + cpu.system) / 1e6) * scale,
    postgresCpuSeconds: postgresCpuSeconds === null ? null : postgresCpuSeconds * scale,
    loadPath: null,
    detail: `measured on ${done.toLocaleString('en')} rows`,
  };
}
