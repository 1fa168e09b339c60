// `npm run demo`: the whole pipeline on a fresh machine, no credentials, no server.
// Starts the bundled simulator (two chains, 200,000 vouchers over 180 days) and the embedded
// PostgreSQL, backfills, lets simulated activity happen, runs two incremental syncs and a full
// refresh, then shows status, a few analyst queries, and how to connect with psql.
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/log.js';
import { warehouseTables } from '../src/warehouse/tables.js';
import { compareWithGroundTruth } from '../src/simulator/compare-warehouse.js';
import { startSimulator, type Simulator } from '../src/simulator/simulator.js';
import { readSpaazaClock } from '../src/sync/spaaza-clock.js';
import { chainStatus } from '../src/sync/status.js';
import { runSync, type SyncReport } from '../src/sync/run-sync.js';
import { openWarehouse } from '../src/warehouse/warehouse.js';

const SCHEMA = 'spaaza_demo';
/** The Node.js versions spaaza-sync supports: .ci/run tests both; package.json's engines holds the floor. */
const SUPPORTED_NODE = 'Node.js 20 from 20.18.1, and 24';
const VOUCHERS_PER_CHAIN = 100_000;
const HISTORY_DAYS = 180;
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
const say = (text: string) => console.log(`\n[${elapsed()}] ${text}`);

const [major = 0, minor = 0, patch = 0] = process.versions.node.split('.').map(Number);
const supported = major === 24 || (major === 20 && minor * 1000 + patch >= 18_001);
console.log(`running on Node.js ${process.version} (supported: ${SUPPORTED_NODE}${supported ? '' : '; this one is not'})`);
say(`starting the Spaaza simulator: 2 chains, ${(2 * VOUCHERS_PER_CHAIN).toLocaleString('en')} vouchers over ${HISTORY_DAYS} days`);
const sim = await startSimulator({
  vouchersPerChain: VOUCHERS_PER_CHAIN,
  historyDays: HISTORY_DAYS,
  startMs: Math.floor(Date.now() / 1000) * 1000,
  taskDurationMs: 500,
});
const allChains = sim.tokens.at(-1)!;
console.log(`  ${sim.url} (chains ${sim.chainIds.join(', ')})`);

say('starting the embedded PostgreSQL (DATABASE_URL is ignored by the demo)');
const logger = createLogger({ level: 'warn' });
const warehouse = await openWarehouse({ databaseUrl: undefined, logger });
console.log(`  ${warehouse.displayUrl}`);

