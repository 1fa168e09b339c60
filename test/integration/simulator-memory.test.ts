// The simulator streams a 1,000,000-row export (render to storage, then download) in flat
// memory: its peak RSS grows by less than 100 MB. It runs as its own process, as a user runs it.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { after, before, it } from 'node:test';
import { request } from 'undici';

const ROWS = 1_000_000;
const MB = 1024 * 1024;

let child: ChildProcessWithoutNullStreams;
let info: { url: string; tokens: { id: string; secret: string; chains: number[] }[] };

async function memory(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

before(async () => {
  child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'simulator', '--port', '0', '--json', '--chains', '1', '--vouchers', String(ROWS), '--task-duration', '0'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  child.stderr.pipe(process.stderr);
  const [line] = await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next().then((r) => [r.value as string]);
  info = JSON.parse(line!) as typeof info;
});

after(() => {
  child?.kill('SIGTERM');
});

it(`renders and serves a ${ROWS.toLocaleString('en')}-row export with under 100 MB of RSS growth`, { timeout: 180_000 }, async () => {
  const token = info.tokens[0]!;
  const headers = { authorization: `Bearer ${token.id}:${token.secret}`, 'content-type': 'application/json' };
  const api = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const res = await request(`${info.url}${path}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) });
    const json = (await res.body.json()) as Record<string, unknown>;
    assert.equal(res.statusCode, 200, JSON.stringify(json));
    return json;
  };
  const createAndRun = async (segment?: unknown) => {
    const task = await api('POST', '/tasks', {
      chain: token.chains[0],
      desc: 'memory test',
      target: { action: 'export', export_index: 'vouchers', export_format: 'csv' },
      trigger: { once: '2030-01-01T00:00:00Z', ...(segment ? { segment } : {}) },
    });
    const state = await api('POST', `/tasks/${task.id}/execute`);
    assert.equal(state.code, 'DONE');
    return (await api('GET', `/tasks/${task.id}`)) as { id: number; result: { rows: number; bytes: number } };
  };

  // Warm up every code path on a tiny export, then take the baseline.
  await createAndRun({ entity: 'people', index: 'vouchers', join: 'all', chain_id: token.chains[0], rules: [{ field_name: 'id', field_type: 'integer', operator: 'is', value: 1 }] });
  const baseline = await memory(child.pid!);

  const task = await createAndRun();
  assert.ok(task.result.rows > ROWS * 0.98 && task.result.rows < ROWS, `live vouchers exported: ${task.result.rows}`);
  const { url } = (await api('GET', `/tasks/${task.id}/download_url`)) as { url: string };
  const download = await request(url);
  assert.equal(download.statusCode, 200);
  assert.equal(Number(download.headers['content-length']), task.result.bytes);
  let bytes = 0;
  for await (const chunk of download.body) bytes += (chunk as Buffer).length;
  assert.equal(bytes, task.result.bytes);

  const end = await memory(child.pid!);
  const growth = end.peak - baseline.rss;
  console.log(`simulator RSS: baseline ${(baseline.rss / MB).toFixed(1)} MB, peak ${(end.peak / MB).toFixed(1)} MB, growth ${(growth / MB).toFixed(1)} MB for ${task.result.rows} rows / ${(bytes / MB).toFixed(0)} MB`);
  assert.ok(growth < 100 * MB, `RSS grew by ${(growth / MB).toFixed(1)} MB`);
});
