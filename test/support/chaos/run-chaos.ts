/**
 * The chaos test's loop: each round customers act, the network and Spaaza misbehave, an operator
 * runs a command (sync, backfill, full-refresh, load-file) that may be killed, stopped, cut off from
 * its database or see the database restart; then every invariant is checked. Every few rounds, and
 * at the end, a clean full refresh must reconcile the warehouse with the source exactly.
 * Every choice comes from one seed, which every failure names so that the run can be replayed.
 */
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Rng } from '../../../src/simulator/random.js';
import { DEFAULT_DIALECT } from '../../../src/simulator/csv-dialect.js';
import { runExportFile } from '../simulator-client.js';
import { checkReconciled, checkRound, newTallies, type Tallies } from './invariants.js';
import { activity, roundCommand, roundFaults, roundInterruption, type Command } from './moves.js';
import { ChaosWorld, type CommandResult } from './world.js';

export interface ChaosOptions {
  readonly seed: number;
  readonly rounds: number;
  /** A clean full refresh (and the reconciliation check) every this many rounds, and at the end. */
  readonly cleanEvery: number;
  readonly log: (line: string) => void;
}

export interface ChaosReport {
  readonly seed: number;
  readonly rounds: number;
  readonly commands: Record<string, number>;
  readonly faults: Record<string, number>;
  readonly interruptions: Record<string, number>;
  readonly exitCodes: Record<string, number>;
  readonly cleanRefreshes: number;
  readonly changes: number;
  readonly tally: Tallies;
  readonly seconds: number;
  readonly problems: readonly string[];
}

const VOUCHERS_PER_CHAIN = 600;

/** A CSV an operator downloaded by hand, with the export's true time. */
interface HandFile {
  readonly path: string;
  readonly chain: number;
  readonly exportedAt: string;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = performance.now();
  const rng = new Rng(options.seed, 0xc4a05);
  const world = await ChaosWorld.start(options.seed);
  const tally = newTallies();
  const count = (map: Record<string, number>, key: string) => (map[key] = (map[key] ?? 0) + 1);
  const commands: Record<string, number> = {};
  const faults: Record<string, number> = {};
  const interruptions: Record<string, number> = {};
  const exitCodes: Record<string, number> = {};
  const problems: string[] = [];
  const seen = new Map<number, Set<number>>();
  const ownDescs = new Set<string>();
  const files: HandFile[] = [];
  let changes = 0;
  let cleanRefreshes = 0;
  const fail = (round: number | string, found: string[]) => {
    for (const p of found) problems.push(`seed ${options.seed}, round ${round}: ${p}`);
  };

  try {
    const first = await world.run(['sync']);
    if (first.code !== 0) throw new Error(`seed ${options.seed}: the first sync failed: ${first.stderr}`);
    await checkRound(world, [first], seen, tally, ownDescs);

    for (let round = 1; round <= options.rounds && problems.length === 0; round++) {
      changes += activity(world.sim, rng);
      world.sim.advance(rng.int(60, 20 * 60));
      const planned = roundFaults(rng, VOUCHERS_PER_CHAIN);
      const command = roundCommand(rng, world.sim);
      let { interruption, failpoint } = roundInterruption(rng);
      // A database restart costs seconds: the CI-sized run has one for sure, on a chosen round.
      if (round === 3) {
        interruption = { kind: 'restart-database', afterMs: rng.int(300, 1500) };
        failpoint = null;
      }
      for (const name of planned.names) count(faults, name);
      count(commands, command.name);
      if (interruption) count(interruptions, interruption.kind);
      if (failpoint) count(interruptions, `failpoint ${failpoint}`);
      world.sim.setDialect(planned.dialect);
      // A file downloaded by hand comes before the faults: they are the tool's to meet, not the test's.
      const args = command.kind === 'cli' ? command.args : await loadFileArgs(world, command, round, rng, files, ownDescs);
      world.sim.setFaults(planned.rules);
      const result = await world.run(args, { interruption, ...(failpoint ? { env: { SPAAZA_SYNC_FAILPOINT: failpoint } } : {}) });
      const outcome = result.signal ?? String(result.code);
      count(exitCodes, `${command.name} ${outcome}`);
      options.log(
        `round ${round}: ${args.slice(0, 2).join(' ')}${planned.names.length ? ` [${planned.names.join(', ')}]` : ''}${interruption ? ` ${interruption.kind}@${interruption.afterMs}ms` : ''}${failpoint ? ` ${failpoint}` : ''} -> ${outcome}`,
      );
      world.sim.setFaults([]);
      world.sim.setDialect(DEFAULT_DIALECT);
      fail(round, expectedExit(command, result, interruption !== null || failpoint !== null));
      fail(round, await checkRound(world, [result], seen, tally, ownDescs));

      if (round % options.cleanEvery === 0 || round === options.rounds) {
        cleanRefreshes += 1;
        fail(`${round} (clean)`, await cleanFullRefresh(world, seen, tally, ownDescs));
      }
    }
  } finally {
    await world.close();
    await Promise.all(files.map((f) => rm(f.path, { force: true })));
  }
  return { seed: options.seed, rounds: options.rounds, commands, faults, interruptions, exitCodes, cleanRefreshes, changes, tally, seconds: (performance.now() - started) / 1000, problems };
}

