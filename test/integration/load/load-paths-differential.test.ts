// Differential property test of the two load paths (the typed COPY path of 6f7c6a2 and after):
// every export, clean or malformed, loaded once with loadPath 'reference' and once with 'auto'
// (the typed COPY path when the byte gate lets it through), into two fresh schemas, must leave
// the same vouchers, campaigns, rejects and run rows, and report the same counts, or fail alike.
// A second, changed export (vouchers changed, created or deleted; a later, the same or an older
// export time) is then loaded into both, as a full refresh or a plain load-file.
//
// Exports come from the simulator's generator and writer in arbitrary dialects, with its malformed
// and hostile rows, then cell-level mutations (values PostgreSQL takes and the reference may not,
// borderline forms, quoting and encoding damage, at byte level) and file-level ones (blank lines,
// line endings, truncation, empty and header-only files).
//
// SPAAZA_DIFF_SEED and SPAAZA_DIFF_RUNS override the seed and the number of runs (default: a fixed
// seed, 120 runs, about 30 s; new exports stop being drawn after SPAAZA_DIFF_TIME_LIMIT_MS, 45 s).
// A failure prints fast-check's seed, path and shrunk counterexample, the first difference and
// the export's bytes (kept on disk too); SPAAZA_DIFF_SEED with SPAAZA_DIFF_PATH replays it.
// The inputs of the differences found and fixed (the tests at the end) are drawn too
// (SPAAZA_DIFF_KNOWN=0 leaves them out), and
// SPAAZA_DIFF_SWEEP=1 runs every shape of the mutation catalogue alone (about 2 minutes).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { loadFile } from '../../../src/sync/load-file.js';
import { loadWindow, WindowLoadError, type LoadPathSetting, type LoadResult } from '../../../src/load/load-window.js';
import { createRun } from '../../../src/warehouse/sync-runs.js';
import { warehouseTables } from '../../../src/warehouse/tables.js';
import { stageExport } from '../../../src/transform/stage-export.js';
import { silentLogger } from '../../../src/log.js';
import { DEFAULTS } from '../../../src/defaults.js';
import { CsvWriter, DEFAULT_DIALECT, HOSTILE_KINDS, MALFORMED_KINDS, quote, type CsvDialect, type MalformedRow } from '../../../src/simulator/csv-dialect.js';
import { Dataset, VoucherNotFoundError, VoucherStateError } from '../../../src/simulator/dataset.js';
import { selectedVouchers } from '../../../src/simulator/export-file.js';
import { EXPORT_FIELDS } from '../../../src/simulator/voucher.js';
import { migrateToLatest } from '../../../src/warehouse/migrate.js';
import type { Warehouse } from '../../../src/warehouse/warehouse.js';
import { CHAIN, START_SECONDS } from '../../support/voucher-csv.js';
import { openTestWarehouse } from '../../support/warehouse.js';

const SEED = process.env.SPAAZA_DIFF_SEED !== undefined ? Number(process.env.SPAAZA_DIFF_SEED) : 20261201;
const RUNS = process.env.SPAAZA_DIFF_RUNS !== undefined ? Number(process.env.SPAAZA_DIFF_RUNS) : 120;
/** Stop drawing new exports after this long (the suite has a time budget); shrinking is not bounded. */
const TIME_LIMIT_MS = Number(process.env.SPAAZA_DIFF_TIME_LIMIT_MS ?? 45_000);
/**
 * Inputs of the differences found so far (see the tests at the end), drawn by the generator
 * unless SPAAZA_DIFF_KNOWN=0.
 */
// Fixed since, so drawn by default; SPAAZA_DIFF_KNOWN=0 leaves them out.
const INCLUDE_KNOWN = process.env.SPAAZA_DIFF_KNOWN !== '0';

const T0 = new Date(START_SECONDS * 1000);
const HOUR = 3600;

let warehouse: Warehouse;
let dir: string;
const schemas = { reference: `t_diff_ref_${process.pid}`, auto: `t_diff_auto_${process.pid}` } as const;

before(async () => {
  warehouse = await openTestWarehouse();
  dir = mkdtempSync(path.join(tmpdir(), 'spaaza-diff-'));
  for (const schema of Object.values(schemas)) {
    await warehouse.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await migrateToLatest(warehouse.db, schema);
  }
});
after(async () => {
  if (warehouse) for (const schema of Object.values(schemas)) await warehouse.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await warehouse?.close();
  rmSync(dir, { recursive: true, force: true });
});

// --- Cells ---------------------------------------------------------------------------------------

/** A cell as it goes into the file: text the writer's quote() renders, or bytes written as they are. */
type Cell = string | { readonly raw: Buffer };
type Category = 'id' | 'integer' | 'chain' | 'decimal' | 'boolean' | 'timestamp' | 'lower' | 'trim' | 'text';
/** What a mutation writes in place of a cell, from the cell's original text. */
type Shape = (original: string, context: ShapeContext) => Cell;
interface ShapeContext {
  readonly fields: number;
  readonly idIndex: number;
  /** The id of another record of the export (or a made-up one). */
  readonly otherId: string;
}

const raw = (...parts: (string | number[] | Buffer)[]): Cell => ({ raw: Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)))) });
const always = (value: string): Shape => () => value;

const CATEGORY_BY_FIELD: Readonly<Record<string, Category>> = {
  id: 'id',
  voucher_key: 'text',
  chain_id: 'chain',
  user_id: 'integer',
  campaign_id: 'integer',
  campaign_type: 'lower',
  campaign_title: 'trim',
  type: 'lower',
  status: 'lower',
  locked: 'boolean',
  title: 'text',
  currency_id: 'integer',
  currency_symbol: 'text',
  amount_original: 'decimal',
  amount_redeemed: 'decimal',
  amount: 'decimal',
  date_time_creation: 'timestamp',
  date_time_redeemed: 'timestamp',
  date_time_expiry: 'timestamp',
};

/** A line that reads as a record of this export: as many fields as the header, another voucher's id. */
const furtherRecord = (c: ShapeContext) => Array.from({ length: c.fields }, (_, i) => (i === c.idIndex ? c.otherId : 'x')).join(',');

/**
 * The cell shapes of each column category, in two lists: `alike`, forms both readers take to the
 * same value (the typed path loads them, or sends them on for a reason of its own, such as a range
 * only the column's width decides), and `other`, forms PostgreSQL reads otherwise than the
 * reference, or that only one of them reads, or borderline ones: the typed path must fall back.
 * (Which list a shape is in only steers the generator: every outcome is compared.)
 */
interface Shapes {
  readonly alike: readonly Shape[];
  readonly other: readonly Shape[];
}

