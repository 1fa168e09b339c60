// Analyst-query latency with the current indexes of `vouchers` and with the index set it had
// before the fast load path, in the same schema on the same rows: what a change of indexes that
// speeds the load costs the queries. Measured current, old, current again: at 5,000,000 vouchers a
// query that uses no index either way ran 1.46× slower in the first set than in the second, so an
// order effect of the server (not of the indexes) would otherwise be blamed on the current set;
// the current figure is the median of both of its sets.
import type { ClientBase, Pool } from 'pg';
import type { AnalystQuery } from './analyst-queries.js';
import { checkpoint } from './measure.js';

/** The indexes of `vouchers` (besides its primary key) before the fast load path: migrations 0001 and 0004. */
export const OLD_INDEXES: readonly { readonly name: string; readonly on: string }[] = [
  { name: 'vouchers_chain_created_idx', on: '(chain_id, created_at)' },
  { name: 'vouchers_chain_redeemed_idx', on: '(chain_id, redeemed_at) WHERE redeemed_at IS NOT NULL' },
  { name: 'vouchers_chain_expires_idx', on: '(chain_id, expires_at)' },
  { name: 'vouchers_chain_campaign_idx', on: '(chain_id, campaign_id)' },
  { name: 'vouchers_chain_status_idx', on: '(chain_id, status)' },
  { name: 'vouchers_chain_exported_live_idx', on: '(chain_id, source_exported_at) WHERE deleted_at IS NULL' },
  { name: 'vouchers_chain_exported_deleted_idx', on: '(chain_id, source_exported_at) WHERE deleted_at IS NOT NULL' },
];
/** A query slower than this with the current indexes than with the old ones is flagged. */
export const FLAG_RATIO = 1.2;
const RUNS = 5;

export interface QueryTiming {
  name: string;
  sql: string | null;
  /** Medians over RUNS runs after a warm-up (`now`: over both of its sets); `old` with OLD_INDEXES. */
  nowMs: number;
  oldMs: number;
  /** nowMs / oldMs: above FLAG_RATIO, the current indexes make the query slower. */
  ratio: number;
  flagged: boolean;
  nowRunsMs: number[];
  oldRunsMs: number[];
  /** Indexes the plan uses (from EXPLAIN), null for a function's queries. */
  indexesUsedNow: string[] | null;
  indexesUsedOld: string[] | null;
}

export interface IndexComparison {
  timings: QueryTiming[];
  /** The definitions of the current non-key indexes, as pg_get_indexdef gives them. */
  currentIndexDefinitions: string[];
  /** The old set as created for the comparison. */
  oldIndexDefinitions: string[];
  /** Indexes that back a constraint other than the key: they cannot be dropped, and stay in both runs. */
  keptConstraintIndexes: string[];
}

interface Measured {
  medianMs: number;
  runsMs: number[];
  indexes: string[] | null;
}

