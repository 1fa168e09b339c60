/**
 * The client of Spaaza's Tasks API (reference §4) and of the storage its pre-signed URLs point at,
 * on undici with keep-alive and timeouts. Retries follow `retry-policy.ts`; `POST /tasks` is
 * retried blindly only on 429/503 and otherwise looks for its marker before creating again;
 * execute is sent once, best effort. The token is sent only to the Services API, never to storage,
 * and no secret (token, Authorization header, URL query) reaches a log line or an error.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { Agent, Pool, type Dispatcher } from 'undici';
import type { Logger } from '../log.js';
import { networkError, serverMessage, statusError } from './api-errors.js';
import { messageOf } from '../errors.js';
import { ExtractError, type ExtractErrorContext } from './errors.js';
import { redactError, redactText, redactUrl } from './redact.js';
import { DEFAULT_BACKOFF, errorCode, parseRetryAfter, retryDelay, ruleForError, ruleForStatus, type BackoffOptions, type RetryRule } from './retry-policy.js';
import { readBoundedText } from './bounded-body.js';
import { DEFAULT_MAX_CLOCK_SKEW_MS, ServerClock, type SpaazaClockReading } from './server-clock.js';
import { downloadFile, header, type DownloadResponse } from './storage-download.js';

export type { DownloadResponse } from './storage-download.js';
import { downloadUrlSchema, parseResponse, taskListSchema, taskSchema, taskStateSchema, type Task, type TaskState, type TaskStateCode } from './task-schemas.js';

export interface TasksClientOptions {
  /** The Services API, e.g. `https://services.example.com` (a path prefix is kept). */
  readonly baseUrl: string;
  readonly tokenId: string;
  readonly tokenSecret: string;
  readonly logger: Logger;
  /** The chain this client works for, named in 403 sentences. */
  readonly chainId?: number;
  /** Whole-call deadline of an API call, and the headers/body timeouts of a download (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** `POST /tasks/{id}/execute` may block until the task ends (default 15 min). */
  readonly executeTimeoutMs?: number;
  /** Retries after the first attempt (default 5). */
  readonly retries?: number;
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /** Cap on a server's `Retry-After` (default 60 s). */
  readonly retryAfterMaxMs?: number;
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly onRetry?: (info: RetryInfo) => void;
  /** Connections to the Services API (default 8). */
  readonly connections?: number;
  /** Spaaza's clock (its `Date` header) may be this far from this host's, either way (default 15 min). */
  readonly maxClockSkewMs?: number;
  /** A larger answer fails the call (default 8 MiB). */
  readonly maxResponseBytes?: number;
}

export interface RetryInfo {
  readonly endpoint: string;
  readonly status?: number;
  readonly code?: string;
  /** The attempt that failed (1 = the first). */
  readonly attempt: number;
  readonly delayMs: number;
}

/** The body of `POST /tasks` (reference §4.1). */
export interface CreateTaskBody {
  readonly chain: number;
  readonly desc: string;
  readonly target: Readonly<Record<string, unknown>>;
  readonly trigger: Readonly<Record<string, unknown>>;
  readonly debug?: string;
}

export interface CreatedTask {
  readonly task: Task;
  /** The create call failed ambiguously and the task it had made was found by its marker. */
  readonly adopted: boolean;
}

export interface ListTasksQuery {
  readonly action?: string;
  readonly status?: TaskStateCode;
  readonly limit: number;
  readonly offset: number;
}

interface CallSpec {
  readonly method: 'GET' | 'POST';
  /** Path and query below the base URL. */
  readonly path: string;
  /** The route, for logs and errors: `GET /tasks/{id}`. */
  readonly endpoint: string;
  readonly body?: string;
  readonly taskId?: number;
  readonly chainId?: number;
  readonly timeoutMs?: number;
  readonly notFound: 'task_not_found' | 'download_unavailable' | 'http_error';
}