const VALUES: Readonly<Record<Category, Shapes>> = {
  id: {
    alike: [
      (o) => `+${o}`, (o) => `0${o}`, (o) => `00${o}`, (o) => `-${o}`, (_, c) => c.otherId, (_, c) => `+${c.otherId}`, (_, c) => `0${c.otherId}`, always('-0'), always('0'),
      always('9223372036854775807'), always('-9223372036854775808'),
    ],
    other: [
      (o) => ` ${o}`, (o) => `${o} `, (o) => `\t${o}`, (o) => `\u00A0${o}`, (o) => `${o}\u3000`, (o) => `${o}.0`, (o) => `${o}e0`, (o) => `${o}\n`, always(''),
      always('9223372036854775808'), always('99999999999999999999'), always('1_000'), always('0x1F'), always('１２'), always('not-a-number'),
    ],
  },
  integer: {
    alike: [
      always('+12'), always('012'), always('-0'), always('0'), always('00'), always('2147483647'), always('-2147483648'), always(''), always('-1'), (o) => `+${o}`,
      (o) => `0${o}`, always('2147483648'), always('-2147483649'), always('9223372036854775807'), always('-9223372036854775808'),
    ],
    other: [
      always(' 12'), always('1_000'), always('0x1F'), always('99999999999999999999'), always('9223372036854775808'), always('12 '), always('1e3'), always('12.0'),
      always('１２'), always('\u00A012'),
    ],
  },
  chain: {
    alike: [always('')],
    other: [
      always('+1764'), always('01764'), always('1765'), always(' 1764'), always('1764 '), always('-1764'), always('1764.0'), always('0'), always('\u00A01764'),
      always('１７６４'), always('001764'), always('+01764'), always('1764\n'), always('17_64'),
    ],
  },
  decimal: {
    alike: [
      always('.5'), always('-.5'), always('+.5'), always('+3.50'), always('-0.00'), always('-0'), always('00012.50'), always('0.000000000000000000000001'),
      always('123456789012345678901234567890.123456789'), always(''), always('5.000'), always('-12.5'), always('0'), always('0.0'), always('+0'), always('0.01'),
      (o) => `+${o}`, (o) => `0${o}`, (o) => `-${o}`,
    ],
    other: [
      always('1e5'), always('NaN'), always('nan'), always('Infinity'), always('-Infinity'), always('inf'), always('1.'), always(' 2.5'), always('2.5 '),
      always('\u00A02.5'), always('1,5'), always('1.2.3'), always('1_0'), always('0x10'), always('٣'), always('1 000'),
    ],
  },
  boolean: {
    alike: [
      always('TRUE'), always('True'), always('Yes'), always('YES'), always('t'), always('T'), always('F'), always('y'), always('N'), always('no'), always('No'),
      always('false'), always('0'), always('1'), always(''), always('tRuE'),
    ],
    other: [
      always('on'), always('off'), always('ON'), always('tr'), always('fa'), always('ye'), always('1 '), always(' 0'), always('maybe'), always('of'), always('2'),
      always('\u00A0true'), always('true\n'), always('f\u00A0'),
    ],
  },
  timestamp: {
    alike: [
      always('2024-02-29T12:00:00Z'), always('2000-02-29T00:00:00Z'), always('2026-05-26T12:00:00.123456Z'), always('2026-05-26T12:00:00.000000Z'),
      always('2026-05-26T12:00:00+14:59'), always('2026-05-26T12:00:00+05'), always('2026-05-26T12:00:00+0530'), always('2026-05-26T12:00:00-00:00'),
      always('2026-05-26T12:00:00'), always('2026-05-26 12:00:00+02'), always('9999-12-31T23:59:59Z'), always('9999-12-31T23:59:59.999999Z'),
      always('9999-12-31T23:59:59+00:00'), always('0001-01-01T00:00:00Z'), always('0050-06-15T00:00:00Z'), always('0099-12-31T23:59:59Z'),
      always('2049-12-31T23:59:59.999999Z'), always('2050-01-01T00:00:00Z'), always('2050-01-01T00:00:00.000001Z'), always('2050-01-01T01:00:00+01:00'),
      always('0002-01-01T00:00:00+14:00'), always('2026-05-26T12:00:00-14:59'), always(''), (o) => o.replace('T', ' ').replace('Z', ''), (o) => o.replace('Z', '+00:00'),
      (o) => o.replace('Z', '.000001Z'), (o) => o.replace('Z', ''), (o) => o.replace('Z', '.5-03:30'),
    ],
    other: [
      always('now'), always('epoch'), always('infinity'), always('-infinity'), always('today'), always('yesterday'), always('allballs'), always('2026-05-26'),
      always('2026-05-26 12:00:00 Europe/Amsterdam'), always('10000-01-01T00:00:00Z'), always('0000-01-01T00:00:00Z'), always('2026-05-26t12:00:00z'),
      always('2026-05-26T24:00:00Z'), always('2026-05-26T12:00:60Z'), always('2026-02-29T00:00:00Z'), always('1900-02-29T00:00:00Z'), always('2026-04-31T00:00:00Z'),
      always('2026-13-01T00:00:00Z'), always('2026-05-26T12:00:00.1234567Z'), always('2026-05-26T12:00:00.9999995Z'), always('2026-05-26T12:00:00+15:00'),
      always('2026-05-26T12:00:00-1800'), always('2026-05-26T12:00:00+1900'), always('2026-05-26T12:00:00+00:60'), always('2026-05-26T12:00:00+05:30:00'),
      always('2026-05-26T12:00:00UTC'), always('2026-05-26T12:00:00 Z'), always('2026-05-26T12:00Z'), always('2026-5-26T12:00:00Z'), always('2026-05-26T12:00:00.Z'),
      always('20260526T120000Z'), always('J2451187'), always('9999-12-31T23:00:00-02:00'), always('0001-01-01T00:00:00+01:00'), always('0001-01-01T00:30:00+00:30'),
      always('2049-12-31T23:59:59.9999999Z'), (o) => o.toLowerCase(), (o) => ` ${o}`, (o) => `${o} `, (o) => `\u00A0${o}`, (o) => `${o}\n`,
    ],
  },
  lower: {
    alike: [
      (o) => o.toUpperCase(), (o) => ` ${o} `, (o) => `${o.charAt(0).toUpperCase()}${o.slice(1)}`, always('REDEEMED'), always(' Redeemed '), always('redeemed'),
      always('claimed'), always('generated'), always(''), always('a,b'), (o) => `"${o}"`, (o) => `${o}\n`, (o) => `${o}\r\n`, (o) => `\n${o}`, (o) => `\t${o.toUpperCase()}\u000B`,
      // Nothing but ASCII white space: the reference trims it to an empty (required) status.
      ...(INCLUDE_KNOWN ? [always(' '), always('  '), always('\t'), always('\u000B'), always('\u000C'), always(' \r\n ')] : []),
    ],
    other: [
      always('İ'), always('ß'), always('\u212A'), always('Σ'), always('ǅ'), always('İstanbul'), always('RÉDEEMED'), (o) => `\u00A0${o}`, (o) => `${o}\u2003`,
      (o) => `\uFEFF${o}`, (o) => `\u3000${o}\u3000`, (o) => `${o}\u0085`, (o) => `\u200B${o}`, always('\u00A0'), always('\u3000'),
    ],
  },
  trim: {
    alike: [
      (o) => `\u00A0${o}\u00A0`, (o) => `\u2003${o}`, (o) => `${o}\uFEFF`, (o) => `\u3000${o}\u3000`, (o) => ` ${o} `, (o) => `\t${o}\t`, (o) => `\u000B${o}\u000C`,
      (o) => `${o}\u0085`, (o) => `\u180E${o}`, (o) => `\u200B${o}`, (o) => `\u2028${o}\u2029`, (o) => `\u1680${o}`, (o) => `\u202F${o}\u205F`, (o) => `\r\n${o}\r\n`,
      (o) => `\n${o}`, always(' '), always('\u00A0'), always('\u3000'), always('\uFEFF'), always(''), (o) => `${o}\u00A0\u00A0x`, (o) => o.toUpperCase(),
      (o) => `\u2000\u2001\u2002\u2004\u2005\u2006\u2007\u2008\u2009\u200A${o}`, (o) => `${o} \u00A0 \u3000`, (o) => `\u00A0"${o}"\u00A0`,
    ],
    other: [(o) => `\u00A0${o}\n\\.\n`],
  },
  text: {
    alike: [
      (o) => ` ${o} `, always('\u00A0'), always(' '), always(''), always('line\nbreak'), always('line\r\nbreak'), always('cr\ronly'), always('\\.'), always('\\N'),
      always('NULL'), always('"'), always('""'), always('a"b'), always('a\tb'), always('€'), always('😀'), always('\u0085'), always('\\'), always('x\\'),
      always('\uFEFF'), (o) => `${o}\u2028`, always('\r'), always('\n'), always('İ'), (o) => `${o}\nsecond line, not a record`, always('{"json": true}'), always('ǅ'),
      always('\uFFFE\uFFFF'), always('\u{10FFFF}'),
    ],
    other: [
      always('a\n\\.\nb'), always('\\.\n'), always('\n\\.'), always('\\.\r\nx'), always(Array.from({ length: 22 }, (_, i) => `line ${i}`).join('\n')),
      (o, c) => `${o}\n${furtherRecord(c)}`,
    ],
  },
};

