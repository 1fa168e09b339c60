import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serverMessage, statusError, storageXmlMessage } from '../../../src/extract/api-errors.js';
import { ServerClock } from '../../../src/extract/server-clock.js';

describe('error bodies (reference §9)', () => {
  it('takes the first of error.description, error.message, message, error, detail', () => {
    assert.deepEqual(serverMessage(JSON.stringify({ error: { code: 'x', message: 'm', field: 'desc' } })), { message: 'm', field: 'desc' });
    assert.equal(serverMessage(JSON.stringify({ error: { description: 'd', message: 'm' } })).message, 'd');
    assert.equal(serverMessage(JSON.stringify({ message: 'top' })).message, 'top');
    assert.equal(serverMessage(JSON.stringify({ error: 'plain' })).message, 'plain');
    assert.equal(serverMessage(JSON.stringify({ detail: 'dd' })).message, 'dd');
    assert.equal(serverMessage(JSON.stringify({ result: { code: 2, status: 'error' }, error: { code: 5, name: 'n', description: 'classic' } })).message, 'classic');
  });

  it('falls back to the raw text, on one line and truncated', () => {
    assert.equal(serverMessage('Bad Gateway\n\n').message, 'Bad Gateway');
    assert.equal(serverMessage('').message, '(empty body)');
    const long = serverMessage('x'.repeat(1000)).message;
    assert.equal(long.length, 301);
    assert.ok(long.endsWith('…'));
  });

  it('keeps only Code and Message of a storage XML error (S3 can echo the signature)', () => {
    const xml = '<?xml version="1.0"?><Error><Code>SignatureDoesNotMatch</Code><Message>no match</Message><SignatureProvided>abc</SignatureProvided></Error>';
    assert.equal(storageXmlMessage(xml), 'SignatureDoesNotMatch: no match');
    assert.equal(serverMessage(xml).message, 'SignatureDoesNotMatch: no match');
    assert.equal(storageXmlMessage('{"a":1}'), null);
  });
});

describe('status sentences', () => {
  const body = (message: string, field?: string) => JSON.stringify({ error: { code: 'c', message, ...(field ? { field } : {}) } });
  const base = { endpoint: 'GET /tasks/{id}', attempts: 1, taskId: 12345, chainId: 1764 };

  it('401 says which settings to check', () => {
    const error = statusError({ ...base, status: 401, body: body('wrong access token secret') }, { notFound: 'task_not_found' });
    assert.equal(error.code, 'unauthorized');
    assert.equal(error.retryable, false);
    assert.match(error.message, /^Spaaza rejected the access token \(401\): check SPAAZA_TOKEN_ID and SPAAZA_TOKEN_SECRET \(or the chain's token/);
    assert.match(error.message, /wrong access token secret/);
    assert.deepEqual(error.context, { endpoint: 'GET /tasks/{id}', status: 401, taskId: 12345, chainId: 1764 });
  });

  it("403 names the chain the token's scope must include", () => {
    const error = statusError({ ...base, status: 403, body: body('not scoped') }, { notFound: 'task_not_found' });
    assert.equal(error.code, 'forbidden');
    assert.match(error.message, /the token is not allowed to use chain 1764 \(403\): the token's scope must include the chain/);
    const unknown = statusError({ endpoint: 'GET /tasks', attempts: 1, status: 403, body: '' }, { notFound: 'http_error' });
    assert.match(unknown.message, /not allowed to use this chain \(403\)/);
  });

  it("400 carries Spaaza's message and field", () => {
    const error = statusError({ ...base, endpoint: 'POST /tasks', status: 400, body: body('must be one of csv, json', 'target.export_format') }, { notFound: 'http_error' });
    assert.equal(error.code, 'bad_request');
    assert.match(error.message, /\(400\): must be one of csv, json \(field target\.export_format\)/);
    const named = statusError({ ...base, status: 400, body: body('desc: required, a string', 'desc') }, { notFound: 'http_error' });
    assert.ok(!named.message.includes('(field desc)'), 'the field is not repeated when the message names it');
  });

  it('404 is task_not_found for a task, download_unavailable (with 409 and 410) for its file', () => {
    assert.equal(statusError({ ...base, status: 404, body: '' }, { notFound: 'task_not_found' }).code, 'task_not_found');
    for (const status of [404, 409, 410]) {
      const error = statusError({ ...base, status, body: body('task 12345 is INPROGRESS') }, { notFound: 'download_unavailable' });
      assert.equal(error.code, 'download_unavailable');
      assert.equal(error.retryable, false);
      assert.match(error.message, /abandon it/);
    }
  });

  it('429 and 5xx after the budget are retryable; other statuses are not', () => {
    const limited = statusError({ ...base, status: 429, attempts: 6, body: '' }, { notFound: 'http_error' });
    assert.deepEqual([limited.code, limited.retryable], ['rate_limited', true]);
    assert.match(limited.message, /after 6 attempts/);
    const failing = statusError({ ...base, status: 503, attempts: 6, body: body('injected 503') }, { notFound: 'http_error' });
    assert.deepEqual([failing.code, failing.retryable], ['server_error', true]);
    const odd = statusError({ ...base, status: 418, body: '' }, { notFound: 'http_error' });
    assert.deepEqual([odd.code, odd.retryable], ['http_error', false]);
  });
});

describe("Spaaza's clock", () => {
  it('follows the latest Date header plus the local time since, and reports the skew', () => {
    let mono = 1000;
    let wall = Date.parse('2026-01-01T00:00:00.400Z');
    const clock = new ServerClock(365 * 86_400_000, () => mono, () => wall);
    assert.equal(clock.now(), null);
    assert.equal(clock.skewMs(), 0);
    clock.observe('Tue, 26 May 2026 12:00:00 GMT');
    assert.equal(clock.now()?.toISOString(), '2026-05-26T12:00:00.000Z');
    mono += 2500;
    wall += 2500;
    assert.equal(clock.now()?.toISOString(), '2026-05-26T12:00:02.500Z');
    assert.equal(clock.skewMs(), Date.parse('2026-05-26T12:00:00Z') - Date.parse('2026-01-01T00:00:00.400Z'));
    clock.observe('garbage');
    clock.observe(undefined);
    assert.equal(clock.now()?.toISOString(), '2026-05-26T12:00:02.500Z', 'unreadable headers are ignored');
    clock.observe(['Tue, 26 May 2026 13:00:00 GMT']);
    assert.equal(clock.now()?.toISOString(), '2026-05-26T13:00:00.000Z');
  });
});
