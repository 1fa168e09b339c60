import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  addUnits, matchesSegment, parseIsoSeconds, parseSegment, SegmentValidationError, TIME_FACTORS,
  type Segment,
} from '../../src/simulator/segment.js';
import { NO_EXPIRY_SENTINEL, type Voucher } from '../../src/simulator/voucher.js';

const CHAIN = 1743;
const EXPECT = { index: 'vouchers', chainId: CHAIN };
const iso = (s: string): number => Date.parse(s) / 1000;
const NOW = iso('2026-05-26T12:00:00Z');

function voucher(over: Partial<Voucher> = {}): Voucher {
  return {
    id: 1, voucherKey: 'VK-0001', chainId: CHAIN, userId: 42, campaignId: 7, campaignType: 'basket_voucher',
    campaignTitle: 'Spring Sale', type: 'basket', status: 'claimed', locked: false, title: '10 EUR off',
    currencyId: 1, currencySymbol: 'EUR', amountOriginal: '10.00', amountRedeemed: '0.00', amount: '10.00',
    createdAt: iso('2026-03-15T10:00:00Z'), redeemedAt: null, expiresAt: iso('2026-06-30T23:59:59Z'), deleted: false,
    ...over,
  };
}
/** A voucher whose (normally non-null) string field is null, to exercise null handling of string operators. */
const withNullTitle = (): Voucher => voucher({ title: null } as unknown as Partial<Voucher>);

type RawRule = Record<string, unknown>;
const rawSegment = (rules: RawRule[], join = 'all'): Record<string, unknown> =>
  ({ entity: 'people', index: 'vouchers', join, chain_id: CHAIN, rules });
const segment = (rules: RawRule[], join = 'all'): Segment => parseSegment(rawSegment(rules, join), EXPECT);
const rule = (field_name: string, field_type: string, operator: string, extra: RawRule = {}): RawRule =>
  ({ field_name, field_type, operator, ...extra });
const matches = (r: RawRule, v: Voucher, now = NOW): boolean => matchesSegment(segment([r]), v, now);

function assertRejects(raw: unknown, field: string, message?: RegExp): void {
  assert.throws(() => parseSegment(raw, EXPECT), (err: unknown) => {
    assert.ok(err instanceof SegmentValidationError, `expected SegmentValidationError, got ${String(err)}`);
    assert.equal(err.field, field);
    if (message) assert.match(err.message, message);
    return true;
  });
}
const assertRuleRejects = (r: RawRule, subfield: string, message?: RegExp): void =>
  assertRejects(rawSegment([r]), `trigger.segment.rules[0]${subfield}`, message);