const quoted = (o: string) => o.replace(/"/g, '""');
/** Shapes that change a cell's quoting or encoding, for any column: written as bytes. */
const STRUCTURAL: Shapes = {
  alike: [
    () => raw('""'),
    (o) => raw(`"${quoted(o)}"`),
    (o) => raw(`"${quoted(o)}\r\nsecond"`),
    (o) => raw(`"${quoted(o)}\nsecond"`),
    (o) => raw(`"${quoted(o)}\rsecond"`),
    (o) => raw(`"${quoted(o)}"""`),
    (o) => raw(`${o}\\`),
  ],
  other: [
    (o) => raw(`${o}"x`),
    (o) => raw(`"${quoted(o)}"x`),
    (o) => raw(`"${quoted(o)}" `),
    (o) => raw(` "${quoted(o)}"`),
    (o, c) => raw(`"${quoted(o)}\n${furtherRecord(c)}"`),
    (o) => raw(`"\\.\n${quoted(o)}"`),
    (o) => raw(`"${quoted(o)}\n\\.\n"`),
    (o) => raw(`"${quoted(o)}\r\n\\.\r\nmore"`),
    (o) => raw(o, [0]),
    (o) => `${o}\uFFFD`,
    (o) => raw(o, [0xff]),
    (o) => raw(o, [0xc3]),
    (o) => raw(o, [0xed, 0xa0, 0x80]),
    (o) => raw(o, [0xc0, 0xaf]),
    (o) => raw(o, [0xf4, 0x90, 0x80, 0x80]),
    (o) => raw(o, [0xe2, 0x82]),
    (o) => raw(`"${quoted(o)}`),
  ],
};

interface CellMutation {
  /** Data row (mod the number of rows) and field (mod the header's), both 0-based. */
  readonly row: number;
  readonly field: number;
  /** A shape of the column's category, or one of STRUCTURAL. */
  readonly structural: boolean;
  /** From the shapes both read alike, or the others. */
  readonly alike: boolean;
  /** Index into the list (mod its length). */
  readonly pick: number;
  /** The same change in every well-formed row (a window of rejects only, or every status capitalised). */
  readonly everyRow: boolean;
}

const shapesOf = (m: CellMutation, category: Category): readonly Shape[] => {
  const shapes = m.structural ? STRUCTURAL : VALUES[category];
  const list = m.alike ? shapes.alike : shapes.other;
  return list.length > 0 ? list : shapes.alike;
};

type FileMutation =
  | { readonly kind: 'blank_line' | 'bare_cr' | 'other_eol' | 'backslash_dot_line' | 'repeat_header' | 'whitespace_line'; readonly at: number }
  | { readonly kind: 'insert_bytes'; readonly at: number; readonly offset: number; readonly bytes: number }
  | { readonly kind: 'duplicate_row'; readonly at: number; readonly to: number }
  | { readonly kind: 'header_cell'; readonly at: number; readonly pick: number }
  | { readonly kind: 'trailing_blank_line' | 'no_final_newline' | 'ends_inside_quote' | 'header_only' | 'empty' }
  | { readonly kind: 'truncate'; readonly at: number }
  /** This many more unknown columns, in the header and every well-formed row, values of `width` characters. */
  | { readonly kind: 'wide_columns'; readonly count: number; readonly width: number };

const INSERTED_BYTES: readonly number[][] = [[0], [0xef, 0xbf, 0xbd], [0xff], [0xc3], [0xef, 0xbb, 0xbf], [0x22], [0x2c], [0x0d], [0x0a], [0x0d, 0x0a], [0x5c, 0x2e]];

const HEADER_SHAPES: readonly ((h: string) => Cell)[] = [
  (h) => h.toUpperCase(),
  (h) => ` ${h} `,
  (h) => `\u00A0${h}\u00A0`,
  (h) => raw(`"${h}"`),
  () => 'zzz_unknown',
  () => 'id',
  () => 'status',
  () => 'chain_id',
  () => 'x_seconds_remaining',
  (h) => `${h}\n`,
  (h) => raw(`${h}"`),
  () => '',
  (h) => `${h},`,
];

// --- Exports --------------------------------------------------------------------------------------

interface ExportSpec {
  readonly dialect: CsvDialect;
  readonly cells: readonly CellMutation[];
  readonly file: readonly FileMutation[];
}

type VoucherChange = { readonly kind: 'claim' | 'redeem' | 'redeem_part' | 'lock' | 'expire' | 'no_expiry' | 'delete'; readonly at: number } | { readonly kind: 'create' };

interface Scenario {
  readonly seed: number;
  readonly vouchers: number;
  readonly first: ExportSpec;
  readonly changes: readonly VoucherChange[];
  readonly second: ExportSpec;
  /** Seconds after the first export's time (0 or negative: the same or an older export). */
  readonly secondShift: number;
  /** The second load as a full refresh (through loadWindow), or a plain load-file. */
  readonly reconcile: { readonly maxDeleteRatio: number; readonly allowMassDelete: boolean } | null;
  readonly batchRows: number | undefined;
  readonly maxRecordBytes: number | undefined;
  readonly maxRejectRatio: number;
  /** Read the file in pieces of this many bytes instead of load-file's 64 KiB (through loadWindow). */
  readonly chunkBytes: number | undefined;
  /** Before the second load, the same as a dry run (load-file --dry-run), on both paths. */
  readonly dryRunFirst: boolean;
}

type Row = { cells: Cell[] } | { bytes: Buffer };

function fieldNames(dialect: CsvDialect): string[] {
  const writer = new CsvWriter(dialect, 1);
  const byName = new Map(EXPORT_FIELDS.flatMap((f) => [[f.name, f.name], [f.classicName, f.name]] as const));
  return writer.headers.map((h) => byName.get(h) ?? '');
}

/** The export as csvChunks writes it, row by row, then mutated. */
function renderExport(dataset: Dataset, atSeconds: number, spec: ExportSpec): Buffer {
  const { dialect } = spec;
  const writer = new CsvWriter(dialect, 1);
  const snapshot = dataset.snapshot(CHAIN, atSeconds);
  const live = [...selectedVouchers({ dataset, snapshot, segment: null })];
  const all = [...live, ...live.slice(0, dialect.repeatFirstRows)];
  const rows: Row[] = all.map((voucher, i) => {
    const text = writer.row(voucher, i + 1);
    if (writer.isMalformed(i + 1)) return { bytes: Buffer.from(text) };
    return { cells: (parse(text, { relax_column_count: true }) as string[][])[0]! };
  });
  const fields = fieldNames(dialect);
  const idIndex = fields.indexOf('id');
  for (const m of spec.cells) {
    if (rows.length === 0) break;
    for (const [r, row] of rows.entries()) {
      if (!(m.everyRow || r === m.row % rows.length) || !('cells' in row)) continue;
      const index = m.field % row.cells.length;
      const original = row.cells[index]!;
      if (typeof original !== 'string') continue;
      const category = CATEGORY_BY_FIELD[fields[index] ?? ''] ?? 'text';
      const shapes = shapesOf(m, category);
      const otherRow = rows[(r * 7 + 3) % rows.length]!;
      const otherId = idIndex >= 0 && 'cells' in otherRow && typeof otherRow.cells[idIndex] === 'string' ? (otherRow.cells[idIndex] as string) : '123456789';
      row.cells[index] = shapes[m.pick % shapes.length]!(original, { fields: fields.length, idIndex, otherId });
    }
  }

  const eol = dialect.lineEnding;
  const otherEol = eol === '\n' ? '\r\n' : '\n';
  const encodeCells = (cells: readonly Cell[]) => Buffer.concat(cells.flatMap((c, i) => [...(i > 0 ? [Buffer.from(',')] : []), typeof c === 'string' ? Buffer.from(quote(c)) : c.raw]));
  const headerCells: Cell[] = [...writer.headers];
  for (const m of spec.file) {
    if (m.kind !== 'wide_columns') continue;
    const names = Array.from({ length: m.count }, (_, i) => `wide_${headerCells.length + i}`);
    headerCells.push(...names);
    for (const row of rows) if ('cells' in row) row.cells.push(...names.map((_, i) => String(i % 10).repeat(m.width)));
  }
  let pieces: Buffer[] = rows.map((r) => ('cells' in r ? Buffer.concat([encodeCells(r.cells), Buffer.from(eol)]) : r.bytes));
  const withEol = (piece: Buffer, ending: string) => Buffer.concat([piece.subarray(0, piece.length - eol.length), Buffer.from(ending)]);
  const at = (n: number) => (pieces.length === 0 ? 0 : n % pieces.length);
  const tail: FileMutation[] = [];
  for (const m of spec.file) {
    switch (m.kind) {
      case 'blank_line':
        pieces.splice(at(m.at), 0, Buffer.from(eol));
        break;
      case 'whitespace_line':
        pieces.splice(at(m.at), 0, Buffer.from(` ${eol}`));
        break;
      case 'backslash_dot_line':
        pieces.splice(at(m.at), 0, Buffer.from(`\\.${eol}`));
        break;
      case 'repeat_header':
        pieces.splice(at(m.at), 0, Buffer.from(writer.headers.join(',') + eol));
        break;
      case 'bare_cr':
      case 'other_eol':
        if (pieces.length > 0) pieces[at(m.at)] = withEol(pieces[at(m.at)]!, m.kind === 'bare_cr' ? '\r' : otherEol);
        break;
      case 'insert_bytes': {
        if (pieces.length === 0) break;
        const piece = pieces[at(m.at)]!;
        const offset = m.offset % (piece.length + 1);
        pieces[at(m.at)] = Buffer.concat([piece.subarray(0, offset), Buffer.from(INSERTED_BYTES[m.bytes % INSERTED_BYTES.length]!), piece.subarray(offset)]);
        break;
      }
      case 'duplicate_row':
        if (pieces.length > 0) pieces.splice(at(m.to), 0, pieces[at(m.at)]!);
        break;
      case 'wide_columns':
        break;
      case 'header_cell': {
        const index = m.at % headerCells.length;
        const original = headerCells[index]!;
        if (typeof original === 'string') headerCells[index] = HEADER_SHAPES[m.pick % HEADER_SHAPES.length]!(original);
        break;
      }
      default:
        tail.push(m);
    }
  }
  const head = Buffer.concat([Buffer.from(dialect.bom ? '\uFEFF' : ''), encodeCells(headerCells), Buffer.from(eol)]);
  let file = Buffer.concat([head, ...pieces]);
  for (const m of tail) {
    switch (m.kind) {
      case 'trailing_blank_line':
        file = Buffer.concat([file, Buffer.from(eol)]);
        break;
      case 'no_final_newline':
        if (file.subarray(file.length - eol.length).toString() === eol) file = file.subarray(0, file.length - eol.length);
        break;
      case 'ends_inside_quote':
        file = Buffer.concat([file, Buffer.from(`999,"the download stops in${eol}the middle of this`)]);
        break;
      case 'header_only':
        pieces = [];
        file = head;
        break;
      case 'empty':
        file = Buffer.alloc(0);
        break;
      case 'truncate':
        file = file.subarray(0, m.at % (file.length + 1));
        break;
    }
  }
  return file;
}

/** The dataset after the changes between the two exports, made at `nowSeconds`. */
function applyChanges(dataset: Dataset, changes: readonly VoucherChange[], nowSeconds: number): void {
  const ids = [...selectedVouchers({ dataset, snapshot: dataset.snapshot(CHAIN, nowSeconds), segment: null })].map((v) => v.id);
  for (const change of changes) {
    try {
      if (change.kind === 'create') {
        dataset.create(CHAIN, nowSeconds);
        continue;
      }
      if (ids.length === 0) continue;
      const id = ids[change.at % ids.length]!;
      const voucher = dataset.get(id);
      if (voucher.deleted) continue;
      switch (change.kind) {
        case 'claim':
          dataset.claim(id);
          break;
        case 'redeem':
          dataset.redeem(id, nowSeconds);
          break;
        case 'redeem_part':
          dataset.redeem(id, nowSeconds, '0.01');
          break;
        case 'lock':
          dataset.lock(id, !voucher.locked);
          break;
        case 'expire':
          dataset.setExpiry(id, nowSeconds + 7 * 86_400);
          break;
        case 'no_expiry':
          dataset.setExpiry(id, null);
          break;
        case 'delete':
          dataset.delete(id);
          break;
      }
    } catch (error) {
      // A change the voucher's state does not allow (claim a redeemed one): the simulator refuses it.
      if (!(error instanceof VoucherStateError || error instanceof VoucherNotFoundError)) throw error;
    }
  }
}

// --- Generators -----------------------------------------------------------------------------------

const droppable = EXPORT_FIELDS.map((f) => f.name);
const malformedRow: fc.Arbitrary<MalformedRow> = fc.oneof(
  fc.record({ row: fc.integer({ min: 1, max: 300 }), kind: fc.constantFrom(...MALFORMED_KINDS, ...HOSTILE_KINDS.filter((k) => k !== 'huge_field')) }),
  fc.record({
    row: fc.integer({ min: 1, max: 300 }),
    kind: fc.constant('huge_field' as const),
    bytes: fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 3000, max: 80_000 })),
  }),
);
const anyDialect: fc.Arbitrary<CsvDialect> = fc
  .record({
    bom: fc.boolean(),
    lineEnding: fc.constantFrom('\n' as const, '\r\n' as const),
    header: fc.constantFrom('default' as const, 'classic' as const),
    timestamps: fc.constantFrom('z' as const, 'offset' as const, 'space' as const),
    extraColumn: fc.option(
      fc.oneof(
        fc.constantFrom('loyalty_tier', 'note', ' Tier ', 'é', 'a,b', 'a"b', 'amount_x', 'id2', 'x_seconds_remaining', 'chain', 'Extra\nColumn'),
        ...(INCLUDE_KNOWN ? [fc.constant('x'.repeat(1100))] : []),
      ),
      { nil: null },
    ),
    duplicateExtraColumn: fc.boolean(),
    dropColumns: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 2, arbitrary: fc.subarray(droppable, { maxLength: 6 }) }),
    shuffleColumns: fc.boolean(),
    malformedRows: fc.oneof({ weight: 2, arbitrary: fc.constant([]) }, { weight: 3, arbitrary: fc.array(malformedRow, { maxLength: 4 }) }),
    repeatFirstRows: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 12 }) }),
  })
  .map((d) => ({ ...d, duplicateExtraColumn: d.duplicateExtraColumn && d.extraColumn !== null }));

