/**
 * `spaaza-sync status`: per chain, how fresh the warehouse is on Spaaza's clock (this host's when
 * Spaaza does not answer), the skew, how the last runs went, and what is wrong: a watermark or row
 * versions ahead of Spaaza's clock are errors with their repair, never "fresh". Exit 1 on any error.
 */
import type { Command } from 'commander';
import { warehouseTables } from '../warehouse/tables.js';
import { readSpaazaClock } from '../sync/spaaza-clock.js';
import { chainStatus, type ChainStatus } from '../sync/status.js';
import { migrateToLatest } from '../warehouse/migrate.js';
import { withConfig, type ConfigOptions } from './config-session.js';

export function registerStatusCommand(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('status')
    .description("per chain: watermark and freshness on Spaaza's clock, clock skew, last full refresh, live vouchers, recent runs, rejects, and errors (exit 1 when there are any)")
    .option('--config <path>', 'configuration file')
    .option('--runs <n>', 'recent runs to show per chain', (v) => Number(v), 5)
    .option('--json', 'print as JSON', false)
    .action(async (opts: ConfigOptions & { runs: number; json: boolean }) => {
      await withConfig(opts, async ({ config, warehouse, logger }) => {
        await migrateToLatest(warehouse.db, config.schema);
        const tables = warehouseTables(config.schema);
        const client = await warehouse.pool.connect();
        try {
          const statuses: ChainStatus[] = [];
          for (const chain of config.spaaza.chains) statuses.push(await chainStatus(client, tables, chain.id, await readSpaazaClock(config, chain, logger), opts.runs));
          process.stdout.write(opts.json ? JSON.stringify({ warehouse: warehouse.displayUrl, schema: config.schema, chains: statuses }) + '\n' : render(statuses));
          setExitCode(statuses.some((s) => s.errors.length > 0) ? 1 : 0);
        } finally {
          client.release();
        }
      });
    });
}

function render(statuses: readonly ChainStatus[]): string {
  const lines: string[] = [];
  for (const s of statuses) {
    const lag = s.watermark === null ? 'never synced' : s.freshnessLagSeconds === null ? 'AHEAD of the clock: see below' : `${formatLag(s.freshnessLagSeconds)} behind`;
    const clock = s.clock.source === 'spaaza' ? `Spaaza's clock ${s.clock.now} (skew ${s.clock.skewSeconds} s${Math.abs(s.clock.skewSeconds ?? 0) > 60 ? ', over 60 s: check this machine\'s clock' : ''})` : `this machine's clock ${s.clock.now} (${s.clock.problem})`;
    lines.push(`chain ${s.chainId}: watermark ${s.watermark ?? 'none'} (${lag}); last full refresh ${s.lastFullRefresh ?? 'never'}`);
    lines.push(`  judged on ${clock}`);
    for (const error of s.errors) lines.push(`  ERROR: ${error}`);
    lines.push(`  ${s.liveVouchers} live vouchers, ${s.deletedVouchers} soft-deleted; ${s.rejectsLast24h} rejects in the last 24 h; ${s.unfinishedRuns} unfinished run(s)`);
    for (const r of s.lastRuns) {
      const window = r.windowStart || r.windowEnd ? ` ${r.windowStart ?? '*'}..${r.windowEnd ?? '*'}` : '';
      lines.push(
        `  #${r.id} ${r.mode} ${r.state}${window}${r.taskId ? ` task ${r.taskId}` : ''}: read ${r.rowsRead}, +${r.inserted} ~${r.updated} !${r.rejected}${r.deleted ? ` -${r.deleted}` : ''}${r.error ? `  ${r.error}` : ''}`,
      );
    }
  }
  return lines.join('\n') + '\n';
}

function formatLag(seconds: number): string {
  if (seconds < 0) return `${seconds} s (within the clock bound)`;
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} days`;
}
