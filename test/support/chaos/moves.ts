/**
 * What a chaos round does, drawn from the seed: customers' activity, the faults of the network and
 * of Spaaza (hostile but parseable exports, clock jumps in Date headers and task times), the
 * command an operator runs, and how it is interrupted.
 */
import type { CsvDialect } from '../../../src/simulator/csv-dialect.js';
import type { FaultRule } from '../../../src/simulator/faults.js';
import type { Rng } from '../../../src/simulator/random.js';
import type { Simulator } from '../../../src/simulator/simulator.js';
import type { Interruption } from './world.js';

const YEAR = 365 * 86_400;
const DAY = 86_400;

/** Customers create, claim, redeem (in full or in part), lock, re-date and delete vouchers. */
export function activity(sim: Simulator, rng: Rng): number {
  let changes = 0;
  for (const chainId of sim.chainIds) {
    const live = [...sim.groundTruth(chainId)];
    const some = <T>(items: T[], max: number) => Array.from({ length: rng.int(0, max) }, () => rng.pick(items)).filter((v, k, all) => all.indexOf(v) === k);
    for (let k = rng.int(0, 4); k > 0; k--, changes++) sim.vouchers.create(chainId);
    for (const v of some(live.filter((v) => v.status === 'generated'), 3)) changes += tryChange(() => sim.vouchers.claim(v.id));
    for (const v of some(live.filter((v) => v.status === 'claimed' && Number(v.amount) > 0), 3)) {
      changes += tryChange(() => sim.vouchers.redeem(v.id, rng.next() < 0.3 ? (Number(v.amount) / 2).toFixed(2) : undefined));
    }
    for (const v of some(live.filter((v) => v.status !== 'redeemed'), 2)) changes += tryChange(() => sim.vouchers.lock(v.id, !v.locked));
    for (const v of some(live, 2)) changes += tryChange(() => sim.vouchers.setExpiry(v.id, rng.next() < 0.2 ? null : new Date(sim.now().getTime() + rng.int(1, 90) * DAY * 1000)));
    if (rng.next() < 0.35) changes += tryChange(() => sim.vouchers.delete(rng.pick(live).id));
  }
  return changes;
}

/** A change the data set refuses (a voucher changed meanwhile) is simply not made. */
function tryChange(change: () => unknown): number {
  try {
    change();
    return 1;
  } catch {
    return 0;
  }
}

export interface RoundFaults {
  readonly names: string[];
  readonly rules: FaultRule[];
  readonly dialect: Partial<CsvDialect>;
}

