/**
 * The warehouse for integration tests: DATABASE_URL when set, else the embedded PostgreSQL under
 * `.spaaza-sync/` (reused across test files). Each test works in a schema of its own, migrated
 * fresh, dropped when the test passes and kept for inspection when it fails.
 */
import { createHash } from 'node:crypto';
import type { TestContext } from 'node:test';
import { silentLogger } from '../../src/log.js';
import { migrateToLatest } from '../../src/warehouse/migrate.js';
import { openWarehouse, type Warehouse } from '../../src/warehouse/warehouse.js';

export function openTestWarehouse(): Promise<Warehouse> {
  return openWarehouse({ databaseUrl: process.env.DATABASE_URL, logger: silentLogger });
}

/** A connection string a child process can use to reach the same warehouse. */
export function connectionStringOf(warehouse: Warehouse): string {
  return warehouse.embedded?.connectionString ?? process.env.DATABASE_URL!;
}

/** Runs `work` in a freshly migrated schema named after the test; drops it if `work` succeeds. */
export async function withSchema<T>(warehouse: Warehouse, t: TestContext, work: (schema: string) => Promise<T>): Promise<T> {
  const schema = `t_${createHash('sha1').update(t.fullName ?? t.name).digest('hex').slice(0, 16)}`;
  await warehouse.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await migrateToLatest(warehouse.db, schema);
  const result = await work(schema);
  await warehouse.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  return result;
}

/** A fingerprint of a table's whole content, to prove that a failure changed nothing. */
export async function fingerprint(warehouse: Warehouse, table: string): Promise<string> {
  const { rows } = await warehouse.pool.query<{ md5: string | null; n: string }>(
    `SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) AS md5, count(*) AS n FROM ${table} t`,
  );
  return `${rows[0]!.n}:${rows[0]!.md5 ?? ''}`;
}
