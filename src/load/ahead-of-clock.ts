/**
 * What a wrong clock reading (of an older version, or a hand-made load) may have left in a
 * chain's bookkeeping and rows: a watermark, a last full refresh or row versions after Spaaza's
 * now. None can be right, since nothing is exported from the future; each is an error that
 * `status`, `check` and `/metrics` report, and `spaaza-sync reset` repairs.
 */
import type { ClientBase, Pool } from 'pg';
import { VOUCHERS_STREAM } from '../warehouse/sync-state.js';
import type { WarehouseTables } from '../warehouse/tables.js';

export interface AheadOfClock {
  /** The watermark, when it is after the limit. */
  readonly watermark: Date | null;
  /** The last full refresh, when it is after the limit. */
  readonly lastFullRefresh: Date | null;
  /** Vouchers (live or soft-deleted) whose version is after the limit, and the newest of those versions. */
  readonly rows: number;
  readonly latestVersion: Date | null;
}

export function nothingAhead(ahead: AheadOfClock): boolean {
  return ahead.watermark === null && ahead.lastFullRefresh === null && ahead.rows === 0;
}

/** Everything of `chainId` dated after `limit`; the versions by the BRIN index on them (vouchers_version_brin), which skips every range older than the limit. */
export async function aheadOfClock(db: ClientBase | Pool, tables: WarehouseTables, chainId: number, limit: Date, stream = VOUCHERS_STREAM): Promise<AheadOfClock> {
  const { rows } = await db.query<{ watermark: Date | null; last_full_refresh_at: Date | null; rows: string; latest: Date | null }>(
    `SELECT (SELECT watermark FROM ${tables.syncState} WHERE chain_id = $1 AND stream = $3 AND watermark > $2) AS watermark,
            (SELECT last_full_refresh_at FROM ${tables.syncState} WHERE chain_id = $1 AND stream = $3 AND last_full_refresh_at > $2) AS last_full_refresh_at,
            v.rows, v.latest
     FROM (SELECT count(*) AS rows, max(source_exported_at) AS latest FROM ${tables.vouchers} WHERE chain_id = $1 AND source_exported_at > $2) v`,
    [chainId, limit, stream],
  );
  const r = rows[0]!;
  const count = Number(r.rows);
  return { watermark: r.watermark, lastFullRefresh: r.last_full_refresh_at, rows: count, latestVersion: count > 0 ? r.latest : null };
}

/** One sentence per problem, each with its repair. */
export function describeAheadOfClock(ahead: AheadOfClock, chainId: number, clock: string): string[] {
  const iso = (d: Date) => d.toISOString().replace(/\.000Z$/, 'Z');
  const repair = `repair: spaaza-sync reset --chain ${chainId} --watermark <the last instant you trust>`;
  const problems: string[] = [];
  if (ahead.watermark) problems.push(`the watermark ${iso(ahead.watermark)} is after ${clock}: no incremental run can plan a window, so the chain looks fresh while nothing is synced; ${repair}`);
  if (ahead.rows > 0) {
    problems.push(`${ahead.rows} voucher row(s) carry a version after ${clock} (up to ${iso(ahead.latestVersion!)}): set by a wrong clock reading; the next export of each replaces it, or ${repair}`);
  }
  if (ahead.lastFullRefresh) problems.push(`the last full refresh is dated ${iso(ahead.lastFullRefresh)}, after ${clock}; ${repair}`);
  return problems;
}
