/**
 * The upsert of a batch: staged rows (the last line of each id wins) into `vouchers`. A row
 * is written only when its export is at least as new as the stored one and some content column,
 * `extra` or `deleted_at` differs: loading the same export twice writes nothing, and an older
 * export never overwrites a newer one. Columns the file does not have keep their stored values.
 * A stored version after `validUntil` (Spaaza's clock) cannot be right, since no export comes from
 * the future: a wrong clock reading of an older version set it, and any export replaces it.
 * Every row written is versioned in voucher_versions by the same statement (voucher-history.ts).
 *
 * Two shortcuts, each taken only when it cannot change the outcome: a batch whose ids are known
 * to be distinct skips the deduplicating sort, and a chain with no rows at all (its first load,
 * under the chain's lock) is a plain INSERT, without the conflict check of an upsert.
 */
import type { ClientBase } from 'pg';
import type { StagedRows } from '../voucher/staged-export.js';
import { CONTENT_COLUMNS } from '../voucher/voucher-table.js';
import type { WarehouseTables } from '../warehouse/tables.js';
import { versionWrittenRows } from './voucher-history.js';

export interface UpsertCounts {
  readonly inserted: number;
  readonly updated: number;
  /** Distinct voucher ids among the staged rows. */
  readonly distinct: number;
  /** With `detail`: the written rows by status before and after (`from` null: new), and the soft-deleted ones revived. */
  readonly changes?: readonly StatusChange[];
  readonly revived?: number;
}

export interface StatusChange {
  readonly from: string | null;
  readonly to: string | null;
  readonly count: number;
}

export async function upsertVouchers(
  client: ClientBase,
  tables: Pick<WarehouseTables, 'vouchers' | 'voucherVersions'>,
  params: { chainId: number; syncRunId: number; exportedAt: Date; validUntil: Date; present: ReadonlySet<string> },
  shortcuts: { idsDistinct: boolean; chainEmpty: boolean },
  detail: boolean,
  staged: StagedRows,
): Promise<UpsertCounts> {
  const table = tables.vouchers;
  const columns = CONTENT_COLUMNS.filter((c) => params.present.has(c.name)).map((c) => c.name);
  const assign = columns.map((c) => `${c} = EXCLUDED.${c}`);
  const stored = [...columns.map((c) => `v.${c}`), 'v.extra', 'v.deleted_at'];
  const incoming = [...columns.map((c) => `EXCLUDED.${c}`), 'EXCLUDED.extra', 'NULL::timestamptz'];
  const upsertClause = `ON CONFLICT (chain_id, voucher_id) DO UPDATE SET
        ${[...assign, 'extra = EXCLUDED.extra', 'last_seen_run_id = EXCLUDED.last_seen_run_id', 'source_exported_at = EXCLUDED.source_exported_at', 'updated_at = now()', 'deleted_at = NULL'].join(',\n        ')}
      WHERE (v.source_exported_at <= EXCLUDED.source_exported_at
             AND (${stored.join(', ')}) IS DISTINCT FROM (${incoming.join(', ')}))
         OR v.source_exported_at > $4::timestamptz
      RETURNING (xmax = 0) AS inserted, *`;
  // Each written row whole, as it now is: the new version voucher_history records.
  const returning = shortcuts.chainEmpty ? 'RETURNING true AS inserted, *' : upsertClause;
  // Every part of one statement sees the table as it was before it: joined with what the upsert
  // wrote, `vouchers` still gives each written row's old status and deletion (a dry run's report).
  const distinct = `(SELECT count(*) FROM ${shortcuts.idsDistinct ? `(${staged.rows}) s` : 'src'})`;
  const summary = detail
    ? `SELECT w.inserted, o.status AS before_status, w.status AS after_status, coalesce(o.deleted_at IS NOT NULL, false) AS revived, count(*) AS n,
              ${distinct} AS distinct
       FROM written w LEFT JOIN ${table} o ON o.chain_id = $1 AND o.voucher_id = w.voucher_id AND NOT w.inserted
       GROUP BY 1, 2, 3, 4`
    : `SELECT count(*) FILTER (WHERE inserted) AS inserted,
           count(*) FILTER (WHERE NOT inserted) AS updated,
           ${distinct} AS distinct
    FROM written`;
  const query = `
    WITH src AS (
      ${shortcuts.idsDistinct ? staged.rows : `SELECT DISTINCT ON (voucher_id) * FROM (${staged.rows}) s ORDER BY voucher_id, line DESC`}
    )${shortcuts.chainEmpty ? '' : `, fresh AS (${changedRows(table, columns)})`}, written AS (
      INSERT INTO ${table} AS v (chain_id, voucher_id, ${[...columns, 'extra', 'first_seen_run_id', 'last_seen_run_id', 'source_exported_at', 'updated_at', 'deleted_at'].join(', ')})
      SELECT $1, voucher_id, ${[...columns, "coalesce(extra, '{}'::jsonb)", '$2', '$2', '$3', 'now()', 'NULL'].join(', ')} FROM ${shortcuts.chainEmpty ? 'src' : 'fresh'}
      ${returning}
    )${versionWrittenRows(tables.voucherVersions, shortcuts.chainEmpty ? { noneAhead: true } : { replacedAhead: 'fresh' })}
    ${summary}`;
  const values = [params.chainId, params.syncRunId, params.exportedAt, ...(shortcuts.chainEmpty ? [] : [params.validUntil])];
  if (detail) return detailedCounts(await client.query(query, values), client, shortcuts, staged);
  const { rows } = await client.query<{ inserted: string; updated: string; distinct: string }>(query, values);
  const row = rows[0]!;
  return { inserted: Number(row.inserted), updated: Number(row.updated), distinct: Number(row.distinct) };
}

