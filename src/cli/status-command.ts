/** `spaaza-sync status`: per chain, how fresh the warehouse is and how the last runs went. */
import type { Command } from 'commander';
import { warehouseTables } from '../load/tables.js';
import { chainStatus, type ChainStatus } from '../sync/status.js';
import { migrateToLatest } from '../warehouse/migrate.js';
import { withConfig, type ConfigOptions } from './config-session.js';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('per chain: watermark, freshness lag, last full refresh, live vouchers, recent runs with counts, rejects')
    .option('--config <path>', 'configuration file')
    .option('--runs <n>', 'recent runs to show per chain', (v) => Number(v), 5)
    .option('--json', 'print as JSON', false)
    .action(async (opts: ConfigOptions & { runs: number; json: boolean }) => {
      await withConfig(opts, async ({ config, warehouse }) => {
        await migrateToLatest(warehouse.db, config.schema);
        const tables = warehouseTables(config.schema);
        const client = await warehouse.pool.connect();
        try {
          const statuses: ChainStatus[] = [];
          for (const chain of config.spaaza.chains) statuses.push(await chainStatus(client, tables, chain.id, opts.runs));
          process.stdout.write(opts.json ? JSON.stringify({ warehouse: warehouse.displayUrl, schema: config.schema, chains: statuses }) + '\n' : render(statuses));
        } finally {
          client.release();
        }
      });
    });
}

function render(statuses: readonly ChainStatus[]): string {
  const lines: string[] = [];
  for (const s of statuses) {
    const lag = s.freshnessLagSeconds === null ? 'never synced' : s.freshnessLagSeconds < 0 ? formatLag(s.freshnessLagSeconds) : `${formatLag(s.freshnessLagSeconds)} behind`;
    lines.push(`chain ${s.chainId}: watermark ${s.watermark ?? 'none'} (${lag}); last full refresh ${s.lastFullRefresh ?? 'never'}`);
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
  if (seconds < 0) return `${-seconds} s ahead of this machine's clock: check the clock skew with \`spaaza-sync check\`;`.replace(/;$/, '');
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} days`;
}