describe('segment operators', () => {
  it('is: typed equality on keyword, text, integer, number and boolean fields; null fails', () => {
    assert.equal(matches(rule('status', 'keyword', 'is', { value: 'claimed' }), voucher()), true);
    assert.equal(matches(rule('status', 'keyword', 'is', { value: 'Claimed' }), voucher()), false);
    assert.equal(matches(rule('title', 'text', 'is', { value: '10 EUR off' }), voucher()), true);
    assert.equal(matches(rule('user_id', 'integer', 'is', { value: 42 }), voucher()), true);
    assert.equal(matches(rule('user_id', 'integer', 'is', { value: '42' }), voucher()), true);
    assert.equal(matches(rule('user_id', 'integer', 'is', { value: 43 }), voucher()), false);
    assert.equal(matches(rule('amount', 'number', 'is', { value: 10 }), voucher()), true);
    assert.equal(matches(rule('amount', 'number', 'is', { value: '10.0' }), voucher()), true);
    assert.equal(matches(rule('amount', 'number', 'is', { value: 10.01 }), voucher()), false);
    assert.equal(matches(rule('locked', 'boolean', 'is', { value: false }), voucher()), true);
    assert.equal(matches(rule('locked', 'boolean', 'is', { value: 'true' }), voucher()), false);
    assert.equal(matches(rule('locked', 'boolean', 'is', { value: 'true' }), voucher({ locked: true })), true);
    assert.equal(matches(rule('user_id', 'integer', 'is', { value: 42 }), voucher({ userId: null })), false);
  });

  it('is_not: negation of is; a null value matches', () => {
    assert.equal(matches(rule('status', 'keyword', 'is_not', { value: 'redeemed' }), voucher()), true);
    assert.equal(matches(rule('status', 'keyword', 'is_not', { value: 'claimed' }), voucher()), false);
    assert.equal(matches(rule('locked', 'boolean', 'is_not', { value: true }), voucher()), true);
    assert.equal(matches(rule('user_id', 'integer', 'is_not', { value: 42 }), voucher()), false);
    assert.equal(matches(rule('user_id', 'integer', 'is_not', { value: 42 }), voucher({ userId: null })), true);
  });

  it('contains: case-sensitive substring; null fails', () => {
    assert.equal(matches(rule('campaign_title', 'text', 'contains', { value: 'Sale' }), voucher()), true);
    assert.equal(matches(rule('campaign_title', 'text', 'contains', { value: 'sale' }), voucher()), false);
    assert.equal(matches(rule('voucher_key', 'keyword', 'contains', { value: 'VK-' }), voucher()), true);
    assert.equal(matches(rule('title', 'text', 'contains', { value: 'EUR' }), withNullTitle()), false);
  });

  it('does_not_contain: negation of contains; a null value matches', () => {
    assert.equal(matches(rule('campaign_title', 'text', 'does_not_contain', { value: 'sale' }), voucher()), true);
    assert.equal(matches(rule('campaign_title', 'text', 'does_not_contain', { value: 'Sale' }), voucher()), false);
    assert.equal(matches(rule('title', 'text', 'does_not_contain', { value: 'EUR' }), withNullTitle()), true);
  });

  it('is_date: same UTC calendar day; null fails', () => {
    const r = rule('date_time_creation', 'date', 'is_date', { value: '2026-03-15' });
    assert.equal(matches(r, voucher({ createdAt: iso('2026-03-15T00:00:00Z') })), true);
    assert.equal(matches(r, voucher({ createdAt: iso('2026-03-15T23:59:59Z') })), true);
    assert.equal(matches(r, voucher({ createdAt: iso('2026-03-16T00:00:00Z') })), false);
    assert.equal(matches(r, voucher({ createdAt: iso('2026-03-14T23:59:59Z') })), false);
    // A datetime with an offset denotes the UTC day of that instant (22:00-03:00 is 01:00Z the next day).
    const withOffset = rule('date_time_creation', 'date', 'is_date', { value: '2026-03-14T22:00:00-03:00' });
    assert.equal(matches(withOffset, voucher({ createdAt: iso('2026-03-15T05:00:00Z') })), true);
    const redeemed = rule('date_time_redeemed', 'date', 'is_date', { value: '2026-03-15' });
    assert.equal(matches(redeemed, voucher({ redeemedAt: null })), false);
  });

  it('is_after_date and is_before_date are strict; null fails', () => {
    const after = rule('date_time_redeemed', 'date', 'is_after_date', { start_date: '2026-05-01T00:00:00Z' });
    assert.equal(matches(after, voucher({ redeemedAt: iso('2026-05-01T00:00:01Z') })), true);
    assert.equal(matches(after, voucher({ redeemedAt: iso('2026-05-01T00:00:00Z') })), false);
    assert.equal(matches(after, voucher({ redeemedAt: null })), false);
    const before = rule('date_time_redeemed', 'date', 'is_before_date', { end_date: '2026-05-01' });
    assert.equal(matches(before, voucher({ redeemedAt: iso('2026-04-30T23:59:59Z') })), true);
    assert.equal(matches(before, voucher({ redeemedAt: iso('2026-05-01T00:00:00Z') })), false);
    assert.equal(matches(before, voucher({ redeemedAt: null })), false);
  });

  it('is_between_date is inclusive at both bounds; null fails', () => {
    const r = rule('date_time_expiry', 'date', 'is_between_date', {
      start_date: '2026-06-01T00:00:00Z', end_date: '2026-06-30T23:59:59Z',
    });
    assert.equal(matches(r, voucher({ expiresAt: iso('2026-06-01T00:00:00Z') })), true);
    assert.equal(matches(r, voucher({ expiresAt: iso('2026-06-30T23:59:59Z') })), true);
    assert.equal(matches(r, voucher({ expiresAt: iso('2026-06-15T12:00:00Z') })), true);
    assert.equal(matches(r, voucher({ expiresAt: iso('2026-05-31T23:59:59Z') })), false);
    assert.equal(matches(r, voucher({ expiresAt: iso('2026-07-01T00:00:00Z') })), false);
    assert.equal(matches(r, voucher({ expiresAt: null })), false);
  });

  it('is_between_number is inclusive at both bounds; null fails', () => {
    const r = rule('amount_original', 'number', 'is_between_number', { min: 5, max: '10.00' });
    assert.equal(matches(r, voucher({ amountOriginal: '5.00' })), true);
    assert.equal(matches(r, voucher({ amountOriginal: '10.00' })), true);
    assert.equal(matches(r, voucher({ amountOriginal: '4.99' })), false);
    assert.equal(matches(r, voucher({ amountOriginal: '10.01' })), false);
    const users = rule('user_id', 'integer', 'is_between_number', { min: 0, max: 100 });
    assert.equal(matches(users, voucher({ userId: null })), false);
  });
});