/**
 * The rows the upsert would write, found by a join before it: ON CONFLICT locks every row it
 * finds (a WAL record, and a page written, per row) before its WHERE can say the row is
 * unchanged, so an unchanged export would rewrite every page of the table. Under the chain's lock
 * nothing else writes these rows: the join sees what the upsert would, whose own WHERE stays.
 * The join probes the primary key row by row (a LATERAL the planner cannot flatten): the freshly
 * loaded table may have no statistics yet, and a hash join over a chain's whole table, planned on
 * a guess, spilled to disk; probes cost the same per row at any size and need no memory.
 */
function changedRows(table: string, columns: readonly string[]): string {
  const stored = [...columns.map((c) => `v.${c}`), 'v.extra', 'v.deleted_at'];
  const incoming = [...columns.map((c) => `s.${c}`), "coalesce(s.extra, '{}'::jsonb)", 'NULL::timestamptz'];
  // replaces_ahead: the stored version is dated after the clock (voucher_versions drops it).
  return `SELECT s.*, coalesce(v.source_exported_at > $4::timestamptz, false) AS replaces_ahead
      FROM src s LEFT JOIN LATERAL (SELECT * FROM ${table} v WHERE v.chain_id = $1 AND v.voucher_id = s.voucher_id OFFSET 0) v ON true
      WHERE v.voucher_id IS NULL
         OR (v.source_exported_at <= $3::timestamptz AND (${stored.join(', ')}) IS DISTINCT FROM (${incoming.join(', ')}))
         OR v.source_exported_at > $4::timestamptz`;
}

async function detailedCounts(
  result: { rows: { inserted: boolean; before_status: string | null; after_status: string | null; revived: boolean; n: string; distinct: string }[] },
  client: ClientBase,
  shortcuts: { idsDistinct: boolean },
  staged: StagedRows,
): Promise<UpsertCounts> {
  const { rows } = result;
  let distinct = rows[0] ? Number(rows[0].distinct) : null;
  // Nothing written: no group row carries the distinct count, so it is asked for separately.
  if (distinct === null) {
    const counted = await client.query<{ n: string }>(`SELECT count(${shortcuts.idsDistinct ? '*' : 'DISTINCT voucher_id'}) AS n FROM (${staged.rows}) s`);
    distinct = Number(counted.rows[0]!.n);
  }
  const changes = new Map<string, StatusChange>();
  let inserted = 0;
  let updated = 0;
  let revived = 0;
  for (const r of rows) {
    const n = Number(r.n);
    if (r.inserted) inserted += n;
    else updated += n;
    if (r.revived) revived += n;
    const key = `${r.before_status}\u0000${r.after_status}`;
    changes.set(key, { from: r.before_status, to: r.after_status, count: (changes.get(key)?.count ?? 0) + n });
  }
  return { inserted, updated, distinct, changes: [...changes.values()], revived };
}
