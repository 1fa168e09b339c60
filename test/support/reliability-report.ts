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
