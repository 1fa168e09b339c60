/**
 * The filters of `spaaza-sync export`, turned into a Spaaza segment (reference §6) and checked
 * against the segment reference before anything is sent. Pure functions, no I/O.
 *
 * The source document writes "redeemed in the last 24 hours" and "expiring within 7 days" with
 * `relative_less_than`, whose exact reading is inferred (reference §6.4): "less than N units ago"
 * with no upper bound, or |field − now| < N (then "expiring within 7 days" also returns vouchers
 * that expired last week). So every flag is built from explicit bounds on Spaaza's clock with
 * `is_between_date`, which means the same whatever the reading; `--rule` sends what it is told.
 */
import { VOUCHER_COLUMNS, type ColumnType } from '../voucher/voucher-table.js';
import { isoSeconds as isoSecondsOf, type Segment, type SegmentRule } from './export-task.js';

export type FieldType = 'integer' | 'number' | 'keyword' | 'text' | 'boolean' | 'date';

/** Free text (matched by `contains`), not keywords. */
const TEXT_FIELDS = new Set(['campaign_title', 'title']);

const FIELD_TYPE_OF: Record<ColumnType, FieldType> = { bigint: 'integer', integer: 'integer', numeric: 'number', text: 'keyword', boolean: 'boolean', timestamptz: 'date' };

/** The fields of the vouchers index a rule may test: each column's export name, with its type. */
export const VOUCHER_FIELDS: ReadonlyMap<string, FieldType> = new Map([
  ...VOUCHER_COLUMNS.map((c): [string, FieldType] => [c.headers[0]!, TEXT_FIELDS.has(c.headers[0]!) ? 'text' : FIELD_TYPE_OF[c.type]]),
  ['chain_id', 'integer'],
]);

const DATE_OPERATORS = ['is_date', 'is_after_date', 'is_before_date', 'is_between_date', 'relative_less_than', 'relative_greater_than'];
const NUMBER_OPERATORS = ['is', 'is_not', 'is_between_number'];
const STRING_OPERATORS = ['is', 'is_not', 'contains', 'does_not_contain'];
/** Which operators apply to which field type (reference §6.3, §6.4). */
export const OPERATORS_BY_TYPE: Readonly<Record<FieldType, readonly string[]>> = {
  date: DATE_OPERATORS,
  integer: NUMBER_OPERATORS,
  number: NUMBER_OPERATORS,
  keyword: STRING_OPERATORS,
  text: STRING_OPERATORS,
  boolean: ['is', 'is_not'],
};
export const TIME_FACTORS = ['minute', 'hour', 'day', 'week', 'month', 'year'] as const;

export interface ExportFilters {
  /** Vouchers redeemed in [now − this, now]. */
  readonly redeemedWithinMs?: number;
  /** Vouchers created in [from, to], both included. */
  readonly createdBetween?: { readonly from: Date; readonly to: Date };
  /** Vouchers expiring in [now, now + this]. */
  readonly expiringWithinMs?: number;
  /** Vouchers created in [now − this, now]. */
  readonly createdWithinMs?: number;
  /** `FIELD:OPERATOR:ARGS`, sent as written (after checking). */
  readonly rules?: readonly string[];
  /** How the rules combine (default `all`: every filter must hold). */
  readonly join?: 'all' | 'any';
}

/** A filter that cannot be sent: every problem, each naming the flag and the fix. */
export class ExportFilterError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`The export's filters have ${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}:`);
  }
}

/**
 * The segment of `filters` at Spaaza's `now` (null: every voucher). Throws ExportFilterError
 * listing every problem, so nothing is sent unless all of it is right.
 */
export function exportSegment(filters: ExportFilters, now: Date): Segment | null {
  const problems: string[] = [];
  const rules: SegmentRule[] = [];
  const nowMs = now.getTime();
  if (filters.redeemedWithinMs !== undefined) rules.push(between('date_time_redeemed', nowMs - filters.redeemedWithinMs, nowMs));
  if (filters.createdBetween) {
    const { from, to } = filters.createdBetween;
    if (from.getTime() > to.getTime()) problems.push(`--created-between: ${isoSeconds(from.getTime())} is after ${isoSeconds(to.getTime())}; give FROM..TO with FROM first`);
    else rules.push(between('date_time_creation', from.getTime(), to.getTime()));
  }
  if (filters.expiringWithinMs !== undefined) rules.push(between('date_time_expiry', nowMs, nowMs + filters.expiringWithinMs));
  if (filters.createdWithinMs !== undefined) rules.push(between('date_time_creation', nowMs - filters.createdWithinMs, nowMs));
  for (const [index, text] of (filters.rules ?? []).entries()) {
    const parsed = parseRule(text);
    if (typeof parsed === 'string') problems.push(`--rule ${JSON.stringify(text)} (rule ${index + 1}): ${parsed}`);
    else rules.push(parsed);
  }
  if (problems.length > 0) throw new ExportFilterError(problems);
  return rules.length === 0 ? null : { join: filters.join ?? 'all', rules };
}

