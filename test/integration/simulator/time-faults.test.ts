/**
 * Faults that lie about time, and the huge answer, seen from a client over real HTTP: a `Date`
 * header off by seconds or not a date at all, task dates shifted or blanked in one answer only,
 * and a JSON answer of hundreds of megabytes that the simulator streams in flat memory.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { after, afterEach, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { FaultRule } from '../../../src/simulator/faults.js';
import { startSimulator, type Simulator } from '../../../src/simulator/simulator.js';
import {
  api, control, createExport, download, downloadUrl, exportBody, getTask, isoZ, runExport,
  type ApiError, type Reply, type TaskJson, type TaskState,
} from '../../support/simulator-client.js';

const START_MS = Date.UTC(2026, 4, 26, 12);
const HOUR = 3600;

describe('time faults', () => {
  let sim: Simulator;
  let done: TaskJson;

  before(async () => {
    sim = await startSimulator({ port: 0, vouchersPerChain: 50, taskDurationMs: 0, clockRate: 0, startMs: START_MS });
    done = (await runExport(sim)).task;
  });
  afterEach(() => sim.setFaults([]));
  after(() => sim.close());

  const dateOf = (reply: { headers: Reply<unknown>['headers'] }) => Date.parse(String(reply.headers.date));
  /** One normal call at each API point, on tasks that exist. */
  const calls: Record<'create_task' | 'list_tasks' | 'get_task' | 'execute_task' | 'download_url', () => Promise<Reply<unknown>>> = {
    create_task: () => api(sim, 'POST', '/tasks', { body: exportBody(sim, { once: new Date(START_MS + 86_400_000) }) }),
    list_tasks: () => api(sim, 'GET', '/tasks'),
    get_task: () => api(sim, 'GET', `/tasks/${done.id}`),
    execute_task: () => api(sim, 'POST', `/tasks/${done.id}/execute`),
    download_url: () => api(sim, 'GET', `/tasks/${done.id}/download_url`),
  };

  describe('date: a proxy with a wrong clock', () => {
    for (const [point, call] of Object.entries(calls)) {
      it(`${point}: a normal answer whose Date header is an hour behind; the next call's is right`, async () => {
        sim.setFaults([{ at: point as FaultRule['at'], calls: [1], action: { kind: 'date', seconds: -HOUR } }]);
        const faulted = await call();
        assert.equal(faulted.status, 200, faulted.text);
        assert.equal(dateOf(faulted), sim.now().getTime() - HOUR * 1000);
        const normal = await call();
        assert.equal(normal.status, 200);
        assert.equal(dateOf(normal), sim.now().getTime());
        if (point === 'get_task') assert.deepEqual(faulted.body, normal.body, 'only the header differs');
      });
    }

    it('far ahead: a Date in 2099, and an error answer carries it too', async () => {
      const seconds = (Date.UTC(2099, 0, 1) - sim.now().getTime()) / 1000;
      sim.setFaults([{ at: 'get_task', action: { kind: 'date', seconds } }]);
      const reply = await api(sim, 'GET', `/tasks/${done.id}`);
      assert.equal(reply.headers.date, 'Thu, 01 Jan 2099 00:00:00 GMT');
      const missing = await api<ApiError>(sim, 'GET', '/tasks/999999');
      assert.equal(missing.status, 404);
      assert.equal(missing.headers.date, 'Thu, 01 Jan 2099 00:00:00 GMT');
    });

    it('a literal header: garbage, or empty', async () => {
      sim.setFaults([
        { at: 'list_tasks', calls: [1], action: { kind: 'date', header: 'Yesterday, about noon' } },
        { at: 'list_tasks', calls: [2], action: { kind: 'date', header: '' } },
      ]);
      const garbage = await api<TaskJson[]>(sim, 'GET', '/tasks');
      assert.equal(garbage.status, 200);
      assert.equal(garbage.headers.date, 'Yesterday, about noon');
      assert.ok(Array.isArray(garbage.body));
      assert.equal((await api(sim, 'GET', '/tasks')).headers.date, '');
    });

    it('storage: the file as it is, with a Date two days ahead', async () => {
      const url = await downloadUrl(sim, done.id);
      const normal = await download(url);
      sim.setFaults([{ at: 'storage', calls: [1], action: { kind: 'date', seconds: 2 * 86_400 } }]);
      const faulted = await download(url);
      assert.equal(faulted.status, 200);
      assert.deepEqual(faulted.bytes, normal.bytes);
      assert.equal(dateOf(faulted), sim.now().getTime() + 2 * 86_400_000);
    });

    it('needs exactly one of seconds and header, a header Node can send, and an API or storage point', async () => {
      for (const [action, at, field] of [
        [{ kind: 'date' }, 'get_task', 'rules.0.action.seconds'],
        [{ kind: 'date', seconds: 5, header: 'x' }, 'get_task', 'rules.0.action.seconds'],
        [{ kind: 'date', seconds: 1.5 }, 'get_task', 'rules.0.action.seconds'],
        [{ kind: 'date', header: 'a\r\nSet-Cookie: x' }, 'get_task', 'rules.0.action.header'],
        [{ kind: 'date', seconds: 5 }, 'run_task', 'rules.0.action.kind'],
      ] as const) {
        const reply = await control<ApiError>(sim, 'PUT', '/faults', { rules: [{ at, action }] });
        assert.equal(reply.status, 400, JSON.stringify(action));
        assert.equal(reply.body.error.field, field, JSON.stringify(action));
      }
    });
  });

  describe('task_times: one answer carries other task dates', () => {
    /** A task run at START + 1 h (created at START), so that each date differs. */
    let task: TaskJson;
    before(async () => {
      const created = await createExport(sim, { once: new Date(START_MS + 86_400_000) });
      sim.advance(HOUR);
      assert.equal((await api(sim, 'POST', `/tasks/${created.id}/execute`)).status, 200);
      task = await getTask(sim, created.id);
      assert.notEqual(task.state.created_date, task.state.last_run_date);
    });
    const shifted = (iso: string, seconds: number) => isoZ(Date.parse(iso) / 1000 + seconds);

    it('get_task: each date shifted by its own seconds; the stored task keeps its times', async () => {
      sim.setFaults([{ at: 'get_task', calls: [1], action: { kind: 'task_times', createdSeconds: -86_400, lastRunSeconds: 30, lastModifiedSeconds: -5 } }]);
      const faulted = await api<TaskJson>(sim, 'GET', `/tasks/${task.id}?log_limit=100`);
      assert.deepEqual(faulted.body.state, {
        code: 'DONE',
        created_date: shifted(task.state.created_date, -86_400),
        last_run_date: shifted(task.state.last_run_date!, 30),
        last_modified: shifted(task.state.last_modified, -5),
      });
      assert.deepEqual({ ...faulted.body, state: task.state }, task, 'nothing else changes');
      assert.deepEqual(await getTask(sim, task.id), task, 'a second GET shows the real times');
    });

    it('only the dates given change; a shift may reach 2099', async () => {
      const seconds = (Date.UTC(2099, 0, 1) - Date.parse(task.state.last_modified)) / 1000;
      sim.setFaults([{ at: 'get_task', calls: [1], action: { kind: 'task_times', lastModifiedSeconds: seconds } }]);
      const faulted = await api<TaskJson>(sim, 'GET', `/tasks/${task.id}`);
      assert.deepEqual(faulted.body.state, { ...task.state, last_modified: '2099-01-01T00:00:00Z' });
    });

    it('lastRunDate replaces last_run_date with the literal, "" or null', async () => {
      sim.setFaults([
        { at: 'get_task', calls: [1], action: { kind: 'task_times', lastRunDate: '' } },
        { at: 'get_task', calls: [2], action: { kind: 'task_times', lastRunDate: null } },
        { at: 'get_task', calls: [3], action: { kind: 'task_times', lastRunDate: '26/05/2026 13:00' } },
      ]);
      for (const want of ['', null, '26/05/2026 13:00']) {
        const reply = await api<TaskJson>(sim, 'GET', `/tasks/${task.id}`);
        assert.deepEqual(reply.body.state, { ...task.state, last_run_date: want });
      }
    });

    it('list_tasks: every task in the answer; a READY task\'s null last_run_date stays null', async () => {
      const ready = await createExport(sim, { once: new Date(sim.now().getTime() + 86_400_000) });
      const before = (await api<TaskJson[]>(sim, 'GET', '/tasks?limit=500')).body;
      sim.setFaults([{ at: 'list_tasks', calls: [1], action: { kind: 'task_times', createdSeconds: 10, lastRunSeconds: 20 } }]);
      const faulted = (await api<TaskJson[]>(sim, 'GET', '/tasks?limit=500')).body;
      assert.equal(faulted.length, before.length);
      faulted.forEach((t, k) => {
        const real = before[k]!.state;
        assert.deepEqual(t.state, {
          ...real,
          created_date: shifted(real.created_date, 10),
          last_run_date: real.last_run_date === null ? null : shifted(real.last_run_date, 20),
        });
      });
      assert.equal(faulted.find((t) => t.id === ready.id)!.state.last_run_date, null);
      assert.deepEqual((await api<TaskJson[]>(sim, 'GET', '/tasks?limit=500')).body, before);
    });

    it('create_task: the new task is answered with shifted dates, and stored with the real ones', async () => {
      sim.setFaults([{ at: 'create_task', calls: [1], action: { kind: 'task_times', createdSeconds: -7 * 86_400 } }]);
      const reply = await api<TaskJson>(sim, 'POST', '/tasks', { body: exportBody(sim, { once: new Date(sim.now().getTime() + 86_400_000) }) });
      assert.equal(reply.status, 200);
      const stored = await getTask(sim, reply.body.id);
      assert.equal(stored.state.created_date, isoZ(sim.now()));
      assert.equal(reply.body.state.created_date, shifted(stored.state.created_date, -7 * 86_400));
      assert.equal(reply.body.state.last_modified, stored.state.last_modified);
    });

    it('execute_task: the state object answered is shifted; the task is not', async () => {
      sim.setFaults([{ at: 'execute_task', calls: [1], action: { kind: 'task_times', lastRunSeconds: -HOUR, lastModifiedSeconds: -HOUR } }]);
      const reply = await api<TaskState>(sim, 'POST', `/tasks/${task.id}/execute`);
      assert.equal(reply.status, 200);
      const stored = (await getTask(sim, task.id)).state;
      assert.equal(stored.last_run_date, isoZ(sim.now()));
      assert.deepEqual(reply.body, { ...stored, last_run_date: shifted(stored.last_run_date!, -HOUR), last_modified: shifted(stored.last_modified, -HOUR) });
    });

    it('needs at least one date, not both lastRunSeconds and lastRunDate, and a task-answering point', async () => {
      for (const [action, at, field] of [
        [{ kind: 'task_times' }, 'get_task', 'rules.0.action'],
        [{ kind: 'task_times', lastRunSeconds: 1, lastRunDate: '' }, 'get_task', 'rules.0.action.lastRunDate'],
        [{ kind: 'task_times', createdSeconds: 1e12 }, 'get_task', 'rules.0.action.createdSeconds'],
        [{ kind: 'task_times', createdSeconds: 1 }, 'download_url', 'rules.0.action.kind'],
        [{ kind: 'task_times', createdSeconds: 1 }, 'storage', 'rules.0.action.kind'],
      ] as const) {
        const reply = await control<ApiError>(sim, 'PUT', '/faults', { rules: [{ at, action }] });
        assert.equal(reply.status, 400, JSON.stringify(action));
        assert.equal(reply.body.error.field, field, JSON.stringify(action));
      }
    });
  });

  describe('huge_body', () => {
    it('a small one is the whole task object, valid JSON of exactly that many bytes', async () => {
      sim.setFaults([{ at: 'get_task', calls: [1], action: { kind: 'huge_body', bytes: 5000 } }]);
      const reply = await api<TaskJson>(sim, 'GET', `/tasks/${done.id}`);
      assert.equal(reply.status, 200);
      assert.equal(reply.headers['content-type'], 'application/json');
      assert.equal(reply.headers['content-length'], '5000');
      assert.equal(Buffer.byteLength(reply.text), 5000);
      assert.equal(reply.body.id, done.id);
      assert.equal(reply.body.chain, done.chain);
      assert.equal(reply.body.state.code, 'DONE');
      assert.match(reply.body.desc, /^(Vouchers export for the loyalty programme )+/);
    });

    it('shorter than the object: its first bytes; 0 bytes: an empty 200', async () => {
      sim.setFaults([
        { at: 'list_tasks', calls: [1], action: { kind: 'huge_body', bytes: 20 } },
        { at: 'list_tasks', calls: [2], action: { kind: 'huge_body', bytes: 0 } },
      ]);
      const cut = await request(`${sim.url}/tasks`, { headers: { authorization: sim.bearer() } });
      assert.equal(cut.statusCode, 200);
      assert.equal(await cut.body.text(), '{"id":12345,"chain":');
      const empty = await request(`${sim.url}/tasks`, { headers: { authorization: sim.bearer() } });
      assert.equal(empty.headers['content-length'], '0');
      assert.equal(await empty.body.text(), '');
    });

    it('300,000,000 bytes: announced in Content-Length and streamed; a client may hang up after the first bytes', async () => {
      sim.setFaults([{ at: 'execute_task', calls: [1], action: { kind: 'huge_body', bytes: 300_000_000 } }]);
      const res = await request(`${sim.url}/tasks/${done.id}/execute`, { method: 'POST', headers: { authorization: sim.bearer() } });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-length'], '300000000');
      const first: Buffer[] = [];
      let seen = 0;
      for await (const chunk of res.body) {
        first.push(chunk as Buffer);
        seen += (chunk as Buffer).length;
        if (seen > 100_000) break; // leaves the body: undici closes the connection
      }
      assert.match(Buffer.concat(first).toString('utf8'), new RegExp(`^\\{"id":${done.id},"chain":${done.chain},"desc":"Vouchers export`));
      assert.equal((await api(sim, 'GET', `/tasks/${done.id}`)).status, 200, 'the simulator answers on');
    });

    it('applies to API points only', async () => {
      const reply = await control<ApiError>(sim, 'PUT', '/faults', { rules: [{ at: 'storage', action: { kind: 'huge_body', bytes: 10 } }] });
      assert.equal(reply.status, 400);
      assert.equal(reply.body.error.field, 'rules.0.action.kind');
    });
  });
});

