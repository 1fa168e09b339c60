/**
 * Test-only failpoints: named places in the pipeline where a crash test can kill the process or
 * throw (DESIGN §5). Armed only through the validated config, as `<name>:<kill|throw>`.
 */

export const FAILPOINT_NAMES = ['after-create', 'polling', 'mid-download', 'mid-copy', 'before-commit', 'after-commit'] as const;
export const FAILPOINT_ACTIONS = ['kill', 'throw'] as const;

export type FailpointName = (typeof FAILPOINT_NAMES)[number];
export type FailpointAction = (typeof FAILPOINT_ACTIONS)[number];

export interface Failpoint {
  readonly name: FailpointName;
  readonly action: FailpointAction;
}

/** `mid-copy:kill` → { name, action }; undefined when the text is not in that form. */
export function parseFailpoint(text: string): Failpoint | undefined {
  const [name, action, ...rest] = text.trim().split(':');
  if (rest.length > 0 || !isOneOf(FAILPOINT_NAMES, name) || !isOneOf(FAILPOINT_ACTIONS, action)) return undefined;
  return { name, action };
}

function isOneOf<T extends string>(values: readonly T[], value: string | undefined): value is T {
  return (values as readonly (string | undefined)[]).includes(value);
}
