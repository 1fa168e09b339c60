// Soak: 50 incremental cycles with random customer activity and random faults, a full refresh
// every tenth, then a clean run: the warehouse equals the source, and memory, file descriptors and
// database connections do not grow from cycle to cycle.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Rng } from '../../src/simulator/random.js';
import type { FaultRule } from '../../src/simulator/faults.js';
import { reliabilitySuite } from '../support/reliability-report.js';
import { startHarness } from '../support/sync-harness.js';
import { assertMatchesSource, countLeaks } from '../support/warehouse-checks.js';
import { connectionStringOf, withSchema } from '../support/warehouse.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const suite = reliabilitySuite('Soak (50 cycles, random activity and faults)');
const tally = suite.tally;

const CYCLES = 50;
const FAULTS: FaultRule[] = [
  { at: 'get_task', probability: 0.3, action: { kind: 'status', status: 503, retryAfterSeconds: 0 } },
  { at: 'create_task', probability: 0.2, action: { kind: 'status', status: 429, retryAfterSeconds: 0 } },
  { at: 'storage', probability: 0.2, action: { kind: 'reset', afterBytes: 400 } },
  { at: 'storage', probability: 0.2, action: { kind: 'truncate', keepBytes: 300 } },
  { at: 'run_task', probability: 0.1, action: { kind: 'error', message: 'soak' } },
  { at: 'download_url', probability: 0.2, action: { kind: 'status', status: 500 } },
];

function resources(): { heapMb: number; fds: number } {
  gc();
  return { heapMb: process.memoryUsage().heapUsed / 1048576, fds: readdirSync('/proc/self/fd').length };
}

it(`${CYCLES} cycles converge to the source without leaking`, async (t) => {
  await withSchema(suite.warehouse(), t, async (schema) => {
    const h = await startHarness(suite.warehouse(), schema, { chains: 2, vouchersPerChain: 500, seed: 7 }, { SPAAZA_BACKFILL_START_DATE: '', SPAAZA_HTTP_RETRIES: '2' });
    const rng = new Rng(20261126);
    const samples: { heapMb: number; fds: number; connections: number }[] = [];
    try {
      assert.equal((await h.sync({ mode: 'incremental' })).exitCode, 0);
      for (let cycle = 1; cycle <= CYCLES; cycle++) {
        for (const chainId of h.sim.chainIds) {
          const live = [...h.sim.groundTruth(chainId)];
          for (let i = rng.int(0, 4); i > 0; i--) h.sim.vouchers.create(chainId);
          for (const v of live.filter((v) => v.status === 'claimed' && Number(v.amount) > 0).slice(rng.int(0, 50), rng.int(50, 53))) h.sim.vouchers.redeem(v.id);
          for (const v of live.filter((v) => v.status === 'generated').slice(rng.int(0, 50), rng.int(50, 52))) h.sim.vouchers.claim(v.id);
          if (rng.next() < 0.3) h.sim.vouchers.delete(rng.pick(live).id);
        }
        h.sim.advance(rng.int(60, 1800));
        const faults = FAULTS.filter(() => rng.next() < 0.4);
        h.sim.setFaults(faults);
        for (const f of faults) tally.faults.add(`${f.at} ${f.action.kind}`);
        const mode = cycle % 10 === 0 ? 'full-refresh' : 'incremental';
        tally.phases.add(mode);
        const report = await h.sync(mode === 'full-refresh' ? { mode, allowMassDelete: false } : { mode });
        tally.runs += 1;
        if (report.exitCode !== 0) tally.phases.add('failed run');
        if (cycle % 10 === 0 || cycle === 5) {
          const { rows } = await suite.warehouse().pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'spaaza-sync'`);
          samples.push({ ...resources(), connections: rows[0].n });
        }
      }
      h.sim.setFaults([]);
      h.sim.advance(60);
      const clean = await h.sync({ mode: 'full-refresh', allowMassDelete: true });
      tally.runs += 1;
      assert.equal(clean.exitCode, 0, JSON.stringify(clean.outcomes.map((o) => o.error)));
      await assertMatchesSource(suite.warehouse(), schema, h.sim, tally, 'after the soak');
      const leaks = countLeaks(h.lines, [...h.sim.tokens.map((tk) => tk.secret), `:${new URL(connectionStringOf(suite.warehouse())).password}@`]);
      tally.leaks += leaks;
      assert.equal(leaks, 0);

      console.log(`soak resources (cycles 5, 10, 20, …, 50): ${samples.map((s) => `${s.heapMb.toFixed(1)} MB heap / ${s.fds} fds / ${s.connections} conns`).join('; ')}`);
      const first = samples[1]!;
      const last = samples.at(-1)!;
      assert.ok(last.heapMb - first.heapMb < 25, `heap grew from ${first.heapMb.toFixed(1)} to ${last.heapMb.toFixed(1)} MB`);
      assert.ok(last.fds - first.fds <= 4, `file descriptors grew from ${first.fds} to ${last.fds}`);
      assert.ok(last.connections <= first.connections + 1, `connections grew from ${first.connections} to ${last.connections}`);
    } finally {
      await h.close();
    }
  });
});
