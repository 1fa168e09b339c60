// The sync commands as operators run them: real processes, exit codes, resume after a crash,
// the per-chain lock, bad configuration, status and check, and no secret in any output.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compareWithGroundTruth } from '../../../src/simulator/compare-warehouse.js';
import type { Warehouse } from '../../../src/warehouse/warehouse.js';
import { startHarness, type Harness } from '../../support/sync-harness.js';
import { connectionStringOf, openTestWarehouse, withSchema } from '../../support/warehouse.js';

let warehouse: Warehouse;
before(async () => {
  warehouse = await openTestWarehouse();
});
after(async () => {
  await warehouse?.close();
});

/** Everything printed by the CLI runs of a test, checked for secrets at the end. */
const printed: string[] = [];

async function withHarness(t: { fullName: string; name: string }, work: (h: Harness, schema: string) => Promise<void>) {
  await withSchema(warehouse, t as never, async (schema) => {
    const h = await startHarness(warehouse, schema, { chains: 2, vouchersPerChain: 400 }, { SPAAZA_BACKFILL_START_DATE: '' });
    const cli = h.cli;
    const recording: Harness = {
      ...h,
      cli: async (args, extra) => {
        const result = await cli(args, extra);
        printed.push(result.stdout, result.stderr);
        return result;
      },
    };
    try {
      await work(recording, schema);
      printed.push(...h.lines);
      assertNoSecrets(h, printed);
    } finally {
      await h.close();
    }
  });
}

function assertNoSecrets(h: Harness, output: readonly string[]) {
  // The database password as it would appear in a connection string (CI's may equal the user name).
  const password = new URL(connectionStringOf(warehouse)).password;
  const secrets = [...h.sim.tokens.map((t) => t.secret), ...(password ? [`:${password}@`] : [])];
  for (const text of output) {
    for (const secret of secrets) assert.ok(!text.includes(secret), `a secret leaked into: ${text.slice(0, 200)}`);
    assert.ok(!/X-Signature=|Bearer [0-9a-f-]{36}:/.test(text), `a URL query or Authorization header leaked into: ${text.slice(0, 200)}`);
  }
}

describe('spaaza-sync sync, status and check', () => {
  it('resumes the stored export task after being killed right after creating it', async (t) => {
    await withHarness(t, async (h, schema) => {
      const killed = await h.cli(['sync', '--chain', '1764'], { SPAAZA_SYNC_FAILPOINT: 'after-create:kill' });
      assert.equal(killed.signal, 'SIGKILL');
      const rows = await warehouse.pool.query(`SELECT id::int, state, task_id::int, task_marker FROM "${schema}".sync_runs`);
      assert.equal(rows.rows.length, 1);
      const [row] = rows.rows;
      assert.equal(row.state, 'task_created');
      assert.equal(h.sim.calls().create_task, 1);

      const resumed = await h.cli(['sync', '--chain', '1764', '--json']);
      assert.equal(resumed.code, 0, resumed.stderr);
      const report = JSON.parse(resumed.stdout) as { outcomes: { windows: { syncRunId: number; taskId: number; resumed: boolean }[] }[] };
      const first = report.outcomes[0]!.windows[0]!;
      assert.deepEqual([first.syncRunId, first.taskId, first.resumed], [row.id, row.task_id, true], 'the same row and task, resumed');
      assert.equal(h.sim.calls().execute_task, 1, 'a resumed task is never executed again');
      const tasks = [...Array(h.sim.calls().create_task)].length;
      assert.equal(tasks, 2, 'one more export only for the new window planned after the resume');
      assert.ok((await compareWithGroundTruth(warehouse.pool, schema, h.sim, 1764)).equal);
    });
  });

  it('exits 3 when another run holds the chain, and 1 when a chain failed', async (t) => {
    await withHarness(t, async (h, schema) => {
      const holder = await warehouse.pool.connect();
      try {
        await holder.query('SELECT pg_advisory_lock(hashtext($1), hashtext($2))', [schema, '1765']);
        const locked = await h.cli(['sync']);
        assert.equal(locked.code, 3, locked.stdout + locked.stderr);
        assert.match(locked.stdout, /chain 1764: ok/);
        assert.match(locked.stdout, /chain 1765: skipped, another run holds its lock/);
      } finally {
        holder.release(true);
      }
      h.sim.setFaults([{ at: 'run_task', chain: 1765, action: { kind: 'error' } }]);
      h.sim.advance(900);
      const failed = await h.cli(['sync']);
      assert.equal(failed.code, 1);
      assert.match(failed.stdout, /chain 1765: FAILED.*\n {2}\[task_error\]/);
    });
  });

  it('reports every configuration problem at once and exits 2', async (t) => {
    await withHarness(t, async (h) => {
      const bad = await h.cli(['sync'], { SPAAZA_BASE_URL: 'http://spaaza.example.com', SPAAZA_LOOKBACK: '1m', SPAAZA_SETTLE: '10m', SPAAZA_MAX_WINDOW_DAYS: 'many' });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /3 problems/);
      assert.match(bad.stderr, /SPAAZA_BASE_URL.*https/);
      assert.match(bad.stderr, /SPAAZA_LOOKBACK/);
      assert.match(bad.stderr, /SPAAZA_MAX_WINDOW_DAYS/);
      const unknownChain = await h.cli(['sync', '--chain', '42']);
      assert.equal(unknownChain.code, 2);
      assert.match(unknownChain.stderr, /Chain 42 is not configured/);
    });
  });

  it('status and check report freshness, runs and each dependency', async (t) => {
    await withHarness(t, async (h) => {
      assert.equal((await h.cli(['sync'])).code, 0);
      const status = await h.cli(['status', '--json']);
      assert.equal(status.code, 0, status.stderr);
      const parsed = JSON.parse(status.stdout) as { chains: { chainId: number; watermark: string; liveVouchers: number; lastRuns: { state: string }[] }[] };
      assert.deepEqual(parsed.chains.map((c) => c.chainId), [1764, 1765]);
      for (const c of parsed.chains) {
        assert.ok(c.watermark && c.liveVouchers > 300);
        assert.equal(c.lastRuns[0]!.state, 'committed');
      }
      const text = await h.cli(['status']);
      assert.match(text.stdout, /chain 1764: watermark \S+ \(.*\); last full refresh never/);

      const check = await h.cli(['check', '--probe']);
      assert.equal(check.code, 0, check.stdout + check.stderr);
      assert.match(check.stdout, /ok +database: PostgreSQL/);
      assert.match(check.stdout, /ok +schema: up to date/);
      assert.match(check.stdout, /ok +chain 1764: token accepted; clock skew -?\d+ s/);
      assert.match(check.stdout, /ok +chain 1764 clock: Spaaza time 2026-05-26T\d\d:\d\d:\d\dZ, within maxClockSkew/);
      assert.match(check.stdout, /ok +chain 1764 warehouse times: nothing dated after Spaaza's clock/);
      assert.match(check.stdout, /ok +chain 1765 probe: export task \d+ done and downloaded/);
      const wrongSecret = await h.cli(['check'], { SPAAZA_TOKEN_SECRET: 'f'.repeat(48) });
      assert.equal(wrongSecret.code, 1);
      assert.match(wrongSecret.stdout, /FAIL +chain 1764: .*401.*SPAAZA_TOKEN_ID and SPAAZA_TOKEN_SECRET/);
    });
  });
});
