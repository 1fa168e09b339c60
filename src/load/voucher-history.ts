/**
 * voucher_history, written in the statement that changes `vouchers`: the change's rows (a CTE
 * holding each written row whole, as it now is) close their voucher's current version and add
 * the new one, valid from the export's time. A version dated after the new one (a wrong clock
 * reading stamped it, and an older export replaces it: see upsertVouchers) is closed where it
 * starts: it never held. The same export written twice (a version with that valid_from already)
 * replaces the version's content rather than adding one.
 */
import { CONTENT_COLUMNS } from '../voucher/voucher-table.js';

const VERSION_COLUMNS = [...CONTENT_COLUMNS.map((c) => c.name), 'extra'];

/**
 * The CTEs (to follow a `WITH … written AS (…)` list) that version the rows of `written`, whose
 * columns are those of `vouchers`; `$1` is the chain, `runParam` the run.
 */
export function versionWrittenRows(
  history: string,
  options: {
    /** The CTE of written rows (default `written`). */
    readonly written?: string;
    /** The parameter holding the run's id (default `$2`). */
    readonly runParam?: string;
    /** The rows carry the upsert's `inserted`: those just inserted have no version to close. */
    readonly flagsInserted?: boolean;
    /** Every row is new (the chain's first load): nothing to close at all. */
    readonly allNew?: boolean;
  } = {},
): string {
  const { written = 'written', runParam = '$2', flagsInserted = false, allNew = false } = options;
  const closed = allNew
    ? ''
    : `, closed_versions AS (
      UPDATE ${history} AS h
      SET valid_to = CASE WHEN h.valid_from < w.source_exported_at THEN w.source_exported_at ELSE h.valid_from END
      FROM ${written} w
      WHERE h.chain_id = $1 AND h.voucher_id = w.voucher_id AND h.valid_to IS NULL AND h.valid_from <> w.source_exported_at
        ${flagsInserted ? 'AND NOT w.inserted' : ''}
      RETURNING 1
    )`;
  return `${closed}, new_versions AS (
      INSERT INTO ${history} AS h (chain_id, voucher_id, valid_from, ${VERSION_COLUMNS.join(', ')}, deleted, sync_run_id)
      SELECT $1, w.voucher_id, w.source_exported_at, ${VERSION_COLUMNS.map((c) => `w.${c}`).join(', ')}, w.deleted_at IS NOT NULL, ${runParam}::bigint FROM ${written} w
      ON CONFLICT (chain_id, voucher_id, valid_from) DO UPDATE SET
        ${[...VERSION_COLUMNS, 'deleted', 'sync_run_id'].map((c) => `${c} = EXCLUDED.${c}`).join(', ')}
      RETURNING 1
    )`;
}
