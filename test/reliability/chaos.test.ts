// The chaos test (DESIGN §5, last paragraph): seeded random rounds of activity, commands, kills,
// terminations, database restarts, hostile exports and clock jumps, each followed by every
// invariant, with clean full refreshes that must reconcile exactly. `npm test` runs a CI-sized
// number of rounds; `npm run test:chaos -- --rounds 200 [--seed S]` runs more, and replays a seed.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { runChaos } from '../support/chaos/run-chaos.js';

const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 1_000_000));
const rounds = Number(process.env.CHAOS_ROUNDS ?? 10);

it(`chaos: ${rounds} rounds (seed ${seed}; replay: npm run test:chaos -- --seed ${seed} --rounds ${rounds})`, { timeout: Math.max(10 * 60_000, rounds * 30_000) }, async () => {
  const report = await runChaos({ seed, rounds, cleanEvery: 5, log: (line) => process.env.CHAOS_VERBOSE && console.log(line) });
  const t = report.tally;
  const list = (m: Record<string, number>) => Object.entries(m).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  console.log(
    [
      `\nChaos (seed ${seed}, ${report.rounds} rounds, ${report.seconds.toFixed(0)} s)`,
      `  commands        ${list(report.commands)}`,
      `  exit outcomes   ${list(report.exitCodes)}`,
      `  interruptions   ${list(report.interruptions)}`,
      `  faults          ${list(report.faults)}`,
      `  activity        ${report.changes} changes; ${report.cleanRefreshes} clean full refreshes`,
      `  rows checked    ${t.rowsChecked}`,
      `  lost ${t.lost}, vanished ${t.vanished}, duplicated ${t.duplicated}, stale ${t.stale}, extra ${t.extra}, missing ${t.missing}`,
      `  ahead of clock ${t.aheadOfClock}, repeated markers ${t.duplicateMarkers}, secret leaks ${t.leaks}, crashes ${t.crashes}`,
    ].join('\n'),
  );
  assert.deepEqual(report.problems, [], `replay with: npm run test:chaos -- --seed ${seed} --rounds ${rounds}`);
});
