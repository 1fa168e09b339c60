/**
 * Export segment filters (`trigger.segment` of a create-task body, reference §6): validation and
 * evaluation against vouchers. Pure functions, no I/O.
 *
 * Documented: the segment/rule shape, the operator names, join all/any. INFERRED for this project
 * (reference §6.4–§6.6, §12 #13), and so open to correction once the real API is observed:
 * - the field types, time factors and the operator/field-type pairing;
 * - a null field fails every positive operator, while `is_not` and `does_not_contain` match it;
 * - `contains` is a case-sensitive substring; `is_date` compares UTC calendar days;
 * - `is_after_date`/`is_before_date` are strict, `is_between_date`/`is_between_number` inclusive;
 * - `relative_less_than`: by default |field − now| < N units (`around-now`), or, switched to the
 *   reference's own reading (`since`), field > now − N units with no upper bound (a future date
 *   matches); `relative_greater_than` is its complement either way; month/year steps in UTC
 *   calendar months clamped to the month's last day;
 * - an empty `rules` array matches everything; unknown or unused keys are rejected (so a client
 *   relying on an unsupported option notices).
 */
import { exportField, type Voucher } from './voucher.js';

export type Join = 'all' | 'any';

/**
 * How `relative_less_than` reads "within N units" (reference §6.4 marks it inferred): `around-now`
 * is |field − now| < N, `since` is field > now − N (no upper bound). Switchable, so that a client
 * can be shown to mean the same under both.
 */
export const RELATIVE_READINGS = ['around-now', 'since'] as const;
export type RelativeReading = (typeof RELATIVE_READINGS)[number];
export const OPERATORS = [
  'is', 'is_not', 'contains', 'does_not_contain', 'is_date', 'is_after_date', 'is_before_date',
  'is_between_date', 'is_between_number', 'relative_less_than', 'relative_greater_than',
] as const;
export type Operator = (typeof OPERATORS)[number];
export const TIME_FACTORS = ['minute', 'hour', 'day', 'week', 'month', 'year'] as const;
export type TimeFactor = (typeof TIME_FACTORS)[number];
export const FIELD_TYPES = ['integer', 'number', 'keyword', 'text', 'boolean', 'date'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** A validated rule. Dates are epoch seconds (UTC, floored). */
export type SegmentRule = { readonly fieldName: string; readonly fieldType: FieldType } & (
  | { readonly operator: 'is' | 'is_not'; readonly value: string | number | boolean }
  | { readonly operator: 'contains' | 'does_not_contain'; readonly value: string }
  | { readonly operator: 'is_date'; readonly value: number }
  | { readonly operator: 'is_after_date'; readonly startDate: number }
  | { readonly operator: 'is_before_date'; readonly endDate: number }
  | { readonly operator: 'is_between_date'; readonly startDate: number; readonly endDate: number }
  | { readonly operator: 'is_between_number'; readonly min: number; readonly max: number }
  | {
      readonly operator: 'relative_less_than' | 'relative_greater_than';
      readonly timeFactor: TimeFactor;
      readonly timeAmount: number;
    }
);

export interface Segment {
  entity: 'people';
  index: string;
  join: Join;
  chainId: number;
  rules: readonly SegmentRule[];
}

export class SegmentValidationError extends Error {
  /** JSON path of the offending field, e.g. "trigger.segment.rules[0].operator". */
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'SegmentValidationError';
    this.field = field;
  }
}

