/**
 * Every CSV dialect option of the simulator, each downloaded over HTTP, parsed with csv-parse and
 * compared with the default export of the same data.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { CsvWriter, DEFAULT_DIALECT, HUGE_FIELD_BYTES } from '../../../src/simulator/csv-dialect.js';
import { startSimulator, type Simulator } from '../../../src/simulator/simulator.js';
import { control, parseCsv, parseCsvRows, runExport, runExportFile, type ApiError } from '../../support/simulator-client.js';

const DEFAULT_HEADER = [
  'id', 'voucher_key', 'chain_id', 'user_id', 'campaign_id', 'campaign_type', 'campaign_title', 'type', 'status', 'locked', 'title',
  'currency_id', 'currency_symbol', 'amount_original', 'amount_redeemed', 'amount', 'date_time_creation', 'date_time_redeemed', 'date_time_expiry',
];
/** The classic API's names (reference §7.2) where they exist. */
const CLASSIC_HEADER = [
  'voucher_id', 'voucher_key', 'chain_id', 'user_id', 'campaign_id', 'campaign_type', 'campaign_title', 'voucher_type', 'voucher_status',
  'voucher_locked', 'voucher_title', 'voucher_currency_id', 'voucher_currency_symbol', 'voucher_amount_original', 'voucher_amount_redeemed',
  'voucher_amount', 'voucher_created_datetime', 'voucher_redeemed_datetime', 'voucher_expiry_datetime_utc',
];
const DATE_COLUMNS = ['date_time_creation', 'date_time_redeemed', 'date_time_expiry'].map((c) => DEFAULT_HEADER.indexOf(c));
const col = (name: string) => DEFAULT_HEADER.indexOf(name);

