/**
 * The operators' files under ops/: the Grafana dashboard and the Prometheus alerting rules name
 * only series (and labels) the daemon exports, and cover what operators watch. The exported
 * series are read from the daemon's own /metrics text, with one event of every kind recorded.
 * With promtool on the PATH (Debian's `prometheus` package), the rules are checked by it too.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { createMetrics } from '../../src/schedule/metrics.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const RULES = path.join(ROOT, 'ops/prometheus/spaaza-sync-rules.yml');
const DASHBOARD = path.join(ROOT, 'ops/grafana/spaaza-sync.json');

/** Series Prometheus itself makes for every scrape target, with their labels. */
const PROMETHEUS_OWN: ReadonlyMap<string, ReadonlySet<string>> = new Map([['up', new Set(['job', 'instance'])]]);

/** Every series name in the daemon's /metrics text, with the labels it carries. */
async function exportedSeries(): Promise<Map<string, Set<string>>> {
  const metrics = createMetrics({ freshness: async () => [{ chainId: 1764, lagSeconds: 60, aheadOfClock: { watermark: false, rows: 0 } }] });
  metrics.runFinished({ chainId: 1764, mode: 'incremental', status: 'failed' });
  metrics.windowCommitted({ chainId: 1764, mode: 'incremental', seconds: 2, exportWaitSeconds: 1, rowsRead: 3, inserted: 1, updated: 1, unchanged: 1, rejected: 1, deleted: 1 });
  metrics.httpRetry({ endpoint: 'POST /tasks', status: 429 });
  metrics.lastSuccess(1764, new Date());
  const text = await metrics.registry.metrics();
  const series = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? /.exec(line);
    if (!sample) continue;
    const labels = series.get(sample[1]!) ?? new Set<string>();
    for (const pair of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels.add(pair[1]!);
    series.set(sample[1]!, labels);
  }
  return series;
}

interface Query {
  readonly where: string;
  readonly expr: string;
}

function rulesQueries(): { queries: Query[]; rules: Record<string, unknown>[] } {
  const file = parseYaml(readFileSync(RULES, 'utf8')) as { groups: { name: string; rules: Record<string, unknown>[] }[] };
  const rules = file.groups.flatMap((g) => g.rules);
  return { rules, queries: rules.map((r) => ({ where: `rule ${String(r.alert)}`, expr: String(r.expr) })) };
}

function dashboardQueries(): Query[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: { title: string; targets: { expr: string }[] }[];
    templating: { list: { name: string; query?: unknown }[] };
  };
  const panels = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ where: `panel "${p.title}"`, expr: t.expr })));
  const variables = dashboard.templating.list
    .filter((v) => typeof v.query === 'object' && v.query !== null)
    .map((v) => ({ where: `variable $${v.name}`, expr: (v.query as { query: string }).query }));
  return [...panels, ...variables];
}

const PROMQL_WORDS = new Set(['sum', 'min', 'max', 'avg', 'count', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/** The series a PromQL expression names, each with the labels it matches on or groups by. */
function seriesNamed(expr: string): { name: string; labels: string[] }[] {
  const bare = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\[[^\]]*\]/g, '');
  const found: { name: string; labels: string[] }[] = [];
  for (const m of bare.matchAll(/(?<![a-zA-Z0-9_:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![a-zA-Z0-9_:])\s*(\{[^}]*\})?/g)) {
    const name = m[1]!;
    if (m[2] === undefined && /^\s*\(/.test(bare.slice(m.index + m[0].length))) continue; // a function
    if (PROMQL_WORDS.has(name.toLowerCase()) || /^\d/.test(name) || name.startsWith('$')) continue;
    const before = bare.slice(0, m.index);
    if (/\b(?:by|without|on|ignoring)\s*\([^)]*$/.test(before)) continue; // a grouping label, not a series
    if (/label_values\(\s*[a-zA-Z0-9_:]+\s*,\s*$/.test(before)) continue; // label_values(series, LABEL)
    const labels = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1]!);
    found.push({ name, labels });
  }
  return found;
}

/** The labels a PromQL expression groups by (`by (a, b)`), which every series under it must have. */
function groupingLabels(expr: string): string[] {
  return [...expr.matchAll(/\bby\s*\(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((l) => l.trim()).filter(Boolean));
}

describe('ops/: the dashboard and the alert rules', () => {
  it('name only series and labels the daemon exports', async () => {
    const exported = await exportedSeries();
    assert.ok(exported.has('spaaza_sync_window_duration_seconds_bucket'), 'the /metrics text was read');
    const known = (name: string) => exported.get(name) ?? PROMETHEUS_OWN.get(name);
    const problems: string[] = [];
    for (const { where, expr } of [...rulesQueries().queries, ...dashboardQueries()]) {
      const named = seriesNamed(expr);
      if (named.length === 0) problems.push(`${where}: names no series (${expr})`);
      for (const { name, labels } of named) {
        const has = known(name);
        if (!has) {
          problems.push(`${where}: ${name} is not a series the daemon exports`);
          continue;
        }
        for (const label of [...labels, ...groupingLabels(expr).filter((l) => l !== 'le' || name.endsWith('_bucket'))]) {
          if (!has.has(label)) problems.push(`${where}: ${name} has no label "${label}"`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it("find a series the daemon does not export (the check can fail)", () => {
    assert.deepEqual(seriesNamed('sum by (chain) (increase(spaaza_sync_runs_totl{outcome="failed"}[1h])) > 2'), [{ name: 'spaaza_sync_runs_totl', labels: ['outcome'] }]);
    assert.deepEqual(seriesNamed('time() - max by (chain) (spaaza_sync_last_success_timestamp_seconds)').map((s) => s.name), ['spaaza_sync_last_success_timestamp_seconds']);
  });

  it('the dashboard shows runs by outcome, rows by kind, freshness per chain, failures and window durations', () => {
    const exprs = dashboardQueries().map((q) => q.expr);
    const shows = (what: string, test: RegExp) => assert.ok(exprs.some((e) => test.test(e)), `the dashboard shows ${what}`);
    shows('runs by outcome', /by \(outcome\).*spaaza_sync_runs_total/);
    shows('rows by kind', /by \(kind\).*spaaza_sync_rows_total/);
    shows('the freshness lag per chain', /spaaza_sync_freshness_lag_seconds/);
    shows('failures', /spaaza_sync_runs_total\{outcome="failed"/);
    shows('window durations', /histogram_quantile\(.*spaaza_sync_window_duration_seconds_bucket/);
  });

  it('every alert says how bad it is and what to do', () => {
    const { rules } = rulesQueries();
    assert.ok(rules.length >= 6, 'the rules of docs/operations.md are there');
    for (const rule of rules) {
      const { alert, labels, annotations } = rule as { alert?: string; labels?: { severity?: string }; annotations?: { summary?: string; description?: string } };
      assert.match(alert ?? '', /^SpaazaSync[A-Z]\w+$/, 'alerts are named SpaazaSync…');
      assert.ok(['page', 'ticket'].includes(labels?.severity ?? ''), `${alert}: severity page or ticket`);
      assert.ok((annotations?.summary ?? '').length > 10 && (annotations?.description ?? '').length > 30, `${alert}: a summary and a description that says what to do`);
    }
  });

  const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  it('the rules pass promtool check rules', { skip: promtool.status === 0 ? false : 'promtool is not on the PATH (apt-get install prometheus)' }, () => {
    const checked = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    assert.equal(checked.status, 0, `${checked.stdout}${checked.stderr}`);
  });
});
