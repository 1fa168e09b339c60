/** The question a command asks before it changes what no rule would: yes only from a terminal. */
import { createInterface } from 'node:readline/promises';
import { ConfigError } from '../errors.js';

export async function confirmed(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(`${question} [y/N] `)).trim());
  } finally {
    prompt.close();
  }
}

/** Asks unless `yes`; a no (or no terminal to ask on) is a usage error that changed nothing. */
export async function requireConfirmation(question: string, yes: boolean, what: string): Promise<void> {
  if (yes || (await confirmed(question))) return;
  throw new ConfigError('Nothing was changed.', [process.stdin.isTTY ? `the ${what} was not confirmed` : `standard input is not a terminal: add --yes to ${what} without a prompt`]);
}
