import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_DEFAULTS, loadConfig, loadWarehouseConfig, type SyncConfig } from '../../../src/config/index.js';
import { ConfigError } from '../../../src/errors.js';
import { FILE_KEYS } from '../../../src/config/schema.js';
import { MINIMAL_ENV, OTHER_TOKEN_ID, SECRET, TOKEN_ID, TempDir, load, oneProblem, refused } from './config-fixture.js';

const tmp = new TempDir();
after(() => tmp.remove());
const empty = tmp.folder('empty'); // a cwd without config/spaaza-sync.json

// The type the rest of the tool was promised (the brief's interface), checked at compile time.
interface PromisedConfig {
  readonly databaseUrl: string | null;
  readonly schema: string;
  readonly spaaza: { readonly baseUrl: string; readonly chains: readonly { readonly id: number; readonly token: { readonly id: string; readonly secret: string } }[] };
  readonly sync: {
    readonly lookbackMs: number;
    readonly settleMs: number;
    readonly maxWindowDays: number;
    readonly backfillStartDate: Date | null;
    readonly resumeMaxAgeMs: number;
    readonly maxRejectRatio: number;
    readonly noExpiryFrom: Date;
    readonly dateFields: readonly string[];
    readonly mergeBatchRows: number;
    readonly maxClockSkewMs: number;
    readonly maxRecordBytes: number;
    readonly loadPath: 'auto' | 'reference';
  };
  readonly extract: {
    readonly pollInitialMs: number;
    readonly pollMaxIntervalMs: number;
    readonly pollDeadlineMs: number;
    readonly abandonAfterDeadlines: number;
    readonly downloadAttempts: number;
    readonly requestTimeoutMs: number;
    readonly executeTimeoutMs: number;
    readonly httpRetries: number;
    readonly maxResponseBytes: number;
  };
  readonly fullRefresh: { readonly maxDeleteRatio: number; readonly maxAgeMs: number };
  readonly schedule: {
    readonly incrementalCron: string;
    readonly fullRefreshCron: string;
    readonly timezone: string;
    readonly parallelChains: number;
    readonly openRefreshCron: string | null;
    readonly openRefreshExpiringWithinMs: number;
    readonly openRefreshCreatedWithinMs: number;
  };
  readonly failpoint: { readonly name: 'after-create' | 'polling' | 'mid-download' | 'mid-copy' | 'before-commit' | 'after-commit'; readonly action: 'kill' | 'throw' } | null;
}
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const typeMatchesPromise: Same<SyncConfig, PromisedConfig> = true;

describe('loadConfig: defaults', () => {
  it('fills every knob with its default when only the required values are given', async () => {
    assert.ok(typeMatchesPromise);
    const config = await load({ env: { ...MINIMAL_ENV }, cwd: empty });
    assert.deepEqual(JSON.parse(JSON.stringify(config)), {
      databaseUrl: null,
      schema: 'spaaza',
      spaaza: { baseUrl: 'http://127.0.0.1:4010', chains: [{ id: 1764, token: { id: TOKEN_ID, secret: SECRET } }] },
      sync: {
        lookbackMs: 2 * 3_600_000,
        settleMs: 10 * 60_000,
        maxWindowDays: 31,
        backfillStartDate: null,
        resumeMaxAgeMs: 24 * 3_600_000,
        maxRejectRatio: 0.01,
        noExpiryFrom: '2050-01-01T00:00:00.000Z',
        dateFields: ['date_time_creation', 'date_time_redeemed'],
        mergeBatchRows: 50000,
        maxClockSkewMs: 15 * 60_000,
        maxRecordBytes: 4 * 1024 * 1024,
        loadPath: 'auto',
      },
      extract: {
        pollInitialMs: 250,
        pollMaxIntervalMs: 60_000,
        pollDeadlineMs: 60 * 60_000,
        abandonAfterDeadlines: 2,
        downloadAttempts: 3,
        requestTimeoutMs: 30_000,
        executeTimeoutMs: 15 * 60_000,
        httpRetries: 5,
        maxResponseBytes: 8 * 1024 * 1024,
      },
      fullRefresh: { maxDeleteRatio: 0.1, maxAgeMs: 3_600_000 },
      schedule: { incrementalCron: '*/15 * * * *', fullRefreshCron: '0 3 * * *', timezone: 'UTC', parallelChains: 1, openRefreshCron: null, openRefreshExpiringWithinMs: 14 * 86_400_000, openRefreshCreatedWithinMs: 30 * 86_400_000 },
      failpoint: null,
    });
    assert.ok(config.sync.noExpiryFrom instanceof Date);
  });

  it('treats an empty environment variable as unset', async () => {
    const config = await load({ env: { ...MINIMAL_ENV, SPAAZA_LOOKBACK: '', SPAAZA_SCHEMA: '  ', DATABASE_URL: '' }, cwd: empty });
    assert.equal(config.sync.lookbackMs, 7_200_000);
    assert.equal(config.schema, 'spaaza');
    assert.equal(config.databaseUrl, null);
  });

  it('needs a base URL and a chain, and says where to put them', async () => {
    const error = await refused({ env: {}, cwd: empty });
    assert.deepEqual(error.problems, [
      'spaaza.baseUrl: missing; set SPAAZA_BASE_URL or spaaza.baseUrl to the Spaaza Services API address (there is no default)',
      'spaaza.chains: no chain is configured; list chain ids in spaaza.chains or SPAAZA_CHAIN_IDS',
    ]);
    assert.match(error.message, /no config file, environment only/);
  });
});

