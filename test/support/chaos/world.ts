/**
 * The chaos test's world: a PostgreSQL server of its own (so it can be restarted), a simulator on
 * this host's clock, and the CLI as a real process that the test can kill, interrupt, or cut off
 * from its database at any moment.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../../src/log.js';
import { startSimulator, type Simulator } from '../../../src/simulator/simulator.js';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../../src/warehouse/embedded-postgres.js';
import { migrateToLatest } from '../../../src/warehouse/migrate.js';
import { openWarehouse, type Warehouse } from '../../../src/warehouse/warehouse.js';
import { fileURLToPath } from 'node:url';

export const SCHEMA = 'chaos';

/** The CLI's entry point and tsx's loader by absolute path: the commands run in a folder of their own. */
const CLI = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

export interface CommandResult {
  readonly args: readonly string[];
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Something done to a command while it runs, `afterMs` after it started. */
export type Interruption =
  | { readonly kind: 'SIGKILL' | 'SIGTERM'; readonly afterMs: number }
  | { readonly kind: 'terminate-backends'; readonly afterMs: number }
  | { readonly kind: 'restart-database'; readonly afterMs: number };

export class ChaosWorld {
  private constructor(
    readonly sim: Simulator,
    private server: EmbeddedServer,
    /** The test's own connections, for checks: never the tool's. */
    readonly warehouse: Warehouse,
    private readonly root: string,
    readonly env: Readonly<Record<string, string>>,
    /** The commands' working folder: whatever the tool writes there is checked for secrets. */
    readonly workDir: string,
  ) {}

  static async start(seed: number): Promise<ChaosWorld> {
    const root = await mkdtemp(path.join(tmpdir(), 'spaaza-chaos-'));
    await chmod(root, 0o755); // the server may run as the postgres user
    const server = await startEmbeddedPostgres(root, silentLogger);
    const warehouse = await openWarehouse({ databaseUrl: server.connectionString, logger: silentLogger });
    await migrateToLatest(warehouse.db, SCHEMA);
    const sim = await startSimulator({ seed, chains: 2, vouchersPerChain: 600, historyDays: 60, startMs: Math.floor(Date.now() / 1000) * 1000, clockRate: 0, taskDurationMs: 0, tickMs: 5 });
    const shared = sim.tokens.at(-1)!;
    const env = {
      DATABASE_URL: server.connectionString,
      SPAAZA_BASE_URL: sim.url,
      SPAAZA_TOKEN_ID: shared.id,
      SPAAZA_TOKEN_SECRET: shared.secret,
      SPAAZA_CHAIN_IDS: sim.chainIds.join(','),
      SPAAZA_SCHEMA: SCHEMA,
      SPAAZA_BACKFILL_START_DATE: '',
      SPAAZA_MAX_WINDOW_DAYS: '10',
      SPAAZA_POLL_INITIAL: '20ms',
      SPAAZA_POLL_MAX_INTERVAL: '100ms',
      SPAAZA_POLL_DEADLINE: '5s',
      SPAAZA_REQUEST_TIMEOUT: '3s',
      SPAAZA_HTTP_RETRIES: '2',
      SPAAZA_DOWNLOAD_ATTEMPTS: '2',
      SPAAZA_MERGE_BATCH_ROWS: '200',
      // Small, so that a hostile huge field is cut without hundreds of megabytes per round.
      SPAAZA_MAX_RECORD_BYTES: '65536',
      // The simulated clock moves ahead of this host's by hours over the rounds; the clock jumps
      // the test injects are a month and more, so they stay beyond this bound.
      SPAAZA_MAX_CLOCK_SKEW: '20d',
    };
    const workDir = path.join(root, 'work');
    await mkdir(workDir);
    return new ChaosWorld(sim, server, warehouse, root, env, workDir);
  }

  /** The database password: a secret no output or table may hold. */
  get databasePassword(): string {
    return new URL(this.server.connectionString).password;
  }

  /** Runs the CLI to its end, doing `interruption` to it on the way. */
  async run(args: readonly string[], options: { env?: Record<string, string>; interruption?: Interruption | null; stdin?: string } = {}): Promise<CommandResult> {
    const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
      cwd: this.workDir,
      env: { PATH: process.env.PATH ?? '', HOME: this.workDir, ...this.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.stdin.end(options.stdin ?? '');
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    const interruption = options.interruption;
    let interfering: Promise<void> = Promise.resolve();
    if (interruption) {
      const timer = new Promise<void>((resolve) => setTimeout(resolve, interruption.afterMs));
      interfering = Promise.race([timer.then(() => true), exited.then(() => false)]).then(async (running) => {
        if (!running) return;
        if (interruption.kind === 'SIGKILL' || interruption.kind === 'SIGTERM') child.kill(interruption.kind);
        else if (interruption.kind === 'terminate-backends') await this.terminateBackends();
        else await this.restartDatabase();
      });
    }
    const { code, signal } = await exited;
    await interfering;
    return { args, code, signal, stdout, stderr };
  }

  /** Every file the commands wrote in their working folder (and home), with its content. */
  async writtenFiles(): Promise<{ path: string; text: string }[]> {
    const files: { path: string; text: string }[] = [];
    for (const entry of await readdir(this.workDir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const file = path.join(entry.parentPath, entry.name);
      files.push({ path: file, text: await readFile(file, 'utf8').catch(() => '') });
    }
    return files;
  }

  /** Ends every connection of the tool (not the test's own) as an administrator would. */
  async terminateBackends(): Promise<void> {
    await this.warehouse.pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'spaaza-sync' AND pid <> pg_backend_pid() AND datname = current_database()`).catch(() => {});
  }

  /** Stops the server and starts it again on the same port, as a failover would. */
  async restartDatabase(): Promise<void> {
    await this.server.stop();
    await new Promise((resolve) => setTimeout(resolve, 500));
    this.server = await startEmbeddedPostgres(this.root, silentLogger, { port: this.server.port });
    // The test's own pool reconnects on its next query.
    await this.waitForDatabase();
  }

  private async waitForDatabase(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.warehouse.pool.query('SELECT 1');
        return;
      } catch (error) {
        if (attempt > 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  async close(): Promise<void> {
    await this.sim.close();
    await this.warehouse.close().catch(() => {});
    await this.server.stop().catch(() => {});
    await rm(this.root, { recursive: true, force: true });
  }
}
