/**
 * The filters of `spaaza-sync export`: the document's three exports as explicit bounds on
 * Spaaza's clock, `--rule` checked against the segment reference, every problem named at once.
 * Seeded random bounds check that a flag means what it says at any now.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { exportSegment, ExportFilterError, parseRule, VOUCHER_FIELDS } from '../../../src/extract/export-filters.js';

const NOW = new Date('2026-05-26T12:00:00.750Z');
const H = 3_600_000;
const SEED = Number(process.env.SPAAZA_FILTER_SEED ?? 20261201);

describe('export filters', () => {
  it('no filter exports every voucher', () => {
    assert.equal(exportSegment({}, NOW), null);
    assert.equal(exportSegment({ rules: [] }, NOW), null);
  });

  it("redeemed within 24 h is [now − 24 h, now] on date_time_redeemed, in whole seconds", () => {
    assert.deepEqual(exportSegment({ redeemedWithinMs: 24 * H }, NOW), {
      join: 'all',
      rules: [{ field_name: 'date_time_redeemed', field_type: 'date', operator: 'is_between_date', start_date: '2026-05-25T12:00:00Z', end_date: '2026-05-26T12:00:00Z' }],
    });
  });

  it('expiring within 7 days is [now, now + 7 d], never the vouchers that already expired', () => {
    const segment = exportSegment({ expiringWithinMs: 7 * 24 * H }, NOW)!;
    assert.deepEqual(segment.rules, [{ field_name: 'date_time_expiry', field_type: 'date', operator: 'is_between_date', start_date: '2026-05-26T12:00:00Z', end_date: '2026-06-02T12:00:00Z' }]);
    assert.ok(!JSON.stringify(segment).includes('relative_'), 'no relative operator, whose reading is inferred');
  });

  it('created between two instants, and the three together, joined as asked', () => {
    const segment = exportSegment({ createdBetween: { from: new Date('2026-03-01T00:00:00Z'), to: new Date('2026-03-31T23:59:59Z') }, redeemedWithinMs: H, join: 'any' }, NOW)!;
    assert.equal(segment.join, 'any');
    assert.deepEqual(segment.rules.map((r) => [r.field_name, r.start_date, r.end_date]), [
      ['date_time_redeemed', '2026-05-26T11:00:00Z', '2026-05-26T12:00:00Z'],
      ['date_time_creation', '2026-03-01T00:00:00Z', '2026-03-31T23:59:59Z'],
    ]);
  });

  it(`a flag's bounds contain exactly the instants it names, at any now (seed ${SEED})`, () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('2000-01-01'), max: new Date('2090-01-01'), noInvalidDate: true }), fc.integer({ min: 1, max: 400 * 24 }), (now, hours) => {
        const [rule] = exportSegment({ expiringWithinMs: hours * H }, now)!.rules;
        const from = Date.parse(String(rule!.start_date));
        const to = Date.parse(String(rule!.end_date));
        const nowSecond = Math.floor(now.getTime() / 1000) * 1000;
        assert.equal(from, nowSecond, 'starts at now (to the second)');
        assert.equal(to - from, hours * H, 'spans exactly the duration');
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('parses --rule for every operator, typed by the field', () => {
    assert.deepEqual(parseRule('status:is:redeemed'), { field_name: 'status', field_type: 'keyword', operator: 'is', value: 'redeemed' });
    assert.deepEqual(parseRule('locked:is:true'), { field_name: 'locked', field_type: 'boolean', operator: 'is', value: true });
    assert.deepEqual(parseRule('campaign_id:is:12'), { field_name: 'campaign_id', field_type: 'integer', operator: 'is', value: 12 });
    assert.deepEqual(parseRule('campaign_title:contains:Spring'), { field_name: 'campaign_title', field_type: 'text', operator: 'contains', value: 'Spring' });
    assert.deepEqual(parseRule('amount:is_between_number:5,10.5'), { field_name: 'amount', field_type: 'number', operator: 'is_between_number', min: 5, max: 10.5 });
    assert.deepEqual(parseRule('date_time_creation:is_after_date:2026-05-01T00:00:00Z'), { field_name: 'date_time_creation', field_type: 'date', operator: 'is_after_date', start_date: '2026-05-01T00:00:00Z' });
    assert.deepEqual(parseRule('date_time_expiry:is_between_date:2026-05-01,2026-05-02T10:00:00+02:00'), {
      field_name: 'date_time_expiry', field_type: 'date', operator: 'is_between_date', start_date: '2026-05-01T00:00:00Z', end_date: '2026-05-02T08:00:00Z',
    });
    assert.deepEqual(parseRule('date_time_redeemed:relative_less_than:1,day'), { field_name: 'date_time_redeemed', field_type: 'date', operator: 'relative_less_than', time_factor: 'day', time_amount: 1 });
    assert.deepEqual(parseRule('date_time_redeemed:relative_greater_than:3weeks'), { field_name: 'date_time_redeemed', field_type: 'date', operator: 'relative_greater_than', time_factor: 'week', time_amount: 3 });
  });

  it('names the bad part of a rule, and lists every problem before anything is sent', () => {
    const problem = (text: string) => parseRule(text) as string;
    assert.match(problem('status'), /FIELD:OPERATOR:ARGS/);
    assert.match(problem('colour:is:red'), /unknown field "colour".*date_time_expiry/);
    assert.match(problem('status:is_between_date:2026-01-01,2026-01-02'), /does not apply to status \(a keyword field\); use one of: is, is_not, contains, does_not_contain/);
    assert.match(problem('date_time_creation:is_between_date:2026-02-30,2026-03-01'), /FROM,TO/);
    assert.match(problem('date_time_creation:is_between_date:2026-03-02,2026-03-01'), /is after/);
    assert.match(problem('date_time_creation:is_after_date:2026-03-01T10:00:00'), /not a date or a UTC instant/, 'a time without its zone is refused');
    assert.match(problem('campaign_id:is:twelve'), /not a whole number/);
    assert.match(problem('locked:is:yes'), /not true or false/);
    assert.match(problem('date_time_redeemed:relative_less_than:0,day'), /N,UNIT/);
    assert.match(problem('date_time_redeemed:relative_less_than:1,fortnight'), /N,UNIT/);
    try {
      exportSegment({ rules: ['colour:is:red', 'status:is:redeemed', 'amount:is:x'], createdBetween: { from: new Date('2026-04-01'), to: new Date('2026-03-01') } }, NOW);
      assert.fail('the filters were accepted');
    } catch (error) {
      assert.ok(error instanceof ExportFilterError);
      assert.equal(error.problems.length, 3, error.problems.join('\n'));
      assert.match(error.problems[0]!, /^--created-between/);
      assert.match(error.problems[1]!, /^--rule "colour:is:red" \(rule 1\)/);
      assert.match(error.problems[2]!, /^--rule "amount:is:x" \(rule 3\)/);
    }
  });

  it('knows the export fields of the vouchers index, and their types', () => {
    assert.equal(VOUCHER_FIELDS.get('date_time_creation'), 'date');
    assert.equal(VOUCHER_FIELDS.get('date_time_redeemed'), 'date');
    assert.equal(VOUCHER_FIELDS.get('date_time_expiry'), 'date');
    assert.equal(VOUCHER_FIELDS.get('id'), 'integer');
    assert.equal(VOUCHER_FIELDS.get('amount'), 'number');
    assert.equal(VOUCHER_FIELDS.get('status'), 'keyword');
  });
});
