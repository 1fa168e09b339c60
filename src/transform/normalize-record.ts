/**
 * One CSV record → a typed voucher row, or a reject that says why. Never throws: a bad row must
 * not stop the window (DESIGN §3). Values stay exact: ids and amounts are digit strings.
 */
import { CLEAN_TEXT } from './clean-text.js';
import type { CellValue, HeaderMap, Reject, VoucherRow } from '../voucher/staged-export.js';
import { CUT_SENTINEL } from './record-size-guard.js';
import { ValueError, parseBoolean, parseDecimal, parseInteger, parseTimestamp } from './values.js';
import type { ColumnType } from '../voucher/voucher-table.js';

export interface NormalizeContext {
  readonly chainId: number;
  /** Expiries at or after this instant (epoch ms) mean "no real expiry". */
  readonly noExpiryFromMs: number;
  /** Records longer than this were cut by the size guard (for the reason given). */
  readonly maxRecordBytes?: number;
}

export type Normalized = { readonly row: VoucherRow } | { readonly reject: Reject };

/**
 * `lineBreaks` is how many line breaks the record spans (1 for a one-line record and its end):
 * only a record spanning more can hide others inside a quoted field.
 */
export function normalizeRecord(fields: readonly string[], line: number, raw: string, map: HeaderMap, context: NormalizeContext, lineBreaks = 1): Normalized {
  const writtenId = fields[map.idIndex]?.trim() || null;
  const reject = (reason: string, mayHideRecords = false): Normalized => ({
    reject: { line, raw, reason, writtenId, voucherId: canonicalId(writtenId), mayHideRecords },
  });

  // One scan on the hot path: the size guard's sentinel holds a NUL too.
  if (raw.includes('\u0000')) {
    if (raw.includes(CUT_SENTINEL)) {
      const bound = context.maxRecordBytes === undefined ? 'sync.maxRecordBytes' : `sync.maxRecordBytes (${context.maxRecordBytes} bytes)`;
      return reject(`the record is longer than ${bound}: it was cut there and not loaded (a quote left open, or a field that large); raise SPAAZA_MAX_RECORD_BYTES if such records are real`, true);
    }
    return reject('the record contains a NUL character, which PostgreSQL text cannot hold');
  }
  // The decoder turns bytes that are not UTF-8 into U+FFFD: storing that would silently change the data.
  if (raw.includes('\uFFFD')) return reject('the record is not valid UTF-8 (or holds U+FFFD); export the file as UTF-8');
  if (fields.length !== map.headers.length) {
    return reject(`expected ${map.headers.length} fields as in the header, found ${fields.length}: a quote may have been left open, so the record may hold others`, true);
  }
  if (lineBreaks > 1) {
    const hidden = hiddenRecord(fields, map, context);
    if (hidden !== null) {
      return reject(
        `${hidden.column} (${map.headers[hidden.index]}) spans ${lineBreaks} lines and one of them reads as further records (${JSON.stringify(hidden.text.slice(0, 60))}${hidden.id ? `, voucher ${hidden.id}` : ''}): a quote was probably left open, so the records it swallowed are missing`,
        true,
      );
    }
  }
  const problems: string[] = [];

  if (map.chainIndex !== null) {
    const written = fields[map.chainIndex]!.trim();
    if (written !== '' && !(/^[+-]?\d+$/.test(written) && BigInt(written) === BigInt(context.chainId))) {
      problems.push(`the row belongs to chain ${written}, not to chain ${context.chainId} being loaded`);
    }
  }

  const cells: Record<string, CellValue> = {};
  for (const { index, column } of map.columns) {
    const original = fields[index]!;
    const text = column.clean ? CLEAN_TEXT[column.clean](original) : original;
    if (text === '') {
      if (column.required) problems.push(`${column.name} (${map.headers[index]}) is empty`);
      cells[column.name] = null;
      continue;
    }
    try {
      cells[column.name] = parseValue(column.type, column.type === 'text' ? text : text.trim());
    } catch (error) {
      if (!(error instanceof ValueError)) throw error;
      problems.push(`${column.name} (${map.headers[index]}): ${error.message}`);
    }
  }
  if (problems.length > 0) return reject(problems.join('; '));

  // Campaign 0 is Spaaza's "no campaign".
  if (cells.campaign_id === '0') cells.campaign_id = null;
  const status = map.present.has('status') ? (cells.status as string | null) : undefined;
  if (status !== undefined) cells.is_redeemed = status === null ? null : status === 'redeemed';
  if (map.present.has('expires_at')) {
    const expiry = cells.expires_at as string | null;
    cells.has_real_expiry = expiry === null ? null : Date.parse(expiry) < context.noExpiryFromMs;
  }

  const extra = map.unknown.length === 0 ? null : Object.fromEntries(map.unknown.map(({ index, header }) => [header, fields[index] === '' ? null : fields[index]!]));
  return { row: { line, voucherId: cells.voucher_id as string, cells, extra, inconsistent: isInconsistent(cells, map.present) } };
}

