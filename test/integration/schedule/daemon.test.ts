// `spaaza-sync schedule` as operators run it: real processes on a fast cron, two replicas on one
// warehouse, SIGKILL and SIGTERM mid-window, a database restart under the daemon, health/metrics.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../../src/log.js';
import { compareWithGroundTruth } from '../../../src/simulator/compare-warehouse.js';
import { startEmbeddedPostgres } from '../../../src/warehouse/embedded-postgres.js';
import { openWarehouse, type Warehouse } from '../../../src/warehouse/warehouse.js';
import { allTasks, type TaskJson } from '../../support/simulator-client.js';
import { startHarness, type Harness } from '../../support/sync-harness.js';
import { connectionStringOf, openTestWarehouse, withSchema } from '../../support/warehouse.js';

let warehouse: Warehouse;
before(async () => {
  warehouse = await openTestWarehouse();
});
after(async () => {
  await warehouse?.close();
});

const FAST = { SPAAZA_INCREMENTAL_CRON: '*/2 * * * * *', SPAAZA_FULL_REFRESH_CRON: '0 0 1 1 *', SPAAZA_PARALLEL_CHAINS: '2' };

interface Daemon {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

function startDaemon(h: Harness, databaseUrl: string, args: string[] = [], env: Record<string, string> = {}): Daemon {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'schedule', '--shutdown-timeout', '15s', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...h.env, ...FAST, DATABASE_URL: databaseUrl, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d));
  child.stderr!.on('data', (d: Buffer) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  return { child, output: () => output, exited };
}

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, ms = 30_000, daemons: Daemon[] = []): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    // A table the daemon has not created yet reads as "not yet".
    const value = await probe().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${daemons.map((d) => d.output()).join('\n---\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The window being downloaded and loaded right now (its row and export task). */
function windowInFlight(schema: string, daemons: Daemon[]): Promise<{ id: number; task_id: number }> {
  return waitFor(
    'a window downloading',
    async () => {
      const { rows } = await warehouse.pool.query(`SELECT id::int, task_id::int FROM "${schema}".sync_runs WHERE state IN ('downloading', 'loading')`);
      return rows[0] as { id: number; task_id: number } | undefined;
    },
    30_000,
    daemons,
  );
}

async function committedRows(db: Warehouse, schema: string): Promise<{ chain_id: string; task_id: string; started_at: Date; finished_at: Date }[]> {
  const { rows } = await db.pool.query(`SELECT chain_id, task_id, started_at, finished_at FROM "${schema}".sync_runs WHERE state = 'committed' ORDER BY started_at`);
  return rows;
}

/** The JSON lines a daemon has logged. */
function logLines(d: Daemon): Record<string, unknown>[] {
  return d.output().split('\n').flatMap((line) => {
    try {
      const value: unknown = JSON.parse(line);
      return value !== null && typeof value === 'object' ? [value as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
}

/**
 * Each incremental tick ran once in total. A replica runs a tick only once it has won it, so the
 * scheduled runs its log reports (less its start-up catch-up run, which no election guards) are
 * the ticks it holds in schedule_leases, but for one the SIGTERM may have cut before it started.
 * The chain lock hides a tick run twice from the warehouse (the second run finds the chain held
 * and skips it), so the runs are counted where they happen: in the replicas.
 */
async function assertEachTickRanOnce(schema: string, daemons: Daemon[]): Promise<void> {
  const { rows: leases } = await warehouse.pool.query<{ key: string; holder: string }>(
    `SELECT key, holder FROM "${schema}".schedule_leases WHERE key LIKE '%:incremental:%' ORDER BY key`,
  );
  const holders = daemons.map((d) => logLines(d).find((l) => l.msg === 'schedule started')?.holder);
  const strangers = leases.filter((l) => !holders.includes(l.holder));
  assert.deepEqual(strangers, [], 'every tick was won by one of the replicas');
  for (const [i, d] of daemons.entries()) {
    const lines = logLines(d);
    const runs = lines.filter((l) => l.mode === 'incremental' && /^scheduled run (finished|failed)/.test(String(l.msg))).length;
    const catchUp = lines.filter((l) => /running one now$/.test(String(l.msg))).length;
    const won = leases.filter((l) => l.holder === holders[i]).map((l) => l.key.slice(l.key.lastIndexOf('incremental:') + 12));
    const scheduled = runs - catchUp;
    assert.ok(
      scheduled <= won.length && scheduled >= won.length - 1,
      `replica ${holders[i]} made ${scheduled} scheduled incremental runs (not counting ${catchUp} start-up catch-up run) but won ${won.length} tick(s) [${won.join(', ')}]: ` +
        (scheduled > won.length ? 'it ran ticks another replica had won, or a tick twice' : 'ticks it won did not run') +
        `\n${d.output()}`,
    );
  }
}

/** The bounds of a task's segment rules, or `unfiltered`. */
function segmentWindow(task: TaskJson): string {
  const rules = (task.trigger.segment as { rules?: { start_date?: string; end_date?: string }[] } | undefined)?.rules ?? [];
  const bounds = [...new Set(rules.map((r) => `${r.start_date}..${r.end_date}`))];
  return bounds.length === 0 ? 'unfiltered' : bounds.join(', ');
}

/**
 * No window got two export tasks, as the simulator saw them: every task it holds names in its
 * marker (`desc`) the sync_runs row of its window, no row is named by two tasks, and a row that
 * stores a task is named by that task alone. Run with the daemons stopped, so that no window is
 * half-way between its task and its row.
 */
async function assertOneExportTaskPerWindow(h: Harness, schema: string): Promise<void> {
  const tasks = await allTasks(h.sim);
  const { rows } = await warehouse.pool.query<{ id: number; chain_id: number; task_id: number | null }>(
    `SELECT id::int, chain_id::int, task_id::int FROM "${schema}".sync_runs ORDER BY id`,
  );
  const ids = new Set(rows.map((r) => r.id));
  const tasksOf = new Map<number, TaskJson[]>();
  for (const task of tasks) {
    const named = /^spaaza-sync \S+ (\d+)\/(\d+) /.exec(task.desc);
    const syncRunId = Number(named?.[2]);
    assert.ok(named && Number(named[1]) === task.chain && ids.has(syncRunId), `export task ${task.id} of chain ${task.chain} ("${task.desc}") names no window of the warehouse`);
    tasksOf.set(syncRunId, [...(tasksOf.get(syncRunId) ?? []), task]);
  }
  for (const row of rows) {
    const own = tasksOf.get(row.id) ?? [];
    const seen = own.map((t) => `task ${t.id} (${segmentWindow(t)}, created ${t.state.created_date})`).join('; ') || 'none';
    assert.ok(own.length <= 1, `window ${row.id} of chain ${row.chain_id} got ${own.length} export tasks: ${seen}`);
    if (row.task_id !== null) assert.equal(own[0]?.id, row.task_id, `window ${row.id} stores task ${row.task_id}, but the simulator's tasks naming it are: ${seen}`);
  }
}

describe('spaaza-sync schedule', () => {
  it('two replicas run each tick once, never sync a chain twice at once, and stop cleanly on SIGTERM', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const h = await startHarness(warehouse, schema, { chains: 2, vouchersPerChain: 800 }, { SPAAZA_BACKFILL_START_DATE: '' });
      const a = startDaemon(h, connectionStringOf(warehouse), ['--metrics-port', '0', '--metrics-host', '127.0.0.1']);
      const b = startDaemon(h, connectionStringOf(warehouse));
      try {
        await waitFor('both chains synced', async () => new Set((await committedRows(warehouse, schema)).map((r) => r.chain_id)).size === 2);
        const created = h.sim.chainIds.flatMap((chainId) => Array.from({ length: 5 }, () => h.sim.vouchers.create(chainId).id));
        h.sim.advance(15 * 60);
        const since = Date.now();
        await waitFor('a tick after the activity', async () => (await committedRows(warehouse, schema)).filter((r) => r.finished_at.getTime() > since).length >= 4);

        await waitFor('both replicas to have won a tick', async () => {
          const { rows } = await warehouse.pool.query(`SELECT count(DISTINCT holder)::int AS n FROM "${schema}".schedule_leases`);
          return rows[0].n === 2;
        });
        const port = Number(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/healthz/.exec(a.output())?.[1]);
        const health = await fetch(`http://127.0.0.1:${port}/healthz`);
        assert.equal(health.status, 200);
        // This replica's counters show its own runs: wait until it has finished one.
        const metrics = await waitFor('an ok run in the metrics of replica a', async () => {
          const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          return /outcome="ok"/.test(text) ? text : null;
        });
        assert.match(metrics, /spaaza_sync_runs_total\{chain="176[45]",mode="incremental",outcome="ok"\} \d+/);
        assert.match(metrics, /spaaza_sync_freshness_lag_seconds\{chain="1764"\}/);
        assert.match(metrics, /spaaza_sync_window_duration_seconds_count/);

        const stopAt = Date.now();
        a.child.kill('SIGTERM');
        b.child.kill('SIGTERM');
        const [ea, eb] = await Promise.all([a.exited, b.exited]);
        assert.deepEqual([ea.code, eb.code], [0, 0], a.output() + b.output());
        assert.ok(Math.max(ea.at, eb.at) - stopAt < 15_000, 'both stopped within the bound');

        // Each tick ran once in total: neither replica ran a tick the other had won, nor one twice.
        const leases = await warehouse.pool.query(`SELECT count(DISTINCT holder)::int AS holders FROM "${schema}".schedule_leases`);
        assert.equal(leases.rows[0].holders, 2, 'both replicas won ticks');
        await assertEachTickRanOnce(schema, [a, b]);
        // Never two runs of one chain at the same time, and one export task per window.
        const rows = await committedRows(warehouse, schema);
        for (const chainId of ['1764', '1765']) {
          const own = rows.filter((r) => r.chain_id === chainId);
          for (let i = 1; i < own.length; i++) assert.ok(own[i]!.started_at >= own[i - 1]!.finished_at, `chain ${chainId}: runs overlap`);
        }
        assert.equal(new Set(rows.map((r) => r.task_id)).size, rows.length, 'every window its own export task, loaded once');
        await assertOneExportTaskPerWindow(h, schema);
        const { rows: present } = await warehouse.pool.query(`SELECT count(*)::int AS n FROM "${schema}".vouchers WHERE voucher_id = ANY($1)`, [created]);
        assert.equal(present[0].n, created.length);
        for (const chainId of h.sim.chainIds) assert.ok((await compareWithGroundTruth(warehouse.pool, schema, h.sim, chainId)).equal);
      } finally {
        a.child.kill('SIGKILL');
        b.child.kill('SIGKILL');
        await h.close();
      }
    });
  });

  it('two replicas run each open-refresh tick once', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const h = await startHarness(warehouse, schema, { chains: 1, vouchersPerChain: 400 }, { SPAAZA_BACKFILL_START_DATE: '' });
      const env = { SPAAZA_OPEN_REFRESH_CRON: '*/2 * * * * *', SPAAZA_INCREMENTAL_CRON: '0 0 1 1 *' };
      const a = startDaemon(h, connectionStringOf(warehouse), [], env);
      const b = startDaemon(h, connectionStringOf(warehouse), [], env);
      try {
        // Each start also runs a catch-up incremental sync, which may hold the chain for a tick.
        await waitFor('both replicas to have won an open-refresh tick, and two refreshes committed', async () => {
          const { rows } = await warehouse.pool.query(
            `SELECT (SELECT count(DISTINCT holder)::int FROM "${schema}".schedule_leases WHERE key LIKE '%:open-refresh:%') AS holders,
                    (SELECT count(*)::int FROM "${schema}".sync_runs WHERE mode = 'open-refresh' AND state = 'committed') AS committed`,
          );
          return rows[0].holders === 2 && rows[0].committed >= 2;
        }, 60_000, [a, b]);
        a.child.kill('SIGTERM');
        b.child.kill('SIGTERM');
        const [ea, eb] = await Promise.all([a.exited, b.exited]);
        assert.deepEqual([ea.code, eb.code], [0, 0], a.output() + b.output());
        const { rows: leases } = await warehouse.pool.query<{ holder: string }>(`SELECT holder FROM "${schema}".schedule_leases WHERE key LIKE '%:open-refresh:%'`);
        for (const d of [a, b]) {
          const holder = logLines(d).find((l) => l.msg === 'schedule started')?.holder;
          const won = leases.filter((l) => l.holder === holder).length;
          const ran = logLines(d).filter((l) => l.msg === 'open vouchers refreshed' || l.msg === 'another run holds this chain; the open refresh skipped it').length;
          assert.ok(ran <= won && ran >= won - 1, `replica ${holder} refreshed ${ran} time(s) but won ${won} open-refresh tick(s)\n${d.output()}`);
        }
        const { rows: runs } = await warehouse.pool.query(`SELECT count(*)::int AS n FROM "${schema}".sync_runs WHERE mode = 'open-refresh' AND state = 'committed'`);
        assert.ok(runs[0].n >= 2 && runs[0].n <= leases.length, `${runs[0].n} committed open refreshes for ${leases.length} ticks`);
      } finally {
        a.child.kill('SIGKILL');
        b.child.kill('SIGKILL');
        await h.close();
      }
    });
  });

  it('a replica killed mid-window leaves its work to the other, which resumes the same export task', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const h = await startHarness(warehouse, schema, { chains: 1, vouchersPerChain: 1500 }, { SPAAZA_BACKFILL_START_DATE: '' });
      h.sim.setFaults([{ at: 'storage', times: 1, action: { kind: 'throttle', bytesPerSecond: 60_000 } }]);
      const a = startDaemon(h, connectionStringOf(warehouse));
      const b = startDaemon(h, connectionStringOf(warehouse));
      try {
        const row = await windowInFlight(schema, [a, b]);
        // Whichever replica runs the window (the startup catch-up run is not elected): its log names the row.
        const victim = await waitFor('the replica running the window', async () => [a, b].find((d) => d.output().includes(`"syncRunId":${row.id},`)), 10_000, [a, b]);
        const { rows: locks } = await warehouse.pool.query(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted`);
        assert.ok(locks.length >= 1, 'a chain lock is held while the window is in flight');
        victim.child.kill('SIGKILL');
        const survivor = victim === a ? b : a;
        const done = await waitFor(
          'the window committed by the survivor',
          async () => {
            const { rows } = await warehouse.pool.query(`SELECT state, task_id::int FROM "${schema}".sync_runs WHERE id = $1`, [row.id]);
            return rows[0]?.state === 'committed' ? rows[0] : null;
          },
          40_000,
        );
        assert.equal(done.task_id, row.task_id, 'the same export task, not a new one');
        assert.equal(survivor.child.exitCode, null, 'the survivor still runs');
        const comparison = await compareWithGroundTruth(warehouse.pool, schema, h.sim, 1764);
        assert.ok(comparison.equal, `the warehouse equals the source: ${JSON.stringify(comparison).slice(0, 600)}`);
        survivor.child.kill('SIGTERM');
        assert.equal((await survivor.exited).code, 0, survivor.output());
        await assertOneExportTaskPerWindow(h, schema);
      } finally {
        a.child.kill('SIGKILL');
        b.child.kill('SIGKILL');
        await h.close();
      }
    });
  });

  it('SIGTERM mid-download exits 0 in time, changes nothing, and the next start resumes the task', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const h = await startHarness(warehouse, schema, { chains: 1, vouchersPerChain: 1500 }, { SPAAZA_BACKFILL_START_DATE: '' });
      h.sim.setFaults([{ at: 'storage', times: 1, action: { kind: 'throttle', bytesPerSecond: 60_000 } }]);
      const first = startDaemon(h, connectionStringOf(warehouse));
      try {
        const row = await windowInFlight(schema, [first]);
        await new Promise((r) => setTimeout(r, 500));
        const stopAt = Date.now();
        first.child.kill('SIGTERM');
        const exit = await first.exited;
        assert.equal(exit.code, 0, first.output());
        assert.ok(exit.at - stopAt < 15_000);
        const counts = await warehouse.pool.query(`SELECT (SELECT count(*)::int FROM "${schema}".vouchers) AS vouchers, (SELECT count(*)::int FROM "${schema}".sync_state) AS watermarks`);
        assert.deepEqual(counts.rows[0], { vouchers: 0, watermarks: 0 }, `nothing committed\n${first.output()}`);
        const kept = await warehouse.pool.query(`SELECT state, task_id::int FROM "${schema}".sync_runs WHERE id = $1`, [row.id]);
        assert.notEqual(kept.rows[0].state, 'failed');
        assert.equal(kept.rows[0].task_id, row.task_id);

        const second = startDaemon(h, connectionStringOf(warehouse));
        try {
          await waitFor('the resumed window committed', async () => {
            const { rows } = await warehouse.pool.query(`SELECT state FROM "${schema}".sync_runs WHERE id = $1`, [row.id]);
            return rows[0]?.state === 'committed';
          });
          second.child.kill('SIGTERM');
          assert.equal((await second.exited).code, 0, second.output());
          // The resumed window did not export again (later windows have tasks of their own).
          await assertOneExportTaskPerWindow(h, schema);
          const resumed = await warehouse.pool.query(`SELECT task_id::int FROM "${schema}".sync_runs WHERE id = $1`, [row.id]);
          assert.equal(resumed.rows[0].task_id, row.task_id, 'the next start resumed the same task');
        } finally {
          second.child.kill('SIGKILL');
        }
      } finally {
        first.child.kill('SIGKILL');
        await h.close();
      }
    });
  });

  it('recovers without a restart when the database restarts under it', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'spaaza-restart-'));
    await chmod(root, 0o755);
    let server = await startEmbeddedPostgres(root, silentLogger);
    const own = await openWarehouse({ databaseUrl: server.connectionString, logger: silentLogger });
    const h = await startHarness(own, 'restart', { chains: 1, vouchersPerChain: 300 }, { SPAAZA_BACKFILL_START_DATE: '' });
    const daemon = startDaemon(h, server.connectionString);
    try {
      await waitFor('a first committed run', async () => (await committedRows(own, 'restart')).length > 0);
      // First a restart in the middle of a window: a slow download is loading when the server goes.
      h.sim.vouchers.create(1764);
      h.sim.advance(900);
      // Slow enough that the window stays in 'loading' for seconds (its body is under a kilobyte).
      h.sim.setFaults([{ at: 'storage', times: 1, action: { kind: 'throttle', bytesPerSecond: 200 } }]);
      await waitFor('a window loading', async () => {
        const { rows } = await own.pool.query(`SELECT 1 FROM restart.sync_runs WHERE state = 'loading'`);
        return rows.length > 0;
      });
      await server.stop();
      await new Promise((r) => setTimeout(r, 1500));
      server = await startEmbeddedPostgres(root, silentLogger, { port: server.port });
      h.sim.setFaults([]);
      // And a restart between runs, on the same port, under the running daemon.
      await server.stop();
      await new Promise((r) => setTimeout(r, 1500));
      server = await startEmbeddedPostgres(root, silentLogger, { port: server.port });
      h.sim.vouchers.create(1764);
      h.sim.advance(900);
      const since = Date.now();
      await waitFor('a run committed after the restart', async () => {
        try {
          return (await committedRows(own, 'restart')).some((r) => r.finished_at.getTime() > since);
        } catch {
          return false;
        }
      }, 45_000);
      await waitFor('the warehouse to equal the source', async () => (await compareWithGroundTruth(own.pool, 'restart', h.sim, 1764)).equal, 45_000, [daemon]);
      assert.equal(daemon.child.exitCode, null, 'the daemon did not die');
      const { rows } = await own.pool.query(`SELECT count(*)::int AS n FROM restart.sync_runs WHERE state NOT IN ('committed', 'failed', 'abandoned')`);
      assert.equal(rows[0].n, 0, 'the window cut by the restart was resumed and finished');
    } finally {
      daemon.child.kill('SIGKILL');
      await h.close();
      await own.close();
      await server.stop();
      await rm(root, { recursive: true, force: true });
    }
  });
});
