/**
 * Segment filters over real HTTP: every export is checked against a filter of the ground truth
 * written here, independently of src/simulator/segment.ts, with the semantics the issue fixes
 * (is_between_* inclusive, is_after/is_before strict, relative_* as |field − now| against N
 * units, null fails every positive operator).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSimulator, type Simulator } from '../../../src/simulator/simulator.js';
import { NO_EXPIRY_SENTINEL, type Voucher } from '../../../src/simulator/voucher.js';
import {
  api, createExport, download, downloadUrl, exportBody, idsOf, isoZ, parseCsv, runExport, segment, waitDone,
  type ApiError, type Json,
} from '../../support/simulator-client.js';

const DAY = 86_400;
const FIXED: Record<string, number> = { minute: 60, hour: 3600, day: DAY, week: 7 * DAY };

/** `seconds` moved by `amount` units; month and year steps keep the day, clamped to the month's end. */
function shift(seconds: number, amount: number, factor: string): number {
  const fixed = FIXED[factor];
  if (fixed !== undefined) return seconds + amount * fixed;
  const d = new Date(seconds * 1000);
  const months = d.getUTCMonth() + amount * (factor === 'year' ? 12 : 1);
  const lastDay = new Date(Date.UTC(d.getUTCFullYear(), months + 1, 0)).getUTCDate();
  return Date.UTC(d.getUTCFullYear(), months, Math.min(d.getUTCDate(), lastDay), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()) / 1000;
}

const within = (value: number | null, now: number, amount: number, factor: string): boolean =>
  value !== null && shift(now, -amount, factor) < value && value < shift(now, amount, factor);
const beyond = (value: number | null, now: number, amount: number, factor: string): boolean =>
  value !== null && (value < shift(now, -amount, factor) || value > shift(now, amount, factor));
const seconds = (iso: string): number => Date.parse(iso) / 1000;
const rule = (field_name: string, field_type: string, operator: string, params: Json = {}): Json => ({ field_name, field_type, operator, ...params });

