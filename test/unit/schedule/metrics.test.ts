import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { register as globalRegister } from 'prom-client';
import type { RetryInfo } from '../../../src/extract/tasks-client.js';
import { createMetrics, DURATION_BUCKETS, type FreshnessSample } from '../../../src/schedule/metrics.js';

const noFreshness = async (): Promise<FreshnessSample[]> => [];

const window = {
  chainId: 1743,
  mode: 'incremental',
  seconds: 12.5,
  exportWaitSeconds: 4,
  rowsRead: 100,
  inserted: 60,
  updated: 30,
  unchanged: 7,
  rejected: 3,
  deleted: 0,
};

describe('createMetrics', () => {
  it('uses its own registry, with the default process metrics and no global ones', async () => {
    const metrics = createMetrics({ freshness: noFreshness });
    assert.notEqual(metrics.registry, globalRegister);
    const text = await metrics.registry.metrics();
    assert.ok(sampleValue(text, 'process_cpu_user_seconds_total') !== undefined);
    assert.ok(sampleValue(text, 'nodejs_heap_size_total_bytes') !== undefined);
    assert.equal(globalRegister.getSingleMetric('spaaza_sync_runs_total'), undefined);
    // Two instances do not clash over metric names.
    createMetrics({ freshness: noFreshness });
  });

  it('gives every sync metric a help text and the right type', async () => {
    const metrics = createMetrics({ freshness: async () => [{ chainId: 1, lagSeconds: 5 }] });
    metrics.runFinished({ chainId: 1, mode: 'incremental', status: 'ok' });
    metrics.windowCommitted({ ...window, chainId: 1 });
    metrics.httpRetry({ endpoint: 'GET /tasks/{id}', status: 503 });
    metrics.lastSuccess(1, new Date());
    const text = await metrics.registry.metrics();
    const expected: Record<string, string> = {
      spaaza_sync_runs_total: 'counter',
      spaaza_sync_rows_total: 'counter',
      spaaza_sync_rejects_total: 'counter',
      spaaza_sync_window_duration_seconds: 'histogram',
      spaaza_sync_export_wait_seconds: 'histogram',
      spaaza_sync_http_retries_total: 'counter',
      spaaza_sync_last_success_timestamp_seconds: 'gauge',
      spaaza_sync_freshness_lag_seconds: 'gauge',
    };
    for (const [name, type] of Object.entries(expected)) {
      const f = family(text, name);
      assert.equal(f.type, type, name);
      assert.ok(f.help && f.help.length > 30, `${name} has a real help text`);
    }
  });

  it('counts runs by chain, mode and outcome', async () => {
    const metrics = createMetrics({ freshness: noFreshness });
    metrics.runFinished({ chainId: 1743, mode: 'incremental', status: 'ok' });
    metrics.runFinished({ chainId: 1743, mode: 'incremental', status: 'ok' });
    metrics.runFinished({ chainId: 1743, mode: 'full-refresh', status: 'failed' });
    metrics.runFinished({ chainId: 88, mode: 'incremental', status: 'locked' });
    const text = await metrics.registry.metrics();
    assert.equal(sampleValue(text, 'spaaza_sync_runs_total', { chain: '1743', mode: 'incremental', outcome: 'ok' }), 2);
    assert.equal(sampleValue(text, 'spaaza_sync_runs_total', { chain: '1743', mode: 'full-refresh', outcome: 'failed' }), 1);
    assert.equal(sampleValue(text, 'spaaza_sync_runs_total', { chain: '88', mode: 'incremental', outcome: 'locked' }), 1);
    assert.equal(sampleValue(text, 'spaaza_sync_runs_total', { chain: '88', mode: 'incremental', outcome: 'ok' }), undefined);
  });

  it('adds up the rows of committed windows by kind, and the rejects', async () => {
    const metrics = createMetrics({ freshness: noFreshness });
    metrics.windowCommitted(window);
    metrics.windowCommitted({ ...window, mode: 'full-refresh', rowsRead: 10, inserted: 1, updated: 2, unchanged: 3, rejected: 4, deleted: 5 });
    const text = await metrics.registry.metrics();
    const rows = (kind: string) => sampleValue(text, 'spaaza_sync_rows_total', { chain: '1743', kind });
    assert.deepEqual(
      { read: rows('read'), inserted: rows('inserted'), updated: rows('updated'), unchanged: rows('unchanged'), rejected: rows('rejected'), deleted: rows('deleted') },
      { read: 110, inserted: 61, updated: 32, unchanged: 10, rejected: 7, deleted: 5 },
    );
    assert.equal(sampleValue(text, 'spaaza_sync_rejects_total', { chain: '1743' }), 7);
  });

  it('observes window duration and export wait per mode, in buckets from 0.1 s to 1 h', async () => {
    const metrics = createMetrics({ freshness: noFreshness });
    metrics.windowCommitted({ ...window, seconds: 12.5, exportWaitSeconds: 4 });
    metrics.windowCommitted({ ...window, seconds: 0.05, exportWaitSeconds: 0.2 });
    metrics.windowCommitted({ ...window, mode: 'full-refresh', seconds: 5000, exportWaitSeconds: 1500 });
    const text = await metrics.registry.metrics();

    const buckets = parseExposition(text)
      .filter((s) => s.name === 'spaaza_sync_window_duration_seconds_bucket' && s.labels.mode === 'incremental')
      .map((s) => s.labels.le);
    assert.deepEqual(buckets, [...DURATION_BUCKETS.map(String), '+Inf']);
    assert.equal(DURATION_BUCKETS[0], 0.1);
    assert.equal(DURATION_BUCKETS.at(-1), 3600);

    const d = (suffix: string, labels: Record<string, string>) => sampleValue(text, `spaaza_sync_window_duration_seconds${suffix}`, labels);
    assert.equal(d('_count', { mode: 'incremental' }), 2);
    assert.equal(d('_sum', { mode: 'incremental' }), 12.55);
    assert.equal(d('_bucket', { mode: 'incremental', le: '0.1' }), 1);
    assert.equal(d('_bucket', { mode: 'incremental', le: '10' }), 1);
    assert.equal(d('_bucket', { mode: 'incremental', le: '30' }), 2);
    assert.equal(d('_bucket', { mode: 'full-refresh', le: '3600' }), 0);
    assert.equal(d('_bucket', { mode: 'full-refresh', le: '+Inf' }), 1);

    const w = (suffix: string, labels: Record<string, string>) => sampleValue(text, `spaaza_sync_export_wait_seconds${suffix}`, labels);
    assert.equal(w('_count', { mode: 'incremental' }), 2);
    assert.equal(w('_sum', { mode: 'incremental' }), 4.2);
    assert.equal(w('_bucket', { mode: 'incremental', le: '0.25' }), 1);
    assert.equal(w('_bucket', { mode: 'full-refresh', le: '1800' }), 1);
    assert.equal(w('_bucket', { mode: 'full-refresh', le: '1200' }), 0);
  });

  it('drops values that are negative or not finite instead of throwing', async () => {
    const metrics = createMetrics({ freshness: noFreshness });
    metrics.windowCommitted({ ...window, rowsRead: Number.NaN, inserted: -1, seconds: Infinity, exportWaitSeconds: -2 });
    metrics.lastSuccess(1, new Date(Number.NaN));
    const text = await metrics.registry.metrics();
    assert.equal(sampleValue(text, 'spaaza_sync_rows_total', { kind: 'read' }), undefined);
    assert.equal(sampleValue(text, 'spaaza_sync_rows_total', { kind: 'inserted' }), undefined);
    assert.equal(sampleValue(text, 'spaaza_sync_rows_total', { kind: 'updated' }), 30);
    assert.equal(sampleValue(text, 'spaaza_sync_window_duration_seconds_count', { mode: 'incremental' }), undefined);
    assert.equal(sampleValue(text, 'spaaza_sync_last_success_timestamp_seconds', { chain: '1' }), undefined);
  });

  it('counts HTTP retries by endpoint and status, or the error code for network errors', async () => {
    const metrics = createMetrics({ freshness: noFreshness });
    metrics.httpRetry({ endpoint: 'GET /tasks/{id}', status: 503 });
    metrics.httpRetry({ endpoint: 'GET /tasks/{id}', status: 503 });
    metrics.httpRetry({ endpoint: 'POST /tasks', status: 429 });
    metrics.httpRetry({ endpoint: 'POST /tasks', code: 'ECONNRESET' });
    metrics.httpRetry({ endpoint: 'POST /tasks' });
    const text = await metrics.registry.metrics();
    const r = (endpoint: string, status: string) => sampleValue(text, 'spaaza_sync_http_retries_total', { endpoint, status });
    assert.equal(r('GET /tasks/{id}', '503'), 2);
    assert.equal(r('POST /tasks', '429'), 1);
    assert.equal(r('POST /tasks', 'ECONNRESET'), 1);
    assert.equal(r('POST /tasks', 'error'), 1);
  });

  it('accepts TasksClient RetryInfo as it is', () => {
    const metrics = createMetrics({ freshness: noFreshness });
    const onRetry: (info: RetryInfo) => void = (info) => metrics.httpRetry(info);
    onRetry({ endpoint: 'GET /tasks', status: 502, attempt: 1, delayMs: 100 });
  });

  it('sets the last success time in Unix seconds per chain', async () => {
    const metrics = createMetrics({ freshness: noFreshness });
    metrics.lastSuccess(1743, new Date('2026-05-26T12:00:00.500Z'));
    metrics.lastSuccess(88, new Date('2026-05-26T11:00:00Z'));
    metrics.lastSuccess(1743, new Date('2026-05-26T13:00:00Z'));
    const text = await metrics.registry.metrics();
    assert.equal(sampleValue(text, 'spaaza_sync_last_success_timestamp_seconds', { chain: '1743' }), Date.parse('2026-05-26T13:00:00Z') / 1000);
    assert.equal(sampleValue(text, 'spaaza_sync_last_success_timestamp_seconds', { chain: '88' }), Date.parse('2026-05-26T11:00:00Z') / 1000);
  });
});

