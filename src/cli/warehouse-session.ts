/**
 * What the warehouse commands share: the schema (--schema, else SPAAZA_SCHEMA, else "spaaza"),
 * the warehouse (DATABASE_URL, else the embedded server), and the logger. Read here, at the edge.
 */
import { DEFAULTS } from '../defaults.js';
import { createLogger, type Logger } from '../log.js';
import { assertSchemaName } from '../warehouse/migrate.js';
import { openWarehouse, type Warehouse } from '../warehouse/warehouse.js';

export interface WarehouseSession {
  readonly warehouse: Warehouse;
  readonly schema: string;
  readonly logger: Logger;
}

export async function withWarehouse<T>(opts: { schema?: string; verbose?: boolean }, work: (session: WarehouseSession) => Promise<T>): Promise<T> {
  const schema = assertSchemaName(opts.schema ?? process.env.SPAAZA_SCHEMA ?? DEFAULTS.schema);
  const logger = createLogger({ level: opts.verbose ? 'debug' : 'info' });
  const warehouse = await openWarehouse({ databaseUrl: process.env.DATABASE_URL, logger });
  try {
    return await work({ warehouse, schema, logger });
  } finally {
    await warehouse.close();
  }
}
