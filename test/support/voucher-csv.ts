/** Voucher CSVs for load tests, rendered by the simulator's own generator and writer. */
import { DEFAULT_DIALECT, type CsvDialect } from '../../src/simulator/csv-dialect.js';
import { Dataset } from '../../src/simulator/dataset.js';
import { csvChunks } from '../../src/simulator/export-file.js';

export const CHAIN = 1764;
export const START_SECONDS = Date.UTC(2026, 4, 26, 12) / 1000;

export function newDataset(rows: number, seed = 1): Dataset {
  return new Dataset(seed, [CHAIN], rows, START_SECONDS);
}

/** The chain's live vouchers as an unfiltered export would render them now. */
export function renderCsv(dataset: Dataset, atSeconds = START_SECONDS, dialect: Partial<CsvDialect> = {}): string {
  const snapshot = dataset.snapshot(CHAIN, atSeconds);
  return [...csvChunks({ dataset, snapshot, segment: null, dialect: { ...DEFAULT_DIALECT, ...dialect }, seed: 1 }, { rows: 0 })].join('');
}
