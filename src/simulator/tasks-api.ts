/**
 * The five documented routes of the Tasks API (reference §4), with the statuses of §11.9:
 * 401 bad credentials, 403 another chain, 404 unknown task (or another chain's), 400 validation,
 * 405 update/delete, 409 download_url before DONE. Faults are drawn once the route is known.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isoSeconds } from './clock.js';
import { type FaultPoint } from './faults.js';
import { HttpError, badRequest, conflict, notFound } from './http-error.js';
import { intParam, parseJson, readText, sendError, sendJson } from './http.js';
import { sendHugeBody } from './huge-body.js';
import type { SimulatorState } from './simulator.js';
import { parseTaskRequest, requestedChain } from './task-request.js';
import { FIRST_TASK_ID, TASK_CODES, fileName, stateJson, taskJson, type Task, type TaskCode } from './tasks.js';
import { faultedDateHeader, withTaskTimes } from './time-faults.js';

interface Route {
  readonly point: FaultPoint;
  readonly taskId: number | null;
}

/** Answers a request under `/tasks`; returns false when the path is not an API route. */
export async function handleTasksApi(sim: SimulatorState, req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
  const route = matchRoute(req.method ?? 'GET', url.pathname);
  if (route === null) return false;
  if (route instanceof HttpError) {
    sendError(res, route, route.status === 405 ? { Allow: allowFor(url.pathname) } : {});
    return true;
  }

  // The body is read first, so that a delayed answer still does its work ("slow, but done"),
  // as a real server does when a client gives up waiting.
  const bodyText = req.method === 'POST' ? await readText(req) : '';
  const fault = sim.faults.next(route.point);
  if (fault?.kind === 'delay') await sleep(fault.ms);
  if (fault?.kind === 'reset') {
    req.socket.resetAndDestroy();
    return true;
  }
  if (fault?.kind === 'body') {
    res.writeHead(fault.status ?? 200, { 'Content-Type': fault.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(fault.body) });
    res.end(fault.body);
    return true;
  }
  if (fault?.kind === 'status') {
    const error = new HttpError(fault.status, fault.status === 429 ? 'rate_limited' : 'server_error', `injected ${fault.status}`);
    sendError(res, error, retryAfterHeader(fault.status, fault.retryAfterSeconds));
    return true;
  }
  if (fault?.kind === 'huge_body') {
    const chain = (route.taskId === null ? undefined : sim.tasks.get(route.taskId)?.request.chain) ?? sim.dataset.chainIds()[0]!;
    await sendHugeBody(res, fault.bytes, { id: route.taskId ?? FIRST_TASK_ID, chain, now: isoSeconds(sim.clock.nowMs()) });
    return true;
  }
  // Time faults leave the answer as it is, but for what it says about time.
  if (fault?.kind === 'date') res.setHeader('Date', faultedDateHeader(fault, sim.clock.nowMs()));
  const state = (task: Task) => (fault?.kind === 'task_times' ? withTaskTimes(stateJson(task), fault) : stateJson(task));

  const auth = sim.tokens.authenticate(req.headers.authorization);
  if (!auth.ok) throw new HttpError(401, 'unauthorized', auth.reason);
  const chains = auth.chainIds;
  const ownTask = (id: number): Task => {
    const task = sim.tasks.get(id);
    if (!task || !chains.includes(task.request.chain)) throw notFound(`task ${id} not found`);
    return task;
  };

  switch (route.point) {
    case 'create_task': {
      const body = parseJson(bodyText);
      const chain = requestedChain(body);
      if (!chains.includes(chain)) throw new HttpError(403, 'forbidden', `this access token is not scoped to chain ${chain}`);
      // READY now; the next tick starts it once `trigger.once` is due.
      const task = sim.tasks.create(parseTaskRequest(body));
      sendJson(res, 200, taskJson(task, state(task)));
      return true;
    }
    case 'list_tasks': {
      const status = url.searchParams.get('status');
      if (status !== null && !TASK_CODES.includes(status as TaskCode)) throw badRequest('status', `must be one of ${TASK_CODES.join(', ')}`);
      const action = url.searchParams.get('action');
      const campaign = url.searchParams.has('campaign_id') ? intParam(url, 'campaign_id', 0) : null;
      const limit = intParam(url, 'limit', 50, 500);
      const offset = intParam(url, 'offset', 0);
      const tasks = sim.tasks
        .list()
        .filter((t) => chains.includes(t.request.chain))
        .filter((t) => status === null || t.code === status)
        .filter((t) => action === null || t.request.target.action === action)
        .filter((t) => campaign === null || t.request.target.campaign_id === campaign)
        .slice(offset, offset + limit);
      sendJson(res, 200, tasks.map((t) => taskJson(t, state(t))));
      return true;
    }
    case 'get_task': {
      const task = ownTask(route.taskId!);
      sendJson(res, 200, taskJson(task, state(task), intParam(url, 'log_limit', 10), intParam(url, 'offset', 0)));
      return true;
    }
    case 'execute_task': {
      const task = ownTask(route.taskId!);
      if (task.code === 'INPROGRESS') throw conflict(`task ${task.id} is already in progress`);
      const aborted = new AbortController();
      res.once('close', () => aborted.abort(new Error('client went away')));
      const timeout = setTimeout(() => aborted.abort(new Error('execute timeout')), sim.options.executeTimeoutMs);
      try {
        await sim.tasks.execute(task, aborted.signal);
        sendJson(res, 200, state(task));
      } catch {
        if (!res.destroyed) sendError(res, new HttpError(504, 'gateway_timeout', `task ${task.id} did not finish in time; poll GET /tasks/${task.id}`));
      } finally {
        clearTimeout(timeout);
      }
      return true;
    }
    case 'download_url': {
      const task = ownTask(route.taskId!);
      if (task.request.target.action !== 'export') throw conflict(`task ${task.id} is not an export`);
      if (task.code !== 'DONE') throw conflict(`task ${task.id} is ${task.code}; a download URL exists only once it is DONE`);
      const expiry = fault?.kind === 'expire' ? fault.seconds : sim.options.urlTtlSeconds;
      sendJson(res, 200, { url: sim.storage.sign(fileName(task), sim.clock.nowSeconds() + expiry) });
      return true;
    }
    default:
      return false;
  }
}

