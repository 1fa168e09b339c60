/** `spaaza-sync load-file FILE --chain N --exported-at ISO`: loads a voucher CSV downloaded by hand. */
import { open } from 'node:fs/promises';
import type { Command } from 'commander';
import { describeFsError } from '../config/config-file.js';
import { DEFAULTS } from '../defaults.js';
import { ConfigError } from '../errors.js';
import { describeOffset } from '../extract/spaaza-time.js';
import { loadFile, type LoadFileResult } from '../sync/load-file.js';
import { isoZ } from '../sync/windows.js';
import { migrateToLatest } from '../warehouse/migrate.js';
import { instant, positiveInteger, ratio } from './arguments.js';
import { warehouseConfig, withWarehouse, type WarehouseOptions } from './warehouse-session.js';

interface LoadFileOptions extends WarehouseOptions {
  chain: number;
  exportedAt?: Date;
  maxRejectRatio?: number;
  json: boolean;
  dryRun: boolean;
}

export function registerLoadFileCommand(program: Command): void {
  program
    .command('load-file')
    .description('load a voucher CSV export downloaded by hand into the warehouse ("-" reads standard input); never moves the watermark')
    .argument('<file>', 'the CSV file, or - for standard input')
    .requiredOption('--chain <id>', 'the chain the file belongs to', positiveInteger)
    .option('--exported-at <instant>', "Spaaza's time of the export: the task's last_run_date (ISO 8601 with its zone); required", instant)
    .option('--dry-run', 'load in a transaction that is rolled back, and report what would change (inserted, updated, revived, status changes)', false)
    .option('--max-reject-ratio <ratio>', `fail when more than this share of rows (and more than 100) is rejected (default: the configured sync.maxRejectRatio, ${DEFAULTS.maxRejectRatio})`, ratio)
    .option('--schema <name>', 'warehouse schema (default: the configured one: SPAAZA_SCHEMA or schema, else "spaaza")')
    .option('--config <path>', 'configuration file (default: SPAAZA_CONFIG, else ./config/spaaza-sync.json if present)')
    .option('--json', 'print the outcome as one JSON line', false)
    .action(async (file: string, opts: LoadFileOptions) => {
      // Checked before the warehouse is opened: a load without a trustworthy time, or of a file
      // that cannot be read, is refused outright and leaves no trace.
      const session = await warehouseConfig(opts);
      const { config } = session;
      const exportedAt = checkedExportTime(opts.exportedAt, config.sync.maxClockSkewMs);
      if (file !== '-') await assertReadable(file);
      await withWarehouse(opts, async ({ warehouse, schema, logger }) => {
        await migrateToLatest(warehouse.db, schema);
        const started = performance.now();
        const result = await loadFile({
          warehouse,
          schema,
          chainId: opts.chain,
          file,
          exportedAt,
          versionsValidUntil: new Date(Date.now() + config.sync.maxClockSkewMs),
          dryRun: opts.dryRun,
          settings: {
            maxRejectRatio: opts.maxRejectRatio ?? config.sync.maxRejectRatio,
            noExpiryFrom: config.sync.noExpiryFrom,
            maxRecordBytes: config.sync.maxRecordBytes,
            mergeBatchRows: config.sync.mergeBatchRows,
            loadPath: config.sync.loadPath,
          },
          logger,
        });
        const seconds = (performance.now() - started) / 1000;
        if (opts.json) {
          const { syncRunId, ...rest } = result;
          process.stdout.write(JSON.stringify({ chain: opts.chain, ...(opts.dryRun ? {} : { syncRunId }), ...rest, seconds: Number(seconds.toFixed(3)) }) + '\n');
          return;
        }
        process.stdout.write((opts.dryRun ? describeDryRun(file, opts.chain, result) : describeLoad(file, opts.chain, schema, result, seconds)).join('\n') + '\n');
      }, session);
    });
}

/** A file that cannot be read is a usage error, found before anything is recorded. */
async function assertReadable(file: string): Promise<void> {
  try {
    const handle = await open(file, 'r');
    const info = await handle.stat();
    await handle.close();
    if (info.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`Cannot read ${file} (${describeFsError(code)}).`, ['<file>: give the path of a voucher CSV export, or - to read standard input']);
  }
}

/**
 * The export time is every row's version: a wrong one reverts newer rows (too old) or freezes
 * them where no later export can replace them (in the future). So it is asked for, never guessed.
 */
function checkedExportTime(exportedAt: Date | undefined, maxClockSkewMs: number): Date {
  if (exportedAt === undefined) {
    throw new ConfigError('load-file needs --exported-at: Spaaza\'s time of the export.', [
      "--exported-at: give the export task's last_run_date (GET /tasks/{id} shows it; the file is Voucher_Export-{id}.csv), e.g. --exported-at 2026-05-26T12:00:00Z. " +
        "The file's modification time is not used: copying changes it, and a wrong time reverts newer rows or freezes them for good",
    ]);
  }
  const latest = Date.now() + maxClockSkewMs;
  if (exportedAt.getTime() > latest) {
    throw new ConfigError(`--exported-at ${isoZ(exportedAt)} is ${describeOffset(exportedAt.getTime(), Date.now())} this machine's clock: no export comes from the future.`, [
      "--exported-at: check the date (a typo in the year?) and this machine's clock; rows stamped in the future could never be replaced by a later export",
    ]);
  }
  return exportedAt;
}

function describeLoad(file: string, chain: number, schema: string, result: LoadFileResult, seconds: number): string[] {
  return [
    `loaded ${file} into chain ${chain} (sync run ${result.syncRunId}) in ${seconds.toFixed(1)} s, ${result.loadPath === 'typed-copy' ? 'typed by PostgreSQL (typed COPY)' : 'through the reference parser'}`,
    `  rows read ${result.rowsRead}: ${result.inserted} inserted, ${result.updated} updated, ${result.unchanged} unchanged, ` +
      `${result.rejected} rejected, ${result.duplicates} duplicate, ${result.inconsistent} inconsistent`,
    ...(result.unknownColumns.length ? [`  unknown columns kept in vouchers.extra: ${result.unknownColumns.join(', ')}`] : []),
    ...(result.warnings ?? []).map((w) => `  warning: ${w}`),
    ...(result.rejected ? [`  rejects: SELECT line, reason FROM ${schema}.voucher_rejects WHERE sync_run_id = ${result.syncRunId} ORDER BY line;`] : []),
    '',
  ];
}

function describeDryRun(file: string, chain: number, result: LoadFileResult): string[] {
  const status = (s: string | null) => s ?? '(new)';
  return [
    `dry run: nothing was written. Loading ${file} into chain ${chain} would:`,
    `  insert ${result.inserted}, update ${result.updated} (reviving ${result.revived ?? 0} soft-deleted), leave ${result.unchanged} unchanged, reject ${result.rejected} of ${result.rowsRead} rows read`,
    ...(result.statusChanges?.length ? ['  rows written, by status before → after:', ...result.statusChanges.map((c) => `    ${status(c.from)} → ${status(c.to)}: ${c.count}`)] : []),
    ...(result.warnings ?? []).map((w) => `  warning: ${w}`),
    '',
  ];
}
