/**
 * The zod schemas of single config values, each with messages that say what is wrong and how to
 * write it instead. A text that fails to parse is never quoted back: it may be a secret pasted
 * into the wrong variable (a token secret in SPAAZA_CHAIN_IDS, a password in SPAAZA_BASE_URL).
 */
import cron from 'node-cron';
import { z } from 'zod';
import { formatDuration, parseDuration } from './durations.js';
import { FAILPOINT_ACTIONS, FAILPOINT_NAMES, parseFailpoint } from './failpoint.js';

/** Node timers cannot wait longer than 2^31 − 1 ms (about 24.8 days). */
export const MAX_TIMER_MS = 2_147_483_647;

interface IssueLike {
  readonly input?: unknown;
}

/**
 * A rejected value as a message shows it: a text by its length only (the message names the key or
 * variable, so the user knows where to look), a number or boolean as it is, other JSON by its kind.
 */
export function show(value: unknown): string {
  if (typeof value === 'string') return value.trim() === '' ? 'a blank text' : `the text given (${[...value].length} ${[...value].length === 1 ? 'character' : 'characters'})`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return typeof value;
}

/** The message for a value of the wrong kind, or a missing one. */
export function expected(what: string, whenMissing = `give ${what}`) {
  return (issue: IssueLike): string => (issue.input === undefined ? `missing; ${whenMissing}` : `expected ${what}, got ${show(issue.input)}`);
}

/** Adds a problem from inside a transform and marks the value invalid. */
export function fail(ctx: z.RefinementCtx, message: string): never {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER;
}

const DURATION_HINT = 'use e.g. 30s, 10m, 2h, 1d';

/** A duration as text with a unit (`2h`), in milliseconds, within [min, max]. */
export function duration(options: { min?: number; max?: number } = {}) {
  const { min = 0, max = Number.MAX_SAFE_INTEGER } = options;
  return z
    .string({
      error: (issue) =>
        typeof issue.input === 'number'
          ? `${issue.input} has no unit; write a duration as text with its unit, e.g. "30s", "10m", "2h", "1d"`
          : expected(`a duration such as "10m" or "2h"`)(issue),
    })
    .transform((text, ctx) => {
      const ms = parseDuration(text.trim());
      if (ms === undefined && /^\s*\d+(\.\d+)?\s*$/.test(text)) return fail(ctx, `${show(text)} is a number without a unit; write a duration with its unit, e.g. 600s, 10m, 2h, 1d`);
      if (ms === undefined) return fail(ctx, `${show(text)} is not a duration; ${DURATION_HINT}`);
      if (ms < min) return fail(ctx, `${show(text)} is too short; use at least ${formatDuration(min)}`);
      if (ms > max) return fail(ctx, `${show(text)} is too long; use at most ${formatDuration(max)}`);
      return ms;
    });
}

/** A whole number of at least `min` (and at most `max`). */
export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER) {
  const what = max === Number.MAX_SAFE_INTEGER ? `a whole number of at least ${min}` : `a whole number from ${min} to ${max}`;
  const error = expected(what);
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** A share from 0 to 1 (0.01 is 1%). */
export const ratio = (() => {
  const error = expected('a ratio from 0 to 1 (e.g. 0.01 for 1%)');
  return z.number({ error }).min(0, { error }).max(1, { error });
})();

export const chainId = (() => {
  const error = (issue: IssueLike) => (issue.input === undefined ? 'missing; give the chain id' : `${show(issue.input)} is not a chain id; chain ids are whole numbers of at least 1`);
  return z.number({ error }).int({ error }).min(1, { error });
})();

/** Non-empty text (trimmed). */
export function text(what: string) {
  return z
    .string({ error: expected(what) })
    .trim()
    .min(1, { error: `must not be empty; give ${what}` });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const tokenId = z
  .string({ error: expected('a token id (a UUID)') })
  // The value is not repeated: a token secret put here by mistake must not be printed.
  .regex(UUID, { error: 'is not a token id; a token id is a UUID such as 123e4567-e89b-42d3-a456-426614174000 (the id, not the secret)' });

// The rule of assertSchemaName in src/warehouse/migrate.ts (an unquoted PostgreSQL identifier).
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export const schemaName = z.string({ error: expected('a schema name such as "spaaza"') }).regex(SCHEMA_NAME, {
  error: (issue) =>
    `${show(issue.input)} is not a usable schema name; use lower-case letters, digits and underscores, starting with a letter or underscore, at most 63 characters`,
});

/** `YYYY-MM-DD` (00:00:00Z of that UTC day) or an ISO 8601 instant with `Z` or an offset. */
export const instant = z
  .string({ error: expected('a date (YYYY-MM-DD) or an ISO 8601 instant') })
  .transform((value, ctx) => parseInstant(value.trim()) ?? fail(ctx, `${show(value)} is not a date; use YYYY-MM-DD (00:00:00Z of that UTC day) or an ISO 8601 instant with a zone, e.g. 2024-01-01T00:00:00Z`));

const DATE_OR_INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2}))?$/i;

