/**
 * A tiny client for the Tasks API simulator, for integration tests: every call goes over real
 * HTTP (undici), so tests see exactly what a client would see: status, headers and body.
 */
import { parse } from 'csv-parse/sync';
import { request, type Dispatcher } from 'undici';
import type { Simulator } from '../../src/simulator/simulator.js';

export type TaskCode = 'READY' | 'INPROGRESS' | 'DONE' | 'ERROR';

export interface TaskState {
  code: TaskCode;
  last_run_date: string | null;
  last_modified: string;
  created_date: string;
}

export interface TaskLog {
  date: string;
  level: 'info' | 'error';
  message: string;
}

export interface TaskJson {
  id: number;
  chain: number;
  desc: string;
  state: TaskState;
  trigger: Record<string, unknown>;
  target: Record<string, unknown>;
  logs: TaskLog[];
  debug: string | null;
  version: number;
  result: { file: string; rows: number; bytes: number } | null;
}

export interface ApiError {
  error: { code: string; message: string; field?: string };
}

export interface Reply<T> {
  status: number;
  headers: Dispatcher.ResponseData['headers'];
  text: string;
  /** The parsed JSON body (undefined when the response is not JSON). */
  body: T;
}

export interface CallOptions {
  /** The full Authorization header; default the first chain's token; null sends none. */
  auth?: string | null;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is (for malformed bodies). */
  raw?: string;
  headers?: Record<string, string>;
}

export async function api<T = unknown>(sim: Simulator, method: Dispatcher.HttpMethod, path: string, options: CallOptions = {}): Promise<Reply<T>> {
  const auth = options.auth === undefined ? sim.bearer(sim.chainIds[0]) : options.auth;
  const headers: Record<string, string> = { ...options.headers };
  if (auth !== null) headers.authorization = auth;
  let payload = options.raw;
  if (options.body !== undefined) {
    payload = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const res = await request(`${sim.url}${path}`, { method, headers, body: payload });
  const text = await res.body.text();
  const isJson = /json/.test(String(res.headers['content-type'] ?? ''));
  return { status: res.statusCode, headers: res.headers, text, body: (isJson && text ? JSON.parse(text) : undefined) as T };
}

/** A call to `/_control`, with the admin token unless `auth` says otherwise. */
export function control<T = unknown>(sim: Simulator, method: Dispatcher.HttpMethod, path: string, body?: unknown, auth?: string | null): Promise<Reply<T>> {
  return api<T>(sim, method, `/_control${path}`, { auth: auth === undefined ? `Bearer ${sim.adminToken}` : auth, body });
}

/** `GET /_control/tasks`: every task the simulator holds, of every chain, oldest first. */
export async function allTasks(sim: Simulator): Promise<TaskJson[]> {
  const reply = await control<TaskJson[]>(sim, 'GET', '/tasks');
  if (reply.status !== 200) throw new Error(`GET /_control/tasks answered ${reply.status}: ${reply.text}`);
  return reply.body;
}

export type Json = Record<string, unknown>;

/** A segment of the documented shape (`entity: people`, `index: vouchers`). */
export function segment(chain: number, rules: Json[], join: 'all' | 'any' = 'all'): Json {
  return { entity: 'people', index: 'vouchers', join, chain_id: chain, rules };
}

export interface ExportSpec {
  chain?: number;
  desc?: string;
  /** `trigger.once`; default the simulator's now. */
  once?: Date;
  segment?: Json | null;
  format?: 'csv' | 'json';
  /** Default: the token of `chain`. */
  auth?: string;
}

export function exportBody(sim: Simulator, spec: ExportSpec = {}): Json {
  const chain = spec.chain ?? sim.chainIds[0]!;
  return {
    chain,
    desc: spec.desc ?? 'Vouchers export',
    target: { action: 'export', export_index: 'vouchers', export_format: spec.format ?? 'csv' },
    trigger: { once: isoZ(spec.once ?? sim.now()), ...(spec.segment ? { segment: spec.segment } : {}) },
  };
}

/** `POST /tasks`; fails unless the simulator answers 200. */
export async function createExport(sim: Simulator, spec: ExportSpec = {}): Promise<TaskJson> {
  const chain = spec.chain ?? sim.chainIds[0]!;
  const reply = await api<TaskJson>(sim, 'POST', '/tasks', { auth: spec.auth ?? sim.bearer(chain), body: exportBody(sim, spec) });
  if (reply.status !== 200) throw new Error(`POST /tasks answered ${reply.status}: ${reply.text}`);
  return reply.body;
}

export async function getTask(sim: Simulator, id: number, auth?: string): Promise<TaskJson> {
  const reply = await api<TaskJson>(sim, 'GET', `/tasks/${id}?log_limit=100`, { auth: auth ?? sim.bearer() });
  if (reply.status !== 200) throw new Error(`GET /tasks/${id} answered ${reply.status}: ${reply.text}`);
  return reply.body;
}

/** Polls `GET /tasks/{id}` (real time) until `done(task)` holds. */
export async function waitFor(sim: Simulator, id: number, done: (task: TaskJson) => boolean, timeoutMs = 5000): Promise<TaskJson> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = await getTask(sim, id);
    if (done(task)) return task;
    if (Date.now() > deadline) throw new Error(`task ${id} did not get there in ${timeoutMs} ms; it is ${task.state.code}`);
    await sleep(10);
  }
}

