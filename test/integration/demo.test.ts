// `npm run demo` is what a newcomer runs first. This runs scripts/demo.ts as a user does
// (`node --import tsx scripts/demo.ts`, on the Node.js running the tests) and checks that it exits
// 0 and that the work it reports adds up: every sync ok on both chains, each chain's inserted minus
// soft-deleted equal to the live vouchers it then finds identical to the simulator's ground
// truth and shows in status, the full refresh reading every live voucher, the analyst queries
// answering, and no stack trace.
//
// It runs in a folder of its own, as a first run on a fresh checkout: the demo keeps its embedded
// PostgreSQL under `.spaaza-sync/` of the working directory, which here is a new temporary folder
// (not the repository's, which other tests share when DATABASE_URL is unset). Ports are free ones
// picked by the simulator and the embedded server. The folder is removed afterwards, and a server
// left running by a demo that died is stopped first. With DATABASE_URL set (as in CI) the demo
// must still use its embedded server, as it says, and leave that database alone.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const SCHEMA = 'spaaza_demo';
const VOUCHERS_PER_CHAIN = 100_000;
const NEW_VOUCHERS_PER_ROUND = 300; // scripts/demo.ts activity(): created per chain and round
const HISTORY_DAYS = 180;

let folder: string;
let demo: ReturnType<typeof spawn> | undefined;

/** Whether DATABASE_URL's database holds the demo's schema (null when DATABASE_URL is unset). */
async function demoSchemaInDatabaseUrl(): Promise<boolean | null> {
  if (!process.env.DATABASE_URL) return null;
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [SCHEMA]);
    return rowCount === 1;
  } finally {
    await client.end();
  }
}

before(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'spaaza-sync-demo-'));
  // Run as root, the embedded server runs as `postgres`, which must be able to enter the folder
  // (else the demo falls back to a data directory under the temp dir shared with other runs).
  await chmod(folder, 0o755);
});

after(async () => {
  if (demo && demo.exitCode === null && demo.signalCode === null) demo.kill('SIGKILL');
  // A demo that died leaves its embedded server running: a fast shutdown, then the folder goes.
  const pidFile = path.join(folder, '.spaaza-sync', 'pg', 'postmaster.pid');
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).split('\n')[0]);
  if (pid > 0) {
    try {
      process.kill(pid, 'SIGINT');
      for (let i = 0; i < 100 && existsSync(pidFile); i++) await sleep(100);
    } catch {
      // already gone
    }
  }
  await rm(folder, { recursive: true, force: true });
});

