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

/** A connection URL with its password (in the user part or any password parameter) as `***`. */
export function redactDatabaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return REDACTED; // not parseable: nothing of it is known to be safe
  }
  if (parsed.password !== '') parsed.password = REDACTED;
  for (const key of [...parsed.searchParams.keys()]) {
    if (/password/i.test(key)) parsed.searchParams.set(key, REDACTED);
  }
  return parsed.href;
}