const cellMutation = (alike: fc.Arbitrary<boolean>): fc.Arbitrary<CellMutation> =>
  fc.record({
    row: fc.nat(400),
    field: fc.nat(30),
    structural: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    alike,
    pick: fc.nat(200),
    everyRow: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  });
/** Any shape (one the typed path refuses sends the whole export to the reference path)… */
const anyCell = cellMutation(fc.boolean());
/** …or only shapes both read alike, many to an export, so that the typed path loads them together. */
const alikeCell = cellMutation(fc.constant(true));
const fileMutation: fc.Arbitrary<FileMutation> = fc.oneof(
  fc.record({ kind: fc.constantFrom('blank_line' as const, 'bare_cr' as const, 'other_eol' as const, 'backslash_dot_line' as const, 'repeat_header' as const, 'whitespace_line' as const), at: fc.nat(400) }),
  fc.record({ kind: fc.constant('insert_bytes' as const), at: fc.nat(400), offset: fc.nat(400), bytes: fc.nat(20) }),
  fc.record({ kind: fc.constant('duplicate_row' as const), at: fc.nat(400), to: fc.nat(400) }),
  fc.record({ kind: fc.constant('header_cell' as const), at: fc.nat(30), pick: fc.nat(30) }),
  fc.record({ kind: fc.constantFrom('trailing_blank_line' as const, 'no_final_newline' as const, 'ends_inside_quote' as const, 'header_only' as const, 'empty' as const) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(200_000) }),
  // Known differences (the todo tests) start at a header longer than the smallest maxRecordBytes
  // (1,024 bytes), at 1,600 fields, and at rows of 8 KB of short fields: only SPAAZA_DIFF_KNOWN=1 goes there.
  fc.record({ kind: fc.constant('wide_columns' as const), count: fc.integer({ min: 1, max: INCLUDE_KNOWN ? 1700 : 60 }), width: fc.integer({ min: 0, max: INCLUDE_KNOWN ? 20 : 8 }) }),
);

