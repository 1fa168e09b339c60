/**
 * Loose permissions on the files the configuration comes from: a secret file, or the config file
 * that says which secret files and which warehouse to use, that other users may read or change.
 * A warning, not a refusal: containers and CI often mount such files 0644, and refusing would
 * stop a working deployment; the message says how to tighten them.
 */
import { stat } from 'node:fs/promises';

export type ConfigFileRole = 'secret' | 'config';

/** A sentence for each file whose group or others may read or write it; [] on Windows. */
export async function loosePermissionWarnings(files: readonly { path: string; role: ConfigFileRole }[]): Promise<string[]> {
  if (process.platform === 'win32') return [];
  const warnings: string[] = [];
  for (const { path, role } of files) {
    let mode: number;
    try {
      mode = (await stat(path)).mode & 0o777;
    } catch {
      continue; // read a moment ago; a problem now is reported where the file is used
    }
    if ((mode & 0o077) === 0) continue;
    const who = mode & 0o007 ? 'every user of this machine' : 'its group';
    const what = role === 'secret' ? 'it holds a secret' : 'it says which warehouse to write and where the secrets are';
    warnings.push(`${path} can be read${mode & 0o022 ? ' or changed' : ''} by ${who} (mode ${mode.toString(8).padStart(4, '0')}), and ${what}: chmod 600 ${path}`);
  }
  return warnings;
}
