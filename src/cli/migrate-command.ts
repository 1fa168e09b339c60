/** `spaaza-sync migrate`: creates or upgrades the warehouse schema. */
import type { Command } from 'commander';
import { migrateToLatest } from '../warehouse/migrate.js';
import { withWarehouse } from './warehouse-session.js';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('create or upgrade the warehouse schema (safe to run any time; applies only what is missing)')
    .option('--schema <name>', 'warehouse schema (default: the configured one: SPAAZA_SCHEMA or schema, else "spaaza")')
    .option('--config <path>', 'configuration file (default: SPAAZA_CONFIG, else ./config/spaaza-sync.json if present)')
    .action(async (opts: { schema?: string; config?: string }) => {
      await withWarehouse(opts, async ({ warehouse, schema }) => {
        const outcome = await migrateToLatest(warehouse.db, schema);
        process.stdout.write(
          outcome.applied.length
            ? `schema "${schema}" at ${warehouse.displayUrl}: applied ${outcome.applied.join(', ')}\n`
            : `schema "${schema}" at ${warehouse.displayUrl} is up to date (${outcome.current.at(-1) ?? 'no migrations'})\n`,
        );
      });
    });
}
