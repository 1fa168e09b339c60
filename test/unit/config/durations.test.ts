import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from '../../../src/config/durations.js';

describe('parseDuration', () => {
  it('reads each unit', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('10m'), 600_000);
    assert.equal(parseDuration('2h'), 7_200_000);
    assert.equal(parseDuration('1d'), 86_400_000);
    assert.equal(parseDuration('0s'), 0);
  });

  it('reads several parts, largest unit first', () => {
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('1d2h3m4s5ms'), 86_400_000 + 7_200_000 + 180_000 + 4_000 + 5);
  });

  it('refuses text without a unit, other units, spaces, fractions, signs and wrong order', () => {
    for (const text of ['', '60', '2 hours', '2 h', '2H', '1.5h', '-1s', '+1s', '1w', '30m1h', '1h1h', 'h', '1hx', ' 1h']) {
      assert.equal(parseDuration(text), undefined, text);
    }
  });

  it('refuses values past the safe integer range', () => {
    assert.equal(parseDuration('999999999999999d'), undefined);
  });
});

describe('formatDuration', () => {
  it('writes the shortest form that reads back', () => {
    assert.equal(formatDuration(7_200_000), '2h');
    assert.equal(formatDuration(90_000), '1m30s');
    assert.equal(formatDuration(250), '250ms');
    assert.equal(formatDuration(0), '0s');
    for (const ms of [1, 999, 1_000, 61_001, 86_400_000 * 3 + 1, 2_147_483_647]) assert.equal(parseDuration(formatDuration(ms)), ms);
  });
});
