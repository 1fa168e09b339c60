/** `sync`, `backfill` and `full-refresh`: the runs of the main job, for every chain or one. */
import type { Command } from 'commander';
import type { ChainOutcome } from '../sync/sync-chain.js';
import { runSync, type SyncReport, type SyncRequest } from '../sync/run-sync.js';
import { isoZ } from '../sync/windows.js';
import { positiveInteger, ratio, utcDay } from './arguments.js';
import { withConfig, type ConfigOptions } from './config-session.js';
import { progressLine } from './progress-line.js';
import { EXIT, whatToDo } from './report-failure.js';
import { refreshOpenVouchers, type OpenRefreshOutcome } from '../sync/open-refresh.js';

interface CommonOptions extends ConfigOptions {
  chain?: number;
  json: boolean;
  maxRejectRatio?: number;
}

export function registerSyncCommands(program: Command, setExitCode: (code: number) => void): void {
  const common = (command: Command) =>
    command
      .option('--chain <id>', 'only this configured chain', positiveInteger)
      .option('--config <path>', 'configuration file (default: SPAAZA_CONFIG, else ./config/spaaza-sync.json if present)')
      .option('--max-reject-ratio <ratio>', 'for this run: fail a window when more than this share of its rows (and 100 rows) is rejected', ratio)
      .option('--json', 'print the per-chain outcome as JSON', false)
      .option('--verbose', 'debug logging', false);

  const execute = async (opts: CommonOptions, command: SyncRequest['command']) => {
    await withConfig(opts, async ({ config, warehouse, logger, signal }) => {
      const progress = progressLine();
      const report = await runSync(
        config,
        { command, ...(opts.chain !== undefined ? { chainId: opts.chain } : {}), ...(opts.maxRejectRatio !== undefined ? { maxRejectRatio: opts.maxRejectRatio } : {}) },
        { warehouse, logger, signal, progress },
      ).finally(() => progress.done());
      process.stdout.write(opts.json ? JSON.stringify(report) + '\n' : describe(report));
      setExitCode(report.exitCode);
    });
  };

  common(program.command('sync').description('one incremental run for every configured chain: new and newly redeemed vouchers since the watermark')).action(
    (opts: CommonOptions) => execute(opts, { mode: 'incremental' }),
  );

  common(
    program
      .command('backfill')
      .description('export and load a date range (vouchers created or redeemed in it); moves the watermark only when the range joins it')
      .requiredOption('--from <date>', 'first UTC day (YYYY-MM-DD)', utcDay)
      .option('--to <date>', 'last UTC day, included (default: up to now minus the settle delay)', utcDay),
  ).action((opts: CommonOptions & { from: Date; to?: Date }) => execute(opts, { mode: 'backfill', from: opts.from, to: opts.to ?? null }));

  common(
    program
      .command('full-refresh')
      .description('export everything, upsert it, and soft-delete the vouchers Spaaza no longer has')
      .option('--allow-mass-delete', 'delete even when more than fullRefresh.maxDeleteRatio of the live vouchers (or all of them) would go', false),
  ).action((opts: CommonOptions & { allowMassDelete: boolean }) => execute(opts, { mode: 'full-refresh', allowMassDelete: opts.allowMassDelete }));

  program
    .command('refresh-open')
    .description('once, what schedule.openRefreshCron runs: re-export the vouchers expiring soon or created lately and upsert them (never deletes, moves no watermark)')
    .option('--chain <id>', 'only this configured chain', positiveInteger)
    .option('--config <path>', 'configuration file (default: SPAAZA_CONFIG, else ./config/spaaza-sync.json if present)')
    .option('--json', 'print the per-chain outcome as JSON', false)
    .option('--verbose', 'debug logging', false)
    .action(async (opts: CommonOptions) => {
      await withConfig(opts, async ({ config, warehouse, logger, signal }) => {
        const outcomes = await refreshOpenVouchers(config, { warehouse, logger, signal, ...(opts.chain !== undefined ? { chainId: opts.chain } : {}) });
        const exitCode = outcomes.some((o) => o.status === 'failed') ? EXIT.runFailed : outcomes.some((o) => o.status === 'locked') ? EXIT.locked : EXIT.ok;
        process.stdout.write(opts.json ? `${JSON.stringify({ outcomes, exitCode })}\n` : outcomes.map(describeRefresh).join(''));
        setExitCode(exitCode);
      });
    });
}

function describeRefresh(o: OpenRefreshOutcome): string {
  if (o.status === 'locked') return `chain ${o.chainId}: skipped, another run holds its lock\n`;
  if (o.status === 'failed') return `chain ${o.chainId}: FAILED\n  [${o.error!.code}] ${o.error!.message}\n${whatToDo(o.error!.code)}`;
  const r = o.result!;
  return `chain ${o.chainId}: ok: export task ${o.taskId}, ${r.rowsRead} rows read: ${r.inserted} inserted, ${r.updated} updated, ${r.unchanged} unchanged, ${r.rejected} rejected (sync run ${r.syncRunId})\n`;
}

function describe(report: SyncReport): string {
  return report.outcomes.map(describeChain).join('') + (report.exitCode === 0 ? '' : `exit code ${report.exitCode}\n`);
}

function describeChain(o: ChainOutcome): string {
  const sum = (key: 'rowsRead' | 'inserted' | 'updated' | 'unchanged' | 'rejected' | 'deleted') => o.windows.reduce((n, w) => n + w[key], 0);
  const watermark = o.watermark ? isoZ(o.watermark) : 'none';
  if (o.status === 'locked') return `chain ${o.chainId}: skipped, another run holds its lock\n`;
  const counts = `${o.windows.length} window(s), ${sum('rowsRead')} rows read: ${sum('inserted')} inserted, ${sum('updated')} updated, ${sum('unchanged')} unchanged, ${sum('rejected')} rejected${sum('deleted') ? `, ${sum('deleted')} soft-deleted` : ''}`;
  const head = `chain ${o.chainId}: ${o.status === 'ok' ? 'ok' : 'FAILED'}: ${counts}; watermark ${watermark}\n`;
  return o.error ? `${head}  [${o.error.code}] ${o.error.message}\n${whatToDo(o.error.code)}` : head;
}