interface Reply {
  readonly status: number;
  readonly headers: Dispatcher.ResponseData['headers'];
  readonly text: string;
  /** Spaaza's clock at the answer (its `Date`), for an HTTP-date `Retry-After`. */
  readonly serverMs: number | null;
}

type Failure = { readonly rule: RetryRule } & ({ readonly reply: Reply } | { readonly error: unknown });

/** Newest first, two pages of 100: where a task made by an ambiguous create is looked for. */
const ADOPT_PAGE = 100;
const ADOPT_PAGES = 2;
const USER_AGENT = 'spaaza-sync';
const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

export class TasksClient {
  readonly #authorization: string;
  readonly #secrets: readonly string[];
  private readonly pool: Pool;
  private readonly storage: Agent;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly logger: Logger;
  private readonly clock: ServerClock;
  private readonly maxResponseBytes: number;
  private readonly backoff: BackoffOptions;
  private readonly retries: number;
  private readonly requestTimeoutMs: number;
  private readonly executeTimeoutMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly onRetry: ((info: RetryInfo) => void) | undefined;
  private readonly chainId: number | undefined;

  /** The options are not kept: the secret lives only in a private field, out of `inspect`. */
  constructor(options: TasksClientOptions) {
    let base: URL;
    try {
      base = new URL(options.baseUrl);
    } catch {
      throw new ExtractError('invalid_request', `The Services API base URL ${redactUrl(options.baseUrl)} is not a URL: check SPAAZA_BASE_URL.`);
    }
    if (base.protocol !== 'https:' && base.protocol !== 'http:') {
      throw new ExtractError('invalid_request', `The Services API base URL ${redactUrl(base)} must start with https:// (or http://): check SPAAZA_BASE_URL.`);
    }
    this.origin = base.origin;
    this.basePath = base.pathname.replace(/\/+$/, '');
    this.#authorization = `Bearer ${options.tokenId}:${options.tokenSecret}`;
    this.#secrets = [this.#authorization, options.tokenSecret].filter((s) => s.length >= 4);
    this.logger = options.logger;
    this.clock = new ServerClock(options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS);
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.onRetry = options.onRetry;
    this.chainId = options.chainId;
    this.retries = options.retries ?? 5;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.executeTimeoutMs = options.executeTimeoutMs ?? 15 * 60_000;
    this.sleep = options.sleep ?? ((ms) => delay(ms));
    this.backoff = {
      baseMs: options.retryBaseMs ?? DEFAULT_BACKOFF.baseMs,
      maxMs: options.retryMaxMs ?? DEFAULT_BACKOFF.maxMs,
      retryAfterMaxMs: options.retryAfterMaxMs ?? DEFAULT_BACKOFF.retryAfterMaxMs,
      random: options.random ?? DEFAULT_BACKOFF.random,
    };
    const timeouts = {
      keepAliveTimeout: 4_000,
      connectTimeout: Math.min(this.requestTimeoutMs, 10_000),
      headersTimeout: this.requestTimeoutMs,
      bodyTimeout: this.requestTimeoutMs,
    };
    this.pool = new Pool(this.origin, { ...timeouts, connections: options.connections ?? 8 });
    this.storage = new Agent(timeouts);
  }

