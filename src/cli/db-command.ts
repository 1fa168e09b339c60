/**
 * `spaaza-sync db`: opens the configured warehouse (else the embedded PostgreSQL), prints how
 * to connect to it, and keeps an embedded server running until interrupted so that psql or a BI
 * tool can read it.
 */
import type { Command } from 'commander';
import { untilSignal } from './signals.js';
import { withWarehouse } from './warehouse-session.js';

export function registerDbCommand(program: Command): void {
  program
    .command('db')
    .description('open the warehouse and print its connection string; keeps an embedded server up until Ctrl-C')
    .option('--check', 'only check that the warehouse answers, then exit', false)
    .option('--config <path>', 'configuration file (default: SPAAZA_CONFIG, else ./config/spaaza-sync.json if present)')
    .action(async (opts: { check: boolean; config?: string }) => {
      await withWarehouse({ ...opts, quiet: true }, async ({ warehouse }) => {
        const { rows } = await warehouse.pool.query<{ version: string }>('SELECT version()');
        process.stdout.write(`warehouse: ${warehouse.displayUrl}\nserver: ${rows[0]?.version}\n`);
        if (warehouse.embedded) {
          process.stdout.write(`password file: ${warehouse.embedded.passFile}\npsql: PGPASSFILE=${warehouse.embedded.passFile} psql ${warehouse.displayUrl}\n`);
        }
        if (!opts.check && warehouse.embedded?.startedHere) {
          process.stdout.write('The embedded server runs until you press Ctrl-C.\n');
          await untilSignal();
        }
      });
    });
}
