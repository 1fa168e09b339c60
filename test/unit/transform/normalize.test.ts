import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mapHeader } from '../../../src/transform/header-map.js';
import type { HeaderMap, Reject, VoucherRow } from '../../../src/voucher/staged-export.js';
import { normalizeRecord, type NormalizeContext, type Normalized } from '../../../src/transform/normalize-record.js';

const CHAIN = 1764;
const CONTEXT: NormalizeContext = { chainId: CHAIN, noExpiryFromMs: Date.UTC(2050, 0, 1) };

const DEFAULT_HEADER = [
  'id', 'voucher_key', 'chain_id', 'user_id', 'campaign_id', 'campaign_type', 'campaign_title', 'type', 'status', 'locked',
  'title', 'currency_id', 'currency_symbol', 'amount_original', 'amount_redeemed', 'amount', 'date_time_creation',
  'date_time_redeemed', 'date_time_expiry',
] as const;
type Field = (typeof DEFAULT_HEADER)[number];

/** A claimed, unredeemed voucher as the default dialect writes it. */
const BASE: Record<Field, string> = {
  id: '176400001',
  voucher_key: 'a1b2c3',
  chain_id: String(CHAIN),
  user_id: '17640042',
  campaign_id: '2001',
  campaign_type: 'basket',
  campaign_title: 'Summer sale, 20% off',
  type: 'basket',
  status: 'claimed',
  locked: 'false',
  title: '€10 off, this week only',
  currency_id: '2',
  currency_symbol: '€',
  amount_original: '10.00',
  amount_redeemed: '0.00',
  amount: '10.00',
  date_time_creation: '2026-01-02T03:04:05Z',
  date_time_redeemed: '',
  date_time_expiry: '2026-04-02T03:04:05Z',
};

const DEFAULT_MAP = mapHeader(DEFAULT_HEADER);

function fieldsOf(over: Partial<Record<Field, string>> = {}): string[] {
  const values = { ...BASE, ...over };
  return DEFAULT_HEADER.map((h) => values[h]);
}

function normalize(over: Partial<Record<Field, string>> = {}, map: HeaderMap = DEFAULT_MAP, line = 2): Normalized {
  const fields = fieldsOf(over);
  return normalizeRecord(fields, line, fields.join(','), map, CONTEXT);
}

function rowOf(result: Normalized): VoucherRow {
  assert.ok('row' in result, `expected a row, got the reject ${JSON.stringify(result)}`);
  return result.row;
}

function rejectOf(result: Normalized): Reject {
  assert.ok('reject' in result, `expected a reject, got the row ${JSON.stringify(result)}`);
  return result.reject;
}

describe('normalizeRecord: a well-formed record', () => {
  it('types every column exactly and derives is_redeemed and has_real_expiry', () => {
    const row = rowOf(normalize({}, DEFAULT_MAP, 7));
    assert.equal(row.line, 7);
    assert.equal(row.voucherId, '176400001');
    assert.equal(row.inconsistent, false);
    assert.equal(row.extra, null);
    assert.deepEqual(row.cells, {
      voucher_id: '176400001',
      voucher_key: 'a1b2c3',
      user_id: '17640042',
      campaign_id: '2001',
      campaign_type: 'basket',
      campaign_title: 'Summer sale, 20% off',
      voucher_type: 'basket',
      status: 'claimed',
      locked: false,
      title: '€10 off, this week only',
      currency_id: '2',
      currency_symbol: '€',
      amount_original: '10.00',
      amount_redeemed: '0.00',
      amount: '10.00',
      created_at: '2026-01-02T03:04:05Z',
      redeemed_at: null,
      expires_at: '2026-04-02T03:04:05Z',
      is_redeemed: false,
      has_real_expiry: true,
    });
  });

  it('trims around non-text values before parsing them', () => {
    const row = rowOf(normalize({ id: ' 42 ', amount: ' 1.50 ', locked: ' TRUE ', date_time_creation: ' 2026-01-02 03:04:05 ' }));
    assert.equal(row.voucherId, '42');
    assert.equal(row.cells.amount, '1.50');
    assert.equal(row.cells.locked, true);
    assert.equal(row.cells.created_at, '2026-01-02T03:04:05Z');
  });
});