const CLEAN: ExportSpec = { dialect: DEFAULT_DIALECT, cells: [], file: [] };
const messyExport: fc.Arbitrary<ExportSpec> = fc.record({
  dialect: fc.oneof({ weight: 1, arbitrary: fc.constant(DEFAULT_DIALECT) }, { weight: 3, arbitrary: anyDialect }),
  cells: fc.oneof(
    { weight: 1, arbitrary: fc.constant([]) },
    { weight: 3, arbitrary: fc.array(anyCell, { minLength: 1, maxLength: 4 }) },
    { weight: 3, arbitrary: fc.array(alikeCell, { minLength: 1, maxLength: 12 }) },
  ),
  file: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(fileMutation, { minLength: 1, maxLength: 2 }) }),
});
/** The second export: the first's dialect, sometimes with damage of its own. */
const secondExport = (first: ExportSpec): fc.Arbitrary<ExportSpec> =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant({ dialect: first.dialect, cells: [], file: [] }) },
    { weight: 1, arbitrary: fc.constant(first) },
    { weight: 1, arbitrary: fc.record({ dialect: fc.constant(first.dialect), cells: fc.array(fc.oneof(anyCell, alikeCell), { maxLength: 6 }), file: fc.array(fileMutation, { maxLength: 1 }) }) },
    // Another dialect: columns dropped (kept as stored), others added, the header renamed.
    { weight: 1, arbitrary: fc.record({ dialect: anyDialect, cells: fc.array(alikeCell, { maxLength: 6 }), file: fc.constant([]) }) },
  );
const voucherChange: fc.Arbitrary<VoucherChange> = fc.oneof(
  fc.record({ kind: fc.constantFrom('claim' as const, 'redeem' as const, 'redeem_part' as const, 'lock' as const, 'expire' as const, 'no_expiry' as const, 'delete' as const), at: fc.nat(400) }),
  fc.constant({ kind: 'create' as const }),
);

