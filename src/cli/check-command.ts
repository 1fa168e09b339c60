/**
 * `spaaza-sync check`: everything a run needs, each reported on its own line: the configuration,
 * the database, the schema version, and each token against Spaaza (a cheap call), with the clock
 * skew. `--probe` also runs a tiny export end to end. Exit 1 when anything fails.
 */
import type { Command } from 'commander';
import { redactConfig } from '../config/index.js';
import { ExtractError } from '../extract/errors.js';
import { dateWindowSegment, exportRequest, openExport, waitForTask } from '../extract/export-task.js';
import { redactUrl } from '../extract/redact.js';
import type { TasksClient } from '../extract/tasks-client.js';
import { aheadOfClock, describeAheadOfClock } from '../load/ahead-of-clock.js';
import { warehouseTables } from '../warehouse/tables.js';
import { tasksClientFor } from '../sync/chain-client.js';
import { clockOf, latestPossible, type ClockReading } from '../sync/spaaza-clock.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { migrationStatus } from '../warehouse/migrate.js';
import { isoZ } from '../sync/windows.js';
import { withConfig, type ConfigOptions } from './config-session.js';

const SKEW_WARN_MS = 60_000;
const PROBE_DEADLINE_MS = 5 * 60_000;

export function registerCheckCommand(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('check')
    .description('check the configuration, the database, the schema version and the Spaaza credentials (and the clock skew)')
    .option('--config <path>', 'configuration file')
    .option('--probe', 'also create a tiny export task per chain and download it', false)
    .option('--json', 'print the results as JSON', false)
    .action(async (opts: ConfigOptions & { probe: boolean; json: boolean }) => {
      const results: { check: string; ok: boolean; detail: string }[] = [];
      const report = (check: string, ok: boolean, detail: string) => results.push({ check, ok, detail });
      await withConfig(opts, async ({ config, warehouse, logger }) => {
        report('config', true, `${config.spaaza.chains.length} chain(s) at ${config.spaaza.baseUrl}; schema "${config.schema}"`);
        logger.debug('configuration', { config: redactConfig(config) });
        try {
          const { rows } = await warehouse.pool.query<{ v: string }>("SELECT current_setting('server_version') AS v");
          report('database', true, `PostgreSQL ${rows[0]!.v} at ${warehouse.displayUrl}`);
          const migrations = await migrationStatus(warehouse.db, config.schema);
          report(
            'schema',
            migrations.pending.length === 0,
            migrations.pending.length === 0 ? `up to date (${migrations.applied.at(-1)})` : `pending migrations ${migrations.pending.join(', ')}: run \`spaaza-sync migrate\``,
          );
        } catch (error) {
          report('database', false, (error as Error).message);
        }
        for (const chain of config.spaaza.chains) {
          const api = tasksClientFor(config, chain, logger, { retries: 1 });
          try {
            await api.listTasks({ action: 'export', limit: 1, offset: 0 });
            const skew = api.skewMs();
            const skewNote = `clock skew ${(skew / 1000).toFixed(0)} s${Math.abs(skew) > SKEW_WARN_MS ? ' (over 60 s: check this machine\'s clock; windows use Spaaza\'s)' : ''}`;
            report(`chain ${chain.id}`, true, `token accepted; ${skewNote}`);
            const clock = clockOf(api, config.sync.maxClockSkewMs);
            report(`chain ${chain.id} clock`, clock.problem === null, clock.problem ?? `Spaaza time ${isoZ(clock.now)}, within maxClockSkew of this machine's`);
            const problems = await warehouseTimes(warehouse, config.schema, chain.id, clock);
            report(`chain ${chain.id} warehouse times`, problems.length === 0, problems.length === 0 ? `nothing dated after ${clock.source === 'spaaza' ? "Spaaza's clock" : "this machine's clock"}` : problems.join('; '));
            if (opts.probe) report(`chain ${chain.id} probe`, ...(await probe(api, chain.id)));
          } catch (error) {
            report(`chain ${chain.id}`, false, (error as Error).message);
          } finally {
            await api.close();
          }
        }
      });
      process.stdout.write(opts.json ? JSON.stringify(results) + '\n' : results.map((r) => `${r.ok ? 'ok  ' : 'FAIL'}  ${r.check}: ${r.detail}`).join('\n') + '\n');
      setExitCode(results.every((r) => r.ok) ? 0 : 1);
    });
}

/** The chain's watermark and row versions against the clock: each one after it is a problem with its repair. */
async function warehouseTimes(warehouse: Warehouse, schema: string, chainId: number, clock: ClockReading): Promise<string[]> {
  try {
    const ahead = await aheadOfClock(warehouse.pool, warehouseTables(schema), chainId, latestPossible(clock));
    return describeAheadOfClock(ahead, chainId, clock.source === 'spaaza' ? "Spaaza's clock" : "this machine's clock plus maxClockSkew");
  } catch (error) {
    // A schema not migrated yet holds nothing to judge (the schema check says what to run).
    if (['42P01', '3F000'].includes((error as { code?: string }).code ?? '')) return [];
    return [`could not read the warehouse: ${(error as Error).message}`];
  }
}

/** A 1-second export window in 1970 (nothing matches): proves create, poll, URL and download. */
async function probe(api: TasksClient, chainId: number): Promise<[boolean, string]> {
  const started = Date.now();
  const marker = `spaaza-sync check --probe ${chainId} ${started}`;
  const segment = dateWindowSegment(['date_time_creation'], new Date(0), new Date(1000));
  const { task } = await api.createTask(exportRequest(chainId, marker, { ...segment, join: 'all' }, api.serverNow() ?? new Date()), marker);
  await api.executeTask(task.id);
  const done = await waitForTask(api, task, { initialMs: 250, maxIntervalMs: 10_000, deadlineMs: PROBE_DEADLINE_MS }).catch((error: unknown) => {
    if (error instanceof ExtractError && error.code === 'poll_deadline') return null;
    throw error;
  });
  if (done === null) return [false, `export task ${task.id} still unfinished after ${PROBE_DEADLINE_MS / 60_000} min`];
  if (done.state.code === 'ERROR') return [false, `export task ${task.id} ended in ERROR`];
  const file = await openExport(api, task.id, redactUrl);
  for await (const chunk of file.body) void chunk;
  return [true, `export task ${task.id} done and downloaded (${file.bytes()} bytes) in ${((Date.now() - started) / 1000).toFixed(1)} s`];
}
