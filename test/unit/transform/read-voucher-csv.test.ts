import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { TransformError } from '../../../src/errors.js';
import { CsvWriter, DEFAULT_DIALECT, MALFORMED_KINDS, type CsvDialect, type MalformedKind } from '../../../src/simulator/csv-dialect.js';
import { Dataset } from '../../../src/simulator/dataset.js';
import { csvChunks, selectedVouchers } from '../../../src/simulator/export-file.js';
import type { Voucher } from '../../../src/simulator/voucher.js';
import type { NormalizeContext } from '../../../src/transform/normalize-record.js';
import { emptyTransformStats, type CellValue, type Reject, type TransformStats, type VoucherRow } from '../../../src/voucher/staged-export.js';
import { MAX_RECORD_LINES, readVoucherCsv, recordsUnaccounted, type TransformEvent } from '../../../src/transform/read-voucher-csv.js';

const FIXTURES = new URL('../../fixtures/csv/', import.meta.url);
const CONTEXT: NormalizeContext = { chainId: 7, noExpiryFromMs: Date.UTC(2050, 0, 1) };

interface Result {
  readonly events: TransformEvent[];
  readonly rows: VoucherRow[];
  readonly rejects: Reject[];
  readonly stats: TransformStats;
}

async function read(source: Readable | AsyncIterable<Buffer | string>, context = CONTEXT): Promise<Result> {
  const stats = emptyTransformStats();
  const events: TransformEvent[] = [];
  for await (const event of readVoucherCsv(source, context, stats)) events.push(event);
  return {
    events,
    rows: events.flatMap((e) => (e.kind === 'row' ? [e.row] : [])),
    rejects: events.flatMap((e) => (e.kind === 'reject' ? [e.reject] : [])),
    stats,
  };
}

const readText = (text: string, context = CONTEXT) => read(Readable.from([Buffer.from(text)]), context);
const fixturePath = (name: string) => new URL(name, FIXTURES);
const fixtureBytes = (name: string) => readFileSync(fixturePath(name));
/** A fixture as a file stream; a small highWaterMark splits CRLFs and UTF-8 characters across chunks. */
const readFixture = (name: string, highWaterMark?: number) => read(createReadStream(fixturePath(name), highWaterMark ? { highWaterMark } : {}));

/** The same bytes cut into chunks of `size` bytes. */
async function* chunked(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/** Events without the header map (compared across sources). */
const summary = (r: Result) => r.events.filter((e) => e.kind !== 'header');

async function assertTransformError(promise: Promise<unknown>, code: string, ...messages: RegExp[]): Promise<TransformError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    assert.ok(error instanceof TransformError, `expected TransformError, got ${String(error)}`);
    assert.equal(error.code, code);
    for (const message of messages) assert.match(error.message, message);
    return true;
  });
  return caught as TransformError;
}