/** Polls until the task is DONE or ERROR (the clock must be running, or the duration 0). */
export function waitDone(sim: Simulator, id: number, timeoutMs = 5000): Promise<TaskJson> {
  return waitFor(sim, id, (t) => t.state.code === 'DONE' || t.state.code === 'ERROR', timeoutMs);
}

export async function downloadUrl(sim: Simulator, id: number, auth?: string): Promise<string> {
  const reply = await api<{ url: string }>(sim, 'GET', `/tasks/${id}/download_url`, { auth: auth ?? sim.bearer() });
  if (reply.status !== 200) throw new Error(`download_url of ${id} answered ${reply.status}: ${reply.text}`);
  return reply.body.url;
}

export interface Download {
  status: number;
  headers: Dispatcher.ResponseData['headers'];
  bytes: Buffer;
  text: string;
}

/** GETs a pre-signed URL exactly as given (no Authorization unless `headers` adds one). */
export async function download(url: string, headers: Record<string, string> = {}): Promise<Download> {
  const res = await request(url, { headers });
  const bytes = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, bytes, text: bytes.toString('utf8') };
}

export interface ExportFile {
  task: TaskJson;
  url: string;
  bytes: Buffer;
  text: string;
}

export interface ExportRun extends ExportFile {
  /** The CSV rows as objects keyed by the header (empty for JSON). */
  records: Record<string, string>[];
}

/** `runExportFile`, then the rows parsed (strictly: every row as long as the header). */
export async function runExport(sim: Simulator, spec: ExportSpec = {}): Promise<ExportRun> {
  const file = await runExportFile(sim, spec);
  return { ...file, records: spec.format === 'json' ? [] : parseCsv(file.text) };
}

/**
 * Creates an export scheduled a day ahead, runs it with `POST /tasks/{id}/execute` (synchronous)
 * and downloads it. Needs a simulator whose task duration is 0 or whose clock runs.
 */
export async function runExportFile(sim: Simulator, spec: ExportSpec = {}): Promise<ExportFile> {
  const chain = spec.chain ?? sim.chainIds[0]!;
  const auth = spec.auth ?? sim.bearer(chain);
  const created = await createExport(sim, { ...spec, once: spec.once ?? new Date(sim.now().getTime() + 86_400_000) });
  const executed = await api<TaskState>(sim, 'POST', `/tasks/${created.id}/execute`, { auth });
  if (executed.status !== 200 || executed.body.code !== 'DONE') throw new Error(`execute of ${created.id} answered ${executed.status}: ${executed.text}`);
  const task = await getTask(sim, created.id, auth);
  const url = await downloadUrl(sim, created.id, auth);
  const file = await download(url);
  if (file.status !== 200) throw new Error(`download of ${created.id} answered ${file.status}: ${file.text}`);
  return { task, url, bytes: file.bytes, text: file.text };
}

/** CSV text → one object per row, keyed by the header (BOM stripped). */
export function parseCsv(text: string): Record<string, string>[] {
  return parse(text, { columns: true, bom: true }) as Record<string, string>[];
}

/** CSV text → rows of cells, the header included; rows may differ in length. */
export function parseCsvRows(text: string): string[][] {
  return parse(text, { bom: true, relax_column_count: true }) as string[][];
}

export const idsOf = (records: readonly Record<string, string | undefined>[]): number[] => records.map((r) => Number(r.id));

/** `YYYY-MM-DDTHH:MM:SSZ` of a Date or epoch seconds. */
export function isoZ(at: Date | number): string {
  const ms = typeof at === 'number' ? at * 1000 : at.getTime();
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
