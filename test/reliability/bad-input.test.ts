// Bad input never costs data: every malformed CSV yields rejects with their line and a reason, or
// fails its window with a clear error, and every malformed Services API answer fails or retries
// with a sentence — and what was loaded before stays exactly as it was.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { API_POINTS, type FaultRule } from '../../src/simulator/faults.js';
import { WindowLoadError } from '../../src/load/load-window.js';
import { loadCsv } from '../support/load.js';
import { reliabilitySuite } from '../support/reliability-report.js';
import { startHarness } from '../support/sync-harness.js';
import { newDataset, renderCsv } from '../support/voucher-csv.js';
import { assertMatchesSource } from '../support/warehouse-checks.js';
import { fingerprint, withSchema } from '../support/warehouse.js';

const suite = reliabilitySuite('Bad input (malformed CSVs and Services API answers)');
const tally = suite.tally;

const H = 'id,voucher_key,chain_id,user_id,campaign_id,campaign_type,campaign_title,type,status,locked,title,currency_id,currency_symbol,amount_original,amount_redeemed,amount,date_time_creation,date_time_redeemed,date_time_expiry';
const good = (id: number, over: Partial<Record<string, string>> = {}) => {
  const row: Record<string, string> = {
    id: String(id), voucher_key: 'ab'.repeat(32), chain_id: '1764', user_id: '7', campaign_id: '3', campaign_type: 'birthday', campaign_title: 'Spring',
    type: 'basket', status: 'claimed', locked: 'false', title: 'Ten off', currency_id: '2', currency_symbol: '€', amount_original: '10.00',
    amount_redeemed: '0.00', amount: '10.00', date_time_creation: '2026-05-01T10:00:00Z', date_time_redeemed: '', date_time_expiry: '2026-08-01T00:00:00Z',
    ...over,
  };
  return H.split(',').map((k) => row[k]).join(',');
};
const file = (...lines: string[]) => lines.join('\n') + '\n';

