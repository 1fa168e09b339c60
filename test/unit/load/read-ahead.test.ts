import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { readAhead } from '../../../src/load/read-ahead.js';

/** A source that records how far it has been pulled and whether it was closed. */
function counting(items: number, failAt?: number) {
  const state = { pulled: 0, closed: false };
  const source = (async function* () {
    try {
      for (let i = 0; i < items; i++) {
        if (i === failAt) throw new Error(`source failed at ${i}`);
        state.pulled = i + 1;
        yield i;
      }
    } finally {
      state.closed = true;
    }
  })();
  return { source, state };
}

describe('readAhead', () => {
  it('yields every item in order', async () => {
    const { source } = counting(100);
    const seen: number[] = [];
    for await (const item of readAhead(source, { weigh: () => 1, maxWeight: 5 })) seen.push(item);
    assert.deepEqual(seen, Array.from({ length: 100 }, (_, i) => i));
  });

  it('produces ahead while the consumer waits, but no further than its bound', async () => {
    const { source, state } = counting(1000);
    const ahead = readAhead(source, { weigh: () => 10, maxWeight: 50 });
    assert.equal((await ahead.next()).value, 0);
    for (let i = 0; i < 20; i++) await tick();
    // Up to 50 of weight buffered, plus the item that crossed the bound and the one handed out.
    assert.ok(state.pulled > 1, 'the pump ran while the consumer was away');
    assert.ok(state.pulled <= 8, `pulled ${state.pulled}, beyond the bound`);
    await ahead.return(undefined);
  });

  it('closes the source when the consumer stops early', async () => {
    const { source, state } = counting(1000);
    for await (const item of readAhead(source, { weigh: () => 1, maxWeight: 3 })) if (item === 2) break;
    for (let i = 0; i < 10 && !state.closed; i++) await tick();
    assert.equal(state.closed, true);
    assert.ok(state.pulled < 20);
  });

  it('hands the source error to the consumer after the items before it', async () => {
    const { source } = counting(10, 6);
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const item of readAhead(source, { weigh: () => 1, maxWeight: 100 })) seen.push(item);
    }, /source failed at 6/);
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
  });
});
