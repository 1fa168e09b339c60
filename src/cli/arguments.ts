/** Parsers of command-line option values; each throws commander's InvalidArgumentError (exit 2). */
import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../config/index.js';
import { parseInstant } from '../config/fields.js';

export function positiveInteger(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw new InvalidArgumentError('expected a positive integer');
  return Number(value);
}

export function ratio(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('expected a number from 0 to 1, e.g. 0.01 for 1%');
  return n;
}

/** A CLI date is 00:00:00Z of that UTC day (DESIGN §1). */
export function utcDay(value: string): Date {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) throw new InvalidArgumentError('expected a date as YYYY-MM-DD');
  return new Date(`${value}T00:00:00Z`);
}

/** YYYY-MM-DD (00:00:00Z of that UTC day) or an ISO 8601 instant with a zone: a time without one would be read as local time. */
export function instant(value: string): Date {
  const date = parseInstant(value.trim());
  if (date === undefined) throw new InvalidArgumentError('expected an ISO 8601 instant with its zone, e.g. 2026-05-26T12:00:00Z (or a date, YYYY-MM-DD, meaning 00:00:00Z)');
  return date;
}

export function port(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('expected a port number (0 picks a free one)');
  return Number(value);
}

export function duration(value: string): number {
  let ms: number | undefined;
  try {
    ms = parseDuration(value);
  } catch {
    ms = undefined;
  }
  if (ms === undefined) throw new InvalidArgumentError('expected a duration such as 30s or 2m');
  return ms;
}
