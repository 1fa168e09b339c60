/**
 * Validation of a `POST /tasks` body (reference §4.1, §5, §11.2). Unknown keys inside `trigger`
 * and `target` are refused so that a client relying on an unsupported option notices at once.
 */
import { badRequest } from './http-error.js';
import { parseIsoSeconds, parseSegment, SegmentValidationError, type Segment } from './segment.js';

export const EXPORT_INDEXES = ['transactions', 'users', 'vouchers', 'wallet-ledger', 'products', 'product-variants'] as const;
export const EXPORT_FORMATS = ['csv', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface TaskRequest {
  readonly chain: number;
  readonly desc: string;
  readonly debug: string | null;
  readonly onceSeconds: number;
  readonly segment: Segment | null;
  readonly format: ExportFormat;
  /** As sent, echoed back in the task object. */
  readonly trigger: Record<string, unknown>;
  readonly target: Record<string, unknown>;
}

/** The `chain` of a body, checked first so that the caller can answer 403 before anything else. */
export function requestedChain(body: unknown): number {
  const chain = isObject(body) ? body.chain : undefined;
  if (!Number.isInteger(chain)) throw badRequest('chain', 'required, an integer chain id');
  return chain as number;
}

export function parseTaskRequest(body: unknown): TaskRequest {
  if (!isObject(body)) throw badRequest('body', 'must be a JSON object');
  const chain = requestedChain(body);
  if (typeof body.desc !== 'string') throw badRequest('desc', 'required, a string');
  if (body.debug !== undefined && body.debug !== null && typeof body.debug !== 'string') throw badRequest('debug', 'must be a string');

  const target = body.target;
  if (!isObject(target)) throw badRequest('target', 'required, an object');
  onlyKeys(target, ['action', 'export_index', 'export_format'], 'target');
  if (target.action !== 'export') throw badRequest('target.action', 'must be "export" (the only action the simulator models)');
  if (!EXPORT_INDEXES.includes(target.export_index as never)) {
    throw badRequest('target.export_index', `must be one of ${EXPORT_INDEXES.join(', ')}`);
  }
  if (target.export_index !== 'vouchers') throw badRequest('target.export_index', 'the simulator only holds the "vouchers" index');
  if (!EXPORT_FORMATS.includes(target.export_format as never)) throw badRequest('target.export_format', 'must be "csv" or "json"');

  const trigger = body.trigger;
  if (!isObject(trigger)) throw badRequest('trigger', 'required, an object');
  onlyKeys(trigger, ['once', 'segment', 'segment_id'], 'trigger');
  if (trigger.segment !== undefined && trigger.segment_id !== undefined) {
    throw badRequest('trigger.segment_id', 'send either segment or segment_id, not both');
  }
  if (trigger.segment_id !== undefined) throw badRequest('trigger.segment_id', 'unknown saved segment (the simulator has none)');
  try {
    const onceSeconds = parseIsoSeconds(trigger.once, 'trigger.once');
    const segment =
      trigger.segment === undefined || trigger.segment === null
        ? null
        : parseSegment(trigger.segment, { index: target.export_index as string, chainId: chain });
    return {
      chain,
      desc: body.desc,
      debug: (body.debug as string | null | undefined) ?? null,
      onceSeconds,
      segment,
      format: target.export_format as ExportFormat,
      trigger,
      target,
    };
  } catch (error) {
    if (error instanceof SegmentValidationError) throw badRequest(error.field, error.message.replace(`${error.field}: `, ''));
    throw error;
  }
}

function onlyKeys(object: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) throw badRequest(`${path}.${key}`, `unknown option; expected only ${allowed.join(', ')}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
