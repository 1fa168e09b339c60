/**
 * Spaaza's clock for the commands that judge the warehouse against it (`status`, `check`,
 * `reset`): one cheap authenticated call, its `Date` header validated against this host's clock.
 * When Spaaza cannot be asked (or its clock is beyond the bound), this host's clock stands in,
 * with the bound as tolerance, and the reading says so.
 */
import type { SyncConfig } from '../config/index.js';
import type { SpaazaClockReading } from '../extract/server-clock.js';
import type { TasksClient } from '../extract/tasks-client.js';
import type { Logger } from '../log.js';
import { tasksClientFor, type ConfiguredChain } from './chain-client.js';

export interface ClockReading extends SpaazaClockReading {
  /** Spaaza's clock minus this host's, when Spaaza answered. */
  readonly skewMs: number | null;
  /** Why this host's clock stands in, or what is wrong with Spaaza's. */
  readonly problem: string | null;
}

export async function readSpaazaClock(config: SyncConfig, chain: ConfiguredChain, logger: Logger): Promise<ClockReading> {
  const api = tasksClientFor(config, chain, logger, { retries: 0, requestTimeoutMs: Math.min(config.extract.requestTimeoutMs, 10_000) });
  try {
    await api.listTasks({ action: 'export', limit: 1, offset: 0 });
  } catch (error) {
    return { now: new Date(), source: 'host', toleranceMs: config.sync.maxClockSkewMs, skewMs: null, problem: `Spaaza did not answer (${(error as Error).message}); this machine's clock stands in` };
  } finally {
    await api.close();
  }
  return clockOf(api, config.sync.maxClockSkewMs);
}

/** The clock as `api`'s latest answer tells it; this host's, with the bound, when that answer's clock is beyond it. */
export function clockOf(api: TasksClient, maxClockSkewMs: number): ClockReading {
  try {
    const reading = api.spaazaClock();
    if (reading.source === 'spaaza') return { ...reading, skewMs: api.skewMs(), problem: null };
    return { ...reading, skewMs: null, problem: "Spaaza's answer had no readable Date header; this machine's clock stands in" };
  } catch (error) {
    return { now: new Date(), source: 'host', toleranceMs: maxClockSkewMs, skewMs: api.skewMs(), problem: (error as Error).message };
  }
}

/** `now` plus the tolerance: the latest instant a version or watermark may carry. */
export function latestPossible(clock: ClockReading): Date {
  return new Date(clock.now.getTime() + clock.toleranceMs);
}