/** Faults of the network and of Spaaza for one round; in about a third of the rounds none. */
export function roundFaults(rng: Rng, rowsPerChain: number): RoundFaults {
  if (rng.next() < 0.3) return { names: [], rules: [], dialect: {} };
  const names: string[] = [];
  const rules: FaultRule[] = [];
  const add = (name: string, ...r: FaultRule[]) => {
    names.push(name);
    rules.push(...r);
  };
  if (rng.next() < 0.3) add('api 5xx/429', { at: rng.pick(['get_task', 'create_task', 'download_url', 'list_tasks'] as const), probability: 0.4, action: { kind: 'status', status: rng.pick([429, 500, 502, 503] as const), retryAfterSeconds: 0 } });
  if (rng.next() < 0.15) add('api reset', { at: rng.pick(['get_task', 'create_task', 'download_url'] as const), probability: 0.3, times: 2, action: { kind: 'reset' } });
  if (rng.next() < 0.2) add('storage reset', { at: 'storage', probability: 0.5, times: 2, action: { kind: 'reset', afterBytes: rng.int(100, 5000) } });
  if (rng.next() < 0.15) add('storage truncate', { at: 'storage', probability: 0.5, times: 2, action: { kind: 'truncate', keepBytes: rng.int(100, 5000) } });
  if (rng.next() < 0.1) add('task error', { at: 'run_task', probability: 0.5, times: 1, action: { kind: 'error', message: 'chaos' } });
  // A slow download keeps a command in flight, so that an interruption lands inside it.
  if (rng.next() < 0.3) add('slow download', { at: 'storage', times: 1, action: { kind: 'throttle', bytesPerSecond: rng.int(40_000, 200_000) } });
  // Clock jumps, all beyond the bound: a proxy with a wrong clock, or wrong task dates.
  if (rng.next() < 0.12) {
    const seconds = rng.pick([YEAR, -YEAR, 60 * DAY, -45 * DAY]);
    add(`Date header ${seconds > 0 ? '+' : ''}${Math.round(seconds / DAY)}d`, ...(['list_tasks', 'create_task', 'get_task'] as const).map((at) => ({ at, probability: 0.7, action: { kind: 'date' as const, seconds } })));
  }
  if (rng.next() < 0.1) {
    const shift = (to: number) => Math.floor((to - Date.now()) / 1000);
    const variant = rng.pick([
      ['task created 2036', { createdSeconds: shift(Date.UTC(2036, 0, 1)), lastRunSeconds: shift(Date.UTC(2036, 0, 1)) }],
      ['task ran 2099', { lastRunSeconds: shift(Date.UTC(2099, 0, 1)) }],
      ['task dated a year ago', { createdSeconds: -YEAR, lastRunSeconds: -YEAR }],
      ['empty last_run_date', { lastRunDate: '' }],
    ] as const);
    add(variant[0], ...(['create_task', 'get_task', 'list_tasks'] as const).map((at) => ({ at, probability: 0.8, action: { kind: 'task_times' as const, ...variant[1] } })));
  }
  let dialect: Partial<CsvDialect> = {};
  if (rng.next() < 0.3) {
    const rows = (n: number) => Array.from({ length: n }, () => rng.int(1, rowsPerChain - 20));
    const kinds: CsvDialect['malformedRows'][number][] = [];
    const pick = rng.pick(['open_quote', 'ids', 'huge', 'ragged', 'bad id', 'duplicate header'] as const);
    names.push(`export: ${pick}`);
    if (pick === 'open_quote') for (const row of rows(rng.int(1, 2))) kinds.push({ row, kind: 'open_quote' });
    if (pick === 'ids') for (const row of rows(2)) kinds.push({ row, kind: rng.pick(['padded_id', 'signed_id'] as const) }, { row, kind: rng.pick(['bad_timestamp', 'bad_amount', 'bad_boolean'] as const) });
    if (pick === 'huge') for (const row of rows(1)) kinds.push({ row, kind: 'huge_field', bytes: 100_000 });
    if (pick === 'ragged') for (const row of rows(2)) kinds.push({ row, kind: rng.pick(['too_few_fields', 'too_many_fields'] as const) });
    if (pick === 'bad id') for (const row of rows(1)) kinds.push({ row, kind: 'bad_id' });
    if (pick === 'duplicate header') dialect = { extraColumn: 'note', duplicateExtraColumn: true };
    if (kinds.length > 0) dialect = { malformedRows: kinds };
  }
  return { names, rules, dialect };
}

export type Command = { readonly name: string; readonly args: string[] } & ({ readonly kind: 'cli' } | { readonly kind: 'load-file'; readonly exportedAt: 'right' | 'future' | 'older' });

/** What the operator runs this round. */
export function roundCommand(rng: Rng, sim: Simulator): Command {
  const r = rng.next();
  if (r < 0.55) return { kind: 'cli', name: 'sync', args: ['sync'] };
  if (r < 0.75) return { kind: 'cli', name: 'full-refresh', args: ['full-refresh'] };
  if (r < 0.87) {
    const day = (back: number) => new Date(sim.now().getTime() - back * DAY * 1000).toISOString().slice(0, 10);
    const from = rng.int(3, 55);
    return { kind: 'cli', name: 'backfill', args: ['backfill', '--from', day(from), '--to', day(rng.int(0, from - 1)), '--chain', String(rng.pick([...sim.chainIds]))] };
  }
  return { kind: 'load-file', name: 'load-file', args: [], exportedAt: rng.pick(['right', 'right', 'older', 'future'] as const) };
}

/** How the command is interrupted, if it is. */
export function roundInterruption(rng: Rng): { interruption: Interruption | null; failpoint: string | null } {
  const r = rng.next();
  const afterMs = rng.int(200, 3000);
  if (r < 0.15) return { interruption: { kind: 'SIGKILL', afterMs }, failpoint: null };
  if (r < 0.25) return { interruption: { kind: 'SIGTERM', afterMs }, failpoint: null };
  if (r < 0.33) return { interruption: { kind: 'terminate-backends', afterMs }, failpoint: null };
  if (r < 0.36) return { interruption: { kind: 'restart-database', afterMs }, failpoint: null };
  if (r < 0.46) return { interruption: null, failpoint: `${rng.pick(['after-create', 'polling', 'mid-download', 'mid-copy', 'before-commit', 'after-commit'] as const)}:kill` };
  return { interruption: null, failpoint: null };
}
