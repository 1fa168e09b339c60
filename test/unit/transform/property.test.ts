import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { TransformError } from '../../../src/errors.js';
import { readVoucherCsv, type TransformEvent } from '../../../src/transform/read-voucher-csv.js';
import { emptyTransformStats } from '../../../src/voucher/staged-export.js';

const CONTEXT = { chainId: 7, noExpiryFromMs: Date.UTC(2050, 0, 1) };
const RUNS = { seed: 20260526, numRuns: 200 } as const;

const HEADER = [
  'id', 'voucher_key', 'chain_id', 'user_id', 'campaign_id', 'campaign_type', 'campaign_title', 'type', 'status', 'locked',
  'title', 'currency_id', 'currency_symbol', 'amount_original', 'amount_redeemed', 'amount', 'date_time_creation',
  'date_time_redeemed', 'date_time_expiry',
];
const TITLE = HEADER.indexOf('title');
const CAMPAIGN_TITLE = HEADER.indexOf('campaign_title');

/** Strings heavy in what CSV and the transform find hard: quotes, commas, CR/LF, NUL, BOM, non-ASCII, spaces. */
const nasty = fc.string({
  unit: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('"', ',', '\r', '\n', '\r\n', '\u0000', '\uFEFF', ' ', '€', '春', '😀', 'é', 'a', '0', '.', '-', ':') },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
  ),
  maxLength: 12,
});
const anyCell = fc.oneof(fc.constant(''), nasty, fc.string({ unit: 'grapheme', maxLength: 8 }));
/** Text a voucher export does carry: the same, without NUL (which rejects the whole record). */
const text = fc.oneof(
  fc.string({ unit: fc.constantFrom('"', ',', '\r', '\n', '\r\n', '\uFEFF', ' ', '€', '春', '😀', 'é', 'a'), maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
);

/** A cell valid for its column (or, sometimes, anything at all). */
const cellFor = (valid: fc.Arbitrary<string>) => fc.oneof({ weight: 40, arbitrary: valid }, { weight: 1, arbitrary: anyCell });
const digits = (max: bigint) => fc.bigInt(0n, max).map(String);
const decimal = fc.tuple(fc.bigInt(-(10n ** 30n), 10n ** 30n), fc.nat(99)).map(([whole, cents]) => `${whole}.${String(cents).padStart(2, '0')}`);
const timestamp = fc
  .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
  .chain((d) => fc.constantFrom(d.toISOString(), d.toISOString().replace('.000Z', 'Z'), d.toISOString().slice(0, 19).replace('T', ' '), d.toISOString().slice(0, 19) + '+00:00'));
const orEmpty = (a: fc.Arbitrary<string>) => fc.oneof(a, fc.constant(''));

const COLUMN_CELLS: Record<string, fc.Arbitrary<string>> = {
  id: fc.bigInt(0n, 2n ** 63n - 1n).map(String),
  chain_id: fc.constantFrom('', '7', '7', '7', ' 7 ', '8'),
  user_id: orEmpty(digits(2n ** 63n - 1n)),
  campaign_id: orEmpty(digits(10n ** 6n)),
  status: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('claimed', 'redeemed', 'generated', ' Redeemed ') }, { weight: 1, arbitrary: nasty }),
  locked: orEmpty(fc.constantFrom('true', 'false', 'T', 'f', '1', '0', 'YES', 'no')),
  currency_id: orEmpty(digits(2n ** 31n - 1n)),
  amount_original: orEmpty(decimal),
  amount_redeemed: orEmpty(decimal),
  amount: orEmpty(decimal),
  date_time_creation: orEmpty(timestamp),
  date_time_redeemed: orEmpty(timestamp),
  date_time_expiry: orEmpty(timestamp),
};
/** A record under the default header: mostly valid, so that rows as well as rejects come out. */
const voucherRecord = fc.tuple(...HEADER.map((h) => cellFor(COLUMN_CELLS[h] ?? text)));
/** A record of any number of arbitrary fields. */
const arbitraryRecord = fc.array(anyCell, { minLength: 1, maxLength: 24 });

const quote = (value: string) => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

interface File {
  readonly records: readonly (readonly string[])[];
  readonly eol: '\n' | '\r\n';
  readonly bom: boolean;
  readonly finalEol: boolean;
  readonly chunk: number;
}

const files = fc.record({
  records: fc.array(fc.oneof({ weight: 2, arbitrary: voucherRecord }, { weight: 1, arbitrary: arbitraryRecord }), { maxLength: 30 }),
  eol: fc.constantFrom('\n' as const, '\r\n' as const),
  bom: fc.boolean(),
  finalEol: fc.boolean(),
  chunk: fc.integer({ min: 1, max: 64 }),
});

/** RFC 4180 text of the file, and the 1-based line where each record starts. */
function render(file: File): { text: string; lines: number[] } {
  const head = (file.bom ? '\uFEFF' : '') + HEADER.join(',') + file.eol;
  const lines: number[] = [];
  let line = 2;
  const body = file.records.map((record) => {
    const text = record.map(quote).join(',');
    lines.push(line);
    line += (text.match(/\r\n|\r|\n/g)?.length ?? 0) + 1;
    return text;
  });
  return { text: head + body.join(file.eol) + (file.finalEol && body.length > 0 ? file.eol : ''), lines };
}

