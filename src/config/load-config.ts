/**
 * Loading the configuration, once, at the edge: the config file (if any), the environment over
 * it key by key, the secret files it names; every problem collected into one ConfigError.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative } from 'node:path';
import { ConfigError } from '../errors.js';
import { chooseConfigFile, configFileName, readConfigFile } from './config-file.js';
import { loosePermissionWarnings } from './file-permissions.js';
import { deepFreeze } from './freeze.js';
import { buildConfigTree } from './overlay.js';
import { isPlainObject } from './paths.js';
import { describeIssues } from './problems.js';
import { createConfigSchema, type SyncConfig } from './schema.js';

export interface LoadConfigOptions {
  /** `--config PATH`: must exist. */
  readonly configPath?: string | undefined;
  /** The process environment (the only place it is read). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where relative paths start; default process.cwd(). */
  readonly cwd?: string | undefined;
  /** Told what is not wrong enough to refuse: a secret file or the config file others may read. */
  readonly onWarning?: (message: string) => void;
}

/** What a command needs: everything (sync, status, check, reset…), or only the warehouse side. */
export type ConfigNeeds = 'everything' | 'warehouse';

/** The configuration of the commands that never call Spaaza (migrate, db, load-file). */
export type WarehouseConfig = Omit<SyncConfig, 'spaaza'>;

/** The validated, deeply frozen configuration, or a ConfigError listing every problem. */
export async function loadConfig(options: LoadConfigOptions): Promise<SyncConfig> {
  return (await load(options, 'everything')) as SyncConfig;
}

/**
 * The same configuration (file, environment, `--config`) for a command that never calls Spaaza:
 * the spaaza section is not read, so it may be absent or unfinished.
 */
export async function loadWarehouseConfig(options: LoadConfigOptions): Promise<WarehouseConfig> {
  const { spaaza: _unused, ...config } = await load(options, 'warehouse');
  return Object.freeze(config); // its parts are frozen already
}

async function load(options: LoadConfigOptions, needs: ConfigNeeds): Promise<SyncConfig> {
  const cwd = options.cwd ?? process.cwd();
  const choice = chooseConfigFile({ configPath: options.configPath, env: options.env, cwd });
  const file = await readConfigFile(choice);
  const problems: string[] = [];
  let content: Record<string, unknown> = {};
  if (file.kind === 'problem') problems.push(file.problem);
  if (file.kind === 'read') {
    if (isPlainObject(file.content)) content = file.content;
    else problems.push(`${file.path}: the file must hold one JSON object, e.g. { "spaaza": { "baseUrl": "https://…", "chains": [1764] } }`);
  }

  const { tree, labels, problems: secretProblems } = buildConfigTree(content, options.env);
  problems.push(...secretProblems); // a secret written in the file is refused whatever the command
  if (needs === 'warehouse') delete tree.spaaza;
  const secretFiles: string[] = [];
  const schema = createConfigSchema(
    {
      env: options.env,
      readTextFile: (path) => readFile(path, 'utf8'),
      baseDir: file.kind === 'absent' ? cwd : dirname(choice.path),
      onSecretFile: (path) => secretFiles.push(path),
    },
    { spaaza: needs === 'everything' },
  );
  const result = await schema.safeParseAsync(tree);
  if (!result.success) problems.push(...describeIssues(result.error.issues, labels));

  if (problems.length > 0 || !result.success) {
    const unique = [...new Set(problems)];
    const source = file.kind === 'absent' ? 'no config file, environment only' : `${configFileName(choice) === choice.path ? `config file ${displayPath(cwd, choice.path)}` : configFileName(choice)}, then the environment`;
    throw new ConfigError(`The configuration has ${unique.length} ${unique.length === 1 ? 'problem' : 'problems'} (${source}):`, unique);
  }
  if (options.onWarning) {
    const files = [...(file.kind === 'read' ? [{ path: file.path, role: 'config' as const }] : []), ...[...new Set(secretFiles)].map((path) => ({ path, role: 'secret' as const }))];
    for (const warning of await loosePermissionWarnings(files)) options.onWarning(warning);
  }
  return deepFreeze(result.data);
}

/** A path relative to cwd when it is inside it, else absolute. */
function displayPath(cwd: string, path: string): string {
  const inside = relative(cwd, path);
  return inside !== '' && !inside.startsWith('..') && !isAbsolute(inside) ? inside : path;
}
