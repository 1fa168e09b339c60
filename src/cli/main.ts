/**
 * The `spaaza-sync` command line. Each command lives in its own module; this file wires them up,
 * and report-failure.ts maps errors to exit codes: 0 success, 1 a run failed, 2 bad config or
 * usage, 3 skipped because another run holds a chain's lock.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerDbCommand } from './db-command.js';
import { registerLoadFileCommand } from './load-file-command.js';
import { registerExportCommand } from './export-command.js';
import { registerMigrateCommand } from './migrate-command.js';
import { registerSimulatorCommand } from './simulator-command.js';
import { registerCheckCommand } from './check-command.js';
import { registerScheduleCommand } from './schedule-command.js';
import { registerResetCommand } from './reset-command.js';
import { registerAbandonCommand } from './abandon-command.js';
import { registerStatusCommand } from './status-command.js';
import { registerSyncCommands } from './sync-commands.js';
import { EXIT, reportFailure } from './report-failure.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** The program, and the exit code set by commands that finish normally but must still exit non-zero (a failed or skipped chain). */
export function buildProgram(): { program: Command; exitCode: () => number } {
  let commandExitCode: number = EXIT.ok;
  const program = new Command('spaaza-sync')
    .description('Keep a PostgreSQL warehouse in sync with the vouchers of Spaaza loyalty chains.')
    .version(version, '-v, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride();
  registerSyncCommands(program, (code) => (commandExitCode = code));
  registerScheduleCommand(program);
  registerStatusCommand(program, (code) => (commandExitCode = code));
  registerCheckCommand(program, (code) => (commandExitCode = code));
  registerResetCommand(program);
  registerAbandonCommand(program);
  registerMigrateCommand(program);
  registerLoadFileCommand(program);
  registerExportCommand(program);
  registerSimulatorCommand(program);
  registerDbCommand(program);
  return { program, exitCode: () => commandExitCode };
}

async function main(argv: string[]): Promise<number> {
  const { program, exitCode } = buildProgram();
  try {
    await program.parseAsync(argv);
    return exitCode();
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage; // --help and --version exit 0
    }
    return reportFailure(error, (text) => process.stderr.write(text));
  }
}

process.exitCode = await main(process.argv);
