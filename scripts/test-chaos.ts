// npm run test:chaos [-- --rounds N] [--seed S] [--verbose]: the chaos test of test/reliability at
// any size, under node's test runner (so CI and people read the same summary). The seed it prints
// replays a run: the same rounds, faults, commands and interruptions (their timing aside).
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '50' }, seed: { type: 'string' }, verbose: { type: 'boolean', default: false } } });
if (!/^\d+$/.test(values.rounds!) || (values.seed !== undefined && !/^\d+$/.test(values.seed))) {
  console.error('usage: npm run test:chaos -- [--rounds N] [--seed S] [--verbose]   (N and S whole numbers)');
  process.exit(2);
}
const env = { ...process.env, CHAOS_ROUNDS: values.rounds!, ...(values.seed !== undefined ? { CHAOS_SEED: values.seed } : {}), ...(values.verbose ? { CHAOS_VERBOSE: '1' } : {}) };
const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', 'test/reliability/chaos.test.ts'], { env, stdio: 'inherit' });
process.exit(run.status ?? 1);
