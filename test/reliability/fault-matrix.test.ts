// Every fault the simulator can inject, at every phase of a window: a sync with the fault, then
// a clean sync, then the warehouse against the source. One simulator and schema live through all
// cycles, with customer activity between them, so faults also meet earlier faults' leftovers.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { FaultRule } from '../../src/simulator/faults.js';
import { reliabilitySuite } from '../support/reliability-report.js';
import { startHarness, type Harness } from '../support/sync-harness.js';
import { assertMatchesSource, countLeaks } from '../support/warehouse-checks.js';
import { connectionStringOf, withSchema } from '../support/warehouse.js';

const suite = reliabilitySuite('Fault matrix (each fault at its phase, then a clean sync)');
const tally = suite.tally;

interface Case {
  readonly name: string;
  readonly phase: 'create' | 'poll' | 'download' | 'COPY' | 'upsert' | 'commit';
  readonly faults?: FaultRule[];
  readonly env?: Record<string, string>;
  readonly dialect?: Parameters<Harness['sim']['setDialect']>[0];
  /** The faulty run itself must fail (the fault is fatal for its window). */
  readonly fails?: boolean;
}

const status = (at: FaultRule['at'], code: 429 | 500 | 502 | 503): FaultRule => ({ at, calls: [1, 2], action: { kind: 'status', status: code, retryAfterSeconds: 0 } });

const CASES: Case[] = [
  ...([429, 500, 503] as const).map((code): Case => ({ name: `create ${code}`, phase: 'create', faults: [status('create_task', code)] })),
  { name: 'create slow', phase: 'create', faults: [{ at: 'create_task', calls: [1], action: { kind: 'delay', ms: 400 } }] },
  { name: 'create reset', phase: 'create', faults: [{ at: 'create_task', calls: [1], action: { kind: 'reset' } }] },
  { name: 'create slow past the timeout', phase: 'create', faults: [{ at: 'create_task', calls: [1], action: { kind: 'delay', ms: 2500 } }], env: { SPAAZA_REQUEST_TIMEOUT: '1s' } },
  ...([429, 500, 502, 503] as const).map((code): Case => ({ name: `poll ${code}`, phase: 'poll', faults: [status('get_task', code)] })),
  { name: 'poll reset', phase: 'poll', faults: [{ at: 'get_task', calls: [1], action: { kind: 'reset' } }] },
  { name: 'poll slow', phase: 'poll', faults: [{ at: 'get_task', calls: [1], action: { kind: 'delay', ms: 400 } }] },
  { name: 'task ERROR', phase: 'poll', faults: [{ at: 'run_task', action: { kind: 'error', message: 'index unavailable' } }] , fails: true },
  { name: 'task stuck', phase: 'poll', faults: [{ at: 'run_task', times: 1, action: { kind: 'stuck' } }], env: { SPAAZA_POLL_DEADLINE: '1s', SPAAZA_RESUME_MAX_AGE: '1s' } , fails: true },
  { name: 'execute 500', phase: 'create', faults: [{ at: 'execute_task', action: { kind: 'status', status: 500 } }] },
  ...([429, 500] as const).map((code): Case => ({ name: `download_url ${code}`, phase: 'download', faults: [status('download_url', code)] })),
  ...([429, 500, 503] as const).map((code): Case => ({ name: `storage ${code}`, phase: 'download', faults: [status('storage', code)] })),
  { name: 'storage reset mid-body', phase: 'download', faults: [{ at: 'storage', calls: [1], action: { kind: 'reset', afterBytes: 700 } }] },
  { name: 'storage truncated body', phase: 'download', faults: [{ at: 'storage', calls: [1], action: { kind: 'truncate', keepBytes: 900 } }] },
  { name: 'storage slow', phase: 'download', faults: [{ at: 'storage', calls: [1], action: { kind: 'delay', ms: 400 } }] },
  { name: 'every download broken', phase: 'download', faults: [{ at: 'storage', action: { kind: 'truncate', keepBytes: 500 } }] , fails: true },
  { name: 'malformed rows', phase: 'COPY', dialect: { malformedRows: [{ row: 1, kind: 'bad_amount' }, { row: 2, kind: 'too_few_fields' }] } },
  { name: 'failure mid-COPY', phase: 'COPY', env: { SPAAZA_SYNC_FAILPOINT: 'mid-download:throw' } , fails: true },
  { name: 'failure before COMMIT', phase: 'commit', env: { SPAAZA_SYNC_FAILPOINT: 'before-commit:throw' } , fails: true },
  { name: 'failure in the upsert', phase: 'upsert' , fails: true },
];