  /**
   * `POST /tasks`. `marker` is a unique substring of `body.desc`: after a timeout, a reset or a 5xx
   * other than 503 the task may exist, so it is looked for (newest 200 export tasks) and adopted;
   * only when it is not there is the task created again, within the retry budget.
   */
  async createTask(body: CreateTaskBody | Readonly<Record<string, unknown>>, marker: string): Promise<CreatedTask> {
    const { chain, desc } = body;
    if (!Number.isInteger(chain) || typeof desc !== 'string') {
      throw new ExtractError('invalid_request', 'createTask needs a body with an integer chain and a string desc (reference §4.1).');
    }
    if (marker.trim() === '' || !desc.includes(marker)) {
      throw new ExtractError('invalid_request', 'createTask needs a non-empty marker that is part of the task desc, so that a task created by a failed call can be found.');
    }
    const chainId = chain as number;
    const spec: CallSpec = { method: 'POST', path: '/tasks', endpoint: 'POST /tasks', body: JSON.stringify(body), chainId, notFound: 'http_error' };
    for (let attempt = 1; ; attempt++) {
      const failure = await this.attempt(spec);
      if ('reply' in failure && isOk(failure.reply.status)) {
        return { task: parseResponse(taskSchema, failure.reply.text, spec.endpoint, { chainId }), adopted: false };
      }
      const budgetLeft = attempt <= this.retries;
      if (!failure.rule.retry || (failure.rule.createMayRepeat && !budgetLeft)) throw this.failureError(spec, failure, attempt);
      const delayMs = this.delayFor(failure, attempt);
      if (failure.rule.createMayRepeat) {
        await this.pause(spec, failure, attempt, delayMs);
        continue;
      }
      // The task may have been created: give the server a moment, then look before creating again.
      if (budgetLeft) await this.pause(spec, failure, attempt, delayMs);
      else await this.sleep(delayMs);
      const found = await this.findByMarker(marker, spec, failure, attempt);
      if (found) {
        this.logger.warn('POST /tasks failed but had created the task; adopted it', { taskId: found.id, chainId, marker, attempt });
        return { task: found, adopted: true };
      }
      if (!budgetLeft) throw this.failureError(spec, failure, attempt);
      this.logger.info('POST /tasks failed and created no task; creating it again', { chainId, marker, attempt });
    }
  }

  /** `GET /tasks/{id}`: the only truth about a task. 404 → `task_not_found`. */
  async getTask(id: number, options: { logLimit?: number } = {}): Promise<Task> {
    const query = options.logLimit !== undefined ? `?log_limit=${options.logLimit}` : '';
    const spec: CallSpec = { method: 'GET', path: `/tasks/${id}${query}`, endpoint: 'GET /tasks/{id}', taskId: id, notFound: 'task_not_found' };
    const reply = await this.call(spec);
    return parseResponse(taskSchema, reply.text, spec.endpoint, { taskId: id });
  }

  /** `GET /tasks`: the chain's tasks, newest first. */
  async listTasks(query: ListTasksQuery): Promise<Task[]> {
    const params = new URLSearchParams();
    if (query.action !== undefined) params.set('action', query.action);
    if (query.status !== undefined) params.set('status', query.status);
    params.set('limit', String(query.limit));
    params.set('offset', String(query.offset));
    const spec: CallSpec = { method: 'GET', path: `/tasks?${params.toString()}`, endpoint: 'GET /tasks', notFound: 'http_error' };
    const reply = await this.call(spec);
    return parseResponse(taskListSchema, reply.text, spec.endpoint);
  }

  /**
   * `POST /tasks/{id}/execute`, best effort: sent once with the long execute timeout, never
   * retried. 401/403 throw; any other failure is logged at debug and gives null.
   */
  async executeTask(id: number): Promise<TaskState | null> {
    const spec: CallSpec = { method: 'POST', path: `/tasks/${id}/execute`, endpoint: 'POST /tasks/{id}/execute', taskId: id, timeoutMs: this.executeTimeoutMs, notFound: 'http_error' };
    let reply: Reply;
    try {
      reply = await this.send(spec);
    } catch (error) {
      this.logger.debug('execute did not answer; ignored, the task is polled', { taskId: id, code: errorCode(error), error: this.scrub(messageOf(error)) });
      return null;
    }
    if (reply.status === 401 || reply.status === 403) throw this.failureError(spec, { reply, rule: ruleForStatus(reply.status) }, 1);
    if (!isOk(reply.status)) {
      this.logger.debug('execute answered an error; ignored, the task is polled', { taskId: id, status: reply.status, message: this.scrub(serverMessage(reply.text).message) });
      return null;
    }
    try {
      return parseResponse(taskStateSchema, reply.text, spec.endpoint, { taskId: id });
    } catch (error) {
      this.logger.debug('execute answered an unexpected body; ignored, the task is polled', { taskId: id, error: messageOf(error) });
      return null;
    }
  }

