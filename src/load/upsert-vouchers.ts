/**
 * The upsert of a batch: staged rows (the last line of each id wins) into `vouchers`. A row
 * is written only when its export is at least as new as the stored one and some content column,
 * `extra` or `deleted_at` differs: loading the same export twice writes nothing, and an older
 * export never overwrites a newer one. Columns the file does not have keep their stored values.
 *
 * Two shortcuts, each taken only when it cannot change the outcome: a batch whose ids are known
 * to be distinct skips the deduplicating sort, and a chain with no rows at all (its first load,
 * under the chain's lock) is a plain INSERT, without the conflict check of an upsert.
 */
import type { ClientBase } from 'pg';
import { CONTENT_COLUMNS } from '../transform/voucher-table.js';
import { STAGING_TABLE } from './staging.js';

export interface UpsertCounts {
  readonly inserted: number;
  readonly updated: number;
  /** Distinct voucher ids among the staged rows. */
  readonly distinct: number;
}

export async function upsertVouchers(
  client: ClientBase,
  table: string,
  params: { chainId: number; syncRunId: number; exportedAt: Date; present: ReadonlySet<string> },
  shortcuts: { idsDistinct: boolean; chainEmpty: boolean } = { idsDistinct: false, chainEmpty: false },
): Promise<UpsertCounts> {
  const columns = CONTENT_COLUMNS.filter((c) => params.present.has(c.name)).map((c) => c.name);
  const assign = columns.map((c) => `${c} = EXCLUDED.${c}`);
  const stored = [...columns.map((c) => `v.${c}`), 'v.extra', 'v.deleted_at'];
  const incoming = [...columns.map((c) => `EXCLUDED.${c}`), 'EXCLUDED.extra', 'NULL::timestamptz'];
  const upsertClause = `ON CONFLICT (chain_id, voucher_id) DO UPDATE SET
        ${[...assign, 'extra = EXCLUDED.extra', 'last_seen_run_id = EXCLUDED.last_seen_run_id', 'source_exported_at = EXCLUDED.source_exported_at', 'updated_at = now()', 'deleted_at = NULL'].join(',\n        ')}
      WHERE v.source_exported_at <= EXCLUDED.source_exported_at
        AND (${stored.join(', ')}) IS DISTINCT FROM (${incoming.join(', ')})
      RETURNING (xmax = 0) AS inserted`;
  const query = `
    WITH src AS (
      ${shortcuts.idsDistinct ? `SELECT * FROM ${STAGING_TABLE} WHERE kind = 'r'` : `SELECT DISTINCT ON (voucher_id) * FROM ${STAGING_TABLE} WHERE kind = 'r' ORDER BY voucher_id, line DESC`}
    ), written AS (
      INSERT INTO ${table} AS v (chain_id, voucher_id, ${[...columns, 'extra', 'first_seen_run_id', 'last_seen_run_id', 'source_exported_at', 'updated_at', 'deleted_at'].join(', ')})
      SELECT $1, voucher_id, ${[...columns, "coalesce(extra, '{}'::jsonb)", '$2', '$2', '$3', 'now()', 'NULL'].join(', ')} FROM src
      ${shortcuts.chainEmpty ? 'RETURNING true AS inserted' : upsertClause}
    )
    SELECT count(*) FILTER (WHERE inserted) AS inserted,
           count(*) FILTER (WHERE NOT inserted) AS updated,
           (SELECT count(*) FROM ${shortcuts.idsDistinct ? `${STAGING_TABLE} WHERE kind = 'r'` : 'src'}) AS distinct
    FROM written`;
  const { rows } = await client.query<{ inserted: string; updated: string; distinct: string }>(query, [params.chainId, params.syncRunId, params.exportedAt]);
  const row = rows[0]!;
  return { inserted: Number(row.inserted), updated: Number(row.updated), distinct: Number(row.distinct) };
}

/** Whether voucher id `a` is greater than `b`; both canonical integers as parseInteger writes them. */
export function isAfterId(a: string, b: string): boolean {
  const aNegative = a.startsWith('-');
  if (aNegative !== b.startsWith('-')) return !aNegative;
  const greaterMagnitude = a.length !== b.length ? a.length > b.length : a > b;
  return a !== b && greaterMagnitude !== aNegative;
}