/** The voucher a written id names, in the canonical form of bigint ids; null when it names none. */
export function canonicalId(written: string | null): string | null {
  if (written === null) return null;
  try {
    return parseInteger(written, 64);
  } catch {
    return null;
  }
}

/**
 * A quoted field whose lines after the first read as records of this export: as many fields as
 * the header, or a whole number where the id goes followed by more fields. Real titles hold line
 * breaks, but not a voucher's worth of delimiters.
 */
function hiddenRecord(fields: readonly string[], map: HeaderMap, context: NormalizeContext): { index: number; column: string; text: string; id: string | null } | null {
  for (let index = 0; index < fields.length; index++) {
    const field = fields[index]!;
    if (!field.includes('\n') && !field.includes('\r')) continue;
    const found = furtherRecordIn(field, map, context);
    if (found !== null) {
      const column = map.columns.find((c) => c.index === index)?.column.name ?? 'extra';
      return { index, column, ...found };
    }
  }
  return null;
}

/** The first line after the first of a field's text that reads as a further record (see hiddenRecord), or null. */
export function furtherRecordIn(field: string, map: HeaderMap, context: Pick<NormalizeContext, 'chainId'>): { text: string; id: string | null } | null {
  for (const text of field.split(/\r\n|\r|\n/).slice(1)) {
    const parts = text.split(',');
    const id = map.idIndex < parts.length - 1 ? canonicalId(parts[map.idIndex]!.trim()) : null;
    const chain = map.chainIndex !== null && map.chainIndex < parts.length ? parts[map.chainIndex]!.trim() : null;
    const chainFits = chain === null || chain === '' || canonicalId(chain) === String(context.chainId);
    if (parts.length >= map.headers.length || (id !== null && chainFits)) return { text, id };
  }
  return null;
}

function parseValue(type: ColumnType, text: string): CellValue {
  switch (type) {
    case 'bigint':
      return parseInteger(text, 64);
    case 'integer':
      return parseInteger(text, 32);
    case 'numeric':
      return parseDecimal(text);
    case 'boolean':
      return parseBoolean(text);
    case 'timestamptz':
      return parseTimestamp(text);
    case 'text':
      return text;
  }
}

/** A redeemed voucher without a redemption time, or an unredeemed one with one or a redeemed amount. */
function isInconsistent(cells: Record<string, CellValue>, present: ReadonlySet<string>): boolean {
  if (!present.has('status') || cells.status === null) return false;
  const redeemed = cells.status === 'redeemed';
  if (present.has('redeemed_at') && redeemed !== (cells.redeemed_at !== null)) return true;
  const amountRedeemed = cells.amount_redeemed;
  if (!redeemed && typeof amountRedeemed === 'string' && /[1-9]/.test(amountRedeemed) && !amountRedeemed.startsWith('-')) return true;
  return false;
}
