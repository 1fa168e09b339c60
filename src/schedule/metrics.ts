/**
 * Prometheus metrics of the `schedule` daemon, served by `health-server.ts` on `--metrics-port`.
 * Each daemon gets its own Registry (never prom-client's global one), holding the process's
 * default metrics (CPU, memory, event loop, handles…) and the sync metrics below. Recording never
 * throws: a value that is negative or not finite is dropped, so metrics cannot fail a sync.
 *
 *   spaaza_sync_runs_total{chain,mode,outcome}              counter: chain runs by outcome (ok|failed|locked)
 *   spaaza_sync_rows_total{chain,kind}                      counter: rows by kind (read|inserted|updated|unchanged|rejected|deleted)
 *   spaaza_sync_rejects_total{chain}                        counter: rows rejected by validation
 *   spaaza_sync_window_duration_seconds{mode}               histogram: one committed window, export to commit
 *   spaaza_sync_export_wait_seconds{mode}                   histogram: export task created → DONE
 *   spaaza_sync_http_retries_total{endpoint,status}         counter: retried Spaaza calls (status = HTTP status or network error code)
 *   spaaza_sync_last_success_timestamp_seconds{chain}       gauge: Unix time of the chain's last successful run
 *   spaaza_sync_freshness_lag_seconds{chain}                gauge: warehouse lag behind Spaaza, asked for at scrape time (+Inf when the watermark is ahead of the clock)
 *   spaaza_sync_ahead_of_clock{chain,what}                  gauge: watermark (0/1) or voucher rows (count) dated after the clock: an error
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface FreshnessSample {
  readonly chainId: number;
  /** Seconds the warehouse is behind; null when unknown (e.g. never synced): no sample then; +Inf when its watermark is ahead of the clock. */
  readonly lagSeconds: number | null;
  /** What a wrong clock reading left after the clock: the watermark, and voucher rows. */
  readonly aheadOfClock?: { readonly watermark: boolean; readonly rows: number };
}

export interface MetricsOptions {
  /** Asked at each scrape for the freshness gauge; a failure (or a timeout) keeps the last values. */
  readonly freshness: () => Promise<ReadonlyArray<FreshnessSample>>;
  /** How long a scrape waits for `freshness()` before keeping the last values (default 5 s). */
  readonly freshnessTimeoutMs?: number;
}

export interface RunFinished {
  readonly chainId: number;
  readonly mode: string;
  readonly status: 'ok' | 'failed' | 'locked';
}

export interface WindowCommitted {
  readonly chainId: number;
  readonly mode: string;
  /** The window's whole duration, export to commit. */
  readonly seconds: number;
  /** From the export task's creation to its DONE state. */
  readonly exportWaitSeconds: number;
  readonly rowsRead: number;
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly rejected: number;
  readonly deleted: number;
}

export interface HttpRetry {
  readonly endpoint: string;
  readonly status?: number;
  readonly code?: string;
}

export interface SyncMetrics {
  /** This daemon's own registry, with the default process metrics. */
  readonly registry: Registry;
  /** spaaza_sync_runs_total{chain,mode,outcome} */
  runFinished(outcome: RunFinished): void;
  /** spaaza_sync_rows_total, spaaza_sync_rejects_total, and the two duration histograms. */
  windowCommitted(w: WindowCommitted): void;
  /** spaaza_sync_http_retries_total{endpoint,status}; fits TasksClient's `onRetry`. */
  httpRetry(info: HttpRetry): void;
  /** spaaza_sync_last_success_timestamp_seconds{chain} */
  lastSuccess(chainId: number, at: Date): void;
}

/** 0.1 s to 1 h: a small incremental window takes seconds, a full refresh can take most of an hour. */
export const DURATION_BUCKETS: readonly number[] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];

const ROW_KINDS = ['read', 'inserted', 'updated', 'unchanged', 'rejected', 'deleted'] as const;

const DEFAULT_FRESHNESS_TIMEOUT_MS = 5_000;

