import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactError, redactText, redactUrl } from '../../../src/extract/redact.js';

const signed = 'https://bucket.s3.eu-west-1.amazonaws.com/exports/Voucher_Export-12347.csv?X-Amz-Credential=AKIA%2F2026&X-Amz-Signature=abc123#frag';

describe('redactUrl', () => {
  it('keeps scheme, host, port and path only', () => {
    assert.equal(redactUrl(signed), 'https://bucket.s3.eu-west-1.amazonaws.com/exports/Voucher_Export-12347.csv');
    assert.equal(redactUrl('http://127.0.0.1:4010/storage/Voucher_Export-1.csv?X-Expires=1&X-Signature=ff'), 'http://127.0.0.1:4010/storage/Voucher_Export-1.csv');
    assert.equal(redactUrl(new URL('https://h.example/p?q=1')), 'https://h.example/p');
  });

  it('drops user info', () => {
    assert.equal(redactUrl('https://user:pa55@h.example/p?x=1'), 'https://h.example/p');
  });

  it('keeps a URL without secrets as it is (with a root path)', () => {
    assert.equal(redactUrl('https://services.example.com'), 'https://services.example.com/');
  });

  it('cuts an unparseable URL at its query and drops user info', () => {
    assert.equal(redactUrl('http://user:pw@[bad host/path?sig=1'), 'http://[bad host/path');
    assert.equal(redactUrl('not a url?secret=1'), 'not a url');
  });
});

describe('redactText', () => {
  it('redacts every URL inside a text', () => {
    const text = `GET ${signed} failed; retried http://a.example/x?token=t1 and "https://b.example/y?sig=2".`;
    assert.equal(redactText(text), 'GET https://bucket.s3.eu-west-1.amazonaws.com/exports/Voucher_Export-12347.csv failed; retried http://a.example/x and "https://b.example/y".');
  });

  it('leaves a text without URLs alone', () => {
    assert.equal(redactText('connect ECONNREFUSED 127.0.0.1:443'), 'connect ECONNREFUSED 127.0.0.1:443');
  });
});

describe('redactError', () => {
  it('rewrites message and stack of the error and its causes, in place', () => {
    const inner = new Error(`request to ${signed} failed`);
    const outer = new Error(`fetch ${signed}`, { cause: inner });
    assert.equal(redactError(outer), outer);
    for (const error of [outer, inner]) {
      assert.ok(!error.message.includes('Signature'), error.message);
      assert.ok(!(error.stack ?? '').includes('Signature'));
      assert.match(error.message, /Voucher_Export-12347\.csv/);
    }
  });

  it('applies an extra scrubber (e.g. the token secret)', () => {
    const error = new Error('Bearer id:s3cr3t was refused');
    redactError(error, (text) => text.replaceAll('s3cr3t', '[redacted]'));
    assert.equal(error.message, 'Bearer id:[redacted] was refused');
  });

  it('ignores what is not an Error', () => {
    assert.equal(redactError('text'), 'text');
    assert.equal(redactError(null), null);
  });
});
