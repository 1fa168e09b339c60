/**
 * `spaaza-sync schedule`: the long-running daemon. The first SIGTERM/SIGINT stops scheduling,
 * aborts polling, rolls back the window in flight and exits 0 once runs have ended (at most
 * --shutdown-timeout); a second signal exits at once.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { warehouseTables } from '../warehouse/tables.js';
import { freshnessSamples } from '../schedule/freshness.js';
import { createMetrics } from '../schedule/metrics.js';
import { startHealthServer } from '../schedule/health-server.js';
import { SyncDaemon } from '../schedule/daemon.js';
import { duration, port } from './arguments.js';
import { withConfig, type ConfigOptions } from './config-session.js';

interface ScheduleOptions extends ConfigOptions {
  metricsPort?: number;
  metricsHost: string;
  shutdownTimeout: number;
}

export function registerScheduleCommand(program: Command): void {
  program
    .command('schedule')
    .description('run incremental syncs and full refreshes on their cron schedules until stopped; safe to run as several replicas')
    .option('--config <path>', 'configuration file')
    .option('--metrics-port <port>', 'serve /healthz and /metrics (Prometheus) on this port', port)
    .option('--metrics-host <host>', 'address of the metrics listener', '127.0.0.1')
    .option('--shutdown-timeout <duration>', 'how long a stop waits for runs in flight (e.g. 30s)', duration, 30_000)
    .option('--verbose', 'debug logging', false)
    .action(async (opts: ScheduleOptions) => {
      await withConfig(opts, async ({ config, warehouse, logger, signal }) => {
        const metrics = createMetrics({
          freshness: () => freshnessSamples(warehouse.pool, warehouseTables(config.schema), config.spaaza.chains.map((c) => c.id), Date.now(), config.sync.maxClockSkewMs),
        });
        const holder = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
        const daemon = new SyncDaemon({ config, warehouse, logger, metrics, holder });
        await daemon.start();
        const health =
          opts.metricsPort === undefined
            ? null
            : await startHealthServer({
                port: opts.metricsPort,
                host: opts.metricsHost,
                metrics,
                health: async () => {
                  const database = await warehouse.pool.query('SELECT 1').then(
                    () => ({ ok: true }),
                    (error: Error) => ({ ok: false, detail: error.message }),
                  );
                  const scheduler = { ok: daemon.isRunning, ...(daemon.isRunning ? {} : { detail: 'stopped' }) };
                  return { ok: database.ok && scheduler.ok, checks: { scheduler, database } };
                },
              });
        if (health) logger.info(`health and metrics on http://${opts.metricsHost}:${health.port}/healthz and /metrics`);

        await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
        const now = () => {
          logger.error('second signal: exiting at once');
          process.exit(1);
        };
        process.once('SIGINT', now);
        process.once('SIGTERM', now);
        const clean = await daemon.stop(opts.shutdownTimeout);
        await health?.close();
        if (!clean) {
          logger.error(`runs were still going after ${opts.shutdownTimeout} ms; exiting anyway (their windows were not committed and resume next time)`);
          process.exit(1);
        }
        logger.info('schedule stopped');
      });
    });
}
