/**
 * voucher_versions, written in the statement that changes `vouchers`: each row the change wrote
 * (a CTE holding it whole, as it now is) becomes a version valid from the export's time, until
 * the next version (the view voucher_history derives valid_to). Versions are never updated:
 * closing the old one in place cost more than the rest of a re-sync's merge. Versions dated after
 * the export that replaces them can only come from a wrong clock reading (an older export
 * replaces a version only then: see upsertVouchers); they never held, and are dropped, looked
 * for only when the chain has a voucher dated after the clock. The same export written twice (a version with that
 * valid_from already) replaces the version's content rather than adding one.
 */
import { CONTENT_COLUMNS } from '../voucher/voucher-table.js';

const VERSION_COLUMNS = [...CONTENT_COLUMNS.map((c) => c.name), 'extra'];

export interface VersionOptions {
  /** The CTE of written rows, with the columns of `vouchers` (default `written`). */
  readonly written?: string;
  /** The parameters holding the chain, the run and the export's time. */
  readonly params?: { readonly chain: string; readonly run: string; readonly exportedAt: string };
  /** Every row is new (the chain's first load): no version can be dated after this export. */
  readonly noneAhead?: boolean;
  /**
   * A CTE of the rows written, with `replaces_ahead` true where the stored version was dated after
   * the clock: only those vouchers' versions are looked for, each by its key, and deleted by their
   * row ids (a join planned a scan, or a hash, of every version: seconds per re-sync at 1,000,000
   * vouchers, even with nothing to delete).
   */
  readonly replacedAhead?: string;
}

/** The CTEs, to follow a `WITH … written AS (…)` list, that version the rows of `written`. */
export function versionWrittenRows(versions: string, options: VersionOptions = {}): string {
  const { written = 'written', params = { chain: '$1', run: '$2', exportedAt: '$3' }, noneAhead = false, replacedAhead } = options;
  const candidates = replacedAhead ? `(SELECT voucher_id FROM ${replacedAhead} WHERE replaces_ahead)` : `(SELECT voucher_id FROM ${written})`;
  const dropped = noneAhead
    ? ''
    : `, never_held AS (
      DELETE FROM ${versions} h
      WHERE h.ctid = ANY (ARRAY(
        SELECT x.ctid FROM ${candidates} c
        CROSS JOIN LATERAL (SELECT ctid FROM ${versions} x
                            WHERE x.chain_id = ${params.chain} AND x.voucher_id = c.voucher_id AND x.valid_from > ${params.exportedAt}::timestamptz OFFSET 0) x))
      RETURNING 1
    )`;
  return `${dropped}, new_versions AS (
      INSERT INTO ${versions} AS h (chain_id, voucher_id, valid_from, ${VERSION_COLUMNS.join(', ')}, deleted, sync_run_id)
      SELECT ${params.chain}, w.voucher_id, w.source_exported_at, ${VERSION_COLUMNS.map((c) => `w.${c}`).join(', ')}, w.deleted_at IS NOT NULL, ${params.run}::bigint FROM ${written} w
      ON CONFLICT (chain_id, voucher_id, valid_from) DO UPDATE SET
        ${[...VERSION_COLUMNS, 'deleted', 'sync_run_id'].map((c) => `${c} = EXCLUDED.${c}`).join(', ')}
      RETURNING 1
    )`;
}