it('npm run demo: exits 0 and the counts it prints agree with each other and with Spaaza', { timeout: 300_000 }, async (t) => {
  const schemaBefore = await demoSchemaInDatabaseUrl();
  const env: NodeJS.ProcessEnv = { ...process.env, TSX_TSCONFIG_PATH: path.join(REPO, 'tsconfig.json') };
  delete env.NODE_TEST_CONTEXT; // the demo is a program, not a test file reporting to this runner
  // `--import tsx` as in package.json's "demo" script, resolved from the repository since the
  // working directory is the fresh folder.
  demo = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), path.join(REPO, 'scripts', 'demo.ts')], { cwd: folder, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  demo.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  demo.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const [code, signal] = (await new Promise((resolve) => demo!.on('close', (...args) => resolve(args)))) as [number | null, string | null];

  const context = `\n--- demo stdout ---\n${stdout}\n--- demo stderr ---\n${stderr}`;
  try {
    assert.equal(signal, null, 'the demo was killed');
    assert.equal(code, 0, 'the demo exited non-zero');
    assert.doesNotMatch(stdout + stderr, /^\s+at .+:\d+:\d+\)?$/m, 'a stack trace');
    assert.doesNotMatch(stdout, /DIFFERENT|ERROR|\[\w+\] /, 'a failure line');

    // The Node.js it runs on, and what is supported.
    const version = /^running on Node\.js (v[\d.]+) \(supported: Node\.js 20 from 20\.18\.1, and 24\)$/m.exec(stdout);
    assert.ok(version, 'the Node.js version line');
    assert.equal(version[1], process.version);

    // The output in its steps: `[12.3 s] title` then the step's lines.
    const steps = new Map<string, string[]>();
    let current: string[] = [];
    for (const line of stdout.split('\n')) {
      const title = /^\[[\d.]+ s\] (.*)$/.exec(line);
      if (title) steps.set(title[1]!, (current = []));
      else if (line.trim()) current.push(line);
    }
    const step = (prefix: string) => {
      const found = [...steps].find(([title]) => title.startsWith(prefix));
      assert.ok(found, `a step "${prefix}…"`);
      return found[1];
    };
    const header = /^starting the Spaaza simulator: 2 chains, ([\d,]+) vouchers over (\d+) days$/;
    const simulated = [...steps.keys()].map((title) => header.exec(title)).find(Boolean);
    assert.deepEqual(simulated?.slice(1), [(2 * VOUCHERS_PER_CHAIN).toLocaleString('en'), String(HISTORY_DAYS)], 'the simulator step');
    const chains = /\(chains (\d+), (\d+)\)$/.exec(step('starting the Spaaza simulator').join('\n'))?.slice(1).map(Number);
    assert.ok(chains?.length === 2, 'the two chain ids');

    type Sync = { status: string; windows: number; read: number; inserted: number; updated: number; deleted: number };
    const syncOf = (prefix: string): Map<number, Sync> => {
      const byChain = new Map<number, Sync>();
      for (const line of step(prefix)) {
        const m = /^ {2}chain (\d+): (\S+), (\d+) window\(s\): read (\d+), inserted (\d+), updated (\d+), soft-deleted (\d+)$/.exec(line);
        assert.ok(m, `${prefix}: an unexpected line: ${line}`);
        const [status, windows, read, inserted, updated, deleted] = [m[2]!, ...m.slice(3).map(Number)] as [string, number, number, number, number, number];
        byChain.set(Number(m[1]), { status, windows, read, inserted, updated, deleted });
      }
      assert.deepEqual([...byChain.keys()].sort(), [...chains].sort(), `${prefix}: both chains`);
      for (const [chain, s] of byChain) assert.equal(s.status, 'ok', `${prefix}: chain ${chain}`);
      return byChain;
    };
    const backfill = syncOf('first sync: backfill');
    const incrementals = [syncOf('incremental sync #1'), syncOf('incremental sync #2')];
    const full = syncOf('full refresh');

    const compared = new Map<number, number>();
    for (const line of step('the warehouse against')) {
      const m = /^ {2}chain (\d+): identical: (\d+) live vouchers in the warehouse, (\d+) in Spaaza$/.exec(line);
      assert.ok(m, `ground truth: an unexpected line: ${line}`);
      assert.equal(m[2], m[3], `chain ${m[1]}: warehouse and Spaaza`);
      compared.set(Number(m[1]), Number(m[2]));
    }
    const status = new Map<number, { live: number; deleted: number; runs: string }>();
    for (const m of step('status').join('\n').matchAll(/^ {2}chain (\d+): watermark .+\n {4}(\d+) live, (\d+) soft-deleted; last runs: (.*)$/gm)) {
      status.set(Number(m[1]), { live: Number(m[2]), deleted: Number(m[3]), runs: m[4]! });
    }

    for (const chain of chains) {
      const b = backfill.get(chain)!;
      const runs = [b, ...incrementals.map((i) => i.get(chain)!), full.get(chain)!];
      // The backfill: windows of at most 31 days over the history, nearly every base voucher.
      assert.ok(b.windows >= Math.ceil(HISTORY_DAYS / 31), `chain ${chain}: ${b.windows} backfill windows`);
      assert.ok(b.inserted > VOUCHERS_PER_CHAIN * 0.95 && b.inserted <= VOUCHERS_PER_CHAIN, `chain ${chain}: backfill inserted ${b.inserted}`);
      // Each activity round creates vouchers (and regenerates partly redeemed ones): the
      // incremental sync after it inserts them; deletions show only in the full refresh.
      for (const [n, i] of incrementals.entries()) {
        const s = i.get(chain)!;
        assert.ok(s.inserted >= NEW_VOUCHERS_PER_ROUND && s.updated > 0, `chain ${chain}: incremental #${n + 1} inserted ${s.inserted}, updated ${s.updated}`);
        assert.equal(s.deleted, 0, `chain ${chain}: incremental #${n + 1} soft-deleted`);
      }
      const f = full.get(chain)!;
      assert.ok(f.deleted > 0 && f.inserted === 0, `chain ${chain}: the full refresh inserted ${f.inserted}, soft-deleted ${f.deleted}`);
      // The counts agree: what went in minus what was deleted is what is live, everywhere.
      const inserted = runs.reduce((n, r) => n + r.inserted, 0);
      const deleted = runs.reduce((n, r) => n + r.deleted, 0);
      assert.equal(compared.get(chain), inserted - deleted, `chain ${chain}: live in the warehouse = inserted ${inserted} - soft-deleted ${deleted}`);
      assert.equal(f.read, compared.get(chain), `chain ${chain}: the full refresh read every live voucher`);
      const s = status.get(chain);
      assert.ok(s, `chain ${chain}: a status line`);
      assert.equal(s.live, compared.get(chain), `chain ${chain}: status live`);
      assert.equal(s.deleted, deleted, `chain ${chain}: status soft-deleted`);
      assert.match(s.runs, /^#\d+ full-refresh committed, #\d+ incremental committed, #\d+ incremental committed$/, `chain ${chain}: last runs`);
    }

    // The three analyst queries answer with rows: a title, a header and at least one row each.
    const queries = step('a few analyst queries');
    for (const title of ['Redemption by campaign (top 5):', 'Open vouchers expiring in the next 7 days:', 'Issued and redeemed per week, last 6 weeks:']) {
      const at = queries.findIndex((line) => line.trim() === title);
      assert.ok(at >= 0, `the query "${title}"`);
      assert.match(queries[at + 2] ?? '', /^ {4}\S/, `"${title}" has a row`);
    }

    // The closing hint names the demo's own embedded server, kept in its working directory.
    const done = [...steps].find(([title]) => title.startsWith('done in '));
    assert.ok(done, 'the closing line');
    const passFile = /PGPASSFILE=(\S+) psql /.exec(done[1].join('\n'))?.[1];
    assert.equal(passFile, path.join(folder, '.spaaza-sync', '.pgpass'));
    // It stopped the server it started.
    assert.ok(!existsSync(path.join(folder, '.spaaza-sync', 'pg', 'postmaster.pid')), 'the embedded server still runs');
  } catch (error) {
    console.log(context); // the demo's own words, line by line, next to the failure
    throw error;
  }

  // "DATABASE_URL is ignored by the demo": its schema did not appear in that database.
  const schemaAfter = await demoSchemaInDatabaseUrl();
  if (schemaBefore === false) assert.equal(schemaAfter, false, `the demo created ${SCHEMA} in DATABASE_URL's database`);
  else if (schemaBefore) t.diagnostic(`${SCHEMA} already existed in DATABASE_URL's database: not checked`);
});