const DATE_OPERATORS: readonly Operator[] = [
  'is_date', 'is_after_date', 'is_before_date', 'is_between_date', 'relative_less_than', 'relative_greater_than',
];
const NUMERIC_OPERATORS: readonly Operator[] = ['is', 'is_not', 'is_between_number'];
const STRING_OPERATORS: readonly Operator[] = ['is', 'is_not', 'contains', 'does_not_contain'];
const OPERATORS_BY_TYPE: Record<FieldType, readonly Operator[]> = {
  date: DATE_OPERATORS,
  integer: NUMERIC_OPERATORS,
  number: NUMERIC_OPERATORS,
  keyword: STRING_OPERATORS,
  text: STRING_OPERATORS,
  boolean: ['is', 'is_not'],
};
const PARAMS: Record<Operator, readonly string[]> = {
  is: ['value'], is_not: ['value'], contains: ['value'], does_not_contain: ['value'], is_date: ['value'],
  is_after_date: ['start_date'], is_before_date: ['end_date'], is_between_date: ['start_date', 'end_date'],
  is_between_number: ['min', 'max'],
  relative_less_than: ['time_factor', 'time_amount'], relative_greater_than: ['time_factor', 'time_amount'],
};
const PARAM_KEYS = ['value', 'start_date', 'end_date', 'time_factor', 'time_amount', 'min', 'max'];
const RULE_KEYS = ['field_name', 'field_type', 'operator', ...PARAM_KEYS, 'nested', 'nesting_path'];
const SEGMENT_KEYS = ['entity', 'index', 'join', 'chain_id', 'rules'];

type Json = Record<string, unknown>;
const isObject = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);
const show = (x: unknown): string => (x === undefined ? 'nothing' : JSON.stringify(x));
const fail = (path: string, message: string): never => {
  throw new SegmentValidationError(path, message);
};

function oneOf<T extends string>(path: string, raw: unknown, allowed: readonly T[], what: string): T {
  if (typeof raw !== 'string' || !(allowed as readonly string[]).includes(raw)) {
    fail(path, `unknown ${what} ${show(raw)}; expected one of: ${allowed.join(', ')}`);
  }
  return raw as T;
}

function rejectUnknownKeys(obj: Json, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) fail(`${path}.${key}`, `unknown key "${key}"; expected only: ${allowed.join(', ')}`);
  }
}

const NUMERIC = /^-?(?:\d+(?:\.\d+)?|\.\d+)$/;
function parseNumber(raw: unknown, path: string): number {
  if (typeof raw === 'number' && Number.isFinite(raw)) return raw;
  if (typeof raw === 'string' && NUMERIC.test(raw)) return Number(raw);
  return fail(path, `expected a number, got ${show(raw)}`);
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** Strict ISO 8601 date or datetime → epoch seconds (floor); no offset means UTC. */
export function parseIsoSeconds(raw: unknown, path: string): number {
  const m = typeof raw === 'string' ? ISO_DATE.exec(raw) : null;
  const bad = (): never =>
    fail(path, `expected an ISO 8601 date (YYYY-MM-DD) or datetime (YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]), got ${show(raw)}`);
  if (!m) return bad();
  const [y, mo, d, h = 0, mi = 0, s = 0] = m.slice(1, 7).map((p) => (p === undefined ? undefined : Number(p)));
  const zone = m[7] ?? 'Z';
  if (y === undefined || mo === undefined || d === undefined) return bad();
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo - 1) || h > 23 || mi > 59 || s > 59) return bad();
  let offset = 0;
  if (zone !== 'Z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return bad();
    offset = (zone.startsWith('-') ? -1 : 1) * (oh * 3600 + om * 60);
  }
  return utcSeconds(y, mo - 1, d, h, mi, s) - offset;
}

/** Epoch seconds of a UTC wall-clock time; month is 0-based (years < 100 are not shifted to 19xx). */
function utcSeconds(y: number, month: number, d: number, h = 0, mi = 0, s = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(y, month, d);
  date.setUTCHours(h, mi, s, 0);
  return date.getTime() / 1000;
}

function daysInMonth(y: number, month: number): number {
  const date = new Date(0);
  date.setUTCFullYear(y, month + 1, 0);
  return date.getUTCDate();
}

const FIXED_SECONDS: Partial<Record<TimeFactor, number>> = { minute: 60, hour: 3600, day: 86400, week: 604800 };

