/**
 * The Spaaza Tasks API simulator: a real HTTP server over a seeded, changing voucher data set,
 * with a controllable clock (sent in the `Date` header), pre-signed storage and fault injection.
 * `startSimulator()` returns a handle for tests and the CLI; the same controls are served over
 * HTTP under `/_control`, guarded by the admin token.
 */
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger, type Logger } from '../log.js';
import { TokenTable, type AccessToken } from './auth.js';
import { VirtualClock } from './clock.js';
import { handleControlApi } from './control-api.js';
import type { RelativeReading } from './segment.js';
import { CsvWriter, DEFAULT_DIALECT, type CsvDialect } from './csv-dialect.js';
import { Dataset } from './dataset.js';
import { csvChunks, selectedVouchers } from './export-file.js';
import { FaultPlan, type FaultPoint, type FaultRule } from './faults.js';
import { HttpError } from './http-error.js';
import { sendError } from './http.js';
import { Rng } from './random.js';
import { STORAGE_PREFIX, Storage } from './storage.js';
import { handleTasksApi } from './tasks-api.js';
import { TaskStore } from './tasks.js';
import type { Voucher } from './voucher.js';

export interface SimulatorOptions {
  /** 0 picks a free port. */
  readonly port: number;
  readonly host: string;
  readonly seed: number;
  /** Chain ids to simulate; default: `chains` ids counting up from 1764. */
  readonly chainIds?: readonly number[];
  readonly chains: number;
  readonly vouchersPerChain: number;
  /** The seeded vouchers were created over this many days before the start. */
  readonly historyDays: number;
  /**
   * The clock's initial instant (ms); all base data lies before it. Default: this host's time,
   * floored to whole seconds, since real Spaaza's clock is the real time.
   */
  readonly startMs?: number;
  /** Virtual ms per real ms; 0 freezes the clock (move it with `advance`). */
  readonly clockRate: number;
  /** Virtual time an export task spends INPROGRESS. */
  readonly taskDurationMs: number;
  readonly urlTtlSeconds: number;
  /** How long `POST /tasks/{id}/execute` may block (real ms). */
  readonly executeTimeoutMs: number;
  /** Where export files are rendered; default a fresh temp folder, removed on close. */
  readonly storageDir?: string;
  readonly dialect: CsvDialect;
  /** How `relative_less_than` is read: |field − now| < N (`around-now`, default) or field > now − N (`since`). */
  readonly relativeReading: RelativeReading;
  readonly faults: readonly FaultRule[];
  readonly tickMs: number;
  readonly logger: Logger;
}

export const DEFAULT_OPTIONS: SimulatorOptions = {
  port: 0,
  host: '127.0.0.1',
  seed: 1,
  chains: 2,
  vouchersPerChain: 1000,
  historyDays: 730,
  clockRate: 1,
  taskDurationMs: 1500,
  urlTtlSeconds: 3600,
  executeTimeoutMs: 15 * 60_000,
  dialect: DEFAULT_DIALECT,
  relativeReading: 'around-now',
  faults: [],
  tickMs: 20,
  logger: silentLogger,
};

/** What the route handlers share. */
export interface SimulatorState {
  readonly options: SimulatorOptions & { readonly startMs: number };
  readonly clock: VirtualClock;
  readonly dataset: Dataset;
  readonly tasks: TaskStore;
  readonly faults: FaultPlan;
  readonly storage: Storage;
  readonly tokens: TokenTable;
  readonly adminToken: string;
  dialect: CsvDialect;
  relativeReading: RelativeReading;
}

export interface Simulator {
  /** Base URL of the Services API, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly chainIds: readonly number[];
  /** One token per chain (in chain order), then one scoped to every chain. */
  readonly tokens: readonly AccessToken[];
  readonly adminToken: string;
  readonly state: SimulatorState;
  /** `Bearer <id>:<secret>` for the token of `chainId` (or the all-chains token without one). */
  bearer(chainId?: number): string;
  now(): Date;
  advance(seconds: number): void;
  setFaults(rules: readonly FaultRule[]): void;
  calls(): Record<FaultPoint, number>;
  setDialect(dialect: Partial<CsvDialect>): void;
  /** Switches how later exports read `relative_less_than`. */
  setRelativeReading(reading: RelativeReading): void;
  /** The chain's live vouchers, exactly the set an unfiltered export would hold now. */
  groundTruth(chainId: number): Generator<Voucher>;
  /** The same set as the CSV text of an unfiltered export in the default dialect. */
  groundTruthCsv(chainId: number): Generator<string>;
  readonly vouchers: VoucherControls;
  close(): Promise<void>;
}

/** Data changes, each made at the simulator's current time. */
export interface VoucherControls {
  get(id: number): Voucher;
  create(chainId: number, spec?: Parameters<Dataset['create']>[2]): Voucher;
  claim(id: number): Voucher;
  redeem(id: number, amount?: string): { voucher: Voucher; regenerated: Voucher | null };
  lock(id: number, locked: boolean): Voucher;
  setExpiry(id: number, expiresAt: Date | null): Voucher;
  delete(id: number): Voucher;
}