describe('relative operators and time factors', () => {
  const relative = (op: string, time_factor: string, time_amount: number): RawRule =>
    rule('date_time_redeemed', 'date', op, { time_factor, time_amount });
  const at = (redeemedAt: number | null): Voucher => voucher({ redeemedAt });

  const fixed: Array<[string, number]> = [['minute', 60], ['hour', 3600], ['day', 86400], ['week', 604800]];
  for (const [factor, unit] of fixed) {
    it(`${factor}: |field - now| < N units (strict), and > N units for relative_greater_than`, () => {
      const less = relative('relative_less_than', factor, 2);
      const greater = relative('relative_greater_than', factor, 2);
      for (const sign of [-1, 1]) {
        assert.equal(matches(less, at(NOW + sign * (2 * unit - 1))), true);
        assert.equal(matches(less, at(NOW + sign * 2 * unit)), false);
        assert.equal(matches(greater, at(NOW + sign * 2 * unit)), false);
        assert.equal(matches(greater, at(NOW + sign * (2 * unit + 1))), true);
        assert.equal(matches(greater, at(NOW + sign * (2 * unit - 1))), false);
      }
      assert.equal(matches(less, at(null)), false);
      assert.equal(matches(greater, at(null)), false);
    });
  }

  it('month: calendar months with the day clamped to the month end (leap February)', () => {
    const now = iso('2024-03-31T12:00:00Z'); // one month back is 2024-02-29T12:00Z, forward 2024-04-30T12:00Z
    const less = relative('relative_less_than', 'month', 1);
    const greater = relative('relative_greater_than', 'month', 1);
    assert.equal(matches(less, at(iso('2024-02-29T12:00:01Z')), now), true);
    assert.equal(matches(less, at(iso('2024-02-29T12:00:00Z')), now), false);
    assert.equal(matches(greater, at(iso('2024-02-29T11:59:59Z')), now), true);
    assert.equal(matches(greater, at(iso('2024-02-29T12:00:01Z')), now), false);
    assert.equal(matches(less, at(iso('2024-04-30T11:59:59Z')), now), true);
    assert.equal(matches(greater, at(iso('2024-04-30T12:00:01Z')), now), true);
    assert.equal(matches(less, at(null), now), false);
  });

  it('year: calendar years with Feb 29 clamped to Feb 28', () => {
    const now = iso('2024-02-29T00:00:00Z'); // window 2023-02-28 .. 2025-02-28
    const less = relative('relative_less_than', 'year', 1);
    const greater = relative('relative_greater_than', 'year', 1);
    assert.equal(matches(less, at(iso('2023-02-28T00:00:01Z')), now), true);
    assert.equal(matches(greater, at(iso('2023-02-27T23:59:59Z')), now), true);
    assert.equal(matches(less, at(iso('2025-02-28T00:00:00Z')), now), false);
    assert.equal(matches(greater, at(iso('2025-02-28T00:00:01Z')), now), true);
    assert.equal(matches(greater, at(null), now), false);
  });

  it('addUnits: month and year arithmetic', () => {
    const day = (s: string): number => iso(`${s}T08:30:00Z`);
    assert.equal(addUnits(day('2023-01-31'), 1, 'month'), day('2023-02-28'));
    assert.equal(addUnits(day('2024-01-31'), 1, 'month'), day('2024-02-29'));
    assert.equal(addUnits(day('2024-03-31'), -1, 'month'), day('2024-02-29'));
    assert.equal(addUnits(day('2024-12-15'), 1, 'month'), day('2025-01-15'));
    assert.equal(addUnits(day('2024-01-15'), -1, 'month'), day('2023-12-15'));
    assert.equal(addUnits(day('2024-05-31'), -15, 'month'), day('2023-02-28'));
    assert.equal(addUnits(day('2024-02-29'), 1, 'year'), day('2025-02-28'));
    assert.equal(addUnits(day('2024-02-29'), -4, 'year'), day('2020-02-29'));
    assert.equal(addUnits(day('2024-02-29'), 2, 'week'), day('2024-03-14'));
    assert.deepEqual([...TIME_FACTORS], ['minute', 'hour', 'day', 'week', 'month', 'year']);
  });

  it('time_amount 0: less_than matches nothing, greater_than everything but now', () => {
    assert.equal(matches(relative('relative_less_than', 'day', 0), at(NOW)), false);
    assert.equal(matches(relative('relative_greater_than', 'day', 0), at(NOW)), false);
    assert.equal(matches(relative('relative_greater_than', 'day', 0), at(NOW - 1)), true);
  });
});

