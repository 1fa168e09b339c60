// What the benchmark measures about a phase, and how: a child process's wall time, peak RSS and
// CPU, and the CPU of the PostgreSQL server around it.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Pool } from 'pg';

export interface Phase {
  name: string;
  rows: number;
  seconds: number;
  peakRssBytes: number | null;
  /** CPU seconds of the loading process (the CLI, psql or pgloader), and of all PostgreSQL server processes, in the phase. */
  cpuSeconds: number | null;
  postgresCpuSeconds: number | null;
  /** The `loadPath` of the phase's `window committed` lines, distinct values joined by `+`; null for the baselines. */
  loadPath: string | null;
  detail: string;
}

/** Rows per CPU-second of the loader and the server together: what a phase costs the machine, not only the clock. */
export function rowsPerCpuSecond(p: Phase): number | null {
  if (p.cpuSeconds === null || p.postgresCpuSeconds === null) return null;
  const cpu = p.cpuSeconds + p.postgresCpuSeconds;
  return cpu > 0 ? p.rows / cpu : null;
}

export interface ChildUsage {
  seconds: number;
  peakRssBytes: number | null;
  cpuSeconds: number | null;
  /** The end of what the child wrote to stdout and stderr (for an error message). */
  outputTail: string;
}

const GNU_TIME = '/usr/bin/time';
const hasGnuTime = (() => {
  try {
    accessSync(GNU_TIME, constants.X_OK);
    return true;
  } catch {
    return false;
  }
})();

/**
 * Runs a command to its end and measures it: under GNU time when installed (its rusage is exact),
 * else by reading /proc (the child's peak RSS sampled, and the CPU of reaped children of this
 * process, which the child becomes when it exits). Rejects when it exits non-zero.
 */
export async function runMeasured(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; scratchDir: string }): Promise<ChildUsage> {
  const timeFile = path.join(options.scratchDir, 'gnu-time.txt');
  const [file, argv] = hasGnuTime ? [GNU_TIME, ['-v', '-o', timeFile, command, ...args]] : [command, [...args]];
  const childCpuBefore = hasGnuTime ? null : await reapedChildrenCpuSeconds();
  const started = performance.now();
  const child = spawn(file, argv, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-8192)); // the end only: pgloader can log a lot
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const sampler = hasGnuTime ? null : sampleHighWaterMark(child.pid);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const seconds = (performance.now() - started) / 1000;
  sampler?.stop();
  if (code !== 0) throw new Error(`${command} exited ${code}:\n${tail}`);
  if (hasGnuTime) {
    const usage = parseGnuTime(await readFile(timeFile, 'utf8'));
    await rm(timeFile, { force: true });
    return { seconds, ...usage, outputTail: tail };
  }
  const childCpuAfter = await reapedChildrenCpuSeconds();
  return {
    seconds,
    peakRssBytes: sampler?.peak() ?? null,
    cpuSeconds: childCpuBefore === null || childCpuAfter === null ? null : childCpuAfter - childCpuBefore,
    outputTail: tail,
  };
}

function parseGnuTime(text: string): { peakRssBytes: number | null; cpuSeconds: number | null } {
  const field = (label: string) => {
    const m = new RegExp(`${label}: ([\\d.]+)`).exec(text);
    return m ? Number(m[1]) : null;
  };
  const rssKb = field('Maximum resident set size \\(kbytes\\)');
  const user = field('User time \\(seconds\\)');
  const system = field('System time \\(seconds\\)');
  return { peakRssBytes: rssKb === null ? null : rssKb * 1024, cpuSeconds: user === null || system === null ? null : user + system };
}

/** Polls a process's VmHWM (the kernel's own high-water mark, so a sample between peaks loses nothing but the last interval). */
function sampleHighWaterMark(pid: number | undefined): { stop(): void; peak(): number | null } {
  let peak: number | null = null;
  const read = () => {
    if (pid === undefined) return;
    readFile(`/proc/${pid}/status`, 'utf8')
      .then((status) => {
        const kb = /VmHWM:\s+(\d+) kB/.exec(status);
        if (kb) peak = Math.max(peak ?? 0, Number(kb[1]) * 1024);
      })
      .catch(() => {}); // gone already
  };
  read();
  const timer = setInterval(read, 50);
  return { stop: () => clearInterval(timer), peak: () => peak };
}

/** cutime + cstime of this process: the CPU of its children that have exited and been waited for. */
async function reapedChildrenCpuSeconds(): Promise<number | null> {
  try {
    const stat = await readFile('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100; // USER_HZ
  } catch {
    return null;
  }
}

/**
 * CPU seconds used so far by every PostgreSQL server process on this machine (the warehouse is
 * local here); null when /proc cannot tell. Includes the checkpointer and WAL writer: the server's
 * whole cost of a phase.
 */
export async function postgresCpuSeconds(): Promise<number | null> {
  try {
    let ticks = 0;
    for (const pid of await readdir('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (name !== 'postgres') continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime + stime, and cutime + cstime: the postmaster collects the time of backends that exited.
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    }
    return ticks / 100; // USER_HZ
  } catch {
    return null;
  }
}

/** Each phase starts with the dirty pages of the one before written out, so it pays only for its own. */
export async function checkpoint(pool: Pool): Promise<void> {
  await pool.query('CHECKPOINT').catch(() => {}); // needs a superuser or pg_checkpoint
}

/** The server's CPU during `work`, with what `work` returns. */
export async function withPostgresCpu<T>(work: () => Promise<T>): Promise<{ result: T; postgresCpuSeconds: number | null }> {
  const before = await postgresCpuSeconds();
  const result = await work();
  const after = await postgresCpuSeconds();
  return { result, postgresCpuSeconds: before === null || after === null ? null : after - before };
}
