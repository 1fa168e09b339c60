/**
 * What must hold after every chaos round, whatever happened in it, and what must hold after a
 * clean full refresh. Each check returns the violations it found (empty when all holds) and adds
 * to the tallies the report prints.
 */
import { compareWithGroundTruth } from '../../../src/simulator/compare-warehouse.js';
import type { CommandResult, ChaosWorld } from './world.js';
import { SCHEMA } from './world.js';

export interface Tallies {
  rowsChecked: number;
  lost: number;
  vanished: number;
  duplicated: number;
  stale: number;
  extra: number;
  missing: number;
  aheadOfClock: number;
  duplicateMarkers: number;
  leaks: number;
  crashes: number;
}

export function newTallies(): Tallies {
  return { rowsChecked: 0, lost: 0, vanished: 0, duplicated: 0, stale: 0, extra: 0, missing: 0, aheadOfClock: 0, duplicateMarkers: 0, leaks: 0, crashes: 0 };
}

const T = (table: string) => `"${SCHEMA}".${table}`;

/** The invariants of every round. `seen` holds every voucher ever stored: none may vanish. */
export async function checkRound(world: ChaosWorld, results: readonly CommandResult[], seen: Map<number, Set<number>>, tally: Tallies, ownDescs: ReadonlySet<string>): Promise<string[]> {
  const problems: string[] = [];
  const { pool } = world.warehouse;
  for (const chainId of world.sim.chainIds) {
    const live = new Set([...world.sim.groundTruth(chainId)].map((v) => v.id));
    tally.rowsChecked += live.size;
    const { rows } = await pool.query<{ id: string; deleted: boolean }>(`SELECT voucher_id AS id, deleted_at IS NOT NULL AS deleted FROM ${T('vouchers')} WHERE chain_id = $1`, [chainId]);
    const stored = new Set(rows.map((r) => Number(r.id)));
    const lost = rows.filter((r) => r.deleted && live.has(Number(r.id))).map((r) => Number(r.id));
    tally.lost += lost.length;
    if (lost.length) problems.push(`chain ${chainId}: ${lost.length} live voucher(s) soft-deleted (${lost.slice(0, 5).join(', ')})`);
    const before = seen.get(chainId) ?? new Set<number>();
    const vanished = [...before].filter((id) => !stored.has(id));
    tally.vanished += vanished.length;
    if (vanished.length) problems.push(`chain ${chainId}: ${vanished.length} stored voucher(s) vanished (${vanished.slice(0, 5).join(', ')})`);
    seen.set(chainId, stored);
  }
  const dup = await pool.query<{ d: string }>(`SELECT count(*) - count(DISTINCT (chain_id, voucher_id)) AS d FROM ${T('vouchers')}`);
  tally.duplicated += Number(dup.rows[0]!.d);
  if (Number(dup.rows[0]!.d) > 0) problems.push(`${dup.rows[0]!.d} duplicated voucher row(s)`);

  // Nothing is ever dated after Spaaza's clock: no row version, no watermark, no full refresh.
  const limit = new Date(world.sim.now().getTime() + 2000);
  const { rows: ahead } = await pool.query<{ what: string; at: Date }>(
    `SELECT 'a voucher version' AS what, max(source_exported_at) AS at FROM ${T('vouchers')} HAVING max(source_exported_at) > $1
     UNION ALL SELECT 'a campaign version', max(source_exported_at) FROM ${T('campaigns')} HAVING max(source_exported_at) > $1
     UNION ALL SELECT 'a watermark', max(watermark) FROM ${T('sync_state')} HAVING max(watermark) > $1
     UNION ALL SELECT 'a last full refresh', max(last_full_refresh_at) FROM ${T('sync_state')} HAVING max(last_full_refresh_at) > $1
     UNION ALL SELECT 'a run''s export time', max(source_exported_at) FROM ${T('sync_runs')} HAVING max(source_exported_at) > $1`,
    [limit],
  );
  tally.aheadOfClock += ahead.length;
  for (const a of ahead) problems.push(`${a.what} is dated ${a.at.toISOString()}, after Spaaza's clock (${world.sim.now().toISOString()})`);

  // At most one export task per marker: no window was ever exported twice by a retry or a resume.
  const byDesc = new Map<string, number>();
  for (const task of world.sim.state.tasks.list()) if (!ownDescs.has(task.request.desc)) byDesc.set(task.request.desc, (byDesc.get(task.request.desc) ?? 0) + 1);
  const repeated = [...byDesc].filter(([, n]) => n > 1);
  tally.duplicateMarkers += repeated.length;
  for (const [desc, n] of repeated) problems.push(`${n} export tasks carry the marker "${desc}"`);

  // No secret in any byte written: what the commands printed, and every table.
  const secrets = [...world.sim.tokens.map((t) => t.secret), world.databasePassword].filter((s) => s.length >= 6);
  const texts = results.flatMap((r) => [r.stdout, r.stderr]);
  for (const file of await world.writtenFiles()) texts.push(file.text);
  const { rows: tables } = await pool.query<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1`, [SCHEMA]);
  for (const { name } of tables) {
    const { rows } = await pool.query<{ text: string | null }>(`SELECT string_agg(t::text, E'\\n') AS text FROM ${T(`"${name}"`)} t`);
    texts.push(rows[0]?.text ?? '');
  }
  const leaks = texts.filter((text) => secrets.some((s) => text.includes(s)) || /X-Signature=|Bearer [0-9a-f-]{36}:/.test(text)).length;
  tally.leaks += leaks;
  if (leaks) problems.push(`${leaks} output(s), file(s) or table(s) hold a secret`);

  // No operational error crashes a command or prints a stack trace (DESIGN §5.7).
  for (const r of results) {
    if (/unexpected error|Unhandled 'error' event|\n\s+at .+:\d+:\d+\)?\n/.test(r.stderr)) {
      tally.crashes += 1;
      problems.push(`spaaza-sync ${r.args.join(' ')} printed a stack trace: ${r.stderr.slice(-3000)}`);
    }
  }
  return problems;
}

/** After a clean full refresh the warehouse equals the source: nothing missing, extra or stale. */
export async function checkReconciled(world: ChaosWorld, tally: Tallies): Promise<string[]> {
  const problems: string[] = [];
  for (const chainId of world.sim.chainIds) {
    const c = await compareWithGroundTruth(world.warehouse.pool, SCHEMA, world.sim, chainId);
    tally.rowsChecked += c.sourceLive;
    tally.missing += c.missing.length;
    tally.extra += c.extra.length;
    const stale = new Set(c.differing.map((d) => d.id)).size;
    tally.stale += stale;
    if (!c.equal) {
      problems.push(`chain ${chainId} after a clean full refresh: ${c.missing.length} missing (${c.missing.slice(0, 5).join(', ')}), ${c.extra.length} extra (${c.extra.slice(0, 5).join(', ')}), ${stale} stale (${JSON.stringify(c.differing.slice(0, 2))})`);
    }
  }
  return problems;
}
