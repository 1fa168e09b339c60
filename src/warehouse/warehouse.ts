/**
 * The one way the rest of the code reaches the warehouse: a `pg` pool and a Kysely instance over
 * it, from DATABASE_URL when given, else from an embedded PostgreSQL kept under `.spaaza-sync/`.
 */
import { Kysely } from 'kysely';
import pg from 'pg';
import { redactDatabaseUrl } from '../config/redact.js';
import { WarehouseError } from '../errors.js';
import type { Logger } from '../log.js';
import { startEmbeddedPostgres, type EmbeddedServer } from './embedded-postgres.js';
import { WarehouseDialect } from './migration-lock.js';

export interface Warehouse {
  readonly pool: pg.Pool;
  // The schema's table types arrive with the migrations; until then queries are untyped.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly db: Kysely<any>;
  /** Where the data lives, without any password: safe to print. */
  readonly displayUrl: string;
  /** Set when the warehouse is the embedded server. */
  readonly embedded: EmbeddedServer | null;
  /** Closes the pool, then stops the embedded server if this process started it. */
  close(): Promise<void>;
}

export interface OpenWarehouseOptions {
  /** A PostgreSQL connection string; when absent an embedded server is used. */
  databaseUrl?: string | undefined;
  /** Folder for the embedded server's data; default `.spaaza-sync` in the working directory. */
  embeddedRoot?: string;
  logger: Logger;
  poolSize?: number;
}

export async function openWarehouse(options: OpenWarehouseOptions): Promise<Warehouse> {
  const { logger } = options;
  let embedded: EmbeddedServer | null = null;
  let connectionString = options.databaseUrl;
  if (!connectionString) {
    embedded = await startEmbeddedPostgres(options.embeddedRoot ?? '.spaaza-sync', logger);
    connectionString = embedded.connectionString;
    logger.info(`embedded PostgreSQL ready at ${embedded.displayUrl}`, {
      psql: `PGPASSFILE=${embedded.passFile} psql ${embedded.displayUrl}`,
    });
  }
  const displayUrl = embedded?.displayUrl ?? redactDatabaseUrl(connectionString);

  const pool = new pg.Pool({
    connectionString,
    max: options.poolSize ?? 10,
    application_name: 'spaaza-sync',
    // Never wait forever for a connection, and notice a dead server on idle sockets.
    connectionTimeoutMillis: 30_000,
    keepAlive: true,
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', (error) => logger.warn('warehouse connection lost', { error: error.message }));
  // Nor may a client in use, such as the connection kysely's Migrator holds: without a listener
  // its 'error' event would kill the process, though the query in flight rejects anyway.
  pool.on('connect', (client) => client.on('error', (error) => logger.debug('a warehouse connection failed', { error: error.message })));
  try {
    const client = await pool.connect();
    client.release();
  } catch (cause) {
    await pool.end().catch(() => {});
    if (embedded?.startedHere) await embedded.stop().catch(() => {});
    throw new WarehouseError(
      'warehouse_unreachable',
      `Cannot connect to the warehouse at ${displayUrl}: ${cause instanceof Error ? cause.message : String(cause)}. ` +
        'Check DATABASE_URL (host, port, user, password, database), or unset it to use the embedded PostgreSQL.',
      { retryable: true, cause },
    );
  }
  const db = new Kysely({ dialect: new WarehouseDialect({ pool }) });

  let closed = false;
  return {
    pool,
    db,
    displayUrl,
    embedded,
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy(); // ends the pool, but only once Kysely has used it
      if (!pool.ending) await pool.end();
      if (embedded?.startedHere) await embedded.stop();
    },
  };
}

