/**
 * Pulls from an async iterable ahead of its consumer, up to a bound: while the consumer waits
 * (for PostgreSQL to merge a batch), the source goes on producing (parsing the next one), so the
 * CPU work on both sides of the connection overlaps instead of taking turns.
 */

export interface ReadAheadOptions<T> {
  /** The weight of one item (e.g. its characters); the pump pauses while the buffered total exceeds `maxWeight`. */
  readonly weigh: (item: T) => number;
  readonly maxWeight: number;
}

export async function* readAhead<T>(source: AsyncIterable<T>, options: ReadAheadOptions<T>): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const buffered: T[] = [];
  let weight = 0;
  let done = false;
  let failure: { error: unknown } | null = null;
  let stopped = false;
  // Wakes whichever side is waiting: the consumer for an item, the pump for room.
  const wake: { consumer: (() => void) | null; pump: (() => void) | null } = { consumer: null, pump: null };

  const pump = (async () => {
    try {
      while (!stopped) {
        if (weight > options.maxWeight) {
          await new Promise<void>((resolve) => (wake.pump = resolve));
          continue;
        }
        const next = await iterator.next();
        if (next.done) break;
        buffered.push(next.value);
        weight += options.weigh(next.value);
        wake.consumer?.();
      }
    } catch (error) {
      failure = { error };
    } finally {
      done = true;
      wake.consumer?.();
    }
  })();

  try {
    for (;;) {
      if (buffered.length > 0) {
        const item = buffered.shift()!;
        weight -= options.weigh(item);
        wake.pump?.();
        wake.pump = null;
        yield item;
        continue;
      }
      if (failure) throw (failure as { error: unknown }).error;
      if (done) return;
      await new Promise<void>((resolve) => (wake.consumer = resolve));
      wake.consumer = null;
    }
  } finally {
    // The consumer is done, or stopped early: stop the pump, then close the source so its cleanup
    // runs. Not awaited: a pull in flight may wait on a stalled download the caller destroys.
    stopped = true;
    wake.pump?.();
    void pump.then(() => iterator.return?.()).catch(() => {});
  }
}
