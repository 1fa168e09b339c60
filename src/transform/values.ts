/**
 * Parsers for the cell values of a voucher export. Each returns the value in a canonical text
 * form PostgreSQL reads exactly (no floats anywhere), or throws ValueError saying what was
 * expected. Empty cells never reach them: empty means NULL and is handled by the caller.
 */

export class ValueError extends Error {}

// ISO 8601 with `T` (offset optional, UTC when absent) or `YYYY-MM-DD HH:MM:SS` read as UTC;
// optional fractions; offsets as Z, ±HH:MM, ±HHMM or ±HH.
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** The exports' own form, `2026-05-26T12:00:00Z`: already canonical, so only its ranges need checking. */
const CANONICAL = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

/** A timestamp as `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` in UTC (microseconds, PostgreSQL's precision). */
export function parseTimestamp(text: string): string {
  if (CANONICAL.test(text) && canonicalInRange(text)) return text; // the hot path: three per row
  const m = TIMESTAMP.exec(text);
  if (!m) throw new ValueError(`"${text}" is not a timestamp (expected ISO 8601 such as 2026-05-26T12:00:00Z, or 2026-05-26 12:00:00 in UTC)`);
  const [, y, mo, d, h, mi, s, fraction = '', zone = 'Z'] = m as unknown as string[];
  const year = Number(y), month = Number(mo), day = Number(d), hour = Number(h), minute = Number(mi), second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
    throw new ValueError(`"${text}" is not a valid date and time`);
  }
  let offsetMinutes = 0;
  if (zone!.toUpperCase() !== 'Z') {
    const digits = zone!.slice(1).replace(':', '');
    const zoneMinutes = Number(digits.slice(2, 4) || '0');
    offsetMinutes = (zone![0] === '-' ? -1 : 1) * (Number(digits.slice(0, 2)) * 60 + zoneMinutes);
    if (zoneMinutes > 59 || Math.abs(offsetMinutes) > 18 * 60) throw new ValueError(`"${text}" has an impossible UTC offset`);
  }
  const local = new Date(Date.UTC(2000, month - 1, day, hour, minute, second));
  local.setUTCFullYear(year); // Date.UTC alone reads the years 0–99 as 1900–1999
  const utc = new Date(local.getTime() - offsetMinutes * 60_000);
  // PostgreSQL has no year 0, and toISOString writes years past 9999 in a form it cannot read.
  if (utc.getUTCFullYear() < 1 || utc.getUTCFullYear() > 9999) throw new ValueError(`"${text}" is out of range (years 1 to 9999 in UTC)`);
  const iso = utc.toISOString().slice(0, 19);
  const micros = fraction.slice(0, 6).replace(/0+$/, '');
  return `${iso}${micros ? '.' + micros : ''}Z`;
}

const DECIMAL = /^([+-]?)(\d+)(?:\.(\d+))?$|^([+-]?)\.(\d+)$/;

/** Already canonical (no sign, no leading zero): the exports' own form. */
const PLAIN_DECIMAL = /^(?:0|[1-9]\d*)(?:\.\d+)?$/;

/** An exact decimal, normalized (`+033.50` → `33.50`); never passes through a float. */
export function parseDecimal(text: string): string {
  if (PLAIN_DECIMAL.test(text)) return text;
  const m = DECIMAL.exec(text);
  if (!m) throw new ValueError(`"${text}" is not a decimal number (expected digits with an optional "." and fraction, e.g. 12.50)`);
  const sign = (m[1] ?? m[4]) === '-' ? '-' : '';
  const whole = (m[2] ?? '0').replace(/^0+(?=\d)/, '');
  const fraction = m[3] ?? m[5];
  return `${sign}${whole}${fraction !== undefined ? '.' + fraction : ''}`;
}

const INT64_MAX = 9223372036854775807n;
const PLAIN_INTEGER = /^(?:0|[1-9]\d{0,8})$/;

/** A whole number within PostgreSQL's bigint (or integer, with `bits` 32), as its digits. */
export function parseInteger(text: string, bits: 32 | 64 = 64): string {
  // Up to 9 digits without a sign or leading zero fits either width as written: no BigInt needed.
  if (PLAIN_INTEGER.test(text)) return text;
  if (!/^[+-]?\d+$/.test(text)) throw new ValueError(`"${text}" is not a whole number`);
  const value = BigInt(text);
  const max = bits === 64 ? INT64_MAX : 2147483647n;
  if (value > max || value < -max - 1n) throw new ValueError(`"${text}" is out of range for a ${bits}-bit integer`);
  return value.toString();
}

const TRUE = new Set(['true', 't', '1', 'yes', 'y']);
const FALSE = new Set(['false', 'f', '0', 'no', 'n']);

export function parseBoolean(text: string): boolean {
  const lower = text.toLowerCase();
  if (TRUE.has(lower)) return true;
  if (FALSE.has(lower)) return false;
  throw new ValueError(`"${text}" is not a boolean (expected true/false, 1/0, yes/no or t/f)`);
}

function canonicalInRange(text: string): boolean {
  // The pattern already checked these are ASCII digits: arithmetic on char codes, no substrings.
  const digits = (from: number, length: number) => {
    let value = 0;
    for (let i = from; i < from + length; i++) value = value * 10 + text.charCodeAt(i) - 48;
    return value;
  };
  const year = digits(0, 4);
  const month = digits(5, 2);
  const day = digits(8, 2);
  return year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) && digits(11, 2) <= 23 && digits(14, 2) <= 59 && digits(17, 2) <= 59;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}