function matchRoute(method: string, pathname: string): Route | HttpError | null {
  const parts = pathname.replace(/\/+$/, '').split('/').slice(1);
  if (parts[0] !== 'tasks') return null;
  const notAllowed = new HttpError(405, 'method_not_allowed', `${method} is not supported on ${pathname}; tasks cannot be updated or deleted`);
  if (parts.length === 1) {
    if (method === 'GET') return { point: 'list_tasks', taskId: null };
    if (method === 'POST') return { point: 'create_task', taskId: null };
    return notAllowed;
  }
  const id = /^\d+$/.test(parts[1] ?? '') ? Number(parts[1]) : null;
  if (id === null) return notFound(`task ${parts[1]} not found`);
  if (parts.length === 2) return method === 'GET' ? { point: 'get_task', taskId: id } : notAllowed;
  if (parts.length === 3 && parts[2] === 'execute') return method === 'POST' ? { point: 'execute_task', taskId: id } : notAllowed;
  if (parts.length === 3 && parts[2] === 'download_url') return method === 'GET' ? { point: 'download_url', taskId: id } : notAllowed;
  return notFound(`no route ${pathname}`);
}

function allowFor(pathname: string): string {
  if (/^\/tasks\/?$/.test(pathname)) return 'GET, POST';
  if (pathname.endsWith('/execute')) return 'POST';
  return 'GET';
}

/** Rate limiting always says when to come back; a 5xx only when the rule says so. */
export function retryAfterHeader(status: number, seconds: number | undefined): Record<string, string> {
  const value = seconds ?? (status === 429 ? 1 : undefined);
  return value === undefined ? {} : { 'Retry-After': String(value) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
