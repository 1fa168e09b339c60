// SIGKILL at every phase of a window: the CLI is killed by its own failpoint, then run again. The
// warehouse must equal the source, and a window whose export task existed never gets a second one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reliabilitySuite } from '../support/reliability-report.js';
import { startHarness } from '../support/sync-harness.js';
import { assertMatchesSource, countLeaks } from '../support/warehouse-checks.js';
import { connectionStringOf, withSchema } from '../support/warehouse.js';

const suite = reliabilitySuite('Crash matrix (SIGKILL at each phase, then a clean rerun)');
const tally = suite.tally;

const PHASES = ['after-create', 'polling', 'mid-download', 'mid-copy', 'before-commit', 'after-commit'] as const;

describe('killed at every phase of a full refresh', () => {
  for (const phase of PHASES) {
    it(`recovers after SIGKILL ${phase}`, async (t) => {
      await withSchema(suite.warehouse(), t, async (schema) => {
        // 2,000 vouchers: a body of several COPY chunks, so mid-copy fires mid-stream.
        const h = await startHarness(suite.warehouse(), schema, { chains: 1, vouchersPerChain: 2000 }, { SPAAZA_BACKFILL_START_DATE: '' });
        const output: string[] = [];
        try {
          assert.equal((await h.sync({ mode: 'incremental' })).exitCode, 0);
          const live = [...h.sim.groundTruth(1764)];
          for (let i = 0; i < 20; i++) h.sim.vouchers.create(1764);
          for (const v of live.filter((v) => v.status === 'claimed').slice(0, 20)) h.sim.vouchers.redeem(v.id);
          for (const v of live.filter((v) => v.status === 'generated').slice(0, 10)) h.sim.vouchers.claim(v.id);
          for (const v of live.slice(100, 110)) h.sim.vouchers.delete(v.id);
          h.sim.advance(900);

          const killed = await h.cli(['full-refresh'], { SPAAZA_SYNC_FAILPOINT: `${phase}:kill` });
          output.push(killed.stdout, killed.stderr);
          tally.runs += 1;
          tally.faults.add(`SIGKILL ${phase}`);
          tally.phases.add(phase);
          assert.equal(killed.signal, 'SIGKILL', `${phase}: ${killed.stderr}`);
          const { rows: before } = await suite.warehouse().pool.query(`SELECT id::int, task_id::int, task_marker, state FROM "${schema}".sync_runs WHERE mode = 'full-refresh'`);
          assert.equal(before.length, 1);

          const rerun = await h.cli(['full-refresh']);
          output.push(rerun.stdout, rerun.stderr);
          tally.runs += 1;
          assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr);
          await assertMatchesSource(suite.warehouse(), schema, h.sim, tally, phase);

          const marker = before[0].task_marker as string;
          const exports = h.sim.state.tasks.list().filter((task) => task.request.desc === marker);
          assert.equal(exports.length, 1, `${phase}: one export task for the killed window`);
          const { rows: afterRows } = await suite.warehouse().pool.query(`SELECT state FROM "${schema}".sync_runs WHERE id = $1`, [before[0].id]);
          assert.equal(afterRows[0].state, 'committed', `${phase}: the killed window was resumed and committed`);
          const secrets = [...h.sim.tokens.map((tk) => tk.secret), `:${new URL(connectionStringOf(suite.warehouse())).password}@`];
          const leaks = countLeaks(output, secrets);
          tally.leaks += leaks;
          assert.equal(leaks, 0);
        } finally {
          await h.close();
        }
      });
    });
  }
});
