/**
 * The zod schema of the configuration: it validates the config tree (the file with the
 * environment written over it, see overlay.ts), reads the secrets it names, and turns file
 * syntax into the typed, immutable SyncConfig the rest of the tool uses.
 */
import { z } from 'zod';
import { CONFIG_DEFAULTS } from './defaults.js';
import { formatDuration } from './durations.js';
import * as field from './fields.js';
import { formatPath, isPlainObject } from './paths.js';
import { databaseUrlFile, sharedTokenSecret, tokenSecretEnv, tokenSecretFile, type SecretSources } from './secret-fields.js';

const D = CONFIG_DEFAULTS;

/** csv-parse and the JS strings of one record hold several copies of it: keep it well below 1 GB. */
const MAX_RECORD_BYTES = 256 * 1024 * 1024;

/** A section left out of the file is an empty one, so each of its keys gets its default. */
const section = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (value === undefined ? {} : value), schema);

const objectError = (what: string) => (issue: { input?: unknown }) => `expected ${what} (a JSON object), got ${field.show(issue.input)}`;

function chainShape(sources: SecretSources) {
  return {
    id: field.chainId,
    tokenId: field.tokenId.optional(),
    tokenSecretFile: tokenSecretFile(sources).optional(),
    tokenSecretEnv: tokenSecretEnv(sources).optional(),
  };
}

function spaazaShape(sources: SecretSources) {
  return {
    baseUrl: field.baseUrl,
    tokenId: field.tokenId.optional(),
    tokenSecretFile: tokenSecretFile(sources).optional(),
    /** Set only from SPAAZA_TOKEN_SECRET; a secret written in the file is refused before this. */
    tokenSecret: sharedTokenSecret.optional(),
    chains: z
      .array(chainEntry(sources), { error: field.expected('a list of chains, e.g. [1764, { "id": 1765, "tokenId": "…", "tokenSecretFile": "…" }]') })
      .prefault([]),
  };
}

function syncShape() {
  return {
    lookback: field.duration().prefault(D.sync.lookback),
    settle: field.duration().prefault(D.sync.settle),
    maxWindowDays: field.wholeNumber(1).prefault(D.sync.maxWindowDays),
    backfillStartDate: field.instant.nullable().prefault(D.sync.backfillStartDate),
    resumeMaxAge: field.duration({ min: 1 }).prefault(D.sync.resumeMaxAge),
    maxRejectRatio: field.ratio.prefault(D.sync.maxRejectRatio),
    noExpiryFrom: field.instant.prefault(D.sync.noExpiryFrom),
    dateFields: field.dateFields.prefault([...D.sync.dateFields]),
    mergeBatchRows: field.wholeNumber(1).prefault(D.sync.mergeBatchRows),
    maxClockSkew: field.duration({ min: 1000 }).prefault(D.sync.maxClockSkew),
    maxRecordBytes: field.wholeNumber(1024, MAX_RECORD_BYTES).prefault(D.sync.maxRecordBytes),
    loadPath: field.loadPath.prefault(D.sync.loadPath),
  };
}

function extractShape() {
  const timer = { min: 1, max: field.MAX_TIMER_MS };
  return {
    pollInitial: field.duration(timer).prefault(D.extract.pollInitial),
    pollMaxInterval: field.duration(timer).prefault(D.extract.pollMaxInterval),
    pollDeadline: field.duration({ min: 1 }).prefault(D.extract.pollDeadline),
    abandonAfterDeadlines: field.wholeNumber(1).prefault(D.extract.abandonAfterDeadlines),
    downloadAttempts: field.wholeNumber(1).prefault(D.extract.downloadAttempts),
    requestTimeout: field.duration(timer).prefault(D.extract.requestTimeout),
    executeTimeout: field.duration(timer).prefault(D.extract.executeTimeout),
    httpRetries: field.wholeNumber(0).prefault(D.extract.httpRetries),
    maxResponseBytes: field.wholeNumber(4096).prefault(D.extract.maxResponseBytes),
  };
}

