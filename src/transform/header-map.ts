/** Matches a CSV header row to the declared voucher table. */
import { TransformError } from '../errors.js';
import type { HeaderMap } from '../voucher/staged-export.js';
import { CHAIN_HEADERS, DERIVED_COLUMNS, VOUCHER_COLUMNS, isVolatileHeader, type VoucherColumn } from '../voucher/voucher-table.js';

const BY_HEADER = new Map<string, VoucherColumn>(VOUCHER_COLUMNS.flatMap((c) => c.headers.map((h) => [h, c] as const)));

export function mapHeader(rawHeaders: readonly string[]): HeaderMap {
  const headers = rawHeaders.map((h) => h.trim());
  const columns: { index: number; column: VoucherColumn }[] = [];
  const unknown: { index: number; header: string }[] = [];
  const volatile: string[] = [];
  const seenBy = new Map<string, string>();
  let chainIndex: number | null = null;

  const chainHeader: string[] = [];
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
      if (chainHeader.length > 0) {
        throw new TransformError('csv_header_ambiguous', `The CSV headers "${chainHeader[0]}" and "${header}" both name the chain; remove one of them from the file.`);
      }
      chainHeader.push(header);
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
  const { names, warnings } = uniqueNames(unknown.map((u) => u.header));
  const renamed = unknown.map((u, k) => ({ index: u.index, header: names[k]! }));
  const present = new Set(columns.map((c) => c.column.name));
  for (const derived of DERIVED_COLUMNS) if (derived.from.every((f) => present.has(f))) present.add(derived.name);
  const idIndex = columns.find((c) => c.column.name === 'voucher_id')!.index;
  return { headers, columns, idIndex, chainIndex, unknown: renamed, volatile, present, warnings };
}

/**
 * Unknown columns become keys of `extra`: two with one name would collapse into one key and lose
 * a value, so a repeated name gets a suffix (`note`, `note_2`, `note_3`, one not already taken).
 */
function uniqueNames(headers: readonly string[]): { names: string[]; warnings: string[] } {
  const taken = new Set(headers);
  const seen = new Set<string>();
  const warnings: string[] = [];
  const names = headers.map((header) => {
    if (!seen.has(header)) {
      seen.add(header);
      return header;
    }
    let k = 2;
    while (taken.has(`${header}_${k}`)) k += 1;
    const name = `${header}_${k}`;
    taken.add(name);
    seen.add(name);
    warnings.push(`the CSV has the column "${header}" more than once; the repeat is kept in vouchers.extra as "${name}"`);
    return name;
  });
  return { names, warnings };
}
