/**
 * Export tasks and their lifecycle on the simulator's clock:
 * READY → INPROGRESS (at `trigger.once`, or at once when executed; the data snapshot is taken
 * here) → DONE once the file is rendered and `taskDurationMs` has passed, or ERROR.
 * `tick()` moves tasks along; the server calls it on a timer, before every request and before
 * every data change, so a snapshot never sees a change made after the task started.
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { CsvDialect } from './csv-dialect.js';
import type { RelativeReading } from './segment.js';
import type { Dataset } from './dataset.js';
import { writeExportFile } from './export-file.js';
import type { FaultPlan } from './faults.js';
import { isoSeconds, type VirtualClock } from './clock.js';
import type { TaskRequest } from './task-request.js';

export type TaskCode = 'READY' | 'INPROGRESS' | 'DONE' | 'ERROR';
export const TASK_CODES: readonly TaskCode[] = ['READY', 'INPROGRESS', 'DONE', 'ERROR'];

export interface TaskLogEntry {
  readonly date: string;
  readonly level: 'info' | 'error';
  readonly message: string;
}

export interface Task {
  readonly id: number;
  readonly request: TaskRequest;
  readonly createdMs: number;
  code: TaskCode;
  lastRunMs: number | null;
  lastModifiedMs: number;
  version: number;
  readonly logs: TaskLogEntry[];
  result: { file: string; rows: number; bytes: number } | null;
  /** The current run; a re-execution starts a new one and ignores the old render. */
  run: TaskRun | null;
}

interface TaskRun {
  readonly generation: number;
  readonly finishAtMs: number;
  readonly fault: 'stuck' | 'error' | null;
  readonly faultMessage: string;
  rendered: boolean;
  failed: string | null;
}

export interface TaskStoreOptions {
  readonly clock: VirtualClock;
  readonly dataset: Dataset;
  readonly faults: FaultPlan;
  readonly storageDir: string;
  readonly seed: number;
  readonly taskDurationMs: number;
  readonly dialect: () => CsvDialect;
  readonly relativeReading: () => RelativeReading;
  readonly onError: (error: unknown) => void;
}

export const FIRST_TASK_ID = 12345;

export class TaskStore {
  private readonly tasks = new Map<number, Task>();
  private readonly settled = new EventEmitter();
  private nextId = FIRST_TASK_ID;
  private generation = 0;
  /** Exports being rendered, so that closing can wait for their files. */
  private readonly rendering = new Set<Promise<unknown>>();

  constructor(private readonly options: TaskStoreOptions) {
    this.settled.setMaxListeners(0);
  }

  create(request: TaskRequest): Task {
    const now = this.options.clock.nowMs();
    const task: Task = {
      id: this.nextId++,
      request,
      createdMs: now,
      code: 'READY',
      lastRunMs: null,
      lastModifiedMs: now,
      version: 1,
      logs: [],
      result: null,
      run: null,
    };
    this.log(task, 'info', `Task created; scheduled for ${isoSeconds(request.onceSeconds * 1000)}`);
    this.tasks.set(task.id, task);
    return task;
  }

  /** Resolves when no export is being rendered. */
  async idle(): Promise<void> {
    while (this.rendering.size > 0) await Promise.allSettled([...this.rendering]);
  }

  get(id: number): Task | undefined {
    return this.tasks.get(id);
  }

  /** Newest first. */
  list(): Task[] {
    return [...this.tasks.values()].reverse();
  }

  fileOf(task: Task): string {
    return path.join(this.options.storageDir, fileName(task));
  }

  /** Starts due tasks and finishes rendered ones whose time is up. */
  tick(): void {
    const now = this.options.clock.nowMs();
    for (const task of this.tasks.values()) {
      if (task.code === 'READY' && task.request.onceSeconds * 1000 <= now) this.start(task);
      else if (task.code === 'INPROGRESS' && task.run) this.maybeFinish(task, task.run, now);
    }
  }

  /** Runs the task now (re-running a finished one) and resolves when it is DONE or ERROR. */
  async execute(task: Task, signal: AbortSignal): Promise<Task> {
    this.tick();
    if (task.code === 'INPROGRESS') throw new Error('in progress');
    this.start(task);
    await this.whenSettled(task, signal);
    return task;
  }