/** name → CSV bytes; `outcome` is 'rejects' (with how many) or the error code of a failed window. */
const CSVS: { name: string; body: string | Buffer; outcome: { rejects: number } | { error: string } }[] = [
  { name: 'ragged: too few fields', body: file(H, good(9001), '9002,abc,1764'), outcome: { rejects: 1 } },
  { name: 'ragged: too many fields', body: file(H, good(9001), good(9002) + ',extra,cells'), outcome: { rejects: 1 } },
  { name: 'unclosed quote at the end (truncated)', body: file(H, good(9001)) + '9002,"never closed', outcome: { error: 'csv_truncated' } },
  { name: 'a quote inside an unquoted field', body: file(H, good(9001, { title: 'ab"cd' })), outcome: { rejects: 0 } },
  { name: 'invalid UTF-8', body: Buffer.concat([Buffer.from(file(H, good(9001)) + good(9002).replace('Ten off', 'Ten ')), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]), outcome: { rejects: 1 } },
  { name: 'NUL byte', body: file(H, good(9001), good(9002, { title: 'a\u0000b' })), outcome: { rejects: 1 } },
  { name: 'a 2 MB field', body: file(H, good(9001, { title: `"${'x'.repeat(2_000_000)}"` })), outcome: { rejects: 0 } },
  { name: 'duplicate ids (last wins)', body: file(H, good(9001), good(9001, { status: 'redeemed', date_time_redeemed: '2026-05-02T00:00:00Z' })), outcome: { rejects: 0 } },
  { name: 'a duplicated header row', body: file(H, good(9001), H, good(9002)), outcome: { rejects: 1 } },
  { name: 'two headers for one column', body: file(H + ',voucher_id', good(9001) + ',9001'), outcome: { error: 'csv_header_ambiguous' } },
  { name: 'no id column', body: file('status,amount', 'claimed,1.00'), outcome: { error: 'csv_header_missing_id' } },
  { name: 'an empty file (0 bytes)', body: '', outcome: { rejects: 0 } },
  { name: 'header only', body: file(H), outcome: { rejects: 0 } },
  { name: 'only blank lines after the header', body: file(H, '', '', ''), outcome: { rejects: 0 } },
  { name: 'id not a number', body: file(H, good(9001), good(9002, { id: 'x9002' })), outcome: { rejects: 1 } },
  { name: 'id out of bigint range', body: file(H, good(9001, { id: '99999999999999999999' })), outcome: { rejects: 1 } },
  { name: 'empty id', body: file(H, good(9001, { id: '' })), outcome: { rejects: 1 } },
  { name: 'user_id not a number', body: file(H, good(9001, { user_id: 'seven' })), outcome: { rejects: 1 } },
  { name: 'campaign_id not a number', body: file(H, good(9001, { campaign_id: '3.5' })), outcome: { rejects: 1 } },
  { name: 'currency_id out of integer range', body: file(H, good(9001, { currency_id: '3000000000' })), outcome: { rejects: 1 } },
  { name: 'locked not a boolean', body: file(H, good(9001, { locked: 'maybe' })), outcome: { rejects: 1 } },
  { name: 'amount with a comma', body: file(H, good(9001, { amount: '"10,00"' })), outcome: { rejects: 1 } },
  { name: 'amount_original in exponent form', body: file(H, good(9001, { amount_original: '1e3' })), outcome: { rejects: 1 } },
  { name: 'amount_redeemed is text', body: file(H, good(9001, { amount_redeemed: 'none' })), outcome: { rejects: 1 } },
  { name: 'creation date 30 February', body: file(H, good(9001, { date_time_creation: '2026-02-30T10:00:00Z' })), outcome: { rejects: 1 } },
  { name: 'redeemed at hour 25', body: file(H, good(9001, { status: 'redeemed', date_time_redeemed: '2026-05-02T25:00:00Z' })), outcome: { rejects: 1 } },
  { name: 'expiry in a local format', body: file(H, good(9001, { date_time_expiry: '01/08/2026' })), outcome: { rejects: 1 } },
  { name: 'expiry with an impossible offset', body: file(H, good(9001, { date_time_expiry: '2026-08-01T00:00:00+25:00' })), outcome: { rejects: 1 } },
  { name: 'year 0', body: file(H, good(9001, { date_time_creation: '0000-01-01T00:00:00Z' })), outcome: { rejects: 1 } },
  { name: 'empty status', body: file(H, good(9001, { status: '' })), outcome: { rejects: 1 } },
  { name: 'a row of another chain', body: file(H, good(9001, { chain_id: '1765' })), outcome: { rejects: 1 } },
  { name: 'several problems in one row', body: file(H, good(9001, { locked: 'x', amount: 'y', date_time_creation: 'z' })), outcome: { rejects: 1 } },
  { name: 'CR-only line endings', body: [H, good(9001), good(9002)].join('\r') + '\r', outcome: { rejects: 0 } },
  // Hostile but parseable: a quote that swallows records, ids a reject writes in another form, a
  // column name twice, a field over sync.maxRecordBytes (4 MiB).
  {
    name: 'a quote that swallows the records after it',
    body: file(H, good(9001), good(9002, { campaign_title: '"The Gold tier bonus' }), good(9003), good(9004), good(9005, { title: 'bonus"' }), good(9006)),
    outcome: { rejects: 1 },
  },
  { name: 'a rejected record whose id has leading zeros', body: file(H, good(9001), good(9002, { id: '0009002', amount: 'ten' })), outcome: { rejects: 1 } },
  { name: 'a rejected record whose id has a plus sign', body: file(H, good(9001), good(9002, { id: '+9002', locked: 'perhaps' })), outcome: { rejects: 1 } },
  { name: 'an unknown column name twice', body: file(H + ',note,note', good(9001) + ',gold,silver', good(9002) + ',,bronze'), outcome: { rejects: 0 } },
  { name: 'a 5 MB field, over the record bound', body: file(H, good(9001, { title: `"${'y'.repeat(5_000_000)}"` }), good(9002)), outcome: { rejects: 1 } },
];