describe('join', () => {
  const claimed = rule('status', 'keyword', 'is', { value: 'claimed' });
  const locked = rule('locked', 'boolean', 'is', { value: true });
  it('all requires every rule, any at least one', () => {
    assert.equal(matchesSegment(segment([claimed, locked], 'all'), voucher({ locked: true }), NOW), true);
    assert.equal(matchesSegment(segment([claimed, locked], 'all'), voucher(), NOW), false);
    assert.equal(matchesSegment(segment([claimed, locked], 'any'), voucher(), NOW), true);
    assert.equal(matchesSegment(segment([claimed, locked], 'any'), voucher({ status: 'redeemed' }), NOW), false);
  });
  it('empty rules match everything with either join', () => {
    assert.equal(matchesSegment(segment([], 'all'), voucher(), NOW), true);
    assert.equal(matchesSegment(segment([], 'any'), voucher(), NOW), true);
  });
});

describe('parseSegment validation', () => {
  it('returns the typed segment with dates as epoch seconds', () => {
    const parsed = segment([rule('date_time_creation', 'date', 'is_between_date', {
      start_date: '2026-03-01T00:00:00.999+01:00', end_date: '2026-03-31', nested: false,
    })], 'any');
    assert.deepEqual(parsed, {
      entity: 'people', index: 'vouchers', join: 'any', chainId: CHAIN,
      rules: [{
        fieldName: 'date_time_creation', fieldType: 'date', operator: 'is_between_date',
        startDate: iso('2026-02-28T23:00:00Z'), endDate: iso('2026-03-31T00:00:00Z'),
      }],
    });
  });

  it('rejects an unknown operator', () => {
    assertRuleRejects(rule('status', 'keyword', 'is_greater', { value: 'x' }), '.operator',
      /unknown operator "is_greater"; expected one of: is, is_not, contains/);
  });
  it('rejects an unknown field', () => {
    assertRuleRejects(rule('voucher_status', 'keyword', 'is', { value: 'claimed' }), '.field_name', /unknown field/);
  });
  it('rejects an unknown field type', () => {
    assertRuleRejects(rule('status', 'string', 'is', { value: 'claimed' }), '.field_type', /unknown field type "string"/);
  });
  it('rejects a field type that differs from the field declaration', () => {
    assertRuleRejects(rule('status', 'text', 'is', { value: 'claimed' }), '.field_type', /"keyword", not "text"/);
  });
  it('rejects an operator that does not suit the field type', () => {
    assertRuleRejects(rule('amount', 'number', 'contains', { value: '1' }), '.operator', /does not apply/);
    assertRuleRejects(rule('date_time_creation', 'date', 'is', { value: '2026-01-01' }), '.operator');
    assertRuleRejects(rule('status', 'keyword', 'is_date', { value: '2026-01-01' }), '.operator');
    assertRuleRejects(rule('locked', 'boolean', 'is_between_number', { min: 0, max: 1 }), '.operator');
  });
  it('rejects an unknown time factor and a bad time amount', () => {
    const rel = (extra: RawRule): RawRule => rule('date_time_redeemed', 'date', 'relative_less_than', extra);
    assertRuleRejects(rel({ time_factor: 'days', time_amount: 1 }), '.time_factor', /unknown time factor "days"/);
    assertRuleRejects(rel({ time_factor: 'day', time_amount: -1 }), '.time_amount');
    assertRuleRejects(rel({ time_factor: 'day', time_amount: 1.5 }), '.time_amount');
  });
  it('rejects a missing required parameter, and a parameter the operator does not use', () => {
    assertRuleRejects(rule('status', 'keyword', 'is', {}), '.value', /requires "value"/);
    assertRuleRejects(rule('date_time_creation', 'date', 'is_between_date', { start_date: '2026-01-01' }),
      '.end_date', /requires "end_date"/);
    assertRuleRejects(rule('date_time_redeemed', 'date', 'relative_less_than', { time_factor: 'day' }), '.time_amount');
    assertRuleRejects(rule('amount', 'number', 'is_between_number', { min: 1 }), '.max');
    assertRuleRejects(rule('date_time_creation', 'date', 'is_after_date', { end_date: '2026-01-01' }), '.start_date');
    assertRuleRejects(rule('date_time_creation', 'date', 'is_after_date', { start_date: '2026-01-01', end_date: '2026-02-01' }),
      '.end_date', /not used by operator "is_after_date"/);
  });
  it('rejects wrongly typed values and inverted ranges', () => {
    assertRuleRejects(rule('status', 'keyword', 'is', { value: 3 }), '.value');
    assertRuleRejects(rule('user_id', 'integer', 'is', { value: 'forty' }), '.value');
    assertRuleRejects(rule('locked', 'boolean', 'is', { value: 'yes' }), '.value');
    assertRuleRejects(rule('amount', 'number', 'is_between_number', { min: 10, max: 5 }), '.min');
    assertRuleRejects(rule('date_time_creation', 'date', 'is_between_date',
      { start_date: '2026-02-01', end_date: '2026-01-01' }), '.start_date');
  });
  it('rejects bad date strings', () => {
    for (const bad of ['2026-03-01 00:00:00', '2026-02-30', '2026-03-01T00:00', '2026-03-01T24:00:00Z',
      '2026-03-01T00:00:00+0100', '2026-3-1', 'yesterday', '2026-03-01Z', 20260301]) {
      assertRuleRejects(rule('date_time_creation', 'date', 'is_after_date', { start_date: bad }), '.start_date',
        /ISO 8601/);
    }
  });
  it('parses ISO 8601 dates strictly and floors fractions', () => {
    assert.equal(parseIsoSeconds('2026-03-01', 'x'), iso('2026-03-01T00:00:00Z'));
    assert.equal(parseIsoSeconds('2026-03-01T10:20:30', 'x'), iso('2026-03-01T10:20:30Z'));
    assert.equal(parseIsoSeconds('2026-03-01T10:20:30.999Z', 'x'), iso('2026-03-01T10:20:30Z'));
    assert.equal(parseIsoSeconds('2026-03-01T10:20:30-05:30', 'x'), iso('2026-03-01T15:50:30Z'));
    assert.equal(parseIsoSeconds('2024-02-29', 'x'), iso('2024-02-29T00:00:00Z'));
  });
  it('rejects a wrong index, chain_id, entity, join or rules', () => {
    assertRejects({ ...rawSegment([]), index: 'transactions' }, 'trigger.segment.index', /expected "vouchers"/);
    assertRejects({ ...rawSegment([]), chain_id: CHAIN + 1 }, 'trigger.segment.chain_id', /expected 1743/);
    assertRejects({ ...rawSegment([]), chain_id: String(CHAIN) }, 'trigger.segment.chain_id', /integer/);
    assertRejects({ ...rawSegment([]), entity: 'vouchers' }, 'trigger.segment.entity');
    assertRejects({ ...rawSegment([]), join: 'and' }, 'trigger.segment.join', /unknown join/);
    assertRejects({ ...rawSegment([]), rules: {} }, 'trigger.segment.rules');
    assertRejects('segment', 'trigger.segment');
    assertRejects({ ...rawSegment([]), rules: ['rule'] }, 'trigger.segment.rules[0]');
  });
  it('rejects unknown keys in a rule or the segment, and nested fields', () => {
    assertRuleRejects(rule('status', 'keyword', 'is', { value: 'claimed', case_insensitive: true }),
      '.case_insensitive', /unknown key "case_insensitive"/);
    assertRejects({ ...rawSegment([]), segment_id: 'abc' }, 'trigger.segment.segment_id');
    assertRuleRejects(rule('status', 'keyword', 'is', { value: 'claimed', nested: true }), '.nested', /nested/);
    assertRuleRejects(rule('status', 'keyword', 'is', { value: 'claimed', nesting_path: 'x' }), '.nesting_path');
    assert.equal(segment([rule('status', 'keyword', 'is', { value: 'claimed', nested: false })]).rules.length, 1);
  });
  it('names the failing rule by index and honours a custom path prefix', () => {
    const ok = rule('status', 'keyword', 'is', { value: 'claimed' });
    assertRejects(rawSegment([ok, ok, rule('nope', 'keyword', 'is', { value: 'x' })]),
      'trigger.segment.rules[2].field_name');
    assert.throws(() => parseSegment(rawSegment([], 'both'), EXPECT, 'body.segment'),
      (err: unknown) => err instanceof SegmentValidationError && err.field === 'body.segment.join');
  });
});