  /** `GET /tasks/{id}/download_url`: a fresh pre-signed URL (a secret). 404/409/410 → `download_unavailable`. */
  async getDownloadUrl(id: number): Promise<string> {
    const spec: CallSpec = { method: 'GET', path: `/tasks/${id}/download_url`, endpoint: 'GET /tasks/{id}/download_url', taskId: id, notFound: 'download_unavailable' };
    const reply = await this.call(spec);
    const { url } = parseResponse(downloadUrlSchema, reply.text, spec.endpoint, { taskId: id });
    this.logger.debug('got a download URL', { taskId: id, url: redactUrl(url) });
    return url;
  }

  /**
   * GETs a pre-signed URL exactly as given, with no Authorization header, once (the caller retries
   * the window with a fresh URL). 200 → the body stream; 403 → `download_url_expired`;
   * anything else → `download_failed` (retryable for 429/5xx and network failures).
   */
  download(url: string, options: { signal?: AbortSignal } = {}): Promise<DownloadResponse> {
    return downloadFile(this.storage, url, { ...options, userAgent: USER_AGENT, maxErrorBodyBytes: this.maxResponseBytes, scrub: (t) => this.scrub(t) });
  }

  /**
   * Spaaza's now: the `Date` of the latest Services API answer plus the local time since; null
   * before one. Throws ImplausibleTimeError when that answer's clock is beyond the bound.
   */
  serverNow(): Date | null {
    return this.clock.now();
  }

  /** Spaaza's now and its tolerance (this host's clock, with the bound, before any readable Date header). */
  spaazaClock(): SpaazaClockReading {
    return this.clock.reading();
  }