describe('malformed CSVs', () => {
  it(`${CSVS.length} malformed files: rejects with lines and reasons, or a clear failure; earlier data untouched`, async (t) => {
    await withSchema(suite.warehouse(), t, async (schema) => {
      await loadCsv(suite.warehouse(), schema, renderCsv(newDataset(300)));
      const baseline = await fingerprint(suite.warehouse(), `(SELECT * FROM "${schema}".vouchers WHERE voucher_id < 9000) `);
      for (const c of CSVS) {
        tally.faults.add(`csv: ${c.name}`);
        tally.phases.add('COPY');
        tally.runs += 1;
        const outcome = await loadCsv(suite.warehouse(), schema, c.body, { exportedAt: new Date('2026-06-01T00:00:00Z') }).then(
          (result) => ({ result }),
          (error: unknown) => ({ error }),
        );
        if ('error' in c.outcome) {
          assert.ok('error' in outcome && outcome.error instanceof WindowLoadError, `${c.name}: expected a failed window`);
          assert.equal(outcome.error.code, c.outcome.error, c.name);
          assert.ok(outcome.error.message.length > 40, `${c.name}: the error explains itself`);
        } else {
          assert.ok('result' in outcome, `${c.name}: ${'error' in outcome ? String(outcome.error) : ''}`);
          assert.equal(outcome.result.rejected, c.outcome.rejects, c.name);
          if (c.outcome.rejects > 0) {
            const { rows } = await suite.warehouse().pool.query(`SELECT line, reason FROM "${schema}".voucher_rejects WHERE sync_run_id = $1`, [outcome.result.syncRunId]);
            assert.ok(rows.every((r) => Number(r.line) >= 2 && r.reason.length > 10), `${c.name}: rejects carry their line and a reason`);
          }
        }
        assert.equal(await fingerprint(suite.warehouse(), `(SELECT * FROM "${schema}".vouchers WHERE voucher_id < 9000) `), baseline, `${c.name}: earlier data changed`);
      }
      const dup = await suite.warehouse().pool.query(`SELECT status FROM "${schema}".vouchers WHERE voucher_id = 9001`);
      assert.equal(dup.rows[0].status, 'claimed', 'the last file that carried 9001 wins');
    });
  });
});

const API_ANSWERS: { name: string; at: 'create_task' | 'get_task' | 'download_url'; status?: number; contentType?: string; body: string }[] = [
  { name: 'HTML error page with 200', at: 'get_task', contentType: 'text/html', body: '<html><body><h1>Bad gateway</h1></body></html>' },
  { name: 'HTML error page with 502', at: 'get_task', status: 502, contentType: 'text/html', body: '<html><body>502</body></html>' },
  { name: 'non-JSON text', at: 'get_task', contentType: 'text/plain', body: 'OK' },
  { name: 'truncated JSON', at: 'get_task', body: '{"id": 1, "state": {"code": "DO' },
  { name: 'a JSON array instead of a task', at: 'get_task', body: '[]' },
  { name: 'a task without id', at: 'create_task', body: '{"chain":1764,"desc":"x","state":{"code":"READY","last_modified":"2026-05-26T12:00:00Z","created_date":"2026-05-26T12:00:00Z"}}' },
  { name: 'an unknown state code', at: 'get_task', body: '{"id":1,"chain":1764,"desc":"x","state":{"code":"PAUSED","last_modified":"2026-05-26T12:00:00Z","created_date":"2026-05-26T12:00:00Z"},"trigger":{},"target":{}}' },
  { name: 'a state without dates', at: 'get_task', body: '{"id":1,"chain":1764,"desc":"x","state":{"code":"DONE"},"trigger":{},"target":{}}' },
  { name: 'a download_url that is not a URL', at: 'download_url', body: '{"url":"not a url"}' },
  { name: 'a download_url without url', at: 'download_url', body: '{"link":"http://x"}' },
  { name: 'a download_url of another scheme', at: 'download_url', body: '{"url":"ftp://127.0.0.1/file.csv"}' },
  { name: 'an empty body', at: 'create_task', body: '' },
];

describe('malformed Services API answers', () => {
  it(`${API_ANSWERS.length} malformed answers: a clear failure (or a retry), nothing lost, the next run converges`, async (t) => {
    await withSchema(suite.warehouse(), t, async (schema) => {
      const h = await startHarness(suite.warehouse(), schema, { chains: 1, vouchersPerChain: 300 }, { SPAAZA_BACKFILL_START_DATE: '', SPAAZA_DOWNLOAD_ATTEMPTS: '1', SPAAZA_HTTP_RETRIES: '1' });
      try {
        assert.equal((await h.sync({ mode: 'incremental' })).exitCode, 0);
        for (const answer of API_ANSWERS) {
          tally.faults.add(`api: ${answer.name}`);
          tally.phases.add(answer.at === 'create_task' ? 'create' : answer.at === 'get_task' ? 'poll' : 'download');
          h.sim.vouchers.create(1764);
          h.sim.advance(900);
          const before = await fingerprint(suite.warehouse(), `"${schema}".vouchers`);
          h.sim.setFaults([{ at: answer.at, action: { kind: 'body', body: answer.body, ...(answer.status ? { status: answer.status } : {}), ...(answer.contentType ? { contentType: answer.contentType } : {}) } }]);
          const faulty = await h.sync({ mode: 'incremental' });
          tally.runs += 1;
          assert.equal(faulty.exitCode, 1, `${answer.name}: the run must fail`);
          const error = faulty.outcomes[0]!.error!;
          assert.ok(/GET|POST|download|task|response|JSON|URL/i.test(error.message) && error.message.length > 30, `${answer.name}: unclear error: ${error.message}`);
          assert.equal(await fingerprint(suite.warehouse(), `"${schema}".vouchers`), before, `${answer.name}: data changed`);
          h.sim.setFaults([]);
          h.sim.advance(60);
          const clean = await h.sync({ mode: 'incremental' }, { SPAAZA_RESUME_MAX_AGE: '1s' });
          tally.runs += 1;
          assert.equal(clean.exitCode, 0, `${answer.name}: the next run failed: ${JSON.stringify(clean.outcomes[0]!.error)}`);
          await assertMatchesSource(suite.warehouse(), schema, h.sim, tally, answer.name);
        }
      } finally {
        await h.close();
      }
    });
  });
});

