/**
 * A live progress line on a terminal: phase, rows, MB and rows/s of the window in flight,
 * rewritten in place at most four times a second. Off when stderr is not a TTY (JSON logs then).
 */
import type { WindowProgress } from '../sync/export-window.js';

export function progressLine(stream: NodeJS.WriteStream = process.stderr): ((update: WindowProgress) => void) & { done(): void } {
  let last = 0;
  let shown = false;
  const started = new Map<number, number>();
  const update = (p: WindowProgress) => {
    if (!stream.isTTY) return;
    const now = Date.now();
    if (!started.has(p.syncRunId) && p.phase === 'downloading') started.set(p.syncRunId, now); // rate counts from the first byte
    if (p.phase !== 'committed' && now - last < 250) return;
    last = now;
    const seconds = Math.max(0.001, (now - (started.get(p.syncRunId) ?? now)) / 1000);
    const rate = p.rows > 0 ? `, ${Math.round(p.rows / seconds).toLocaleString('en')} rows/s` : '';
    stream.write(`\r\x1b[Kchain ${p.chainId} window #${p.syncRunId}: ${p.phase}, ${p.rows.toLocaleString('en')} rows, ${(p.bytes / 1048576).toFixed(1)} MB${rate}`);
    shown = true;
    if (p.phase === 'committed') stream.write('\n');
  };
  return Object.assign(update, {
    done() {
      if (shown && stream.isTTY) stream.write('\r\x1b[K');
    },
  });
}