/**
 * Exit codes a command may end with: 0, 1 (a run failed), 3 (the chain was locked, e.g. by a
 * killed run's connection not yet gone), the signal the test sent, and 2 only for the future
 * `--exported-at` of load-file, which it must refuse.
 */
function expectedExit(command: Command, result: CommandResult, interrupted: boolean): string[] {
  if (command.kind === 'load-file' && command.exportedAt === 'future') {
    return result.code === 2 || result.signal !== null ? [] : [`load-file with an --exported-at in the future exited ${result.code}, not 2: ${result.stderr.slice(-300)}`];
  }
  if (result.signal !== null) return interrupted ? [] : [`${command.name} died of ${result.signal} unprovoked`];
  if ([0, 1, 3].includes(result.code ?? -1)) return [];
  return [`${command.name} exited ${result.code}: ${result.stderr.slice(-400)}`];
}

/** A CSV downloaded by hand (an export of either chain, or an older one kept from before) and its load-file arguments. */
async function loadFileArgs(world: ChaosWorld, command: Extract<Command, { kind: 'load-file' }>, round: number, rng: Rng, files: HandFile[], ownDescs: Set<string>): Promise<string[]> {
  let file: HandFile;
  if (command.exportedAt === 'older' && files.length > 0) {
    file = rng.pick(files);
  } else {
    const chain = rng.pick([...world.sim.chainIds]);
    const desc = `chaos hand export ${round}`;
    ownDescs.add(desc);
    const exported = await runExportFile(world.sim, { chain, desc });
    file = { path: path.join(tmpdir(), `spaaza-chaos-${process.pid}-${round}.csv`), chain, exportedAt: exported.task.state.last_run_date ?? exported.task.state.created_date };
    await writeFile(file.path, exported.bytes);
    files.push(file);
  }
  const exportedAt = command.exportedAt === 'future' ? '2062-05-26T12:00:00Z' : file.exportedAt;
  return ['load-file', file.path, '--chain', String(file.chain), '--exported-at', exportedAt];
}

/** No faults, no interruption, an hour later (older snapshots are not enough): it must reconcile. */
async function cleanFullRefresh(world: ChaosWorld, seen: Map<number, Set<number>>, tally: Tallies, ownDescs: ReadonlySet<string>): Promise<string[]> {
  world.sim.advance(61 * 60);
  let result: CommandResult | null = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    result = await world.run(['full-refresh']);
    if (result.code !== 3) break; // a killed run's connection may hold the chain for a moment
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  if (result!.code !== 0) return [`the clean full refresh exited ${result!.code}: ${result!.stdout.slice(-600)} ${result!.stderr.slice(-600)}`];
  const status = await world.run(['status', '--json']);
  const problems = [...(await checkRound(world, [result!, status], seen, tally, ownDescs)), ...(await checkReconciled(world, tally))];
  if (status.code !== 0) problems.push(`status after a clean full refresh exited ${status.code}: ${status.stdout.slice(-600)}`);
  return problems;
}