/** The text with every quoted field removed: what is left shows the record separators. */
const outsideQuotes = (text: string) => text.replace(/"(?:[^"]|"")*"/g, '');
/** RFC 4180, written out here so that the expected bytes do not come from the writer under test. */
const rfc4180 = (cell: string) => (/[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell);
const lineOf = (cells: readonly string[]) => `${cells.map(rfc4180).join(',')}\n`;
/** How a relaxed reader reads whatever it is given: no throw on stray quotes or ragged rows. */
const relaxed = (text: string) => parse(text, { relax_quotes: true, relax_column_count: true }) as string[][];

describe('CSV dialects', () => {
  let sim: Simulator;
  let baseText: string;
  let baseRows: string[][];
  let baseRecords: Record<string, string>[];

  before(async () => {
    sim = await startSimulator({ port: 0, chains: 1, vouchersPerChain: 200, taskDurationMs: 0, clockRate: 0 });
    baseText = (await runExport(sim)).text;
    baseRows = parseCsvRows(baseText);
    baseRecords = parseCsv(baseText);
  });
  afterEach(() => sim.setDialect({}));
  after(() => sim.close());

  /** Exports in the current dialect: the raw bytes, the text and the rows (header first). */
  async function exportNow(): Promise<{ bytes: Buffer; text: string; rows: string[][] }> {
    const { bytes, text } = await runExportFile(sim);
    return { bytes, text, rows: parseCsvRows(text) };
  }

  it('default: the documented header, LF, no BOM, Z timestamps, RFC 4180 quoting', () => {
    assert.deepEqual(baseRows[0], DEFAULT_HEADER);
    assert.ok(baseText.startsWith(`${DEFAULT_HEADER.join(',')}\n`));
    assert.notEqual(baseText.charCodeAt(0), 0xfeff);
    assert.ok(!outsideQuotes(baseText).includes('\r'), 'records end in LF');
    assert.equal(outsideQuotes(baseText).split('\n').length - 1, baseRows.length);
    assert.ok(baseRows.slice(1).every((r) => r.length === DEFAULT_HEADER.length));
    for (const i of DATE_COLUMNS) assert.ok(baseRows.slice(1).every((r) => r[i] === '' || /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(r[i]!)));
    assert.ok(baseRows.length > 150);
  });

  it('bom: the file starts with a UTF-8 byte order mark', async () => {
    sim.setDialect({ bom: true });
    const { bytes, text, rows } = await exportNow();
    assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
    assert.equal(text.slice(1), baseText);
    assert.deepEqual(rows, baseRows, 'csv-parse with bom: true reads it as the default');
    assert.deepEqual(parseCsv(text), baseRecords);
  });

  it('CRLF: every record ends in CRLF (set over PUT /_control/dialect)', async () => {
    const put = await control<Record<string, unknown>>(sim, 'PUT', '/dialect', { lineEnding: '\r\n' });
    assert.equal(put.status, 200);
    assert.equal(put.body.lineEnding, '\r\n');
    assert.equal((await control<Record<string, unknown>>(sim, 'GET', '/dialect')).body.lineEnding, '\r\n');
    const { text, rows } = await exportNow();
    const bare = outsideQuotes(text);
    assert.equal(bare.split('\r\n').length - 1, baseRows.length);
    assert.ok(!/[^\r]\n/.test(bare), 'no bare LF between records');
    assert.ok(text.startsWith(`${DEFAULT_HEADER.join(',')}\r\n`));
    assert.deepEqual(rows, baseRows, 'line breaks inside quoted titles are kept as they are');
  });

  it('classic header: the voucher_* names of reference §7.2, same data', async () => {
    sim.setDialect({ header: 'classic' });
    const { rows } = await exportNow();
    assert.deepEqual(rows[0], CLASSIC_HEADER);
    assert.deepEqual(rows.slice(1), baseRows.slice(1));
  });

  it('offset timestamps: 2026-05-26T12:00:00+00:00', async () => {
    sim.setDialect({ timestamps: 'offset' });
    const { rows } = await exportNow();
    assert.deepEqual(rows[0], DEFAULT_HEADER);
    rows.slice(1).forEach((r, k) => {
      const base = baseRows[k + 1]!;
      for (let i = 0; i < r.length; i++) {
        if (!DATE_COLUMNS.includes(i) || base[i] === '') assert.equal(r[i], base[i]);
        else {
          assert.match(r[i]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
          assert.equal(Date.parse(r[i]!), Date.parse(base[i]!));
        }
      }
    });
    assert.ok(rows.some((r) => r[col('date_time_expiry')] === '2050-01-01T00:00:00+00:00'));
  });

  it('space timestamps: 2026-05-26 12:00:00, UTC implied', async () => {
    sim.setDialect({ timestamps: 'space' });
    const { rows } = await exportNow();
    rows.slice(1).forEach((r, k) => {
      const base = baseRows[k + 1]!;
      for (let i = 0; i < r.length; i++) {
        if (!DATE_COLUMNS.includes(i) || base[i] === '') assert.equal(r[i], base[i]);
        else {
          assert.match(r[i]!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
          assert.equal(`${r[i]!.replace(' ', 'T')}Z`, base[i]);
        }
      }
    });
    assert.ok(rows.some((r) => r[col('date_time_expiry')] === '2050-01-01 00:00:00'), 'the sentinel as the classic API writes it');
  });

  it('an extra unknown column, appended to every row', async () => {
    sim.setDialect({ extraColumn: 'loyalty_tier' });
    const { rows } = await exportNow();
    assert.deepEqual(rows[0], [...DEFAULT_HEADER, 'loyalty_tier']);
    rows.slice(1).forEach((r, k) => {
      assert.deepEqual(r.slice(0, -1), baseRows[k + 1]);
      assert.ok(['gold', 'silver', 'bronze', ''].includes(r.at(-1)!));
    });
    assert.equal(new Set(rows.slice(1).map((r) => r.at(-1))).size, 4);
  });

  it('dropped columns', async () => {
    const dropped = ['voucher_key', 'date_time_redeemed'];
    sim.setDialect({ dropColumns: dropped });
    const { rows } = await exportNow();
    const keep = DEFAULT_HEADER.map((_, i) => i).filter((i) => !dropped.includes(DEFAULT_HEADER[i]!));
    assert.deepEqual(rows[0], DEFAULT_HEADER.filter((h) => !dropped.includes(h)));
    rows.slice(1).forEach((r, k) => assert.deepEqual(r, keep.map((i) => baseRows[k + 1]![i])));
  });

  it('shuffled column order: a fixed permutation, same records by name', async () => {
    sim.setDialect({ shuffleColumns: true });
    const first = await exportNow();
    const second = await exportNow();
    assert.equal(first.text, second.text, 'the order comes from the seed');
    const header = first.rows[0]!;
    assert.notDeepEqual(header, DEFAULT_HEADER);
    assert.deepEqual([...header].sort(), [...DEFAULT_HEADER].sort());
    assert.deepEqual(parseCsv(first.text), baseRecords);
  });

  it('malformed rows of each kind at the given rows; the others untouched', async () => {
    const malformed = [
      { row: 1, kind: 'too_few_fields' },
      { row: 2, kind: 'too_many_fields' },
      { row: 7, kind: 'bad_timestamp' },
      { row: 40, kind: 'bad_amount' },
      { row: 41, kind: 'bad_boolean' },
      { row: 100, kind: 'bad_id' },
    ] as const;
    const put = await control(sim, 'PUT', '/dialect', { malformedRows: malformed });
    assert.equal(put.status, 200, put.text);
    const { rows } = await exportNow();
    assert.equal(rows.length, baseRows.length);
    const base = (row: number) => baseRows[row]!;
    const replaced = (row: number, column: string, value: string) => base(row).map((cell, i) => (i === col(column) ? value : cell));
    assert.deepEqual(rows[1], base(1).slice(0, DEFAULT_HEADER.length - 3));
    assert.deepEqual(rows[2], [...base(2), 'surplus', 'cells']);
    assert.deepEqual(rows[7], replaced(7, 'date_time_creation', '31/02/2026 25:61'));
    assert.deepEqual(rows[40], replaced(40, 'amount', '12,5O'));
    assert.deepEqual(rows[41], replaced(41, 'locked', 'maybe'));
    assert.deepEqual(rows[100], replaced(100, 'id', 'not-a-number'));
    const bad = new Set<number>(malformed.map((m) => m.row));
    for (let row = 1; row < rows.length; row++) if (!bad.has(row)) assert.deepEqual(rows[row], base(row), `row ${row}`);
    // A strict parser notices the short and long rows.
    const { text } = await runExportFile(sim);
    assert.throws(() => parseCsv(text), /Invalid Record Length/);
  });

  it('open_quote: the campaign title opens a quote it never closes; the rest of the row as usual', async () => {
    // A row like the issue's: `…,birthday,"The Gold tier bonus,basket,claimed,…`, nothing quoted after it.
    const row = 1 + baseRows.slice(1).findIndex((r) => r[col('campaign_title')] === 'The "Gold" tier bonus' && r.every((c, i) => i === col('campaign_title') || rfc4180(c) === c));
    assert.ok(row > 0, 'such a row exists');
    sim.setDialect({ malformedRows: [{ row, kind: 'open_quote' }] });
    const { text } = await runExportFile(sim); // a strict parser would refuse it
    const cells = baseRows[row]!;
    const written = cells.map((c, i) => (i === col('campaign_title') ? '"The Gold tier bonus' : c)).join(',') + '\n';
    assert.ok(written.includes(`,${cells[col('campaign_type')]},"The Gold tier bonus,${cells[col('type')]},${cells[col('status')]},`));
    assert.ok(baseText.includes(lineOf(cells)));
    assert.equal(text, baseText.replace(lineOf(cells), () => written), 'only that line differs, and exactly so');

    // A relaxed parser reads on into the records that follow, up to the next quote somewhere later.
    const records = relaxed(text);
    assert.ok(records.length < baseRows.length, `${records.length - 1} records read from ${baseRows.length - 1} rows written`);
    const swallowing = records[row]!;
    assert.ok(swallowing[col('campaign_title')]!.includes('\n'), 'the open field runs over line ends');
    assert.deepEqual(records.slice(0, row), baseRows.slice(0, row), 'the rows before it read as usual');
  });

  it('open_quote on rows whose titles hold line breaks, commas, quotes: kept, but for the quotes', async () => {
    const title = col('campaign_title');
    const picked = ['\n', ',', '"'].map((ch) => 1 + baseRows.slice(1).findIndex((r) => r[title]!.includes(ch)));
    assert.ok(picked.every((row) => row > 0));
    const rows = [...new Set(picked)].sort((a, b) => a - b);
    sim.setDialect({ malformedRows: rows.map((row) => ({ row, kind: 'open_quote' as const })) });
    const { text } = await runExportFile(sim);
    let expected = baseText;
    for (const row of rows) {
      const cells = baseRows[row]!;
      const written = cells.map((c, i) => (i === title ? `"${c.replace(/"/g, '')}` : rfc4180(c))).join(',') + '\n';
      expected = expected.replace(lineOf(cells), () => written);
    }
    assert.equal(text, expected);
    // Where the open field ends depends on the quotes after it; that it is not the row as written does not.
    const first = rows[0]!;
    const records = relaxed(text);
    assert.deepEqual(records.slice(0, first), baseRows.slice(0, first));
    assert.notDeepEqual(records[first], baseRows[first]);
  });

  it('padded_id and signed_id: 000123 and +123, the row otherwise as usual', async () => {
    sim.setDialect({ malformedRows: [{ row: 4, kind: 'padded_id' }, { row: 9, kind: 'signed_id' }] });
    const { rows } = await exportNow();
    assert.equal(rows.length, baseRows.length);
    const withId = (row: number, id: string) => baseRows[row]!.map((c, i) => (i === col('id') ? id : c));
    assert.deepEqual(rows[4], withId(4, `000${baseRows[4]![col('id')]}`));
    assert.deepEqual(rows[9], withId(9, `+${baseRows[9]![col('id')]}`));
    for (let row = 1; row < rows.length; row++) if (row !== 4 && row !== 9) assert.deepEqual(rows[row], baseRows[row]);
  });

  it('huge_field: a title of exactly the requested bytes (ASCII), quoted; 8 MiB by default', async () => {
    const put = await control(sim, 'PUT', '/dialect', { malformedRows: [{ row: 2, kind: 'huge_field', bytes: 1_000_003 }, { row: 6, kind: 'huge_field' }] });
    assert.equal(put.status, 200, put.text);
    const { bytes, rows } = await exportNow();
    assert.equal(rows.length, baseRows.length);
    for (const [row, size] of [[2, 1_000_003], [6, HUGE_FIELD_BYTES]] as const) {
      const title = rows[row]![col('title')]!;
      assert.equal(title.length, size);
      assert.equal(Buffer.byteLength(title), size, 'ASCII: one byte a character');
      assert.ok(title.startsWith('A very long voucher title, '));
      assert.deepEqual(rows[row]!.map((c, i) => (i === col('title') ? '' : c)), baseRows[row]!.map((c, i) => (i === col('title') ? '' : c)));
    }
    const baseTitles = [2, 6].reduce((sum, row) => sum + Buffer.byteLength(rfc4180(baseRows[row]![col('title')]!)), 0);
    assert.equal(bytes.length, Buffer.byteLength(baseText) - baseTitles + 1_000_003 + HUGE_FIELD_BYTES + 4, 'each written in quotes');
  });

  it('huge_field is rendered in pieces of about 64 KiB, never as one string', () => {
    const writer = new CsvWriter({ ...DEFAULT_DIALECT, malformedRows: [{ row: 1, kind: 'huge_field', bytes: 10_000_000 }] }, 1);
    const voucher = sim.groundTruth(sim.chainIds[0]!).next().value!;
    let longest = 0;
    let total = 0;
    for (const piece of writer.rowPieces(voucher, 1)) {
      longest = Math.max(longest, piece.length);
      total += piece.length;
    }
    assert.ok(longest <= 70_000, `longest piece ${longest} characters`);
    assert.ok(total > 10_000_000);
  });

  it('several kinds on one row apply together: padded_id and bad_timestamp make 000id and a bad date', async () => {
    const put = await control(sim, 'PUT', '/dialect', {
      malformedRows: [{ row: 3, kind: 'padded_id' }, { row: 3, kind: 'bad_timestamp' }, { row: 5, kind: 'signed_id' }, { row: 5, kind: 'too_many_fields' }],
    });
    assert.equal(put.status, 200, put.text);
    const { rows } = await exportNow();
    const id = (row: number) => baseRows[row]![col('id')]!;
    assert.deepEqual(rows[3], baseRows[3]!.map((c, i) => (i === col('id') ? `000${id(3)}` : i === col('date_time_creation') ? '31/02/2026 25:61' : c)));
    assert.deepEqual(rows[5], [...baseRows[5]!.map((c, i) => (i === col('id') ? `+${id(5)}` : c)), 'surplus', 'cells']);
    assert.deepEqual(rows[4], baseRows[4]);
  });

  it('duplicateExtraColumn: the unknown column twice in the header, the second with other values', async () => {
    sim.setDialect({ extraColumn: 'note', duplicateExtraColumn: true });
    const { text, rows } = await exportNow();
    assert.ok(text.startsWith(`${DEFAULT_HEADER.join(',')},note,note\n`));
    rows.slice(1).forEach((r, k) => {
      assert.deepEqual(r.slice(0, -2), baseRows[k + 1]);
      const [first, second] = r.slice(-2) as [string, string];
      assert.ok(['gold', 'silver', 'bronze', ''].includes(first));
      assert.equal(second, `${first || 'none'}-2`);
    });
    assert.ok(rows.some((r) => r.at(-2) === 'gold' && r.at(-1) === 'gold-2'));
  });

  it('options combine: BOM, CRLF, classic names, space timestamps, shuffled, extra column', async () => {
    sim.setDialect({ bom: true, lineEnding: '\r\n', header: 'classic', timestamps: 'space', shuffleColumns: true, extraColumn: 'x_tier' });
    const { bytes, text } = await exportNow();
    assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
    assert.ok(!/[^\r]\n/.test(outsideQuotes(text)));
    const records = parseCsv(text);
    assert.equal(records.length, baseRecords.length);
    assert.deepEqual(Object.keys(records[0]!).sort(), [...CLASSIC_HEADER, 'x_tier'].sort());
    records.forEach((r, k) => {
      const base = baseRecords[k]!;
      assert.equal(r.voucher_id, base.id);
      assert.equal(r.voucher_status, base.status);
      assert.equal(r.voucher_title, base.title);
      assert.equal(r.voucher_amount, base.amount);
      assert.equal(r.voucher_created_datetime!.replace(' ', 'T') + 'Z', base.date_time_creation);
    });
  });

  it('the dialect applies to exports, never to the ground truth', async () => {
    sim.setDialect({
      bom: true, header: 'classic', extraColumn: 'note', duplicateExtraColumn: true,
      malformedRows: [{ row: 1, kind: 'open_quote' }, { row: 2, kind: 'huge_field', bytes: 100_000 }, { row: 3, kind: 'padded_id' }, { row: 3, kind: 'bad_id' }],
    });
    assert.equal([...sim.groundTruthCsv(sim.chainIds[0]!)].join(''), baseText);
    const overHttp = await control(sim, 'GET', `/chains/${sim.chainIds[0]}/ground-truth`);
    assert.equal(overHttp.text, baseText);
  });

  it('invalid dialects are refused: 400 over /_control naming the field, a throw in-process', async () => {
    for (const [body, field] of [
      [{ timestamps: 'unix' }, 'timestamps'],
      [{ lineEnding: '\r' }, 'lineEnding'],
      [{ header: 'legacy' }, 'header'],
      [{ dropColumns: ['voucher_id'] }, 'dropColumns.0'],
      [{ malformedRows: [{ row: 0, kind: 'bad_id' }] }, 'malformedRows.0.row'],
      [{ malformedRows: [{ row: 3, kind: 'bad_emoji' }] }, 'malformedRows.0.kind'],
      [{ extraColumn: '' }, 'extraColumn'],
      [{ duplicateExtraColumn: true }, 'duplicateExtraColumn'],
      [{ malformedRows: [{ row: 3, kind: 'bad_id', bytes: 10 }] }, 'malformedRows.0.bytes'],
      [{ malformedRows: [{ row: 3, kind: 'huge_field', bytes: -1 }] }, 'malformedRows.0.bytes'],
      [{ quote: "'" }, 'body'],
    ] as const) {
      const reply = await control<ApiError>(sim, 'PUT', '/dialect', body);
      assert.equal(reply.status, 400, JSON.stringify(body));
      assert.equal(reply.body.error.field, field, JSON.stringify(body));
    }
    assert.equal((await control(sim, 'PUT', '/dialect', { bom: true }, sim.bearer())).status, 401);
    assert.throws(() => sim.setDialect({ dropColumns: ['voucher_id'] }), /cannot drop unknown column/);
    assert.throws(() => sim.setDialect({ duplicateExtraColumn: true }), /needs extraColumn/);
    // Nothing of it took effect.
    assert.equal((await exportNow()).text, baseText);
  });
});
