import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isoZ, planBackfill, planIncremental, splitWindows } from '../../../src/sync/windows.js';

const d = (iso: string) => new Date(iso);
const show = (ws: { start: Date; end: Date }[]) => ws.map((w) => `${isoZ(w.start)}..${isoZ(w.end)}`);
const H = 3_600_000;
const M = 60_000;

describe('splitWindows', () => {
  it('shares boundary instants and caps each window at maxWindowDays', () => {
    assert.deepEqual(show(splitWindows(d('2026-01-01T00:00:00Z'), d('2026-03-05T00:00:00Z'), 31)), [
      '2026-01-01T00:00:00Z..2026-02-01T00:00:00Z',
      '2026-02-01T00:00:00Z..2026-03-04T00:00:00Z',
      '2026-03-04T00:00:00Z..2026-03-05T00:00:00Z',
    ]);
  });

  it('widens to whole seconds: start rounded down, end up', () => {
    assert.deepEqual(show(splitWindows(d('2026-01-01T00:00:00.900Z'), d('2026-01-01T01:00:00.100Z'), 31)), ['2026-01-01T00:00:00Z..2026-01-01T01:00:01Z']);
  });

  it('is empty when there is nothing to cover', () => {
    assert.deepEqual(splitWindows(d('2026-01-02T00:00:00Z'), d('2026-01-01T00:00:00Z'), 31), []);
    assert.deepEqual(splitWindows(d('2026-01-01T00:00:00Z'), d('2026-01-01T00:00:00Z'), 31), []);
  });
});

describe('planIncremental', () => {
  const base = { now: d('2026-05-26T12:00:00Z'), lookbackMs: 2 * H, settleMs: 10 * M, maxWindowDays: 31, backfillStartDate: null };

  it('covers [watermark − lookback, now − settle]', () => {
    const plan = planIncremental({ ...base, watermark: d('2026-05-26T11:00:00Z') });
    assert.equal(plan.kind, 'windows');
    assert.deepEqual(show(plan.kind === 'windows' ? plan.windows : []), ['2026-05-26T09:00:00Z..2026-05-26T11:50:00Z']);
  });

  it('splits a long gap into windows', () => {
    const plan = planIncremental({ ...base, watermark: d('2026-03-01T02:00:00Z') });
    assert.equal(plan.kind === 'windows' && plan.windows.length, 3);
  });

  it('starts a first run at backfill.startDate, or asks for one unfiltered export', () => {
    assert.deepEqual(planIncremental({ ...base, watermark: null }), { kind: 'unfiltered' });
    const plan = planIncremental({ ...base, watermark: null, backfillStartDate: d('2026-05-01T00:00:00Z') });
    assert.deepEqual(show(plan.kind === 'windows' ? plan.windows : []), ['2026-05-01T00:00:00Z..2026-05-26T11:50:00Z']);
  });

  it('ignores backfill.startDate once a watermark exists', () => {
    const plan = planIncremental({ ...base, watermark: d('2026-05-26T11:00:00Z'), backfillStartDate: d('2020-01-01T00:00:00Z') });
    assert.equal(plan.kind === 'windows' && plan.windows.length, 1);
  });
});

describe('planBackfill', () => {
  const base = { now: d('2026-05-26T12:00:00Z'), settleMs: 10 * M, maxWindowDays: 31 };
  it('reads dates as whole UTC days, --to inclusive', () => {
    assert.deepEqual(show(planBackfill({ ...base, from: d('2026-03-01T00:00:00Z'), to: d('2026-03-31T00:00:00Z') })), ['2026-03-01T00:00:00Z..2026-04-01T00:00:00Z']);
  });
  it('never goes past now − settle', () => {
    assert.deepEqual(show(planBackfill({ ...base, from: d('2026-05-20T00:00:00Z'), to: null })), ['2026-05-20T00:00:00Z..2026-05-26T11:50:00Z']);
    assert.deepEqual(show(planBackfill({ ...base, from: d('2026-05-25T00:00:00Z'), to: d('2026-06-30T00:00:00Z') })), ['2026-05-25T00:00:00Z..2026-05-26T11:50:00Z']);
  });
});