describe('loadConfig: where the file comes from', () => {
  const fileA = tmp.write('a/settings.json', { sync: { maxWindowDays: 7 } });
  const fileB = tmp.write('b/settings.json', { sync: { maxWindowDays: 14 } });
  const withDefault = tmp.folder('with-default');
  tmp.write('with-default/config/spaaza-sync.json', { sync: { maxWindowDays: 21 } });

  it('reads ./config/spaaza-sync.json in cwd when present', async () => {
    assert.equal((await load({ env: { ...MINIMAL_ENV }, cwd: withDefault })).sync.maxWindowDays, 21);
  });

  it('prefers SPAAZA_CONFIG over the default file, and --config over both', async () => {
    assert.equal((await load({ env: { ...MINIMAL_ENV, SPAAZA_CONFIG: fileA }, cwd: withDefault })).sync.maxWindowDays, 7);
    assert.equal((await load({ configPath: fileB, env: { ...MINIMAL_ENV, SPAAZA_CONFIG: fileA }, cwd: withDefault })).sync.maxWindowDays, 14);
  });

  it('resolves a relative --config or SPAAZA_CONFIG against cwd', async () => {
    assert.equal((await load({ configPath: 'a/settings.json', env: { ...MINIMAL_ENV }, cwd: tmp.path })).sync.maxWindowDays, 7);
    assert.equal((await load({ env: { ...MINIMAL_ENV, SPAAZA_CONFIG: 'b/settings.json' }, cwd: tmp.path })).sync.maxWindowDays, 14);
  });

  it('refuses a --config or SPAAZA_CONFIG path that does not exist', async () => {
    const viaFlag = await oneProblem({ configPath: 'missing.json', env: { ...MINIMAL_ENV }, cwd: empty }, join(empty, 'missing.json') + ' (from --config)');
    assert.match(viaFlag, /cannot read the config file \(no such file\)/);
    await oneProblem({ env: { ...MINIMAL_ENV, SPAAZA_CONFIG: 'gone.json' }, cwd: empty }, join(empty, 'gone.json') + ' (from SPAAZA_CONFIG)');
  });

  it('names the file of a JSON syntax error with its line, never quoting its text', async () => {
    const file = tmp.write('broken.json', '{\n  "schema": "spaaza",\n  "spaaza": { "tokenSecret": "hunter2-secret" x }\n}\n');
    const problem = await oneProblem({ configPath: file, env: { ...MINIMAL_ENV }, cwd: empty }, file);
    assert.match(problem, /not valid JSON \(line 3, column \d+\)/);
    assert.doesNotMatch(problem, /hunter2/);
    const bare = tmp.write('bare.json', '{"spaaza": hunter2}');
    assert.doesNotMatch(await oneProblem({ configPath: bare, env: { ...MINIMAL_ENV }, cwd: empty }, bare), /hunter2/);
  });

  it('refuses a file that is not one JSON object, and an empty file', async () => {
    const list = tmp.write('list.json', '[1764]');
    assert.match(await oneProblem({ configPath: list, env: { ...MINIMAL_ENV }, cwd: empty }, list), /must hold one JSON object/);
    const blank = tmp.write('blank.json', '');
    assert.match(await oneProblem({ configPath: blank, env: { ...MINIMAL_ENV }, cwd: empty }, blank), /not valid JSON \(the file is empty\)/);
  });

  it('accepts a UTF-8 byte order mark and "$comment" keys anywhere', async () => {
    const file = tmp.write('commented.json', '\uFEFF' + JSON.stringify({ $comment: 'top', sync: { $comment: ['a', 'b'], maxWindowDays: 3 }, spaaza: { chains: [{ $comment: 'c', id: 1765 }] } }));
    const config = await load({ configPath: file, env: { ...MINIMAL_ENV }, cwd: empty });
    assert.equal(config.sync.maxWindowDays, 3);
    assert.deepEqual(
      config.spaaza.chains.map((chain) => chain.id),
      [1765, 1764],
    );
  });
});

