/**
 * How the simulator writes a voucher export: the default dialect (the header of issue
 * "Foundation", RFC 4180 quoting, UTF-8, `Z` timestamps, empty = null) and every variation a real
 * export might show, so the transform can be tested against each.
 */
import { Rng } from './random.js';
import { EXPORT_FIELDS, type ExportField, type Voucher } from './voucher.js';

export type TimestampStyle = 'z' | 'offset' | 'space';
/** Rows a strict reader must reject. */
export const MALFORMED_KINDS = ['too_few_fields', 'too_many_fields', 'bad_timestamp', 'bad_amount', 'bad_boolean', 'bad_id'] as const;
export type MalformedKind = (typeof MALFORMED_KINDS)[number];
/**
 * Rows a CSV parser reads, but that try a reader's assumptions: a quote left open (it swallows
 * the records that follow), ids with leading zeros or a plus sign, a title of megabytes.
 */
export const HOSTILE_KINDS = ['open_quote', 'padded_id', 'signed_id', 'huge_field'] as const;
export type HostileKind = (typeof HOSTILE_KINDS)[number];
export const ROW_KINDS = [...MALFORMED_KINDS, ...HOSTILE_KINDS] as const;
export type RowKind = MalformedKind | HostileKind;

/** The default length of a `huge_field` title: 8 MiB. */
export const HUGE_FIELD_BYTES = 8 * 1024 * 1024;
export const MAX_HUGE_FIELD_BYTES = 2 ** 30;

/** A data row written wrong; a row may appear in several entries, which apply in order. */
export interface MalformedRow {
  /** 1 = the first row after the header. */
  readonly row: number;
  readonly kind: RowKind;
  /** `huge_field` only: the title's length in bytes (ASCII); default `HUGE_FIELD_BYTES`. */
  readonly bytes?: number;
}

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
  /** With `extraColumn`: the header carries it twice, the second with other values (`gold`, `gold-2`). */
  readonly duplicateExtraColumn: boolean;
  /** Default-header names of columns left out. */
  readonly dropColumns: readonly string[];
  /** Put the columns in a (seeded) random order. */
  readonly shuffleColumns: boolean;
  /** Data rows written malformed or hostile, and how. */
  readonly malformedRows: readonly MalformedRow[];
  /** The first this-many vouchers are written again at the end of the file: ids repeating far apart. */
  readonly repeatFirstRows: number;
}