const YEAR = 365 * 86_400;
const hostNow = () => Math.floor(Date.now() / 1000) * 1000;
const everyPoint = (action: FaultRule['action']): FaultRule[] => API_POINTS.map((at) => ({ at, action }));
const TIME_ANSWERS: { name: string; faults: () => FaultRule[]; ok?: true }[] = [
  { name: 'a Date header a year in the future', faults: () => everyPoint({ kind: 'date', seconds: YEAR }) },
  { name: 'a Date header a year in the past', faults: () => everyPoint({ kind: 'date', seconds: -YEAR }) },
  { name: 'a Date header that is not a date (ignored: this host\'s clock stands in)', faults: () => everyPoint({ kind: 'date', header: 'yesterday, roughly' }), ok: true },
  { name: 'a task created in 2036', faults: () => (['create_task', 'get_task'] as const).map((at) => ({ at, action: { kind: 'task_times', createdSeconds: Math.floor((Date.UTC(2036, 0, 1) - hostNow()) / 1000), lastRunSeconds: Math.floor((Date.UTC(2036, 0, 1) - hostNow()) / 1000) } })) },
  { name: 'a task that ran in 2099', faults: () => [{ at: 'get_task', action: { kind: 'task_times', lastRunSeconds: Math.floor((Date.UTC(2099, 0, 1) - hostNow()) / 1000) } }] },
  { name: 'a task created a year ago', faults: () => [{ at: 'get_task', action: { kind: 'task_times', createdSeconds: -YEAR, lastRunSeconds: -YEAR } }] },
  { name: 'an empty last_run_date (accepted: the creation time stands in)', faults: () => [{ at: 'get_task', action: { kind: 'task_times', lastRunDate: '' } }], ok: true },
  { name: 'a 300 MB task answer', faults: () => [{ at: 'get_task', action: { kind: 'huge_body', bytes: 300_000_000 } }] },
];

