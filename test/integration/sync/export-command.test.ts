// `spaaza-sync export` as a user runs it, against the simulator over real HTTP: the source
// document's three filtered exports return exactly the vouchers the ground truth says, under
// both readings of relative_less_than the simulator can be switched between; the output forms
// (a file, JSON lines, standard output, --load into the warehouse), --dry-run, bad rules, faults
// on the way, and no secret in any output.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Voucher } from '../../../src/simulator/voucher.js';
import type { Warehouse } from '../../../src/warehouse/warehouse.js';
import { allTasks, parseCsv } from '../../support/simulator-client.js';
import { startHarness, type CliResult, type Harness } from '../../support/sync-harness.js';
import { connectionStringOf, openTestWarehouse, withSchema } from '../../support/warehouse.js';

const DAY = 86_400;
let warehouse: Warehouse;
let dir: string;
before(async () => {
  warehouse = await openTestWarehouse();
  dir = mkdtempSync(path.join(tmpdir(), 'spaaza-export-'));
});
after(async () => {
  await warehouse?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The document's three exports, each with what it means on Spaaza's clock (epoch seconds). */
const FILTERS: { name: string; args: string[]; means: (v: Voucher, now: number) => boolean }[] = [
  { name: 'redeemed in the last 24 hours', args: ['--redeemed-within', '24h'], means: (v, now) => v.redeemedAt !== null && now - DAY <= v.redeemedAt && v.redeemedAt <= now },
  {
    name: 'created in a date range',
    args: ['--created-between', '2026-05-01..2026-05-10'],
    means: (v) => Date.UTC(2026, 4, 1) / 1000 <= v.createdAt && v.createdAt <= Date.UTC(2026, 4, 10, 23, 59, 59) / 1000,
  },
  { name: 'expiring within 7 days', args: ['--expiring-within', '7d'], means: (v, now) => v.expiresAt !== null && now <= v.expiresAt && v.expiresAt <= now + 7 * DAY },
];

/** Vouchers at the edges of each filter: redeemed just now and a day and a bit ago, expiring soon, expired last week. */
function shapeData(h: Harness, chainId: number): void {
  const live = [...h.sim.groundTruth(chainId)].filter((v) => v.status !== 'redeemed').slice(0, 12);
  const now = h.sim.now().getTime();
  for (const [i, v] of live.entries()) {
    if (i < 3) h.sim.vouchers.redeem(v.id);
    else if (i < 6) h.sim.vouchers.setExpiry(v.id, new Date(now + (i - 2) * DAY * 1000));
    else if (i < 9) h.sim.vouchers.setExpiry(v.id, new Date(now - (i - 5) * DAY * 1000)); // expired last week: the trap
    else h.sim.vouchers.setExpiry(v.id, new Date(now + 7 * DAY * 1000)); // the last second of the window
  }
}

function truth(h: Harness, chainId: number, means: (v: Voucher, now: number) => boolean): number[] {
  const now = Math.floor(h.sim.now().getTime() / 1000);
  return [...h.sim.groundTruth(chainId)].filter((v) => means(v, now)).map((v) => v.id).sort((a, b) => a - b);
}

const idsOfCsv = (file: string) => parseCsv(readFileSync(file, 'utf8')).map((r) => Number(r.id)).sort((a, b) => a - b);

function assertNoSecrets(h: Harness, results: readonly CliResult[]): void {
  const password = new URL(connectionStringOf(warehouse)).password;
  const secrets = [...h.sim.tokens.map((t) => t.secret), ...(password ? [`:${password}@`] : [])];
  for (const { stdout, stderr } of results) {
    for (const text of [stdout, stderr]) {
      for (const secret of secrets) assert.ok(!text.includes(secret), `a secret leaked into: ${text.slice(0, 200)}`);
      assert.ok(!/X-Signature=|Signature=|Bearer [0-9a-f-]{36}:/.test(text), `a URL query or Authorization header leaked into: ${text.slice(0, 300)}`);
    }
  }
}

async function withHarness(t: { fullName: string; name: string }, work: (h: Harness, chainId: number, schema: string) => Promise<void>) {
  await withSchema(warehouse, t as never, async (schema) => {
    const h = await startHarness(warehouse, schema, { chains: 1, vouchersPerChain: 600, historyDays: 40 });
    try {
      const chainId = h.sim.chainIds[0]!;
      shapeData(h, chainId);
      await work(h, chainId, schema);
    } finally {
      await h.close();
    }
  });
}

describe('spaaza-sync export', () => {
  it("returns exactly the ground truth's vouchers for each of the document's filters, under both readings of relative_less_than", async (t) => {
    await withHarness(t, async (h, chainId) => {
      const results: CliResult[] = [];
      for (const reading of ['around-now', 'since'] as const) {
        h.sim.setRelativeReading(reading);
        for (const filter of FILTERS) {
          const out = path.join(dir, `${reading}-${filter.args[0]!.slice(2)}.csv`);
          const run = await h.cli(['export', ...filter.args, '--out', out, '--json']);
          results.push(run);
          assert.equal(run.code, 0, `${filter.name} (${reading}): ${run.stderr}`);
          const expected = truth(h, chainId, filter.means);
          assert.ok(expected.length >= 3, `${filter.name}: the data holds vouchers to find (${expected.length})`);
          assert.deepEqual(idsOfCsv(out), expected, `${filter.name} under the ${reading} reading`);
          const summary = JSON.parse(run.stdout) as { taskId: number; bytes: number; out: string };
          assert.equal(summary.out, out);
          assert.equal(summary.bytes, readFileSync(out).length, 'the bytes counted are the bytes written');
        }
      }
      // No flag at all: every voucher.
      const everything = path.join(dir, 'all.csv');
      results.push(await h.cli(['export', '--out', everything]));
      assert.deepEqual(idsOfCsv(everything), truth(h, chainId, () => true), 'no filter exports every live voucher');
      // The trap the flags avoid: the document's own relative_less_than, read as |field − now| < N,
      // returns the vouchers that expired last week.
      h.sim.setRelativeReading('around-now');
      const relative = path.join(dir, 'relative.csv');
      results.push(await h.cli(['export', '--rule', 'date_time_expiry:relative_less_than:7,day', '--out', relative]));
      const expiring = truth(h, chainId, FILTERS[2]!.means);
      assert.ok(idsOfCsv(relative).length > expiring.length, 'relative_less_than under |field − now| < N also returns expired vouchers');
      assertNoSecrets(h, results);
      assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.partial-')), [], 'no partial file is left behind');
    });
  });

  it('--dry-run prints the exact request, built from explicit bounds on Spaaza\'s clock, and creates no task', async (t) => {
    await withHarness(t, async (h) => {
      const before = (await allTasks(h.sim)).length;
      const run = await h.cli(['export', '--expiring-within', '7d', '--rule', 'status:is:claimed', '--dry-run']);
      assert.equal(run.code, 0, run.stderr);
      const shown = JSON.parse(run.stdout) as { spaazaNow: string; request: { trigger: { segment: { join: string; rules: Record<string, unknown>[] } } } };
      assert.equal(shown.spaazaNow, h.sim.now().toISOString().replace('.000Z', 'Z'), "bounds on Spaaza's clock, not this machine's");
      assert.deepEqual(shown.request.trigger.segment.rules, [
        { field_name: 'date_time_expiry', field_type: 'date', operator: 'is_between_date', start_date: '2026-05-26T12:00:00Z', end_date: '2026-06-02T12:00:00Z' },
        { field_name: 'status', field_type: 'keyword', operator: 'is', value: 'claimed' },
      ]);
      assert.equal(shown.request.trigger.segment.join, 'all');
      assert.equal((await allTasks(h.sim)).length, before, 'no export task was created');
    });
  });

  it('refuses bad filters before anything is sent, naming each bad part (exit 2)', async (t) => {
    await withHarness(t, async (h) => {
      const before = (await allTasks(h.sim)).length;
      const run = await h.cli(['export', '--rule', 'colour:is:red', '--rule', 'status:is_between_date:2026-01-01,2026-01-02', '--created-between', '2026-03-31..2026-03-01', '--out', path.join(dir, 'never.csv')]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /nothing was sent/);
      assert.match(run.stderr, /--created-between: 2026-03-31T00:00:00Z is after/);
      assert.match(run.stderr, /--rule "colour:is:red" \(rule 1\): unknown field "colour"/);
      assert.match(run.stderr, /--rule "status:is_between_date:[^"]*" \(rule 2\): operator "is_between_date" does not apply to status/);
      assert.equal((await allTasks(h.sim)).length, before, 'no export task was created');
      const usage = await h.cli(['export', '--redeemed-within', '24h']);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /give --out FILE/);
    });
  });

  it('writes JSON lines, or the CSV to standard output, through faults on the way', async (t) => {
    await withHarness(t, async (h, chainId) => {
      // A refused create, a reset download, a truncated one: each tried again, with a fresh URL.
      h.sim.setFaults([
        { at: 'create_task', calls: [1], action: { kind: 'status', status: 503, retryAfterSeconds: 0 } },
        { at: 'storage', calls: [1], action: { kind: 'reset', afterBytes: 200 } },
        { at: 'storage', calls: [2], action: { kind: 'truncate' } },
      ]);
      // A repeated column name loses nothing: the repeat is note_2, as in vouchers.extra.
      h.sim.setDialect({ extraColumn: 'note', duplicateExtraColumn: true });
      const out = path.join(dir, 'redeemed.jsonl');
      const run = await h.cli(['export', '--redeemed-within', '24h', '--out', out, '--format', 'json', '--json'], { SPAAZA_HTTP_RETRIES: '3' });
      assert.equal(run.code, 0, run.stderr);
      const records = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, string>);
      assert.deepEqual(records.map((r) => Number(r.id)).sort((a, b) => a - b), truth(h, chainId, FILTERS[0]!.means));
      assert.ok(records.every((r) => 'note' in r && 'note_2' in r), `both note columns are kept: ${JSON.stringify(records[0])}`);
      h.sim.setDialect({});
      assert.equal((JSON.parse(run.stdout) as { records: number }).records, records.length);
      assert.ok(h.sim.calls().storage >= 3, 'the download was tried three times');
      h.sim.setFaults([]);

      const piped = await h.cli(['export', '--created-between', '2026-05-01..2026-05-10', '--out', '-']);
      assert.equal(piped.code, 0, piped.stderr);
      assert.deepEqual(parseCsv(piped.stdout).map((r) => Number(r.id)).sort((a, b) => a - b), truth(h, chainId, FILTERS[1]!.means));
      assert.match(piped.stderr, /written to standard output/, 'the summary goes to standard error, out of the data');
    });
  });

  it('--load upserts with the sync\'s rules as a run of mode export, moving no watermark and deleting nothing', async (t) => {
    await withHarness(t, async (h, chainId, schema) => {
      const run = await h.cli(['export', '--expiring-within', '7d', '--load', '--json']);
      assert.equal(run.code, 0, run.stderr);
      const expected = truth(h, chainId, FILTERS[2]!.means);
      const summary = JSON.parse(run.stdout) as { load: { syncRunId: number; inserted: number } };
      assert.equal(summary.load.inserted, expected.length);
      const stored = await warehouse.pool.query<{ id: string }>(`SELECT voucher_id AS id FROM "${schema}".vouchers WHERE chain_id = $1 ORDER BY 1`, [chainId]);
      assert.deepEqual(stored.rows.map((r) => Number(r.id)), expected);
      const runs = await warehouse.pool.query(`SELECT mode, state, source FROM "${schema}".sync_runs`);
      assert.deepEqual(runs.rows, [{ mode: 'export', state: 'committed', source: `export task ${(await allTasks(h.sim)).at(-1)!.id}` }]);
      const state = await warehouse.pool.query(`SELECT count(*)::int AS n FROM "${schema}".sync_state WHERE watermark IS NOT NULL`);
      assert.equal(state.rows[0].n, 0, 'no watermark moved');

      // A later sync finds the export's rows already there; a second --load of another filter deletes none of them.
      const again = await h.cli(['export', '--redeemed-within', '24h', '--load', '--json']);
      assert.equal(again.code, 0, again.stderr);
      const after = await warehouse.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".vouchers WHERE deleted_at IS NULL`);
      assert.equal(after.rows[0]!.n, new Set([...expected, ...truth(h, chainId, FILTERS[0]!.means)]).size, 'nothing was deleted');
    });
  });
});