describe('the documented voucher segments (exporting-vouchers.txt)', () => {
  // Bodies copied from the guide, with YOUR_CHAIN_ID replaced; "now" is the guide's trigger.once.
  const documented = (rules: string): Segment => parseSegment(JSON.parse(`{
    "entity": "people", "index": "vouchers", "join": "all", "chain_id": ${CHAIN}, "rules": [${rules}] }`), EXPECT);
  const select = (s: Segment, vouchers: Voucher[]): number[] =>
    vouchers.filter((v) => matchesSegment(s, v, NOW)).map((v) => v.id);

  it('vouchers redeemed in the last 24 hours', () => {
    const s = documented(`{ "field_name": "date_time_redeemed", "field_type": "date",
      "operator": "relative_less_than", "time_factor": "day", "time_amount": 1 }`);
    assert.deepEqual(select(s, [
      voucher({ id: 1, status: 'redeemed', redeemedAt: iso('2026-05-26T01:00:00Z') }),
      voucher({ id: 2, status: 'redeemed', redeemedAt: iso('2026-05-25T12:00:01Z') }),
      voucher({ id: 3, status: 'redeemed', redeemedAt: iso('2026-05-25T11:59:59Z') }),
      voucher({ id: 4, redeemedAt: null }),
    ]), [1, 2]);
  });

  it('vouchers created in March 2026', () => {
    const s = documented(`{ "field_name": "date_time_creation", "field_type": "date",
      "operator": "is_between_date", "start_date": "2026-03-01T00:00:00Z", "end_date": "2026-03-31T23:59:59Z" }`);
    assert.deepEqual(select(s, [
      voucher({ id: 1, createdAt: iso('2026-03-01T00:00:00Z') }),
      voucher({ id: 2, createdAt: iso('2026-03-31T23:59:59Z') }),
      voucher({ id: 3, createdAt: iso('2026-02-28T23:59:59Z') }),
      voucher({ id: 4, createdAt: iso('2026-04-01T00:00:00Z') }),
      voucher({ id: 5, createdAt: iso('2026-03-15T10:00:00Z') }),
    ]), [1, 2, 5]);
  });

  it('vouchers expiring within 7 days (the symmetric window also admits ones expired < 7 days ago)', () => {
    const s = documented(`{ "field_name": "date_time_expiry", "field_type": "date",
      "operator": "relative_less_than", "time_factor": "day", "time_amount": 7 }`);
    assert.deepEqual(select(s, [
      voucher({ id: 1, expiresAt: iso('2026-05-30T00:00:00Z') }),
      voucher({ id: 2, expiresAt: iso('2026-06-02T11:59:59Z') }),
      voucher({ id: 3, expiresAt: iso('2026-06-02T12:00:00Z') }),
      voucher({ id: 4, expiresAt: iso('2026-06-10T00:00:00Z') }),
      voucher({ id: 5, expiresAt: null }),
      voucher({ id: 6, expiresAt: NO_EXPIRY_SENTINEL }),
      voucher({ id: 7, expiresAt: iso('2026-05-24T00:00:00Z') }),
    ]), [1, 2, 7]);
  });
});