function fullRefreshShape() {
  return {
    maxDeleteRatio: field.ratio.prefault(D.fullRefresh.maxDeleteRatio),
    maxAge: field.duration().prefault(D.fullRefresh.maxAge),
  };
}

function scheduleShape() {
  return {
    incrementalCron: field.cronExpression('*/15 * * * *').prefault(D.schedule.incrementalCron),
    fullRefreshCron: field.cronExpression('0 3 * * *').prefault(D.schedule.fullRefreshCron),
    timezone: field.timeZone.prefault(D.schedule.timezone),
    parallelChains: field.wholeNumber(1).prefault(D.schedule.parallelChains),
    openRefreshCron: field.cronExpression('0 * * * *').nullable().prefault(D.schedule.openRefreshCron),
    openRefreshExpiringWithin: field.duration().prefault(D.schedule.openRefreshExpiringWithin),
    openRefreshCreatedWithin: field.duration().prefault(D.schedule.openRefreshCreatedWithin),
  };
}

/** What the warehouse-only commands see instead of the spaaza section, which they never read. */
const NO_SPAAZA: { baseUrl: string; chains: { id: number; token: { id: string; secret: string } }[] } = { baseUrl: '', chains: [] };

const spaazaOf = (sources: SecretSources) => section(spaazaSection(sources));

function topShape(sources: SecretSources, parts: SchemaParts = { spaaza: true }) {
  return {
    databaseUrl: field.postgresUrl.nullish(),
    databaseUrlFile: databaseUrlFile(sources).nullish(),
    schema: field.schemaName.prefault(D.schema),
    spaaza: parts.spaaza ? spaazaOf(sources) : (section(z.object({}).transform(() => NO_SPAAZA)) as unknown as ReturnType<typeof spaazaOf>),
    sync: section(syncSection()),
    extract: section(extractSection()),
    fullRefresh: section(
      z.strictObject(fullRefreshShape(), { error: objectError('the fullRefresh section') }).transform((f) => ({ maxDeleteRatio: f.maxDeleteRatio, maxAgeMs: f.maxAge })),
    ),
    schedule: section(
      z.strictObject(scheduleShape(), { error: objectError('the schedule section') }).transform((s) => ({
        incrementalCron: s.incrementalCron,
        fullRefreshCron: s.fullRefreshCron,
        timezone: s.timezone,
        parallelChains: s.parallelChains,
        // Null: off.
        openRefreshCron: s.openRefreshCron,
        openRefreshExpiringWithinMs: s.openRefreshExpiringWithin,
        openRefreshCreatedWithinMs: s.openRefreshCreatedWithin,
      })),
    ),
    failpoint: field.failpoint.nullable().prefault(D.failpoint),
  };
}

/** A chain: its id alone (it uses the shared token), or an object that may carry its own token. */
function chainEntry(sources: SecretSources) {
  const object = z
    .strictObject(chainShape(sources), { error: objectError('a chain') })
    .superRefine(checkOwnToken, { when: () => true })
    .transform(({ id, tokenId, tokenSecretFile, tokenSecretEnv }) => ({
      id,
      token: tokenId === undefined ? null : { id: tokenId, secret: (tokenSecretFile ?? tokenSecretEnv)! },
    }));
  return z.union([field.chainId.transform((id) => ({ id, token: null })), object], {
    error: (issue) =>
      typeof issue.input === 'string'
        ? `${field.show(issue.input)} is not a chain id; chain ids are whole numbers of at least 1`
        : `expected a chain id (a whole number) or an object { "id", "tokenId", "tokenSecretFile" or "tokenSecretEnv" }, got ${field.show(issue.input)}`,
  });
}

