/**
 * `spaaza-sync export`: the source document's exports as one command. Filters become a segment
 * of explicit bounds on Spaaza's clock (src/extract/export-filters.ts); the file is written as
 * Spaaza sent it (or as JSON lines), or loaded into the warehouse with the sync's rules as a run
 * of mode `export` (no watermark moves, nothing is deleted). `--dry-run` shows the exact request
 * and sends nothing that creates a task.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { parse } from 'csv-parse';
import type { SyncConfig } from '../config/index.js';
import { ConfigError } from '../errors.js';
import { ExportFilterError, type ExportFilters } from '../extract/export-filters.js';
import type { ExportFile } from '../extract/export-task.js';
import type { TasksClient } from '../extract/tasks-client.js';
import type { Logger } from '../log.js';
import { tasksClientFor } from '../sync/chain-client.js';
import { describeSegment, exportSettingsOf, loadExportFile, planExport, runExport, unprovenWarning, type PlannedExport } from '../sync/filtered-export.js';
import type { LockedLoadResult } from '../sync/locked-load.js';
import { isoZ } from '../sync/windows.js';
import { migrateToLatest } from '../warehouse/migrate.js';
import { openWarehouse } from '../warehouse/warehouse.js';
import { duration, instant, positiveInteger } from './arguments.js';
import { withConfigOnly, type ConfigOptions } from './config-session.js';

interface ExportOptions extends ConfigOptions {
  chain?: number;
  redeemedWithin?: number;
  createdBetween?: { from: Date; to: Date };
  expiringWithin?: number;
  createdWithin?: number;
  rule: string[];
  join: 'all' | 'any';
  out?: string;
  format: 'csv' | 'json';
  load: boolean;
  dryRun: boolean;
  json: boolean;
}

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description("run one of Spaaza's voucher exports (every voucher, or those the filters select) and write the file, or load it into the warehouse")
    .option('--chain <id>', 'the chain (required when more than one is configured)', positiveInteger)
    .option('--redeemed-within <duration>', "vouchers redeemed in the last DURATION (e.g. 24h) of Spaaza's clock", duration)
    .option('--created-between <from..to>', 'vouchers created from FROM to TO, both included (dates or UTC instants; a date as TO means to its end)', dateRange)
    .option('--expiring-within <duration>', "vouchers expiring in the next DURATION (e.g. 7d) of Spaaza's clock", duration)
    .option('--created-within <duration>', "vouchers created in the last DURATION (e.g. 30d) of Spaaza's clock", duration)
    .option('--rule <field:operator:args>', 'a segment rule as Spaaza reads it, e.g. status:is:redeemed (repeatable)', (value: string, all: string[]) => [...all, value], [])
    .option('--join <all|any>', 'whether every filter must hold (all) or one is enough (any)', joinArgument, 'all')
    .option('--out <file>', 'write the export to FILE ("-" for standard output); written under a temporary name until complete')
    .option('--format <csv|json>', 'csv: the file as Spaaza sent it; json: one JSON object per record (JSON lines)', formatArgument, 'csv')
    .option('--load', "upsert it into the warehouse with the sync's rules (newer export wins, rejects kept); moves no watermark, deletes nothing", false)
    .option('--dry-run', 'print the exact request and stop: no export task is created', false)
    .option('--json', 'print the outcome as one JSON line', false)
    .option('--config <path>', 'configuration file (default: SPAAZA_CONFIG, else ./config/spaaza-sync.json if present)')
    .option('--verbose', 'debug logging', false)
    .action(async (opts: ExportOptions) => {
      const usage = usageProblems(opts);
      if (usage.length > 0) throw new ConfigError('The export cannot run as asked.', usage);
      await withConfigOnly(opts, async ({ config, logger, signal }) => {
        const chain = chosenChain(config, opts.chain);
        const api = tasksClientFor(config, chain, logger);
        try {
          const plan = await planned(api, chain.id, filtersOf(opts));
          if (opts.dryRun) {
            process.stdout.write(`${JSON.stringify({ spaazaNow: isoZ(plan.spaazaNow), selects: describeSegment(plan.segment), request: plan.request }, null, 2)}\n`);
            return;
          }
          const run = { api, settings: exportSettingsOf(config), logger, signal, onPhase: phaseLine(opts) };
          const outcome = opts.load ? await loadExport(config, logger, run, plan) : await writeExport(opts, run, plan);
          const summary = { chain: chain.id, ...outcome, selects: describeSegment(plan.segment) };
          const report = opts.out === '-' ? process.stderr : process.stdout;
          report.write(opts.json ? `${JSON.stringify(summary)}\n` : describe(summary));
        } finally {
          await api.close();
        }
      });
    });
}

/** What must be given, and what cannot go together, said all at once. */
function usageProblems(opts: ExportOptions): string[] {
  const problems: string[] = [];
  if (!opts.dryRun && opts.out === undefined && !opts.load) problems.push('give --out FILE (or --out - for standard output), or --load, or --dry-run to see the request');
  if (opts.out !== undefined && opts.load) problems.push('--out and --load: choose one (load-file loads a file written by --out)');
  if (opts.format === 'json' && opts.out === undefined) problems.push('--format json: applies to --out only');
  return problems;
}

