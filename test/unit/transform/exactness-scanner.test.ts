/**
 * The typed COPY path's byte gate: what it lets through, what it refuses, and that its batches
 * are whole records wherever the input is cut. Seeded where random; the seed is printed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { TRIMMED_CHARACTERS } from '../../../src/transform/clean-text.js';
import { mapHeader } from '../../../src/transform/header-map.js';
import { planTypedCopy } from '../../../src/transform/typed-copy/copy-plan.js';
import { ExactnessScanner, NotExact } from '../../../src/transform/typed-copy/exactness-scanner.js';
import { parseBoolean, parseDecimal, parseInteger, parseTimestamp, ValueError } from '../../../src/transform/values.js';

const HEADER = 'id,chain_id,status,campaign_title,locked,amount,date_time_creation';
const CHAIN = 1764;

function scanner(maxRecordBytes = 1 << 20): ExactnessScanner {
  return new ExactnessScanner({
    chainId: CHAIN,
    maxRecordBytes,
    onHeader: (text) => ({ fields: planTypedCopy(mapHeader(text.split(',')), { noExpiryFrom: new Date('2050-01-01T00:00:00Z'), literal: (t) => `'${t}'` }).fields, multilineProblem: () => null }),
  });
}

/** Everything the scanner lets through, pushed in the given pieces, or the NotExact it threw. */
function scan(csv: string | Buffer, pieces: number[] = []): { data: string; records: number; ascending: boolean; cleaned: number[] } | NotExact {
  const bytes = typeof csv === 'string' ? Buffer.from(csv) : csv;
  const s = scanner();
  let data = '';
  let records = 0;
  const drain = () => {
    for (let r = s.take(3); r.records > 0; r = s.take(3)) {
      data += r.data.toString();
      records += r.records;
    }
  };
  try {
    let at = 0;
    for (const size of [...pieces, bytes.length]) {
      s.push(bytes.subarray(at, Math.min(bytes.length, at + size)));
      at = Math.min(bytes.length, at + size);
      drain();
    }
    s.end();
    drain();
  } catch (error) {
    if (error instanceof NotExact) return error;
    throw error;
  }
  return { data, records, ascending: s.idsAscending, cleaned: [...s.cleaned].sort() };
}

const row = (cells: Partial<Record<'id' | 'chain' | 'status' | 'title' | 'locked' | 'amount' | 'created', string>> = {}) =>
  [cells.id ?? '1', cells.chain ?? '1764', cells.status ?? 'claimed', cells.title ?? 'Spring', cells.locked ?? 'false', cells.amount ?? '2.50', cells.created ?? '2026-05-26T12:00:00Z'].join(',');