/** A chain object with a token of its own needs its id and exactly one source of its secret. */
function checkOwnToken(chain: unknown, ctx: z.RefinementCtx): void {
  if (!isPlainObject(chain)) return;
  const has = (key: string) => chain[key] !== undefined;
  const name = typeof chain.id === 'number' ? `chain ${chain.id}` : 'this chain';
  const hasSecret = has('tokenSecretFile') || has('tokenSecretEnv');
  if (has('tokenSecretFile') && has('tokenSecretEnv')) {
    ctx.addIssue({ code: 'custom', path: ['tokenSecretEnv'], message: 'give either tokenSecretFile or tokenSecretEnv, not both' });
  }
  if (has('tokenId') && !hasSecret) {
    ctx.addIssue({
      code: 'custom',
      path: ['tokenSecretFile'],
      message: `missing; ${name} has its own tokenId, so give its secret too: tokenSecretFile (a file holding it) or tokenSecretEnv (the name of an environment variable holding it)`,
    });
  }
  if (hasSecret && !has('tokenId')) {
    ctx.addIssue({ code: 'custom', path: ['tokenId'], message: `missing; ${name} has its own token secret, so give that token's id (a UUID) too` });
  }
}

function spaazaSection(sources: SecretSources) {
  return z
    .strictObject(spaazaShape(sources), { error: objectError('the spaaza section') })
    .superRefine(checkChains, { when: () => true })
    .transform(({ baseUrl, tokenId, tokenSecretFile, tokenSecret, chains }) => {
      const secret = tokenSecret ?? tokenSecretFile;
      const shared = tokenId !== undefined && secret !== undefined ? { id: tokenId, secret } : null;
      return {
        baseUrl,
        chains: chains.map((chain) => ({ id: chain.id, token: chain.token ?? shared! })),
      };
    });
}

/** At least one chain, no chain twice, and the shared token present when a chain uses it. */
function checkChains(spaaza: unknown, ctx: z.RefinementCtx): void {
  if (!isPlainObject(spaaza) || !Array.isArray(spaaza.chains)) return;
  const chains: unknown[] = spaaza.chains;
  if (chains.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['chains'], message: 'no chain is configured; list chain ids in spaaza.chains or SPAAZA_CHAIN_IDS' });
    return;
  }
  const firstIndex = new Map<number, number>();
  const sharing: number[] = [];
  chains.forEach((chain, index) => {
    if (!isPlainObject(chain) || typeof chain.id !== 'number' || !('token' in chain)) return; // invalid: reported already
    const seen = firstIndex.get(chain.id);
    if (seen !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['chains', index], message: `chain ${chain.id} is listed twice (also at ${formatPath(['spaaza', 'chains', seen])}); list each chain once` });
      return;
    }
    firstIndex.set(chain.id, index);
    if (chain.token === null) sharing.push(chain.id);
  });
  if (sharing.length === 0) return;
  const who = `${sharing.length === 1 ? 'chain' : 'chains'} ${sharing.join(', ')} ${sharing.length === 1 ? 'uses' : 'use'} the shared token`;
  if (spaaza.tokenId === undefined) {
    ctx.addIssue({ code: 'custom', path: ['tokenId'], message: `missing; ${who}: set SPAAZA_TOKEN_ID or spaaza.tokenId to its id (a UUID), or give each chain its own token` });
  }
  if (spaaza.tokenSecret === undefined && spaaza.tokenSecretFile === undefined) {
    ctx.addIssue({ code: 'custom', path: ['tokenSecretFile'], message: `missing; ${who}: set SPAAZA_TOKEN_SECRET, or spaaza.tokenSecretFile to the path of a file holding the secret` });
  }
}

function syncSection() {
  return z
    .strictObject(syncShape(), { error: objectError('the sync section') })
    .superRefine(
      (sync, ctx) => {
        const { lookback, settle } = sync as Partial<Record<string, unknown>>;
        if (typeof lookback === 'number' && typeof settle === 'number' && lookback < settle) {
          ctx.addIssue({
            code: 'custom',
            path: ['lookback'],
            message: `"${formatDuration(lookback)}" is shorter than sync.settle (${formatDuration(settle)}); make lookback at least the settle delay, or vouchers indexed late fall between two runs`,
          });
        }
      },
      { when: () => true },
    )
    .transform((s) => ({
      lookbackMs: s.lookback,
      settleMs: s.settle,
      maxWindowDays: s.maxWindowDays,
      backfillStartDate: s.backfillStartDate,
      resumeMaxAgeMs: s.resumeMaxAge,
      maxRejectRatio: s.maxRejectRatio,
      noExpiryFrom: s.noExpiryFrom,
      dateFields: s.dateFields,
      mergeBatchRows: s.mergeBatchRows,
      maxClockSkewMs: s.maxClockSkew,
      maxRecordBytes: s.maxRecordBytes,
      loadPath: s.loadPath,
    }));
}

