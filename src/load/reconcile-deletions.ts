/**
 * Deletions, which only a full refresh can see (Spaaza exports never contain deleted vouchers):
 * soft-delete the chain's live vouchers that a complete unfiltered export did not contain. Runs
 * inside the window's transaction, after the upsert, against the export's ids.
 *
 * Safety: only a complete export deletes; only rows whose version predates the export (so
 * vouchers loaded by a later export are safe; a version after Spaaza's clock is no version at
 * all); and a guard refuses to delete more than
 * `maxDeleteRatio` of the live rows (or anything at all on a 0-row export) unless allowed.
 */
import type { ClientBase } from 'pg';
import { EXPORT_IDS_TABLE } from './export-ids.js';
import { versionWrittenRows } from './voucher-history.js';
import type { WarehouseTables } from '../warehouse/tables.js';

export interface ReconcileOptions {
  readonly maxDeleteRatio: number;
  readonly allowMassDelete: boolean;
  /** Evaluated after the whole body was read: byte count, parser end, rejects with ids. */
  readonly isComplete: () => boolean;
}

export interface ReconcileParams {
  readonly chainId: number;
  /** The run that deletes: voucher_history's version of each deletion names it. */
  readonly syncRunId: number;
  readonly exportedAt: Date;
  /** Versions after this (Spaaza's clock) are wrong: such rows count as older than any export. */
  readonly validUntil: Date;
  readonly rowsInExport: number;
}

export interface ReconcileResult {
  readonly liveBefore: number;
  readonly liveAfter: number;
  readonly deleted: number;
  /** The guard tripped: nothing was deleted although the export says some should be. */
  readonly refused: boolean;
  /** Why nothing was deleted, when that is the case. */
  readonly skippedBecause: 'incomplete' | 'guard' | null;
  /** How many the export says should be deleted. */
  readonly candidates: number;
}

export async function reconcileDeletions(
  client: ClientBase,
  tables: WarehouseTables,
  params: ReconcileParams,
  options: ReconcileOptions,
): Promise<ReconcileResult> {
  // Seen: every row of the export, and every reject whose id could be read. NOT EXISTS plans as a
  // hash anti-join; NOT IN over a million ids would not.
  const unseen = `
    FROM ${tables.vouchers} v
    WHERE v.chain_id = $1 AND v.deleted_at IS NULL AND (v.source_exported_at < $2 OR v.source_exported_at > $3::timestamptz)
      AND NOT EXISTS (SELECT 1 FROM ${EXPORT_IDS_TABLE} s WHERE s.voucher_id = v.voucher_id)
      AND NOT EXISTS (SELECT 1 FROM ${EXPORT_IDS_TABLE} s WHERE s.reject_id = v.voucher_id)`;
  // The vouchers just merged have no statistics yet, so the planner may expect one live row and
  // pick a nested loop over the export's ids: quadratic. Hash anti-joins are right at any size.
  await client.query('SET LOCAL enable_nestloop = off');
  try {
    return await reconcile(client, tables, params, options, unseen);
  } finally {
    await client.query('SET LOCAL enable_nestloop TO DEFAULT').catch(() => {});
  }
}

async function reconcile(
  client: ClientBase,
  tables: WarehouseTables,
  params: ReconcileParams,
  options: ReconcileOptions,
  unseen: string,
): Promise<ReconcileResult> {
  const live = await count(client, `SELECT count(*) AS n FROM ${tables.vouchers} WHERE chain_id = $1 AND deleted_at IS NULL`, [params.chainId]);
  const candidates = await count(client, `SELECT count(*) AS n ${unseen}`, [params.chainId, params.exportedAt, params.validUntil]);
  const keep = (skippedBecause: ReconcileResult['skippedBecause'], refused: boolean): ReconcileResult => ({
    liveBefore: live,
    liveAfter: live,
    deleted: 0,
    refused,
    skippedBecause,
    candidates,
  });

  if (!options.isComplete()) return keep('incomplete', false);
  if (candidates === 0) return keep(null, false);
  const tooMany = params.rowsInExport === 0 || candidates > options.maxDeleteRatio * live;
  if (tooMany && !options.allowMassDelete) return keep('guard', true);

  const { rows } = await client.query<{ n: string }>(
    // The deletion is a version of the row as of this export, so no older export can revive it;
    // voucher_versions records it as one, in the same statement.
    `WITH deleted AS (
       UPDATE ${tables.vouchers} AS t SET deleted_at = now(), updated_at = now(), source_exported_at = $2
       WHERE (t.chain_id, t.voucher_id) IN (SELECT v.chain_id, v.voucher_id ${unseen})
       RETURNING t.*
     )${versionWrittenRows(tables.voucherVersions, { written: 'deleted', params: { chain: '$1', run: '$4', exportedAt: '$2' } })}
     SELECT count(*) AS n FROM deleted`,
    [params.chainId, params.exportedAt, params.validUntil, params.syncRunId],
  );
  const deleted = Number(rows[0]!.n);
  return { liveBefore: live, liveAfter: live - deleted, deleted, refused: false, skippedBecause: null, candidates };
}

async function count(client: ClientBase, query: string, values: unknown[]): Promise<number> {
  const { rows } = await client.query<{ n: string }>(query, values);
  return Number(rows[0]!.n);
}