export const DEFAULT_DIALECT: CsvDialect = Object.freeze({
  bom: false,
  lineEnding: '\n',
  header: 'default',
  timestamps: 'z',
  extraColumn: null,
  duplicateExtraColumn: false,
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

/**
 * A cell of a malformed row: text to quote as usual, text written exactly as it is (`raw`), or a
 * long text of `huge` bytes written in pieces, never built whole.
 */
type Cell = string | { readonly raw: string } | { readonly huge: number };

const EXTRA_VALUES = ['gold', 'silver', 'bronze', ''];
/** ASCII with a comma, so the huge field is quoted; 64 KiB of it is the piece written at a time. */
const LONG_TEXT = 'A very long voucher title, '.repeat(Math.ceil((64 * 1024) / 27));

/** Writes the header and rows of one export in a given dialect. */
export class CsvWriter {
  private readonly columns: readonly Column[];
  private readonly malformed = new Map<number, MalformedRow[]>();

  constructor(
    private readonly dialect: CsvDialect,
    seed: number,
  ) {
    const problem = dialectProblem(dialect);
    if (problem) throw new Error(`${problem.field}: ${problem.message}`);
    const columns: Column[] = EXPORT_FIELDS.filter((f) => !dialect.dropColumns.includes(f.name)).map((field) => ({
      header: dialect.header === 'classic' ? field.classicName : field.name,
      field,
      cell: (v: Voucher) => formatCell(field, v, dialect.timestamps),
    }));
    if (dialect.extraColumn) {
      columns.push({ header: dialect.extraColumn, field: null, cell: (v) => EXTRA_VALUES[v.id % 4]! });
      // The same unknown name again, with values that differ: which one a reader keeps must show.
      if (dialect.duplicateExtraColumn) columns.push({ header: dialect.extraColumn, field: null, cell: (v) => `${EXTRA_VALUES[v.id % 4] || 'none'}-2` });
    }
    if (dialect.shuffleColumns) shuffle(columns, new Rng(seed, 0x5f));
    this.columns = columns;
    for (const m of dialect.malformedRows) this.malformed.set(m.row, [...(this.malformed.get(m.row) ?? []), m]);
  }

  get headers(): string[] {
    return this.columns.map((c) => c.header);
  }

  /** The file's first bytes: BOM (if any) and header line. */
  head(): string {
    return (this.dialect.bom ? '\uFEFF' : '') + this.line(this.headers);
  }

  /** Whether `row` is written malformed: then `rowPieces` writes it, a huge field in pieces. */
  isMalformed(row: number): boolean {
    return this.malformed.has(row);
  }

  /** One data row; `row` is its 1-based position among data rows. */
  row(voucher: Voucher, row: number): string {
    if (!this.malformed.has(row)) return this.line(this.columns.map((c) => c.cell(voucher)));
    return [...this.rowPieces(voucher, row)].join('');
  }

  /** One data row as pieces of at most about 64 KiB each (a normal row is one piece). */
  *rowPieces(voucher: Voucher, row: number): Generator<string> {
    let cells: Cell[] = this.columns.map((c) => c.cell(voucher));
    for (const m of this.malformed.get(row) ?? []) cells = this.corrupt(cells, m);
    let text = '';
    for (const [i, cell] of cells.entries()) {
      if (i > 0) text += ',';
      if (typeof cell === 'string') text += quote(cell);
      else if ('raw' in cell) text += cell.raw;
      else {
        yield `${text}"`;
        text = '';
        for (let left = cell.huge; left > 0; left -= LONG_TEXT.length) yield left >= LONG_TEXT.length ? LONG_TEXT : LONG_TEXT.slice(0, left);
        text = '"';
      }
    }
    yield text + this.dialect.lineEnding;
  }

  private corrupt(cells: Cell[], m: MalformedRow): Cell[] {
    /** Rewrites the named column's cell, if the row (still) has it as text. */
    const edit = (name: string, to: (cell: string) => Cell) => {
      const i = this.columns.findIndex((c) => c.field?.name === name);
      const cell = cells[i];
      if (i >= 0 && typeof cell === 'string') cells[i] = to(cell);
      return cells;
    };
    switch (m.kind) {
      case 'too_few_fields':
        return cells.slice(0, Math.max(1, cells.length - 3));
      case 'too_many_fields':
        return [...cells, 'surplus', 'cells'];
      case 'bad_timestamp':
        return edit('date_time_creation', () => '31/02/2026 25:61');
      case 'bad_amount':
        return edit('amount', () => '12,5O');
      case 'bad_boolean':
        return edit('locked', () => 'maybe');
      case 'bad_id':
        return edit('id', () => 'not-a-number');
      case 'open_quote':
        // An opening quote and no closing one: a parser reads on to the next quote in the file.
        return edit('campaign_title', (title) => ({ raw: `"${title.replace(/"/g, '')}` }));
      case 'padded_id':
        return edit('id', (id) => `000${id}`);
      case 'signed_id':
        return edit('id', (id) => `+${id}`);
      case 'huge_field':
        return edit('title', () => ({ huge: m.bytes ?? HUGE_FIELD_BYTES }));
    }
  }

  private line(cells: readonly string[]): string {
    return cells.map(quote).join(',') + this.dialect.lineEnding;
  }
}

/** What makes a dialect unusable, named by its field; null when it is fine. */
export function dialectProblem(dialect: CsvDialect): { field: string; message: string } | null {
  const unknown = dialect.dropColumns.filter((name) => !EXPORT_FIELDS.some((f) => f.name === name));
  if (unknown.length > 0) return { field: 'dropColumns', message: `cannot drop unknown column(s): ${unknown.join(', ')}` };
  if (dialect.duplicateExtraColumn && !dialect.extraColumn) return { field: 'duplicateExtraColumn', message: 'needs extraColumn, the column to duplicate' };
  for (const [i, m] of dialect.malformedRows.entries()) {
    if (m.bytes !== undefined && m.kind !== 'huge_field') return { field: `malformedRows.${i}.bytes`, message: 'applies to huge_field rows only' };
    if (m.bytes !== undefined && !(Number.isInteger(m.bytes) && m.bytes >= 0 && m.bytes <= MAX_HUGE_FIELD_BYTES)) {
      return { field: `malformedRows.${i}.bytes`, message: `must be an integer from 0 to ${MAX_HUGE_FIELD_BYTES}` };
    }
  }
  return null;
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
