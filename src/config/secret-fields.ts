/**
 * Values read from outside the config file: token secrets and the database URL, from a file
 * (the only reads besides the config file itself) or an environment variable. Messages name
 * the file or the variable, never the value.
 */
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { describeFsError, looksLikePath } from './config-file.js';
import { expected, fail, isPostgresUrl } from './fields.js';

export interface SecretSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads a whole text file (tests may pass their own). */
  readonly readTextFile: (path: string) => Promise<string>;
  /** Relative secret file paths are read from here: the config file's directory. */
  readonly baseDir: string;
  /** Told the absolute path of each secret file read, so its permissions can be checked. */
  readonly onSecretFile?: (path: string) => void;
}

/** What is wrong with a token secret, or undefined; `where` names its source, not its value. */
export function secretProblem(secret: string, where: string): string | undefined {
  if (secret === '') return `${where} is empty; it must hold the token secret`;
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(secret)) return `${where} holds whitespace or control characters inside the secret; it must hold the secret alone`;
  return undefined;
}

/**
 * How a message names a secret file: by its path, unless the value is not plainly a path, when
 * it may be a secret pasted into the wrong key; then only its folder.
 */
function fileName(sources: SecretSources, path: string): string {
  const full = resolve(sources.baseDir, path);
  // A relative path of plain names with a folder or an extension (secrets/token, token.secret).
  const plainRelative = /^[\w.-]+([/\\][\w.-]+)*$/.test(path) && (/[/\\]/.test(path) || /\.[a-z]{2,6}$/i.test(path));
  return looksLikePath(path) || plainRelative ? full : `the file named here (in ${dirname(full)})`;
}

/** A secret file's content without its trailing newline. */
async function readSecretFile(sources: SecretSources, path: string, ctx: z.RefinementCtx): Promise<string | undefined> {
  try {
    const text = await sources.readTextFile(resolve(sources.baseDir, path));
    sources.onSecretFile?.(resolve(sources.baseDir, path));
    return text.replace(/(\r?\n)+$/, '');
  } catch (error) {
    const reason = describeFsError((error as NodeJS.ErrnoException).code);
    ctx.addIssue({ code: 'custom', message: `cannot read ${fileName(sources, path)} (${reason}); give the path of a file holding the secret, and check its permissions` });
    return undefined;
  }
}

const filePath = (what: string) => z.string({ error: expected(`the path of a file holding ${what}`) }).min(1, { error: `must not be empty; give the path of a file holding ${what}` });

/** `tokenSecretFile`: the path of a file whose content is the token secret. */
export function tokenSecretFile(sources: SecretSources) {
  return filePath('the token secret').transform(async (path, ctx) => {
    const secret = await readSecretFile(sources, path, ctx);
    if (secret === undefined) return z.NEVER;
    const problem = secretProblem(secret, `the file ${fileName(sources, path)}`);
    return problem ? fail(ctx, problem) : secret;
  });
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `tokenSecretEnv`: the name of an environment variable holding the token secret. */
export function tokenSecretEnv(sources: SecretSources) {
  return z
    .string({ error: expected('the name of an environment variable, e.g. "SPAAZA_TOKEN_SECRET_1765"') })
    .regex(ENV_NAME, { error: 'is not an environment variable name; use letters, digits and underscores, e.g. SPAAZA_TOKEN_SECRET_1765' })
    .transform((name, ctx) => {
      // The name is not repeated: it may be the secret itself, written in the wrong key.
      const secret = sources.env[name];
      if (secret === undefined || secret === '') return fail(ctx, 'the environment variable named here is not set; set it to the token secret, or correct the name');
      const problem = secretProblem(secret, 'the environment variable named here');
      return problem ? fail(ctx, problem) : secret;
    });
}

/** The shared token secret from SPAAZA_TOKEN_SECRET (the only way `spaaza.tokenSecret` is set). */
export const sharedTokenSecret = z.string().transform((secret, ctx) => {
  const problem = secretProblem(secret, 'the variable');
  return problem ? fail(ctx, problem) : secret;
});

/** `databaseUrlFile`: the path of a file whose content is the PostgreSQL URL (password allowed). */
export function databaseUrlFile(sources: SecretSources) {
  return filePath('the database URL').transform(async (path, ctx) => {
    const url = (await readSecretFile(sources, path, ctx))?.trim();
    if (url === undefined) return z.NEVER;
    if (!isPostgresUrl(url)) return fail(ctx, `${fileName(sources, path)} does not hold a PostgreSQL connection URL (postgres://user:password@host:5432/database)`);
    return url;
  });
}
