/** Matches a CSV header row to the declared voucher table. */
import { TransformError } from '../errors.js';
import { CHAIN_HEADERS, DERIVED_COLUMNS, VOUCHER_COLUMNS, isVolatileHeader, type VoucherColumn } from './voucher-table.js';

export interface HeaderMap {
  /** The headers as written (trimmed). */
  readonly headers: readonly string[];
  /** Known columns and the position of their CSV field. */
  readonly columns: readonly { readonly index: number; readonly column: VoucherColumn }[];
  /** Position of the voucher id. */
  readonly idIndex: number;
  /** Position of the CSV's chain id, checked against the chain being loaded. */
  readonly chainIndex: number | null;
  /** Columns the table does not know: kept in `extra`. */
  readonly unknown: readonly { readonly index: number; readonly header: string }[];
  /** Clock-derived columns, ignored. */
  readonly volatile: readonly string[];
  /** Warehouse columns the file provides (derived ones included when their source is there). */
  readonly present: ReadonlySet<string>;
}

const BY_HEADER = new Map<string, VoucherColumn>(VOUCHER_COLUMNS.flatMap((c) => c.headers.map((h) => [h, c] as const)));

export function mapHeader(rawHeaders: readonly string[]): HeaderMap {
  const headers = rawHeaders.map((h) => h.trim());
  const columns: { index: number; column: VoucherColumn }[] = [];
  const unknown: { index: number; header: string }[] = [];
  const volatile: string[] = [];
  const seenBy = new Map<string, string>();
  let chainIndex: number | null = null;

  headers.forEach((header, index) => {
    const key = header.toLowerCase();
    const column = BY_HEADER.get(key);
    if (column) {
      const earlier = seenBy.get(column.name);
      if (earlier !== undefined) {
        throw new TransformError(
          'csv_header_ambiguous',
          `The CSV headers "${earlier}" and "${header}" both map to the column ${column.name}; remove one of them from the file.`,
        );
      }
      seenBy.set(column.name, header);
      columns.push({ index, column });
    } else if (CHAIN_HEADERS.includes(key)) {
      chainIndex = index;
    } else if (isVolatileHeader(key)) {
      volatile.push(header);
    } else {
      unknown.push({ index, header });
    }
  });

  if (!seenBy.has('voucher_id')) {
    throw new TransformError(
      'csv_header_missing_id',
      `The CSV header has no voucher id column (expected one of: ${VOUCHER_COLUMNS[0]!.headers.join(', ')}); ` +
        `the headers seen were: ${headers.length ? headers.map((h) => JSON.stringify(h)).join(', ') : '(none)'}.`,
    );
  }
  const present = new Set(columns.map((c) => c.column.name));
  for (const derived of DERIVED_COLUMNS) if (derived.from.every((f) => present.has(f))) present.add(derived.name);
  const idIndex = columns.find((c) => c.column.name === 'voucher_id')!.index;
  return { headers, columns, idIndex, chainIndex, unknown, volatile, present };
}
