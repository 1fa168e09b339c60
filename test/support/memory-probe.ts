/**
 * Loaded into a child process (`node --expose-gc --import tsx --import ./test/support/memory-probe.ts …`
 * with an IPC channel) to tell what the process *retains* apart from what V8 lets pile up as
 * garbage: RSS alone cannot, since how much garbage a process holds before collecting it is V8's
 * choice and changes between Node versions (see test/integration/simulator-memory.test.ts).
 *
 * The parent sends `{ probe: 'baseline' }` and later `{ probe: 'report' }`; each is answered with
 * a ProbeReport. From the baseline on, every SAMPLE_MS (500 ms) the probe runs a full GC and records heap
 * used + ArrayBuffers (what survives a full GC is what the process holds), and every YOUNG_MS
 * the committed size of V8's young generation (new space), which V8 grows at will.
 */
import { setInterval } from 'node:timers';
import v8 from 'node:v8';

export interface ProbeReport {
  /** Heap used + ArrayBuffers right after a full GC: at the request, and the highest sample since the baseline. */
  retained: number;
  retainedPeak: number;
  /** Committed size of the young generation (both semi-spaces): now, and the highest since the baseline. */
  young: number;
  youngPeak: number;
  /** How many full-GC samples were taken since the baseline. */
  samples: number;
}

const SAMPLE_MS = 500;
const YOUNG_MS = 25;

const gc = (globalThis as { gc?: () => void }).gc;

function retainedNow(): number {
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function youngNow(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

if (process.send && gc) {
  let retainedPeak = 0;
  let youngPeak = 0;
  let samples = 0;
  let timers: NodeJS.Timeout[] = [];
  const report = (): ProbeReport => {
    const retained = retainedNow();
    const young = youngNow();
    retainedPeak = Math.max(retainedPeak, retained);
    youngPeak = Math.max(youngPeak, young);
    return { retained, retainedPeak, young, youngPeak, samples };
  };
  process.on('message', (message: { probe?: string }) => {
    if (message.probe === 'baseline') {
      for (const timer of timers) clearInterval(timer);
      retainedPeak = 0;
      youngPeak = 0;
      samples = 0;
      timers = [
        setInterval(() => {
          retainedPeak = Math.max(retainedPeak, retainedNow());
          samples += 1;
        }, SAMPLE_MS),
        setInterval(() => (youngPeak = Math.max(youngPeak, youngNow())), YOUNG_MS),
      ];
      for (const timer of timers) timer.unref();
    }
    if (message.probe === 'baseline' || message.probe === 'report') process.send!({ probe: message.probe, ...report() });
  });
  // The channel must not keep the process alive: it ends when its own work does.
  process.channel?.unref();
} else {
  process.stderr.write('memory-probe: needs --expose-gc and an IPC channel\n');
}
