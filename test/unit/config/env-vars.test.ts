import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CONFIG_DEFAULTS, ENV_VARS } from '../../../src/config/index.js';
import { FILE_KEYS } from '../../../src/config/schema.js';
import { MINIMAL_ENV, OTHER_TOKEN_ID, TempDir, load } from './config-fixture.js';

const tmp = new TempDir();
after(() => tmp.remove());
const cwd = tmp.folder('cwd');

// A value for every variable, different from the default: each must change the loaded config.
const SAMPLES: Record<string, string> = {
  DATABASE_URL: 'postgres://app:pw@db/w',
  SPAAZA_SCHEMA: 'other_schema',
  SPAAZA_BASE_URL: 'https://api.example.com',
  SPAAZA_TOKEN_ID: OTHER_TOKEN_ID,
  SPAAZA_TOKEN_SECRET: 'another-secret',
  SPAAZA_CHAIN_IDS: '1764,1800',
  SPAAZA_LOOKBACK: '3h',
  SPAAZA_SETTLE: '5m',
  SPAAZA_MAX_WINDOW_DAYS: '7',
  SPAAZA_BACKFILL_START_DATE: '2024-01-01',
  SPAAZA_RESUME_MAX_AGE: '12h',
  SPAAZA_MAX_REJECT_RATIO: '0.05',
  SPAAZA_MERGE_BATCH_ROWS: '1000',
  SPAAZA_MAX_CLOCK_SKEW: '5m',
  SPAAZA_MAX_RECORD_BYTES: '65536',
  SPAAZA_LOAD_PATH: 'reference',
  SPAAZA_MAX_RESPONSE_BYTES: '1048576',
  SPAAZA_FULL_REFRESH_MAX_AGE: '30m',
  SPAAZA_NO_EXPIRY_FROM: '2049-01-01',
  SPAAZA_DATE_FIELDS: 'date_time_creation',
  SPAAZA_POLL_INITIAL: '1s',
  SPAAZA_POLL_MAX_INTERVAL: '30s',
  SPAAZA_POLL_DEADLINE: '2h',
  SPAAZA_ABANDON_AFTER_DEADLINES: '4',
  SPAAZA_DOWNLOAD_ATTEMPTS: '5',
  SPAAZA_REQUEST_TIMEOUT: '10s',
  SPAAZA_EXECUTE_TIMEOUT: '20m',
  SPAAZA_HTTP_RETRIES: '2',
  SPAAZA_MAX_DELETE_RATIO: '0.2',
  SPAAZA_INCREMENTAL_CRON: '*/5 * * * *',
  SPAAZA_FULL_REFRESH_CRON: '0 4 * * *',
  SPAAZA_TIMEZONE: 'Europe/Amsterdam',
  SPAAZA_PARALLEL_CHAINS: '3',
  SPAAZA_OPEN_REFRESH_CRON: '0 * * * *',
  SPAAZA_OPEN_REFRESH_EXPIRING_WITHIN: '7d',
  SPAAZA_OPEN_REFRESH_CREATED_WITHIN: '10d',
  SPAAZA_SYNC_FAILPOINT: 'after-commit:throw',
};

describe('ENV_VARS', () => {
  it('lists each variable once, each naming a file key the schema knows', () => {
    assert.equal(new Set(ENV_VARS.map((v) => v.name)).size, ENV_VARS.length);
    for (const variable of ENV_VARS) {
      assert.ok(variable.description.length > 20, `${variable.name} needs a description`);
      if (variable.path === null) continue;
      const [first, second] = variable.path.split('.') as [string, string | undefined];
      const known = second === undefined ? FILE_KEYS.top.includes(first) : (FILE_KEYS[first as keyof typeof FILE_KEYS] ?? []).includes(second);
      assert.ok(known, `${variable.name}: ${variable.path} is not a key of the config file`);
    }
  });

  it('has one variable for every knob, with the knob\'s default', () => {
    for (const section of ['sync', 'extract', 'fullRefresh', 'schedule'] as const) {
      for (const [key, value] of Object.entries(CONFIG_DEFAULTS[section])) {
        const variable = ENV_VARS.find((v) => v.path === `${section}.${key}`);
        assert.ok(variable, `no variable for ${section}.${key}`);
        assert.equal(variable.default, value === null ? null : Array.isArray(value) ? value.join(',') : String(value), variable.name);
      }
    }
  });

  it('every variable changes the loaded configuration', async () => {
    assert.deepEqual(Object.keys(SAMPLES).sort(), ENV_VARS.filter((v) => v.name !== 'SPAAZA_CONFIG').map((v) => v.name).sort());
    const before = JSON.stringify(await load({ env: { ...MINIMAL_ENV }, cwd }));
    for (const [name, value] of Object.entries(SAMPLES)) {
      const after = JSON.stringify(await load({ env: { ...MINIMAL_ENV, [name]: value }, cwd }));
      assert.notEqual(after, before, `${name}=${value} changed nothing`);
    }
  });
});