describe('loadConfig: the environment replaces the file key by key', () => {
  const file = tmp.write('precedence.json', {
    schema: 'from_file',
    spaaza: { baseUrl: 'https://file.example.com/api/', tokenId: OTHER_TOKEN_ID, chains: [1764] },
    sync: { lookback: '3h', settle: '20m', maxWindowDays: 7, dateFields: ['date_time_creation'] },
    extract: { httpRetries: 2, requestTimeout: '10s' },
    fullRefresh: { maxDeleteRatio: 0.2 },
    schedule: { timezone: 'Europe/Amsterdam', parallelChains: 2 },
  });

  it('keeps file values the environment does not set, and takes the ones it sets', async () => {
    const config = await load({
      configPath: file,
      env: {
        SPAAZA_TOKEN_SECRET: SECRET,
        SPAAZA_SETTLE: '15m',
        SPAAZA_HTTP_RETRIES: '9',
        SPAAZA_MAX_DELETE_RATIO: '0.05',
        SPAAZA_PARALLEL_CHAINS: '4',
        SPAAZA_DATE_FIELDS: 'date_time_redeemed, date_time_creation',
        SPAAZA_SCHEMA: 'from_env',
      },
      cwd: empty,
    });
    assert.equal(config.schema, 'from_env');
    assert.equal(config.spaaza.baseUrl, 'https://file.example.com/api');
    assert.deepEqual(config.spaaza.chains, [{ id: 1764, token: { id: OTHER_TOKEN_ID, secret: SECRET } }]);
    assert.equal(config.sync.lookbackMs, 3 * 3_600_000);
    assert.equal(config.sync.settleMs, 15 * 60_000);
    assert.equal(config.sync.maxWindowDays, 7);
    assert.deepEqual(config.sync.dateFields, ['date_time_redeemed', 'date_time_creation']);
    assert.equal(config.extract.httpRetries, 9);
    assert.equal(config.extract.requestTimeoutMs, 10_000);
    assert.equal(config.extract.pollInitialMs, 250);
    assert.equal(config.fullRefresh.maxDeleteRatio, 0.05);
    assert.equal(config.schedule.timezone, 'Europe/Amsterdam');
    assert.equal(config.schedule.parallelChains, 4);
  });

  it('takes the base URL and the shared token id from the environment over the file', async () => {
    const config = await load({ configPath: file, env: { SPAAZA_TOKEN_SECRET: SECRET, SPAAZA_BASE_URL: 'https://env.example.com', SPAAZA_TOKEN_ID: TOKEN_ID }, cwd: empty });
    assert.equal(config.spaaza.baseUrl, 'https://env.example.com');
    assert.equal(config.spaaza.chains[0]!.token.id, TOKEN_ID);
  });
});

describe('loadConfig: the result is deeply frozen', () => {
  it('freezes every object, list and date', async () => {
    const config = await load({ env: { ...MINIMAL_ENV, SPAAZA_BACKFILL_START_DATE: '2024-01-01', SPAAZA_SYNC_FAILPOINT: 'mid-copy:kill' }, cwd: empty });
    const walk = (value: unknown, path: string): void => {
      if (typeof value !== 'object' || value === null) return;
      assert.ok(Object.isFrozen(value), `${path} is not frozen`);
      for (const [key, item] of Object.entries(value)) walk(item, `${path}.${key}`);
    };
    walk(config, 'config');
    const mutable = config as unknown as { sync: { lookbackMs: number; dateFields: string[] }; spaaza: { chains: unknown[] } };
    assert.throws(() => {
      mutable.sync.lookbackMs = 1;
    }, TypeError);
    assert.throws(() => mutable.sync.dateFields.push('x'), TypeError);
    assert.throws(() => mutable.spaaza.chains.pop(), TypeError);
    const start = config.sync.backfillStartDate!;
    assert.throws(() => start.setTime(0), TypeError);
    assert.throws(() => config.sync.noExpiryFrom.setUTCFullYear(2000), TypeError);
    assert.equal(start.toISOString(), '2024-01-01T00:00:00.000Z');
    assert.deepEqual(start, new Date('2024-01-01T00:00:00Z'));
  });
});