describe('normalizeRecord: redemption', () => {
  it('sets is_redeemed exactly when the status is "redeemed" (after trimming and lower-casing)', () => {
    const redeemed = { date_time_redeemed: '2026-02-01T00:00:00Z', amount_redeemed: '10.00' };
    assert.equal(rowOf(normalize({ status: 'redeemed', ...redeemed })).cells.is_redeemed, true);
    assert.equal(rowOf(normalize({ status: ' Redeemed ', ...redeemed })).cells.is_redeemed, true);
    assert.equal(rowOf(normalize({ status: ' Redeemed ', ...redeemed })).cells.status, 'redeemed');
    for (const status of ['claimed', 'generated', 'redeemed_partially', 'unredeemed']) {
      assert.equal(rowOf(normalize({ status })).cells.is_redeemed, false, status);
    }
  });

  it('is consistent when a redeemed voucher has its time and an unredeemed one has neither', () => {
    const redeemed = rowOf(normalize({ status: 'redeemed', date_time_redeemed: '2026-02-01T00:00:00Z', amount_redeemed: '10.00' }));
    assert.equal(redeemed.inconsistent, false);
    assert.equal(redeemed.cells.redeemed_at, '2026-02-01T00:00:00Z');
    // A redeemed voucher of amount 0 (an honour voucher) is not inconsistent either.
    assert.equal(rowOf(normalize({ status: 'redeemed', date_time_redeemed: '2026-02-01T00:00:00Z', amount_redeemed: '0.00', amount: '0.00' })).inconsistent, false);
    assert.equal(rowOf(normalize({ status: 'generated', amount_redeemed: '0.00' })).inconsistent, false);
    assert.equal(rowOf(normalize({ status: 'claimed', amount_redeemed: '' })).inconsistent, false);
  });

  it('flags a redeemed voucher without a redemption time, loading it as sent', () => {
    const row = rowOf(normalize({ status: 'redeemed', date_time_redeemed: '', amount_redeemed: '10.00' }));
    assert.equal(row.inconsistent, true);
    assert.equal(row.cells.is_redeemed, true);
    assert.equal(row.cells.redeemed_at, null);
    assert.equal(row.cells.amount_redeemed, '10.00');
  });

  it('flags an unredeemed voucher with a redemption time, loading it as sent', () => {
    const row = rowOf(normalize({ status: 'claimed', date_time_redeemed: '2026-02-01T00:00:00+01:00' }));
    assert.equal(row.inconsistent, true);
    assert.equal(row.cells.is_redeemed, false);
    assert.equal(row.cells.redeemed_at, '2026-01-31T23:00:00Z');
  });

  it('flags an unredeemed voucher with a positive redeemed amount, loading it as sent', () => {
    for (const amountRedeemed of ['5.00', '0.01', '.5', '+3']) {
      const row = rowOf(normalize({ status: 'generated', amount_redeemed: amountRedeemed }));
      assert.equal(row.inconsistent, true, amountRedeemed);
      assert.equal(row.cells.is_redeemed, false);
    }
    for (const amountRedeemed of ['0', '0.00', '-0.00', '-1.00']) {
      assert.equal(rowOf(normalize({ status: 'generated', amount_redeemed: amountRedeemed })).inconsistent, false, amountRedeemed);
    }
  });

  it('does not judge consistency when the file has no status column', () => {
    const header = DEFAULT_HEADER.filter((h) => h !== 'status');
    const map = mapHeader(header);
    const values: Record<string, string> = { ...BASE, date_time_redeemed: '2026-02-01T00:00:00Z', amount_redeemed: '3.00' };
    const fields = header.map((h) => values[h]!);
    const row = rowOf(normalizeRecord(fields, 2, fields.join(','), map, CONTEXT));
    assert.equal(row.inconsistent, false);
    assert.equal('is_redeemed' in row.cells, false);
    assert.equal('status' in row.cells, false);
  });
});

describe('normalizeRecord: expiry', () => {
  it('keeps the 2050-01-01 sentinel (and anything later) as sent, with has_real_expiry false', () => {
    for (const [written, stored] of [
      ['2050-01-01 00:00:00', '2050-01-01T00:00:00Z'],
      ['2050-01-01T00:00:00Z', '2050-01-01T00:00:00Z'],
      ['2050-01-01T01:00:00+01:00', '2050-01-01T00:00:00Z'],
      ['2050-01-01T00:00:00.000001Z', '2050-01-01T00:00:00.000001Z'],
      ['2099-12-31T23:59:59Z', '2099-12-31T23:59:59Z'],
    ]) {
      const row = rowOf(normalize({ date_time_expiry: written }));
      assert.equal(row.cells.expires_at, stored, written);
      assert.equal(row.cells.has_real_expiry, false, written);
    }
  });

  it('treats an expiry before the sentinel as real', () => {
    for (const written of ['2049-12-31T23:59:59Z', '2049-12-31T23:59:59.999999Z', '2050-01-01T00:30:00+01:00', '2026-04-02 03:04:05']) {
      assert.equal(rowOf(normalize({ date_time_expiry: written })).cells.has_real_expiry, true, written);
    }
  });

  it('honours another noExpiryFrom', () => {
    const fields = fieldsOf({ date_time_expiry: '2030-01-01T00:00:00Z' });
    const context = { chainId: CHAIN, noExpiryFromMs: Date.UTC(2030, 0, 1) };
    assert.equal(rowOf(normalizeRecord(fields, 2, '', DEFAULT_MAP, context)).cells.has_real_expiry, false);
  });

  it('stores an empty expiry as NULL, and has_real_expiry as NULL too', () => {
    const row = rowOf(normalize({ date_time_expiry: '' }));
    assert.equal(row.cells.expires_at, null);
    assert.equal(row.cells.has_real_expiry, null);
  });

  it('leaves has_real_expiry out when the file has no expiry column', () => {
    const header = DEFAULT_HEADER.filter((h) => h !== 'date_time_expiry');
    const fields = header.map((h) => BASE[h]);
    const row = rowOf(normalizeRecord(fields, 2, '', mapHeader(header), CONTEXT));
    assert.equal('has_real_expiry' in row.cells, false);
    assert.equal('expires_at' in row.cells, false);
  });
});

