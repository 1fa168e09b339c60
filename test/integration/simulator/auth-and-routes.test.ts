/**
 * The Tasks API routes over real HTTP: authentication, chain scoping, validation, the statuses of
 * reference §11.9, listing and paging, execute, the task object of reference §3, and the `Date`
 * header on the simulator's clock.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSimulator, type Simulator } from '../../../src/simulator/simulator.js';
import {
  api, createExport, exportBody, getTask, isoZ, segment, waitFor,
  type ApiError, type TaskJson, type TaskState,
} from '../../support/simulator-client.js';

const DURATION_S = 60;

/** The clock is frozen: tasks move only when the test advances it. */
async function startFrozen(): Promise<Simulator> {
  return startSimulator({ port: 0, vouchersPerChain: 40, taskDurationMs: DURATION_S * 1000, clockRate: 0 });
}

/** Lets a due task start, then moves the clock past its duration and waits for DONE. */
async function finish(sim: Simulator, id: number): Promise<TaskJson> {
  await waitFor(sim, id, (t) => t.state.code === 'INPROGRESS');
  sim.advance(DURATION_S);
  return waitFor(sim, id, (t) => t.state.code === 'DONE');
}

describe('auth and routes', () => {
  let sim: Simulator;
  let chainA: number;
  let chainB: number;
  before(async () => {
    sim = await startFrozen();
    [chainA, chainB] = sim.chainIds as [number, number];
  });
  after(() => sim.close());

  describe('401 for bad credentials', () => {
    const cases: [string, (s: Simulator) => string | null, RegExp][] = [
      ['a missing header', () => null, /missing Authorization/],
      ['a Basic header', () => 'Basic dXNlcjpwYXNz', /malformed Authorization/],
      ['a token without a secret', (s) => `Bearer ${s.tokens[0]!.id}`, /malformed Authorization/],
      ['a non-UUID token id', (s) => `Bearer 1234:${s.tokens[0]!.secret}`, /must be a UUID/],
      ['an unknown token id', (s) => `Bearer 2f1e4b7c-9d3a-4e5f-8a6b-0c1d2e3f4a5b:${s.tokens[0]!.secret}`, /unknown access token/],
      ['a wrong secret', (s) => `Bearer ${s.tokens[0]!.id}:${s.tokens[1]!.secret}`, /wrong access token secret/],
    ];
    for (const [what, auth, message] of cases) {
      it(`answers 401 to ${what}, on every route`, async () => {
        const task = await createExport(sim);
        for (const [method, path] of [
          ['GET', '/tasks'],
          ['POST', '/tasks'],
          ['GET', `/tasks/${task.id}`],
          ['POST', `/tasks/${task.id}/execute`],
          ['GET', `/tasks/${task.id}/download_url`],
        ] as const) {
          const reply = await api<ApiError>(sim, method, path, { auth: auth(sim), body: method === 'POST' && path === '/tasks' ? exportBody(sim) : undefined });
          assert.equal(reply.status, 401, `${method} ${path}`);
          assert.equal(reply.body.error.code, 'unauthorized');
          assert.match(reply.body.error.message, message);
        }
      });
    }

    it('accepts the token id in upper case and the right secret', async () => {
      const token = sim.tokens[0]!;
      const reply = await api<TaskJson[]>(sim, 'GET', '/tasks', { auth: `Bearer ${token.id.toUpperCase()}:${token.secret}` });
      assert.equal(reply.status, 200);
      assert.ok(Array.isArray(reply.body));
    });

    it('issues UUID token ids, one token per chain and one for all chains', () => {
      assert.equal(sim.tokens.length, 3);
      for (const token of sim.tokens) assert.match(token.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.deepEqual(sim.tokens.map((t) => t.chainIds), [[chainA], [chainB], [chainA, chainB]]);
    });
  });

  describe('chain scoping', () => {
    it('403 when creating a task for another chain; the all-chains token may create for both', async () => {
      const reply = await api<ApiError>(sim, 'POST', '/tasks', { auth: sim.bearer(chainA), body: exportBody(sim, { chain: chainB }) });
      assert.equal(reply.status, 403);
      assert.equal(reply.body.error.code, 'forbidden');
      assert.match(reply.body.error.message, new RegExp(String(chainB)));
      for (const chain of [chainA, chainB]) {
        const task = await createExport(sim, { chain, auth: sim.bearer() });
        assert.equal(task.chain, chain);
      }
    });

    it('404 for an unknown task and for another chain\'s task; the all-chains token sees both', async () => {
      const a = await createExport(sim, { chain: chainA });
      const b = await createExport(sim, { chain: chainB });
      await waitFor(sim, b.id, (t) => t.state.code === 'INPROGRESS');
      await finish(sim, a.id);
      await waitFor(sim, b.id, (t) => t.state.code === 'DONE');
      for (const path of [`/tasks/${b.id}`, `/tasks/${b.id}/download_url`, `/tasks/${b.id}/execute`, '/tasks/999999']) {
        const reply = await api<ApiError>(sim, path.endsWith('execute') ? 'POST' : 'GET', path, { auth: sim.bearer(chainA) });
        assert.equal(reply.status, 404, path);
        assert.equal(reply.body.error.code, 'not_found');
      }
      assert.equal((await api(sim, 'GET', `/tasks/${a.id}`, { auth: sim.bearer(chainB) })).status, 404);
      assert.equal((await api(sim, 'GET', `/tasks/${a.id}`, { auth: sim.bearer(chainA) })).status, 200);
      assert.equal((await api(sim, 'GET', `/tasks/${b.id}`, { auth: sim.bearer(chainB) })).status, 200);
      for (const id of [a.id, b.id]) {
        assert.equal((await api(sim, 'GET', `/tasks/${id}`, { auth: sim.bearer() })).status, 200);
        assert.equal((await api(sim, 'GET', `/tasks/${id}/download_url`, { auth: sim.bearer() })).status, 200);
      }
      assert.equal((await api(sim, 'GET', '/tasks/999999', { auth: sim.bearer() })).status, 404);

      const listA = (await api<TaskJson[]>(sim, 'GET', '/tasks', { auth: sim.bearer(chainA) })).body;
      const listB = (await api<TaskJson[]>(sim, 'GET', '/tasks', { auth: sim.bearer(chainB) })).body;
      const listAll = (await api<TaskJson[]>(sim, 'GET', '/tasks', { auth: sim.bearer() })).body;
      assert.ok(listA.every((t) => t.chain === chainA) && listA.some((t) => t.id === a.id));
      assert.ok(listB.every((t) => t.chain === chainB) && listB.some((t) => t.id === b.id));
      assert.deepEqual(listAll.map((t) => t.id).sort(), [...listA, ...listB].map((t) => t.id).sort());
    });
  });

  describe('400 validation, naming the field', () => {
    const body = () => exportBody(sim) as { chain: number; desc: string; target: Record<string, unknown>; trigger: Record<string, unknown> };
    const rule = { field_name: 'status', field_type: 'keyword', operator: 'is', value: 'redeemed' };
    const cases: [string, () => unknown, string][] = [
      ['a chain that is not an integer', () => ({ ...body(), chain: '1764' }), 'chain'],
      ['a missing chain', () => ({ ...body(), chain: undefined }), 'chain'],
      ['a missing desc', () => ({ ...body(), desc: undefined }), 'desc'],
      ['a desc that is not a string', () => ({ ...body(), desc: 42 }), 'desc'],
      ['a debug that is not a string', () => ({ ...body(), debug: 1 }), 'debug'],
      ['a missing target', () => ({ ...body(), target: undefined }), 'target'],
      ['target.action other than export', () => ({ ...body(), target: { ...body().target, action: 'import' } }), 'target.action'],
      ['an unknown export_index', () => ({ ...body(), target: { ...body().target, export_index: 'coupons' } }), 'target.export_index'],
      ['an index the simulator does not hold', () => ({ ...body(), target: { ...body().target, export_index: 'users' } }), 'target.export_index'],
      ['an unknown export_format', () => ({ ...body(), target: { ...body().target, export_format: 'xml' } }), 'target.export_format'],
      ['an unknown target key', () => ({ ...body(), target: { ...body().target, columns: ['id'] } }), 'target.columns'],
      ['a missing trigger', () => ({ ...body(), trigger: undefined }), 'trigger'],
      ['a missing trigger.once', () => ({ ...body(), trigger: {} }), 'trigger.once'],
      ['a trigger.once that is not ISO 8601', () => ({ ...body(), trigger: { once: 'tomorrow at noon' } }), 'trigger.once'],
      ['a trigger.once with a 13th month', () => ({ ...body(), trigger: { once: '2026-13-01T00:00:00Z' } }), 'trigger.once'],
      ['an unknown trigger key', () => ({ ...body(), trigger: { ...body().trigger, every: 'day' } }), 'trigger.every'],
      [
        'both segment and segment_id',
        () => ({ ...body(), trigger: { ...body().trigger, segment: segment(sim.chainIds[0]!, [rule]), segment_id: 'abc' } }),
        'trigger.segment_id',
      ],
      ['an unknown segment_id', () => ({ ...body(), trigger: { ...body().trigger, segment_id: 'abc' } }), 'trigger.segment_id'],
      [
        'a bad segment operator',
        () => ({ ...body(), trigger: { ...body().trigger, segment: segment(sim.chainIds[0]!, [rule, { ...rule, operator: 'equals' }]) } }),
        'trigger.segment.rules[1].operator',
      ],
      [
        'a segment for another chain',
        () => ({ ...body(), trigger: { ...body().trigger, segment: segment(sim.chainIds[1]!, [rule]) } }),
        'trigger.segment.chain_id',
      ],
      [
        'a segment for another index',
        () => ({ ...body(), trigger: { ...body().trigger, segment: { ...segment(sim.chainIds[0]!, [rule]), index: 'users' } } }),
        'trigger.segment.index',
      ],
    ];
    for (const [what, make, field] of cases) {
      it(`400 for ${what} → field ${field}`, async () => {
        const reply = await api<ApiError>(sim, 'POST', '/tasks', { body: make() });
        assert.equal(reply.status, 400, reply.text);
        assert.match(String(reply.headers['content-type']), /^application\/json/);
        assert.equal(reply.body.error.code, 'validation_error');
        assert.equal(reply.body.error.field, field);
        assert.ok(reply.body.error.message.startsWith(`${field}: `), reply.body.error.message);
      });
    }

    it('400 for a body that is not JSON → field body', async () => {
      const reply = await api<ApiError>(sim, 'POST', '/tasks', { raw: '{"chain": 17', headers: { 'content-type': 'application/json' } });
      assert.equal(reply.status, 400);
      assert.equal(reply.body.error.field, 'body');
    });

    it('400 for bad query parameters of GET /tasks and GET /tasks/{id}', async () => {
      const task = await createExport(sim);
      for (const [path, field] of [
        ['/tasks?status=FINISHED', 'status'],
        ['/tasks?limit=ten', 'limit'],
        ['/tasks?limit=501', 'limit'],
        ['/tasks?offset=-1', 'offset'],
        ['/tasks?campaign_id=x', 'campaign_id'],
        [`/tasks/${task.id}?log_limit=-2`, 'log_limit'],
        [`/tasks/${task.id}?offset=1.5`, 'offset'],
      ] as const) {
        const reply = await api<ApiError>(sim, 'GET', path);
        assert.equal(reply.status, 400, path);
        assert.equal(reply.body.error.field, field, path);
      }
    });

    it('a 400 creates no task', async () => {
      const before = (await api<TaskJson[]>(sim, 'GET', '/tasks?limit=500', { auth: sim.bearer() })).body.length;
      await api(sim, 'POST', '/tasks', { body: { ...body(), desc: undefined } });
      const after = (await api<TaskJson[]>(sim, 'GET', '/tasks?limit=500', { auth: sim.bearer() })).body.length;
      assert.equal(after, before);
    });
  });

  describe('405 for update and delete', () => {
    it('answers 405 with an Allow header', async () => {
      const task = await createExport(sim);
      for (const [method, path, allow] of [
        ['PUT', `/tasks/${task.id}`, 'GET'],
        ['PATCH', `/tasks/${task.id}`, 'GET'],
        ['DELETE', `/tasks/${task.id}`, 'GET'],
        ['PUT', '/tasks', 'GET, POST'],
        ['PATCH', '/tasks', 'GET, POST'],
        ['DELETE', '/tasks', 'GET, POST'],
        ['GET', `/tasks/${task.id}/execute`, 'POST'],
        ['DELETE', `/tasks/${task.id}/execute`, 'POST'],
        ['POST', `/tasks/${task.id}/download_url`, 'GET'],
        ['POST', `/tasks/${task.id}`, 'GET'],
      ] as const) {
        const reply = await api<ApiError>(sim, method, path);
        assert.equal(reply.status, 405, `${method} ${path}`);
        assert.equal(reply.headers.allow, allow, `${method} ${path}`);
        assert.equal(reply.body.error.code, 'method_not_allowed');
      }
      // The task is still there, unchanged.
      assert.equal((await getTask(sim, task.id)).id, task.id);
    });

    it('404 for paths that are no route', async () => {
      for (const path of ['/tasks/abc', '/tasks/1/logs', '/nothing']) {
        assert.equal((await api(sim, 'GET', path)).status, 404, path);
      }
    });
  });

  describe('409 download_url before DONE', () => {
    it('answers 409 while READY and INPROGRESS, and 200 once DONE', async () => {
      const task = await createExport(sim, { once: new Date(sim.now().getTime() + 3_600_000) });
      const ready = await api<ApiError>(sim, 'GET', `/tasks/${task.id}/download_url`);
      assert.equal(ready.status, 409);
      assert.equal(ready.body.error.code, 'conflict');
      assert.match(ready.body.error.message, /READY/);
      sim.advance(3600);
      await waitFor(sim, task.id, (t) => t.state.code === 'INPROGRESS');
      const running = await api<ApiError>(sim, 'GET', `/tasks/${task.id}/download_url`);
      assert.equal(running.status, 409);
      assert.match(running.body.error.message, /INPROGRESS/);
      sim.advance(DURATION_S);
      await waitFor(sim, task.id, (t) => t.state.code === 'DONE');
      const done = await api<{ url: string }>(sim, 'GET', `/tasks/${task.id}/download_url`);
      assert.equal(done.status, 200);
      assert.deepEqual(Object.keys(done.body), ['url']);
      assert.match(done.body.url, new RegExp(`^${sim.url}/storage/Voucher_Export-${task.id}\\.csv\\?X-Expires=\\d+&X-Signature=[0-9a-f]{64}$`));
    });
  });

  describe('the task object (reference §3)', () => {
    it('create answers 200 with the full task in READY, as §11.2 says', async () => {
      const once = new Date(sim.now().getTime() + 60_000);
      const reply = await api<TaskJson>(sim, 'POST', '/tasks', { body: { ...exportBody(sim, { once, desc: 'Shape check' }), debug: 'trace-7' } });
      assert.equal(reply.status, 200);
      const task = reply.body;
      assert.deepEqual(Object.keys(task), ['id', 'chain', 'desc', 'state', 'trigger', 'target', 'logs', 'debug', 'version', 'result']);
      assert.deepEqual(Object.keys(task.state), ['code', 'last_run_date', 'last_modified', 'created_date']);
      assert.ok(Number.isInteger(task.id) && task.id >= 12345);
      assert.equal(task.chain, sim.chainIds[0]);
      assert.equal(task.desc, 'Shape check');
      const now = isoZ(sim.now());
      assert.deepEqual(task.state, { code: 'READY', last_run_date: null, last_modified: now, created_date: now });
      assert.deepEqual(task.trigger, { once: isoZ(once) });
      assert.deepEqual(task.target, { action: 'export', export_index: 'vouchers', export_format: 'csv' });
      assert.equal(task.debug, 'trace-7');
      assert.equal(task.version, 1);
      assert.equal(task.result, null);
      assert.equal(task.logs.length, 1);
      assert.deepEqual(task.logs[0], { date: now, level: 'info', message: `Task created; scheduled for ${isoZ(once)}` });
      // GET answers the same object.
      assert.deepEqual(await getTask(sim, task.id), task);
    });

    it('a DONE task carries its result, a newer version and ISO 8601 Z dates', async () => {
      const task = await createExport(sim);
      const done = await finish(sim, task.id);
      const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
      assert.match(done.state.created_date, iso);
      assert.match(done.state.last_run_date ?? '', iso);
      assert.match(done.state.last_modified, iso);
      assert.equal(Date.parse(done.state.last_modified) - Date.parse(done.state.last_run_date!), DURATION_S * 1000);
      assert.ok(done.version > task.version);
      assert.equal(done.result?.file, `Voucher_Export-${task.id}.csv`);
      assert.ok(done.result!.rows > 0 && done.result!.bytes > 0);
      assert.equal(done.debug, null);
      for (const log of done.logs) {
        assert.deepEqual(Object.keys(log), ['date', 'level', 'message']);
        assert.match(log.date, iso);
      }
    });
  });

  describe('GET /tasks/{id} log paging', () => {
    it('log_limit defaults to 10 and offset pages the logs', async () => {
      const task = await createExport(sim);
      const done = await finish(sim, task.id);
      const all = done.logs.map((l) => l.message);
      assert.deepEqual(all, ['Task created; scheduled for ' + task.trigger.once, 'Task started', all[2], 'Task finished']);
      assert.match(all[2]!, /^Exported \d+ vouchers \(\d+ bytes\)$/);
      // Re-run it twice so that it has more than 10 entries.
      for (let k = 0; k < 2; k++) {
        const pending = api(sim, 'POST', `/tasks/${task.id}/execute`);
        await waitFor(sim, task.id, (t) => t.state.code === 'INPROGRESS');
        sim.advance(DURATION_S);
        assert.equal((await pending).status, 200);
      }
      const full = (await api<TaskJson>(sim, 'GET', `/tasks/${task.id}?log_limit=100`)).body.logs;
      assert.equal(full.length, 10);
      for (const run of [1, 2]) {
        assert.deepEqual(full.slice(1 + 3 * run, 4 + 3 * run).map((l) => l.message.replace(/\d+/g, 'N')), ['Task started', 'Exported N vouchers (N bytes)', 'Task finished']);
      }
      const byDefault = (await api<TaskJson>(sim, 'GET', `/tasks/${task.id}`)).body.logs;
      assert.deepEqual(byDefault, full.slice(0, 10));
      assert.deepEqual((await api<TaskJson>(sim, 'GET', `/tasks/${task.id}?log_limit=2&offset=3`)).body.logs, full.slice(3, 5));
      assert.deepEqual((await api<TaskJson>(sim, 'GET', `/tasks/${task.id}?log_limit=0`)).body.logs, []);
      assert.deepEqual((await api<TaskJson>(sim, 'GET', `/tasks/${task.id}?offset=8`)).body.logs, full.slice(8));
      assert.deepEqual((await api<TaskJson>(sim, 'GET', `/tasks/${task.id}?offset=50`)).body.logs, []);
    });
  });

  describe('POST /tasks/{id}/execute', () => {
    it('runs a READY task at once, blocks until it ends and answers the state object', async () => {
      const task = await createExport(sim, { once: new Date(sim.now().getTime() + 86_400_000) });
      const started = isoZ(sim.now());
      const pending = api<TaskState>(sim, 'POST', `/tasks/${task.id}/execute`);
      const running = await waitFor(sim, task.id, (t) => t.state.code === 'INPROGRESS');
      assert.equal(running.state.last_run_date, started);

      const again = await api<ApiError>(sim, 'POST', `/tasks/${task.id}/execute`);
      assert.equal(again.status, 409);
      assert.equal(again.body.error.code, 'conflict');

      sim.advance(DURATION_S);
      const reply = await pending;
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.body, {
        code: 'DONE',
        last_run_date: started,
        last_modified: isoZ(Date.parse(started) / 1000 + DURATION_S),
        created_date: task.state.created_date,
      });
      assert.equal((await getTask(sim, task.id)).state.code, 'DONE');
    });

    it('re-runs a DONE task: a new run, a new result, a newer version', async () => {
      const task = await createExport(sim);
      const first = await finish(sim, task.id);
      sim.advance(600);
      const rerunAt = isoZ(sim.now());
      const pending = api<TaskState>(sim, 'POST', `/tasks/${task.id}/execute`);
      await waitFor(sim, task.id, (t) => t.state.code === 'INPROGRESS');
      sim.advance(DURATION_S);
      const reply = await pending;
      assert.equal(reply.status, 200);
      assert.equal(reply.body.code, 'DONE');
      assert.equal(reply.body.last_run_date, rerunAt);
      assert.notEqual(reply.body.last_run_date, first.state.last_run_date);
      const second = await getTask(sim, task.id);
      assert.ok(second.version > first.version);
      assert.equal(second.logs.filter((l) => l.message === 'Task started').length, 2);
      assert.equal(second.result?.file, first.result?.file);
    });

    it('404 for an unknown task', async () => {
      const reply = await api<ApiError>(sim, 'POST', '/tasks/424242/execute');
      assert.equal(reply.status, 404);
      assert.match(reply.body.error.message, /424242/);
    });
  });

  describe('the Date header', () => {
    it('follows the virtual clock', async () => {
      const first = await api(sim, 'GET', '/tasks');
      assert.equal(first.headers.date, sim.now().toUTCString());
      const before = Date.parse(String(first.headers.date));
      sim.advance(90_061);
      const second = await api(sim, 'GET', '/tasks', { auth: null }); // even on an error
      assert.equal(second.status, 401);
      assert.equal(Date.parse(String(second.headers.date)) - before, 90_061_000);
      assert.equal(second.headers.date, sim.now().toUTCString());
    });
  });
});