const scenario: fc.Arbitrary<Scenario> = fc
  .tuple(fc.oneof({ weight: 1, arbitrary: fc.constant(CLEAN) }, { weight: 3, arbitrary: messyExport }))
  .chain(([first]) =>
    fc.record({
      seed: fc.integer({ min: 1, max: 1_000_000 }),
      vouchers: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 300 })),
      first: fc.constant(first),
      changes: fc.array(voucherChange, { maxLength: 12 }),
      second: secondExport(first),
      secondShift: fc.constantFrom(HOUR, HOUR, HOUR, 0, -HOUR),
      reconcile: fc.option(fc.record({ maxDeleteRatio: fc.constantFrom(0.5, 1), allowMassDelete: fc.boolean() }), { nil: null }),
      batchRows: fc.constantFrom(undefined, 7, 7, 50, 1000),
      maxRecordBytes: fc.constantFrom(undefined, undefined, 1024, 2048, 8192),
      maxRejectRatio: fc.constantFrom(DEFAULTS.maxRejectRatio, DEFAULTS.maxRejectRatio, 0, 0.5),
      chunkBytes: fc.option(fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 65, max: 4096 })), { nil: undefined, freq: 2 }),
      dryRunFirst: fc.boolean(),
    }),
  );

const isClean = (spec: ExportSpec) => spec.cells.length === 0 && spec.file.length === 0 && spec.dialect === DEFAULT_DIALECT;

// --- Loading and comparing ------------------------------------------------------------------------

type Outcome = { readonly result: Omit<LoadResult, 'loadPath'> } | { readonly error: { readonly name: string; readonly code: string | null; readonly message: string } };
interface Loaded {
  readonly outcome: Outcome;
  readonly loadPath: string | null;
}

interface LoadSpec {
  readonly file: string;
  readonly exportedAt: Date;
  readonly scenario: Scenario;
  readonly reconcile: Scenario['reconcile'];
  /** load-file --dry-run: what would change, by status, and nothing written. */
  readonly dryRun?: boolean;
}