export function createMetrics(options: MetricsOptions): SyncMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const runs = new Counter({
    name: 'spaaza_sync_runs_total',
    help: 'Chain runs finished by the scheduler, by chain, mode (incremental|backfill|full-refresh) and outcome (ok; failed: a window or the run failed; locked: skipped because another run held the chain).',
    labelNames: ['chain', 'mode', 'outcome'] as const,
    registers,
  });
  const rows = new Counter({
    name: 'spaaza_sync_rows_total',
    help: 'Voucher rows handled in committed windows, by chain and kind: read from the export file, inserted, updated, unchanged, rejected by validation, deleted by a full refresh.',
    labelNames: ['chain', 'kind'] as const,
    registers,
  });
  const rejects = new Counter({
    name: 'spaaza_sync_rejects_total',
    help: 'Voucher rows rejected by validation (kept out of the warehouse) in committed windows, by chain.',
    labelNames: ['chain'] as const,
    registers,
  });
  const windowDuration = new Histogram({
    name: 'spaaza_sync_window_duration_seconds',
    help: 'Wall time of one committed sync window, from creating its export task to committing its rows, by mode.',
    labelNames: ['mode'] as const,
    buckets: [...DURATION_BUCKETS],
    registers,
  });
  const exportWait = new Histogram({
    name: 'spaaza_sync_export_wait_seconds',
    help: "Time Spaaza took to prepare an export file: from the export task's creation to its DONE state, by mode.",
    labelNames: ['mode'] as const,
    buckets: [...DURATION_BUCKETS],
    registers,
  });
  const retries = new Counter({
    name: 'spaaza_sync_http_retries_total',
    help: 'Spaaza API calls that failed and were retried, by endpoint and status (the HTTP status, or the network error code such as ECONNRESET).',
    labelNames: ['endpoint', 'status'] as const,
    registers,
  });
  const lastSuccessGauge = new Gauge({
    name: 'spaaza_sync_last_success_timestamp_seconds',
    help: 'Unix time (seconds) at which the last successful run of the chain finished; alert when time() minus this grows too large.',
    labelNames: ['chain'] as const,
    registers,
  });

  registerFreshnessGauges(registers, options);

  return {
    registry,
    runFinished(outcome) {
      runs.inc({ chain: String(outcome.chainId), mode: outcome.mode, outcome: outcome.status });
    },
    windowCommitted(w) {
      const chain = String(w.chainId);
      const counts: Record<(typeof ROW_KINDS)[number], number> = {
        read: w.rowsRead,
        inserted: w.inserted,
        updated: w.updated,
        unchanged: w.unchanged,
        rejected: w.rejected,
        deleted: w.deleted,
      };
      for (const kind of ROW_KINDS) {
        if (countable(counts[kind])) rows.inc({ chain, kind }, counts[kind]);
      }
      if (countable(w.rejected)) rejects.inc({ chain }, w.rejected);
      if (countable(w.seconds)) windowDuration.observe({ mode: w.mode }, w.seconds);
      if (countable(w.exportWaitSeconds)) exportWait.observe({ mode: w.mode }, w.exportWaitSeconds);
    },
    httpRetry(info) {
      retries.inc({ endpoint: info.endpoint, status: info.status !== undefined ? String(info.status) : (info.code ?? 'error') });
    },
    lastSuccess(chainId, at) {
      const seconds = at.getTime() / 1000;
      if (Number.isFinite(seconds)) lastSuccessGauge.set({ chain: String(chainId) }, seconds);
    },
  };
}

/**
 * The gauges measured at scrape time. One read of the warehouse per scrape feeds both: a scrape
 * collects metrics in the order they were registered, so the freshness gauge asks and the
 * ahead-of-clock gauge reuses the answer.
 */
function registerFreshnessGauges(registers: Registry[], options: MetricsOptions): void {
  const freshnessTimeoutMs = options.freshnessTimeoutMs ?? DEFAULT_FRESHNESS_TIMEOUT_MS;
  let latest: Promise<ReadonlyArray<FreshnessSample>> | null = null;
  const samples = (ask: boolean) => {
    if (ask || latest === null) latest = withTimeout(Promise.resolve().then(() => options.freshness()), freshnessTimeoutMs);
    return latest;
  };
  new Gauge({
    name: 'spaaza_sync_freshness_lag_seconds',
    help: "How far the warehouse's vouchers are behind Spaaza, in seconds, by chain, measured at scrape time; a chain that was never synced has no sample.",
    labelNames: ['chain'] as const,
    registers,
    async collect() {
      let found: ReadonlyArray<FreshnessSample>;
      try {
        found = await samples(true);
      } catch {
        return; // keep the last values: a scrape must not fail because the warehouse is slow or down
      }
      this.reset();
      for (const s of found) {
        if (s.lagSeconds !== null && !Number.isNaN(s.lagSeconds)) this.set({ chain: String(s.chainId) }, s.lagSeconds);
      }
    },
  });
  new Gauge({
    name: 'spaaza_sync_ahead_of_clock',
    help: "Bookkeeping a wrong clock reading dated after the clock, by chain and what: watermark (1 when it is ahead) or rows (voucher rows whose version is ahead). Any value above 0 is an error; repair with spaaza-sync reset.",
    labelNames: ['chain', 'what'] as const,
    registers,
    async collect() {
      let found: ReadonlyArray<FreshnessSample>;
      try {
        found = await samples(false);
      } catch {
        return;
      }
      this.reset();
      for (const s of found) {
        if (!s.aheadOfClock) continue;
        this.set({ chain: String(s.chainId), what: 'watermark' }, s.aheadOfClock.watermark ? 1 : 0);
        this.set({ chain: String(s.chainId), what: 'rows' }, s.aheadOfClock.rows);
      }
    },
  });
}

function countable(value: number): boolean {
  return Number.isFinite(value) && value >= 0;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms); // cleared below, so never left behind
  });
  promise.catch(() => {}); // a late failure after the timeout must not become an unhandled rejection
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
