/**
 * Window planning (DESIGN §2), pure. A window is an inclusive range of whole seconds in UTC;
 * consecutive windows share their boundary instant, and none is longer than maxWindowDays.
 * Overlap is harmless (the upsert is idempotent); a gap would lose data, so rounding always widens.
 */

export interface TimeWindow {
  readonly start: Date;
  readonly end: Date;
}

const SECOND = 1000;
const DAY = 86_400_000;

export function floorToSecond(date: Date): Date {
  return new Date(Math.floor(date.getTime() / SECOND) * SECOND);
}

export function ceilToSecond(date: Date): Date {
  return new Date(Math.ceil(date.getTime() / SECOND) * SECOND);
}

/** Splits [start, end] into windows of at most `maxWindowDays`; empty when end ≤ start. */
export function splitWindows(start: Date, end: Date, maxWindowDays: number): TimeWindow[] {
  const from = floorToSecond(start).getTime();
  const to = ceilToSecond(end).getTime();
  const step = maxWindowDays * DAY;
  const windows: TimeWindow[] = [];
  for (let s = from; s < to; s += step) windows.push({ start: new Date(s), end: new Date(Math.min(s + step, to)) });
  return windows;
}

export interface IncrementalPlanInput {
  /** The chain's watermark; null for a chain never synced. */
  readonly watermark: Date | null;
  /** Spaaza's now. */
  readonly now: Date;
  readonly lookbackMs: number;
  readonly settleMs: number;
  readonly maxWindowDays: number;
  /** Where a chain without a watermark starts; null means one unfiltered export instead. */
  readonly backfillStartDate: Date | null;
}

export type IncrementalPlan =
  | { readonly kind: 'windows'; readonly windows: TimeWindow[] }
  /** First run without a backfill start: one unfiltered export (its end is known once created). */
  | { readonly kind: 'unfiltered' };

/** The windows of an incremental run: [watermark − lookback, now − settle]. */
export function planIncremental(input: IncrementalPlanInput): IncrementalPlan {
  const end = new Date(input.now.getTime() - input.settleMs);
  if (input.watermark === null) {
    if (input.backfillStartDate === null) return { kind: 'unfiltered' };
    return { kind: 'windows', windows: splitWindows(input.backfillStartDate, end, input.maxWindowDays) };
  }
  const start = new Date(input.watermark.getTime() - input.lookbackMs);
  return { kind: 'windows', windows: splitWindows(start, end, input.maxWindowDays) };
}

/**
 * The windows of `backfill --from DATE [--to DATE]`: dates are 00:00:00Z of that UTC day and
 * `--to` includes its whole day; never past now − settle.
 */
export function planBackfill(input: { from: Date; to: Date | null; now: Date; settleMs: number; maxWindowDays: number }): TimeWindow[] {
  const limit = input.now.getTime() - input.settleMs;
  const requested = input.to === null ? limit : startOfUtcDay(input.to).getTime() + DAY;
  return splitWindows(startOfUtcDay(input.from), new Date(Math.min(requested, limit)), input.maxWindowDays);
}

export function startOfUtcDay(date: Date): Date {
  return new Date(Math.floor(date.getTime() / DAY) * DAY);
}

/** The window as Spaaza segment dates: whole seconds in UTC with `Z`. */
export function isoZ(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** One step of a backfill: finish a row an earlier run left, or export a window anew. */
export type BackfillStep<Row> = { readonly kind: 'resume'; readonly row: Row; readonly window: TimeWindow } | { readonly kind: 'plan'; readonly window: TimeWindow };

/**
 * A backfill run after an interrupted one (DESIGN §2 "a rerun of a backfill exports only its
 * windows not yet committed"): the unfinished rows are finished with their stored tasks, the
 * windows the earlier run already covers (committed or being resumed) are not exported again, and
 * the rest of the plan is; all in window order, so the watermark can follow.
 */
export function backfillSteps<Row extends { readonly window: TimeWindow }>(
  resumed: readonly Row[],
  covered: readonly TimeWindow[],
  planned: readonly TimeWindow[],
): BackfillStep<Row>[] {
  const key = (w: TimeWindow) => `${w.start.getTime()}..${w.end.getTime()}`;
  const done = new Set([...covered, ...resumed.map((r) => r.window)].map(key));
  const steps: BackfillStep<Row>[] = [
    ...resumed.map((row) => ({ kind: 'resume' as const, row, window: row.window })),
    ...planned.filter((w) => !done.has(key(w))).map((window) => ({ kind: 'plan' as const, window })),
  ];
  return steps.sort((a, b) => a.window.start.getTime() - b.window.start.getTime() || a.window.end.getTime() - b.window.end.getTime());
}