async function* chunks(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

const isBlank = (record: readonly string[]) => record.length === 1 && record[0] === '';

describe('readVoucherCsv properties', () => {
  it('yields exactly one row or reject per written record, on its line, and never throws', async () => {
    let rows = 0;
    let rejects = 0;
    await fc.assert(
      fc.asyncProperty(files, async (file) => {
        const { text, lines } = render(file);
        const bytes = Buffer.from(text, 'utf8');
        const stats = emptyTransformStats();
        const events: TransformEvent[] = [];
        for await (const event of readVoucherCsv(chunks(bytes, file.chunk), CONTEXT, stats)) events.push(event);

        assert.equal(events[0]?.kind, 'header');
        assert.equal(events.filter((e) => e.kind === 'header').length, 1);
        const written = file.records.map((record, i) => ({ record, line: lines[i]! })).filter(({ record }) => !isBlank(record));
        const read = events.slice(1);
        assert.equal(read.length, written.length);
        read.forEach((event, i) => {
          const { record, line } = written[i]!;
          const id = record[0]!;
          if (event.kind === 'row') {
            rows += 1;
            assert.equal(event.row.line, line);
            assert.equal(record.length, HEADER.length);
            // The id as written (the generator writes canonical digits; a stray valid id is normalized).
            assert.equal(event.row.voucherId, BigInt(id.trim()).toString());
            assert.equal(event.row.cells.voucher_id, event.row.voucherId);
            assert.equal(event.row.cells.title, record[TITLE] === '' ? null : record[TITLE]);
            assert.equal(event.row.cells.campaign_title, record[CAMPAIGN_TITLE]!.trim() === '' ? null : record[CAMPAIGN_TITLE]!.trim());
          } else {
            assert.equal(event.kind, 'reject');
            if (event.kind !== 'reject') return;
            rejects += 1;
            assert.equal(event.reject.line, line);
            assert.equal(event.reject.writtenId, id.trim() === '' ? null : id.trim());
            // The voucher it names: the id in canonical form, or none when it is not a whole number.
            assert.equal(event.reject.voucherId, /^[+-]?\d+$/.test(id.trim()) && BigInt(id.trim()) < 2n ** 63n && BigInt(id.trim()) >= -(2n ** 63n) ? BigInt(id.trim()).toString() : null);
            assert.equal(event.reject.raw, record.map(quote).join(','));
            assert.ok(event.reject.reason.length > 0);
          }
        });
        assert.deepEqual(
          { records: stats.records, rows: stats.rows, rejected: stats.rejected, bytes: stats.bytes },
          {
            records: written.length,
            rows: read.filter((e) => e.kind === 'row').length,
            rejected: read.filter((e) => e.kind === 'reject').length,
            bytes: bytes.length,
          },
        );
      }),
      RUNS,
    );
    // The generators reach both outcomes often (a property that only ever saw rejects proves little).
    assert.ok(rows > 300 && rejects > 300, `rows ${rows}, rejects ${rejects}`);
  });

  it('a row round-trips: writing its id back and reading it again gives the same id', async () => {
    await fc.assert(
      fc.asyncProperty(fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n), fc.constantFrom('', '+', '0', '00'), fc.constantFrom('', ' ', '  '), async (id, prefix, pad) => {
        const written = id < 0n ? `-${prefix.replace('+', '')}${-id}` : `${prefix}${id}`;
        const text = `id,status,title\n${pad}${written}${pad},claimed,x\n`;
        const events: TransformEvent[] = [];
        for await (const event of readVoucherCsv(Readable.from([Buffer.from(text)]), CONTEXT)) events.push(event);
        const row = events[1];
        assert.ok(row?.kind === 'row', JSON.stringify(row));
        assert.equal(row.row.voucherId, id.toString());
      }),
      RUNS,
    );
  });

  it('on any text at all, either finishes or fails as truncated: never another error', async () => {
    const body = fc.string({ unit: fc.constantFrom('"', ',', '\r', '\n', 'a', '1', ' ', '\u0000', '€', '\uFEFF'), maxLength: 200 });
    let truncated = 0;
    await fc.assert(
      fc.asyncProperty(body, fc.integer({ min: 1, max: 16 }), async (text, size) => {
        const stats = emptyTransformStats();
        let records = 0;
        try {
          for await (const event of readVoucherCsv(chunks(Buffer.from(`id,status\n${text}`), size), CONTEXT, stats)) {
            if (event.kind !== 'header') records += 1;
          }
        } catch (error) {
          assert.ok(error instanceof TransformError && error.code === 'csv_truncated', `unexpected ${String(error)}`);
          truncated += 1;
          return;
        }
        assert.equal(records, stats.records);
        assert.equal(stats.rows + stats.rejected, stats.records);
      }),
      RUNS,
    );
    assert.ok(truncated > 0);
  });
});