describe('GET /tasks: filters, paging, order', () => {
  let sim: Simulator;
  const ids: Record<'ready' | 'running' | 'done' | 'other', number> = { ready: 0, running: 0, done: 0, other: 0 };
  before(async () => {
    sim = await startFrozen();
    const [a, b] = sim.chainIds as [number, number];
    ids.done = (await createExport(sim, { chain: a, desc: 'done' })).id;
    await finish(sim, ids.done);
    ids.ready = (await createExport(sim, { chain: a, desc: 'ready', once: new Date(sim.now().getTime() + 86_400_000) })).id;
    ids.other = (await createExport(sim, { chain: b, desc: 'other chain' })).id;
    ids.running = (await createExport(sim, { chain: a, desc: 'running' })).id;
    await waitFor(sim, ids.running, (t) => t.state.code === 'INPROGRESS');
  });
  after(() => sim.close());

  const list = async (query = '', auth?: string) => {
    const reply = await api<TaskJson[]>(sim, 'GET', `/tasks${query}`, { auth: auth ?? sim.bearer(sim.chainIds[0]) });
    assert.equal(reply.status, 200, reply.text);
    assert.ok(Array.isArray(reply.body));
    return reply.body.map((t) => t.id);
  };

  it('returns the chain\'s tasks as a bare array, newest first', async () => {
    assert.deepEqual(await list(), [ids.running, ids.ready, ids.done]);
    assert.deepEqual(await list('', sim.bearer()), [ids.running, ids.other, ids.ready, ids.done]);
  });

  it('filters by status', async () => {
    assert.deepEqual(await list('?status=READY'), [ids.ready]);
    assert.deepEqual(await list('?status=INPROGRESS'), [ids.running]);
    assert.deepEqual(await list('?status=DONE'), [ids.done]);
    assert.deepEqual(await list('?status=ERROR'), []);
    assert.deepEqual(await list('?status=INPROGRESS', sim.bearer()), [ids.running, ids.other]);
  });

  it('filters by action and campaign_id', async () => {
    assert.deepEqual(await list('?action=export'), [ids.running, ids.ready, ids.done]);
    assert.deepEqual(await list('?action=import'), []);
    assert.deepEqual(await list('?status=DONE&action=export'), [ids.done]);
    assert.deepEqual(await list('?campaign_id=1001'), []);
  });

  it('pages with limit and offset', async () => {
    assert.deepEqual(await list('?limit=2'), [ids.running, ids.ready]);
    assert.deepEqual(await list('?limit=2&offset=2'), [ids.done]);
    assert.deepEqual(await list('?limit=2&offset=3'), []);
    assert.deepEqual(await list('?offset=1'), [ids.ready, ids.done]);
    assert.deepEqual(await list('?limit=0'), []);
    assert.deepEqual(await list('?limit=1&offset=1', sim.bearer()), [ids.other]);
  });

  it('list items are full task objects', async () => {
    const reply = await api<TaskJson[]>(sim, 'GET', '/tasks?status=DONE');
    const [item] = reply.body;
    assert.deepEqual(item, await api<TaskJson>(sim, 'GET', `/tasks/${ids.done}`).then((r) => r.body));
  });
});