describe('segments over HTTP', () => {
  let sim: Simulator;
  let chain: number;
  let now: number;
  /** Vouchers the setup changed, to make sure each filter has something to find. */
  const touched = { redeemed: [] as number[], created: [] as number[], expiresIn3d: [] as number[], expired2dAgo: 0, expiresIn8d: 0, expiresIn7dExactly: 0, expiresJustInside: 0 };

  const truth = (): Voucher[] => [...sim.groundTruth(chain)];
  const expected = (keep: (v: Voucher) => boolean): number[] => truth().filter(keep).map((v) => v.id);
  async function exportIds(rules: Json[], join: 'all' | 'any' = 'all'): Promise<number[]> {
    const run = await runExport(sim, { chain, segment: segment(chain, rules, join) });
    assert.equal(run.task.result?.rows, run.records.length);
    return idsOf(run.records);
  }

  before(async () => {
    // A fixed start, since the documented segments filter on fixed dates (March 2026, …).
    sim = await startSimulator({ port: 0, chains: 1, vouchersPerChain: 2000, taskDurationMs: 0, clockRate: 0, startMs: Date.UTC(2026, 4, 26, 12) });
    chain = sim.chainIds[0]!;
    sim.advance(7200);
    const open = truth().filter((v) => v.status !== 'redeemed' && v.amount !== '0.00');
    for (const v of open.slice(0, 5)) touched.redeemed.push(sim.vouchers.redeem(v.id).voucher.id);
    const partial = open.find((v) => v.type === 'basket' && Number(v.amount) >= 10)!;
    const { voucher, regenerated } = sim.vouchers.redeem(partial.id, '1.00');
    touched.redeemed.push(voucher.id);
    touched.created.push(regenerated!.id);
    for (let k = 0; k < 3; k++) touched.created.push(sim.vouchers.create(chain).id);
    sim.advance(1800);
    now = Math.floor(sim.now().getTime() / 1000);
    const others = open.slice(10);
    for (const v of others.slice(0, 3)) touched.expiresIn3d.push(sim.vouchers.setExpiry(v.id, new Date((now + 3 * DAY) * 1000)).id);
    touched.expired2dAgo = sim.vouchers.setExpiry(others[3]!.id, new Date((now - 2 * DAY) * 1000)).id;
    touched.expiresIn8d = sim.vouchers.setExpiry(others[4]!.id, new Date((now + 8 * DAY) * 1000)).id;
    touched.expiresIn7dExactly = sim.vouchers.setExpiry(others[5]!.id, new Date((now + 7 * DAY) * 1000)).id;
    touched.expiresJustInside = sim.vouchers.setExpiry(others[6]!.id, new Date((now + 7 * DAY - 1) * 1000)).id;
  });
  after(() => sim.close());

  describe('the three documented exports of exporting-vouchers.txt', () => {
    /** The body exactly as the page writes it, `once` included (it lies in the past: runs at the next tick). */
    async function documented(desc: string, rules: Json[]): Promise<number[]> {
      const body = exportBody(sim, { chain, desc, once: new Date('2026-05-26T12:00:00Z'), segment: segment(chain, rules) });
      assert.deepEqual((body.trigger as Json).once, '2026-05-26T12:00:00Z');
      const created = await api<{ id: number }>(sim, 'POST', '/tasks', { auth: sim.bearer(chain), body });
      assert.equal(created.status, 200, created.text);
      const task = await waitDone(sim, created.body.id);
      assert.equal(task.state.code, 'DONE');
      const rows = parseCsv((await download(await downloadUrl(sim, task.id))).text);
      return idsOf(rows);
    }

    it('vouchers redeemed in the last 24 hours', async () => {
      const ids = await documented('Vouchers redeemed in the last 24 hours', [
        rule('date_time_redeemed', 'date', 'relative_less_than', { time_factor: 'day', time_amount: 1 }),
      ]);
      const want = expected((v) => v.redeemedAt !== null && Math.abs(v.redeemedAt - now) < DAY);
      assert.deepEqual(ids, want);
      for (const id of touched.redeemed) assert.ok(ids.includes(id), `voucher ${id}, redeemed 30 minutes ago`);
    });

    it('vouchers created in a date range (March 2026)', async () => {
      const ids = await documented('Vouchers created in March 2026', [
        rule('date_time_creation', 'date', 'is_between_date', { start_date: '2026-03-01T00:00:00Z', end_date: '2026-03-31T23:59:59Z' }),
      ]);
      const want = expected((v) => seconds('2026-03-01T00:00:00Z') <= v.createdAt && v.createdAt <= seconds('2026-03-31T23:59:59Z'));
      assert.deepEqual(ids, want);
      assert.ok(ids.length > 50, `about 85 vouchers a month; got ${ids.length}`);
      const rows = truth().filter((v) => ids.includes(v.id));
      assert.ok(rows.every((v) => isoZ(v.createdAt).startsWith('2026-03-')));
    });

    it('vouchers expiring within 7 days', async () => {
      const ids = await documented('Vouchers expiring within 7 days', [
        rule('date_time_expiry', 'date', 'relative_less_than', { time_factor: 'day', time_amount: 7 }),
      ]);
      const want = expected((v) => v.expiresAt !== null && Math.abs(v.expiresAt - now) < 7 * DAY);
      assert.deepEqual(ids, want);
      for (const id of [...touched.expiresIn3d, touched.expired2dAgo, touched.expiresJustInside]) assert.ok(ids.includes(id), `voucher ${id}`);
      for (const id of [touched.expiresIn8d, touched.expiresIn7dExactly]) assert.ok(!ids.includes(id), `voucher ${id}`);
      assert.ok(!truth().some((v) => ids.includes(v.id) && v.expiresAt === NO_EXPIRY_SENTINEL), 'the 2050 sentinel is not "expiring soon"');
    });
  });

  describe('is_between_date with join all and any', () => {
    it('over date_time_creation and date_time_redeemed, bounds inclusive', async () => {
      const all = truth();
      const redeemed = all.filter((v) => v.redeemedAt !== null);
      // Bounds that fall exactly on vouchers, to show inclusiveness.
      const createdFrom = all[400]!.createdAt;
      const createdTo = all[900]!.createdAt;
      const redeemedFrom = redeemed[200]!.redeemedAt!;
      const redeemedTo = redeemed[450]!.redeemedAt!;
      const rules = [
        rule('date_time_creation', 'date', 'is_between_date', { start_date: isoZ(createdFrom), end_date: isoZ(createdTo) }),
        rule('date_time_redeemed', 'date', 'is_between_date', { start_date: isoZ(redeemedFrom), end_date: isoZ(redeemedTo) }),
      ];
      const inCreated = (v: Voucher) => createdFrom <= v.createdAt && v.createdAt <= createdTo;
      const inRedeemed = (v: Voucher) => v.redeemedAt !== null && redeemedFrom <= v.redeemedAt && v.redeemedAt <= redeemedTo;

      const both = await exportIds(rules, 'all');
      const either = await exportIds(rules, 'any');
      assert.deepEqual(both, expected((v) => inCreated(v) && inRedeemed(v)));
      assert.deepEqual(either, expected((v) => inCreated(v) || inRedeemed(v)));
      assert.ok(both.length > 0 && either.length > both.length);
      for (const id of [all[400]!.id, all[900]!.id, redeemed[200]!.id, redeemed[450]!.id]) assert.ok(either.includes(id), `boundary voucher ${id}`);
    });

    it('an empty rules array matches every live voucher', async () => {
      assert.deepEqual(await exportIds([]), expected(() => true));
    });
  });

  describe('every other operator, against a local filter', () => {
    const cases: [string, () => Json, (v: Voucher) => boolean][] = [
      ['is on a keyword', () => rule('status', 'keyword', 'is', { value: 'redeemed' }), (v) => v.status === 'redeemed'],
      ['is on a boolean', () => rule('locked', 'boolean', 'is', { value: true }), (v) => v.locked],
      ['is on an integer', () => rule('campaign_id', 'integer', 'is', { value: 1005 }), (v) => v.campaignId === 1005],
      ['is on a number', () => rule('amount', 'number', 'is', { value: '15.00' }), (v) => v.amount === '15.00'],
      ['is_not on a keyword', () => rule('type', 'keyword', 'is_not', { value: 'basket' }), (v) => v.type !== 'basket'],
      ['is_not on an integer (null user ids match)', () => rule('user_id', 'integer', 'is_not', { value: 10_000_001 }), (v) => v.userId !== 10_000_001],
      ['contains on a text', () => rule('title', 'text', 'contains', { value: '€' }), (v) => v.title.includes('€')],
      ['contains is case-sensitive', () => rule('campaign_title', 'text', 'contains', { value: 'Gold' }), (v) => v.campaignTitle.includes('Gold')],
      ['does_not_contain on a text', () => rule('campaign_title', 'text', 'does_not_contain', { value: ', ' }), (v) => !v.campaignTitle.includes(', ')],
      ['is_date (same UTC day)', () => rule('date_time_creation', 'date', 'is_date', { value: '2026-03-15' }), (v) => isoZ(v.createdAt).startsWith('2026-03-15')],
      ['is_after_date (strict)', () => rule('date_time_redeemed', 'date', 'is_after_date', { start_date: '2026-05-01T00:00:00Z' }), (v) => v.redeemedAt !== null && v.redeemedAt > seconds('2026-05-01T00:00:00Z')],
      ['is_before_date (strict)', () => rule('date_time_creation', 'date', 'is_before_date', { end_date: '2024-09-01T00:00:00+02:00' }), (v) => v.createdAt < seconds('2024-08-31T22:00:00Z')],
      ['is_between_number (inclusive)', () => rule('amount', 'number', 'is_between_number', { min: 10, max: '20' }), (v) => Number(v.amount) >= 10 && Number(v.amount) <= 20],
      ['relative_greater_than', () => rule('date_time_expiry', 'date', 'relative_greater_than', { time_factor: 'year', time_amount: 1 }), (v) => beyond(v.expiresAt, now, 1, 'year')],
      ['relative_less_than', () => rule('date_time_creation', 'date', 'relative_less_than', { time_factor: 'week', time_amount: 2 }), (v) => within(v.createdAt, now, 2, 'week')],
    ];
    for (const [what, make, keep] of cases) {
      it(what, async () => {
        const ids = await exportIds([make()]);
        const want = expected(keep);
        assert.ok(want.length > 0, 'the filter finds something');
        assert.ok(want.length < truth().length, 'the filter leaves something out');
        assert.deepEqual(ids, want);
      });
    }

    it('null fails the positive operators and matches the negative ones; contains is case-sensitive', async () => {
      const noUser = expected((v) => v.userId === null);
      const neverRedeemed = expected((v) => v.redeemedAt === null);
      assert.ok(noUser.length > 0 && neverRedeemed.length > 0);
      const isNot = await exportIds([rule('user_id', 'integer', 'is_not', { value: 10_000_001 })]);
      assert.ok(noUser.every((id) => isNot.includes(id)));
      const between = await exportIds([rule('user_id', 'integer', 'is_between_number', { min: 0, max: 1e12 })]);
      assert.ok(noUser.every((id) => !between.includes(id)));
      assert.deepEqual(between, expected((v) => v.userId !== null));
      const redeemedEver = await exportIds([rule('date_time_redeemed', 'date', 'relative_greater_than', { time_factor: 'minute', time_amount: 0 })]);
      assert.ok(neverRedeemed.every((id) => !redeemedEver.includes(id)));
      assert.deepEqual(await exportIds([rule('campaign_title', 'text', 'contains', { value: 'gold' })]), []);
      assert.deepEqual(await exportIds([rule('campaign_title', 'text', 'does_not_contain', { value: 'gold' })]), expected(() => true));
    });

    it('boundaries: is_after_date and is_before_date exclude the instant itself, is_date spans the whole day', async () => {
      const v = truth()[1234]!;
      const after = await exportIds([rule('date_time_creation', 'date', 'is_after_date', { start_date: isoZ(v.createdAt) })]);
      const before = await exportIds([rule('date_time_creation', 'date', 'is_before_date', { end_date: isoZ(v.createdAt) })]);
      assert.ok(!after.includes(v.id) && !before.includes(v.id));
      assert.deepEqual(after, expected((x) => x.createdAt > v.createdAt));
      assert.deepEqual(before, expected((x) => x.createdAt < v.createdAt));
      const sameDay = await exportIds([rule('date_time_creation', 'date', 'is_date', { value: isoZ(v.createdAt) })]);
      assert.ok(sameDay.includes(v.id));
      assert.deepEqual(sameDay, expected((x) => isoZ(x.createdAt).slice(0, 10) === isoZ(v.createdAt).slice(0, 10)));
    });
  });

  describe('time factors', () => {
    const cases: [string, number, 'relative_less_than' | 'relative_greater_than', 'date_time_creation' | 'date_time_expiry'][] = [
      ['minute', 180, 'relative_less_than', 'date_time_creation'],
      ['hour', 30, 'relative_less_than', 'date_time_creation'],
      ['day', 10, 'relative_less_than', 'date_time_creation'],
      ['week', 3, 'relative_less_than', 'date_time_expiry'],
      ['month', 2, 'relative_less_than', 'date_time_creation'],
      ['year', 1, 'relative_less_than', 'date_time_creation'],
      ['month', 18, 'relative_greater_than', 'date_time_creation'],
      ['minute', 90, 'relative_greater_than', 'date_time_creation'],
    ];
    for (const [factor, amount, operator, field] of cases) {
      it(`${operator} ${amount} ${factor}s on ${field}`, async () => {
        const ids = await exportIds([rule(field, 'date', operator, { time_factor: factor, time_amount: amount })]);
        const value = (v: Voucher) => (field === 'date_time_creation' ? v.createdAt : v.expiresAt);
        const test = operator === 'relative_less_than' ? within : beyond;
        const want = expected((v) => test(value(v), now, amount, factor));
        assert.ok(want.length > 0);
        assert.deepEqual(ids, want);
      });
    }

    it('minute: only the vouchers made 30 minutes ago are within 31 minutes', async () => {
      const ids = await exportIds([rule('date_time_creation', 'date', 'relative_less_than', { time_factor: 'minute', time_amount: 31 })]);
      assert.deepEqual(ids, [...touched.created].sort((a, b) => a - b));
    });
  });

  describe('400 naming the field', () => {
    const path = 'trigger.segment';
    const cases: [string, () => Json, string][] = [
      ['an unknown operator', () => segment(chain, [rule('status', 'keyword', 'is_like', { value: 'x' })]), `${path}.rules[0].operator`],
      ['an unknown field', () => segment(chain, [rule('status', 'keyword', 'is', { value: 'x' }), rule('colour', 'keyword', 'is', { value: 'x' })]), `${path}.rules[1].field_name`],
      ['an unknown field type', () => segment(chain, [rule('amount', 'float', 'is', { value: 1 })]), `${path}.rules[0].field_type`],
      ['a field type that is not the field\'s', () => segment(chain, [rule('status', 'date', 'is_date', { value: '2026-01-01' })]), `${path}.rules[0].field_type`],
      ['an unknown time factor', () => segment(chain, [rule('date_time_expiry', 'date', 'relative_less_than', { time_factor: 'fortnight', time_amount: 1 })]), `${path}.rules[0].time_factor`],
      ['a negative time amount', () => segment(chain, [rule('date_time_expiry', 'date', 'relative_less_than', { time_factor: 'day', time_amount: -1 })]), `${path}.rules[0].time_amount`],
      ['an operator that does not fit the type', () => segment(chain, [rule('date_time_expiry', 'date', 'contains', { value: '2026' })]), `${path}.rules[0].operator`],
      ['a missing operand', () => segment(chain, [rule('date_time_creation', 'date', 'is_between_date', { start_date: '2026-01-01' })]), `${path}.rules[0].end_date`],
      ['an operand the operator does not use', () => segment(chain, [rule('status', 'keyword', 'is', { value: 'claimed', min: 1 })]), `${path}.rules[0].min`],
      ['a bad date', () => segment(chain, [rule('date_time_creation', 'date', 'is_after_date', { start_date: '26/05/2026' })]), `${path}.rules[0].start_date`],
      ['start after end', () => segment(chain, [rule('date_time_creation', 'date', 'is_between_date', { start_date: '2026-02-01', end_date: '2026-01-01' })]), `${path}.rules[0].start_date`],
      ['min above max', () => segment(chain, [rule('amount', 'number', 'is_between_number', { min: 5, max: 1 })]), `${path}.rules[0].min`],
      ['a bad join', () => segment(chain, [], 'either' as 'any'), `${path}.join`],
      ['another entity', () => ({ ...segment(chain, []), entity: 'vouchers' }), `${path}.entity`],
      ['an unknown segment key', () => ({ ...segment(chain, []), limit: 10 }), `${path}.limit`],
      ['rules that are not an array', () => ({ ...segment(chain, []), rules: {} }), `${path}.rules`],
      ['nested fields', () => segment(chain, [rule('status', 'keyword', 'is', { value: 'x', nested: true })]), `${path}.rules[0].nested`],
    ];
    for (const [what, make, field] of cases) {
      it(`${what} → ${field}`, async () => {
        const body = exportBody(sim, { chain, segment: make() });
        const reply = await api<ApiError>(sim, 'POST', '/tasks', { auth: sim.bearer(chain), body });
        assert.equal(reply.status, 400, reply.text);
        assert.equal(reply.body.error.code, 'validation_error');
        assert.equal(reply.body.error.field, field);
      });
    }

    it('each operator, field type and time factor of the issue is accepted', async () => {
      const accepted = [
        ...['minute', 'hour', 'day', 'week', 'month', 'year'].flatMap((f) => [
          rule('date_time_expiry', 'date', 'relative_less_than', { time_factor: f, time_amount: 1 }),
          rule('date_time_expiry', 'date', 'relative_greater_than', { time_factor: f, time_amount: 1 }),
        ]),
        rule('voucher_key', 'keyword', 'contains', { value: 'ab' }),
        rule('campaign_title', 'text', 'is_not', { value: 'x' }),
        rule('currency_id', 'integer', 'is_between_number', { min: 1, max: 3 }),
        rule('amount_original', 'number', 'is', { value: 5 }),
        rule('locked', 'boolean', 'is_not', { value: 'false' }),
        rule('date_time_redeemed', 'date', 'is_date', { value: '2026-05-26T00:00:00Z' }),
      ];
      const task = await createExport(sim, { chain, segment: segment(chain, accepted, 'any') });
      assert.equal(task.state.code, 'READY');
      assert.equal(((task.trigger.segment as Json).rules as Json[]).length, accepted.length);
    });
  });
});