try {
  await warehouse.pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  const backfillStart = new Date(Date.now() - HISTORY_DAYS * 86_400_000).toISOString().slice(0, 10);
  const config = await loadConfig({
    env: {
      SPAAZA_BASE_URL: sim.url,
      SPAAZA_TOKEN_ID: allChains.id,
      SPAAZA_TOKEN_SECRET: allChains.secret,
      SPAAZA_CHAIN_IDS: sim.chainIds.join(','),
      SPAAZA_SCHEMA: SCHEMA,
      SPAAZA_BACKFILL_START_DATE: backfillStart,
      SPAAZA_POLL_INITIAL: '100ms',
      SPAAZA_POLL_MAX_INTERVAL: '1s',
      SPAAZA_PARALLEL_CHAINS: '2',
      // The demo lets simulated time pass by moving the simulator's clock ahead of this machine's,
      // which no real Spaaza does: it widens the clock bound for that (the default is 15 minutes).
      SPAAZA_MAX_CLOCK_SKEW: '2h',
    },
    cwd: '/',
  });
  const signal = new AbortController().signal;
  const deps = { warehouse, logger, signal };
  const show = (report: SyncReport) => {
    for (const o of report.outcomes) {
      const sum = (k: 'rowsRead' | 'inserted' | 'updated' | 'deleted') => o.windows.reduce((n, w) => n + w[k], 0);
      console.log(`  chain ${o.chainId}: ${o.status}, ${o.windows.length} window(s): read ${sum('rowsRead')}, inserted ${sum('inserted')}, updated ${sum('updated')}, soft-deleted ${sum('deleted')}`);
      if (o.error) console.log(`    [${o.error.code}] ${o.error.message}`);
    }
    if (report.exitCode !== 0) throw new Error(`the run failed (exit code ${report.exitCode})`);
  };

  say(`first sync: backfill from ${backfillStart} in windows of at most 31 days`);
  show(await runSync(config, { command: { mode: 'incremental' } }, deps));

  say('simulated activity: new, claimed, redeemed (some partly), locked and deleted vouchers; then 15 minutes pass');
  activity(sim, 1);
  sim.advance(15 * 60);
  say('incremental sync #1');
  show(await runSync(config, { command: { mode: 'incremental' } }, deps));

  activity(sim, 2);
  sim.advance(15 * 60);
  say('incremental sync #2');
  show(await runSync(config, { command: { mode: 'incremental' } }, deps));

  say('full refresh: reconciles what no date reveals (claims, locks, deletions)');
  show(await runSync(config, { command: { mode: 'full-refresh', allowMassDelete: false } }, deps));

  say('the warehouse against the simulator\'s ground truth');
  for (const chainId of sim.chainIds) {
    const c = await compareWithGroundTruth(warehouse.pool, SCHEMA, sim, chainId);
    console.log(`  chain ${chainId}: ${c.equal ? 'identical' : 'DIFFERENT'}: ${c.warehouseLive} live vouchers in the warehouse, ${c.sourceLive} in Spaaza`);
  }

  say('status');
  const client = await warehouse.pool.connect();
  try {
    for (const chain of config.spaaza.chains) {
      const s = await chainStatus(client, warehouseTables(SCHEMA), chain.id, await readSpaazaClock(config, chain, logger), 3);
      console.log(`  chain ${chain.id}: watermark ${s.watermark} (${s.freshnessLagSeconds} s behind Spaaza's clock), last full refresh ${s.lastFullRefresh}`);
      for (const error of s.errors) console.log(`    ERROR: ${error}`);
      console.log(`    ${s.liveVouchers} live, ${s.deletedVouchers} soft-deleted; last runs: ${s.lastRuns.map((r) => `#${r.id} ${r.mode} ${r.state}`).join(', ')}`);
    }
  } finally {
    client.release();
  }

  say('a few analyst queries');
  await query(
    'Redemption by campaign (top 5)',
    `SELECT chain_id, campaign_title, vouchers_issued, vouchers_redeemed, redemption_rate, amount_outstanding
     FROM ${SCHEMA}.campaign_redemption ORDER BY redemption_rate DESC NULLS LAST LIMIT 5`,
  );
  await query(
    'Open vouchers expiring in the next 7 days',
    `SELECT chain_id, count(*) AS vouchers, sum(amount_remaining) AS value
     FROM ${SCHEMA}.vouchers_current WHERE NOT is_redeemed AND days_to_expiry BETWEEN 0 AND 6 GROUP BY chain_id ORDER BY chain_id`,
  );
  await query(
    'Issued and redeemed per week, last 6 weeks',
    `SELECT to_char(date_trunc('week', day), 'YYYY-MM-DD') AS week, sum(issued) AS issued, sum(redeemed) AS redeemed, sum(expired) AS expired
     FROM ${SCHEMA}.voucher_daily WHERE day >= current_date - 42 GROUP BY 1 ORDER BY 1`,
  );

  say(`done in ${elapsed()}. To explore the warehouse while it runs: npx spaaza-sync db, then`);
  console.log(`  PGPASSFILE=${warehouse.embedded?.passFile} psql ${warehouse.displayUrl.replace(/:\d+\//, ':<port>/')}`);
  console.log(`  SELECT * FROM ${SCHEMA}.campaign_redemption;   -- the demo's schema is "${SCHEMA}"`);
} finally {
  await warehouse.close();
  await sim.close();
}

async function query(title: string, text: string): Promise<void> {
  const { rows, fields } = await warehouse.pool.query(text);
  console.log(`  ${title}:`);
  const cells = [fields.map((f) => f.name), ...rows.map((r: Record<string, unknown>) => fields.map((f) => JSON.stringify(r[f.name] ?? null).replace(/^"|"$/g, '')))];
  const widths = fields.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  for (const row of cells) console.log('    ' + row.map((c, i) => c.padEnd(widths[i]!)).join('  '));
}

/** A round of customer activity in every chain, deterministic per round. */
function activity(sim: Simulator, round: number): void {
  for (const chainId of sim.chainIds) {
    const live = [...sim.groundTruth(chainId)];
    const pick = (filter: (v: (typeof live)[number]) => boolean, count: number, salt: number) =>
      live.filter((v, i) => (i * 7919 + round * 104_729 + salt) % 97 === 0 && filter(v)).slice(0, count);
    for (let i = 0; i < 300; i++) sim.vouchers.create(chainId);
    for (const v of pick((v) => v.status === 'generated', 200, 1)) sim.vouchers.claim(v.id);
    for (const v of pick((v) => v.status === 'claimed' && Number(v.amount) > 2, 250, 2)) {
      sim.vouchers.redeem(v.id, Number(v.amount) > 10 ? '5.00' : undefined);
    }
    for (const v of pick((v) => v.status !== 'redeemed', 50, 3)) sim.vouchers.lock(v.id, true);
    for (const v of pick(() => true, 40, 4)) sim.vouchers.delete(v.id);
  }
}
