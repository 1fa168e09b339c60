/**
 * Kysely's Migrator serializes runs with the adapter's lock. PostgreSQL's adapter uses one lock id
 * for every database and schema, so migrating one schema blocks every other schema's migration
 * (for up to its 1 h timeout). This adapter keys the lock by the schema being migrated, which
 * the Migrator passes as `lockTableSchema`, and waits a bounded time with a clear error.
 */
import { PostgresAdapter, PostgresDialect, sql, type Kysely, type MigrationLockOptions } from 'kysely';
import { WarehouseError } from '../errors.js';

/** How long a migration waits for another process migrating the same schema. */
export const MIGRATION_LOCK_WAIT_MS = 10 * 60_000;

/** The advisory lock key of a schema's migrations: (namespace, schema), as the chain locks are keyed. */
export const MIGRATION_LOCK_NAMESPACE = 'spaaza-sync migrations';

class SchemaMigrationLockAdapter extends PostgresAdapter {
  override async acquireMigrationLock(db: Kysely<unknown>, options: MigrationLockOptions): Promise<void> {
    const schema = options.lockTableSchema ?? 'public';
    // Session level, on the Migrator's own connection: lock_timeout bounds the wait, then is reset.
    await sql`SELECT set_config('lock_timeout', ${`${MIGRATION_LOCK_WAIT_MS}ms`}, false)`.execute(db);
    try {
      await sql`SELECT pg_advisory_lock(hashtext(${MIGRATION_LOCK_NAMESPACE}), hashtext(${schema}))`.execute(db);
    } catch (error) {
      if ((error as { code?: string }).code !== '55P03') throw error;
      throw new WarehouseError(
        'migration_locked',
        `Another process has been migrating schema "${schema}" for over ${MIGRATION_LOCK_WAIT_MS / 60_000} minutes; nothing was applied. Find it with SELECT pid, application_name, query_start FROM pg_stat_activity WHERE wait_event = 'advisory' OR application_name = 'spaaza-sync', then run spaaza-sync migrate again.`,
        { retryable: true, cause: error },
      );
    } finally {
      await sql`RESET lock_timeout`.execute(db); // back to the server's or role's setting
    }
  }

  override async releaseMigrationLock(db: Kysely<unknown>, options: MigrationLockOptions): Promise<void> {
    await sql`SELECT pg_advisory_unlock(hashtext(${MIGRATION_LOCK_NAMESPACE}), hashtext(${options.lockTableSchema ?? 'public'}))`.execute(db);
  }
}

/** PostgreSQL, with migration locks per schema. */
export class WarehouseDialect extends PostgresDialect {
  override createAdapter(): PostgresAdapter {
    return new SchemaMigrationLockAdapter();
  }
}
