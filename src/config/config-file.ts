/**
 * Finding and reading the JSON config file: `--config PATH`, else `SPAAZA_CONFIG`, else
 * `./config/spaaza-sync.json` when it exists, else none (environment only).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

export const DEFAULT_CONFIG_PATH = 'config/spaaza-sync.json';

export interface ConfigFileChoice {
  /** Absolute path of the file to read. */
  readonly path: string;
  /** Where the path came from; an explicit path must exist, the default one may not. */
  readonly from: '--config' | 'SPAAZA_CONFIG' | 'default';
  /** The path as given, and the folder it is read from, for messages. */
  readonly given?: string;
  readonly cwd?: string;
}

/**
 * Whether a value someone gave as a file path plainly is one (absolute, `./`, `../`, `~/`, or a
 * `.json` name), so a message may repeat it. Anything else may be a secret put in the wrong place.
 */
export function looksLikePath(given: string): boolean {
  return /^(\/|\.{1,2}[/\\]|~\/|[A-Za-z]:\\)/.test(given) || /\.json$/i.test(given);
}

/** How a message names the config file: by its path, when what was given plainly is one. */
export function configFileName(choice: ConfigFileChoice): string {
  return choice.given === undefined || looksLikePath(choice.given) ? choice.path : `the file named by ${choice.from} (relative to ${choice.cwd ?? '.'})`;
}

export function chooseConfigFile(options: { configPath?: string | undefined; env: Readonly<Record<string, string | undefined>>; cwd: string }): ConfigFileChoice {
  if (options.configPath !== undefined) return { path: resolve(options.cwd, options.configPath), from: '--config', given: options.configPath, cwd: options.cwd };
  const fromEnv = options.env.SPAAZA_CONFIG?.trim();
  if (fromEnv) return { path: resolve(options.cwd, fromEnv), from: 'SPAAZA_CONFIG', given: fromEnv, cwd: options.cwd };
  return { path: resolve(options.cwd, DEFAULT_CONFIG_PATH), from: 'default' };
}

export type ConfigFileResult =
  | { readonly kind: 'absent' }
  | { readonly kind: 'read'; readonly path: string; readonly content: unknown }
  | { readonly kind: 'problem'; readonly path: string; readonly problem: string };

/** Reads and parses the chosen file. Never throws: a problem is returned as a sentence. */
export async function readConfigFile(choice: ConfigFileChoice): Promise<ConfigFileResult> {
  let text: string;
  try {
    text = await readFile(choice.path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && choice.from === 'default') return { kind: 'absent' };
    const name = configFileName(choice);
    const source = choice.from === 'default' || name !== choice.path ? '' : ` (from ${choice.from})`;
    return { kind: 'problem', path: choice.path, problem: `${name}${source}: cannot read the config file (${describeFsError(code)}); fix the path or create the file` };
  }
  const body = text.replace(/^\uFEFF/, '');
  try {
    return { kind: 'read', path: choice.path, content: JSON.parse(body) };
  } catch (error) {
    return { kind: 'problem', path: choice.path, problem: `${choice.path}: not valid JSON${jsonErrorLocation(body, error)}; look for a missing or trailing comma, an unquoted key or a comment (JSON has none: write "$comment" keys instead)` };
  }
}

export function describeFsError(code: string | undefined): string {
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    default:
      return code ?? 'unknown error';
  }
}

// V8's message may quote the text around the error, which could be a secret: report only where.
function jsonErrorLocation(text: string, error: unknown): string {
  const position = /at position (\d+)/.exec(error instanceof Error ? error.message : '');
  if (!position) return text.trim() === '' ? ' (the file is empty)' : '';
  const before = text.slice(0, Number(position[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return ` (line ${line}, column ${column})`;
}
