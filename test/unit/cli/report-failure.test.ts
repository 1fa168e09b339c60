/** The CLI's last word on a failure: a sentence and an exit code; a stack trace only for a bug. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reportFailure } from '../../../src/cli/report-failure.js';
import { ChainLockedError, ConfigError, LoadError, WarehouseError } from '../../../src/errors.js';
import { ERROR_TABLE } from '../../../src/error-table.js';

const report = (error: unknown) => {
  let text = '';
  const code = reportFailure(error, (t) => (text += t));
  return { code, text };
};
const STACK = /\n\s+at .+:\d+:\d+/;

describe('reportFailure', () => {
  it('maps our errors to their exit codes', () => {
    assert.equal(report(new ConfigError('bad', ['x: fix it'])).code, 2);
    assert.equal(report(new ChainLockedError(1764)).code, 3);
    assert.deepEqual(report(new WarehouseError('warehouse_unreachable', 'Cannot connect.')), {
      code: 1,
      text: `error [warehouse_unreachable]: Cannot connect.\n  what to do: ${ERROR_TABLE.warehouse_unreachable.todo}\n`,
    });
  });

  it("says what to do, in the table's words, under every error of ours", () => {
    const locked = report(new ChainLockedError(1764)).text;
    assert.match(locked, /^error \[chain_locked\]: Chain 1764 /);
    assert.ok(locked.endsWith(`  what to do: ${ERROR_TABLE.chain_locked.todo}\n`), locked);
    const sqlstate = report(new LoadError('sqlstate_23505', 'duplicate key value')).text;
    assert.match(sqlstate, /what to do: Read the message \(PostgreSQL said it\)/);
  });

  it('gives an operational failure one sentence, never a stack trace', () => {
    const cases: Error[] = [
      Object.assign(new Error("ENOENT: no such file or directory, open '/x.csv'"), { code: 'ENOENT', syscall: 'open', errno: -2 }),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', syscall: 'connect' }),
      new Error('Connection terminated unexpectedly'),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01', severity: 'FATAL' }),
      Object.assign(new Error('permission denied for schema spaaza'), { code: '42501', severity: 'ERROR' }),
    ];
    for (const error of cases) {
      const { code, text } = report(error);
      assert.equal(code, 1, error.message);
      assert.match(text, /^error \[[\w]+\]: /, error.message);
      assert.doesNotMatch(text, STACK, error.message);
    }
  });

  it('prints the stack of what can only be a bug, and says so', () => {
    const { code, text } = report(new TypeError("Cannot read properties of undefined (reading 'id')"));
    assert.equal(code, 1);
    assert.match(text, /^unexpected error \(a bug of spaaza-sync/);
    assert.match(text, STACK);
  });
});
