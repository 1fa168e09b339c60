/**
 * What the warehouse commands share: the schema (--schema, else SPAAZA_SCHEMA, else "spaaza"),
 * the warehouse (DATABASE_URL, else the embedded server), the clock bound (SPAAZA_MAX_CLOCK_SKEW),
 * and the logger. Read here, at the edge.
 */
import { parseDuration } from '../config/index.js';
import { DEFAULTS } from '../defaults.js';
import { ConfigError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { assertSchemaName } from '../warehouse/migrate.js';
import { openWarehouse, type Warehouse } from '../warehouse/warehouse.js';

export interface WarehouseSession {
  readonly warehouse: Warehouse;
  readonly schema: string;
  /** How far a time may be ahead of this host's clock (sync.maxClockSkew's variable). */
  readonly maxClockSkewMs: number;
  readonly logger: Logger;
}

export async function withWarehouse<T>(opts: { schema?: string; verbose?: boolean }, work: (session: WarehouseSession) => Promise<T>): Promise<T> {
  const schema = assertSchemaName(opts.schema ?? process.env.SPAAZA_SCHEMA ?? DEFAULTS.schema);
  const maxClockSkewMs = maxClockSkewFromEnv();
  const logger = createLogger({ level: opts.verbose ? 'debug' : 'info' });
  const warehouse = await openWarehouse({ databaseUrl: process.env.DATABASE_URL, logger });
  try {
    return await work({ warehouse, schema, maxClockSkewMs, logger });
  } finally {
    await warehouse.close();
  }
}

/** SPAAZA_MAX_CLOCK_SKEW, as `sync` reads it (default 15 min). */
export function maxClockSkewFromEnv(): number {
  const text = process.env.SPAAZA_MAX_CLOCK_SKEW;
  if (text === undefined || text.trim() === '') return DEFAULTS.maxClockSkewMs;
  const ms = parseDuration(text.trim());
  if (ms === undefined || ms < 1000) throw new ConfigError('SPAAZA_MAX_CLOCK_SKEW is not a duration of at least 1s.', ['SPAAZA_MAX_CLOCK_SKEW: write it with its unit, e.g. 15m or 1h']);
  return ms;
}
