/** The configuration: loaded once by the CLI, then passed down as a frozen SyncConfig. */
export { loadConfig, loadWarehouseConfig, type LoadConfigOptions, type WarehouseConfig } from './load-config.js';
export { redactConfig, redactDatabaseUrl, REDACTED } from './redact.js';
export type { SyncConfig, ChainSettings } from './schema.js';
export { ENV_VARS, type EnvVar, type EnvVarFormat } from './env-vars.js';
export { CONFIG_DEFAULTS } from './defaults.js';
export { DEFAULT_CONFIG_PATH } from './config-file.js';
export { FAILPOINT_NAMES, FAILPOINT_ACTIONS, type Failpoint, type FailpointName, type FailpointAction } from './failpoint.js';
export { parseDuration, formatDuration } from './durations.js';
