/**
 * Scriptable faults. A rule names a fault point (an endpoint, the storage download, or the run of
 * an export task), picks calls by number or probability, and says what goes wrong. Calls are
 * counted per point from the moment the rules are set; probabilities draw from the seed.
 */
import { z } from 'zod';
import { Rng } from './random.js';

export const API_POINTS = ['create_task', 'list_tasks', 'get_task', 'execute_task', 'download_url'] as const;
export const FAULT_POINTS = [...API_POINTS, 'storage', 'run_task'] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

/** ±10^11 s (about 3,000 years) keeps a shifted instant a valid Date, yet reaches 2036, 2099… */
const shiftSeconds = z.number().int().min(-1e11).max(1e11);
/** What Node will send as a header value: no control characters but tab. */
const headerText = z.string().regex(/^[\t\x20-\x7e\x80-\xff]*$/, 'must be a valid header value (no line breaks or control characters)');
const MAX_HUGE_BODY_BYTES = 2 ** 40;

const actionSchema = z.discriminatedUnion('kind', [
  /** Answer with this status instead; a 429 carries Retry-After (default 1 s). */
  z.object({ kind: z.literal('status'), status: z.union([z.literal(429), z.literal(500), z.literal(502), z.literal(503)]), retryAfterSeconds: z.number().int().min(0).optional() }),
  /** Wait this long (real time) before answering normally. */
  z.object({ kind: z.literal('delay'), ms: z.number().int().min(0).max(600_000) }),
  /** Reset the connection: at once for API calls, after `afterBytes` of a download. */
  z.object({ kind: z.literal('reset'), afterBytes: z.number().int().min(0).optional() }),
  /** Storage only: send the full Content-Length, then close after `keepBytes` (default half). */
  z.object({ kind: z.literal('truncate'), keepBytes: z.number().int().min(0).optional() }),
  /** API only: answer with this body instead (a malformed answer: HTML, non-JSON, wrong shape…). */
  z.object({ kind: z.literal('body'), status: z.number().int().min(100).max(599).optional(), contentType: z.string().optional(), body: z.string() }),
  /** Storage only: send the file at this many bytes per second (a slow download). */
  z.object({ kind: z.literal('throttle'), bytesPerSecond: z.number().int().min(1) }),
  /** download_url only: the URL handed out expires after this many (virtual) seconds. */
  z.object({ kind: z.literal('expire'), seconds: z.number().int().min(0) }),
  /** run_task only: the task stays INPROGRESS forever. */
  z.object({ kind: z.literal('stuck') }),
  /** run_task only: the task ends in ERROR, with this message in its logs. */
  z.object({ kind: z.literal('error'), message: z.string().min(1).optional() }),
  /**
   * A proxy with a wrong clock: a normal answer whose `Date` header is the clock shifted by
   * `seconds`, or the literal `header` text. Exactly one of the two.
   */
  z.object({ kind: z.literal('date'), seconds: shiftSeconds.optional(), header: headerText.optional() }),
  /**
   * A normal answer whose task(s) carry shifted `state` dates, or `last_run_date` replaced by
   * the literal `lastRunDate`; the stored task is unchanged.
   */
  z.object({
    kind: z.literal('task_times'),
    createdSeconds: shiftSeconds.optional(),
    lastRunSeconds: shiftSeconds.optional(),
    lastModifiedSeconds: shiftSeconds.optional(),
    lastRunDate: z.string().nullable().optional(),
  }),
  /** API only: a 200 JSON answer of exactly `bytes` bytes (a task object padded with a long string), streamed. */
  z.object({ kind: z.literal('huge_body'), bytes: z.number().int().min(0).max(MAX_HUGE_BODY_BYTES) }),
]);
export type FaultAction = z.infer<typeof actionSchema>;

const ALLOWED: Record<FaultAction['kind'], readonly FaultPoint[]> = {
  status: [...API_POINTS, 'storage'],
  delay: [...API_POINTS, 'storage'],
  reset: [...API_POINTS, 'storage'],
  truncate: ['storage'],
  throttle: ['storage'],
  body: [...API_POINTS],
  expire: ['download_url'],
  stuck: ['run_task'],
  error: ['run_task'],
  date: [...API_POINTS, 'storage'],
  task_times: ['create_task', 'list_tasks', 'get_task', 'execute_task'],
  huge_body: [...API_POINTS],
};