/** The simulator as a user runs it, in its own process, so that its memory is its own. */
describe('the simulator command', () => {
  const MB = 1024 * 1024;
  let child: ChildProcessWithoutNullStreams;
  let info: { url: string; now: string; chains: number[]; tokens: { id: string; secret: string }[]; admin_token: string };
  let startedBetween: [number, number];

  before(async () => {
    const earliest = Math.floor(Date.now() / 1000) * 1000;
    child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'simulator', '--port', '0', '--json', '--chains', '1', '--vouchers', '10'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stderr.pipe(process.stderr);
    const first = await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next();
    startedBetween = [earliest, Date.now()];
    info = JSON.parse(first.value as string) as typeof info;
  });
  after(() => {
    child?.kill('SIGTERM');
  });

  async function memory(): Promise<{ rss: number; peak: number }> {
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  }
  /** Reads a huge_body answer of `bytes` to its end, counting (never keeping) the bytes. */
  async function hugeAnswer(bytes: number): Promise<{ contentLength: number; received: number }> {
    const setFaults = await request(`${info.url}/_control/faults`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${info.admin_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ rules: [{ at: 'list_tasks', calls: [1], action: { kind: 'huge_body', bytes } }] }),
    });
    assert.equal(setFaults.statusCode, 200, await setFaults.body.text());
    const token = info.tokens[0]!;
    const res = await request(`${info.url}/tasks`, { headers: { authorization: `Bearer ${token.id}:${token.secret}` } });
    let received = 0;
    for await (const chunk of res.body) received += (chunk as Buffer).length;
    return { contentLength: Number(res.headers['content-length']), received };
  }

  it('--start defaults to now: the clock starts at this host\'s time', () => {
    const now = Date.parse(info.now);
    assert.ok(startedBetween[0] <= now && now <= startedBetween[1] + 1000, `${info.now} is about when the command started`);
  });

  it('streams a 200 MB huge_body in flat memory: its peak RSS grows by far less than the body', { timeout: 120_000 }, async () => {
    assert.deepEqual(await hugeAnswer(MB), { contentLength: MB, received: MB }); // warms every code path up
    const baseline = await memory();
    const bytes = 200 * 1000 * 1000;
    assert.deepEqual(await hugeAnswer(bytes), { contentLength: bytes, received: bytes });
    const { peak } = await memory();
    assert.ok(peak - baseline.peak < 40 * MB, `peak RSS grew by ${((peak - baseline.peak) / MB).toFixed(1)} MB`);
  });
});
