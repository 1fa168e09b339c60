import { after, before } from 'node:test';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { openTestWarehouse } from './warehouse.js';

/** Tallies of the reliability suite, printed as one table at the end of each file. */
export interface Tally {
  faults: Set<string>;
  phases: Set<string>;
  runs: number;
  rowsChecked: number;
  lost: number;
  duplicated: number;
  stale: number;
  leaks: number;
}

export function newTally(): Tally {
  return { faults: new Set(), phases: new Set(), runs: 0, rowsChecked: 0, lost: 0, duplicated: 0, stale: 0, leaks: 0 };
}

export function printTally(title: string, t: Tally): void {
  const rows: [string, string | number][] = [
    ['faults tried', t.faults.size],
    ['phases', [...t.phases].join(', ')],
    ['runs', t.runs],
    ['rows checked', t.rowsChecked],
    ['lost', t.lost],
    ['duplicated', t.duplicated],
    ['stale', t.stale],
    ['secret leaks', t.leaks],
  ];
  console.log(`\n${title}\n${rows.map(([k, v]) => `  ${k.padEnd(14)} ${v}`).join('\n')}`);
}

/**
 * The shared frame of a reliability file: the test warehouse opened before its tests and closed
 * after them, and a tally printed at the end.
 */
export function reliabilitySuite(title: string): { readonly tally: Tally; warehouse(): Warehouse } {
  const tally = newTally();
  let warehouse: Warehouse | undefined;
  before(async () => {
    warehouse = await openTestWarehouse();
  });
  after(async () => {
    await warehouse?.close();
    printTally(title, tally);
  });
  return {
    tally,
    warehouse: () => {
      if (!warehouse) throw new Error('the warehouse is opened in before()');
      return warehouse;
    },
  };
}
