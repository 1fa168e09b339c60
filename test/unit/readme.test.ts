// The README is the user's reference: every command, environment variable and warehouse object
// the code defines must be documented there.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { it } from 'node:test';
import { ENV_VARS } from '../../src/config/index.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

it('documents every environment variable', () => {
  for (const v of ENV_VARS) assert.ok(readme.includes(`\`${v.name}\``), `${v.name} is missing from the README`);
});

it('documents every command', () => {
  for (const command of ['sync', 'backfill', 'full-refresh', 'status', 'check', 'migrate', 'load-file', 'reset', 'schedule', 'simulator', 'db']) {
    assert.ok(readme.includes(`spaaza-sync ${command}`), `spaaza-sync ${command} is missing from the README`);
  }
});

it('documents every table, view and added column of the warehouse', () => {
  const dir = new URL('../../migrations/', import.meta.url);
  const sql = readdirSync(dir).filter((f) => f.endsWith('.sql')).map((f) => readFileSync(new URL(f, dir), 'utf8')).join('\n');
  const objects = [...sql.matchAll(/^CREATE (?:TABLE|VIEW) (\w+)/gm), ...sql.matchAll(/ADD COLUMN (\w+)/g)].map((m) => m[1]!);
  assert.ok(objects.length >= 12);
  for (const name of objects) assert.ok(readme.includes(`\`${name}\``), `${name} is missing from the README`);
});
