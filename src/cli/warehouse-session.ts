/**
 * What the warehouse-only commands (migrate, db, load-file) share with every other command: the
 * one validated configuration (`--config`, the config file, then the environment), of which they
 * need only the warehouse side; `--schema` may override its schema. Read here, at the edge.
 */
import { loadWarehouseConfig, type WarehouseConfig } from '../config/index.js';
import { createLogger, type Logger } from '../log.js';
import { assertSchemaName } from '../warehouse/migrate.js';
import { openWarehouse, type Warehouse } from '../warehouse/warehouse.js';

export interface WarehouseSession {
  readonly config: WarehouseConfig;
  readonly warehouse: Warehouse;
  /** The configured schema, or --schema. */
  readonly schema: string;
  readonly logger: Logger;
}

export interface WarehouseOptions {
  readonly config?: string;
  readonly schema?: string;
  readonly verbose?: boolean;
  /** Log warnings only (the `db` command prints its own lines). */
  readonly quiet?: boolean;
}

/** Runs `work` with the configured warehouse open; `loaded` when the command read the configuration already. */
export async function withWarehouse<T>(opts: WarehouseOptions, work: (session: WarehouseSession) => Promise<T>, loaded?: Omit<WarehouseSession, 'warehouse'>): Promise<T> {
  const session = loaded ?? (await warehouseConfig(opts, opts.quiet ? 'warn' : 'info'));
  const warehouse = await openWarehouse({ databaseUrl: session.config.databaseUrl ?? undefined, logger: session.logger });
  try {
    return await work({ ...session, warehouse });
  } finally {
    await warehouse.close();
  }
}

/** The configuration alone, for checks a command makes before it opens the warehouse. */
export async function warehouseConfig(opts: WarehouseOptions, level: 'info' | 'warn' = 'info'): Promise<Omit<WarehouseSession, 'warehouse'>> {
  const logger = createLogger({ level: opts.verbose ? 'debug' : level });
  const config = await loadWarehouseConfig({ ...(opts.config ? { configPath: opts.config } : {}), env: process.env, onWarning: (message) => logger.warn(message) });
  return { config, schema: assertSchemaName(opts.schema ?? config.schema), logger };
}
