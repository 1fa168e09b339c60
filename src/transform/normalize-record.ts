/**
 * One CSV record → a typed voucher row, or a reject that says why. Never throws: a bad row must
 * not stop the window (DESIGN §3). Values stay exact: ids and amounts are digit strings.
 */
import type { HeaderMap } from './header-map.js';
import { ValueError, parseBoolean, parseDecimal, parseInteger, parseTimestamp } from './values.js';
import type { ColumnType } from './voucher-table.js';

export type CellValue = string | boolean | null;

export interface VoucherRow {
  /** 1-based line where the record starts (the header is line 1). */
  readonly line: number;
  readonly voucherId: string;
  /** Content columns by warehouse name (only those the file provides, plus derived ones). */
  readonly cells: Readonly<Record<string, CellValue>>;
  /** Unknown columns by header, empty cells as null; null when the file has none. */
  readonly extra: Readonly<Record<string, string | null>> | null;
  /** Status, redemption time and amounts disagree (loaded as sent, counted). */
  readonly inconsistent: boolean;
}

export interface Reject {
  readonly line: number;
  readonly raw: string;
  readonly reason: string;
  /** The voucher id as written, when the record has one. */
  readonly voucherId: string | null;
}

export interface NormalizeContext {
  readonly chainId: number;
  /** Expiries at or after this instant (epoch ms) mean "no real expiry". */
  readonly noExpiryFromMs: number;
}

export type Normalized = { readonly row: VoucherRow } | { readonly reject: Reject };

export function normalizeRecord(fields: readonly string[], line: number, raw: string, map: HeaderMap, context: NormalizeContext): Normalized {
  const writtenId = fields[map.idIndex]?.trim() || null;
  const reject = (reason: string): Normalized => ({ reject: { line, raw, reason, voucherId: writtenId } });

  if (raw.includes('\u0000')) return reject('the record contains a NUL character, which PostgreSQL text cannot hold');
  // The decoder turns bytes that are not UTF-8 into U+FFFD: storing that would silently change the data.
  if (raw.includes('\uFFFD')) return reject('the record is not valid UTF-8 (or holds U+FFFD); export the file as UTF-8');
  if (fields.length !== map.headers.length) {
    return reject(`expected ${map.headers.length} fields as in the header, found ${fields.length}`);
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
    const text = column.clean ? column.clean(original) : original;
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