  /** Spaaza's clock minus the local clock in ms (0 before the first answer). */
  skewMs(): number {
    return this.clock.skewMs();
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.close(), this.storage.close()]);
  }

  /** Sends `spec` until it succeeds, fails for good, or the retry budget runs out. */
  private async call(spec: CallSpec): Promise<Reply> {
    for (let attempt = 1; ; attempt++) {
      const failure = await this.attempt(spec);
      if ('reply' in failure && isOk(failure.reply.status)) return failure.reply;
      if (!failure.rule.retry || attempt > this.retries) throw this.failureError(spec, failure, attempt);
      await this.pause(spec, failure, attempt, this.delayFor(failure, attempt));
    }
  }

  /** One send; a non-2xx answer or a thrown error comes back as a failure with its rule. */
  private async attempt(spec: CallSpec): Promise<Failure> {
    try {
      const reply = await this.send(spec);
      return { reply, rule: ruleForStatus(reply.status) };
    } catch (error) {
      return { error, rule: ruleForError(error) };
    }
  }

  private async send(spec: CallSpec): Promise<Reply> {
    const timeoutMs = spec.timeoutMs ?? this.requestTimeoutMs;
    const deadline = AbortSignal.timeout(timeoutMs);
    const headers: Record<string, string> = { authorization: this.#authorization, accept: 'application/json', 'user-agent': USER_AGENT };
    if (spec.body !== undefined) headers['content-type'] = 'application/json';
    const started = performance.now();
    try {
      const res = await this.pool.request({
        path: this.basePath + spec.path,
        method: spec.method,
        headers,
        body: spec.body ?? null,
        signal: deadline,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      this.clock.observe(res.headers.date);
      const text = await readBoundedText(res.body, this.maxResponseBytes, spec.endpoint, res.headers['content-length']);
      this.logger.debug('Spaaza answered', { endpoint: spec.endpoint, status: res.statusCode, ms: Math.round(performance.now() - started), taskId: spec.taskId });
      const date = header(res.headers.date);
      const serverMs = date === null ? null : Date.parse(date);
      return { status: res.statusCode, headers: res.headers, text, serverMs: serverMs === null || Number.isNaN(serverMs) ? null : serverMs };
    } catch (error) {
      const clean = redactError(error, (t) => this.scrub(t));
      if (deadline.aborted) throw Object.assign(new Error(`no complete answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT', cause: clean });
      throw clean;
    }
  }

  private delayFor(failure: Failure, attempt: number): number {
    if (!('reply' in failure)) return retryDelay(failure.rule, attempt, null, this.backoff);
    const { reply } = failure;
    const retryAfter = parseRetryAfter(reply.headers['retry-after'], reply.serverMs ?? Date.now());
    return retryDelay(failure.rule, attempt, retryAfter, this.backoff);
  }

  private async pause(spec: CallSpec, failure: Failure, attempt: number, delayMs: number): Promise<void> {
    const info: RetryInfo =
      'reply' in failure
        ? { endpoint: spec.endpoint, status: failure.reply.status, attempt, delayMs }
        : { endpoint: spec.endpoint, code: errorCode(failure.error) ?? 'error', attempt, delayMs };
    this.logger.warn('Spaaza call failed; retrying', { ...info, taskId: spec.taskId });
    this.onRetry?.(info);
    await this.sleep(delayMs);
  }

  /** The export task whose `desc` holds `marker`, among the newest 200 export tasks, or null. */
  async findTaskByMarker(marker: string): Promise<Task | null> {
    for (let page = 0; page < ADOPT_PAGES; page++) {
      const tasks = await this.listTasks({ action: 'export', limit: ADOPT_PAGE, offset: page * ADOPT_PAGE });
      const found = tasks.find((t) => t.desc.includes(marker));
      if (found) return found;
      if (tasks.length < ADOPT_PAGE) return null;
    }
    return null;
  }

  /** After an ambiguous POST /tasks: the task it may have created, or an error saying so. */
  private async findByMarker(marker: string, spec: CallSpec, failure: Failure, attempt: number): Promise<Task | null> {
    try {
      return await this.findTaskByMarker(marker);
    } catch (error) {
      if (error instanceof ExtractError && (error.code === 'unauthorized' || error.code === 'forbidden')) throw error;
      const original = this.failureError(spec, failure, attempt);
      throw new ExtractError(
        'create_outcome_unknown',
        `POST /tasks failed (${original.message}) and the task list could not be read to see whether the task "${marker}" was created; the next run looks for it again before creating one.`,
        { retryable: true, context: { endpoint: spec.endpoint, ...(spec.chainId !== undefined ? { chainId: spec.chainId } : {}), marker }, cause: error },
      );
    }
  }

  private failureError(spec: CallSpec, failure: Failure, attempts: number): ExtractError {
    if ('error' in failure && failure.error instanceof ExtractError) return failure.error; // ours already says what to fix
    const chainId = spec.chainId ?? this.chainId;
    if ('reply' in failure) {
      return statusError(
        { endpoint: spec.endpoint, status: failure.reply.status, body: this.scrub(failure.reply.text), attempts, ...(spec.taskId !== undefined ? { taskId: spec.taskId } : {}), ...(chainId !== undefined ? { chainId } : {}) },
        { notFound: spec.notFound },
      );
    }
    const context: ExtractErrorContext = { ...(spec.taskId !== undefined ? { taskId: spec.taskId } : {}), ...(chainId !== undefined ? { chainId } : {}) };
    return networkError({
      endpoint: spec.endpoint,
      kind: failure.rule.kind,
      code: errorCode(failure.error),
      detail: messageOf(failure.error),
      where: `the Services API (${redactUrl(this.origin + this.basePath)})`,
      attempts,
      context,
      cause: failure.error,
    });
  }

  /** `text` without URL queries and without the token. */
  private scrub(text: string): string {
    let clean = redactText(text);
    for (const secret of this.#secrets) clean = clean.split(secret).join('[redacted]');
    return clean;
  }
}

function isOk(status: number): boolean {
  return status >= 200 && status < 300;
}
