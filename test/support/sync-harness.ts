/**
 * A simulator and a warehouse schema wired together for sync tests: the configuration a user
 * would give through the environment, an in-process `runSync`, and the CLI as a real process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { loadConfig, type SyncConfig } from '../../src/config/index.js';
import { testLoadPath } from './load.js';
import { createLogger, type Logger } from '../../src/log.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/simulator.js';
import { runSync, type SyncReport, type SyncRequest } from '../../src/sync/run-sync.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { connectionStringOf } from './warehouse.js';

export const START = Date.UTC(2026, 4, 26, 12, 0, 0);

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Harness {
  readonly sim: Simulator;
  readonly env: Record<string, string>;
  /** Every log line written by in-process runs (for the secrets check). */
  readonly lines: string[];
  readonly logger: Logger;
  config(extra?: Record<string, string>): Promise<SyncConfig>;
  sync(request: SyncRequest['command'], extra?: Record<string, string>, chainId?: number): Promise<SyncReport>;
  cli(args: string[], extra?: Record<string, string>): Promise<CliResult>;
  /** The CLI as a process the test can signal; `done` settles when it has exited. */
  spawn(args: string[], extra?: Record<string, string>): { child: ChildProcess; done: Promise<CliResult> };
  close(): Promise<void>;
}

/** A frozen simulator clock and instant tasks: every run is deterministic. */
export async function startHarness(warehouse: Warehouse, schema: string, options: Partial<SimulatorOptions> = {}, env: Record<string, string> = {}): Promise<Harness> {
  const sim = await startSimulator({ vouchersPerChain: 1500, historyDays: 60, startMs: START, clockRate: 0, taskDurationMs: 0, tickMs: 5, ...options });
  const shared = sim.tokens.at(-1)!;
  const baseEnv: Record<string, string> = {
    SPAAZA_BASE_URL: sim.url,
    SPAAZA_TOKEN_ID: shared.id,
    SPAAZA_TOKEN_SECRET: shared.secret,
    SPAAZA_CHAIN_IDS: sim.chainIds.join(','),
    SPAAZA_SCHEMA: schema,
    SPAAZA_BACKFILL_START_DATE: new Date(START - 61 * 86_400_000).toISOString().slice(0, 10),
    SPAAZA_MAX_WINDOW_DAYS: '10',
    SPAAZA_POLL_INITIAL: '20ms',
    SPAAZA_POLL_MAX_INTERVAL: '100ms',
    SPAAZA_POLL_DEADLINE: '20s',
    SPAAZA_REQUEST_TIMEOUT: '5s',
    // Small merge batches, so that every sync test also goes through many batches and the read-ahead.
    SPAAZA_MERGE_BATCH_ROWS: '250',
    // The CI pass's load path: the sync, reliability and chaos suites run on both.
    SPAAZA_LOAD_PATH: testLoadPath(),
    // The simulator's clock is frozen in May 2026, far from this host's: these tests set the bound
    // for themselves. The guard's own tests (and the chaos test) run a simulator on the host's clock.
    SPAAZA_MAX_CLOCK_SKEW: '3650d',
    ...env,
  };
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', format: 'json', write: (line) => lines.push(line) });
  const config = (extra: Record<string, string> = {}) => loadConfig({ env: { ...baseEnv, ...extra }, cwd: '/' });
  const spawnCli = (args: string[], extra: Record<string, string> = {}) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...baseEnv, DATABASE_URL: connectionStringOf(warehouse), ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d));
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
    return { child, done };
  };
  return {
    sim,
    env: baseEnv,
    lines,
    logger,
    config,
    async sync(command, extra = {}, chainId) {
      return runSync(await config(extra), { command, ...(chainId ? { chainId } : {}) }, { warehouse, logger, signal: new AbortController().signal });
    },
    cli: (args, extra = {}) => spawnCli(args, extra).done,
    spawn: spawnCli,
    close: () => sim.close(),
  };
}