function extractSection() {
  return z
    .strictObject(extractShape(), { error: objectError('the extract section') })
    .superRefine(
      (extract, ctx) => {
        const { pollInitial, pollMaxInterval } = extract as Partial<Record<string, unknown>>;
        if (typeof pollInitial === 'number' && typeof pollMaxInterval === 'number' && pollMaxInterval < pollInitial) {
          ctx.addIssue({
            code: 'custom',
            path: ['pollMaxInterval'],
            message: `"${formatDuration(pollMaxInterval)}" is shorter than extract.pollInitial (${formatDuration(pollInitial)}); make the longest wait at least the first one`,
          });
        }
      },
      { when: () => true },
    )
    .transform((e) => ({
      pollInitialMs: e.pollInitial,
      pollMaxIntervalMs: e.pollMaxInterval,
      pollDeadlineMs: e.pollDeadline,
      abandonAfterDeadlines: e.abandonAfterDeadlines,
      downloadAttempts: e.downloadAttempts,
      requestTimeoutMs: e.requestTimeout,
      executeTimeoutMs: e.executeTimeout,
      httpRetries: e.httpRetries,
      maxResponseBytes: e.maxResponseBytes,
    }));
}

/** Which sections a command needs; the warehouse-only commands leave out spaaza. */
export interface SchemaParts {
  readonly spaaza: boolean;
}

/** The schema of the config tree; parse it with `safeParseAsync` (secret files are read then). */
export function createConfigSchema(sources: SecretSources, parts: SchemaParts = { spaaza: true }) {
  return z
    .strictObject(topShape(sources, parts), { error: objectError('the configuration') })
    .superRefine(
      (config, ctx) => {
        if (isPlainObject(config) && config.databaseUrl != null && config.databaseUrlFile != null) {
          ctx.addIssue({ code: 'custom', path: ['databaseUrlFile'], message: 'give either databaseUrl or databaseUrlFile, not both' });
        }
      },
      { when: () => true },
    )
    .transform((c) => ({
      databaseUrl: c.databaseUrl ?? c.databaseUrlFile ?? null,
      schema: c.schema,
      spaaza: c.spaaza,
      sync: c.sync,
      extract: c.extract,
      fullRefresh: c.fullRefresh,
      schedule: c.schedule,
      failpoint: c.failpoint,
    }));
}

/** The keys each object of the file accepts (besides "$comment"), for "did you mean" hints. */
export const FILE_KEYS: Readonly<Record<'top' | 'spaaza' | 'chain' | 'sync' | 'extract' | 'fullRefresh' | 'schedule', readonly string[]>> = (() => {
  const inert: SecretSources = { env: {}, readTextFile: () => Promise.reject(new Error('not used')), baseDir: '/' };
  const keys = (shape: object, hidden: readonly string[] = []) => Object.freeze(Object.keys(shape).filter((key) => !hidden.includes(key)));
  return Object.freeze({
    top: keys(topShape(inert)),
    spaaza: keys(spaazaShape(inert), ['tokenSecret']),
    chain: keys(chainShape(inert)),
    sync: keys(syncShape()),
    extract: keys(extractShape()),
    fullRefresh: keys(fullRefreshShape()),
    schedule: keys(scheduleShape()),
  });
})();

/** Deeply readonly, keeping Date as it is. */
export type Immutable<T> = T extends Date ? T : T extends readonly (infer U)[] ? readonly Immutable<U>[] : T extends object ? { readonly [K in keyof T]: Immutable<T[K]> } : T;

export type SyncConfig = Immutable<z.output<ReturnType<typeof createConfigSchema>>>;
export type ChainSettings = SyncConfig['spaaza']['chains'][number];
