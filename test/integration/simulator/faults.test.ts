/**
 * Every scriptable fault, seen from a client over real HTTP: by call number and by (seeded)
 * probability, per endpoint, with `times` limits, call counts, and the `/_control/faults` route.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { FaultRule } from '../../../src/simulator/faults.js';
import { startSimulator, type Simulator } from '../../../src/simulator/simulator.js';
import {
  api, control, createExport, download, downloadUrl, getTask, runExport, waitFor,
  type ApiError, type TaskJson, type TaskState,
} from '../../support/simulator-client.js';

const EXECUTE_TIMEOUT_MS = 300;

/** Reads a download chunk by chunk: the bytes that arrived, and the error that ended it, if any. */
async function readAll(url: string): Promise<{ status: number; contentLength: number; received: Buffer; error: (Error & { code?: string }) | null }> {
  const res = await request(url);
  const chunks: Buffer[] = [];
  let error: (Error & { code?: string }) | null = null;
  try {
    for await (const chunk of res.body) chunks.push(chunk as Buffer);
  } catch (caught) {
    error = caught as Error & { code?: string };
  }
  return { status: res.statusCode, contentLength: Number(res.headers['content-length']), received: Buffer.concat(chunks), error };
}

describe('faults', () => {
  let sim: Simulator;
  let chain: number;
  /** A DONE export and its file. */
  let done: TaskJson;
  let file: Buffer;

  before(async () => {
    sim = await startSimulator({ port: 0, vouchersPerChain: 400, taskDurationMs: 0, clockRate: 0, executeTimeoutMs: EXECUTE_TIMEOUT_MS });
    chain = sim.chainIds[0]!;
    const run = await runExport(sim);
    done = run.task;
    file = run.bytes;
    assert.ok(file.length > 50_000, 'a file big enough to cut');
  });
  afterEach(() => sim.setFaults([]));
  after(() => sim.close());

  const statuses = async (n: number, call: () => Promise<{ status: number }>): Promise<number[]> => {
    const seen: number[] = [];
    for (let k = 0; k < n; k++) seen.push((await call()).status);
    return seen;
  };
  const countTasks = async () => (await api<TaskJson[]>(sim, 'GET', '/tasks?limit=500', { auth: sim.bearer() })).body.length;

  describe('status faults, by call number', () => {
    it('list_tasks: 503 on the 2nd call only, with the JSON error body', async () => {
      sim.setFaults([{ at: 'list_tasks', calls: [2], action: { kind: 'status', status: 503 } }]);
      const replies: { status: number; body: unknown }[] = [];
      for (let k = 0; k < 3; k++) replies.push(await api(sim, 'GET', '/tasks'));
      assert.deepEqual(replies.map((r) => r.status), [200, 503, 200]);
      assert.deepEqual(replies[1]!.body, { error: { code: 'server_error', message: 'injected 503' } });
      assert.equal(sim.calls().list_tasks, 3);
    });

    it('get_task: 500 on calls 1 and 3', async () => {
      sim.setFaults([{ at: 'get_task', calls: [1, 3], action: { kind: 'status', status: 500 } }]);
      assert.deepEqual(await statuses(4, () => api(sim, 'GET', `/tasks/${done.id}`)), [500, 200, 500, 200]);
    });

    it('create_task: a 502 creates no task', async () => {
      const before = await countTasks();
      sim.setFaults([{ at: 'create_task', calls: [1], action: { kind: 'status', status: 502 } }]);
      const body = { chain, desc: 'x', target: { action: 'export', export_index: 'vouchers', export_format: 'csv' }, trigger: { once: '2030-01-01T00:00:00Z' } };
      const first = await api<ApiError>(sim, 'POST', '/tasks', { body });
      assert.equal(first.status, 502);
      assert.equal(first.body.error.code, 'server_error');
      assert.equal(await countTasks(), before);
      assert.equal((await api(sim, 'POST', '/tasks', { body })).status, 200);
      assert.equal(await countTasks(), before + 1);
    });

    it('execute_task: 503 leaves the task as it was; the retry runs it', async () => {
      const task = await createExport(sim, { once: new Date('2030-01-01T00:00:00Z') });
      sim.setFaults([{ at: 'execute_task', calls: [1], action: { kind: 'status', status: 503 } }]);
      assert.equal((await api(sim, 'POST', `/tasks/${task.id}/execute`)).status, 503);
      assert.equal((await getTask(sim, task.id)).state.code, 'READY');
      const retry = await api<TaskState>(sim, 'POST', `/tasks/${task.id}/execute`);
      assert.equal(retry.status, 200);
      assert.equal(retry.body.code, 'DONE');
    });

    it('download_url: 500 on the 2nd call', async () => {
      sim.setFaults([{ at: 'download_url', calls: [2], action: { kind: 'status', status: 500 } }]);
      assert.deepEqual(await statuses(3, () => api(sim, 'GET', `/tasks/${done.id}/download_url`)), [200, 500, 200]);
    });

    it('429 with Retry-After', async () => {
      sim.setFaults([{ at: 'get_task', calls: [1], action: { kind: 'status', status: 429, retryAfterSeconds: 7 } }]);
      const limited = await api<ApiError>(sim, 'GET', `/tasks/${done.id}`);
      assert.equal(limited.status, 429);
      assert.equal(limited.headers['retry-after'], '7');
      assert.equal(limited.body.error.code, 'rate_limited');
      const next = await api(sim, 'GET', `/tasks/${done.id}`);
      assert.equal(next.status, 200);
      assert.equal(next.headers['retry-after'], undefined);
    });

    it('storage: 503 with Retry-After and an XML body, then the file', async () => {
      const url = await downloadUrl(sim, done.id);
      sim.setFaults([{ at: 'storage', calls: [1], action: { kind: 'status', status: 503, retryAfterSeconds: 2 } }]);
      const failed = await download(url);
      assert.equal(failed.status, 503);
      assert.equal(failed.headers['retry-after'], '2');
      assert.equal(failed.headers['content-type'], 'application/xml');
      assert.match(failed.text, /<Error><Code>ServiceUnavailable<\/Code>/);
      const ok = await download(url);
      assert.equal(ok.status, 200);
      assert.ok(ok.bytes.equals(file));
    });

    it('faults apply before authentication: even a request without credentials gets the injected status', async () => {
      sim.setFaults([{ at: 'list_tasks', calls: [1], action: { kind: 'status', status: 503 } }]);
      assert.equal((await api(sim, 'GET', '/tasks', { auth: null })).status, 503);
      assert.equal((await api(sim, 'GET', '/tasks', { auth: null })).status, 401);
    });
  });

  describe('by probability', () => {
    const rules: FaultRule[] = [{ at: 'list_tasks', probability: 0.4, action: { kind: 'status', status: 503 } }];
    async function pattern(seed: number, rulesToUse: FaultRule[] = rules): Promise<string> {
      const s = await startSimulator({ port: 0, seed, vouchersPerChain: 10, faults: rulesToUse });
      try {
        return (await statuses(40, () => api(s, 'GET', '/tasks'))).map((code) => (code === 200 ? '.' : 'x')).join('');
      } finally {
        await s.close();
      }
    }

    it('is drawn from the seed: the same seed hits the same calls', async () => {
      const first = await pattern(11);
      assert.equal(await pattern(11), first);
      const hits = [...first].filter((c) => c === 'x').length;
      assert.ok(hits >= 6 && hits <= 26, `about 40% of 40 calls: ${first}`);
      assert.notEqual(await pattern(12), first, 'another seed, other calls');
    });

    it('probability 0 never hits, 1 always does; calls and probability combine', async () => {
      assert.equal(await pattern(11, [{ at: 'list_tasks', probability: 0, action: { kind: 'status', status: 500 } }]), '.'.repeat(40));
      assert.equal(await pattern(11, [{ at: 'list_tasks', probability: 1, action: { kind: 'status', status: 500 } }]), 'x'.repeat(40));
      const some = await pattern(11, [{ at: 'list_tasks', calls: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], probability: 0.5, action: { kind: 'status', status: 500 } }]);
      assert.equal(some.slice(10), '.'.repeat(30));
      assert.match(some.slice(0, 10), /x/);
      assert.match(some.slice(0, 10), /\./);
    });
  });

  describe('delays and resets', () => {
    it('delay: the API answers normally, only later', async () => {
      sim.setFaults([{ at: 'get_task', calls: [1], action: { kind: 'delay', ms: 250 } }]);
      let start = performance.now();
      const slow = await api<TaskJson>(sim, 'GET', `/tasks/${done.id}`);
      const slowMs = performance.now() - start;
      assert.equal(slow.status, 200);
      assert.equal(slow.body.id, done.id);
      assert.ok(slowMs >= 240, `took ${slowMs} ms`);
      start = performance.now();
      await api(sim, 'GET', `/tasks/${done.id}`);
      assert.ok(performance.now() - start < 240, 'the next call is not delayed');
    });

    it('delay on storage: the whole file, later', async () => {
      const url = await downloadUrl(sim, done.id);
      sim.setFaults([{ at: 'storage', action: { kind: 'delay', ms: 250 } }]);
      const start = performance.now();
      const slow = await download(url);
      assert.ok(performance.now() - start >= 240);
      assert.ok(slow.bytes.equals(file));
    });

    it('reset on an API call: the client sees a connection error; nothing was created', async () => {
      const before = await countTasks();
      sim.setFaults([
        { at: 'get_task', calls: [1], action: { kind: 'reset' } },
        { at: 'create_task', calls: [1], action: { kind: 'reset' } },
      ]);
      await assert.rejects(api(sim, 'GET', `/tasks/${done.id}`), (error: Error & { code?: string }) => {
        assert.ok(['ECONNRESET', 'UND_ERR_SOCKET'].includes(error.code ?? ''), `${error.name}: ${error.message} (${error.code})`);
        return true;
      });
      await assert.rejects(createExport(sim), (error: Error & { code?: string }) => ['ECONNRESET', 'UND_ERR_SOCKET'].includes(error.code ?? ''));
      assert.equal(await countTasks(), before);
      assert.equal((await api(sim, 'GET', `/tasks/${done.id}`)).status, 200, 'the next call works');
    });

    it('reset on storage before any byte', async () => {
      const url = await downloadUrl(sim, done.id);
      sim.setFaults([{ at: 'storage', calls: [1], action: { kind: 'reset' } }]);
      await assert.rejects(download(url), (error: Error & { code?: string }) => ['ECONNRESET', 'UND_ERR_SOCKET'].includes(error.code ?? ''));
      assert.ok((await download(url)).bytes.equals(file));
    });

    it('storage reset after N bytes: the client gets at most N bytes, then an error', async () => {
      const url = await downloadUrl(sim, done.id);
      const N = 20_000;
      sim.setFaults([{ at: 'storage', calls: [1], action: { kind: 'reset', afterBytes: N } }]);
      const cut = await readAll(url);
      assert.equal(cut.status, 200);
      assert.equal(cut.contentLength, file.length, 'the full length was announced');
      assert.ok(cut.error, 'the read fails');
      assert.equal(cut.error.code, 'ECONNRESET');
      assert.ok(cut.received.length <= N && cut.received.length > N / 2, `received ${cut.received.length} of ${N}`);
      assert.ok(file.subarray(0, cut.received.length).equals(cut.received), 'what arrived is the start of the file');
      const whole = await readAll(url);
      assert.equal(whole.error, null);
      assert.ok(whole.received.equals(file));
    });

    it('truncated body: exactly keepBytes arrive, shorter than Content-Length, then a premature close', async () => {
      const url = await downloadUrl(sim, done.id);
      sim.setFaults([{ at: 'storage', calls: [1], action: { kind: 'truncate', keepBytes: 12_345 } }]);
      const cut = await readAll(url);
      assert.equal(cut.status, 200);
      assert.equal(cut.contentLength, file.length);
      assert.equal(cut.received.length, 12_345);
      assert.ok(file.subarray(0, 12_345).equals(cut.received));
      assert.ok(cut.error);
      assert.equal(cut.error.code, 'UND_ERR_SOCKET');
      assert.match(cut.error.message, /other side closed/);
    });

    it('throttled body: even a small one arrives a piece at a time, then whole', async () => {
      const url = await downloadUrl(sim, done.id);
      const bytesPerSecond = 20_000;
      sim.setFaults([{ at: 'storage', calls: [1], action: { kind: 'throttle', bytesPerSecond } }]);
      const res = await request(url);
      const chunks: Buffer[] = [];
      for await (const chunk of res.body) chunks.push(chunk as Buffer);
      assert.ok(Buffer.concat(chunks).equals(file));
      assert.ok(file.length > 4000, 'a file of several pieces');
      // Pieces of a tenth of a second each (2,000 bytes), not the file in one go.
      assert.ok(chunks.length >= Math.floor(file.length / 2000), `${chunks.length} pieces for ${file.length} bytes`);
      assert.ok(chunks.every((c) => c.length <= 2000));
    });

    it('truncated body without keepBytes: half the file', async () => {
      const url = await downloadUrl(sim, done.id);
      sim.setFaults([{ at: 'storage', calls: [1], action: { kind: 'truncate' } }]);
      const cut = await readAll(url);
      assert.equal(cut.received.length, Math.floor(file.length / 2));
      assert.ok(cut.error);
    });
  });

  describe('tasks that go wrong', () => {
    it('stuck: the task stays INPROGRESS whatever the clock does; execute times out with 504', async () => {
      sim.setFaults([{ at: 'run_task', calls: [1], action: { kind: 'stuck' } }]);
      const task = await createExport(sim, { once: new Date('2030-01-01T00:00:00Z') });
      const started = performance.now();
      const timedOut = await api<ApiError>(sim, 'POST', `/tasks/${task.id}/execute`);
      assert.equal(timedOut.status, 504);
      assert.equal(timedOut.body.error.code, 'gateway_timeout');
      assert.ok(performance.now() - started >= EXECUTE_TIMEOUT_MS - 10);
      sim.advance(7 * 86_400);
      const stuck = await getTask(sim, task.id);
      assert.equal(stuck.state.code, 'INPROGRESS');
      assert.deepEqual(stuck.logs.map((l) => l.message).slice(1), ['Task started']);
      assert.equal(stuck.result, null);
      assert.equal((await api(sim, 'GET', `/tasks/${task.id}/download_url`)).status, 409);
      assert.equal((await api(sim, 'POST', `/tasks/${task.id}/execute`)).status, 409);
      assert.deepEqual((await api<TaskJson[]>(sim, 'GET', '/tasks?status=INPROGRESS')).body.map((t) => t.id), [task.id]);
    });

    it('error: the task ends in ERROR with error-level logs; execute answers the ERROR state', async () => {
      sim.setFaults([{ at: 'run_task', times: 1, action: { kind: 'error', message: 'Export query failed: shard 3 unavailable' } }]);
      const task = await createExport(sim, { once: new Date('2030-01-01T00:00:00Z') });
      const executed = await api<TaskState>(sim, 'POST', `/tasks/${task.id}/execute`);
      assert.equal(executed.status, 200);
      assert.equal(executed.body.code, 'ERROR');
      const failed = await getTask(sim, task.id);
      assert.equal(failed.state.code, 'ERROR');
      assert.equal(failed.result, null);
      assert.deepEqual(failed.logs.slice(-2).map((l) => [l.level, l.message]), [
        ['error', 'Export query failed: shard 3 unavailable'],
        ['error', 'Task failed'],
      ]);
      assert.ok(failed.logs.slice(0, -2).every((l) => l.level === 'info'));
      assert.equal((await api(sim, 'GET', `/tasks/${task.id}/download_url`)).status, 409);
      assert.deepEqual((await api<TaskJson[]>(sim, 'GET', '/tasks?status=ERROR')).body.map((t) => t.id), [task.id]);

      // The fault was for one run only: executing again succeeds.
      const retried = await api<TaskState>(sim, 'POST', `/tasks/${task.id}/execute`);
      assert.equal(retried.body.code, 'DONE');
      assert.ok((await download(await downloadUrl(sim, task.id))).bytes.equals(file));
    });

    it('error on a scheduled task, with the default message', async () => {
      sim.setFaults([{ at: 'run_task', calls: [1], action: { kind: 'error' } }]);
      const task = await createExport(sim);
      const failed = await waitFor(sim, task.id, (t) => t.state.code === 'ERROR');
      assert.deepEqual(failed.logs.filter((l) => l.level === 'error').map((l) => l.message), ['Export query failed: search index unavailable', 'Task failed']);
    });

    it('a rule may be scoped to one chain', async () => {
      const [a, b] = sim.chainIds as [number, number];
      sim.setFaults([{ at: 'run_task', chain: b, action: { kind: 'error' } }]);
      const ok = await createExport(sim, { chain: a });
      const bad = await createExport(sim, { chain: b });
      assert.equal((await waitFor(sim, ok.id, (t) => t.state.code !== 'READY' && t.state.code !== 'INPROGRESS')).state.code, 'DONE');
      assert.equal((await waitFor(sim, bad.id, (t) => t.state.code !== 'READY' && t.state.code !== 'INPROGRESS')).state.code, 'ERROR');
    });
  });

  describe('URL expiry', () => {
    it('expire: the URL works until N seconds have passed, then 403; the next URL is normal', async () => {
      sim.setFaults([{ at: 'download_url', calls: [1], action: { kind: 'expire', seconds: 30 } }]);
      const now = Math.floor(sim.now().getTime() / 1000);
      const short = await downloadUrl(sim, done.id);
      assert.equal(Number(new URL(short).searchParams.get('X-Expires')), now + 30);
      assert.equal((await download(short)).status, 200);
      sim.advance(30);
      assert.equal((await download(short)).status, 200);
      sim.advance(1);
      const expired = await download(short);
      assert.equal(expired.status, 403);
      assert.match(expired.text, /<Code>AccessDenied<\/Code>/);
      const normal = await downloadUrl(sim, done.id);
      assert.equal(Number(new URL(normal).searchParams.get('X-Expires')), now + 31 + 3600);
    });

    it('expire after 0 seconds: stale as soon as the clock moves', async () => {
      sim.setFaults([{ at: 'download_url', action: { kind: 'expire', seconds: 0 } }]);
      const url = await downloadUrl(sim, done.id);
      assert.equal((await download(url)).status, 200);
      sim.advance(1);
      assert.equal((await download(url)).status, 403);
    });
  });

  describe('limits and counts', () => {
    it('times: the rule stops after that many hits', async () => {
      sim.setFaults([{ at: 'get_task', times: 2, action: { kind: 'status', status: 503 } }]);
      assert.deepEqual(await statuses(5, () => api(sim, 'GET', `/tasks/${done.id}`)), [503, 503, 200, 200, 200]);
    });

    it('the first matching rule wins; later rules catch what it lets through', async () => {
      sim.setFaults([
        { at: 'get_task', calls: [1, 2], times: 1, action: { kind: 'status', status: 500 } },
        { at: 'get_task', calls: [2, 3], action: { kind: 'status', status: 502 } },
      ]);
      assert.deepEqual(await statuses(4, () => api(sim, 'GET', `/tasks/${done.id}`)), [500, 502, 502, 200]);
    });

    it('calls() counts the calls at every point since the rules were set, in-process and over /_control', async () => {
      sim.setFaults([]);
      assert.deepEqual(sim.calls(), { create_task: 0, list_tasks: 0, get_task: 0, execute_task: 0, download_url: 0, storage: 0, run_task: 0 });
      await api(sim, 'GET', '/tasks');
      await api(sim, 'GET', '/tasks', { auth: null }); // counted: the route is known
      await api(sim, 'DELETE', '/tasks'); // not counted: 405 comes first
      const run = await runExport(sim); // create, execute, get, download_url, storage, run_task
      await api(sim, 'GET', `/tasks/${run.task.id}`);
      await download(run.url);
      await download(`${run.url}x`); // a bad signature is refused before counting
      const expected = { create_task: 1, list_tasks: 2, get_task: 2, execute_task: 1, download_url: 1, storage: 2, run_task: 1 };
      assert.deepEqual(sim.calls(), expected);
      const overHttp = await control(sim, 'GET', '/calls');
      assert.equal(overHttp.status, 200);
      assert.deepEqual(overHttp.body, expected);
    });
  });

  describe('/_control/faults', () => {
    it('PUT sets the rules, GET shows them, DELETE clears them', async () => {
      const rules: FaultRule[] = [{ at: 'list_tasks', calls: [1], action: { kind: 'status', status: 500 } }];
      const put = await control<{ rules: FaultRule[] }>(sim, 'PUT', '/faults', { rules });
      assert.equal(put.status, 200);
      assert.deepEqual(put.body.rules, rules);
      assert.deepEqual((await control<{ rules: FaultRule[] }>(sim, 'GET', '/faults')).body.rules, rules);
      assert.equal((await api(sim, 'GET', '/tasks')).status, 500);
      assert.equal((await api(sim, 'GET', '/tasks')).status, 200);

      await control(sim, 'PUT', '/faults', { rules: [{ at: 'get_task', action: { kind: 'status', status: 503 } }] });
      assert.equal((await api(sim, 'GET', `/tasks/${done.id}`)).status, 503);
      const cleared = await control<{ rules: FaultRule[] }>(sim, 'DELETE', '/faults');
      assert.deepEqual(cleared.body.rules, []);
      assert.equal((await api(sim, 'GET', `/tasks/${done.id}`)).status, 200);
      assert.deepEqual((await control<{ rules: FaultRule[] }>(sim, 'GET', '/faults')).body.rules, []);
    });

    it('a stuck task set over HTTP', async () => {
      await control(sim, 'PUT', '/faults', { rules: [{ at: 'run_task', calls: [1], action: { kind: 'stuck' } }] });
      const task = await createExport(sim);
      await waitFor(sim, task.id, (t) => t.state.code === 'INPROGRESS');
      await control(sim, 'POST', '/clock', { advance_seconds: 3600 });
      assert.equal((await getTask(sim, task.id)).state.code, 'INPROGRESS');
    });

    it('invalid rules → 400 naming the field; nothing changes', async () => {
      await control(sim, 'PUT', '/faults', { rules: [{ at: 'list_tasks', calls: [1], action: { kind: 'status', status: 500 } }] });
      const cases: [unknown, string][] = [
        [{ rules: [{ at: 'everywhere', action: { kind: 'status', status: 500 } }] }, 'rules.0.at'],
        [{ rules: [{ at: 'get_task', action: { kind: 'status', status: 404 } }] }, 'rules.0.action.status'],
        [{ rules: [{ at: 'get_task', action: { kind: 'explode' } }] }, 'rules.0.action.kind'],
        [{ rules: [{ at: 'get_task', action: { kind: 'truncate' } }] }, 'rules.0.action.kind'],
        [{ rules: [{ at: 'storage', action: { kind: 'stuck' } }] }, 'rules.0.action.kind'],
        [{ rules: [{ at: 'download_url', action: { kind: 'error' } }] }, 'rules.0.action.kind'],
        [{ rules: [{ at: 'run_task', action: { kind: 'expire', seconds: 5 } }] }, 'rules.0.action.kind'],
        [{ rules: [{ at: 'get_task', calls: [0], action: { kind: 'reset' } }] }, 'rules.0.calls.0'],
        [{ rules: [{ at: 'get_task', probability: 1.5, action: { kind: 'reset' } }] }, 'rules.0.probability'],
        [{ rules: [{ at: 'get_task', times: 0, action: { kind: 'reset' } }] }, 'rules.0.times'],
        [{ rules: [{ at: 'get_task', action: { kind: 'delay', ms: -1 } }] }, 'rules.0.action.ms'],
        [{ rules: [{ at: 'get_task', when: 'now', action: { kind: 'reset' } }] }, 'rules.0'],
        [{ rules: {} }, 'rules'],
      ];
      for (const [body, field] of cases) {
        const reply = await control<ApiError>(sim, 'PUT', '/faults', body);
        assert.equal(reply.status, 400, JSON.stringify(body));
        assert.equal(reply.body.error.code, 'validation_error');
        assert.equal(reply.body.error.field, field, JSON.stringify(body));
      }
      assert.equal((await control(sim, 'PUT', '/faults', { rules: [] }, sim.bearer())).status, 401);
      assert.equal((await control<{ rules: FaultRule[] }>(sim, 'GET', '/faults')).body.rules.length, 1, 'the old rules stay');
      assert.throws(() => sim.setFaults([{ at: 'get_task', action: { kind: 'truncate' } }]));
    });
  });
});
