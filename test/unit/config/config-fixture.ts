/** Helpers for the config tests: a temp folder per test file, and loadConfig that returns problems. */
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadConfig, type SyncConfig } from '../../../src/config/index.js';
import { ConfigError } from '../../../src/errors.js';

export const TOKEN_ID = '123e4567-e89b-42d3-a456-426614174000';
export const OTHER_TOKEN_ID = '9b2f5c1e-7d4a-4e8b-b1c3-5a6d7e8f9012';
export const SECRET = 'shared-secret-4f9a1c';

/** The smallest valid environment: one chain on the shared env token, the simulator's address. */
export const MINIMAL_ENV: Readonly<Record<string, string>> = Object.freeze({
  SPAAZA_BASE_URL: 'http://127.0.0.1:4010',
  SPAAZA_TOKEN_ID: TOKEN_ID,
  SPAAZA_TOKEN_SECRET: SECRET,
  SPAAZA_CHAIN_IDS: '1764',
});

export class TempDir {
  readonly path = mkdtempSync(join(tmpdir(), 'spaaza-sync-config-'));

  /** Writes `content` (JSON-encoded unless text) at `relative`, creating folders; returns the absolute path. */
  write(relative: string, content: unknown): string {
    const file = join(this.path, relative);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    return file;
  }

  /** A fresh empty folder inside, to use as a cwd without a config file. */
  folder(name: string): string {
    const path = join(this.path, name);
    mkdirSync(path, { recursive: true });
    return path;
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

export interface Load {
  readonly configPath?: string;
  readonly env?: Record<string, string | undefined>;
  readonly cwd: string;
}

export function load(options: Load): Promise<SyncConfig> {
  return loadConfig({ configPath: options.configPath, env: options.env ?? {}, cwd: options.cwd });
}

/** Loads a configuration that must be refused; returns the ConfigError. */
export async function refused(options: Load): Promise<ConfigError> {
  try {
    await load(options);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.code, 'config_invalid');
    assert.match(error.message, new RegExp(`^The configuration has ${error.problems.length} problems? `));
    return error;
  }
  assert.fail('the configuration was accepted');
}

/** The one problem of a refused configuration, checked to start with `path: `. */
export async function oneProblem(options: Load, path: string): Promise<string> {
  const error = await refused(options);
  assert.equal(error.problems.length, 1, `expected one problem, got:\n${error.problems.join('\n')}`);
  const [problem] = error.problems as [string];
  assert.ok(problem.startsWith(`${path}: `), `expected the problem to start with "${path}: ", got: ${problem}`);
  return problem;
}
