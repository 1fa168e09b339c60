// The docs name files (the architecture guide above all); each must exist, so the docs cannot drift from the code.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

const root = path.resolve(import.meta.dirname, '../..');

/** Every `path` in backticks that looks like a file or folder of the repository. */
function namedPaths(markdown: string): string[] {
  const found = new Set<string>();
  for (const match of markdown.matchAll(/`([^`\s]+)`/g)) {
    const text = match[1]!;
    if (/^(src|test|docs|bench|scripts|migrations|config|ops)\//.test(text) || /^[\w.-]+\.(js|ts|json|md)$/.test(text)) found.add(text);
  }
  // The data-flow diagram names files without backticks.
  for (const match of markdown.matchAll(/\b(src\/[\w/.-]+\.ts)\b/g)) found.add(match[1]!);
  return [...found];
}

/** Base names of the repository's files (a bare `chaos.test.ts` names the one file of that name). */
function baseNames(): Set<string> {
  const names = new Set<string>();
  for (const dir of ['src', 'test', 'bench', 'scripts', 'docs', 'migrations', 'config']) {
    for (const entry of readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })) if (entry.isFile()) names.add(entry.name);
  }
  for (const entry of readdirSync(root, { withFileTypes: true })) if (entry.isFile()) names.add(entry.name);
  return names;
}

const exists = (names: Set<string>) => (p: string) => (p.includes('/') ? existsSync(path.join(root, p)) : names.has(p));

describe('the docs name only files that exist', () => {
  const found = exists(baseNames());
  for (const doc of ['docs/architecture.md', 'docs/operations.md', 'docs/performance.md', 'docs/simulator.md', 'README.md']) {
    it(doc, () => {
      const paths = namedPaths(readFileSync(path.join(root, doc), 'utf8'));
      if (doc === 'docs/architecture.md') assert.ok(paths.length > 40, `only ${paths.length} paths found`);
      assert.deepEqual(paths.filter((p) => !found(p)), []);
    });
  }
});
