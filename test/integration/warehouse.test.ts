// The warehouse connection against real PostgreSQL servers: an embedded one started here (always),
// the same server reached through a connection string, and the machine's DATABASE_URL when set.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WarehouseError } from '../../src/errors.js';
import { createLogger, type Logger } from '../../src/log.js';
import { openWarehouse, type Warehouse } from '../../src/warehouse/warehouse.js';

function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ level: 'debug', format: 'json', write: (l) => lines.push(l) }), lines };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function postmasterPid(dataDir: string): Promise<number | null> {
  const text = await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => null);
  return text === null ? null : Number(text.split('\n')[0]);
}

async function waitFor(condition: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await condition()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return condition();
}

describe('embedded PostgreSQL', () => {
  let root: string;
  let first: Warehouse;
  const { logger, lines } = capturingLogger();

  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'spaaza-wh-'));
    await chmod(root, 0o755); // the server runs as the `postgres` OS user when we are root
    first = await openWarehouse({ logger, embeddedRoot: root });
  });

  after(async () => {
    await first?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('starts a server under the given folder and answers queries', async () => {
    assert.ok(first.embedded, 'embedded server expected without a database URL');
    assert.equal(first.embedded.startedHere, true);
    assert.equal(first.embedded.dataDir, path.join(root, 'pg'));
    const { rows } = await first.pool.query<{ one: number }>('SELECT 1 AS one');
    assert.equal(rows[0]?.one, 1);
    const viaKysely = await first.db.selectNoFrom((eb) => eb.lit(2).as('two')).executeTakeFirstOrThrow();
    assert.equal(viaKysely.two, 2);
  });

  it('prints a connection string without the password, which lives in a 0600 .pgpass', async () => {
    const server = first.embedded!;
    const password = decodeURIComponent(new URL(server.connectionString).password);
    assert.ok(password.length >= 24);
    assert.equal(new URL(server.displayUrl).password, '');
    assert.match(server.displayUrl, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/spaaza$/);
    assert.equal((await stat(server.passFile)).mode & 0o777, 0o600);
    assert.match(await readFile(server.passFile, 'utf8'), new RegExp(`^127\\.0\\.0\\.1:\\*:\\*:postgres:${password}$`, 'm'));
    assert.ok(lines.some((l) => l.includes(server.displayUrl)), 'the connection string is logged');
    assert.ok(!lines.some((l) => l.includes(password)), 'the password never reaches the log');
  });

  it('is reachable through a plain connection string too (the DATABASE_URL path)', async () => {
    const viaUrl = await openWarehouse({ logger, databaseUrl: first.embedded!.connectionString });
    try {
      assert.equal(viaUrl.embedded, null);
      assert.ok(!viaUrl.displayUrl.includes(decodeURIComponent(new URL(first.embedded!.connectionString).password)));
      const { rows } = await viaUrl.pool.query<{ db: string }>('SELECT current_database() AS db');
      assert.equal(rows[0]?.db, 'spaaza');
    } finally {
      await viaUrl.close();
    }
  });

  it('lets a second process-local open reuse the running server without stopping it on close', async () => {
    const second = await openWarehouse({ logger, embeddedRoot: root });
    assert.equal(second.embedded?.startedHere, false);
    assert.equal(second.embedded?.port, first.embedded!.port);
    await second.close();
    const { rows } = await first.pool.query<{ one: number }>('SELECT 1 AS one');
    assert.equal(rows[0]?.one, 1, 'the first user still has its server');
  });

  it('keeps data across a stop and a restart on a new port', async () => {
    await first.pool.query('CREATE TABLE kept (n int)');
    await first.pool.query('INSERT INTO kept VALUES (42)');
    const pid = await postmasterPid(first.embedded!.dataDir);
    assert.ok(pid && alive(pid));
    await first.close();
    assert.equal(await waitFor(() => !alive(pid!), 10_000), true, 'the server process ended');

    first = await openWarehouse({ logger, embeddedRoot: root });
    assert.equal(first.embedded?.startedHere, true);
    const { rows } = await first.pool.query<{ n: number }>('SELECT n FROM kept');
    assert.deepEqual(rows, [{ n: 42 }]);
  });

  it('stops the server it started when the process exits without closing', async () => {
    const script = `
      import { openWarehouse } from ${JSON.stringify(path.resolve('src/warehouse/warehouse.ts'))};
      import { silentLogger } from ${JSON.stringify(path.resolve('src/log.ts'))};
      const w = await openWarehouse({ logger: silentLogger, embeddedRoot: process.argv[1] });
      process.stdout.write(String(w.embedded.port), () => process.exit(0));
    `;
    const childRoot = await mkdtemp(path.join(tmpdir(), 'spaaza-wh-exit-'));
    await chmod(childRoot, 0o755);
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, childRoot], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      assert.equal(code, 0);
      assert.match(out, /^\d+$/);
      const pid = await postmasterPid(path.join(childRoot, 'pg'));
      assert.equal(await waitFor(() => pid === null || !alive(pid), 10_000), true, 'no orphaned server');
    } finally {
      await rm(childRoot, { recursive: true, force: true });
    }
  });
});

describe('DATABASE_URL', () => {
  it('connects to the machine\'s PostgreSQL when DATABASE_URL is set', { skip: !process.env.DATABASE_URL && 'DATABASE_URL is not set' }, async () => {
    const warehouse = await openWarehouse({ logger: capturingLogger().logger, databaseUrl: process.env.DATABASE_URL });
    try {
      assert.equal(warehouse.embedded, null);
      const { rows } = await warehouse.pool.query<{ v: string }>("SELECT current_setting('server_version') AS v");
      assert.match(rows[0]!.v, /^\d+/);
      if (new URL(process.env.DATABASE_URL!).password) assert.equal(new URL(warehouse.displayUrl).password, '***');
    } finally {
      await warehouse.close();
    }
  });

  it('fails with an error that names the fix and hides the password', async () => {
    const url = 'postgres://someone:s3cret-pw@127.0.0.1:1/nowhere';
    await assert.rejects(openWarehouse({ logger: capturingLogger().logger, databaseUrl: url }), (error: unknown) => {
      assert.ok(error instanceof WarehouseError);
      assert.equal(error.code, 'warehouse_unreachable');
      assert.match(error.message, /DATABASE_URL/);
      assert.ok(!error.message.includes('s3cret-pw'));
      return true;
    });
  });
});
