/**
 * Named failpoints for crash tests (DESIGN §5): armed only through the validated configuration
 * (`SPAAZA_SYNC_FAILPOINT=<name>:<kill|throw>`), off by default. Test-only.
 */
import { SpaazaSyncError } from '../errors.js';

export type FailpointName = 'after-create' | 'polling' | 'mid-download' | 'mid-copy' | 'before-commit' | 'after-commit';
export interface FailpointSetting {
  readonly name: FailpointName;
  readonly action: 'kill' | 'throw';
}

export type Failpoints = (name: FailpointName) => void;

export function failpoints(setting: FailpointSetting | null): Failpoints {
  if (setting === null) return () => {};
  return (name) => {
    if (name !== setting.name) return;
    if (setting.action === 'kill') process.kill(process.pid, 'SIGKILL');
    throw new SpaazaSyncError('failpoint', `failpoint ${name} fired (test-only; unset SPAAZA_SYNC_FAILPOINT)`, { retryable: true });
  };
}