describe('normalizeRecord: campaign and text', () => {
  it('stores campaign_id NULL when empty or 0', () => {
    assert.equal(rowOf(normalize({ campaign_id: '' })).cells.campaign_id, null);
    assert.equal(rowOf(normalize({ campaign_id: '0' })).cells.campaign_id, null);
    assert.equal(rowOf(normalize({ campaign_id: ' 00 ' })).cells.campaign_id, null);
    assert.equal(rowOf(normalize({ campaign_id: '10' })).cells.campaign_id, '10');
  });

  it('lower-cases and trims campaign_type, trims campaign_title, and leaves the voucher title untouched', () => {
    const row = rowOf(normalize({ campaign_type: '  Points_Wallet \t', campaign_title: '  Zürich «spécial» week  ', title: '  Two lines\nof title  ' }));
    assert.equal(row.cells.campaign_type, 'points_wallet');
    assert.equal(row.cells.campaign_title, 'Zürich «spécial» week');
    assert.equal(row.cells.title, '  Two lines\nof title  ');
  });

  it('stores a campaign type or title of only spaces as NULL', () => {
    const row = rowOf(normalize({ campaign_type: '   ', campaign_title: ' \t ' }));
    assert.equal(row.cells.campaign_type, null);
    assert.equal(row.cells.campaign_title, null);
  });

  it('stores empty cells as NULL, but keeps a title of spaces as written', () => {
    const row = rowOf(normalize({ voucher_key: '', user_id: '', locked: '', title: '', currency_id: '', amount: '', date_time_creation: '' }));
    for (const name of ['voucher_key', 'user_id', 'locked', 'title', 'currency_id', 'amount', 'created_at']) {
      assert.equal(row.cells[name], null, name);
    }
    assert.equal(rowOf(normalize({ title: '   ' })).cells.title, '   ');
  });

  it('keeps a voucher title with quotes, commas, line breaks and non-ASCII byte for byte', () => {
    const title = 'Free "extra" coffee, 春\r\nØnske-gave für Dich €';
    assert.equal(rowOf(normalize({ title })).cells.title, title);
  });

  it('puts unknown columns into extra, empty cells as null', () => {
    const header = [...DEFAULT_HEADER, 'loyalty_tier', 'Store Name', 'voucher_expiry_seconds_remaining'];
    const map = mapHeader(header);
    const gold = normalizeRecord([...fieldsOf(), 'gold', ' Main st. ', '3600'], 2, '', map, CONTEXT);
    assert.deepEqual(rowOf(gold).extra, { loyalty_tier: 'gold', 'Store Name': ' Main st. ' });
    const empty = normalizeRecord([...fieldsOf(), '', 'x', ''], 3, '', map, CONTEXT);
    assert.deepEqual(rowOf(empty).extra, { loyalty_tier: null, 'Store Name': 'x' });
    // The volatile column is neither stored nor kept in extra.
    assert.equal(Object.keys(rowOf(gold).cells).some((k) => k.includes('seconds')), false);
  });

  it('reads the same record under classic headers to the same cells', () => {
    const classic = mapHeader([
      'voucher_id', 'voucher_key', 'chain_id', 'user_id', 'campaign_id', 'campaign_type', 'campaign_title', 'voucher_type',
      'voucher_status', 'voucher_locked', 'voucher_title', 'voucher_currency_id', 'voucher_currency_symbol',
      'voucher_amount_original', 'voucher_amount_redeemed', 'voucher_amount', 'voucher_created_datetime',
      'voucher_redeemed_datetime', 'voucher_expiry_datetime_utc',
    ]);
    const fields = fieldsOf();
    assert.deepEqual(rowOf(normalizeRecord(fields, 2, '', classic, CONTEXT)).cells, rowOf(normalize()).cells);
  });
});

