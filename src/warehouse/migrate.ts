/**
 * Schema migrations: the plain SQL files of `migrations/`, forward-only, applied in name order by
 * kysely's Migrator (which serializes concurrent runs with an advisory lock). Each runs with the
 * warehouse schema as its search path, so migration SQL never names a schema.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Kysely, type Migration, type MigrationProvider, type MigrationResult, Migrator, sql } from 'kysely';
import { ConfigError, WarehouseError } from '../errors.js';
import { MIGRATION_LOCK_NAMESPACE } from './migration-lock.js';

/** The migrations shipped with the package (src/… and dist/… both sit two levels below it). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** A schema name must be a plain lower-case SQL identifier: it is interpolated into SQL. */
export function assertSchemaName(schema: string): string {
  if (!IDENTIFIER.test(schema)) {
    throw new ConfigError(`Invalid warehouse schema name "${schema}".`, [
      'schema: use lower-case letters, digits and underscores, starting with a letter or underscore, at most 63 characters',
    ]);
  }
  return schema;
}

class SqlFileMigrationProvider implements MigrationProvider {
  constructor(
    private readonly dir: string,
    private readonly schema: string,
  ) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await readdir(this.dir)).filter((f) => f.endsWith('.sql')).sort();
    const migrations: Record<string, Migration> = {};
    for (const file of files) {
      const text = await readFile(path.join(this.dir, file), 'utf8');
      migrations[file.replace(/\.sql$/, '')] = {
        up: async (db) => {
          await sql`SET LOCAL search_path TO ${sql.id(this.schema)}`.execute(db);
          await sql.raw(text).execute(db);
        },
      };
    }
    return migrations;
  }
}

export interface MigrateOutcome {
  /** Migrations applied by this call, in order. */
  readonly applied: string[];
  /** Every migration now in the schema. */
  readonly current: string[];
}

/** Creates the schema if needed and applies every pending migration; throws on any failure. */
export async function migrateToLatest(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  db: Kysely<any>,
  schema: string,
  dir: string = MIGRATIONS_DIR,
): Promise<MigrateOutcome> {
  assertSchemaName(schema);
  await createSchema(db, schema);
  const migrator = new Migrator({ db, provider: new SqlFileMigrationProvider(dir, schema), migrationTableSchema: schema });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error) {
    const failed = results.find((r: MigrationResult) => r.status === 'Error');
    throw new WarehouseError(
      'migration_failed',
      `Migrating schema "${schema}" failed${failed ? ` in ${failed.migrationName}` : ''}: ${error instanceof Error ? error.message : String(error)}. Nothing was applied; fix the cause and run \`spaaza-sync migrate\` again.`,
      { cause: error },
    );
  }
  const current = (await migrator.getMigrations()).filter((m) => m.executedAt !== undefined).map((m) => m.name);
  return { applied: results.filter((r) => r.status === 'Success').map((r) => r.migrationName), current };
}

/**
 * CREATE SCHEMA IF NOT EXISTS is not safe against itself: two first runs racing on a fresh
 * schema can both miss it, and one fails on the catalog's unique index. Under a transaction lock
 * of the schema, the second waits and then finds it.
 */
async function createSchema(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  db: Kysely<any>,
  schema: string,
): Promise<void> {
  const exists = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = ${schema}`.execute(db);
  if (exists.rows[0]!.n > 0) return;
  await db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext(${MIGRATION_LOCK_NAMESPACE}), hashtext(${schema}))`.execute(trx);
    await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(trx);
  });
}

/** Applied and pending migrations of a schema, without changing anything. */
export async function migrationStatus(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  db: Kysely<any>,
  schema: string,
  dir: string = MIGRATIONS_DIR,
): Promise<{ applied: string[]; pending: string[] }> {
  assertSchemaName(schema);
  const exists = await sql<{ n: number }>`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = ${schema} AND table_name = 'kysely_migration'`.execute(db);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort().map((f) => f.replace(/\.sql$/, ''));
  if (exists.rows[0]?.n === 0) return { applied: [], pending: files };
  const migrator = new Migrator({ db, provider: new SqlFileMigrationProvider(dir, schema), migrationTableSchema: schema });
  const all = await migrator.getMigrations();
  return { applied: all.filter((m) => m.executedAt !== undefined).map((m) => m.name), pending: all.filter((m) => m.executedAt === undefined).map((m) => m.name) };
}
