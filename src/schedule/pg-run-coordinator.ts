/**
 * node-cron's RunCoordinator backed by PostgreSQL: every replica asks to run a tick, identified
 * by its schedule name and fire time; the first INSERT of that key wins, so each tick runs once
 * in total. A replica that dies mid-run leaves its key behind: the next tick has a new key and
 * another replica takes it, resuming the unfinished windows (DESIGN §2).
 */
import type { RunCoordinator } from 'node-cron';
import type { Pool } from 'pg';
import type { Logger } from '../log.js';
import { claimLease, completeLease, purgeLeases } from '../warehouse/schedule-leases.js';
import { warehouseTables, type WarehouseTables } from '../warehouse/tables.js';

/** Leases this many days past their expiry are deleted. */
const PURGE_AFTER_DAYS = 7;

export class PgRunCoordinator implements RunCoordinator {
  private lastPurge = 0;
  private readonly tables: WarehouseTables;

  constructor(
    private readonly pool: Pool,
    schema: string,
    readonly holder: string,
    private readonly logger: Logger,
  ) {
    this.tables = warehouseTables(schema);
  }

  async shouldRun(key: string, ttlMs: number): Promise<boolean> {
    const elected = await claimLease(this.pool, this.tables, key, this.holder, ttlMs);
    this.logger.debug(elected ? 'elected to run the tick' : 'another replica runs the tick', { key });
    await this.purge();
    return elected;
  }

  async onComplete(key: string): Promise<void> {
    await completeLease(this.pool, this.tables, key, this.holder);
  }

  private async purge(): Promise<void> {
    if (Date.now() - this.lastPurge < 3_600_000) return;
    this.lastPurge = Date.now();
    await purgeLeases(this.pool, this.tables, PURGE_AFTER_DAYS);
  }
}