export async function startSimulator(overrides: Partial<SimulatorOptions> = {}): Promise<Simulator> {
  const options = { ...DEFAULT_OPTIONS, ...overrides, startMs: overrides.startMs ?? Math.floor(Date.now() / 1000) * 1000 };
  const chainIds = options.chainIds ?? Array.from({ length: options.chains }, (_, k) => 1764 + k);
  const storageDir = options.storageDir ?? (await mkdtemp(path.join(tmpdir(), 'spaaza-sim-')));
  await mkdir(storageDir, { recursive: true });

  const clock = new VirtualClock(options.startMs, options.clockRate);
  const dataset = new Dataset(options.seed, chainIds, options.vouchersPerChain, Math.floor(options.startMs / 1000), options.historyDays);
  const faults = new FaultPlan(options.seed, options.faults);
  const { table, tokens } = TokenTable.issue(options.seed, chainIds);
  let baseUrl = '';
  const state: SimulatorState = {
    options,
    clock,
    dataset,
    faults,
    tokens: table,
    adminToken: new Rng(options.seed, 0xad).hex(24),
    storage: new Storage(storageDir, () => baseUrl),
    dialect: options.dialect,
    relativeReading: options.relativeReading,
    tasks: new TaskStore({
      clock,
      dataset,
      faults,
      storageDir,
      seed: options.seed,
      taskDurationMs: options.taskDurationMs,
      dialect: () => state.dialect,
      relativeReading: () => state.relativeReading,
      onError: (error) => options.logger.error('export rendering failed', { error }),
    }),
  };

  const server = createServer((req, res) => {
    handle(state, req, res).catch((error: unknown) => {
      options.logger.error('simulator request failed', { error, url: req.url });
      if (!res.headersSent) sendError(res, new HttpError(500, 'internal_error', 'internal simulator error'));
      else res.destroy();
    });
  });
  await listen(server, options.port, options.host);
  const address = server.address() as AddressInfo;
  baseUrl = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  const ticker = setInterval(() => state.tasks.tick(), options.tickMs);
  ticker.unref();

  // Every change first lets due tasks start, so their snapshots predate it.
  const change = <T>(fn: () => T): T => {
    state.tasks.tick();
    return fn();
  };
  const nowSeconds = () => clock.nowSeconds();

  return {
    url: baseUrl,
    chainIds,
    tokens,
    adminToken: state.adminToken,
    state,
    bearer(chainId) {
      const token = chainId === undefined ? tokens[tokens.length - 1]! : tokens.find((t) => t.chainIds.length === 1 && t.chainIds[0] === chainId);
      if (!token) throw new Error(`no token for chain ${chainId}`);
      return `Bearer ${token.id}:${token.secret}`;
    },
    now: () => new Date(clock.nowMs()),
    advance: (seconds) =>
      change(() => {
        clock.advance(seconds * 1000);
        state.tasks.tick();
      }),
    setFaults: (rules) => faults.set(rules),
    calls: () => faults.calls(),
    setRelativeReading: (reading) => {
      state.relativeReading = reading;
    },
    setDialect: (dialect) => {
      const next = { ...DEFAULT_DIALECT, ...dialect };
      new CsvWriter(next, options.seed); // throws now on a column it cannot drop, not in every later export
      state.dialect = next;
    },
    groundTruth: (chainId) => change(() => selectedVouchers({ dataset, snapshot: dataset.snapshot(chainId, nowSeconds()), segment: null })),
    groundTruthCsv: (chainId) =>
      change(() =>
        csvChunks({ dataset, snapshot: dataset.snapshot(chainId, nowSeconds()), segment: null, dialect: DEFAULT_DIALECT, seed: options.seed }, { rows: 0 }),
      ),
    vouchers: {
      get: (id) => dataset.get(id),
      create: (chainId, spec) => change(() => dataset.create(chainId, nowSeconds(), spec)),
      claim: (id) => change(() => dataset.claim(id)),
      redeem: (id, amount) => change(() => dataset.redeem(id, nowSeconds(), amount)),
      lock: (id, locked) => change(() => dataset.lock(id, locked)),
      setExpiry: (id, expiresAt) => change(() => dataset.setExpiry(id, expiresAt === null ? null : Math.floor(expiresAt.getTime() / 1000))),
      delete: (id) => change(() => dataset.delete(id)),
    },
    async close() {
      clearInterval(ticker);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await state.tasks.idle(); // an export still being written would race the removal
      if (!options.storageDir) await rm(storageDir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

async function handle(state: SimulatorState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  state.tasks.tick();
  // Spaaza's clock, which clients take as "now": set as the answer is written, as a real server's
  // is, so no task date in it is later than its Date (a fast clock moves while a body is read).
  // A date fault set while handling the request wins.
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
  res.writeHead = ((...args: unknown[]) => {
    if (!res.hasHeader('Date')) res.setHeader('Date', new Date(state.clock.nowMs()).toUTCString());
    return writeHead(...args);
  }) as ServerResponse['writeHead'];
  const url = new URL(req.url ?? '/', 'http://simulator');
  try {
    if (url.pathname.startsWith(STORAGE_PREFIX)) {
      const chainOf = () => state.tasks.get(Number(/-(\d+)\./.exec(url.pathname)?.[1]))?.request.chain;
      await state.storage.serve(req, res, url, state.clock.nowSeconds(), () => state.faults.next('storage', chainOf()));
      return;
    }
    if (url.pathname === '/_control' || url.pathname.startsWith('/_control/')) {
      await handleControlApi(state, req, res, url);
      return;
    }
    if (await handleTasksApi(state, req, res, url)) return;
    throw new HttpError(404, 'not_found', `no route ${req.method} ${url.pathname}`);
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    req.resume(); // drain an unread body so the connection stays usable
    sendError(res, error);
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