describe('the freshness gauge', () => {
  it('asks freshness() at each scrape and shows its latest answer', async () => {
    let calls = 0;
    let answer: FreshnessSample[] = [
      { chainId: 1743, lagSeconds: 42 },
      { chainId: 88, lagSeconds: 7.5 },
    ];
    const metrics = createMetrics({
      freshness: async () => {
        calls++;
        return answer;
      },
    });
    assert.equal(calls, 0, 'not asked before a scrape');
    let text = await metrics.registry.metrics();
    assert.equal(calls, 1);
    assert.equal(sampleValue(text, 'spaaza_sync_freshness_lag_seconds', { chain: '1743' }), 42);
    assert.equal(sampleValue(text, 'spaaza_sync_freshness_lag_seconds', { chain: '88' }), 7.5);

    answer = [
      { chainId: 1743, lagSeconds: 3 },
      { chainId: 88, lagSeconds: null },
    ];
    text = await metrics.registry.metrics();
    assert.equal(calls, 2);
    assert.equal(sampleValue(text, 'spaaza_sync_freshness_lag_seconds', { chain: '1743' }), 3);
    assert.equal(sampleValue(text, 'spaaza_sync_freshness_lag_seconds', { chain: '88' }), undefined, 'an unknown lag has no sample');
  });

  it('never shows a watermark ahead of the clock as fresh: its lag is +Inf, and the ahead-of-clock gauge counts what is ahead', async () => {
    let calls = 0;
    const metrics = createMetrics({
      freshness: async () => {
        calls++;
        return [
          { chainId: 1764, lagSeconds: Number.POSITIVE_INFINITY, aheadOfClock: { watermark: true, rows: 12 } },
          { chainId: 1765, lagSeconds: 60, aheadOfClock: { watermark: false, rows: 0 } },
        ];
      },
    });
    const text = await metrics.registry.metrics();
    assert.equal(calls, 1, 'one read of the warehouse feeds both gauges');
    assert.match(text, /^spaaza_sync_freshness_lag_seconds\{chain="1764"\} \+Inf$/m);
    assert.equal(sampleValue(text, 'spaaza_sync_ahead_of_clock', { chain: '1764', what: 'watermark' }), 1);
    assert.equal(sampleValue(text, 'spaaza_sync_ahead_of_clock', { chain: '1764', what: 'rows' }), 12);
    assert.equal(sampleValue(text, 'spaaza_sync_ahead_of_clock', { chain: '1765', what: 'rows' }), 0);
    assert.equal(family(text, 'spaaza_sync_ahead_of_clock').type, 'gauge');
  });

  it('keeps the last values and the rest of the scrape when freshness() fails', async () => {
    let fail: 'no' | 'reject' | 'throw' = 'no';
    const metrics = createMetrics({
      freshness: (() => {
        if (fail === 'throw') throw new Error('synchronous boom');
        return fail === 'reject' ? Promise.reject(new Error('warehouse down')) : Promise.resolve([{ chainId: 1, lagSeconds: 10 }]);
      }) as () => Promise<FreshnessSample[]>,
    });
    metrics.runFinished({ chainId: 1, mode: 'incremental', status: 'ok' });
    await metrics.registry.metrics();
    for (const mode of ['reject', 'throw'] as const) {
      fail = mode;
      const text = await metrics.registry.metrics();
      assert.equal(sampleValue(text, 'spaaza_sync_freshness_lag_seconds', { chain: '1' }), 10, mode);
      assert.equal(sampleValue(text, 'spaaza_sync_runs_total', { chain: '1' }), 1, mode);
    }
  });

  it('does not let a slow freshness() hold the scrape past its timeout', async () => {
    const metrics = createMetrics({ freshness: () => new Promise(() => {}), freshnessTimeoutMs: 50 });
    const started = Date.now();
    const text = await metrics.registry.metrics();
    assert.ok(Date.now() - started < 1_000);
    assert.equal(family(text, 'spaaza_sync_freshness_lag_seconds').type, 'gauge');
    assert.equal(sampleValue(text, 'spaaza_sync_freshness_lag_seconds', { chain: '1' }), undefined);
  });
});

// Reads Prometheus exposition text into samples, label order aside.
interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const m of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]!] = m[2]!;
    const raw = match[3]!;
    samples.push({ name: match[1]!, labels, value: raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw) });
  }
  return samples;
}

/** The value of the one sample named `name` whose labels include `labels`; undefined when none. */
function sampleValue(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  const found = parseExposition(text).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** The `# HELP` and `# TYPE` of a metric family. */
function family(text: string, name: string): { help: string | undefined; type: string | undefined } {
  const line = (kind: string) => text.split('\n').find((l) => l.startsWith(`# ${kind} ${name} `))?.slice(`# ${kind} ${name} `.length);
  return { help: line('HELP'), type: line('TYPE') };
}
