import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ValueError, parseBoolean, parseDecimal, parseInteger, parseTimestamp } from '../../../src/transform/values.js';

function assertValueError(fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ValueError, `expected ValueError, got ${String(error)}`);
    if (message) assert.match(error.message, message);
    return true;
  });
}

describe('parseTimestamp', () => {
  it('keeps a Z timestamp as it is', () => {
    assert.equal(parseTimestamp('2026-05-26T12:00:00Z'), '2026-05-26T12:00:00Z');
    assert.equal(parseTimestamp('2026-05-26t12:00:00z'), '2026-05-26T12:00:00Z');
  });

  it('converts offsets to UTC', () => {
    assert.equal(parseTimestamp('2026-05-26T12:00:00+00:00'), '2026-05-26T12:00:00Z');
    assert.equal(parseTimestamp('2026-05-26T12:00:00-00:00'), '2026-05-26T12:00:00Z');
    assert.equal(parseTimestamp('2026-05-26T12:00:00+0530'), '2026-05-26T06:30:00Z');
    assert.equal(parseTimestamp('2026-05-26T12:00:00+05:30'), '2026-05-26T06:30:00Z');
    assert.equal(parseTimestamp('2026-05-26T12:00:00-08:00'), '2026-05-26T20:00:00Z');
    assert.equal(parseTimestamp('2026-05-26T12:00:00+02'), '2026-05-26T10:00:00Z');
    assert.equal(parseTimestamp('2026-05-26 12:00:00+0200'), '2026-05-26T10:00:00Z');
  });

  it('crosses day, month and year boundaries when converting', () => {
    assert.equal(parseTimestamp('2026-01-01T01:00:00+05:30'), '2025-12-31T19:30:00Z');
    assert.equal(parseTimestamp('2025-12-31T20:00:00-08:00'), '2026-01-01T04:00:00Z');
    assert.equal(parseTimestamp('2024-02-28T23:30:00-01:00'), '2024-02-29T00:30:00Z');
  });

  it('reads "YYYY-MM-DD HH:MM:SS" and a T without a zone as UTC', () => {
    assert.equal(parseTimestamp('2026-05-26 12:34:56'), '2026-05-26T12:34:56Z');
    assert.equal(parseTimestamp('2026-05-26T12:34:56'), '2026-05-26T12:34:56Z');
  });

  it('keeps fractions to the microsecond, truncating (not rounding) longer ones', () => {
    assert.equal(parseTimestamp('2026-05-26T12:00:00.5Z'), '2026-05-26T12:00:00.5Z');
    assert.equal(parseTimestamp('2026-05-26T12:00:00.123Z'), '2026-05-26T12:00:00.123Z');
    assert.equal(parseTimestamp('2026-05-26T12:00:00.123456Z'), '2026-05-26T12:00:00.123456Z');
    assert.equal(parseTimestamp('2026-05-26T12:00:00.123456789Z'), '2026-05-26T12:00:00.123456Z');
    assert.equal(parseTimestamp('2026-05-26T12:00:00.999999999Z'), '2026-05-26T12:00:00.999999Z');
    assert.equal(parseTimestamp('2026-05-26 12:00:00.1200'), '2026-05-26T12:00:00.12Z');
    assert.equal(parseTimestamp('2026-05-26T12:00:00.000000Z'), '2026-05-26T12:00:00Z');
    assert.equal(parseTimestamp('2026-05-26T12:00:00.1234567+05:30'), '2026-05-26T06:30:00.123456Z');
  });

  it('accepts leap days only in leap years', () => {
    assert.equal(parseTimestamp('2024-02-29T00:00:00Z'), '2024-02-29T00:00:00Z');
    assert.equal(parseTimestamp('2000-02-29T00:00:00Z'), '2000-02-29T00:00:00Z');
    assertValueError(() => parseTimestamp('2026-02-29T00:00:00Z'), /not a valid date and time/);
    assertValueError(() => parseTimestamp('1900-02-29T00:00:00Z'), /not a valid date and time/);
  });

  it('keeps years before 100 and the extremes PostgreSQL stores', () => {
    // Date.UTC reads the years 0–99 as 1900–1999: they must not shift.
    assert.equal(parseTimestamp('0001-01-01T00:00:00Z'), '0001-01-01T00:00:00Z');
    assert.equal(parseTimestamp('0050-03-01 10:00:00'), '0050-03-01T10:00:00Z');
    assert.equal(parseTimestamp('0004-02-29T00:00:00Z'), '0004-02-29T00:00:00Z');
    assert.equal(parseTimestamp('9999-12-31T23:59:59Z'), '9999-12-31T23:59:59Z');
    assert.equal(parseTimestamp('2050-01-01 00:00:00'), '2050-01-01T00:00:00Z');
  });

  it('rejects instants outside the years 1–9999 instead of writing an unreadable value', () => {
    assertValueError(() => parseTimestamp('0000-06-01T00:00:00Z'), /out of range/);
    assertValueError(() => parseTimestamp('9999-12-31T23:00:00-05:00'), /out of range/);
    assertValueError(() => parseTimestamp('0001-01-01T00:30:00+01:00'), /out of range/);
  });

  it('rejects impossible dates, times and offsets', () => {
    for (const text of [
      '2026-02-30T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-00-10T00:00:00Z',
      '2026-05-00T00:00:00Z',
      '2026-05-26T25:00:00Z',
      '2026-05-26T24:00:00Z',
      '2026-05-26T12:60:00Z',
      '2026-05-26T23:59:60Z',
    ]) {
      assertValueError(() => parseTimestamp(text), /not a valid date and time/);
    }
    assertValueError(() => parseTimestamp('2026-05-26T12:00:00+19:00'), /impossible UTC offset/);
    assertValueError(() => parseTimestamp('2026-05-26T12:00:00+05:99'), /impossible UTC offset/);
  });

  it('rejects text that is not a timestamp, naming it and the expected form', () => {
    for (const text of [
      'garbage',
      '',
      '31/02/2026 25:61',
      '2026-05-26',
      '2026-05-26T12:00Z',
      '2026-5-26T12:00:00Z',
      '2026-05-26T12:00:00.Z',
      '2026-05-26T12:00:00.1234567890Z',
      '2026-05-26T12:00:00 Z',
      ' 2026-05-26T12:00:00Z',
      '2026-05-26T12:00:00+5:30',
      '2026-05-26T12:00:00EST',
      '1780000000',
    ]) {
      assertValueError(() => parseTimestamp(text), /is not a timestamp \(expected ISO 8601/);
    }
    assertValueError(() => parseTimestamp('garbage'), /^"garbage" is not a timestamp/);
  });
});

describe('parseDecimal', () => {
  it('keeps decimals exactly as written, scale included', () => {
    assert.equal(parseDecimal('0.1'), '0.1');
    assert.equal(parseDecimal('33'), '33');
    assert.equal(parseDecimal('33.00'), '33.00');
    assert.equal(parseDecimal('12.50'), '12.50');
    assert.equal(parseDecimal('0'), '0');
    assert.equal(parseDecimal('0.000'), '0.000');
  });

  it('normalizes signs and leading zeros only', () => {
    assert.equal(parseDecimal('+1.50'), '1.50');
    assert.equal(parseDecimal('-2'), '-2');
    assert.equal(parseDecimal('-2.75'), '-2.75');
    assert.equal(parseDecimal('.5'), '0.5');
    assert.equal(parseDecimal('+.5'), '0.5');
    assert.equal(parseDecimal('-.5'), '-0.5');
    assert.equal(parseDecimal('+033.50'), '33.50');
    assert.equal(parseDecimal('000.000'), '0.000');
    assert.equal(parseDecimal('007'), '7');
  });

  it('keeps digits far beyond float precision', () => {
    const huge = '123456789012345678901234567890.123456789012345678901234567890';
    assert.equal(parseDecimal(huge), huge);
    assert.equal(parseDecimal('9007199254740993'), '9007199254740993'); // 2^53 + 1: a float would say ...992
    assert.equal(parseDecimal('0.30000000000000000001'), '0.30000000000000000001');
    assert.equal(parseDecimal('-99999999999999999999999.99'), '-99999999999999999999999.99');
  });

  it('rejects what is not a plain decimal', () => {
    for (const text of ['12,5', '1e3', '1E-2', 'abc', '', '12,5O', '1.', '.', '-', '+', '1.2.3', ' 1', '1 ', '1_000', '0x1f', 'NaN', 'Infinity', '٣', '--1', '1-']) {
      assertValueError(() => parseDecimal(text), /is not a decimal number/);
    }
  });
});

describe('parseInteger', () => {
  it('returns canonical digits', () => {
    assert.equal(parseInteger('42'), '42');
    assert.equal(parseInteger('+0042'), '42');
    assert.equal(parseInteger('-7'), '-7');
    assert.equal(parseInteger('-0'), '0');
    assert.equal(parseInteger('0'), '0');
  });

  it('accepts exactly the bigint range', () => {
    assert.equal(parseInteger('9223372036854775807'), '9223372036854775807');
    assert.equal(parseInteger('-9223372036854775808'), '-9223372036854775808');
    assertValueError(() => parseInteger('9223372036854775808'), /out of range for a 64-bit integer/);
    assertValueError(() => parseInteger('-9223372036854775809'), /out of range for a 64-bit integer/);
    assertValueError(() => parseInteger('99999999999999999999999999'), /out of range/);
  });

  it('accepts exactly the integer range with 32 bits', () => {
    assert.equal(parseInteger('2147483647', 32), '2147483647');
    assert.equal(parseInteger('-2147483648', 32), '-2147483648');
    assertValueError(() => parseInteger('2147483648', 32), /out of range for a 32-bit integer/);
    assertValueError(() => parseInteger('-2147483649', 32), /out of range for a 32-bit integer/);
    assert.equal(parseInteger('2147483648'), '2147483648');
  });

  it('rejects what is not a whole number', () => {
    for (const text of ['', '1.0', '1e3', 'abc', 'not-a-number', ' 1', '1 ', '+', '-', '0x10', '1_000', '１２']) {
      assertValueError(() => parseInteger(text), /is not a whole number/);
    }
  });
});

describe('parseBoolean', () => {
  it('accepts every documented spelling in any case', () => {
    for (const text of ['true', 'TRUE', 'True', 't', 'T', '1', 'yes', 'YES', 'Yes', 'y', 'Y']) {
      assert.equal(parseBoolean(text), true, text);
    }
    for (const text of ['false', 'FALSE', 'False', 'f', 'F', '0', 'no', 'NO', 'No', 'n', 'N']) {
      assert.equal(parseBoolean(text), false, text);
    }
  });

  it('rejects anything else', () => {
    for (const text of ['maybe', '', '2', '-1', 'on', 'off', 'yes!', 'tru', '00', ' true']) {
      assertValueError(() => parseBoolean(text), /is not a boolean \(expected true\/false, 1\/0, yes\/no or t\/f\)/);
    }
  });
});
