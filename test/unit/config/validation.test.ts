import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MINIMAL_ENV, TempDir, load, oneProblem, refused } from './config-fixture.js';

const tmp = new TempDir();
after(() => tmp.remove());
const cwd = tmp.folder('cwd');
let files = 0;
/** A config file with `content`, loaded over the minimal environment. */
const withFile = (content: unknown, env: Record<string, string> = {}) => ({ configPath: tmp.write(`config-${++files}.json`, content), env: { ...MINIMAL_ENV, ...env }, cwd });
const withEnv = (env: Record<string, string>) => ({ env: { ...MINIMAL_ENV, ...env }, cwd });

describe('every problem is reported at once', () => {
  it('reports five mistakes as five problems, each naming its path', async () => {
    const { SPAAZA_BASE_URL: _fromEnv, ...env } = MINIMAL_ENV;
    const error = await refused({
      ...withFile({
        schema: 'Bad-Name',
        spaaza: { baseUrl: 'http://example.com' },
        sync: { lookback: '2 hours' },
        extract: { downloadAttempts: 0 },
        schedule: { timezone: 'Mars/Olympus_Mons' },
      }),
      env,
    });
    assert.equal(error.problems.length, 5, error.problems.join('\n'));
    const paths = error.problems.map((problem) => problem.slice(0, problem.indexOf(': ')));
    assert.deepEqual(paths.sort(), ['extract.downloadAttempts', 'schedule.timezone', 'schema', 'spaaza.baseUrl', 'sync.lookback']);
    assert.match(error.message, /^The configuration has 5 problems \(config file \/.*\/config-\d+\.json, then the environment\):$/);
    assert.ok(error.problems.includes('sync.lookback: the text given (7 characters) is not a duration; use e.g. 30s, 10m, 2h, 1d'), error.problems.join('\n'));
  });

  it('names the environment variable when the value came from there', async () => {
    const error = await refused(withEnv({ SPAAZA_LOOKBACK: '2 hours', SPAAZA_MAX_WINDOW_DAYS: 'many', SPAAZA_CHAIN_IDS: '1764,abc', SPAAZA_MAX_REJECT_RATIO: '5%' }));
    assert.deepEqual(error.problems, [
      'SPAAZA_CHAIN_IDS (item 2 of 2): the text given (3 characters) is not a chain id; chain ids are whole numbers of at least 1',
      'sync.lookback (SPAAZA_LOOKBACK): the text given (7 characters) is not a duration; use e.g. 30s, 10m, 2h, 1d',
      'sync.maxWindowDays (SPAAZA_MAX_WINDOW_DAYS): expected a whole number of at least 1, got the text given (4 characters)',
      'sync.maxRejectRatio (SPAAZA_MAX_REJECT_RATIO): expected a ratio from 0 to 1 (e.g. 0.01 for 1%), got the text given (2 characters)',
    ]);
  });

  it('reports a cross-key rule even when another key of the section is wrong', async () => {
    const error = await refused(withFile({ sync: { lookback: '5m', settle: '10m', maxWindowDays: 0 } }));
    assert.equal(error.problems.length, 2, error.problems.join('\n'));
  });

  it('names unknown keys with a hint', async () => {
    const error = await refused(withFile({ lookback: '2h', sync: { lookbak: '2h', max_window_days: 3 }, spaaza: { chains: [{ id: 1765, token: 'x' }] } }));
    assert.equal(error.problems.length, 4, error.problems.join('\n'));
    assert.match(error.problems.find((p) => p.startsWith('lookback: '))!, /unknown key \(it belongs in sync\)/);
    assert.match(error.problems.find((p) => p.startsWith('sync.lookbak: '))!, /unknown key \(did you mean "lookback"\?\); sync accepts lookback, settle/);
    assert.match(error.problems.find((p) => p.startsWith('sync.max_window_days: '))!, /did you mean "maxWindowDays"/);
    assert.match(error.problems.find((p) => p.startsWith('spaaza.chains[0].token: '))!, /unknown key; a chain accepts id, tokenId, tokenSecretFile, tokenSecretEnv/);
  });

  it('says what a section should be when it is something else', async () => {
    const problem = await oneProblem(withFile({ sync: [] }), 'sync');
    assert.equal(problem, 'sync: expected the sync section (a JSON object), got a list');
  });
});

