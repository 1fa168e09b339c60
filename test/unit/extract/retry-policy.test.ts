import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errors as undiciErrors } from 'undici';
import {
  backoffDelay, DEFAULT_BACKOFF, errorCode, parseRetryAfter, RETRY_TABLE, retryDelay, ruleForError, ruleForStatus, type BackoffOptions,
} from '../../../src/extract/retry-policy.js';

const systemError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });

describe('retry table: statuses', () => {
  it('retries 429 honouring Retry-After, and POST /tasks may repeat it', () => {
    assert.deepEqual(ruleForStatus(429), { retry: true, kind: 'rate_limited', honourRetryAfter: true, createMayRepeat: true });
  });

  it('retries 500, 502, 503 and 504; only 503 lets POST /tasks repeat blindly', () => {
    for (const status of [500, 502, 504]) {
      assert.deepEqual(ruleForStatus(status), { retry: true, kind: 'server_error', honourRetryAfter: false, createMayRepeat: false }, String(status));
    }
    assert.deepEqual(ruleForStatus(503), { retry: true, kind: 'server_error', honourRetryAfter: true, createMayRepeat: true });
  });

  it('never retries another 4xx, nor statuses it does not know', () => {
    for (const status of [400, 401, 403, 404, 405, 408, 409, 410, 413, 422, 451]) {
      assert.equal(ruleForStatus(status).retry, false, String(status));
      assert.equal(ruleForStatus(status).kind, 'client_error');
    }
    for (const status of [301, 501, 505, 599]) assert.equal(ruleForStatus(status).retry, false, String(status));
  });

  it('has one row per status or code, frozen', () => {
    assert.ok(Object.isFrozen(RETRY_TABLE));
    assert.deepEqual(Object.keys(RETRY_TABLE).filter((k) => /^\d+$/.test(k)), ['429', '500', '502', '503', '504']);
  });
});

describe('retry table: network errors', () => {
  it("retries undici's timeouts and socket errors, and Node's connection errors", () => {
    const cases: [unknown, string][] = [
      [new undiciErrors.HeadersTimeoutError(), 'timeout'],
      [new undiciErrors.BodyTimeoutError(), 'timeout'],
      [new undiciErrors.ConnectTimeoutError(), 'timeout'],
      [new undiciErrors.SocketError('other side closed'), 'network'],
      [systemError('ECONNRESET'), 'network'],
      [systemError('ECONNREFUSED'), 'network'],
      [systemError('EPIPE'), 'network'],
      [systemError('ETIMEDOUT'), 'timeout'],
      [systemError('EAI_AGAIN'), 'network'],
    ];
    for (const [error, kind] of cases) {
      const rule = ruleForError(error);
      assert.equal(rule.retry, true, String(error));
      assert.equal(rule.kind, kind, String(error));
      assert.equal(rule.createMayRepeat, false, 'POST /tasks looks for its task after any of these');
    }
  });

  it('does not retry aborts, bad arguments, unknown hosts or plain errors', () => {
    for (const error of [new undiciErrors.RequestAbortedError(), new undiciErrors.InvalidArgumentError('bad'), systemError('ENOTFOUND'), new Error('boom'), 'text', null]) {
      assert.equal(ruleForError(error).retry, false, String(error));
    }
  });

  it('finds a known code along the causes', () => {
    const wrapped = Object.assign(new Error('fetch failed'), { code: 'UND_ERR_SOMETHING', cause: systemError('ECONNRESET') });
    assert.equal(errorCode(wrapped), 'ECONNRESET');
    assert.equal(ruleForError(wrapped).retry, true);
    assert.equal(errorCode(Object.assign(new Error('x'), { code: 'EWHATEVER' })), 'EWHATEVER');
    assert.equal(errorCode(new Error('no code')), undefined);
  });
});

describe('backoff', () => {
  const options = (random: number, baseMs = 500, maxMs = 30_000): BackoffOptions => ({ ...DEFAULT_BACKOFF, baseMs, maxMs, random: () => random });

  it('defaults to base 500 ms and cap 30 s', () => {
    assert.equal(DEFAULT_BACKOFF.baseMs, 500);
    assert.equal(DEFAULT_BACKOFF.maxMs, 30_000);
  });

  it('doubles the ceiling each retry, up to the cap', () => {
    const nearlyOne = 0.999999;
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map((retry) => backoffDelay(retry, options(nearlyOne))), [499, 999, 1999, 3999, 7999, 15999, 29999, 29999]);
  });

  it('draws uniformly below the ceiling (full jitter)', () => {
    assert.equal(backoffDelay(3, options(0)), 0);
    assert.equal(backoffDelay(3, options(0.5)), 1000);
    assert.equal(backoffDelay(3, options(0.25, 100, 300)), 75);
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2026-05-26T12:00:00Z');

  it('reads delta seconds', () => {
    assert.equal(parseRetryAfter('0', now), 0);
    assert.equal(parseRetryAfter('7', now), 7000);
    assert.equal(parseRetryAfter(' 120 ', now), 120_000);
    assert.equal(parseRetryAfter(['3', '9'], now), 3000);
  });

  it('reads an HTTP-date against the given now, never negative', () => {
    assert.equal(parseRetryAfter('Tue, 26 May 2026 12:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Tue, 26 May 2026 11:59:00 GMT', now), 0);
  });

  it('ignores what it cannot read', () => {
    for (const value of [undefined, '', '  ', '1.5', '-3', 'soon', 'Xyz, 99 Foo 2026']) assert.equal(parseRetryAfter(value, now), null, String(value));
  });

  it('is honoured for 429 and 503, capped; otherwise backoff applies', () => {
    const options: BackoffOptions = { baseMs: 100, maxMs: 1000, retryAfterMaxMs: 5000, random: () => 0.5 };
    assert.equal(retryDelay(ruleForStatus(429), 1, 2000, options), 2000);
    assert.equal(retryDelay(ruleForStatus(503), 1, 2000, options), 2000);
    assert.equal(retryDelay(ruleForStatus(429), 1, 600_000, options), 5000);
    assert.equal(retryDelay(ruleForStatus(429), 2, null, options), 100, 'no Retry-After: backoff');
    assert.equal(retryDelay(ruleForStatus(500), 1, 2000, options), 50, '500 backs off whatever it says');
  });
});
