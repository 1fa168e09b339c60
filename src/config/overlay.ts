/**
 * From the parsed file and the environment to the one tree the schema validates: `$comment`
 * keys dropped, literal secrets reported and removed, then each set environment variable
 * written over its file key. `labels` remembers which paths came from the environment, so a
 * problem names the variable the user has to fix.
 */
import { ENV_VARS, type EnvVar } from './env-vars.js';
import { formatPath, isPlainObject, pathKey } from './paths.js';

export interface ConfigTree {
  readonly tree: Record<string, unknown>;
  /** Path key → how a problem names it, for values taken from the environment. */
  readonly labels: ReadonlyMap<string, string>;
  readonly problems: readonly string[];
}

type Env = Readonly<Record<string, string | undefined>>;

export function buildConfigTree(file: Record<string, unknown>, env: Env): ConfigTree {
  const tree = stripComments(structuredClone(file)) as Record<string, unknown>;
  const problems = removeLiteralSecrets(tree);
  const labels = new Map<string, string>();
  for (const variable of ENV_VARS) {
    const raw = env[variable.name];
    if (raw === undefined || raw.trim() === '' || variable.path === null) continue;
    applyVariable(tree, variable, raw, labels);
  }
  return { tree, labels, problems };
}

function applyVariable(tree: Record<string, unknown>, variable: EnvVar, raw: string, labels: Map<string, string>): void {
  const value = raw.trim();
  switch (variable.name) {
    case 'DATABASE_URL':
      delete tree.databaseUrlFile;
      setAt(tree, ['databaseUrl'], value, labels, 'DATABASE_URL');
      return;
    case 'SPAAZA_TOKEN_SECRET': {
      // Not trimmed: a secret is used exactly as given (and checked for stray whitespace later).
      const spaaza = sectionOf(tree, 'spaaza');
      if (spaaza) delete spaaza.tokenSecretFile;
      setAt(tree, ['spaaza', 'tokenSecret'], raw, labels, 'SPAAZA_TOKEN_SECRET');
      return;
    }
    case 'SPAAZA_CHAIN_IDS':
      addChainIds(tree, value, labels);
      return;
  }
  const path = variable.path!.split('.');
  setAt(tree, path, fromEnvText(variable, value), labels, `${variable.path} (${variable.name})`);
}

/** Environment text as the JSON value the file would hold; text that is not one stays text. */
function fromEnvText(variable: EnvVar, value: string): unknown {
  switch (variable.format) {
    case 'integer':
      return /^[+-]?\d+$/.test(value) ? Number(value) : value;
    case 'ratio':
      return /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(value) ? Number(value) : value;
    case 'list':
      return splitList(value);
    default:
      return value;
  }
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** SPAAZA_CHAIN_IDS: chains sharing the env token, after the file's; a chain already in the file stays as it is there. */
function addChainIds(tree: Record<string, unknown>, value: string, labels: Map<string, string>): void {
  const spaaza = sectionOf(tree, 'spaaza', true);
  if (!spaaza) return;
  spaaza.chains ??= [];
  const chains = spaaza.chains;
  if (!Array.isArray(chains)) return; // the schema reports the file's mistake
  const inFile = new Set(chains.map((entry: unknown) => (isPlainObject(entry) ? entry.id : entry)));
  const items = splitList(value);
  items.forEach((item, index) => {
    const id = /^[+-]?\d+$/.test(item) ? Number(item) : item;
    if (typeof id === 'number' && inFile.has(id)) return;
    // The position, not the value, locates a bad id: the value may be a secret pasted here.
    labels.set(pathKey(['spaaza', 'chains', chains.length]), items.length === 1 ? 'SPAAZA_CHAIN_IDS' : `SPAAZA_CHAIN_IDS (item ${index + 1} of ${items.length})`);
    chains.push(id);
  });
}

function sectionOf(tree: Record<string, unknown>, key: string, create = false): Record<string, unknown> | undefined {
  if (tree[key] === undefined && create) tree[key] = {};
  const section = tree[key];
  return isPlainObject(section) ? section : undefined;
}

function setAt(tree: Record<string, unknown>, path: readonly string[], value: unknown, labels: Map<string, string>, label: string): void {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    const next = sectionOf(node, key, true);
    if (!next) return; // the file has something else there; the schema reports it
    node = next;
  }
  node[path[path.length - 1]!] = value;
  labels.set(pathKey(path), label);
}

/** `$comment` keys document the file and are accepted anywhere; they are not configuration. */
function stripComments(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripComments);
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => key !== '$comment').map(([key, item]) => [key, stripComments(item)]));
}

/**
 * Secrets may come only from the environment or a file: a token secret or a database password
 * written in the config file is a problem (even when the environment overrides it), and is
 * removed so it goes no further. The messages never repeat the value.
 */
function removeLiteralSecrets(tree: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (typeof tree.databaseUrl === 'string' && urlHasPassword(tree.databaseUrl)) {
    delete tree.databaseUrl;
    problems.push(
      'databaseUrl: the URL holds a password, and secrets may not be written in the config file; set DATABASE_URL, put the URL in a file named by databaseUrlFile, or keep the password in a .pgpass file (PGPASSFILE)',
    );
  }
  const spaaza = sectionOf(tree, 'spaaza');
  if (spaaza && 'tokenSecret' in spaaza) {
    delete spaaza.tokenSecret;
    problems.push('spaaza.tokenSecret: secrets may not be written in the config file; put it in SPAAZA_TOKEN_SECRET, or in a file named by spaaza.tokenSecretFile');
  }
  const chains: unknown[] = spaaza && Array.isArray(spaaza.chains) ? spaaza.chains : [];
  chains.forEach((chain, index) => {
    if (isPlainObject(chain) && 'tokenSecret' in chain) {
      delete chain.tokenSecret;
      problems.push(
        `${formatPath(['spaaza', 'chains', index, 'tokenSecret'])}: secrets may not be written in the config file; put it in a file named by tokenSecretFile, or in an environment variable named by tokenSecretEnv`,
      );
    }
  });
  return problems;
}

/** Whether a connection URL carries a password (in the user part or as a query parameter). */
export function urlHasPassword(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.password !== '' || [...parsed.searchParams.keys()].some((key) => /password/i.test(key));
  } catch {
    return /\/\/[^/?#@]*:[^/?#@]+@/.test(url) || /[?&][^=&]*password[^=&]*=/i.test(url);
  }
}