describe('spaaza.baseUrl', () => {
  it('refuses http for a host that is not loopback', async () => {
    const problem = await oneProblem(withEnv({ SPAAZA_BASE_URL: 'http://api.example.com/v1' }), 'spaaza.baseUrl (SPAAZA_BASE_URL)');
    assert.match(problem, /http is allowed only for a loopback host .*; write the address with https:\/\//);
    await oneProblem(withEnv({ SPAAZA_BASE_URL: 'http://10.0.0.1:4010' }), 'spaaza.baseUrl (SPAAZA_BASE_URL)');
    await oneProblem(withEnv({ SPAAZA_BASE_URL: 'http://localhost.example.com' }), 'spaaza.baseUrl (SPAAZA_BASE_URL)');
  });

  it('accepts http on loopback and https anywhere, without a trailing slash', async () => {
    const cases: Record<string, string> = {
      'http://127.0.0.1:4010': 'http://127.0.0.1:4010',
      'http://127.0.0.1:4010/': 'http://127.0.0.1:4010',
      'http://127.5.6.7/api/': 'http://127.5.6.7/api',
      'http://localhost:8080': 'http://localhost:8080',
      'http://[::1]:4010/x': 'http://[::1]:4010/x',
      'https://api.example.com/': 'https://api.example.com',
      'https://api.example.com/services/v2': 'https://api.example.com/services/v2',
    };
    for (const [given, kept] of Object.entries(cases)) {
      assert.equal((await load(withEnv({ SPAAZA_BASE_URL: given }))).spaaza.baseUrl, kept, given);
    }
  });

  it('refuses other schemes, relative URLs, credentials and queries', async () => {
    assert.match(await oneProblem(withEnv({ SPAAZA_BASE_URL: 'ftp://127.0.0.1' }), 'spaaza.baseUrl (SPAAZA_BASE_URL)'), /is not an http\(s\) URL/);
    assert.match(await oneProblem(withEnv({ SPAAZA_BASE_URL: 'api.example.com' }), 'spaaza.baseUrl (SPAAZA_BASE_URL)'), /is not an absolute URL/);
    const credentials = await oneProblem(withEnv({ SPAAZA_BASE_URL: 'https://user:pa55word@api.example.com' }), 'spaaza.baseUrl (SPAAZA_BASE_URL)');
    assert.doesNotMatch(credentials, /pa55word/);
    const query = await oneProblem(withEnv({ SPAAZA_BASE_URL: 'https://api.example.com/?key=k3y' }), 'spaaza.baseUrl (SPAAZA_BASE_URL)');
    assert.doesNotMatch(query, /k3y/);
  });
});

describe('sync.lookback and sync.settle', () => {
  it('refuses a lookback shorter than the settle delay', async () => {
    const problem = await oneProblem(withEnv({ SPAAZA_LOOKBACK: '5m' }), 'sync.lookback (SPAAZA_LOOKBACK)');
    assert.equal(problem, 'sync.lookback (SPAAZA_LOOKBACK): "5m" is shorter than sync.settle (10m); make lookback at least the settle delay, or vouchers indexed late fall between two runs');
    await oneProblem(withFile({ sync: { lookback: '1h', settle: '61m' } }), 'sync.lookback');
  });

  it('accepts a lookback equal to the settle delay', async () => {
    const config = await load(withEnv({ SPAAZA_LOOKBACK: '30m', SPAAZA_SETTLE: '30m' }));
    assert.equal(config.sync.lookbackMs, config.sync.settleMs);
  });
});

describe('durations', () => {
  it('reads every unit from the file and from the environment', async () => {
    const config = await load(withFile({ extract: { pollInitial: '1s', pollMaxInterval: '2m', pollDeadline: '1d', requestTimeout: '45s', executeTimeout: '1h30m' } }, { SPAAZA_RESUME_MAX_AGE: '36h' }));
    assert.equal(config.extract.pollInitialMs, 1_000);
    assert.equal(config.extract.pollMaxIntervalMs, 120_000);
    assert.equal(config.extract.pollDeadlineMs, 86_400_000);
    assert.equal(config.extract.requestTimeoutMs, 45_000);
    assert.equal(config.extract.executeTimeoutMs, 5_400_000);
    assert.equal(config.sync.resumeMaxAgeMs, 36 * 3_600_000);
  });

  it('refuses a number without a unit, in the file or the environment', async () => {
    assert.equal(
      await oneProblem(withFile({ sync: { settle: 600000 } }), 'sync.settle'),
      'sync.settle: 600000 has no unit; write a duration as text with its unit, e.g. "30s", "10m", "2h", "1d"',
    );
    assert.match(await oneProblem(withEnv({ SPAAZA_SETTLE: '600' }), 'sync.settle (SPAAZA_SETTLE)'), /the text given \(3 characters\) is a number without a unit/);
  });

  it('refuses malformed text, zero where a wait is needed, and timers past 24 days', async () => {
    for (const text of ['1.5h', '2H', '10 m', '-5s', 'soon']) {
      assert.match(await oneProblem(withEnv({ SPAAZA_REQUEST_TIMEOUT: text }), 'extract.requestTimeout (SPAAZA_REQUEST_TIMEOUT)'), /is not a duration/, text);
    }
    assert.match(await oneProblem(withEnv({ SPAAZA_POLL_INITIAL: '0ms' }), 'extract.pollInitial (SPAAZA_POLL_INITIAL)'), /is too short; use at least 1ms/);
    assert.match(await oneProblem(withEnv({ SPAAZA_EXECUTE_TIMEOUT: '25d' }), 'extract.executeTimeout (SPAAZA_EXECUTE_TIMEOUT)'), /is too long; use at most 24d/);
  });

  it('refuses a longest poll wait below the first one', async () => {
    await oneProblem(withEnv({ SPAAZA_POLL_INITIAL: '2m', SPAAZA_POLL_MAX_INTERVAL: '1m' }), 'extract.pollMaxInterval (SPAAZA_POLL_MAX_INTERVAL)');
  });
});

describe('numbers and lists', () => {
  it('checks whole numbers and ratios', async () => {
    await oneProblem(withEnv({ SPAAZA_MAX_WINDOW_DAYS: '0' }), 'sync.maxWindowDays (SPAAZA_MAX_WINDOW_DAYS)');
    await oneProblem(withFile({ sync: { maxWindowDays: 1.5 } }), 'sync.maxWindowDays');
    await oneProblem(withFile({ sync: { maxWindowDays: '31' } }), 'sync.maxWindowDays');
    await oneProblem(withEnv({ SPAAZA_DOWNLOAD_ATTEMPTS: '0' }), 'extract.downloadAttempts (SPAAZA_DOWNLOAD_ATTEMPTS)');
    await oneProblem(withEnv({ SPAAZA_HTTP_RETRIES: '-1' }), 'extract.httpRetries (SPAAZA_HTTP_RETRIES)');
    await oneProblem(withEnv({ SPAAZA_PARALLEL_CHAINS: '0' }), 'schedule.parallelChains (SPAAZA_PARALLEL_CHAINS)');
    await oneProblem(withEnv({ SPAAZA_MAX_DELETE_RATIO: '1.5' }), 'fullRefresh.maxDeleteRatio (SPAAZA_MAX_DELETE_RATIO)');
    await oneProblem(withFile({ sync: { maxRejectRatio: -0.1 } }), 'sync.maxRejectRatio');
    const config = await load(withEnv({ SPAAZA_HTTP_RETRIES: '0', SPAAZA_MAX_REJECT_RATIO: '0', SPAAZA_MAX_DELETE_RATIO: '1' }));
    assert.equal(config.extract.httpRetries, 0);
    assert.equal(config.sync.maxRejectRatio, 0);
    assert.equal(config.fullRefresh.maxDeleteRatio, 1);
  });

  it('needs at least one date field, each a field name, each once', async () => {
    await oneProblem(withFile({ sync: { dateFields: [] } }), 'sync.dateFields');
    await oneProblem(withEnv({ SPAAZA_DATE_FIELDS: 'date_time_creation,Date Time' }), 'sync.dateFields (SPAAZA_DATE_FIELDS)');
    await oneProblem(withFile({ sync: { dateFields: ['date_time_creation', 'date_time_creation'] } }), 'sync.dateFields[1]');
  });

  it('checks the schema name as the warehouse does', async () => {
    assert.equal((await load(withEnv({ SPAAZA_SCHEMA: 'spaaza_test_1' }))).schema, 'spaaza_test_1');
    for (const name of ['Spaaza', '1abc', 'a-b', 'x'.repeat(64), '']) {
      await oneProblem(withFile({ schema: name }), 'schema');
    }
  });

  it('needs non-empty cron expressions and a known time zone', async () => {
    await oneProblem(withFile({ schedule: { incrementalCron: '  ' } }), 'schedule.incrementalCron');
    for (const bad of ['0 3 * * Zq9SECRETxx', '* * * *', '61 * * * *', '0 0 31 2 *']) {
      const problem = await oneProblem(withEnv({ SPAAZA_FULL_REFRESH_CRON: bad }), 'schedule.fullRefreshCron (SPAAZA_FULL_REFRESH_CRON)');
      assert.match(problem, /is not a cron expression node-cron accepts/);
      assert.ok(!problem.includes('Zq9SECRETxx'), problem);
    }
    await oneProblem(withEnv({ SPAAZA_TIMEZONE: 'Europe/Nowhere' }), 'schedule.timezone (SPAAZA_TIMEZONE)');
    const config = await load(withEnv({ SPAAZA_INCREMENTAL_CRON: '*/5 * * * *', SPAAZA_FULL_REFRESH_CRON: '30 2 * * 0', SPAAZA_TIMEZONE: 'Europe/Amsterdam' }));
    assert.deepEqual(config.schedule, {
      incrementalCron: '*/5 * * * *',
      fullRefreshCron: '30 2 * * 0',
      timezone: 'Europe/Amsterdam',
      parallelChains: 1,
      openRefreshCron: null,
      openRefreshExpiringWithinMs: 14 * 86_400_000,
      openRefreshCreatedWithinMs: 30 * 86_400_000,
    });
    const bad = await oneProblem(withEnv({ SPAAZA_OPEN_REFRESH_CRON: '0 * *' }), 'schedule.openRefreshCron (SPAAZA_OPEN_REFRESH_CRON)');
    assert.match(bad, /is not a cron expression node-cron accepts/);
    const on = await load(withEnv({ SPAAZA_OPEN_REFRESH_CRON: '5 * * * *', SPAAZA_OPEN_REFRESH_EXPIRING_WITHIN: '3d' }));
    assert.deepEqual([on.schedule.openRefreshCron, on.schedule.openRefreshExpiringWithinMs], ['5 * * * *', 3 * 86_400_000]);
  });
});

describe('failpoints', () => {
  it('is off by default', async () => {
    assert.equal((await load(withEnv({}))).failpoint, null);
  });

  it('parses <name>:<kill|throw> for every failpoint', async () => {
    for (const name of ['after-create', 'polling', 'mid-download', 'mid-copy', 'before-commit', 'after-commit']) {
      for (const action of ['kill', 'throw']) {
        assert.deepEqual((await load(withEnv({ SPAAZA_SYNC_FAILPOINT: `${name}:${action}` }))).failpoint, { name, action });
      }
    }
    assert.deepEqual((await load(withFile({ failpoint: 'polling:throw' }))).failpoint, { name: 'polling', action: 'throw' });
  });

  it('refuses unknown names, unknown actions and other forms', async () => {
    for (const text of ['mid-copy', 'mid-copy:', 'nowhere:kill', 'mid-copy:explode', 'mid-copy:kill:now', 'MID-COPY:KILL']) {
      const problem = await oneProblem(withEnv({ SPAAZA_SYNC_FAILPOINT: text }), 'failpoint (SPAAZA_SYNC_FAILPOINT)');
      assert.match(problem, /is not a failpoint; write <name>:<action> with a name among after-create, polling/, text);
    }
  });
});

describe('sync.backfillStartDate and sync.noExpiryFrom', () => {
  const backfill = async (text: string) => (await load(withEnv({ SPAAZA_BACKFILL_START_DATE: text }))).sync.backfillStartDate?.toISOString();

  it('reads a date as 00:00:00Z of that UTC day', async () => {
    assert.equal(await backfill('2024-01-01'), '2024-01-01T00:00:00.000Z');
    assert.equal(await backfill('2024-02-29'), '2024-02-29T00:00:00.000Z');
  });

  it('reads an ISO instant with Z or an offset', async () => {
    assert.equal(await backfill('2024-01-01T12:30:00Z'), '2024-01-01T12:30:00.000Z');
    assert.equal(await backfill('2024-01-01T12:30:00+02:00'), '2024-01-01T10:30:00.000Z');
    assert.equal(await backfill('2024-01-01T00:30:00-0130'), '2024-01-01T02:00:00.000Z');
    assert.equal(await backfill('2024-01-01T12:30Z'), '2024-01-01T12:30:00.000Z');
    assert.equal(await backfill('2024-01-01T12:30:00.123456Z'), '2024-01-01T12:30:00.123Z');
  });

  it('is null by default and when the file says null', async () => {
    assert.equal((await load(withEnv({}))).sync.backfillStartDate, null);
    assert.equal((await load(withFile({ sync: { backfillStartDate: null } }))).sync.backfillStartDate, null);
    assert.equal((await load(withFile({ sync: { backfillStartDate: '2023-06-01' } }))).sync.backfillStartDate?.toISOString(), '2023-06-01T00:00:00.000Z');
  });

  it('refuses impossible dates, local times without a zone and other forms', async () => {
    for (const text of ['2024-02-30', '2023-02-29', '2024-13-01', '2024-01-01T12:30:00', '2024-01-01 12:30:00Z', '01/02/2024', '2024-1-1', '2024-01-01T24:00:00Z', 'yesterday']) {
      assert.match(await oneProblem(withEnv({ SPAAZA_BACKFILL_START_DATE: text }), 'sync.backfillStartDate (SPAAZA_BACKFILL_START_DATE)'), /is not a date; use YYYY-MM-DD/, text);
    }
  });

  it('reads noExpiryFrom in the same forms', async () => {
    assert.equal((await load(withEnv({ SPAAZA_NO_EXPIRY_FROM: '2049-12-31' }))).sync.noExpiryFrom.toISOString(), '2049-12-31T00:00:00.000Z');
    await oneProblem(withFile({ sync: { noExpiryFrom: null } }), 'sync.noExpiryFrom');
  });
});
