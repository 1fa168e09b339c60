/**
 * How a command's failure reaches the operator: a line that names the error, one that says what
 * to do, and the exit code, both from the error table by code (1 a run failed, 2 bad config or
 * usage, 3 a chain was locked). A stack trace
 * is printed only for what can only be a bug: an operational failure (a missing file, a refused
 * connection, a lost server) is a sentence, never a trace.
 */
import { ConfigError, SpaazaSyncError } from '../errors.js';
import { errorEntry, EXIT, exitCodeOf } from '../error-table.js';
import { ruleForError, sqlstateOf } from '../failure-table.js';

export { EXIT };

export function reportFailure(error: unknown, write: (text: string) => void): number {
  if (error instanceof ConfigError) {
    // The problems listed are what to do.
    write(`${error.message}\n${error.problems.map((p) => `  - ${p}`).join('\n')}\n`);
    return exitCodeOf(error);
  }
  if (error instanceof SpaazaSyncError) {
    write(`error [${error.code}]: ${error.message}\n${whatToDo(error.code)}`);
    return exitCodeOf(error);
  }
  const operational = operationalCode(error);
  if (operational) {
    write(`error [${operational}]: ${(error as Error).message}. It is not a bug of spaaza-sync: check the warehouse, the network and the paths given, then run the command again.\n`);
    return EXIT.runFailed;
  }
  write(`unexpected error (a bug of spaaza-sync; please report it with what follows): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return EXIT.runFailed;
}

/** The table's sentence for a code, as the line printed under the error. */
export function whatToDo(code: string): string {
  return `  what to do: ${errorEntry(code).todo}\n`;
}

/** The code of a failure of the world outside (a system call, the network, PostgreSQL), if it is one. */
function operationalCode(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, syscall } = error as { code?: unknown; syscall?: unknown };
  if (typeof syscall === 'string' && typeof code === 'string') return code; // fs and net errors
  const sqlstate = sqlstateOf(error);
  if (sqlstate) return `sqlstate_${sqlstate}`;
  const rule = ruleForError(error);
  if (rule.kind !== 'other') return typeof code === 'string' ? code : rule.kind;
  return undefined;
}
