/**
 * `voucher_export_ids`, temporary (dropped at COMMIT or ROLLBACK): the id of every row and reject
 * of the whole export, whichever path staged it: what a full refresh compares the warehouse with,
 * and where an id repeating across batches shows.
 */

export const EXPORT_IDS_TABLE = 'voucher_export_ids';

/** `voucher_id`: a row's id; `reject_id`: the canonical id of a reject, which protects its voucher too. */
export function createExportIdsSql(): string {
  return `CREATE TEMP TABLE ${EXPORT_IDS_TABLE} (voucher_id bigint, reject_id bigint) ON COMMIT DROP`;
}
