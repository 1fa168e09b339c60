// Spaaza's times as inputs: a reading far from this host's clock, or a task whose dates contradict
// each other, is refused; seeded random offsets around the bound show exactly where it lies.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServerClock } from '../../../src/extract/server-clock.js';
import { ImplausibleTimeError, plausibleTaskTimes, roughDuration, taskDate } from '../../../src/extract/spaaza-time.js';
import type { Task } from '../../../src/extract/task-schemas.js';
import { Rng } from '../../../src/simulator/random.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const NOW = Date.parse('2026-12-01T10:00:00Z');

function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => error instanceof ImplausibleTimeError && error.code === 'implausible_time' && !error.retryable && pattern.test(error.message));
}

describe("Spaaza's clock against this host's", () => {
  it('refuses a Date header a year ahead or behind, and names both clocks and the bound', () => {
    for (const offset of [365 * 86_400_000, -365 * 86_400_000, 16 * MIN, -16 * MIN]) {
      const clock = new ServerClock(15 * MIN, () => 0, () => NOW);
      clock.observe(new Date(NOW + offset).toUTCString());
      refused(() => clock.now(), /maxClockSkew \(15m\)/);
    }
  });

  it(`accepts a reading exactly within the bound, either way, on random offsets (seed printed)`, () => {
    const seed = Number(process.env.SEED ?? Date.now() % 100_000);
    const rng = new Rng(seed);
    for (let i = 0; i < 500; i++) {
      const bound = rng.int(1, 120) * MIN;
      const offset = Math.round((rng.next() * 4 - 2) * bound / 1000) * 1000;
      const clock = new ServerClock(bound, () => 0, () => NOW);
      clock.observe(new Date(NOW + offset).toUTCString());
      const ok = Math.abs(offset) <= bound;
      if (ok) assert.equal(clock.now()?.getTime(), NOW + offset, `seed ${seed}: offset ${offset} within ${bound}`);
      else assert.throws(() => clock.now(), ImplausibleTimeError, `seed ${seed}: offset ${offset} beyond ${bound}`);
    }
  });

  it("without a readable Date header this host's clock stands in, with the whole bound as tolerance", () => {
    const clock = new ServerClock(15 * MIN, () => 0, () => NOW);
    assert.deepEqual(clock.reading(), { now: new Date(NOW), toleranceMs: 15 * MIN, source: 'host' });
    clock.observe('yesterday, roughly');
    assert.equal(clock.reading().source, 'host');
    clock.observe(new Date(NOW + 60_000).toUTCString());
    assert.deepEqual(clock.reading(), { now: new Date(NOW + 60_000), toleranceMs: 2000, source: 'spaaza' });
  });

  it('a later plausible reading replaces an implausible one', () => {
    const clock = new ServerClock(15 * MIN, () => 0, () => NOW);
    clock.observe(new Date(NOW + 365 * 86_400_000).toUTCString());
    assert.throws(() => clock.now(), ImplausibleTimeError);
    clock.observe(new Date(NOW + 1000).toUTCString());
    assert.equal(clock.now()?.getTime(), NOW + 1000);
  });
});

const task = (state: Partial<Task['state']>): Task => ({
  id: 12345,
  chain: 1764,
  desc: 'x',
  state: { code: 'DONE', created_date: '2026-12-01T09:59:00Z', last_run_date: '2026-12-01T09:59:01Z', last_modified: '2026-12-01T09:59:30Z', ...state },
  trigger: {},
  target: {},
});
const bounds = { nowMs: NOW, notBeforeMs: NOW - 5 * MIN, maxSkewMs: 15 * MIN };

describe('the times of an export task', () => {
  it('gives the export time as the last run, else the creation; an empty last_run_date counts as none', () => {
    assert.deepEqual(plausibleTaskTimes(task({}), bounds), {
      createdMs: Date.parse('2026-12-01T09:59:00Z'),
      lastRunMs: Date.parse('2026-12-01T09:59:01Z'),
      exportedAtMs: Date.parse('2026-12-01T09:59:01Z'),
    });
    for (const empty of ['', '  ', null, undefined]) {
      const times = plausibleTaskTimes(task({ last_run_date: empty }), bounds);
      assert.equal(times.lastRunMs, null);
      assert.equal(times.exportedAtMs, Date.parse('2026-12-01T09:59:00Z'));
    }
    assert.equal(taskDate(''), null);
  });

  it('refuses dates in the future of Spaaza\'s clock, before the window, or out of order, and dates that are not dates', () => {
    refused(() => plausibleTaskTimes(task({ created_date: '2036-01-01T00:00:00Z', last_run_date: '2036-01-01T00:00:01Z' }), bounds), /created at 2036.*ahead of Spaaza's own clock/);
    refused(() => plausibleTaskTimes(task({ last_run_date: '2099-01-01T00:00:00Z' }), bounds), /ran at 2099.*ahead of Spaaza's own clock/);
    refused(() => plausibleTaskTimes(task({ created_date: '1970-01-01T00:00:00Z', last_run_date: '1970-01-01T00:00:01Z' }), bounds), /behind the window that asked for it/);
    refused(() => plausibleTaskTimes(task({ last_run_date: '2026-12-01T09:00:00Z' }), bounds), /before it was created/);
    refused(() => plausibleTaskTimes(task({ created_date: 'yesterday' }), bounds), /not an ISO 8601 time/);
    refused(() => plausibleTaskTimes(task({ last_run_date: '0NaN-NaN' }), bounds), /not an ISO 8601 time/);
  });

  it("allows a task date up to a minute after the answer's Date (rounding, servers' clocks), not more", () => {
    assert.doesNotThrow(() => plausibleTaskTimes(task({ created_date: '2026-12-01T10:00:01Z', last_run_date: '2026-12-01T10:00:01Z' }), bounds));
    assert.doesNotThrow(() => plausibleTaskTimes(task({ created_date: '2026-12-01T10:00:59Z', last_run_date: null }), bounds));
    refused(() => plausibleTaskTimes(task({ created_date: '2026-12-01T10:01:05Z', last_run_date: null }), bounds), /ahead of Spaaza's own clock/);
    // When this host's clock stands in, the whole clock bound applies.
    assert.doesNotThrow(() => plausibleTaskTimes(task({ created_date: '2026-12-01T10:10:00Z', last_run_date: null }), { ...bounds, toleranceMs: 15 * MIN }));
  });

  it('writes offsets to two units', () => {
    assert.equal(roughDuration(365 * 86_400_000 + 3 * HOUR + 17 * MIN), '365d3h');
    assert.equal(roughDuration(16 * MIN + 2_400), '16m2s');
  });
});
