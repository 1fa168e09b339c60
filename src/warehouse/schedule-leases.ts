/**
 * `schedule_leases`: one row per schedule tick a replica ran (its schedule name and fire time),
 * so that each tick runs once across replicas: the first INSERT of a key wins.
 */
import type { Pool } from 'pg';
import type { WarehouseTables } from './tables.js';

/** Whether `holder` won the tick `key` (no other replica holds it); the lease expires after `ttlMs` (at least 1 s). */
export async function claimLease(pool: Pool, tables: WarehouseTables, key: string, holder: string, ttlMs: number): Promise<boolean> {
  const { rowCount } = await pool.query(
    `INSERT INTO ${tables.scheduleLeases} (key, holder, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
     ON CONFLICT (key) DO NOTHING`,
    [key, holder, Math.max(ttlMs, 1000)],
  );
  return rowCount === 1;
}

export async function completeLease(pool: Pool, tables: WarehouseTables, key: string, holder: string): Promise<void> {
  await pool.query(`UPDATE ${tables.scheduleLeases} SET completed_at = now() WHERE key = $1 AND holder = $2`, [key, holder]);
}

/** Deletes leases that expired more than `days` ago. */
export async function purgeLeases(pool: Pool, tables: WarehouseTables, days: number): Promise<void> {
  await pool.query(`DELETE FROM ${tables.scheduleLeases} WHERE expires_at < now() - $1 * interval '1 day'`, [days]);
}