export async function compareWithOldIndexes(pool: Pool, schema: string, queries: readonly AnalystQuery[]): Promise<IndexComparison> {
  const client = await pool.connect();
  try {
    // Vacuumed once, so both runs see the same visibility map (index-only scans depend on it).
    await client.query(`VACUUM (ANALYZE) ${schema}.vouchers`);
    await client.query(`ANALYZE ${schema}.campaigns`);
    const now = await measureAll(pool, client, queries);
    const { current, kept } = await vouchersIndexes(client, schema);
    let old: Measured[];
    try {
      for (const index of current) await client.query(`DROP INDEX ${schema}."${index.name}"`);
      for (const index of OLD_INDEXES) await client.query(`CREATE INDEX IF NOT EXISTS ${index.name}_before ON ${schema}.vouchers ${index.on}`);
      await client.query(`ANALYZE ${schema}.vouchers`);
      old = await measureAll(pool, client, queries);
    } finally {
      for (const index of OLD_INDEXES) await client.query(`DROP INDEX IF EXISTS ${schema}.${index.name}_before`);
      for (const index of current) await client.query(index.definition.replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX IF NOT EXISTS '));
      await client.query(`ANALYZE ${schema}.vouchers`);
    }
    const again = await measureAll(pool, client, queries);
    const timings = queries.map((q, i): QueryTiming => {
      const n = bothSets(now[i]!, again[i]!);
      const o = old[i]!;
      const ratio = n.medianMs / o.medianMs;
      return { name: q.name, sql: q.sql, nowMs: n.medianMs, oldMs: o.medianMs, ratio, flagged: ratio > FLAG_RATIO, nowRunsMs: n.runsMs, oldRunsMs: o.runsMs, indexesUsedNow: n.indexes, indexesUsedOld: o.indexes };
    });
    const oldIndexDefinitions = OLD_INDEXES.map((i) => `${i.name}_before ON vouchers ${i.on}`);
    return { timings, currentIndexDefinitions: current.map((i) => i.definition), oldIndexDefinitions, keptConstraintIndexes: kept };
  } finally {
    client.release();
  }
}

/** Non-key indexes of vouchers; those backing a constraint (the key, a unique constraint) apart. */
async function vouchersIndexes(client: ClientBase, schema: string): Promise<{ current: { name: string; definition: string }[]; kept: string[] }> {
  const { rows } = await client.query<{ name: string; definition: string; constraint: string | null; primary: boolean }>(
    `SELECT c.relname AS name, pg_get_indexdef(x.indexrelid) AS definition, x.indisprimary AS primary,
            (SELECT k.conname FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid LIMIT 1) AS constraint
     FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
     WHERE x.indrelid = $1::regclass ORDER BY c.relname`,
    [`${schema}.vouchers`],
  );
  return {
    current: rows.filter((r) => r.constraint === null).map(({ name, definition }) => ({ name, definition })),
    kept: rows.filter((r) => r.constraint !== null && !r.primary).map((r) => r.definition),
  };
}

async function measureAll(pool: Pool, client: ClientBase, queries: readonly AnalystQuery[]): Promise<Measured[]> {
  await checkpoint(pool); // the index builds' dirty pages are not written during the timings
  const results: Measured[] = [];
  for (const query of queries) results.push(await measure(client, query));
  return results;
}

/** The two sets of runs with the current indexes as one: their runs together, and their median. */
function bothSets(first: Measured, second: Measured): Measured {
  const runsMs = [...first.runsMs, ...second.runsMs];
  return { medianMs: median(runsMs), runsMs, indexes: second.indexes };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return Number.isInteger(middle) ? (sorted[middle - 1]! + sorted[middle]!) / 2 : sorted[Math.floor(middle)]!;
}

async function measure(client: ClientBase, query: AnalystQuery): Promise<Measured> {
  await query.run(client); // warm-up: caches, and the plan's catalog lookups
  const runsMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await query.run(client);
    runsMs.push(performance.now() - started);
  }
  return { medianMs: median(runsMs), runsMs, indexes: query.sql === null ? null : await indexesUsed(client, query.sql) };
}

async function indexesUsed(client: ClientBase, sql: string): Promise<string[]> {
  const { rows } = await client.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${sql}`);
  const names = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'Index Name' && typeof value === 'string') names.add(value);
        else walk(value);
      }
    }
  };
  walk(rows[0]!['QUERY PLAN']);
  return [...names].sort();
}

export function printComparison(comparison: IndexComparison): void {
  const line = (cols: string[]) => console.log(cols.map((c, i) => (i === 0 ? c.padEnd(40) : c.padStart(12))).join(''));
  console.log(`\nanalyst queries: median of ${RUNS} runs after a warm-up (now: of ${2 * RUNS}, measured before and after old), ms; "old" = the index set before the fast load path`);
  line(['query', 'now ms', 'old ms', 'now/old']);
  for (const t of comparison.timings) {
    line([t.name, t.nowMs.toFixed(1), t.oldMs.toFixed(1), t.ratio.toFixed(2) + (t.flagged ? ' !' : '  ')]);
    if (t.flagged) console.log(`${''.padEnd(40)}slower now by more than ${Math.round((FLAG_RATIO - 1) * 100)}%; indexes used now: ${t.indexesUsedNow?.join(', ') || 'none'}; before: ${t.indexesUsedOld?.join(', ') || 'none'}`);
  }
  const flagged = comparison.timings.filter((t) => t.flagged).length;
  console.log(flagged ? `${flagged} quer${flagged === 1 ? 'y' : 'ies'} flagged (!): now/old > ${FLAG_RATIO.toFixed(2)}` : `no query slower now than ${FLAG_RATIO.toFixed(2)}× the old indexes`);
  console.log(`current indexes of vouchers besides the key: ${comparison.currentIndexDefinitions.length}`);
  for (const definition of comparison.keptConstraintIndexes) console.log(`  kept in both (backs a constraint): ${definition}`);
}
