/**
 * Default values of every knob, written as they are in the config file (durations as text,
 * dates as ISO strings). The schema parses them like user input, and the example file shows them.
 */
import { DEFAULTS } from '../defaults.js';

export const CONFIG_DEFAULTS = Object.freeze({
  schema: DEFAULTS.schema,
  sync: Object.freeze({
    lookback: '2h',
    settle: '10m',
    maxWindowDays: 31,
    backfillStartDate: null,
    resumeMaxAge: '24h',
    maxRejectRatio: DEFAULTS.maxRejectRatio,
    noExpiryFrom: DEFAULTS.noExpiryFrom.toISOString().replace('.000Z', 'Z'),
    dateFields: Object.freeze(['date_time_creation', 'date_time_redeemed']),
    mergeBatchRows: DEFAULTS.mergeBatchRows,
    maxClockSkew: '15m',
    maxRecordBytes: DEFAULTS.maxRecordBytes,
    loadPath: 'auto' as 'auto' | 'reference',
  }),
  extract: Object.freeze({
    pollInitial: '250ms',
    pollMaxInterval: '60s',
    pollDeadline: '60m',
    abandonAfterDeadlines: 2,
    downloadAttempts: 3,
    requestTimeout: '30s',
    executeTimeout: '15m',
    httpRetries: 5,
    maxResponseBytes: 8 * 1024 * 1024,
  }),
  fullRefresh: Object.freeze({
    maxDeleteRatio: 0.1,
    maxAge: '1h',
  }),
  schedule: Object.freeze({
    incrementalCron: '*/15 * * * *',
    fullRefreshCron: '0 3 * * *',
    timezone: 'UTC',
    parallelChains: 1,
    openRefreshCron: null as string | null,
    openRefreshExpiringWithin: '14d',
    openRefreshCreatedWithin: '30d',
  }),
  failpoint: null,
});