describe('the exactness scanner', () => {
  it('passes clean records through byte for byte, without BOM and header, whatever the cuts', () => {
    const body = `${row({ id: '1' })}\n${row({ id: '2', title: '"Loyalty, ""VIP""\r\nand more"' })}\n${row({ id: '3' })}`;
    const csv = `\uFEFF${HEADER}\n${body}`;
    const seed = Date.now() % 100000;
    console.log(`exactness scanner cuts: seed ${seed}`);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 12 }), (pieces) => {
        const out = scan(csv, pieces);
        assert.ok(!(out instanceof NotExact), String(out));
        assert.equal(out.data, body);
        assert.equal(out.records, 3);
        assert.equal(out.ascending, true);
      }),
      { seed, numRuns: 300 },
    );
  });

  it('follows CRLF files when the header ends in CRLF, and refuses mixed endings', () => {
    const ok = scan(`${HEADER}\r\n${row()}\r\n${row({ id: '2' })}\r\n`);
    assert.ok(!(ok instanceof NotExact) && ok.records === 2);
    assert.ok(scan(`${HEADER}\r\n${row()}\n`) instanceof NotExact);
    assert.ok(scan(`${HEADER}\n${row()}\r\n`) instanceof NotExact);
    assert.ok(scan(`${HEADER}\r${row()}\r`) instanceof NotExact);
  });

  it('refuses what the two readers could read differently', () => {
    const refused: Record<string, string> = {
      'quote inside an unquoted field': row({ title: 'Spr"ing' }),
      'text after a closing quote': row({ title: '"Spring" x' }),
      'too few fields': '1,1764,claimed',
      'too many fields': `${row()},extra`,
      'a blank line': '',
      'NUL': row({ title: 'a\u0000b' }),
      'U+FFFD': row({ title: 'a\uFFFDb' }),
      'empty id': row({ id: '' }),
      'empty status': row({ status: '' }),
      'a status of white space only': row({ status: ' ' }),
      'a header wider than PostgreSQL takes': `${'x,'.repeat(300)}x`,
      'id with spaces': row({ id: ' 1' }),
      'hex id': row({ id: '0x1F' }),
      'underscored id': row({ id: '1_000' }),
      'exponent': row({ amount: '1e5' }),
      'NaN': row({ amount: 'NaN' }),
      'Infinity': row({ amount: 'Infinity' }),
      'trailing dot': row({ amount: '1.' }),
      'on': row({ locked: 'on' }),
      'prefix of true': row({ locked: 'tr' }),
      'now': row({ created: 'now' }),
      'epoch': row({ created: 'epoch' }),
      'infinity': row({ created: 'infinity' }),
      'a date alone': row({ created: '2026-05-26' }),
      'a zone name': row({ created: '"2026-05-26 12:00:00 Europe/Amsterdam"' }),
      'year 10000': row({ created: '10000-01-01T00:00:00Z' }),
      'year 0': row({ created: '0000-01-01T00:00:00Z' }),
      'lower-case t and z': row({ created: '2026-05-26t12:00:00z' }),
      'hour 24': row({ created: '2026-05-26T24:00:00Z' }),
      'second 60': row({ created: '2026-05-26T12:00:60Z' }),
      'February 29 of 2026': row({ created: '2026-02-29T00:00:00Z' }),
      '7 fractional digits': row({ created: '2026-05-26T12:00:00.1234567Z' }),
      'offset of 15 hours': row({ created: '2026-05-26T12:00:00+15:00' }),
      'offset on year 9999': row({ created: '9999-12-31T23:00:00-02:00' }),
      'another chain': row({ chain: '1765' }),
      'chain with a sign': row({ chain: '+1764' }),
      'non-ASCII status': row({ status: 'İ' }),
      'quoted typed field with a quote': row({ amount: '"2""5"' }),
      'ends inside a quote': `${row()}\n${row({ title: '"open' })}`,
    };
    for (const [what, record] of Object.entries(refused)) {
      assert.ok(scan(`${HEADER}\n${row({ id: '0' })}\n${record}\n`) instanceof NotExact, what);
    }
  });

  it('lets through only values the reference reads (the typed checks are never looser than values.ts)', () => {
    const seed = Date.now() % 100000;
    console.log(`exactness scanner values: seed ${seed}`);
    const accepted = (cells: Parameters<typeof row>[0]) => !(scan(`${HEADER}\n${row(cells)}\n`) instanceof NotExact);
    const reads = (parse: () => unknown) => {
      try {
        parse();
        return true;
      } catch (error) {
        if (error instanceof ValueError) return false;
        throw error;
      }
    };
    const text = fc.stringMatching(/^[-+0-9.:TZ tz eE_xa-fNI]{0,30}$/);
    fc.assert(
      fc.property(text, text, text, text, (id, amount, locked, created) => {
        if (id && accepted({ id })) assert.ok(reads(() => parseInteger(id)) || /^[+-]?\d{19,}$/.test(id), `id ${JSON.stringify(id)}`);
        if (amount && accepted({ amount })) assert.ok(reads(() => parseDecimal(amount)), `amount ${JSON.stringify(amount)}`);
        if (locked && accepted({ locked })) assert.ok(reads(() => parseBoolean(locked)), `locked ${JSON.stringify(locked)}`);
        if (created && accepted({ created })) assert.ok(reads(() => parseTimestamp(created)), `created ${JSON.stringify(created)}`);
      }),
      { seed, numRuns: 2000 },
    );
  });

  it('notes the fields whose values need trimming or lower-casing, and only those', () => {
    const clean = scan(`${HEADER}\n${row({ title: '春のキャンペーン #22' })}\n${row({ id: '2', title: 'Café €' })}\n`);
    assert.ok(!(clean instanceof NotExact));
    assert.deepEqual(clean.cleaned, []);
    for (const [cells, field] of [
      [{ status: 'Claimed' }, 2],
      [{ status: '"claimed "' }, 2],
      [{ title: '\u00a0Spring' }, 3],
      [{ title: 'Spring\u3000' }, 3],
      [{ title: '"Spring\n"' }, 3],
    ] as const) {
      const out = scan(`${HEADER}\n${row(cells)}\n`);
      assert.ok(!(out instanceof NotExact), JSON.stringify(cells));
      assert.deepEqual(out.cleaned, [field], JSON.stringify(cells));
    }
  });

  it('sees ids stop ascending (repeats, order, forms that are not plain digits)', () => {
    for (const ids of [['2', '1'], ['1', '1'], ['1', '+2'], ['1', '02']]) {
      const out = scan(`${HEADER}\n${ids.map((id) => row({ id })).join('\n')}\n`);
      assert.ok(!(out instanceof NotExact));
      assert.equal(out.ascending, false, ids.join(','));
    }
  });

  it('refuses a record over the size bound', () => {
    assert.ok(scan(`${HEADER}\n${row({ title: 'x'.repeat(2 << 20) })}\n`) instanceof NotExact);
  });
});

describe('TRIMMED_CHARACTERS', () => {
  it('is exactly what String.prototype.trim removes, over all of Unicode', () => {
    const trimmed: number[] = [];
    for (let c = 0; c <= 0x10ffff; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      if (String.fromCodePoint(c).trim() === '') trimmed.push(c);
    }
    assert.deepEqual(trimmed, [...TRIMMED_CHARACTERS].sort((a, b) => a - b));
  });
});