function between(field: string, fromMs: number, toMs: number): SegmentRule {
  return { field_name: field, field_type: 'date', operator: 'is_between_date', start_date: isoSeconds(fromMs), end_date: isoSeconds(toMs) };
}

/**
 * `FIELD:OPERATOR:ARGS` → a rule, or what is wrong with it. ARGS by operator: a value (`is`,
 * `is_not`, `contains`, `does_not_contain`, `is_date`), a date (`is_after_date`,
 * `is_before_date`), `FROM,TO` (`is_between_date`, `is_between_number`), `N,UNIT`
 * (`relative_*`). ARGS may hold colons (times do).
 */
export function parseRule(text: string): SegmentRule | string {
  const first = text.indexOf(':');
  const second = first < 0 ? -1 : text.indexOf(':', first + 1);
  if (second < 0) return 'expected FIELD:OPERATOR:ARGS, e.g. date_time_redeemed:is_after_date:2026-05-01T00:00:00Z';
  const field = text.slice(0, first);
  const operator = text.slice(first + 1, second);
  const args = text.slice(second + 1);
  const type = VOUCHER_FIELDS.get(field);
  if (type === undefined) return `unknown field "${field}"; the vouchers index has: ${[...VOUCHER_FIELDS.keys()].join(', ')}`;
  const operators = OPERATORS_BY_TYPE[type];
  if (!operators.includes(operator)) return `operator "${operator}" does not apply to ${field} (a ${type} field); use one of: ${operators.join(', ')}`;
  const base = { field_name: field, field_type: type, operator };
  switch (operator) {
    case 'is_after_date':
    case 'is_before_date': {
      const at = instant(args);
      if (at === null) return `"${args}" is not a date or a UTC instant (2026-05-01 or 2026-05-01T00:00:00Z)`;
      return { ...base, [operator === 'is_after_date' ? 'start_date' : 'end_date']: isoSeconds(at) };
    }
    case 'is_between_date': {
      const [from, to, extra] = args.split(',').map(instant);
      if (from == null || to == null || extra !== undefined) return `expected FROM,TO as dates or UTC instants, got "${args}"`;
      if (from > to) return `${isoSeconds(from)} is after ${isoSeconds(to)}; give FROM first`;
      return { ...base, start_date: isoSeconds(from), end_date: isoSeconds(to) };
    }
    case 'is_between_number': {
      const parts = args.split(',');
      const [min, max] = parts.map(Number);
      if (parts.length !== 2 || parts.some((p) => !/^-?\d+(\.\d+)?$/.test(p.trim()))) return `expected MIN,MAX as numbers, got "${args}"`;
      if (min! > max!) return `${min} is above ${max}; give MIN first`;
      return { ...base, min, max };
    }
    case 'relative_less_than':
    case 'relative_greater_than': {
      const m = /^(\d+),?\s*(minute|hour|day|week|month|year)s?$/.exec(args.trim());
      if (!m || Number(m[1]) === 0) return `expected N,UNIT (N a whole number above 0; UNIT one of ${TIME_FACTORS.join(', ')}), got "${args}"`;
      return { ...base, time_factor: m[2]!, time_amount: Number(m[1]) };
    }
    case 'is_date': {
      const at = instant(args);
      if (at === null) return `"${args}" is not a date (2026-05-01)`;
      return { ...base, value: isoSeconds(at) };
    }
    default:
      return value(base, type, args);
  }
}

/** The value of `is`, `is_not`, `contains`, `does_not_contain`, typed by the field. */
function value(base: SegmentRule, type: FieldType, args: string): SegmentRule | string {
  if (type === 'integer' || type === 'number') {
    if (!(type === 'integer' ? /^-?\d+$/ : /^-?\d+(\.\d+)?$/).test(args)) return `"${args}" is not ${type === 'integer' ? 'a whole number' : 'a number'}`;
    return { ...base, value: Number(args) };
  }
  if (type === 'boolean') {
    if (args !== 'true' && args !== 'false') return `"${args}" is not true or false`;
    return { ...base, value: args === 'true' };
  }
  if (args === '') return 'the value is empty';
  return { ...base, value: args };
}

/** A date (00:00:00Z of that day) or a UTC instant with its zone, in ms; null when it is neither. */
function instant(text: string | undefined): number | null {
  if (text === undefined) return null;
  const t = text.trim();
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(t)) return null;
  const ms = Date.parse(/T/.test(t) ? t : `${t}T00:00:00Z`);
  if (Number.isNaN(ms)) return null;
  // Some engines roll 2026-02-30 over to March: refuse a day that does not exist.
  const [y, m, d] = t.slice(0, 10).split('-').map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d ? ms : null;
}

function isoSeconds(ms: number): string {
  return isoSecondsOf(new Date(ms));
}