it('survives every fault at every phase and converges to the source', async (t) => {
  await withSchema(suite.warehouse(), t, async (schema) => {
    const h = await startHarness(suite.warehouse(), schema, { chains: 2, vouchersPerChain: 600 }, { SPAAZA_BACKFILL_START_DATE: '', SPAAZA_HTTP_RETRIES: '3' });
    const output: string[] = [];
    try {
      assert.equal((await h.sync({ mode: 'incremental' })).exitCode, 0);
      let round = 0;
      for (const c of CASES) {
        round += 1;
        // Customer activity an incremental sync must carry: new and newly redeemed vouchers.
        for (const chainId of h.sim.chainIds) {
          for (let i = 0; i < 3; i++) h.sim.vouchers.create(chainId);
          const claimed = [...h.sim.groundTruth(chainId)].filter((v) => v.status === 'claimed');
          for (const v of claimed.slice(round, round + 2)) h.sim.vouchers.redeem(v.id);
        }
        h.sim.advance(900);
        tally.faults.add(c.name);
        tally.phases.add(c.phase);

        h.sim.setFaults(c.faults ?? []);
        if (c.dialect) h.sim.setDialect(c.dialect);
        let trigger: string | null = null;
        if (c.phase === 'upsert') {
          trigger = `"${schema}".refuse_${round}`;
          await suite.warehouse().pool.query(`CREATE FUNCTION ${trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the fault matrix'; END $$;
            CREATE TRIGGER refuse BEFORE INSERT ON "${schema}".vouchers FOR EACH ROW EXECUTE FUNCTION ${trigger}();`);
        }
        const faulty = await h.sync({ mode: 'incremental' }, c.env ?? {});
        tally.runs += 1;
        assert.equal(faulty.exitCode !== 0, c.fails ?? false, `${c.name}: the faulty run ${c.fails ? 'should have failed' : 'should have recovered by itself'}: ${JSON.stringify(faulty.outcomes.map((o) => o.error))}`);
        if (trigger) await suite.warehouse().pool.query(`DROP TRIGGER refuse ON "${schema}".vouchers; DROP FUNCTION ${trigger}();`);
        h.sim.setFaults([]);
        h.sim.setDialect({});
        if (c.name === 'task stuck') await new Promise((r) => setTimeout(r, 1100)); // past resumeMaxAge

        h.sim.advance(60);
        const clean = await h.sync({ mode: 'incremental' }, c.name === 'task stuck' ? { SPAAZA_RESUME_MAX_AGE: '1s' } : {});
        tally.runs += 1;
        assert.equal(clean.exitCode, 0, `${c.name}: the clean sync after the fault failed: ${JSON.stringify(clean.outcomes.map((o) => o.error))} (faulty run: ${faulty.exitCode})`);
        await assertMatchesSource(suite.warehouse(), schema, h.sim, tally, c.name);
      }
      // Claims, locks and deletions arrive with the full refresh: then the whole source matches.
      for (const chainId of h.sim.chainIds) for (const v of [...h.sim.groundTruth(chainId)].slice(0, 5)) h.sim.vouchers.delete(v.id);
      h.sim.advance(60);
      assert.equal((await h.sync({ mode: 'full-refresh', allowMassDelete: false })).exitCode, 0);
      tally.runs += 1;
      await assertMatchesSource(suite.warehouse(), schema, h.sim, tally, 'final full refresh');
      output.push(...h.lines);
      const leaks = countLeaks(output, [...h.sim.tokens.map((tk) => tk.secret), `:${new URL(connectionStringOf(suite.warehouse())).password}@`]);
      tally.leaks += leaks;
      assert.equal(leaks, 0, 'a secret reached a log line');
    } finally {
      await h.close();
    }
  });
});
