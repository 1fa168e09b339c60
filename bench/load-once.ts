// One `load-file` in a process of its own, so that its peak RSS is its alone.
// Usage: node --import tsx bench/load-once.ts FILE SCHEMA EXPORTED_AT   (DATABASE_URL must be set)
import { DEFAULTS } from '../src/defaults.js';
import { silentLogger } from '../src/log.js';
import { loadFile } from '../src/sync/load-file.js';
import { openWarehouse } from '../src/warehouse/warehouse.js';

const [file, schema, exportedAt] = process.argv.slice(2) as [string, string, string];
const warehouse = await openWarehouse({ databaseUrl: process.env.DATABASE_URL, logger: silentLogger });
try {
  const started = performance.now();
  const result = await loadFile({
    warehouse,
    schema,
    chainId: 1764,
    file,
    exportedAt: new Date(exportedAt),
    settings: { maxRejectRatio: DEFAULTS.maxRejectRatio, noExpiryFrom: DEFAULTS.noExpiryFrom },
    logger: silentLogger,
  });
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(JSON.stringify({ ...result, seconds, peakRssBytes: process.resourceUsage().maxRSS * 1024 }) + '\n');
} finally {
  await warehouse.close();
}
