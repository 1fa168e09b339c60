/** The random id of a warehouse schema (migration 0004), which export task markers carry. */
import type { ClientBase, Pool } from 'pg';
import type { WarehouseTables } from './tables.js';

export async function readWarehouseId(db: ClientBase | Pool, tables: WarehouseTables): Promise<string> {
  const { rows } = await db.query<{ id: string }>(`SELECT id::text AS id FROM ${tables.warehouseIdentity}`);
  if (!rows[0]) throw new Error(`${tables.warehouseIdentity} is empty; run spaaza-sync migrate`);
  return rows[0].id;
}
