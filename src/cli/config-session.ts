/**
 * What the sync commands share: the configuration (loaded once, here at the edge), the
 * warehouse it names, a logger, and an abort signal tied to SIGINT/SIGTERM.
 */
import { loadConfig, type SyncConfig } from '../config/index.js';
import { createLogger, type Logger } from '../log.js';
import { openWarehouse, type Warehouse } from '../warehouse/warehouse.js';

export interface ConfigSession {
  readonly config: SyncConfig;
  readonly warehouse: Warehouse;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

export interface ConfigOptions {
  readonly config?: string;
  readonly verbose?: boolean;
}

export async function withConfig<T>(opts: ConfigOptions, work: (session: ConfigSession) => Promise<T>): Promise<T> {
  return withConfigOnly(opts, async ({ config, logger, signal }) => {
    // Each chain in flight pins a connection for its whole run; leave room for elections and health.
    const warehouse = await openWarehouse({ databaseUrl: config.databaseUrl ?? undefined, logger, poolSize: Math.max(10, config.schedule.parallelChains + 4) });
    try {
      return await work({ config, warehouse, logger, signal });
    } finally {
      await warehouse.close();
    }
  });
}

/** The configuration, a logger and the signal, without opening the warehouse (`export --out` needs none). */
export async function withConfigOnly<T>(opts: ConfigOptions, work: (session: Omit<ConfigSession, 'warehouse'>) => Promise<T>): Promise<T> {
  const logger = createLogger({ level: opts.verbose ? 'debug' : 'info' });
  const config = await loadConfig({ ...(opts.config ? { configPath: opts.config } : {}), env: process.env, onWarning: (message) => logger.warn(message) });
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    logger.warn(`${signal} received: stopping after rolling back the window in flight`);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    return await work({ config, logger, signal: controller.signal });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
