/** `spaaza-sync simulator`: runs the bundled Spaaza Tasks API simulator until interrupted. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { createLogger } from '../log.js';
import { DEFAULT_DIALECT } from '../simulator/csv-dialect.js';
import { startSimulator, type Simulator } from '../simulator/simulator.js';
import { untilSignal } from './signals.js';

export function registerSimulatorCommand(program: Command): void {
  program
    .command('simulator')
    .description('run the bundled Spaaza Tasks API simulator (seeded vouchers, virtual clock, faults) on a local port')
    .option('--port <port>', 'port to listen on; 0 picks a free one', integer, 4010)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--seed <n>', 'seed of the deterministic data set, tokens and faults', integer, 1)
    .option('--chains <n>', 'number of chains (ids 1764, 1765, …)', integer, 2)
    .option('--vouchers <n>', 'vouchers per chain before any change', integer, 1000)
    .option('--history-days <n>', 'the seeded vouchers were created over this many days before the start', integer, 730)
    .option('--start <instant>', 'initial clock: an ISO 8601 instant, or "now" (this host\'s time)', 'now')
    .option('--clock-rate <x>', 'virtual seconds per real second (0 freezes the clock)', number, 1)
    .option('--task-duration <ms>', 'virtual time an export task spends in progress', integer, 1500)
    .option('--url-ttl <seconds>', 'lifetime of pre-signed download URLs', integer, 3600)
    .option('--storage-dir <dir>', 'where export files are written (default: a temp folder removed on exit)')
    .addOption(new Option('--header <style>', 'CSV header names').choices(['default', 'classic']).default('default'))
    .addOption(new Option('--timestamps <style>', 'CSV timestamp style').choices(['z', 'offset', 'space']).default('z'))
    .option('--bom', 'start CSV files with a UTF-8 byte order mark', false)
    .option('--crlf', 'end CSV lines with CRLF', false)
    .option('--json', 'print the endpoint and tokens as one JSON line (for scripts)', false)
    .option('--verbose', 'log simulator errors and details to stderr', false)
    .action(async (opts: SimulatorCliOptions) => {
      const startMs = opts.start === 'now' ? Math.floor(Date.now() / 1000) * 1000 : Date.parse(opts.start);
      if (Number.isNaN(startMs)) throw new InvalidArgumentError(`--start: "${opts.start}" is not an ISO 8601 instant or "now"`);
      const sim = await startSimulator({
        port: opts.port,
        host: opts.host,
        seed: opts.seed,
        chains: opts.chains,
        vouchersPerChain: opts.vouchers,
        historyDays: opts.historyDays,
        startMs,
        clockRate: opts.clockRate,
        taskDurationMs: opts.taskDuration,
        urlTtlSeconds: opts.urlTtl,
        ...(opts.storageDir ? { storageDir: opts.storageDir } : {}),
        dialect: { ...DEFAULT_DIALECT, bom: opts.bom, lineEnding: opts.crlf ? '\r\n' : '\n', header: opts.header, timestamps: opts.timestamps },
        logger: createLogger({ level: opts.verbose ? 'debug' : 'warn' }),
      });
      process.stdout.write(opts.json ? JSON.stringify(summary(sim)) + '\n' : banner(sim, opts));
      await untilSignal();
      await sim.close();
    });
}

interface SimulatorCliOptions {
  port: number;
  host: string;
  seed: number;
  chains: number;
  vouchers: number;
  historyDays: number;
  start: string;
  clockRate: number;
  taskDuration: number;
  urlTtl: number;
  storageDir?: string;
  header: 'default' | 'classic';
  timestamps: 'z' | 'offset' | 'space';
  bom: boolean;
  crlf: boolean;
  json: boolean;
  verbose: boolean;
}

function summary(sim: Simulator) {
  return {
    url: sim.url,
    now: sim.now().toISOString(),
    chains: sim.chainIds,
    tokens: sim.tokens.map((t) => ({ chains: t.chainIds, id: t.id, secret: t.secret })),
    admin_token: sim.adminToken,
  };
}

function banner(sim: Simulator, opts: SimulatorCliOptions): string {
  const lines = [
    `Spaaza Tasks API simulator listening on ${sim.url}`,
    `clock ${sim.now().toISOString()} (×${opts.clockRate}), seed ${opts.seed}, ${opts.vouchers} vouchers per chain`,
    '',
    'Access tokens (Authorization: Bearer <id>:<secret>):',
    ...sim.tokens.map((t) => `  ${t.chainIds.length === 1 ? `chain ${t.chainIds[0]}` : `chains ${t.chainIds.join(',')}`}: ${t.id}:${t.secret}`),
    `Admin token for ${sim.url}/_control: ${sim.adminToken}`,
    '',
    'Try it:',
    `  export SPAAZA_BASE_URL=${sim.url} SPAAZA_TOKEN_ID=${sim.tokens[0]!.id} SPAAZA_TOKEN_SECRET=${sim.tokens[0]!.secret}`,
    `  curl -s -X POST "$SPAAZA_BASE_URL/tasks" -H "Authorization: Bearer $SPAAZA_TOKEN_ID:$SPAAZA_TOKEN_SECRET" \\`,
    `    -H 'Content-Type: application/json' -d '{"chain":${sim.chainIds[0]},"desc":"all vouchers","target":{"action":"export","export_index":"vouchers","export_format":"csv"},"trigger":{"once":"${sim.now().toISOString().slice(0, 19)}Z"}}'`,
    'Press Ctrl-C to stop.',
    '',
  ];
  return lines.join('\n');
}

function integer(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(value);
}

function number(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a non-negative number');
  return n;
}