describe('normalizeRecord: rejects', () => {
  it('rejects an empty status (required), with the line, raw record and voucher id', () => {
    const fields = fieldsOf({ status: '' });
    const raw = fields.join(',');
    const reject = rejectOf(normalizeRecord(fields, 12, raw, DEFAULT_MAP, CONTEXT));
    assert.deepEqual(reject, { line: 12, raw, reason: 'status (status) is empty', writtenId: '176400001', voucherId: '176400001', mayHideRecords: false });
    assert.equal(rejectOf(normalize({ status: '   ' })).reason, 'status (status) is empty');
  });

  it('rejects an empty voucher id, with a null voucher id', () => {
    const reject = rejectOf(normalize({ id: '' }));
    assert.equal(reject.reason, 'voucher_id (id) is empty');
    assert.equal(reject.voucherId, null);
    assert.equal(reject.writtenId, null);
    assert.equal(rejectOf(normalize({ id: '  ' })).voucherId, null);
  });

  it('rejects a bad id, keeping the id as written', () => {
    const reject = rejectOf(normalize({ id: ' not-a-number ' }));
    assert.equal(reject.writtenId, 'not-a-number');
    assert.equal(reject.voucherId, null, 'an id that is not a number names no voucher');
    assert.match(reject.reason, /^voucher_id \(id\): "not-a-number" is not a whole number$/);
    assert.match(rejectOf(normalize({ id: '9223372036854775808' })).reason, /out of range for a 64-bit integer/);
  });

  it('rejects a record with the wrong number of fields, naming both counts', () => {
    const fields = fieldsOf();
    const fewer = rejectOf(normalizeRecord(fields.slice(0, 16), 4, 'r', DEFAULT_MAP, CONTEXT));
    assert.deepEqual(fewer, {
      line: 4,
      raw: 'r',
      reason: 'expected 19 fields as in the header, found 16: a quote may have been left open, so the record may hold others',
      writtenId: '176400001',
      voucherId: '176400001',
      mayHideRecords: true,
    });
    const more = rejectOf(normalizeRecord([...fields, 'surplus', 'cells'], 5, 'r', DEFAULT_MAP, CONTEXT));
    assert.match(more.reason, /^expected 19 fields as in the header, found 21/);
    assert.equal(more.mayHideRecords, true);
    assert.equal(more.voucherId, '176400001');
    const single = rejectOf(normalizeRecord(['just one'], 6, 'just one', DEFAULT_MAP, CONTEXT));
    assert.match(single.reason, /^expected 19 fields as in the header, found 1:/);
    assert.equal(single.writtenId, 'just one');
    assert.equal(single.voucherId, null);
  });

  it('rejects a row naming another chain, and accepts its own chain or an empty cell', () => {
    const reject = rejectOf(normalize({ chain_id: '999' }));
    assert.equal(reject.reason, `the row belongs to chain 999, not to chain ${CHAIN} being loaded`);
    assert.equal(reject.voucherId, '176400001');
    rowOf(normalize({ chain_id: ` ${CHAIN} ` }));
    rowOf(normalize({ chain_id: '' }));
  });

  it('rejects a record holding a NUL character', () => {
    const fields = fieldsOf({ title: 'bad\u0000title' });
    const raw = fields.join(',');
    const reject = rejectOf(normalizeRecord(fields, 3, raw, DEFAULT_MAP, CONTEXT));
    assert.equal(reject.reason, 'the record contains a NUL character, which PostgreSQL text cannot hold');
    assert.equal(reject.raw, raw);
    assert.equal(reject.voucherId, '176400001');
  });

  it('lists every problem of a record in one reject', () => {
    const reject = rejectOf(normalize({ chain_id: '12', status: '', locked: 'maybe', amount: '12,5O', date_time_creation: '31/02/2026 25:61', currency_id: '2147483648' }));
    const problems = reject.reason.split('; ');
    assert.equal(problems.length, 6, reject.reason);
    assert.equal(problems[0], `the row belongs to chain 12, not to chain ${CHAIN} being loaded`);
    assert.equal(problems[1], 'status (status) is empty');
    assert.match(problems[2]!, /^locked \(locked\): "maybe" is not a boolean/);
    assert.match(problems[3]!, /^currency_id \(currency_id\): "2147483648" is out of range for a 32-bit integer$/);
    assert.match(problems[4]!, /^amount \(amount\): "12,5O" is not a decimal number/);
    assert.match(problems[5]!, /^created_at \(date_time_creation\): "31\/02\/2026 25:61" is not a timestamp/);
  });

  it('names the header as written in the file', () => {
    const header = DEFAULT_HEADER.map((h) => (h === 'amount' ? 'Voucher_Amount' : h));
    const fields = fieldsOf({ amount: 'ten' });
    const reject = rejectOf(normalizeRecord(fields, 2, '', mapHeader(header), CONTEXT));
    assert.match(reject.reason, /^amount \(Voucher_Amount\): "ten" is not a decimal number/);
  });
});
