/** The one failure table: what is tried again, for HTTP, undici, Node and PostgreSQL failures. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWarehouseUnavailable, ruleForError, sqlstateOf } from '../../src/failure-table.js';

/** An error as pg's DatabaseError carries it: a SQLSTATE and the server's severity. */
const pgError = (code: string) => Object.assign(new Error(`server said ${code}`), { code, severity: 'ERROR' });

describe('the failure table', () => {
  it('retries a lost connection and a lost race, by exact SQLSTATE or by class', () => {
    for (const code of ['08000', '08006', '08P01', '57P01', '57P02', '57P03', '53300']) assert.deepEqual([code, ruleForError(pgError(code)).kind], [code, 'connection_lost']);
    for (const code of ['40001', '40P01', '55P03']) assert.deepEqual([code, ruleForError(pgError(code)).kind], [code, 'conflict']);
    for (const code of ['08000', '40001', '57P01']) assert.equal(ruleForError(pgError(code)).retry, true, code);
  });

  it('never retries data, constraint, syntax or authorization errors, nor an unknown SQLSTATE', () => {
    for (const code of ['22007', '22P02', '22023', '23505', '23514', '42601', '42P01', '28P01', '3D000', 'P0001', 'XX000', '53100', '57014']) {
      assert.equal(ruleForError(pgError(code)).retry, false, code);
    }
  });

  it("knows pg's connection errors that carry no code", () => {
    for (const message of ['Connection terminated unexpectedly', 'Connection terminated', 'Client has encountered a connection error and is not queryable', 'timeout exceeded when trying to connect']) {
      assert.equal(ruleForError(new Error(message)).kind, 'connection_lost', message);
    }
    assert.equal(ruleForError(new Error('Connection terminated unexpectedly, but this is not pg')).retry, false);
  });

  it('reads a network code along the causes, and a five-letter errno is not taken for a SQLSTATE', () => {
    assert.equal(ruleForError(new Error('outer', { cause: Object.assign(new Error('inner'), { code: 'ECONNRESET' }) })).kind, 'network');
    assert.equal(ruleForError(Object.assign(new Error('pipe'), { code: 'EPIPE' })).kind, 'network');
    // A body cut short by a server that closed a `Connection: close` answer early.
    assert.equal(ruleForError(Object.assign(new Error('Response body length does not match content-length header'), { code: 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' })).kind, 'network');
    assert.equal(ruleForError(Object.assign(new Error('x'), { code: 'ABCDE' })).retry, false);
  });

  it('knows a PostgreSQL error by its SQLSTATE and severity, and nothing else for one', () => {
    assert.equal(sqlstateOf(pgError('22007')), '22007');
    assert.equal(sqlstateOf(Object.assign(new Error('pipe'), { code: 'EPIPE' })), undefined);
    assert.equal(sqlstateOf(Object.assign(new Error('x'), { code: '22007' })), undefined, 'no severity: not from the server');
    for (const other of [null, undefined, 'text', new Error('plain')]) assert.equal(sqlstateOf(other), undefined);
  });

  it('retries nothing unknown', () => {
    for (const error of [new Error('boom'), new TypeError('x is undefined'), 'a string', null, { code: 42 }]) assert.equal(ruleForError(error).retry, false, String(error));
  });

  it('tells when the warehouse is not there right now', () => {
    assert.equal(isWarehouseUnavailable(pgError('57P03')), true);
    assert.equal(isWarehouseUnavailable(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })), true);
    assert.equal(isWarehouseUnavailable(new Error('wrapped', { cause: new Error('Connection terminated unexpectedly') })), true);
    assert.equal(isWarehouseUnavailable(pgError('28P01')), false);
    assert.equal(isWarehouseUnavailable(pgError('23505')), false);
  });
});