/** `seconds` moved by `amount` units (may be negative); month/year clamp the day to the month's end. */
export function addUnits(seconds: number, amount: number, factor: TimeFactor): number {
  const fixed = FIXED_SECONDS[factor];
  if (fixed !== undefined) return seconds + amount * fixed;
  const whole = Math.floor(seconds);
  const d = new Date(whole * 1000);
  const total = d.getUTCFullYear() * 12 + d.getUTCMonth() + amount * (factor === 'year' ? 12 : 1);
  const year = Math.floor(total / 12);
  const month = total - year * 12;
  const day = Math.min(d.getUTCDate(), daysInMonth(year, month));
  return utcSeconds(year, month, day, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()) + (seconds - whole);
}

function parseValue(raw: unknown, type: FieldType, path: string): string | number | boolean {
  switch (type) {
    case 'keyword':
    case 'text':
      return typeof raw === 'string' ? raw : fail(path, `expected a string for a ${type} field, got ${show(raw)}`);
    case 'integer':
    case 'number':
      return parseNumber(raw, path);
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === 'false') return raw === 'true';
      return fail(path, `expected true or false for a boolean field, got ${show(raw)}`);
    case 'date': // unreachable: is/is_not/contains do not apply to date fields (is_date does)
      return fail(path, 'date fields are compared with the date operators');
  }
}

function parseRule(raw: unknown, path: string): SegmentRule {
  if (!isObject(raw)) return fail(path, `expected a rule object, got ${show(raw)}`);
  rejectUnknownKeys(raw, RULE_KEYS, path);
  const field = exportField(typeof raw.field_name === 'string' ? raw.field_name : '');
  if (!field) return fail(`${path}.field_name`, `unknown field ${show(raw.field_name)} in the vouchers index`);
  const fieldType = oneOf(`${path}.field_type`, raw.field_type, FIELD_TYPES, 'field type');
  if (fieldType !== field.type) {
    fail(`${path}.field_type`, `field "${field.name}" has type "${field.type}", not "${fieldType}"`);
  }
  const operator = oneOf(`${path}.operator`, raw.operator, OPERATORS, 'operator');
  const allowedOps = OPERATORS_BY_TYPE[fieldType];
  if (!allowedOps.includes(operator)) {
    fail(`${path}.operator`, `operator "${operator}" does not apply to ${fieldType} field "${field.name}"; use one of: ${allowedOps.join(', ')}`);
  }
  if (raw.nested !== undefined && raw.nested !== false) {
    fail(`${path}.nested`, `nested fields are not supported (the vouchers index has none); got ${show(raw.nested)}`);
  }
  if (raw.nesting_path !== undefined && raw.nesting_path !== null && raw.nesting_path !== '') {
    fail(`${path}.nesting_path`, 'nesting_path is not supported (the vouchers index has no nested fields)');
  }
  const params = PARAMS[operator];
  for (const key of PARAM_KEYS) {
    const present = raw[key] !== undefined && raw[key] !== null;
    if (params.includes(key) && !present) fail(`${path}.${key}`, `operator "${operator}" requires "${key}"`);
    if (!params.includes(key) && present) fail(`${path}.${key}`, `"${key}" is not used by operator "${operator}"`);
  }
  const base = { fieldName: field.name, fieldType };
  const at = (key: string): string => `${path}.${key}`;
  switch (operator) {
    case 'is':
    case 'is_not':
      return { ...base, operator, value: parseValue(raw.value, fieldType, at('value')) };
    case 'is_date':
      return { ...base, operator, value: parseIsoSeconds(raw.value, at('value')) };
    case 'contains':
    case 'does_not_contain':
      return { ...base, operator, value: parseValue(raw.value, fieldType, at('value')) as string };
    case 'is_after_date':
      return { ...base, operator, startDate: parseIsoSeconds(raw.start_date, at('start_date')) };
    case 'is_before_date':
      return { ...base, operator, endDate: parseIsoSeconds(raw.end_date, at('end_date')) };
    case 'is_between_date': {
      const startDate = parseIsoSeconds(raw.start_date, at('start_date'));
      const endDate = parseIsoSeconds(raw.end_date, at('end_date'));
      if (startDate > endDate) fail(at('start_date'), 'start_date is after end_date');
      return { ...base, operator, startDate, endDate };
    }
    case 'is_between_number': {
      const min = parseNumber(raw.min, at('min'));
      const max = parseNumber(raw.max, at('max'));
      if (min > max) fail(at('min'), `min (${min}) is greater than max (${max})`);
      return { ...base, operator, min, max };
    }
    case 'relative_less_than':
    case 'relative_greater_than': {
      const timeFactor = oneOf(at('time_factor'), raw.time_factor, TIME_FACTORS, 'time factor');
      const timeAmount = raw.time_amount;
      if (typeof timeAmount !== 'number' || !Number.isInteger(timeAmount) || timeAmount < 0) {
        return fail(at('time_amount'), `expected a non-negative integer, got ${show(timeAmount)}`);
      }
      return { ...base, operator, timeFactor, timeAmount };
    }
  }
}

