// The queries whose latency the warehouse's indexes are for: the example queries of README.md's
// "The warehouse schema", each analyst view computed whole, and the bookkeeping queries of
// `status` that read `vouchers`. The benchmark times them with the current indexes and with the
// index set of before the fast load path; any other tool may reuse the list.
import type { ClientBase } from 'pg';
import { aheadOfClock } from '../src/load/ahead-of-clock.js';
import { warehouseTables } from '../src/warehouse/tables.js';

export interface AnalystQuery {
  readonly name: string;
  /** The SQL that runs (for EXPLAIN and the report), or null when a function of spaaza-sync runs it. */
  readonly sql: string | null;
  readonly run: (db: ClientBase) => Promise<unknown>;
}

const sqlQuery = (name: string, sql: string): AnalystQuery => ({ name, sql, run: (db) => db.query(sql) });

/**
 * Every view's full output, counted on the server (streaming its rows to a client would time the
 * client). `count(v.*)`, not `count(*)`: the planner drops the unused output columns of a subquery
 * even under OFFSET 0, and `count(*)` of vouchers_current becomes an index-only scan that computes
 * none of its columns; the whole-row reference makes it compute them all.
 */
const wholeView = (schema: string, view: string) => sqlQuery(`${view}, whole view`, `SELECT count(v.*) FROM (SELECT * FROM ${schema}.${view} OFFSET 0) v`);

/** `limit`: the clock aheadOfClock judges against (the simulator's now, as `status` would read Spaaza's). */
export function analystQueries(schema: string, chainId: number, limit: Date): AnalystQuery[] {
  const tables = warehouseTables(schema);
  return [
    // README.md, "The warehouse schema", the three example queries (schema and chain substituted).
    sqlQuery(
      'README: redemption by campaign',
      `SELECT campaign_title, vouchers_issued, vouchers_redeemed, redemption_rate, amount_outstanding
FROM ${schema}.campaign_redemption WHERE chain_id = ${chainId} ORDER BY redemption_rate DESC NULLS LAST`,
    ),
    sqlQuery(
      'README: open, expiring in 7 days',
      `SELECT campaign_title, count(*) AS expiring, sum(amount_remaining) AS value
FROM ${schema}.vouchers_current
WHERE chain_id = ${chainId} AND NOT is_redeemed AND days_to_expiry BETWEEN 0 AND 6
GROUP BY campaign_title ORDER BY expiring DESC`,
    ),
    sqlQuery(
      'README: issued vs redeemed per week',
      `SELECT date_trunc('week', day) AS week, sum(issued) AS issued, sum(redeemed) AS redeemed
FROM ${schema}.voucher_daily WHERE chain_id = ${chainId} AND day >= current_date - 90
GROUP BY 1 ORDER BY 1`,
    ),
    wholeView(schema, 'vouchers_current'),
    wholeView(schema, 'campaign_redemption'),
    wholeView(schema, 'voucher_daily'),
    // src/sync/status.ts, chainStatus: the live and deleted counts (copied: the query is not exported).
    sqlQuery(
      'status: live and deleted counts',
      `SELECT count(*) FILTER (WHERE deleted_at IS NULL) AS live, count(*) FILTER (WHERE deleted_at IS NOT NULL) AS deleted FROM ${tables.vouchers} WHERE chain_id = ${chainId}`,
    ),
    { name: 'status: aheadOfClock', sql: null, run: (db) => aheadOfClock(db, tables, chainId, limit) },
  ];
}