  whenSettled(task: Task, signal: AbortSignal): Promise<void> {
    if (task.code === 'DONE' || task.code === 'ERROR') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        if (task.code !== 'DONE' && task.code !== 'ERROR') return;
        cleanup();
        resolve();
      };
      const abort = () => {
        cleanup();
        reject(signal.reason);
      };
      const cleanup = () => {
        this.settled.off(String(task.id), done);
        signal.removeEventListener('abort', abort);
      };
      this.settled.on(String(task.id), done);
      signal.addEventListener('abort', abort, { once: true });
    });
  }

  private start(task: Task): void {
    const { clock, faults, dataset } = this.options;
    const now = clock.nowMs();
    const fault = faults.next('run_task', task.request.chain);
    const run: TaskRun = {
      generation: ++this.generation,
      finishAtMs: now + this.options.taskDurationMs,
      fault: fault?.kind === 'stuck' ? 'stuck' : fault?.kind === 'error' ? 'error' : null,
      faultMessage: fault?.kind === 'error' ? (fault.message ?? 'Export query failed: search index unavailable') : '',
      rendered: false,
      failed: null,
    };
    task.run = run;
    task.code = 'INPROGRESS';
    task.lastRunMs = now;
    task.result = null;
    this.touch(task, now);
    this.log(task, 'info', 'Task started');
    if (run.fault) return; // a failing or stuck task never produces a file

    const snapshot = dataset.snapshot(task.request.chain, Math.floor(now / 1000));
    const file = this.fileOf(task);
    const render = writeExportFile(
      { dataset, snapshot, segment: task.request.segment, relativeReading: this.options.relativeReading(), format: task.request.format, dialect: this.options.dialect(), seed: this.options.seed },
      file,
    ).then(
      (result) => {
        if (task.run !== run) return; // superseded by a re-execution
        run.rendered = true;
        task.result = { file: fileName(task), ...result };
        this.log(task, 'info', `Exported ${result.rows} vouchers (${result.bytes} bytes)`);
        this.maybeFinish(task, run, clock.nowMs());
      },
      (error: unknown) => {
        this.options.onError(error);
        if (task.run !== run) return;
        run.failed = `Export failed: ${error instanceof Error ? error.message : String(error)}`;
        this.maybeFinish(task, run, clock.nowMs());
      },
    );
    this.rendering.add(render);
    void render.finally(() => this.rendering.delete(render));
  }

  private maybeFinish(task: Task, run: TaskRun, now: number): void {
    if (task.code !== 'INPROGRESS' || run.fault === 'stuck') return;
    if (run.fault === 'error' || run.failed) {
      if (now < run.finishAtMs) return;
      task.code = 'ERROR';
      this.touch(task, now);
      this.log(task, 'error', run.failed ?? run.faultMessage);
      this.log(task, 'error', 'Task failed');
    } else {
      if (!run.rendered || now < run.finishAtMs) return;
      task.code = 'DONE';
      this.touch(task, now);
      this.log(task, 'info', 'Task finished');
    }
    this.settled.emit(String(task.id));
  }

  private touch(task: Task, now: number): void {
    task.lastModifiedMs = now;
    task.version += 1;
  }

  private log(task: Task, level: TaskLogEntry['level'], message: string): void {
    task.logs.push({ date: isoSeconds(this.options.clock.nowMs()), level, message });
  }
}

/** `{Index}_Export-{id}.{ext}`, as the download URL names it (reference §4.5). */
export function fileName(task: Task): string {
  return `Voucher_Export-${task.id}.${task.request.format}`;
}

/** The task object of reference §3, as every endpoint that returns a task sends it. */
export function taskJson(task: Task, state = stateJson(task), logLimit = 10, logOffset = 0): Record<string, unknown> {
  return {
    id: task.id,
    chain: task.request.chain,
    desc: task.request.desc,
    state,
    trigger: task.request.trigger,
    target: task.request.target,
    logs: task.logs.slice(logOffset, logOffset + logLimit),
    debug: task.request.debug,
    version: task.version,
    result: task.code === 'DONE' ? task.result : null,
  };
}

/** A task's `state`, as sent: the dates are `YYYY-MM-DDTHH:MM:SSZ`. */
export interface TaskStateJson {
  readonly code: TaskCode;
  readonly last_run_date: string | null;
  readonly last_modified: string;
  readonly created_date: string;
}

export function stateJson(task: Task): TaskStateJson {
  return {
    code: task.code,
    last_run_date: task.lastRunMs === null ? null : isoSeconds(task.lastRunMs),
    last_modified: isoSeconds(task.lastModifiedMs),
    created_date: isoSeconds(task.createdMs),
  };
}