/** Validates the raw JSON `segment` of a create-task body. Throws SegmentValidationError naming the field path. */
export function parseSegment(raw: unknown, expect: { index: string; chainId: number }, path = 'trigger.segment'): Segment {
  if (!isObject(raw)) return fail(path, `expected a segment object, got ${show(raw)}`);
  rejectUnknownKeys(raw, SEGMENT_KEYS, path);
  if (raw.entity !== 'people') fail(`${path}.entity`, `expected "people", got ${show(raw.entity)}`);
  if (raw.index !== expect.index) {
    fail(`${path}.index`, `expected "${expect.index}" (the task's export_index), got ${show(raw.index)}`);
  }
  const join = oneOf(`${path}.join`, raw.join, ['all', 'any'] as const, 'join');
  if (typeof raw.chain_id !== 'number' || !Number.isInteger(raw.chain_id)) {
    fail(`${path}.chain_id`, `expected an integer, got ${show(raw.chain_id)}`);
  }
  if (raw.chain_id !== expect.chainId) {
    fail(`${path}.chain_id`, `expected ${expect.chainId} (the task's chain), got ${show(raw.chain_id)}`);
  }
  if (!Array.isArray(raw.rules)) return fail(`${path}.rules`, `expected an array of rules, got ${show(raw.rules)}`);
  const rules = raw.rules.map((rule, i) => parseRule(rule, `${path}.rules[${i}]`));
  return { entity: 'people', index: expect.index, join, chainId: expect.chainId, rules };
}

const DAY = 86400;

function matchesRule(rule: SegmentRule, voucher: Voucher, now: number, reading: RelativeReading): boolean {
  const field = exportField(rule.fieldName);
  const v = field ? field.value(voucher) : null;
  switch (rule.operator) {
    case 'is':
      return v !== null && v === rule.value;
    case 'is_not':
      return v === null || v !== rule.value;
    case 'contains':
      return typeof v === 'string' && v.includes(rule.value);
    case 'does_not_contain':
      return typeof v !== 'string' || !v.includes(rule.value);
    case 'is_between_number':
      return typeof v === 'number' && rule.min <= v && v <= rule.max;
  }
  if (typeof v !== 'number') return false;
  switch (rule.operator) {
    case 'is_date':
      return Math.floor(v / DAY) === Math.floor(rule.value / DAY);
    case 'is_after_date':
      return v > rule.startDate;
    case 'is_before_date':
      return v < rule.endDate;
    case 'is_between_date':
      return rule.startDate <= v && v <= rule.endDate;
    case 'relative_less_than':
    case 'relative_greater_than': {
      const lo = addUnits(now, -rule.timeAmount, rule.timeFactor);
      const hi = reading === 'since' ? Infinity : addUnits(now, rule.timeAmount, rule.timeFactor);
      return rule.operator === 'relative_less_than' ? lo < v && v < hi : v < lo || v > hi;
    }
  }
}

/** True when the voucher matches the segment at virtual time `nowSeconds` (epoch seconds). */
export function matchesSegment(segment: Segment, voucher: Voucher, nowSeconds: number, reading: RelativeReading = 'around-now'): boolean {
  if (segment.rules.length === 0) return true;
  const test = (rule: SegmentRule): boolean => matchesRule(rule, voucher, nowSeconds, reading);
  return segment.join === 'all' ? segment.rules.every(test) : segment.rules.some(test);
}
