/**
 * `spaaza-sync abandon --chain N [--run ID]`: for the case no rule covers, such as an export
 * task an operator knows will never finish. The chain's unfinished windows (or those of one run)
 * become `abandoned`, so the next run plans afresh from the watermark instead of resuming them.
 * Nothing is deleted and the watermark does not move; the task itself stays at Spaaza (its API
 * has no way to cancel one). Refused while another run holds the chain (exit 3); asks first,
 * unless `--yes`.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { ChainLockedError } from '../errors.js';
import { releaseRunConnection, tryLockChain } from '../warehouse/chain-lock.js';
import { failRunsOfDeadProcesses } from '../warehouse/sync-runs.js';
import { warehouseTables } from '../warehouse/tables.js';
import { abandonRows, unfinishedRowsOfChain, type RunRow } from '../warehouse/sync-runs.js';
import { isoZ } from '../sync/windows.js';
import { migrateToLatest } from '../warehouse/migrate.js';
import { positiveInteger } from './arguments.js';
import { requireConfirmation } from './confirm.js';
import { withWarehouse, type WarehouseOptions } from './warehouse-session.js';

interface AbandonOptions extends WarehouseOptions {
  chain: number;
  run?: { syncRunId: number } | { runId: string };
  yes: boolean;
  json: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A `sync_runs.id` (a number) or a `run_id` (a UUID, shared by the windows of one command). */
function runArgument(value: string): { syncRunId: number } | { runId: string } {
  if (/^\d+$/.test(value) && Number(value) > 0) return { syncRunId: Number(value) };
  if (UUID.test(value)) return { runId: value.toLowerCase() };
  throw new InvalidArgumentError('expected a sync_runs id (a number, as status shows it) or a run_id (a UUID)');
}

export function registerAbandonCommand(program: Command): void {
  program
    .command('abandon')
    .description("give up a chain's unfinished windows (e.g. an export task stuck at Spaaza): the next run plans afresh from the watermark; refused while the chain is being synced")
    .requiredOption('--chain <id>', 'the chain', positiveInteger)
    .option('--run <id>', 'only this run: a sync_runs id, or a run_id shared by the windows of one command', runArgument)
    .option('--yes', 'do it without asking (for scripts)', false)
    .option('--config <path>', 'configuration file (default: SPAAZA_CONFIG, else ./config/spaaza-sync.json if present)')
    .option('--json', 'print the outcome as JSON', false)
    .action(async (opts: AbandonOptions) => {
      await withWarehouse({ ...opts, quiet: true }, async ({ warehouse, schema }) => {
        await migrateToLatest(warehouse.db, schema);
        const tables = warehouseTables(schema);
        const rows = await unfinishedRowsOfChain(warehouse.pool, tables, opts.chain, opts.run);
        if (rows.length === 0) {
          const which = opts.run === undefined ? '' : ` in run ${'syncRunId' in opts.run ? opts.run.syncRunId : opts.run.runId}`;
          process.stdout.write(opts.json ? JSON.stringify({ chain: opts.chain, abandoned: [] }) + '\n' : `chain ${opts.chain} has no unfinished window${which}: nothing to abandon\n`);
          return;
        }
        // Asked before the chain's lock is taken, so a prompt left open blocks no scheduled run.
        await requireConfirmation(`Abandon ${rows.length} unfinished window(s) of chain ${opts.chain}?\n${rows.map(describeRow).join('\n')}\nThe next run plans afresh from the watermark.`, opts.yes, 'abandon');
        // A dedicated connection, destroyed at the end, so its session lock never lingers.
        const client = await warehouse.pool.connect();
        try {
          if (!(await tryLockChain(client, schema, opts.chain))) throw new ChainLockedError(opts.chain);
          await failRunsOfDeadProcesses(client, tables, opts.chain);
          // Only the rows shown, and only those a run has not finished since.
          const reason = `abandoned by an operator (spaaza-sync abandon) at ${isoZ(new Date())}; the next run plans afresh from the watermark`;
          const abandoned = await abandonRows(client, tables, rows.map((r) => r.syncRunId), reason, 'abandoned_by_operator');
          process.stdout.write(
            opts.json
              ? JSON.stringify({ chain: opts.chain, abandoned }) + '\n'
              : `chain ${opts.chain}: abandoned ${abandoned.length} window(s) (sync run ${abandoned.join(', ')}); the next run plans afresh from the watermark\n`,
          );
        } finally {
          await releaseRunConnection(client);
        }
      });
    });
}

function describeRow(row: RunRow): string {
  const window = row.windowStart && row.windowEnd ? `${isoZ(row.windowStart)} .. ${isoZ(row.windowEnd)}` : 'unfiltered';
  return `  sync run ${row.syncRunId} (${row.mode}, ${row.state}, ${window}, task ${row.taskId ?? 'none'}, started ${isoZ(row.startedAt)})`;
}
