/**
 * Spaaza's clock for the commands that judge the warehouse against it (`status`, `check`,
 * `reset`): one cheap authenticated call, its `Date` header validated against this host's clock.
 * When Spaaza cannot be asked (or its clock is beyond the bound), this host's clock stands in,
 * with the bound as tolerance, and the reading says so.
 */
import type { SyncConfig } from '../config/index.js';
import { ROUNDING_MS } from '../extract/spaaza-time.js';
import { TasksClient } from '../extract/tasks-client.js';
import type { Logger } from '../log.js';

export interface ClockReading {
  /** The instant a watermark or a row version is compared with. */
  readonly now: Date;
  /** `spaaza`: its validated Date header; `host`: this machine's clock stands in. */
  readonly source: 'spaaza' | 'host';
  /** Spaaza's clock minus this host's, when Spaaza answered. */
  readonly skewMs: number | null;
  /** Anything later than `now` plus this cannot be right. */
  readonly toleranceMs: number;
  /** Why this host's clock stands in, or what is wrong with Spaaza's. */
  readonly problem: string | null;
}

export async function readSpaazaClock(config: SyncConfig, chain: SyncConfig['spaaza']['chains'][number], logger: Logger): Promise<ClockReading> {
  const api = new TasksClient({
    baseUrl: config.spaaza.baseUrl,
    tokenId: chain.token.id,
    tokenSecret: chain.token.secret,
    chainId: chain.id,
    logger,
    retries: 0,
    requestTimeoutMs: Math.min(config.extract.requestTimeoutMs, 10_000),
    maxClockSkewMs: config.sync.maxClockSkewMs,
    maxResponseBytes: config.extract.maxResponseBytes,
  });
  const host = (problem: string, skewMs: number | null): ClockReading => ({ now: new Date(), source: 'host', skewMs, toleranceMs: config.sync.maxClockSkewMs, problem });
  try {
    await api.listTasks({ action: 'export', limit: 1, offset: 0 });
  } catch (error) {
    return host(`Spaaza did not answer (${(error as Error).message}); this machine's clock stands in`, null);
  } finally {
    await api.close();
  }
  try {
    const now = api.serverNow();
    if (now === null) return host("Spaaza's answer had no Date header; this machine's clock stands in", null);
    return { now, source: 'spaaza', skewMs: api.skewMs(), toleranceMs: ROUNDING_MS, problem: null };
  } catch (error) {
    return host((error as Error).message, api.skewMs());
  }
}

/** `now` plus the tolerance: the latest instant a version or watermark may carry. */
export function latestPossible(clock: ClockReading): Date {
  return new Date(clock.now.getTime() + clock.toleranceMs);
}
