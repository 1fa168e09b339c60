/**
 * The bodies the Services API answers with (reference §3, §4), validated with zod. Unknown fields
 * are kept (Spaaza may add some); a body that does not fit is an ExtractError naming the
 * endpoint and the field.
 */
import { z } from 'zod';
import { ExtractError, type ExtractErrorContext } from './errors.js';

export const TASK_STATE_CODES = ['READY', 'INPROGRESS', 'DONE', 'ERROR'] as const;
export type TaskStateCode = (typeof TASK_STATE_CODES)[number];

/** `state` of a task, and the whole body of `POST /tasks/{id}/execute`. */
export const taskStateSchema = z
  .object({
    code: z.enum(TASK_STATE_CODES),
    /** null or absent before the first run (reference §12.6). */
    last_run_date: z.string().nullable().optional(),
    last_modified: z.string(),
    created_date: z.string(),
  })
  .loose();
export type TaskState = z.infer<typeof taskStateSchema>;

export const taskSchema = z
  .object({
    id: z.number().int(),
    chain: z.number().int(),
    desc: z.string(),
    state: taskStateSchema,
    trigger: z.object({}).loose(),
    target: z.object({}).loose(),
    /** Entry shape undocumented: shown as given, never interpreted. */
    logs: z.array(z.unknown()).optional(),
    debug: z.string().nullable().optional(),
    version: z.number().int().optional(),
    result: z.unknown().optional(),
  })
  .loose();
export type Task = z.infer<typeof taskSchema>;

export const taskListSchema = z.array(taskSchema);

export const downloadUrlSchema = z
  .object({
    url: z.string().refine(isHttpUrl, 'must be an absolute http(s) URL'),
  })
  .loose();

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/**
 * `text` parsed as JSON and checked against `schema`; otherwise an `invalid_response` error that
 * names the endpoint and the first field that does not fit (never the value, which may be a URL).
 */
export function parseResponse<T>(schema: z.ZodType<T>, text: string, endpoint: string, context: ExtractErrorContext = {}): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ExtractError('invalid_response', `${endpoint} answered a body that is not JSON; Spaaza's Services API sends JSON: check SPAAZA_BASE_URL.`, {
      context: { endpoint, ...context },
      cause,
    });
  }
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue && issue.path.length > 0 ? formatPath(issue.path) : '(the body)';
  throw new ExtractError(
    'invalid_response',
    `${endpoint} answered a body that does not match the documented shape: field ${field}: ${issue?.message ?? 'invalid'}. The Services API may have changed; report it with this message.`,
    { context: { endpoint, field, ...context } },
  );
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((part, k) => (typeof part === 'number' ? `[${part}]` : `${k > 0 ? '.' : ''}${String(part)}`)).join('');
}
