/**
 * `spaaza-sync db`: opens the warehouse (DATABASE_URL, else the embedded PostgreSQL), prints how
 * to connect to it, and keeps an embedded server running until interrupted so that psql or a BI
 * tool can read it.
 */
import type { Command } from 'commander';
import { createLogger } from '../log.js';
import { openWarehouse } from '../warehouse/warehouse.js';
import { untilSignal } from './signals.js';

export function registerDbCommand(program: Command): void {
  program
    .command('db')
    .description('open the warehouse and print its connection string; keeps an embedded server up until Ctrl-C')
    .option('--check', 'only check that the warehouse answers, then exit', false)
    .action(async (opts: { check: boolean }) => {
      const warehouse = await openWarehouse({ databaseUrl: process.env.DATABASE_URL, logger: createLogger({ level: 'warn' }) });
      try {
        const { rows } = await warehouse.pool.query<{ version: string }>('SELECT version()');
        process.stdout.write(`warehouse: ${warehouse.displayUrl}\nserver: ${rows[0]?.version}\n`);
        if (warehouse.embedded) {
          process.stdout.write(`password file: ${warehouse.embedded.passFile}\npsql: PGPASSFILE=${warehouse.embedded.passFile} psql ${warehouse.displayUrl}\n`);
        }
        if (!opts.check && warehouse.embedded?.startedHere) {
          process.stdout.write('The embedded server runs until you press Ctrl-C.\n');
          await untilSignal();
        }
      } finally {
        await warehouse.close();
      }
    });
}