function filtersOf(opts: ExportOptions): ExportFilters {
  return {
    ...(opts.redeemedWithin !== undefined ? { redeemedWithinMs: opts.redeemedWithin } : {}),
    ...(opts.createdBetween ? { createdBetween: opts.createdBetween } : {}),
    ...(opts.expiringWithin !== undefined ? { expiringWithinMs: opts.expiringWithin } : {}),
    ...(opts.createdWithin !== undefined ? { createdWithinMs: opts.createdWithin } : {}),
    rules: opts.rule,
    join: opts.join,
  };
}

/** The plan, with a filter's problems as a usage error (exit 2) listing each. */
async function planned(api: TasksClient, chainId: number, filters: ExportFilters): Promise<PlannedExport> {
  try {
    return await planExport(api, chainId, filters);
  } catch (error) {
    if (error instanceof ExportFilterError) throw new ConfigError(`${error.message} nothing was sent.`, error.problems);
    throw error;
  }
}

function chosenChain(config: SyncConfig, chainId: number | undefined): SyncConfig['spaaza']['chains'][number] {
  const chains = config.spaaza.chains;
  const ids = chains.map((c) => c.id).join(', ');
  if (chainId === undefined) {
    if (chains.length === 1) return chains[0]!;
    throw new ConfigError('Which chain? More than one is configured.', [`--chain: give one of ${ids}`]);
  }
  const chain = chains.find((c) => c.id === chainId);
  if (!chain) throw new ConfigError(`Chain ${chainId} is not configured.`, [`--chain: configured chains are ${ids}`]);
  return chain;
}

interface ExportOutcome {
  readonly taskId: number;
  readonly exportedAt: string;
  readonly bytes: number;
  readonly records?: number;
  readonly out?: string;
  readonly load?: Pick<LockedLoadResult, 'syncRunId' | 'rowsRead' | 'inserted' | 'updated' | 'unchanged' | 'rejected' | 'loadPath'>;
  readonly warnings: string[];
}

/** Writes the file: to a temporary name beside FILE, renamed once whole; or to standard output. */
async function writeExport(opts: ExportOptions, run: Parameters<typeof runExport>[0], plan: PlannedExport): Promise<ExportOutcome> {
  const toStdout = opts.out === '-';
  const target = toStdout ? null : path.resolve(opts.out!);
  const partial = target && path.join(path.dirname(target), `.${path.basename(target)}.partial-${process.pid}`);
  let started = false;
  const consume = Object.assign(
    async (file: ExportFile) => {
      started = true;
      const counter = { records: 0, uneven: 0 };
      const body = Readable.from(file.body);
      const sink = partial ? createWriteStream(partial, { mode: 0o600 }) : toStandardOutput;
      if (opts.format === 'json') await pipeline(body, ...jsonLines(counter), sink);
      else await pipeline(body, sink);
      const uneven = counter.uneven > 0 ? `${counter.uneven} record(s) have a field count other than the header's (their extra fields are under _extra_fields)` : null;
      return { bytes: file.bytes(), records: opts.format === 'json' ? counter.records : undefined, warning: [unprovenWarning(file), uneven].filter(Boolean).join('; ') || null };
    },
    // Once bytes reached standard output they cannot be taken back: no second attempt then.
    { canRetry: () => !(toStdout && started) },
  );
  try {
    const done = await runExport(run, plan, consume);
    if (partial && target) await rename(partial, target);
    return {
      taskId: done.task.id,
      exportedAt: isoZ(done.exportedAt),
      bytes: done.result.bytes,
      ...(done.result.records !== undefined ? { records: done.result.records } : {}),
      ...(target ? { out: target } : {}),
      warnings: done.result.warning ? [done.result.warning] : [],
    };
  } finally {
    if (partial) await rm(partial, { force: true });
  }
}

/**
 * Standard output as a pipeline's end, with its backpressure, never ended (it outlives the
 * export). A reader gone (`| head`: EPIPE) fails the export like any write error, not the process.
 */
async function toStandardOutput(source: AsyncIterable<Buffer | string>): Promise<void> {
  let failed: Error | null = null;
  const onError = (error: Error) => (failed ??= error);
  process.stdout.on('error', onError);
  try {
    for await (const chunk of source) {
      if (failed) throw failed;
      // once() rejects when 'error' comes while it waits.
      if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
    }
    if (failed) throw failed;
  } finally {
    process.stdout.off('error', onError);
  }
}