async function* pieces(file: string, size: number): AsyncGenerator<Buffer> {
  const bytes = readFileSync(file);
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/** load-file, or (for a full refresh, or a file read in small pieces) what load-file does, through loadWindow. */
async function load(schema: string, loadPath: LoadPathSetting, spec: LoadSpec): Promise<Loaded> {
  const { scenario: s } = spec;
  const options = {
    settings: {
      maxRejectRatio: s.maxRejectRatio,
      noExpiryFrom: DEFAULTS.noExpiryFrom,
      ...(s.maxRecordBytes !== undefined ? { maxRecordBytes: s.maxRecordBytes } : {}),
      ...(s.batchRows !== undefined ? { mergeBatchRows: s.batchRows } : {}),
      loadPath,
    },
    logger: silentLogger,
  };
  try {
    let result: LoadResult;
    if ((spec.reconcile === null && s.chunkBytes === undefined) || spec.dryRun) {
      const { syncRunId: _, ...loaded } = await loadFile({ warehouse, schema, chainId: CHAIN, file: spec.file, exportedAt: spec.exportedAt, ...(spec.dryRun ? { dryRun: true } : {}), ...options });
      result = loaded;
    } else {
      const tables = warehouseTables(schema);
      const client = await warehouse.pool.connect();
      try {
        const syncRunId = await createRun(client, tables, { runId: randomUUID(), chainId: CHAIN, mode: spec.reconcile ? 'full-refresh' : 'file', state: 'loading', source: path.basename(spec.file) });
        const source = () => (s.chunkBytes === undefined ? Readable.from([readFileSync(spec.file)]) : Readable.from(pieces(spec.file, s.chunkBytes)));
        result = await loadWindow({
          client,
          tables,
          chainId: CHAIN,
          syncRunId,
          source: source(),
          stage: stageExport,
          reopen: source,
          exportedAt: spec.exportedAt,
          ...(spec.reconcile ? { reconcile: { ...spec.reconcile, isComplete: () => true } } : {}),
          ...options,
        });
      } finally {
        client.release(true);
      }
    }
    const { loadPath: taken, ...rest } = result;
    return { outcome: { result: rest }, loadPath: taken };
  } catch (error) {
    const e = error as Error & { code?: unknown };
    return { outcome: { error: { name: e.constructor.name, code: error instanceof WindowLoadError || typeof e.code === 'string' ? String(e.code) : null, message: e.message } }, loadPath: null };
  }
}

/** Everything a load leaves that does not come from the warehouse's clock or its run ids. */
async function contents(schema: string): Promise<Record<string, string[]>> {
  const q = async (sql: string) => (await warehouse.pool.query<{ r: string }>(sql)).rows.map((row) => row.r);
  return {
    vouchers: await q(
      `SELECT (to_jsonb(v) - '{first_seen_run_id,last_seen_run_id,first_seen_at,updated_at,deleted_at}'::text[] || jsonb_build_object('deleted', v.deleted_at IS NOT NULL))::text AS r
       FROM "${schema}".vouchers v ORDER BY chain_id, voucher_id`,
    ),
    campaigns: await q(`SELECT (to_jsonb(c) - '{first_seen_run_id,last_seen_run_id,first_seen_at,last_seen_at}'::text[])::text AS r FROM "${schema}".campaigns c ORDER BY chain_id, campaign_id`),
    voucher_rejects: await q(
      `SELECT jsonb_build_array(dense_rank() OVER (ORDER BY sync_run_id), chain_id, window_start, window_end, line, voucher_id, raw_record, reason)::text AS r
       FROM "${schema}".voucher_rejects ORDER BY sync_run_id, line, reason, raw_record`,
    ),
    sync_runs: await q(`SELECT (to_jsonb(s) - '{id,run_id,started_at,finished_at}'::text[])::text AS r FROM "${schema}".sync_runs s ORDER BY id`),
  };
}

/** The first place where the two loads differ, said in a line or two; null when they agree. */
function firstDifference(reference: unknown, auto: unknown, where = ''): string | null {
  if (Object.is(reference, auto)) return null;
  if (reference instanceof Date && auto instanceof Date) return reference.getTime() === auto.getTime() ? null : `${where}: reference ${reference.toISOString()}, auto ${auto.toISOString()}`;
  if (Array.isArray(reference) && Array.isArray(auto)) {
    for (let i = 0; i < Math.max(reference.length, auto.length); i++) {
      const d = firstDifference(reference[i], auto[i], `${where}[${i}]`);
      if (d) return `${d}${reference.length !== auto.length ? ` (lengths ${reference.length} and ${auto.length})` : ''}`;
    }
    return null;
  }
  if (reference && auto && typeof reference === 'object' && typeof auto === 'object') {
    const keys = new Set([...Object.keys(reference), ...Object.keys(auto)]);
    for (const key of keys) {
      const d = firstDifference((reference as Record<string, unknown>)[key], (auto as Record<string, unknown>)[key], `${where}.${key}`);
      if (d) return d;
    }
    return null;
  }
  return `${where}:\n  reference ${JSON.stringify(reference)}\n  auto      ${JSON.stringify(auto)}`;
}

/** The tables a load writes; emptied between scenarios (warehouse_identity and the migrations stay). */
const LOAD_TABLES = ['vouchers', 'campaigns', 'voucher_rejects', 'sync_runs', 'sync_state', 'schedule_leases'];

/**
 * Two schemas migrated once (migrating per scenario would cost more than the loads, and kysely's
 * introspection trips over schemas other test processes drop meanwhile), emptied before each
 * scenario: as fresh as just migrated, identities restarted.
 */
async function freshSchemas(): Promise<void> {
  for (const schema of Object.values(schemas)) {
    await warehouse.pool.query(`TRUNCATE ${LOAD_TABLES.map((t) => `"${schema}".${t}`).join(', ')} RESTART IDENTITY CASCADE`);
  }
}

interface Tally {
  runs: number;
  autoLoads: number;
  typed: number;
  cleanLoads: number;
  cleanTyped: number;
  cleanNotTyped: string[];
  failedAlike: number;
  /** Of those, windows failed for too many rejects. */
  tooManyRejects: number;
  rejects: number;
}

/** The bytes as a JSON string: as UTF-8 when they are, else byte for byte (latin1). */
function showBytes(bytes: Buffer): string {
  const shown = bytes.length > 3000 ? bytes.subarray(0, 3000) : bytes;
  let text: string;
  try {
    text = `${JSON.stringify(new TextDecoder('utf-8', { fatal: true }).decode(shown))} (UTF-8)`;
  } catch {
    text = `${JSON.stringify(shown.toString('latin1'))} (latin1: not UTF-8)`;
  }
  return bytes.length > shown.length ? `${text}… (${bytes.length} bytes)` : text;
}

let kept = 0;

/** Loads one export into both schemas (as they are) and throws at the first difference, with the export. */
async function compareLoads(bytes: Buffer, step: string, spec: Omit<LoadSpec, 'file'>): Promise<{ reference: Loaded; auto: Loaded }> {
  const file = path.join(dir, 'export.csv');
  writeFileSync(file, bytes);
  const reference = await load(schemas.reference, 'reference', { ...spec, file });
  const auto = await load(schemas.auto, 'auto', { ...spec, file });
  if (reference.loadPath !== null) assert.equal(reference.loadPath, 'reference');
  const difference =
    firstDifference(reference.outcome, auto.outcome, 'load') ??
    firstDifference(await contents(schemas.reference), await contents(schemas.auto), 'tables');
  if (difference !== null) {
    const copy = path.join(tmpdir(), `spaaza-diff-${process.pid}-${++kept}.csv`);
    writeFileSync(copy, bytes);
    assert.fail(`the two load paths differ on the ${step} (auto took ${auto.loadPath ?? 'no path: it failed'}), at ${difference}\nexport kept in ${copy}; its bytes: ${showBytes(bytes)}`);
  }
  return { reference, auto };
}

/** One scenario: both steps into both schemas; throws on the first difference, with the export. */
async function compareScenario(s: Scenario, tally: Tally): Promise<void> {
  await freshSchemas();
  const dataset = new Dataset(s.seed, [CHAIN], s.vouchers, START_SECONDS);
  const steps: { name: string; spec: ExportSpec; bytes: () => Buffer; exportedAt: Date; reconcile: Scenario['reconcile'] }[] = [
    { name: 'first export', spec: s.first, bytes: () => renderExport(dataset, START_SECONDS, s.first), exportedAt: T0, reconcile: null },
    {
      name: 'second export',
      spec: s.second,
      bytes: () => {
        applyChanges(dataset, s.changes, START_SECONDS + HOUR / 2);
        return renderExport(dataset, START_SECONDS + HOUR, s.second);
      },
      exportedAt: new Date((START_SECONDS + s.secondShift) * 1000),
      reconcile: s.reconcile,
    },
  ];
  tally.runs += 1;
  for (const [k, step] of steps.entries()) {
    const bytes = step.bytes();
    if (k > 0 && s.dryRunFirst) await compareLoads(bytes, `${step.name} (dry run)`, { exportedAt: step.exportedAt, scenario: s, reconcile: null, dryRun: true });
    const { reference, auto } = await compareLoads(bytes, step.name, { exportedAt: step.exportedAt, scenario: s, reconcile: step.reconcile });
    tally.autoLoads += 1;
    if (auto.loadPath === 'typed-copy') tally.typed += 1;
    if ('error' in reference.outcome && 'error' in auto.outcome) {
      tally.failedAlike += 1;
      if (reference.outcome.error.code === 'too_many_rejects') tally.tooManyRejects += 1;
    }
    if ('result' in reference.outcome) tally.rejects += reference.outcome.result.rejected;
    if (isClean(step.spec)) {
      tally.cleanLoads += 1;
      if (auto.loadPath === 'typed-copy') tally.cleanTyped += 1;
      else tally.cleanNotTyped.push(`${step.name} of ${JSON.stringify(s)}: ${JSON.stringify(auto.outcome).slice(0, 300)}`);
    }
  }
}

const SWEEP = process.env.SPAAZA_DIFF_SWEEP === '1';

/** A small clean export with one mutation, loaded once (the second step loads it unchanged again). */
function single(first: Omit<ExportSpec, 'dialect'>, overrides: Partial<Scenario> = {}): Scenario {
  const spec = { dialect: DEFAULT_DIALECT, ...first };
  return {
    seed: 1, vouchers: 6, first: spec, changes: [], second: spec, secondShift: HOUR, reconcile: null, batchRows: undefined, maxRecordBytes: undefined, maxRejectRatio: 0.5,
    chunkBytes: undefined, dryRunFirst: false, ...overrides,
  };
}

describe('the typed COPY path loads every export exactly as the reference path does', () => {
  it(`differential property: arbitrary exports, loaded by both paths, leave the same warehouse (seed ${SEED}, ${RUNS} runs)`, async (t) => {
    const tally: Tally = { runs: 0, autoLoads: 0, typed: 0, cleanLoads: 0, cleanTyped: 0, cleanNotTyped: [], failedAlike: 0, tooManyRejects: 0, rejects: 0 };
    const started = Date.now();
    try {
      // The time limit is the property's own, not fast-check's: its interruptAfterTimeLimit only
      // races an async run, which goes on loading in the background into schemas the next test
      // truncates (CI saw a deadlock, and that run's rows), and skipAllAfterTimeLimit counts the
      // runs it skips as precondition failures. Past the limit a run draws nothing and passes.
      const deadline = started + TIME_LIMIT_MS;
      await fc.assert(fc.asyncProperty(scenario, async (s) => (Date.now() < deadline ? compareScenario(s, tally) : undefined)), {
        seed: SEED,
        numRuns: RUNS,
        // The path fast-check printed: replays that counterexample (and shrinks on from it).
        ...(process.env.SPAAZA_DIFF_PATH ? { path: process.env.SPAAZA_DIFF_PATH } : {}),
      });
    } catch (error) {
      // fast-check keeps the shrunk case's own failure as the cause: say it with the seed and path.
      const cause = (error as Error).cause;
      throw new Error(`${(error as Error).message}\n\nThe shrunk case fails with: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
    const share = (n: number, of: number) => `${n}/${of} (${of === 0 ? 0 : Math.round((100 * n) / of)}%)`;
    const summary =
      `${tally.runs} scenarios in ${((Date.now() - started) / 1000).toFixed(1)} s: the auto side took the typed COPY path in ${share(tally.typed, tally.autoLoads)} loads, ` +
      `in ${share(tally.cleanTyped, tally.cleanLoads)} of the clean ones; ${tally.failedAlike} loads failed alike (${tally.tooManyRejects} for too many rejects); ${tally.rejects} rejected records in the loads that committed`;
    t.diagnostic(summary);
    console.log(summary);
    assert.ok(tally.runs >= Math.min(RUNS, 10), `only ${tally.runs} scenarios ran before the time limit`);
    assert.ok(tally.cleanLoads > 0, 'some exports were clean');
    assert.deepEqual(tally.cleanNotTyped, [], 'every clean export (default dialect, LF, no damage) is loaded by the typed COPY path');
    assert.ok(tally.typed > tally.cleanTyped, 'the typed COPY path also loads some exports that are not clean');
  });

  // The differences the property found, shrunk by hand to their smallest export, each with what
  // the typed path did before it was fixed (the scanner now sends all four to the reference path).
  // SPAAZA_DIFF_KNOWN=1 puts their inputs back into the property's generators.
  const difference = (name: string, before: string, csv: string, options: Partial<Scenario> = {}, failsWith?: string): void => {
    it(name, async (t) => {
      t.diagnostic(`before the fix: ${before}`);
      await freshSchemas();
      const { reference } = await compareLoads(Buffer.from(csv), 'export', { exportedAt: T0, scenario: single({ cells: [], file: [] }, options), reconcile: null });
      if (failsWith) assert.equal('error' in reference.outcome ? reference.outcome.error.code : 'loaded', failsWith);
    });
  };
  difference(
    'a status of nothing but ASCII white space is a reject, on both paths',
    'the typed path loads voucher 1 with status NULL; the reference rejects line 2 ("status (status) is empty")',
    'id,status\n1, \n2,claimed\n',
  );
  difference(
    'a header longer than sync.maxRecordBytes fails both paths alike, with csv_header_too_long',
    'the reference cut the header at maxRecordBytes (its last name then held the cut sentinel\'s NUL, and the load failed with sqlstate_22P05); the typed path loaded the row',
    `id,status,${'x'.repeat(1100)}\n1,claimed,a\n`,
    { maxRecordBytes: 1024 },
    'csv_header_too_long',
  );

  const wide = (fields: number, width: number) => {
    const names = Array.from({ length: fields - 2 }, (_, i) => `c${i}`);
    return `id,status,${names.join(',')}\n1,claimed,${names.map(() => 'x'.repeat(width)).join(',')}\n`;
  };
  difference(
    'an export of 1,600 columns (1,598 unknown) is loaded alike',
    'the typed path fails the load with sqlstate_54011 (its staging table would have 1,601 columns, and class 54 is no fallback); the reference loads the row, the unknown columns in extra',
    wide(1600, 1),
  );
  difference(
    'a record of many short unknown fields (1,000 of 9 bytes) is loaded alike',
    'the typed path fails the load with sqlstate_54000 "row is too big: size 10032, maximum size 8160" (fields too short to TOAST, and class 54 is no fallback); the reference loads it',
    wide(1000, 9),
  );

  // Every shape of the catalogue alone, in every column (and every file mutation alone): slow, so
  // only on demand (SPAAZA_DIFF_SWEEP=1), to see which the typed path takes and that all agree.
  it('every mutation of the catalogue, alone in an export, loads alike', { skip: SWEEP ? false : 'set SPAAZA_DIFF_SWEEP=1' }, async (t) => {
    const tally: Tally = { runs: 0, autoLoads: 0, typed: 0, cleanLoads: 0, cleanTyped: 0, cleanNotTyped: [], failedAlike: 0, tooManyRejects: 0, rejects: 0 };
    const failures: string[] = [];
    const cases: Scenario[] = [];
    const fields = fieldNames(DEFAULT_DIALECT);
    for (const [field, name] of fields.entries()) {
      const category = CATEGORY_BY_FIELD[name] ?? 'text';
      for (const structural of [false, true]) {
        for (const alike of [true, false]) {
          const shapes = structural ? STRUCTURAL : VALUES[category];
          const count = (alike ? shapes.alike : shapes.other).length;
          for (let pick = 0; pick < count; pick++) cases.push(single({ cells: [{ row: 2, field, structural, alike, pick, everyRow: false }], file: [] }));
        }
      }
    }
    for (let pick = 0; pick < HEADER_SHAPES.length; pick++) for (const at of [0, 8, 10]) cases.push(single({ cells: [], file: [{ kind: 'header_cell', at, pick }] }));
    for (const kind of ['blank_line', 'bare_cr', 'other_eol', 'backslash_dot_line', 'repeat_header', 'whitespace_line'] as const) cases.push(single({ cells: [], file: [{ kind, at: 3 }] }));
    for (let bytes = 0; bytes < INSERTED_BYTES.length; bytes++) for (const offset of [0, 5, 60]) cases.push(single({ cells: [], file: [{ kind: 'insert_bytes', at: 2, offset, bytes }] }));
    for (const kind of ['trailing_blank_line', 'no_final_newline', 'ends_inside_quote', 'header_only', 'empty'] as const) cases.push(single({ cells: [], file: [{ kind }] }));
    const typedBefore = () => tally.typed;
    const typedCases: string[] = [];
    for (const c of cases) {
      const before = typedBefore();
      try {
        await compareScenario(c, tally);
      } catch (error) {
        failures.push(`${JSON.stringify({ cells: c.first.cells, file: c.first.file })}: ${(error as Error).message.slice(0, 1500)}`);
      }
      if (tally.typed - before === 2) typedCases.push(JSON.stringify({ cells: c.first.cells, file: c.first.file }));
    }
    t.diagnostic(`${cases.length} cases; the typed COPY path took ${typedCases.length} of them`);
    if (process.env.SPAAZA_DIFF_SWEEP_LIST === '1') for (const c of typedCases) t.diagnostic(`typed: ${c}`);
    assert.deepEqual(failures, []);
  });
});
