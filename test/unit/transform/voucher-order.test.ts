import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isAfterId } from '../../../src/transform/reference-batches.js';

it('orders canonical voucher ids as numbers, not as text', () => {
  const ascending = ['-100', '-99', '-1', '0', '7', '9', '10', '99', '100', '9223372036854775807'];
  for (let i = 0; i < ascending.length; i++) {
    for (let j = 0; j < ascending.length; j++) {
      assert.equal(isAfterId(ascending[i]!, ascending[j]!), i > j, `${ascending[i]} after ${ascending[j]}`);
    }
  }
});
