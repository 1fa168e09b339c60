/**
 * The reference path's staging table, temporary (dropped at COMMIT or ROLLBACK): `voucher_staging`
 * holds one batch of transformed rows and rejects at a time, as COPY text lines written here: COPY
 * fills it, one set-based upsert merges it, TRUNCATE empties it for the next batch. The stream is
 * never held in memory. Its columns are derived from the declared voucher table.
 */
import type { StagedRows } from '../voucher/staged-export.js';
import { storable } from '../voucher/storable.js';
import { DERIVED_COLUMNS, VOUCHER_COLUMNS, type ColumnType } from '../voucher/voucher-table.js';
import type { TransformEvent } from './read-voucher-csv.js';

export const STAGING_TABLE = 'voucher_staging';

const DATA_COLUMNS: readonly { name: string; type: ColumnType }[] = [...VOUCHER_COLUMNS, ...DERIVED_COLUMNS];
/** COPY column order: bookkeeping first, then the voucher columns. */
const COPY_COLUMNS = ['kind', 'line', 'written_id', 'raw_record', 'reason', 'extra', ...DATA_COLUMNS.map((c) => c.name)];

export function createStagingSql(): string {
  const data = DATA_COLUMNS.map((c) => `${c.name} ${c.type}`).join(', ');
  return `CREATE TEMP TABLE ${STAGING_TABLE} (kind "char" NOT NULL, line bigint NOT NULL, written_id text, raw_record text, reason text, extra jsonb, ${data}) ON COMMIT DROP`;
}

/** The staged rows of a batch, as the upsert reads them. */
export const REFERENCE_STAGED_ROWS: StagedRows = { rows: `SELECT * FROM ${STAGING_TABLE} WHERE kind = 'r'` };

export function copySql(): string {
  return `COPY ${STAGING_TABLE} (${COPY_COLUMNS.join(', ')}) FROM STDIN`;
}

/** One line of COPY text format for a row or reject event (header events write nothing). */
export function stagingLine(event: TransformEvent): string | null {
  if (event.kind === 'row') {
    const { row } = event;
    const fields = ['r', String(row.line), '\\N', '\\N', '\\N', row.extra ? escape(JSON.stringify(row.extra)) : '\\N'];
    for (const column of DATA_COLUMNS) fields.push(cell(row.cells[column.name], column.type));
    return fields.join('\t') + '\n';
  }
  if (event.kind === 'reject') {
    // The id as written goes to voucher_rejects; its canonical form (in voucher_id) to the export's ids.
    const { reject } = event;
    const fields = ['x', String(reject.line), cell(reject.writtenId && storable(reject.writtenId)), escape(storable(reject.raw)), escape(reject.reason), '\\N', cell(reject.voucherId, 'bigint')];
    for (let i = 1; i < DATA_COLUMNS.length; i++) fields.push('\\N');
    return fields.join('\t') + '\n';
  }
  return null;
}

function cell(value: string | boolean | null | undefined, type: ColumnType = 'text'): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  // Parsed numbers and timestamps are written in their canonical form, which has nothing to escape.
  return type === 'text' ? escape(value) : value;
}


const SPECIAL = /[\\\n\r\t]/;
const REPLACEMENTS: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** COPY text format: backslash, newline, carriage return and tab are escaped. */
export function escape(text: string): string {
  return SPECIAL.test(text) ? text.replace(/[\\\n\r\t]/g, (c) => REPLACEMENTS[c]!) : text;
}

/** The batch's rejects, as voucher_rejects keeps them. */
export const REFERENCE_STAGED_REJECTS = `SELECT line, written_id, raw_record, reason FROM ${STAGING_TABLE} WHERE kind = 'x' ORDER BY line`;

/** The canonical ids of the batch's rejects that have one: they protect their vouchers from deletion. */
export const REFERENCE_REJECT_IDS = `SELECT voucher_id FROM ${STAGING_TABLE} WHERE kind = 'x' AND voucher_id IS NOT NULL`;
