/**
 * zod issues as the sentences a user reads: `<path>: <what is wrong and how to fix it>`, the path
 * naming the file key, or the environment variable when the value came from there.
 */
import type { z } from 'zod';
import { formatPath, pathKey, type ConfigPath } from './paths.js';
import { FILE_KEYS } from './schema.js';

type Issue = z.core.$ZodIssue;

export function describeIssues(issues: readonly Issue[], labels: ReadonlyMap<string, string>): string[] {
  return [...issues].sort((a, b) => comparePaths(a.path, b.path)).flatMap((issue) => describeIssue(issue, [], labels));
}

// Issues of secret files arrive when the read finishes; report in the order of the file instead.
const KEY_ORDER = new Map([...new Set(Object.values(FILE_KEYS).flat())].map((key, index) => [key, index]));

function comparePaths(a: ConfigPath, b: ConfigPath): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return (KEY_ORDER.get(String(x)) ?? Infinity) - (KEY_ORDER.get(String(y)) ?? Infinity) || 0;
  }
  return a.length - b.length;
}

function describeIssue(issue: Issue, prefix: ConfigPath, labels: ReadonlyMap<string, string>): string[] {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `${formatPath([...path, key])}: ${unknownKey(path, key)}`);
  if (issue.code === 'invalid_union') {
    // A chain is an id or an object: report the mistakes of the form the user chose.
    const attempted = issue.errors.filter((branch) => !branch.every((inner) => inner.code === 'invalid_type' && inner.path.length === 0));
    if (attempted.length === 1) return attempted[0]!.flatMap((inner) => describeIssue(inner, path, labels));
  }
  return [`${label(path, labels)}: ${issue.message}`];
}

/** The path as written in the file, or the environment variable its value came from. */
function label(path: ConfigPath, labels: ReadonlyMap<string, string>): string {
  for (let length = path.length; length > 0; length--) {
    const found = labels.get(pathKey(path.slice(0, length)));
    if (found !== undefined) return found;
  }
  return formatPath(path);
}

type Section = keyof typeof FILE_KEYS;

function sectionAt(path: ConfigPath): Section | undefined {
  if (path.length === 0) return 'top';
  if (path.length === 1 && typeof path[0] === 'string' && path[0] in FILE_KEYS && path[0] !== 'top' && path[0] !== 'chain') return path[0] as Section;
  if (path.length === 3 && path[0] === 'spaaza' && path[1] === 'chains') return 'chain';
  return undefined;
}

function unknownKey(path: ConfigPath, key: string): string {
  const section = sectionAt(path);
  if (!section) return 'unknown key; remove it';
  const keys = FILE_KEYS[section];
  const near = closest(key, keys);
  const elsewhere = (Object.keys(FILE_KEYS) as Section[]).find((other) => other !== section && other !== 'chain' && FILE_KEYS[other].includes(key));
  const hint = near ? ` (did you mean "${near}"?)` : elsewhere ? ` (it belongs in ${elsewhere === 'top' ? 'the top level' : elsewhere})` : '';
  const where = section === 'top' ? 'the top level' : section === 'chain' ? 'a chain' : section;
  return `unknown key${hint}; ${where} accepts ${keys.join(', ')} (and "$comment")`;
}

/** The key the user probably meant: same letters ignoring case and separators, or a small typo. */
function closest(key: string, keys: readonly string[]): string | undefined {
  const norm = (text: string) => text.toLowerCase().replace(/[_\-\s]/g, '');
  const same = keys.find((candidate) => norm(candidate) === norm(key));
  if (same) return same;
  let best: { key: string; distance: number } | undefined;
  for (const candidate of keys) {
    const distance = editDistance(norm(key), norm(candidate));
    if (distance <= Math.max(1, Math.floor(candidate.length / 4)) && (!best || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
