/**
 * Migrations when things go wrong around them: the server lost mid-migration (a clean error, no
 * crash of the process), another schema's slow migration (no wait: the lock is per schema), and
 * many first runs racing on a fresh schema (every one succeeds).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/log.js';
import { SpaazaSyncError } from '../../src/errors.js';
import { migrateToLatest, MIGRATIONS_DIR } from '../../src/warehouse/migrate.js';
import { openWarehouse, type Warehouse } from '../../src/warehouse/warehouse.js';
import { connectionStringOf, openTestWarehouse } from '../support/warehouse.js';

describe('migrations under stress', () => {
  let warehouse: Warehouse;
  let slowDir: string;

  before(async () => {
    warehouse = await openTestWarehouse();
    // One migration that takes its time, marked so that its backend can be found.
    slowDir = await mkdtemp(join(tmpdir(), 'spaaza-sync-slow-migration-'));
    await writeFile(join(slowDir, '0001_slow.sql'), "CREATE TABLE slow_marker (id int); SELECT pg_sleep(4) /* spaaza-sync-slow-migration */;\n");
  });

  after(async () => {
    for (const schema of ['m_lost', 'm_slow', 'm_fast']) await warehouse.pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    const { rows } = await warehouse.pool.query<{ nspname: string }>("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'm_race_%'");
    for (const { nspname } of rows) await warehouse.pool.query(`DROP SCHEMA IF EXISTS ${nspname} CASCADE`);
    await warehouse.close();
    await rm(slowDir, { recursive: true, force: true });
  });

  const terminateSlowMigration = async (): Promise<number> => {
    for (let i = 0; i < 100; i++) {
      const { rows } = await warehouse.pool.query<{ n: number }>(
        "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE query LIKE '%spaaza-sync-slow-migration%' AND pid <> pg_backend_pid()",
      );
      if (rows[0]!.n > 0) return rows[0]!.n;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return 0;
  };

  it('a server connection lost mid-migration is an error of the call, not an unhandled event that kills the process', async () => {
    await warehouse.pool.query('DROP SCHEMA IF EXISTS m_lost CASCADE');
    const own = await openWarehouse({ databaseUrl: connectionStringOf(warehouse), logger: silentLogger });
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const migrating = migrateToLatest(own.db, 'm_lost', slowDir).then(
        () => null,
        (error: unknown) => error,
      );
      assert.equal(await terminateSlowMigration(), 1, 'the slow migration was seen running');
      const error = await migrating;
      assert.ok(error instanceof SpaazaSyncError, `the migration failed with ${String(error)}`);
      assert.equal(error.code, 'migration_failed');
      await new Promise((resolve) => setTimeout(resolve, 200)); // let any late 'error' event fire
      assert.deepEqual(uncaught, [], 'no uncaught exception');
      const { rows } = await warehouse.pool.query("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'm_lost' AND table_name = 'slow_marker'");
      assert.equal(rows[0].n, 0, 'the migration was rolled back');
      // The same pool still works, and migrating again succeeds.
      await migrateToLatest(own.db, 'm_lost');
    } finally {
      process.off('uncaughtException', onUncaught);
      await own.close();
    }
  });

  it("another schema's migration does not wait for a slow one: the lock is per schema", async () => {
    for (const schema of ['m_slow', 'm_fast']) await warehouse.pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    const second = await openWarehouse({ databaseUrl: connectionStringOf(warehouse), logger: silentLogger });
    try {
      let slowDone = false;
      const slow = migrateToLatest(warehouse.db, 'm_slow', slowDir).then(() => (slowDone = true));
      // Wait until the slow migration runs (and so holds its lock).
      for (let i = 0; i < 100; i++) {
        const { rows } = await warehouse.pool.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%spaaza-sync-slow-migration%' AND pid <> pg_backend_pid()");
        if (rows[0].n > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await migrateToLatest(second.db, 'm_fast', MIGRATIONS_DIR);
      assert.equal(slowDone, false, 'm_fast finished while m_slow was still migrating');
      await slow;
    } finally {
      await second.close();
    }
  });

  it('many first runs racing on a fresh schema all succeed, and the schema is migrated once', async () => {
    const racers = await Promise.all(Array.from({ length: 24 }, () => openWarehouse({ databaseUrl: connectionStringOf(warehouse), logger: silentLogger, poolSize: 2 })));
    try {
      for (let round = 0; round < 3; round++) {
        const schema = `m_race_${round}`;
        await warehouse.pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        const outcomes = await Promise.allSettled(racers.map((racer) => migrateToLatest(racer.db, schema)));
        const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
        assert.deepEqual(failed.map((f) => String(f.reason)), [], `round ${round}: every racer succeeds`);
        const applied = outcomes.flatMap((o) => (o.status === 'fulfilled' ? o.value.applied : []));
        const { rows } = await warehouse.pool.query(`SELECT count(*)::int AS n FROM ${schema}.kysely_migration`);
        assert.equal(applied.length, rows[0].n, `round ${round}: each migration was applied by exactly one racer`);
      }
    } finally {
      await Promise.all(racers.map((racer) => racer.close()));
    }
  });
});
