/**
 * How the simulator writes a voucher export: the default dialect (the header of issue
 * "Foundation", RFC 4180 quoting, UTF-8, `Z` timestamps, empty = null) and every variation a real
 * export might show, so the transform can be tested against each.
 */
import { Rng } from './random.js';
import { EXPORT_FIELDS, type ExportField, type Voucher } from './voucher.js';

export type TimestampStyle = 'z' | 'offset' | 'space';
export const MALFORMED_KINDS = ['too_few_fields', 'too_many_fields', 'bad_timestamp', 'bad_amount', 'bad_boolean', 'bad_id'] as const;
export type MalformedKind = (typeof MALFORMED_KINDS)[number];

export interface CsvDialect {
  /** Start the file with a UTF-8 byte order mark. */
  readonly bom: boolean;
  readonly lineEnding: '\n' | '\r\n';
  /** `classic`: the `voucher_*` names of the classic API (reference §7.2). */
  readonly header: 'default' | 'classic';
  /** `z`: 2026-05-26T12:00:00Z; `offset`: …+00:00; `space`: 2026-05-26 12:00:00 (UTC implied). */
  readonly timestamps: TimestampStyle;
  /** Name of an extra column the client does not know, appended to every row; null for none. */
  readonly extraColumn: string | null;
  /** Default-header names of columns left out. */
  readonly dropColumns: readonly string[];
  /** Put the columns in a (seeded) random order. */
  readonly shuffleColumns: boolean;
  /** Data rows (1 = the first row after the header) written malformed, and how. */
  readonly malformedRows: readonly { readonly row: number; readonly kind: MalformedKind }[];
  /** The first this-many vouchers are written again at the end of the file: ids repeating far apart. */
  readonly repeatFirstRows: number;
}

export const DEFAULT_DIALECT: CsvDialect = Object.freeze({
  bom: false,
  lineEnding: '\n',
  header: 'default',
  timestamps: 'z',
  extraColumn: null,
  dropColumns: [],
  shuffleColumns: false,
  malformedRows: [],
  repeatFirstRows: 0,
});

interface Column {
  readonly header: string;
  readonly field: ExportField | null;
  readonly cell: (v: Voucher) => string;
}

/** Writes the header and rows of one export in a given dialect. */
export class CsvWriter {
  private readonly columns: readonly Column[];
  private readonly malformed: ReadonlyMap<number, MalformedKind>;

  constructor(
    private readonly dialect: CsvDialect,
    seed: number,
  ) {
    const unknown = dialect.dropColumns.filter((name) => !EXPORT_FIELDS.some((f) => f.name === name));
    if (unknown.length > 0) throw new Error(`cannot drop unknown column(s): ${unknown.join(', ')}`);
    const columns: Column[] = EXPORT_FIELDS.filter((f) => !dialect.dropColumns.includes(f.name)).map((field) => ({
      header: dialect.header === 'classic' ? field.classicName : field.name,
      field,
      cell: (v: Voucher) => formatCell(field, v, dialect.timestamps),
    }));
    if (dialect.extraColumn) {
      columns.push({ header: dialect.extraColumn, field: null, cell: (v) => ['gold', 'silver', 'bronze', ''][v.id % 4]! });
    }
    if (dialect.shuffleColumns) shuffle(columns, new Rng(seed, 0x5f));
    this.columns = columns;
    this.malformed = new Map(dialect.malformedRows.map((m) => [m.row, m.kind]));
  }

  get headers(): string[] {
    return this.columns.map((c) => c.header);
  }

  /** The file's first bytes: BOM (if any) and header line. */
  head(): string {
    return (this.dialect.bom ? '\uFEFF' : '') + this.line(this.headers);
  }

  /** One data row; `row` is its 1-based position among data rows. */
  row(voucher: Voucher, row: number): string {
    const cells = this.columns.map((c) => c.cell(voucher));
    const kind = this.malformed.get(row);
    return this.line(kind ? this.corrupt(cells, kind) : cells);
  }

  private corrupt(cells: string[], kind: MalformedKind): string[] {
    const at = (name: string) => this.columns.findIndex((c) => c.field?.name === name);
    const replace = (name: string, value: string) => {
      const i = at(name);
      if (i >= 0) cells[i] = value;
      return cells;
    };
    switch (kind) {
      case 'too_few_fields':
        return cells.slice(0, Math.max(1, cells.length - 3));
      case 'too_many_fields':
        return [...cells, 'surplus', 'cells'];
      case 'bad_timestamp':
        return replace('date_time_creation', '31/02/2026 25:61');
      case 'bad_amount':
        return replace('amount', '12,5O');
      case 'bad_boolean':
        return replace('locked', 'maybe');
      case 'bad_id':
        return replace('id', 'not-a-number');
    }
  }

  private line(cells: readonly string[]): string {
    return cells.map(quote).join(',') + this.dialect.lineEnding;
  }
}

/** RFC 4180: quote a field holding a comma, quote or line break; double inner quotes. */
export function quote(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function formatTimestamp(epochSeconds: number, style: TimestampStyle): string {
  const iso = new Date(epochSeconds * 1000).toISOString().slice(0, 19); // YYYY-MM-DDTHH:MM:SS
  switch (style) {
    case 'z':
      return `${iso}Z`;
    case 'offset':
      return `${iso}+00:00`;
    case 'space':
      return iso.replace('T', ' ');
  }
}

function formatCell(field: ExportField, voucher: Voucher, timestamps: TimestampStyle): string {
  if (field.decimal) return field.decimal(voucher);
  const value = field.value(voucher);
  if (value === null) return '';
  if (field.type === 'date') return formatTimestamp(value as number, timestamps);
  return String(value);
}

function shuffle<T>(items: T[], rng: Rng): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}
