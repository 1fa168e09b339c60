/**
 * `spaaza-sync reset --chain N --watermark ISO`: the repair for what no rule covers, such as a
 * watermark or row versions a wrong clock reading dated after Spaaza's clock. It moves the
 * watermark either way, restamps versions dated after Spaaza's now, records a `sync_runs` row,
 * and is refused while another run holds the chain (exit 3). It asks first, unless `--yes`.
 */
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { ChainLockedError, ConfigError } from '../errors.js';
import { releaseRunConnection, tryLockChain } from '../warehouse/chain-lock.js';
import { resetChain } from '../load/reset-chain.js';
import { failRunsOfDeadProcesses } from '../warehouse/sync-runs.js';
import { warehouseTables } from '../warehouse/tables.js';
import { readWatermark, VOUCHERS_STREAM } from '../warehouse/sync-state.js';
import { latestPossible, readSpaazaClock } from '../sync/spaaza-clock.js';
import { isoZ } from '../sync/windows.js';
import { migrateToLatest } from '../warehouse/migrate.js';
import { instant, positiveInteger } from './arguments.js';
import { withConfig, type ConfigOptions } from './config-session.js';
import { requireConfirmation } from './confirm.js';

interface ResetOptions extends ConfigOptions {
  chain: number;
  watermark: Date;
  yes: boolean;
  json: boolean;
}

export function registerResetCommand(program: Command): void {
  program
    .command('reset')
    .description("move a chain's watermark to an instant you trust (either way) and repair row versions dated after Spaaza's clock; refused while the chain is being synced")
    .requiredOption('--chain <id>', 'the configured chain', positiveInteger)
    .requiredOption('--watermark <instant>', 'the new watermark (ISO 8601); the next incremental sync exports from it minus the lookback', instant)
    .option('--yes', 'do it without asking (for scripts)', false)
    .option('--config <path>', 'configuration file')
    .option('--json', 'print the outcome as JSON', false)
    .action(async (opts: ResetOptions) => {
      await withConfig(opts, async ({ config, warehouse, logger }) => {
        const chain = config.spaaza.chains.find((c) => c.id === opts.chain);
        if (!chain) throw new ConfigError(`Chain ${opts.chain} is not configured.`, [`--chain: configured chains are ${config.spaaza.chains.map((c) => c.id).join(', ')}`]);
        await migrateToLatest(warehouse.db, config.schema);
        const tables = warehouseTables(config.schema);
        const clock = await readSpaazaClock(config, chain, logger);
        if (clock.problem) logger.warn(clock.problem);
        const latest = latestPossible(clock);
        if (opts.watermark > latest) {
          throw new ConfigError(`--watermark ${isoZ(opts.watermark)} is after ${clock.source === 'spaaza' ? "Spaaza's clock" : "this machine's clock"} (${isoZ(clock.now)}).`, [
            '--watermark: give an instant in the past, up to which every voucher is known to be in the warehouse (spaaza-sync status lists the committed windows)',
          ]);
        }
        const current = await readWatermark(warehouse.pool, tables, chain.id, VOUCHERS_STREAM);
        const question = `Move the watermark of chain ${chain.id} from ${current ? isoZ(current) : 'none'} to ${isoZ(opts.watermark)}, and restamp row versions dated after ${isoZ(latest)}?`;
        await requireConfirmation(question, opts.yes, 'reset');

        // A dedicated connection, destroyed at the end, so its session lock never lingers.
        const client = await warehouse.pool.connect();
        try {
          if (!(await tryLockChain(client, config.schema, chain.id))) throw new ChainLockedError(chain.id);
          await failRunsOfDeadProcesses(client, tables, chain.id);
          const restampTo = clock.source === 'spaaza' ? clock.now : new Date(clock.now.getTime() - clock.toleranceMs);
          const outcome = await resetChain(client, tables, { chainId: chain.id, runId: randomUUID(), stream: VOUCHERS_STREAM, watermark: opts.watermark, restampAfter: latest, restampTo });
          process.stdout.write(
            opts.json ? JSON.stringify({ chain: chain.id, ...outcome }) + '\n' : `chain ${chain.id}: ${outcome.summary} (sync run ${outcome.syncRunId})\n`,
          );
        } finally {
          await releaseRunConnection(client);
        }
      });
    });
}
