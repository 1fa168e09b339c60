import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExtractError } from '../../../src/extract/errors.js';
import { downloadUrlSchema, parseResponse, taskListSchema, taskSchema, taskStateSchema } from '../../../src/extract/task-schemas.js';

const task = {
  id: 12345,
  chain: 1764,
  desc: 'spaaza-sync 1764/7 2026-05-01T00:00:00Z..2026-05-02T00:00:00Z',
  state: { code: 'INPROGRESS', last_run_date: '2026-05-26T12:00:00Z', last_modified: '2026-05-26T12:00:10Z', created_date: '2026-05-26T11:59:00Z' },
  trigger: { once: '2026-05-26T12:00:00Z' },
  target: { action: 'export', export_index: 'vouchers', export_format: 'csv' },
  logs: [{ date: '2026-05-26T12:00:00Z', level: 'info', message: 'Task started' }, 'free text'],
  debug: null,
  version: 2,
  result: null,
};

function parseError(fn: () => unknown): ExtractError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ExtractError);
    assert.equal(error.code, 'invalid_response');
    assert.equal(error.retryable, false);
    return error;
  }
  assert.fail('expected invalid_response');
}

describe('task schema', () => {
  it('accepts the documented task and keeps unknown fields and log entries as given', () => {
    const parsed = parseResponse(taskSchema, JSON.stringify({ ...task, campaign_id: 9, state: { ...task.state, extra: 1 } }), 'GET /tasks/{id}');
    assert.equal(parsed.id, 12345);
    assert.equal(parsed.state.code, 'INPROGRESS');
    assert.deepEqual(parsed.logs, task.logs);
    assert.equal((parsed as Record<string, unknown>).campaign_id, 9);
    assert.equal((parsed.state as Record<string, unknown>).extra, 1);
  });

  it('allows last_run_date null or absent, and logs, debug, version, result absent', () => {
    const { last_run_date: _omit, ...state } = task.state;
    const { logs: _l, debug: _d, version: _v, result: _r, ...bare } = task;
    assert.equal(taskSchema.parse({ ...bare, state }).state.last_run_date, undefined);
    assert.equal(taskSchema.parse({ ...task, state: { ...task.state, last_run_date: null } }).state.last_run_date, null);
  });

  it('names the endpoint and the field that does not fit', () => {
    const error = parseError(() => parseResponse(taskSchema, JSON.stringify({ ...task, state: { ...task.state, code: 'QUEUED' } }), 'GET /tasks/{id}', { taskId: 12345 }));
    assert.match(error.message, /^GET \/tasks\/\{id\} answered a body that does not match the documented shape: field state\.code: /);
    assert.deepEqual(error.context, { endpoint: 'GET /tasks/{id}', field: 'state.code', taskId: 12345 });
    assert.match(parseError(() => parseResponse(taskSchema, JSON.stringify({ ...task, id: '12345' }), 'POST /tasks')).message, /field id:/);
    assert.match(parseError(() => parseResponse(taskSchema, JSON.stringify({ ...task, id: 1.5 }), 'POST /tasks')).message, /field id:/);
  });

  it('names the item of a list', () => {
    const error = parseError(() => parseResponse(taskListSchema, JSON.stringify([task, { ...task, desc: 7 }]), 'GET /tasks'));
    assert.match(error.message, /field \[1\]\.desc:/);
  });

  it('says when a body is not JSON, or not the expected kind of value', () => {
    assert.match(parseError(() => parseResponse(taskSchema, '<html>gateway</html>', 'GET /tasks/{id}')).message, /not JSON/);
    assert.match(parseError(() => parseResponse(taskListSchema, JSON.stringify({ tasks: [] }), 'GET /tasks')).message, /field \(the body\)/);
  });
});

describe('execute state and download URL', () => {
  it('reads the execute state object', () => {
    const state = parseResponse(taskStateSchema, JSON.stringify({ code: 'DONE', last_run_date: '2026-05-26T14:35:00Z', last_modified: '2026-05-26T14:35:45Z', created_date: '2026-05-26T11:59:00Z' }), 'POST /tasks/{id}/execute');
    assert.equal(state.code, 'DONE');
  });

  it('wants an absolute http(s) URL and never prints it', () => {
    const url = 'https://storage.example/Voucher_Export-1.csv?X-Signature=secret';
    assert.equal(downloadUrlSchema.parse({ url }).url, url);
    for (const bad of ['ftp://x/y?sig=secret', '/relative?sig=secret', 42]) {
      const error = parseError(() => parseResponse(downloadUrlSchema, JSON.stringify({ url: bad }), 'GET /tasks/{id}/download_url'));
      assert.match(error.message, /field url/);
      assert.ok(!error.message.includes('secret'));
    }
  });
});
