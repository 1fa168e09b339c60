/** The Tasks API client of one configured chain: its token, and the configured timeouts, retries and bounds. */
import type { SyncConfig } from '../config/index.js';
import { TasksClient, type TasksClientOptions } from '../extract/tasks-client.js';
import type { Logger } from '../log.js';

export type ConfiguredChain = SyncConfig['spaaza']['chains'][number];

export function tasksClientFor(config: SyncConfig, chain: ConfiguredChain, logger: Logger, overrides: Partial<TasksClientOptions> = {}): TasksClient {
  return new TasksClient({
    baseUrl: config.spaaza.baseUrl,
    tokenId: chain.token.id,
    tokenSecret: chain.token.secret,
    chainId: chain.id,
    logger,
    requestTimeoutMs: config.extract.requestTimeoutMs,
    executeTimeoutMs: config.extract.executeTimeoutMs,
    retries: config.extract.httpRetries,
    maxClockSkewMs: config.sync.maxClockSkewMs,
    maxResponseBytes: config.extract.maxResponseBytes,
    ...overrides,
  });
}
