/** The configuration as it may be logged or printed: token secrets and the database password as `***`. */
import type { SyncConfig } from './schema.js';

export const REDACTED = '***';

/** A plain copy of the configuration without secrets (dates as ISO text), for logs and `check`. */
export function redactConfig(config: SyncConfig): unknown {
  return {
    databaseUrl: config.databaseUrl === null ? null : redactDatabaseUrl(config.databaseUrl),
    schema: config.schema,
    spaaza: {
      baseUrl: config.spaaza.baseUrl,
      chains: config.spaaza.chains.map((chain) => ({ id: chain.id, token: { id: chain.token.id, secret: REDACTED } })),
    },
    sync: {
      ...config.sync,
      backfillStartDate: config.sync.backfillStartDate?.toISOString() ?? null,
      noExpiryFrom: config.sync.noExpiryFrom.toISOString(),
      dateFields: [...config.sync.dateFields],
    },
    extract: { ...config.extract },
    fullRefresh: { ...config.fullRefresh },
    schedule: { ...config.schedule },
    failpoint: config.failpoint === null ? null : { ...config.failpoint },
  };
}

/** Query parameters of a connection URL that are safe to show; any other one's value is `***`. */
const SHOWN_PARAMETERS = new Set(['sslmode', 'application_name', 'connect_timeout', 'target_session_attrs', 'host', 'port', 'user', 'dbname']);

/**
 * A connection URL as it may be printed: the password (in the user part or any parameter not
 * known to be harmless) as `***`, and no fragment, which only a misplaced `#` of a password makes.
 * A URL that does not parse is not shown at all: nothing of it is known to be safe.
 */
export function redactDatabaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return REDACTED;
  }
  // An @ after the host is a password's character cut off from the user part: hide it all.
  if (/@/.test(parsed.pathname + parsed.search + parsed.hash)) return `${parsed.protocol}//${REDACTED}`;
  if (parsed.password !== '') parsed.password = REDACTED;
  parsed.hash = '';
  for (const key of [...parsed.searchParams.keys()]) {
    if (!SHOWN_PARAMETERS.has(key.toLowerCase())) parsed.searchParams.set(key, REDACTED);
  }
  return parsed.href.replaceAll(encodeURIComponent(REDACTED), REDACTED);
}