/**
 * CSV records → one JSON object per line, the header's names as keys, values as Spaaza wrote
 * them. Read as the sync reads (a stray quote inside a field is data); nothing is dropped: a
 * repeated header name gets `_2`, `_3` (as `extra` does), fields beyond the header go under
 * `_extra_fields`, and records whose field count differs from the header's are counted.
 */
function jsonLines(counter: { records: number; uneven: number }): [Transform, Transform] {
  const parser = parse({ bom: true, relax_quotes: true, relax_column_count: true, skip_empty_lines: true });
  let names: string[] | null = null;
  const toLines = new Transform({
    writableObjectMode: true,
    transform(fields: string[], _encoding, done) {
      if (names === null) {
        names = uniqueNames(fields);
        return done();
      }
      counter.records += 1;
      if (fields.length !== names.length) counter.uneven += 1;
      const record: Record<string, unknown> = {};
      names.forEach((name, i) => {
        if (i < fields.length) record[name] = fields[i];
      });
      if (fields.length > names.length) record._extra_fields = fields.slice(names.length);
      done(null, `${JSON.stringify(record)}\n`);
    },
  });
  return [parser, toLines];
}

function uniqueNames(header: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return header.map((name) => {
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    return n === 1 ? name : `${name}_${n}`;
  });
}

/** Loads the export under the chain's lock, as a run of mode `export`. */
async function loadExport(config: SyncConfig, logger: Logger, run: Parameters<typeof runExport>[0], plan: PlannedExport): Promise<ExportOutcome> {
  const warehouse = await openWarehouse({ databaseUrl: config.databaseUrl ?? undefined, logger });
  try {
    await migrateToLatest(warehouse.db, config.schema);
    const done = await runExport(run, plan, async (file, exportedAt, task) => {
      const result = await loadExportFile({ warehouse, config, chainId: plan.chainId, mode: 'export', api: run.api, logger }, file, exportedAt, task);
      return { result, bytes: file.bytes(), warning: unprovenWarning(file) };
    });
    const { result } = done.result;
    return {
      taskId: done.task.id,
      exportedAt: isoZ(done.exportedAt),
      bytes: done.result.bytes,
      load: { syncRunId: result.syncRunId, rowsRead: result.rowsRead, inserted: result.inserted, updated: result.updated, unchanged: result.unchanged, rejected: result.rejected, loadPath: result.loadPath },
      warnings: [...(result.warnings ?? []), ...(done.result.warning ? [done.result.warning] : [])],
    };
  } finally {
    await warehouse.close();
  }
}

function describe(s: ExportOutcome & { chain: number; selects: string }): string {
  const head = `chain ${s.chain}: export task ${s.taskId} (${s.selects}), exported at ${s.exportedAt}, ${s.bytes} bytes`;
  const where = s.load
    ? `loaded as sync run ${s.load.syncRunId}: ${s.load.rowsRead} rows read, ${s.load.inserted} inserted, ${s.load.updated} updated, ${s.load.unchanged} unchanged, ${s.load.rejected} rejected`
    : s.out
      ? `written to ${s.out}${s.records !== undefined ? ` (${s.records} records)` : ''}`
      : 'written to standard output';
  return `${head}; ${where}\n${s.warnings.map((w) => `  warning: ${w}\n`).join('')}`;
}

/** On a terminal, one line per phase of the task (standard error: standard output may hold the file). */
function phaseLine(opts: ExportOptions): ((phase: string, taskId: number) => void) | undefined {
  if (!process.stderr.isTTY || opts.json) return undefined;
  return (phase, taskId) => process.stderr.write(`\r\x1b[Kexport task ${taskId}: ${phase}…`);
}

function dateRange(value: string): { from: Date; to: Date } {
  const [from, to, extra] = value.split('..');
  if (from === undefined || to === undefined || extra !== undefined || from === '' || to === '') {
    throw new InvalidArgumentError('expected FROM..TO, e.g. 2026-03-01..2026-03-31 (dates or UTC instants)');
  }
  const end = instant(to);
  // A date as TO means the whole day: up to its last second, as the source document writes it.
  return { from: instant(from), to: /^\d{4}-\d{2}-\d{2}$/.test(to.trim()) ? new Date(end.getTime() + 86_399_000) : end };
}

function joinArgument(value: string): 'all' | 'any' {
  if (value !== 'all' && value !== 'any') throw new InvalidArgumentError('expected all or any');
  return value;
}

function formatArgument(value: string): 'csv' | 'json' {
  if (value !== 'csv' && value !== 'json') throw new InvalidArgumentError('expected csv or json');
  return value;
}
