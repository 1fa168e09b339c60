/**
 * node-cron's RunCoordinator backed by PostgreSQL: every replica asks to run a tick, identified
 * by its schedule name and fire time; the first INSERT of that key wins, so each tick runs once
 * in total. A replica that dies mid-run leaves its key behind: the next tick has a new key and
 * another replica takes it, resuming the unfinished windows (DESIGN §2).
 */
import type { RunCoordinator } from 'node-cron';
import type { Pool } from 'pg';
import type { Logger } from '../log.js';

/** Leases this far past their expiry are deleted. */
const PURGE_AFTER = "interval '7 days'";

export class PgRunCoordinator implements RunCoordinator {
  private lastPurge = 0;

  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
    readonly holder: string,
    private readonly logger: Logger,
  ) {}

  async shouldRun(key: string, ttlMs: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO "${this.schema}".schedule_leases (key, holder, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
       ON CONFLICT (key) DO NOTHING`,
      [key, this.holder, Math.max(ttlMs, 1000)],
    );
    const elected = rowCount === 1;
    this.logger.debug(elected ? 'elected to run the tick' : 'another replica runs the tick', { key });
    await this.purge();
    return elected;
  }

  async onComplete(key: string): Promise<void> {
    await this.pool.query(`UPDATE "${this.schema}".schedule_leases SET completed_at = now() WHERE key = $1 AND holder = $2`, [key, this.holder]);
  }

  private async purge(): Promise<void> {
    if (Date.now() - this.lastPurge < 3_600_000) return;
    this.lastPurge = Date.now();
    await this.pool.query(`DELETE FROM "${this.schema}".schedule_leases WHERE expires_at < now() - ${PURGE_AFTER}`);
  }
}