describe('hostile Services API answers about time and size (on this host\'s clock, with the default bound)', () => {
  it(`${TIME_ANSWERS.length} answers: a clear failure that moves nothing (or, where documented, a clean run), in flat memory`, async (t) => {
    await withSchema(suite.warehouse(), t, async (schema) => {
      const h = await startHarness(suite.warehouse(), schema, { chains: 1, vouchersPerChain: 300, startMs: hostNow() }, { SPAAZA_BACKFILL_START_DATE: '', SPAAZA_MAX_CLOCK_SKEW: '15m', SPAAZA_SETTLE: '30s', SPAAZA_HTTP_RETRIES: '1' });
      try {
        assert.equal((await h.sync({ mode: 'incremental' })).exitCode, 0);
        for (const answer of TIME_ANSWERS) {
          tally.faults.add(`api: ${answer.name}`);
          tally.phases.add('time');
          h.sim.vouchers.create(1764);
          h.sim.advance(45);
          const before = [await fingerprint(suite.warehouse(), `"${schema}".vouchers`), await fingerprint(suite.warehouse(), `"${schema}".sync_state`)];
          h.sim.setFaults(answer.faults());
          const rss = process.memoryUsage().rss;
          const faulty = await h.sync({ mode: 'incremental' });
          tally.runs += 1;
          assert.ok(process.memoryUsage().rss - rss < 64 * 1024 * 1024, `${answer.name}: memory grew by ${((process.memoryUsage().rss - rss) / 1048576).toFixed(0)} MB`);
          if (answer.ok) {
            assert.equal(faulty.exitCode, 0, `${answer.name}: ${JSON.stringify(faulty.outcomes[0]!.error)}`);
          } else {
            assert.equal(faulty.exitCode, 1, `${answer.name}: the run must fail`);
            const error = faulty.outcomes[0]!.error!;
            assert.ok(['implausible_time', 'response_too_large'].includes(error.code), `${answer.name}: ${error.code}`);
            assert.ok(error.message.length > 60, `${answer.name}: unclear error: ${error.message}`);
            assert.deepEqual([await fingerprint(suite.warehouse(), `"${schema}".vouchers`), await fingerprint(suite.warehouse(), `"${schema}".sync_state`)], before, `${answer.name}: something moved`);
          }
          h.sim.setFaults([]);
          h.sim.advance(45);
          const clean = await h.sync({ mode: 'incremental' }, { SPAAZA_RESUME_MAX_AGE: '1s' });
          tally.runs += 1;
          assert.equal(clean.exitCode, 0, `${answer.name}: the next run failed: ${JSON.stringify(clean.outcomes[0]!.error)}`);
          const { rows } = await suite.warehouse().pool.query(`SELECT max(source_exported_at) AS v, (SELECT max(watermark) FROM "${schema}".sync_state) AS w FROM "${schema}".vouchers`);
          assert.ok(rows[0].v <= new Date(h.sim.now().getTime() + 2000) && rows[0].w <= h.sim.now(), `${answer.name}: dated after Spaaza's clock`);
        }
      } finally {
        await h.close();
      }
    });
  });
});

describe('a 50 MB and a 150 MB field in an export', () => {
  it("are cut into a reject at sync.maxRecordBytes: the sync's peak memory does not grow with the field", async (t) => {
    await withSchema(suite.warehouse(), t, async (schema) => {
      const h = await startHarness(suite.warehouse(), schema, { chains: 1, vouchersPerChain: 300 }, { SPAAZA_BACKFILL_START_DATE: '' });
      const dir = await mkdtemp(path.join(tmpdir(), 'spaaza-rss-'));
      // The measured process records its own peak resident set size when it exits.
      const peak = async (name: string) => {
        const file = path.join(dir, name);
        const run = await h.cli(['full-refresh'], { NODE_OPTIONS: `--import ${path.resolve('bench/peak-rss.mjs')}`, BENCH_RSS_FILE: file });
        assert.equal(run.code, name === 'small' ? 0 : 1, run.stderr.slice(-500));
        return (JSON.parse(await readFile(file, 'utf8')) as { peakRssBytes: number }).peakRssBytes;
      };
      try {
        const small = await peak('small');
        const huge: number[] = [];
        // A full refresh with a cut record cannot reconcile: exit 1, upserts kept.
        for (const bytes of [50_000_000, 150_000_000]) {
          h.sim.setDialect({ malformedRows: [{ row: 10, kind: 'huge_field', bytes }] });
          h.sim.advance(7200);
          huge.push(await peak(`huge ${bytes}`));
          tally.faults.add(`csv: a ${bytes / 1e6} MB field`);
        }
        tally.runs += 3;
        const mb = (n: number) => `${(n / 1048576).toFixed(0)} MB`;
        console.log(`peak RSS of a full refresh: ${mb(small)}; with a 50 MB field: ${mb(huge[0]!)}; with a 150 MB field: ${mb(huge[1]!)}`);
        // Without the bound the 50 MB field alone took some 450 MB more; a record of 4 MiB costs a few copies of it.
        assert.ok(huge[0]! - small < 128 * 1024 * 1024, `the 50 MB field took the sync from ${mb(small)} to ${mb(huge[0]!)}`);
        assert.ok(huge[1]! - huge[0]! < 32 * 1024 * 1024, `memory grew with the field: ${mb(huge[0]!)} for 50 MB, ${mb(huge[1]!)} for 150 MB`);
        const { rows } = await suite.warehouse().pool.query(`SELECT reason, length(raw_record) AS n FROM "${schema}".voucher_rejects`);
        assert.equal(rows.length, 2);
        for (const row of rows) {
          assert.match(row.reason, /longer than sync\.maxRecordBytes/);
          assert.ok(row.n <= 4 * 1024 * 1024 + 100);
        }
      } finally {
        await h.close();
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