export const faultRuleSchema = z
  .object({
    at: z.enum(FAULT_POINTS),
    /** 1-based call numbers at this point; omit for every call. */
    calls: z.array(z.number().int().min(1)).optional(),
    /** Chance that a selected call is hit, drawn from the seed. */
    probability: z.number().min(0).max(1).optional(),
    /** Stop after this many hits. */
    times: z.number().int().min(1).optional(),
    /** Only calls for this chain (tasks and their downloads). */
    chain: z.number().int().optional(),
    action: actionSchema,
  })
  .strict()
  .superRefine((rule, ctx) => {
    if (rule.action.kind === 'reset' && rule.action.afterBytes !== undefined && rule.at !== 'storage') {
      ctx.addIssue({ code: 'custom', path: ['action', 'afterBytes'], message: 'afterBytes applies to storage downloads only; an API call is reset before any answer' });
    }
    const { action } = rule;
    if (action.kind === 'date' && (action.seconds === undefined) === (action.header === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['action', 'seconds'], message: 'a date fault takes exactly one of seconds and header' });
    }
    if (action.kind === 'task_times') {
      const given = [action.createdSeconds, action.lastRunSeconds, action.lastModifiedSeconds, action.lastRunDate].filter((v) => v !== undefined);
      if (given.length === 0) ctx.addIssue({ code: 'custom', path: ['action'], message: 'a task_times fault needs at least one of createdSeconds, lastRunSeconds, lastModifiedSeconds, lastRunDate' });
      if (action.lastRunSeconds !== undefined && action.lastRunDate !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['action', 'lastRunDate'], message: 'lastRunDate replaces last_run_date; it cannot be combined with lastRunSeconds' });
      }
    }
    if (!ALLOWED[rule.action.kind].includes(rule.at)) {
      ctx.addIssue({ code: 'custom', path: ['action', 'kind'], message: `"${rule.action.kind}" faults apply to ${ALLOWED[rule.action.kind].join(', ')}, not ${rule.at}` });
    }
  });
export type FaultRule = z.infer<typeof faultRuleSchema>;
export const faultRulesSchema = z.array(faultRuleSchema);

export class FaultPlan {
  private rules: { rule: FaultRule; hits: number }[] = [];
  private counts = new Map<FaultPoint, number>();
  private rng: Rng;

  constructor(
    private readonly seed: number,
    rules: readonly FaultRule[] = [],
  ) {
    this.rng = new Rng(seed, 0xfa);
    this.set(rules);
  }

  /** Replaces the rules and restarts the call counts and the draws, so a script replays exactly. */
  set(rules: readonly FaultRule[]): void {
    this.rules = faultRulesSchema.parse(rules).map((rule) => ({ rule, hits: 0 }));
    this.counts.clear();
    this.rng = new Rng(this.seed, 0xfa);
  }

  rulesInForce(): FaultRule[] {
    return this.rules.map((r) => r.rule);
  }

  /** Counts a call at `point` and returns the fault it must suffer, if any. */
  next(point: FaultPoint, chain?: number): FaultAction | null {
    const call = (this.counts.get(point) ?? 0) + 1;
    this.counts.set(point, call);
    for (const entry of this.rules) {
      const { rule } = entry;
      if (rule.at !== point) continue;
      if (rule.chain !== undefined && rule.chain !== chain) continue;
      if (rule.calls && !rule.calls.includes(call)) continue;
      if (rule.times !== undefined && entry.hits >= rule.times) continue;
      if (rule.probability !== undefined && this.rng.next() >= rule.probability) continue;
      entry.hits += 1;
      return rule.action;
    }
    return null;
  }

  calls(): Record<FaultPoint, number> {
    return Object.fromEntries(FAULT_POINTS.map((p) => [p, this.counts.get(p) ?? 0])) as Record<FaultPoint, number>;
  }
}
