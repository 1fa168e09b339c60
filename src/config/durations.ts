/**
 * Durations as people write them: one or more `<whole number><unit>` parts, largest unit first,
 * each unit at most once (`250ms`, `30s`, `10m`, `2h`, `1d`, `1h30m`). A unit is always required,
 * so `"60"` or the JSON number 60 is refused rather than guessed as milliseconds or seconds.
 */

const UNITS = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
] as const;

const PART = /(\d+)(ms|s|m|h|d)/y;

/** Milliseconds, or undefined when `text` is not a duration in the form above. */
export function parseDuration(text: string): number | undefined {
  if (text.length === 0) return undefined;
  PART.lastIndex = 0;
  let total = 0;
  let lastRank = -1;
  while (PART.lastIndex < text.length) {
    const m = PART.exec(text);
    if (!m) return undefined;
    const rank = UNITS.findIndex(([unit]) => unit === m[2]);
    if (rank <= lastRank) return undefined; // `30m1h` or `1h1h`: units largest first, once each
    lastRank = rank;
    total += Number(m[1]) * UNITS[rank]![1];
  }
  return Number.isSafeInteger(total) ? total : undefined;
}

/** The shortest form `parseDuration` reads back to `ms` (`7200000` → `2h`, `90000` → `1m30s`). */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) return `${ms}ms`;
  if (ms === 0) return '0s';
  let rest = ms;
  let text = '';
  for (const [unit, size] of UNITS) {
    const count = Math.floor(rest / size);
    if (count > 0) {
      text += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return text;
}
