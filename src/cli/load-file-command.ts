/** `spaaza-sync load-file FILE --chain N`: loads a voucher CSV downloaded by hand. */
import type { Command } from 'commander';
import { DEFAULTS } from '../defaults.js';
import { loadFile } from '../load/load-file.js';
import { migrateToLatest } from '../warehouse/migrate.js';
import { instant, positiveInteger, ratio } from './arguments.js';
import { withWarehouse } from './warehouse-session.js';

export function registerLoadFileCommand(program: Command): void {
  program
    .command('load-file')
    .description('load a voucher CSV export downloaded by hand into the warehouse ("-" reads standard input); never moves the watermark')
    .argument('<file>', 'the CSV file, or - for standard input')
    .requiredOption('--chain <id>', 'the chain the file belongs to', positiveInteger)
    .option('--exported-at <instant>', "Spaaza's time of the export (ISO 8601); default the file's modification time, or now for stdin", instant)
    .option('--max-reject-ratio <ratio>', `fail when more than this share of rows (and more than 100) is rejected (default ${DEFAULTS.maxRejectRatio})`, ratio)
    .option('--schema <name>', 'warehouse schema (default: SPAAZA_SCHEMA, else "spaaza")')
    .option('--json', 'print the outcome as one JSON line', false)
    .action(async (file: string, opts: { chain: number; exportedAt?: Date; maxRejectRatio?: number; schema?: string; json: boolean }) => {
      await withWarehouse(opts, async ({ warehouse, schema, logger }) => {
        await migrateToLatest(warehouse.db, schema);
        const started = performance.now();
        const result = await loadFile({
          warehouse,
          schema,
          chainId: opts.chain,
          file,
          ...(opts.exportedAt ? { exportedAt: opts.exportedAt } : {}),
          maxRejectRatio: opts.maxRejectRatio ?? DEFAULTS.maxRejectRatio,
          noExpiryFrom: DEFAULTS.noExpiryFrom,
          logger,
        });
        const seconds = (performance.now() - started) / 1000;
        if (opts.json) {
          process.stdout.write(JSON.stringify({ chain: opts.chain, ...result, seconds: Number(seconds.toFixed(3)) }) + '\n');
          return;
        }
        process.stdout.write(
          [
            `loaded ${file} into chain ${opts.chain} (sync run ${result.syncRunId}) in ${seconds.toFixed(1)} s`,
            `  rows read ${result.rowsRead}: ${result.inserted} inserted, ${result.updated} updated, ${result.unchanged} unchanged, ` +
              `${result.rejected} rejected, ${result.duplicates} duplicate, ${result.inconsistent} inconsistent`,
            ...(result.unknownColumns.length ? [`  unknown columns kept in vouchers.extra: ${result.unknownColumns.join(', ')}`] : []),
            ...(result.rejected ? [`  rejects: SELECT line, reason FROM ${schema}.voucher_rejects WHERE sync_run_id = ${result.syncRunId} ORDER BY line;`] : []),
            '',
          ].join('\n'),
        );
      });
    });
}
