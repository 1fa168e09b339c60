/**
 * The one error table: every code the sources write is in it, each entry says what to do, and
 * the errors, the CLI and the retry loops read it (stage, retryable, exit code) rather than
 * deciding by class.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { codeOf, ERROR_TABLE, errorEntry, EXIT, exitCodeOf, isOwnErrorCode, isRetryable } from '../../src/error-table.js';
import { ChainLockedError, ConfigError, LoadError, SpaazaSyncError, TransformError, WarehouseError } from '../../src/errors.js';
import { ExtractError } from '../../src/extract/errors.js';
import { WindowError } from '../../src/sync/export-window.js';
import { WindowLoadError } from '../../src/load/load-window.js';
import { emptyTransformStats } from '../../src/voucher/staged-export.js';

const SRC = path.resolve(import.meta.dirname, '../../src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'simulator' ? [] : sources(file); // the simulator speaks Spaaza's codes, not ours
    return entry.name.endsWith('.ts') ? [file] : [];
  });
}

/**
 * Where the sources write a code: the first argument of an error of ours, an outcome's `code:`,
 * a code given to markAbandoned or abandonRows, a fallback of codeOf, an SQL `error_code = '…'`,
 * a member of ExtractErrorCode, a code chosen between two.
 */
const CODE_SITES: readonly RegExp[] = [
  /(?:new \w*Error|super)\(\s*'([a-z][a-z0-9_]*)'/g,
  /\bcode: '([a-z][a-z0-9_]*)'/g,
  /\bmake\('([a-z][a-z0-9_]*)'/g,
  /\b(?:markAbandoned|abandonRows)\([^;]*?, '([a-z][a-z0-9_]*)'\)/g,
  /\bcodeOf\([^,]+, '([a-z][a-z0-9_]*)'\)/g,
  /error_code = '([a-z][a-z0-9_]*)'/g,
  /THEN '([a-z][a-z0-9_]*)'/g,
  /new \w*Error\(\s*\w+ \? '([a-z][a-z0-9_]*)' : '[a-z][a-z0-9_]*'/g,
  /new \w*Error\(\s*\w+ \? '[a-z][a-z0-9_]*' : '([a-z][a-z0-9_]*)'/g,
];

/** The members of ExtractErrorCode, the codes the API client picks among at run time. */
function extractCodes(): string[] {
  const text = readFileSync(path.join(SRC, 'extract/errors.ts'), 'utf8');
  const union = /export type ExtractErrorCode =([\s\S]*?);/.exec(text)![1]!;
  return [...union.matchAll(/\| '([a-z][a-z0-9_]*)'/g)].map((m) => m[1]!);
}

/** Not codes of ours, though written like them: zod's issue code, the run states and kinds. */
const NOT_CODES = new Set(['custom']);

function codesWritten(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of sources(SRC)) {
    if (file.endsWith('error-table.ts')) continue;
    const text = readFileSync(file, 'utf8');
    for (const site of CODE_SITES) {
      for (const match of text.matchAll(site)) {
        if (!NOT_CODES.has(match[1]!) && !found.has(match[1]!)) found.set(match[1]!, path.relative(SRC, file));
      }
    }
  }
  for (const code of extractCodes()) if (!found.has(code)) found.set(code, 'extract/errors.ts');
  return found;
}

describe('the error table', () => {
  it('holds every code the sources write (and the scan finds them)', () => {
    const written = codesWritten();
    const missing = [...written].filter(([code]) => !isOwnErrorCode(code));
    assert.deepEqual(missing, [], 'codes written in src/ that the error table lacks: add them to src/error-table.ts with their stage and what to do');
    assert.ok(written.size >= 40, `the scan found only ${written.size} codes: it no longer sees the throw sites`);
    for (const code of ['network_error', 'timeout', 'implausible_time', 'too_many_rejects', 'csv_truncated', 'download_url_expired', 'process_died', 'deletions_refused', 'abandoned_by_operator', 'run_failed', 'watermark_ahead']) {
      assert.ok(written.has(code), `the scan misses ${code}`);
    }
  });

  it('says for every code what to do, in one sentence', () => {
    for (const [code, entry] of Object.entries(ERROR_TABLE)) {
      assert.match(code, /^[a-z][a-z0-9_]*$/, code);
      assert.match(entry.todo, /^[A-Z`].{10,}[.]$/, `${code}: what to do is one sentence, capitalised, ending with a full stop`);
      assert.ok(entry.todo.length < 200, `${code}: what to do is short`);
    }
  });

  it('gives errors of ours their stage and retryability from the table, the throw site deciding only where it says by-cause', () => {
    assert.equal(new ExtractError('rate_limited', 'x').retryable, true);
    assert.equal(new ExtractError('unauthorized', 'x').retryable, false);
    assert.equal(new ExtractError('download_failed', 'x').retryable, false, 'by-cause without a cause given is no');
    assert.equal(new ExtractError('download_failed', 'x', { retryable: true }).retryable, true);
    assert.equal(new TransformError('csv_truncated', 'x').retryable, true);
    assert.equal(new WarehouseError('warehouse_unreachable', 'x').retryable, true);
    assert.equal(new WarehouseError('embedded_postgres_failed', 'x').retryable, false);
    assert.equal(new LoadError('too_many_rejects', 'x').stage, 'load');
    assert.equal(new SpaazaSyncError('watermark_ahead', 'x').stage, 'sync');
    // A window's error takes its code's stage (it said extract for all of them).
    assert.equal(new WindowError('warehouse_connection_lost', 'x', true).stage, 'warehouse');
    assert.equal(new WindowError('task_error', 'x', false).stage, 'sync');
    assert.equal(new WindowError('poll_deadline', 'x', true).stage, 'extract');
    // A SQLSTATE: the stage of the class that threw it, retryable by its class.
    assert.equal(new LoadError('sqlstate_23505', 'x').stage, 'load');
    assert.equal(new LoadError('sqlstate_40P01', 'x').retryable, true);
    assert.equal(new LoadError('sqlstate_22P02', 'x').retryable, false);
  });

  it('names any failure by a code of the table', () => {
    const pg = (code: string) => Object.assign(new Error('pg said'), { code, severity: 'ERROR' });
    assert.equal(codeOf(new TransformError('csv_truncated', 'x'), 'load_failed'), 'csv_truncated');
    assert.equal(codeOf(pg('23505'), 'load_failed'), 'sqlstate_23505');
    assert.equal(codeOf(pg('57P01'), 'load_failed'), 'warehouse_connection_lost');
    assert.equal(codeOf(new Error('Connection terminated unexpectedly'), 'window_failed'), 'warehouse_connection_lost');
    assert.equal(codeOf(Object.assign(new Error('boom'), { code: 'ERR_SOMETHING' }), 'run_failed'), 'run_failed');
    assert.equal(codeOf(new TypeError('bug'), 'window_failed'), 'window_failed');
    // A load that failed keeps the code of what failed underneath, and its retryability.
    const wrapped = new WindowLoadError(new ExtractError('download_url_expired', 'x'), false, emptyTransformStats(), []);
    assert.deepEqual([wrapped.code, wrapped.stage, wrapped.retryable], ['download_url_expired', 'extract', true]);
    const deadlock = new WindowLoadError(pg('40P01'), false, emptyTransformStats(), []);
    assert.deepEqual([deadlock.code, deadlock.retryable], ['sqlstate_40P01', true]);
  });

  it('asks the failure table about failures not ours', () => {
    assert.equal(isRetryable(Object.assign(new Error('reset'), { code: 'ECONNRESET' })), true);
    assert.equal(isRetryable(Object.assign(new Error('dup'), { code: '23505', severity: 'ERROR' })), false);
    assert.equal(isRetryable(new Error('unknown')), false, 'an unknown failure is not retried');
  });

  it('maps errors to exit codes by code', () => {
    assert.equal(exitCodeOf(new ConfigError('bad', ['x'])), EXIT.usage);
    assert.equal(exitCodeOf(new ChainLockedError(1)), EXIT.locked);
    assert.equal(exitCodeOf(new LoadError('too_many_rejects', 'x')), EXIT.runFailed);
    assert.equal(exitCodeOf(new Error('bug')), EXIT.runFailed);
    assert.equal(errorEntry('no_such_code'), ERROR_TABLE.window_failed);
  });

  it('is the table of error codes in docs/operations.md', () => {
    const docs = readFileSync(path.resolve(import.meta.dirname, '../../docs/operations.md'), 'utf8');
    const section = /<!-- error-table:start -->\n([\s\S]*?)<!-- error-table:end -->/.exec(docs)?.[1];
    assert.ok(section, 'docs/operations.md has the error table between <!-- error-table:start --> and <!-- error-table:end -->');
    assert.equal(section, errorTableMarkdown(), 'docs/operations.md\'s error table differs from src/error-table.ts: paste the expected text');
  });
});

/** The docs' table, rendered from the error table. */
export function errorTableMarkdown(): string {
  const retried = (r: boolean | 'by-cause') => (r === 'by-cause' ? 'by cause' : r ? 'yes' : 'no');
  const rows = Object.entries(ERROR_TABLE).map(([code, e]) => `| \`${code}\` | ${e.stage} | ${retried(e.retryable)} | ${e.exit} | ${e.todo.replace(/\|/g, '\\|')} |`);
  return ['| code | stage | retried | exit | what to do |', '|---|---|---|---|---|', ...rows, ''].join('\n');
}