describe('fixtures are byte-exact', () => {
  it('keeps the BOM, line endings and missing final newline they were written with', () => {
    const bomCrlf = fixtureBytes('bom-crlf.csv');
    assert.deepEqual([...bomCrlf.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
    assert.equal(bomCrlf.toString('utf8').split('\r\n').length, 6); // header, 3 records (one spans 2 lines), final ''
    assert.equal(/(?<!\r)\n/.test(bomCrlf.toString('utf8')), false);
    const malformed = fixtureBytes('malformed.csv').toString('utf8');
    assert.equal(malformed.split('\r\n').length, 2, 'one CRLF, inside a quoted field');
    assert.equal(malformed.endsWith('\n'), false);
    assert.equal(fixtureBytes('default.csv').includes('\r'), false);
    assert.equal(fixtureBytes('empty.csv').length, 0);
  });
});

describe('readVoucherCsv: fixtures', () => {
  it('reads the default dialect: quoted newlines, quotes, commas and non-ASCII survive exactly', async () => {
    const result = await readFixture('default.csv');
    assert.equal(result.events[0]!.kind, 'header');
    assert.equal(result.rejects.length, 0);
    assert.deepEqual(result.rows.map((r) => [r.line, r.voucherId]), [[2, '100000001'], [3, '100000002'], [4, '100000003'], [6, '100000004']]);
    const [first, second, third, fourth] = result.rows.map((r) => r.cells);
    assert.deepEqual(first, {
      voucher_id: '100000001', voucher_key: 'a0b1', user_id: '10000001', campaign_id: '1001', campaign_type: 'basket',
      campaign_title: 'Summer sale, 20% off', voucher_type: 'basket', status: 'claimed', locked: false,
      title: '€10 off, this week only', currency_id: '2', currency_symbol: '€', amount_original: '10.00',
      amount_redeemed: '0.00', amount: '10.00', created_at: '2026-01-02T03:04:05Z', redeemed_at: null,
      expires_at: '2026-04-02T03:04:05Z', is_redeemed: false, has_real_expiry: true,
    });
    assert.equal(second!.campaign_title, 'The "Gold" tier bonus');
    assert.equal(second!.title, 'Free "extra" coffee');
    assert.equal(second!.user_id, null);
    assert.equal(second!.is_redeemed, true);
    assert.equal(second!.locked, true);
    assert.equal(second!.amount, '33.33');
    assert.equal(second!.redeemed_at, '2026-01-04T05:06:07Z');
    assert.equal(second!.expires_at, '2050-01-01T00:00:00Z');
    assert.equal(second!.has_real_expiry, false);
    assert.equal(third!.campaign_title, 'Welcome!\nSecond line of the title');
    assert.equal(third!.title, '春のキャンペーン');
    assert.equal(third!.expires_at, null);
    assert.equal(third!.has_real_expiry, null);
    assert.equal(third!.amount, '0.00');
    assert.equal(fourth!.campaign_title, 'Zürich «spécial» week');
    assert.equal(fourth!.campaign_id, null);
    assert.equal(fourth!.title, 'Two lines\nof title');
    assert.equal(fourth!.amount, '1.50');
    assert.deepEqual({ ...result.stats, header: null }, { header: null, records: 4, rows: 4, rejected: 0, inconsistent: 0, unidentified: 0, hiding: 0, suspectLines: [], bytes: fixtureBytes('default.csv').length });
    assert.equal(result.stats.header, (result.events[0] as { map: unknown }).map);
  });

  it('gives the same events whatever the chunking of the bytes', async () => {
    for (const name of ['default.csv', 'bom-crlf.csv', 'malformed.csv']) {
      const whole = await readFixture(name);
      for (const size of [1, 2, 3, 7]) {
        const split = await read(chunked(fixtureBytes(name), size));
        assert.deepEqual(summary(split), summary(whole), `${name} in chunks of ${size}`);
        assert.deepEqual({ ...split.stats, header: null }, { ...whole.stats, header: null });
      }
      assert.deepEqual(summary(await readFixture(name, 5)), summary(whole));
      // A string source too.
      assert.deepEqual(summary(await read(Readable.from([fixtureBytes(name).toString('utf8')]))), summary(whole));
    }
  });

  it('reads a file with a BOM and CRLF line endings, a CRLF inside a quoted field and a reject after it', async () => {
    const result = await readFixture('bom-crlf.csv');
    const header = result.events[0]!;
    assert.equal(header.kind, 'header');
    assert.equal(header.kind === 'header' && header.map.headers[0], 'id'); // the BOM is not part of the first header
    assert.deepEqual(result.rows.map((r) => [r.line, r.voucherId]), [[2, '200000001'], [4, '200000002']]);
    assert.equal(result.rows[0]!.cells.campaign_title, 'Loyalty, "VIP", and more\r\nwith CRLF');
    assert.equal(result.rows[0]!.cells.campaign_type, 'loyalty');
    assert.equal(result.rows[0]!.cells.title, 'Ønske-gave für Dich');
    assert.equal(result.rows[0]!.cells.currency_symbol, '£');
    assert.equal(result.rows[1]!.cells.campaign_title, 'Café crème — €5 off');
    assert.equal(result.rows[1]!.cells.expires_at, null); // the last field before CRLF is empty, not "\r"
    assert.deepEqual(result.rejects, [{
      line: 5,
      raw: '200000003,b0b3,7,20000003,2002,signup,Café crème — €5 off,basket,claimed,false,Spend & save,3,£,"12,5O",0.00,12.50,2026-02-03T10:00:00Z,,',
      reason: 'amount_original (amount_original): "12,5O" is not a decimal number (expected digits with an optional "." and fraction, e.g. 12.50)',
      writtenId: '200000003',
      voucherId: '200000003',
      mayHideRecords: false,
    }]);
    // The BOM's 3 bytes are counted.
    assert.deepEqual({ ...result.stats, header: null }, { header: null, records: 3, rows: 2, rejected: 1, inconsistent: 0, unidentified: 0, hiding: 0, suspectLines: [], bytes: fixtureBytes('bom-crlf.csv').length });
  });

  it('reads the classic voucher_* header with +00:00 timestamps', async () => {
    const result = await readFixture('classic.csv');
    assert.equal(result.rejects.length, 0);
    assert.deepEqual(result.rows.map((r) => r.cells), [
      {
        voucher_id: '300000001', voucher_key: 'c0c1', user_id: '30000001', campaign_id: '3001', campaign_type: 'cashback',
        campaign_title: 'ACME birthday campaign', voucher_type: 'basket', status: 'redeemed', locked: false,
        title: 'ACME birthday voucher', currency_id: '1', currency_symbol: '$', amount_original: '20.00',
        amount_redeemed: '10.00', amount: '10.00', created_at: '2026-03-01T08:00:00Z', redeemed_at: '2026-03-02T09:30:00Z',
        expires_at: '2026-06-01T08:00:00Z', is_redeemed: true, has_real_expiry: true,
      },
      {
        voucher_id: '300000002', voucher_key: 'c0c2', user_id: '30000002', campaign_id: '3001', campaign_type: 'cashback',
        campaign_title: 'ACME birthday campaign', voucher_type: 'basket', status: 'claimed', locked: true,
        title: 'Free "extra" coffee', currency_id: '1', currency_symbol: '$', amount_original: '10.00',
        amount_redeemed: '0.00', amount: '10.00', created_at: '2026-03-03T08:00:00Z', redeemed_at: null,
        expires_at: '2050-01-01T00:00:00Z', is_redeemed: false, has_real_expiry: false,
      },
    ]);
  });

  it('reads Z, offset and space timestamps to UTC', async () => {
    const result = await readFixture('timestamps.csv');
    const times = result.rows.map((r) => [r.cells.created_at, r.cells.redeemed_at, r.cells.expires_at, r.cells.has_real_expiry]);
    assert.deepEqual(times, [
      ['2026-05-26T12:00:00Z', '2026-05-27T00:00:00.123456Z', '2050-01-01T00:00:00Z', false],
      ['2026-05-26T12:00:00Z', '2026-05-26T18:45:00Z', '2027-01-01T04:00:00Z', true],
      ['2026-05-26T12:00:00Z', '2026-05-27T00:00:00.5Z', '2050-01-01T00:00:00Z', false],
    ]);
  });

  it('reads shuffled columns, a dropped column, an unknown column and a volatile one', async () => {
    const result = await readFixture('variant.csv');
    const header = result.events[0]!;
    assert.ok(header.kind === 'header');
    assert.deepEqual(header.map.unknown, [{ index: 3, header: 'loyalty_tier' }]);
    assert.deepEqual(header.map.volatile, ['voucher_expiry_seconds_remaining']);
    assert.equal(header.map.chainIndex, 8);
    for (const missing of ['user_id', 'expires_at', 'has_real_expiry']) assert.equal(header.map.present.has(missing), false, missing);
    for (const present of ['voucher_id', 'status', 'is_redeemed', 'amount', 'redeemed_at']) assert.equal(header.map.present.has(present), true, present);
    assert.equal(result.rejects.length, 0);
    assert.deepEqual(result.rows.map((r) => [r.line, r.voucherId, r.extra]), [
      [2, '500000001', { loyalty_tier: 'gold' }],
      [3, '500000002', { loyalty_tier: null }],
      [4, '500000003', { loyalty_tier: 'bronze' }],
    ]);
    assert.deepEqual(result.rows[0]!.cells, {
      status: 'claimed', amount: '7.50', title: 'Spend & save', voucher_id: '500000001', created_at: '2026-04-01T00:00:00Z',
      campaign_title: 'Spring', voucher_key: 'e0e1', campaign_id: '5001', campaign_type: 'basket', voucher_type: 'basket',
      locked: false, currency_id: '2', currency_symbol: '€', amount_original: '7.50', amount_redeemed: '0.00',
      redeemed_at: null, is_redeemed: false,
    });
    assert.equal(result.rows[1]!.cells.is_redeemed, true);
    assert.equal(result.rows[2]!.cells.title, 'Two, commas, here');
    assert.equal(result.rows[2]!.cells.locked, false);
  });

  it('turns each kind of malformed row into a reject on the line where the record starts, skipping blank lines', async () => {
    const result = await readFixture('malformed.csv');
    const lines = result.events.slice(1).map((e) => (e.kind === 'row' ? `row ${e.row.line}` : e.kind === 'reject' ? `reject ${e.reject.line}` : 'header'));
    assert.deepEqual(lines, ['row 2', 'reject 3', 'reject 4', 'row 6', 'reject 8', 'row 9', 'reject 11', 'reject 12', 'reject 13', 'reject 17', 'row 18']);
    const byLine = new Map(result.rejects.map((r) => [r.line, r]));
    assert.match(byLine.get(3)!.reason, /^expected 19 fields as in the header, found 16: a quote may have been left open/);
    assert.equal(byLine.get(3)!.voucherId, '600000002');
    assert.equal(byLine.get(3)!.raw, '600000002,f002,7,60000001,6001,basket,Winter,basket,claimed,false,few,2,€,4.00,0.00,4.00');
    assert.match(byLine.get(4)!.reason, /^expected 19 fields as in the header, found 21: a quote may have been left open/);
    assert.deepEqual([3, 4, 8].map((line) => byLine.get(line)!.mayHideRecords), [true, true, false], 'a field count unlike the header\'s may hide records');
    assert.match(byLine.get(8)!.reason, /^created_at \(date_time_creation\): "31\/02\/2026 25:61" is not a timestamp/);
    assert.match(byLine.get(11)!.reason, /^amount \(amount\): "12,5O" is not a decimal number/);
    assert.match(byLine.get(12)!.reason, /^locked \(locked\): "maybe" is not a boolean/);
    assert.equal(byLine.get(13)!.reason, 'voucher_id (id): "not-a-number" is not a whole number');
    assert.equal(byLine.get(13)!.writtenId, 'not-a-number');
    assert.equal(byLine.get(13)!.voucherId, null);
    assert.equal(byLine.get(13)!.raw, 'not-a-number,f009,7,60000001,6001,basket,Winter,basket,claimed,false,"bad id\non two lines",2,€,4.00,0.00,4.00,2026-01-01T00:00:00Z,,');
    assert.equal(byLine.get(17)!.reason, 'the row belongs to chain 8, not to chain 7 being loaded');
    assert.equal(result.rows[1]!.cells.title, 'quoted\nnewline');
    assert.equal(result.rows[2]!.cells.campaign_title, 'Loyalty, "VIP", and more\r\nwith CRLF');
    assert.equal(result.rows[3]!.cells.title, 'last, without a final newline');
    assert.deepEqual({ ...result.stats, header: null }, { header: null, records: 11, rows: 4, rejected: 7, inconsistent: 0, unidentified: 1, hiding: 2, suspectLines: [3, 4, 13], bytes: fixtureBytes('malformed.csv').length });
  });

  it('yields no events for a 0-byte file', async () => {
    const result = await readFixture('empty.csv');
    assert.deepEqual(result.events, []);
    assert.deepEqual(result.stats, emptyTransformStats());
  });

  it('yields only the header event for a header-only file', async () => {
    const result = await readFixture('header-only.csv');
    assert.deepEqual(result.events.map((e) => e.kind), ['header']);
    assert.equal(result.stats.header?.headers.length, 19);
    assert.deepEqual({ ...result.stats, header: null }, { header: null, records: 0, rows: 0, rejected: 0, inconsistent: 0, unidentified: 0, hiding: 0, suspectLines: [], bytes: 220 });
    // Without its final newline too.
    const bare = await read(Readable.from([fixtureBytes('header-only.csv').toString('utf8').trimEnd()]));
    assert.deepEqual(bare.events.map((e) => e.kind), ['header']);
  });

  it('fails a file that ends inside a quoted field as truncated, and retryable', async () => {
    const error = await assertTransformError(readFixture('truncated.csv'), 'csv_truncated', /ends inside a quoted field: the file is incomplete/);
    assert.equal(error.retryable, true);
    assert.equal(error.stage, 'transform');
    // Whatever the chunking.
    await assertTransformError(read(chunked(fixtureBytes('truncated.csv'), 3)), 'csv_truncated');
    // A quote opened in the very last field, on the header's line.
    await assertTransformError(read(Readable.from(['id,"status\n1,claimed\n'])), 'csv_truncated');
  });

  it('fails a header without a voucher id, naming the column and the headers seen', async () => {
    const stats = emptyTransformStats();
    const events: TransformEvent[] = [];
    await assertTransformError(
      (async () => {
        for await (const event of readVoucherCsv(createReadStream(fixturePath('no-id.csv')), CONTEXT, stats)) events.push(event);
      })(),
      'csv_header_missing_id',
      /expected one of: id, voucher_id/,
      /the headers seen were: "voucher_key", "Status", "amount"/,
    );
    assert.deepEqual(events, []);
    assert.equal(stats.records, 0);
  });

  it('fails a header with two names for one column, naming both', async () => {
    await assertTransformError(readFixture('ambiguous.csv'), 'csv_header_ambiguous', /"id" and "voucher_id" both map to the column voucher_id/);
  });

  it('counts inconsistent rows and rejects NUL characters without stopping', async () => {
    const header = 'id,status,date_time_redeemed,amount_redeemed,title\n';
    const body = ['1,redeemed,,5.00,no time', '2,claimed,2026-01-01T00:00:00Z,0,a time', '3,claimed,,1.00,an amount', '4,redeemed,2026-01-01 00:00:00,5.00,fine', '5,claimed,,0,with \u0000 NUL', '6,claimed,,,fine'];
    const result = await read(Readable.from([header + body.join('\n')]));
    assert.deepEqual(result.rows.map((r) => [r.voucherId, r.inconsistent]), [['1', true], ['2', true], ['3', true], ['4', false], ['6', false]]);
    assert.deepEqual(result.rejects, [{ line: 6, raw: '5,claimed,,0,with \u0000 NUL', reason: 'the record contains a NUL character, which PostgreSQL text cannot hold', writtenId: '5', voucherId: '5', mayHideRecords: false }]);
    assert.deepEqual({ ...result.stats, header: null }, { header: null, records: 6, rows: 5, rejected: 1, inconsistent: 3, unidentified: 0, hiding: 0, suspectLines: [], bytes: Buffer.byteLength(header + body.join('\n')) });
  });
});

// --- The simulator's writer, in every dialect ---

const START = Date.UTC(2026, 4, 26, 12) / 1000;

function simulatorExport(dialect: Partial<CsvDialect>, rows = 40, seed = 11): { csv: string; vouchers: Voucher[]; dataset: Dataset } {
  const dataset = new Dataset(seed, [CONTEXT.chainId], rows, START);
  const snapshot = dataset.snapshot(CONTEXT.chainId, START);
  const spec = { dataset, snapshot, segment: null, dialect: { ...DEFAULT_DIALECT, ...dialect }, seed };
  return { csv: [...csvChunks(spec, { rows: 0 })].join(''), vouchers: [...selectedVouchers(spec)], dataset };
}

const iso = (seconds: number | null) => (seconds === null ? null : new Date(seconds * 1000).toISOString().replace('.000Z', 'Z'));

/** What the transform must make of a simulator voucher (every column, default dialect). */
function expectedCells(v: Voucher): Record<string, CellValue> {
  return {
    voucher_id: String(v.id),
    voucher_key: v.voucherKey,
    user_id: v.userId === null ? null : String(v.userId),
    campaign_id: v.campaignId === 0 ? null : String(v.campaignId),
    campaign_type: v.campaignType.trim().toLowerCase(),
    campaign_title: v.campaignTitle.trim(),
    voucher_type: v.type,
    status: v.status,
    locked: v.locked,
    title: v.title,
    currency_id: String(v.currencyId),
    currency_symbol: v.currencySymbol,
    amount_original: v.amountOriginal,
    amount_redeemed: v.amountRedeemed,
    amount: v.amount,
    created_at: iso(v.createdAt),
    redeemed_at: iso(v.redeemedAt),
    expires_at: iso(v.expiresAt),
    is_redeemed: v.status === 'redeemed',
    has_real_expiry: v.expiresAt === null ? null : v.expiresAt * 1000 < CONTEXT.noExpiryFromMs,
  };
}

/** 1-based start line of each data record, counted from the writer's own output. */
function startLines(head: string, rows: readonly string[]): number[] {
  const breaks = (text: string) => text.match(/\r\n|\r|\n/g)?.length ?? 0;
  let line = 1 + breaks(head);
  return rows.map((row) => {
    const start = line;
    line += breaks(row);
    return start;
  });
}

describe('readVoucherCsv: simulator round trip', () => {
  it('reads a default-dialect export back to exactly the vouchers written', async () => {
    const { csv, vouchers } = simulatorExport({}, 120);
    assert.ok(vouchers.length > 100);
    // The data set exercises what matters: quoted CRLF and LF, quotes, non-ASCII, sentinel and missing expiries.
    assert.ok(vouchers.some((v) => v.campaignTitle.includes('\r\n')) && vouchers.some((v) => v.title.includes('\n')));
    assert.ok(vouchers.some((v) => v.campaignTitle === '春のキャンペーン'));
    assert.ok(vouchers.some((v) => v.expiresAt === null) && vouchers.some((v) => v.expiresAt !== null && v.expiresAt * 1000 >= CONTEXT.noExpiryFromMs));
    const result = await read(Readable.from([Buffer.from(csv)]));
    assert.equal(result.rejects.length, 0);
    assert.deepEqual(result.rows.map((r) => r.cells), vouchers.map(expectedCells));
    assert.deepEqual(result.rows.map((r) => r.voucherId), vouchers.map((v) => String(v.id)));
    assert.ok(result.rows.every((r) => r.extra === null && !r.inconsistent));
    assert.deepEqual({ ...result.stats, header: null }, { header: null, records: vouchers.length, rows: vouchers.length, rejected: 0, inconsistent: 0, unidentified: 0, hiding: 0, suspectLines: [], bytes: Buffer.byteLength(csv) });
  });

  it('reports the line where each record starts, records with quoted CRLF before it included', async () => {
    const { csv, vouchers } = simulatorExport({}, 120);
    const writer = new CsvWriter(DEFAULT_DIALECT, 11);
    const written = vouchers.map((v, i) => writer.row(v, i + 1));
    assert.equal(writer.head() + written.join(''), csv);
    const result = await read(Readable.from([csv]));
    const expected = startLines(writer.head(), written);
    assert.deepEqual(result.rows.map((r) => r.line), expected);
    // The last record's line is within the file.
    assert.ok(expected.at(-1)! <= csv.split('\n').length - 1);
  });

  for (const dialect of [
    { bom: true },
    { lineEnding: '\r\n' },
    { bom: true, lineEnding: '\r\n', header: 'classic', timestamps: 'offset' },
    { header: 'classic' },
    { timestamps: 'offset' },
    { timestamps: 'space' },
    { timestamps: 'space', lineEnding: '\r\n' },
  ] satisfies Partial<CsvDialect>[]) {
    it(`reads the ${JSON.stringify(dialect)} dialect to the same rows as the default one`, async () => {
      const { csv, vouchers } = simulatorExport(dialect, 60);
      const result = await read(chunked(Buffer.from(csv), 1000));
      assert.equal(result.rejects.length, 0);
      assert.deepEqual(result.rows.map((r) => r.cells), vouchers.map(expectedCells));
      assert.equal(result.stats.bytes, Buffer.byteLength(csv));
    });
  }

  it('keeps an extra column in extra and leaves dropped columns out of the rows and of present', async () => {
    const { csv, vouchers } = simulatorExport({ extraColumn: 'loyalty_tier', dropColumns: ['user_id', 'date_time_expiry'], shuffleColumns: true }, 60);
    const result = await read(Readable.from([csv]));
    const header = result.events[0]!;
    assert.ok(header.kind === 'header');
    assert.notDeepEqual(header.map.columns.map((c) => c.index), [...header.map.columns.keys()], 'the columns are shuffled');
    assert.deepEqual(header.map.unknown.map((u) => u.header), ['loyalty_tier']);
    for (const missing of ['user_id', 'expires_at', 'has_real_expiry']) assert.equal(header.map.present.has(missing), false, missing);
    assert.equal(result.rejects.length, 0);
    const withoutDropped = (v: Voucher) => {
      const { user_id: _u, expires_at: _e, has_real_expiry: _h, ...cells } = expectedCells(v);
      return cells;
    };
    assert.deepEqual(result.rows.map((r) => ({ ...r.cells })), vouchers.map(withoutDropped));
    const tiers = ['gold', 'silver', 'bronze', null];
    assert.deepEqual(result.rows.map((r) => r.extra), vouchers.map((v) => ({ loyalty_tier: tiers[v.id % 4] })));
  });

  it('rejects each malformed kind on its line, with the reason and the written id', async () => {
    const malformedRows = MALFORMED_KINDS.map((kind, i) => ({ row: 3 + i * 7, kind }));
    for (const lineEnding of ['\n', '\r\n'] as const) {
      const dialect = { ...DEFAULT_DIALECT, lineEnding, malformedRows };
      const { csv, vouchers } = simulatorExport(dialect, 60);
      const writer = new CsvWriter(dialect, 11);
      const lines = startLines(writer.head(), vouchers.map((v, i) => writer.row(v, i + 1)));
      const result = await read(Readable.from([csv]));
      const reasons: Record<MalformedKind, RegExp> = {
        too_few_fields: /^expected 19 fields as in the header, found 16: a quote may have been left open/,
        too_many_fields: /^expected 19 fields as in the header, found 21: a quote may have been left open/,
        bad_timestamp: /^created_at \(date_time_creation\): "31\/02\/2026 25:61" is not a timestamp/,
        bad_amount: /^amount \(amount\): "12,5O" is not a decimal number/,
        bad_boolean: /^locked \(locked\): "maybe" is not a boolean/,
        bad_id: /^voucher_id \(id\): "not-a-number" is not a whole number$/,
      };
      assert.equal(result.rejects.length, MALFORMED_KINDS.length);
      result.rejects.forEach((reject, i) => {
        const { row, kind } = malformedRows[i]!;
        assert.equal(reject.line, lines[row - 1], `${kind} line`);
        assert.match(reject.reason, reasons[kind]);
        assert.equal(reject.writtenId, kind === 'bad_id' ? 'not-a-number' : String(vouchers[row - 1]!.id));
        assert.equal(reject.voucherId, kind === 'bad_id' ? null : String(vouchers[row - 1]!.id));
        assert.equal(reject.raw, writer.row(vouchers[row - 1]!, row).replace(/\r?\n$/, ''));
      });
      assert.equal(result.rows.length, vouchers.length - MALFORMED_KINDS.length);
      assert.deepEqual(result.rows.map((r) => r.line), lines.filter((_, i) => !malformedRows.some((m) => m.row === i + 1)));
      assert.deepEqual(
        { records: result.stats.records, rows: result.stats.rows, rejected: result.stats.rejected },
        { records: vouchers.length, rows: vouchers.length - 6, rejected: 6 },
      );
    }
  });
});

describe('readVoucherCsv: records that may hide others', () => {
  const header = 'id,chain_id,status,title,amount\n';
  it('loads titles with line breaks, but rejects a quoted field whose lines read as records', async () => {
    const body = ['1,7,claimed,"Welcome!\nSecond line, of the title",1.00', '2,7,claimed,"Spring\n10,00 EUR",1.00', '3,7,claimed,"open\n4,7,claimed,x,1.00\n5,7,claimed,y",1.00', '6,7,claimed,ok,1.00'];
    const result = await readText(header + body.join('\n') + '\n');
    // "10,00 EUR" puts a number where the id goes, but not the chain where the chain goes: a title.
    assert.deepEqual(result.rows.map((r) => r.voucherId), ['1', '2', '6']);
    assert.deepEqual(result.rejects.map((r) => [r.line, r.voucherId, r.mayHideRecords]), [[6, '3', true]]);
    assert.match(result.rejects[0]!.reason, /title \(title\) spans 3 lines and one of them reads as further records \("4,7,claimed,x,1\.00", voucher 4\)/);
    assert.deepEqual([result.stats.hiding, result.stats.suspectLines], [1, [6]]);
  });

  it(`counts a record over ${MAX_RECORD_LINES} lines as one that may hide others, but loads it when it is valid`, async () => {
    const long = Array.from({ length: MAX_RECORD_LINES + 1 }, (_, k) => `line ${k}`).join('\n');
    const result = await readText(`${header}1,7,claimed,"${long}",1.00\n2,7,claimed,ok,1.00\n`);
    assert.deepEqual(result.rows.map((r) => [r.line, r.voucherId]), [[2, '1'], [2 + MAX_RECORD_LINES + 1, '2']]);
    assert.deepEqual([result.stats.hiding, result.stats.suspectLines], [1, [2]]);
    assert.match(recordsUnaccounted(result.stats)!, /1 record\(s\) may hide others .*: line 2$/);
  });

  it('fails on a header longer than maxRecordBytes, naming the setting, instead of loading a cut header', async () => {
    const long = `id,status,${'x'.repeat(3000)}\n1,claimed,a\n`;
    await assertTransformError(readText(long, { ...CONTEXT, maxRecordBytes: 2048 }), 'csv_header_too_long', /header .*longer than sync\.maxRecordBytes \(2048 bytes\)/, /SPAAZA_MAX_RECORD_BYTES/);
  });

  it('cuts a record over maxRecordBytes into a reject, and later lines stay true', async () => {
    const big = 'x'.repeat(5000);
    const result = await readText(`${header}1,7,claimed,"${big}\n${big}",1.00\n2,7,claimed,ok,1.00\n`, { ...CONTEXT, maxRecordBytes: 2048 });
    assert.deepEqual(result.rejects.map((r) => [r.line, r.voucherId, r.mayHideRecords]), [[2, '1', true]]);
    assert.match(result.rejects[0]!.reason, /longer than sync\.maxRecordBytes \(2048 bytes\)/);
    assert.ok(result.rejects[0]!.raw.length < 2100);
    assert.deepEqual(result.rows.map((r) => [r.line, r.voucherId]), [[4, '2']]);
  });
});