describe('the example file', () => {
  const example = join(import.meta.dirname, '../../../config/spaaza-sync.example.json');
  const json = JSON.parse(readFileSync(example, 'utf8')) as Record<string, Record<string, unknown>>;

  it('validates, and its knobs are the defaults', async () => {
    const config = await loadConfig({ configPath: example, env: { SPAAZA_TOKEN_SECRET: SECRET, SPAAZA_TOKEN_SECRET_1765: 'other-secret' }, cwd: empty });
    assert.deepEqual(config.spaaza.chains, [
      { id: 1764, token: { id: TOKEN_ID, secret: SECRET } },
      { id: 1765, token: { id: OTHER_TOKEN_ID, secret: 'other-secret' } },
    ]);
    const defaults = await load({ env: { ...MINIMAL_ENV }, cwd: empty });
    for (const key of ['databaseUrl', 'schema', 'sync', 'extract', 'fullRefresh', 'schedule', 'failpoint'] as const) assert.deepEqual(config[key], defaults[key], key);
  });

  it('holds every key, and documents each in its section\'s "$comment"', () => {
    const sections = { top: json, spaaza: json.spaaza!, sync: json.sync!, extract: json.extract!, fullRefresh: json.fullRefresh!, schedule: json.schedule! };
    for (const [name, object] of Object.entries(sections)) {
      const comment = ([] as unknown[]).concat(object.$comment).join('\n');
      for (const key of FILE_KEYS[name as keyof typeof FILE_KEYS]) {
        assert.ok(key in object, `${name}.${key} is missing from the example`);
        if (!(name === 'top' && typeof object[key] === 'object' && object[key] !== null)) assert.match(comment, new RegExp(`\\b${key}\\b`), `${name}.${key} is not documented`);
      }
    }
    const chain = (json.spaaza!.chains as unknown[])[1] as Record<string, unknown>;
    for (const key of FILE_KEYS.chain) assert.ok(key in chain || key === 'tokenSecretFile', `chain key ${key} is missing from the example`);
    assert.match(String(json.spaaza!.$comment), /tokenSecretFile/);
  });

  it('writes the defaults as CONFIG_DEFAULTS has them', () => {
    for (const section of ['sync', 'extract', 'fullRefresh', 'schedule'] as const) {
      const { $comment: _comment, ...values } = json[section]!;
      assert.deepEqual(values, CONFIG_DEFAULTS[section], section);
    }
    assert.equal(json.schema, CONFIG_DEFAULTS.schema);
  });
});

describe('loadWarehouseConfig: the warehouse side alone', () => {
  it('needs no Spaaza address, chain or token, and reads the rest as loadConfig does', async () => {
    const config = await loadWarehouseConfig({ env: { DATABASE_URL: 'postgres://app@db:5432/w', SPAAZA_SCHEMA: 'wh', SPAAZA_NO_EXPIRY_FROM: '2040-01-01' }, cwd: '/' });
    assert.equal(config.databaseUrl, 'postgres://app@db:5432/w');
    assert.equal(config.schema, 'wh');
    assert.equal(config.sync.noExpiryFrom.toISOString(), '2040-01-01T00:00:00.000Z');
    assert.ok(!('spaaza' in config));
  });

  it('still reports every problem of the parts it reads, and none of the spaaza section', async () => {
    await assert.rejects(
      loadWarehouseConfig({ env: { DATABASE_URL: 'mysql://x', SPAAZA_SCHEMA: 'Bad-Name', SPAAZA_CHAIN_IDS: 'abc', SPAAZA_BASE_URL: 'nope' }, cwd: '/' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.problems.map((p) => p.slice(0, p.indexOf(': '))), ['DATABASE_URL', 'schema (SPAAZA_SCHEMA)']);
        return true;
      },
    );
  });
});
