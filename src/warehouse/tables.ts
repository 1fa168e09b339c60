/** Fully qualified warehouse table names; the schema is a validated identifier. */
import { assertSchemaName } from './migrate.js';

export interface WarehouseTables {
  readonly schema: string;
  readonly vouchers: string;
  readonly voucherVersions: string;
  readonly campaigns: string;
  readonly voucherRejects: string;
  readonly syncRuns: string;
  readonly syncState: string;
  readonly warehouseIdentity: string;
  readonly scheduleLeases: string;
}

export function warehouseTables(schema: string): WarehouseTables {
  const q = `"${assertSchemaName(schema)}"`;
  return {
    schema,
    vouchers: `${q}.vouchers`,
    voucherVersions: `${q}.voucher_versions`,
    campaigns: `${q}.campaigns`,
    voucherRejects: `${q}.voucher_rejects`,
    syncRuns: `${q}.sync_runs`,
    syncState: `${q}.sync_state`,
    warehouseIdentity: `${q}.warehouse_identity`,
    scheduleLeases: `${q}.schedule_leases`,
  };
}