export function parseInstant(value: string): Date | undefined {
  const m = DATE_OR_INSTANT.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map((part) => (part === undefined ? undefined : Number(part))) as number[];
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  if (year! < 1 || month! < 1 || month! > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  const date = new Date(Date.UTC(2000, month! - 1, day, hour, minute, second, millis));
  date.setUTCFullYear(year!); // Date.UTC alone reads the years 0–99 as 1900–1999
  if (date.getUTCDate() !== day) return undefined; // 2024-02-30
  const zone = m[8]?.toUpperCase();
  if (zone && zone !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const hours = Number(digits.slice(0, 2));
    const minutes = Number(digits.slice(2));
    if (hours > 18 || minutes > 59) return undefined;
    date.setTime(date.getTime() - (zone[0] === '-' ? -1 : 1) * (hours * 60 + minutes) * 60_000);
  }
  return date;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * The Services API address: an absolute http(s) URL, https unless the host is loopback, with no
 * user, query or fragment. Returned without a trailing slash, ready for `${baseUrl}/tasks`.
 */
export const baseUrl = z
  .string({ error: expected('the Spaaza API address, e.g. https://api.example.com', 'set SPAAZA_BASE_URL or spaaza.baseUrl to the Spaaza Services API address (there is no default)') })
  .transform((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value.trim());
    } catch {
      return fail(ctx, `${show(value)} is not an absolute URL; write it like https://api.example.com`);
    }
    if (url.username !== '' || url.password !== '') {
      return fail(ctx, 'the URL holds a user name or password; remove it (the token goes in SPAAZA_TOKEN_ID and SPAAZA_TOKEN_SECRET)');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return fail(ctx, 'is not an http(s) URL; use an https:// URL such as https://api.example.com');
    if (url.search !== '' || url.hash !== '') return fail(ctx, 'remove the query (?…) and fragment (#…) from the URL');
    if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
      return fail(ctx, 'http is allowed only for a loopback host (127.0.0.1, ::1, localhost); write the address with https://');
    }
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  });

const ENCODE_HINT = 'characters such as / ? # @ : in the password must be percent-encoded (%2F %3F %23 %40 %3A)';

/** A PostgreSQL connection URL. The value is never repeated: it may hold a password. */
export const postgresUrl = z
  .string({ error: (issue) => (issue.input === undefined ? 'missing' : 'expected a PostgreSQL connection URL as text') })
  .trim()
  .superRefine((value, ctx) => {
    const problem = postgresUrlProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/**
 * What is wrong with a PostgreSQL URL, without repeating any of it. A fragment is refused too:
 * PostgreSQL URLs have none, so a `#` is a password's character cut off from the rest of it.
 */
export function postgresUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `not a PostgreSQL connection URL (it does not parse: a port that is not a number, or an unencoded character of the password); write it like postgres://user:password@host:5432/database; ${ENCODE_HINT}`;
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') return 'not a PostgreSQL connection URL; it must start with postgres:// or postgresql://';
  if (value.includes('#')) return `holds a "#", which PostgreSQL URLs do not have; ${ENCODE_HINT}`;
  // A password that starts with digits and holds a / or ? parses as a port and a path: the rest
  // of the password, with its @, lands in the path or the query.
  if (/@/.test(url.pathname + url.search)) return `holds an "@" after the host; ${ENCODE_HINT}`;
  return undefined;
}

export function isPostgresUrl(value: string): boolean {
  return postgresUrlProblem(value) === undefined;
}

export function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

export const timeZone = text('an IANA time zone such as "UTC" or "Europe/Amsterdam"').refine(isTimeZone, {
  error: (issue) => `${show(issue.input)} is not a time zone; use an IANA name such as "UTC" or "Europe/Amsterdam"`,
});

const FIELD_NAME = /^[a-z][a-z0-9_]*$/;

export const dateFields = z
  .array(
    z.string({ error: expected('a field name') }).regex(FIELD_NAME, { error: (issue) => `${show(issue.input)} is not a field name; use the index's lower-case name, e.g. date_time_creation` }),
    { error: expected('a list of voucher date fields, e.g. ["date_time_creation", "date_time_redeemed"]') },
  )
  .min(1, { error: 'must name at least one date field, e.g. date_time_creation' })
  .superRefine((fields, ctx) => {
    const seen = new Set<string>();
    fields.forEach((field, index) => {
      if (seen.has(field)) ctx.addIssue({ code: 'custom', message: `"${field}" is listed twice`, path: [index] });
      seen.add(field);
    });
  });

/** sync.loadPath: `auto` takes the typed COPY path when it can be exact; `reference` always parses in Node. */
export const loadPath = z.enum(['auto', 'reference'], {
  error: (issue) => `${show(issue.input)} is not a load path; use "auto" (typed COPY when it can be exact, else the reference parser) or "reference"`,
});

export const failpoint = z
  .string({ error: expected('<name>:<kill|throw>, e.g. "mid-copy:kill"') })
  .transform(
    (value, ctx) =>
      parseFailpoint(value) ??
      fail(ctx, `${show(value)} is not a failpoint; write <name>:<action> with a name among ${FAILPOINT_NAMES.join(', ')} and an action among ${FAILPOINT_ACTIONS.join(', ')}`),
  );

/** A cron expression node-cron accepts (5 fields, or 6 with seconds), checked before the daemon starts. */
export function cronExpression(example: string) {
  return text(`a cron expression such as "${example}"`).refine((expression) => expression === '' || cron.validate(expression), {
    error: `is not a cron expression node-cron accepts: write 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, e.g. "${example}"`,
  });
}
