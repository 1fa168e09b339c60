/**
 * The reference path's staging of an export: csv-parse and normalize-record.ts in Node
 * (read-voucher-csv.ts), their rows and rejects written as COPY text lines of voucher_staging
 * (reference-staging.ts), cut into batches of whole records. The load COPYs and merges them.
 */
import type { Logger } from '../log.js';
import { CampaignsSeen, emptyTransformStats, FAILED_WINDOW_REJECTS_KEPT, type CopyChunk, type ExportSeen, type StageContext, type StagedBatches } from '../voucher/staged-export.js';
import { logHeader } from './log-header.js';
import { readVoucherCsvInBatches, recordsUnaccounted } from './read-voucher-csv.js';
import { copySql, createStagingSql, REFERENCE_REJECT_IDS, REFERENCE_STAGED_REJECTS, REFERENCE_STAGED_ROWS, stagingLine, STAGING_TABLE } from './reference-staging.js';

const COPY_CHUNK_CHARS = 256 * 1024;

export function referenceBatches(source: AsyncIterable<Buffer | string>, context: StageContext): StagedBatches {
  const seen: ExportSeen = { stats: emptyTransformStats(), firstRejects: [], campaigns: new CampaignsSeen() };
  // Strictly increasing ids (the exports' own order, when they have one) cannot repeat across
  // batches; only when they stop increasing does each batch have to be checked.
  let idsAscending = true;
  let lastId: string | null = null;
  let tableMade = false;
  const eventBatches = readVoucherCsvInBatches(source, { chainId: context.chainId, noExpiryFromMs: context.noExpiryFrom.getTime(), maxRecordBytes: context.maxRecordBytes }, seen.stats);

  const copyText = async function* (logger: Logger): AsyncGenerator<CopyChunk> {
    let text = '';
    let rowsInBatch = 0;
    for await (const events of eventBatches) {
      for (const event of events) {
        if (event.kind === 'header') logHeader(logger, event.map);
        if (event.kind === 'row') {
          seen.campaigns.add(event.row);
          if (idsAscending && lastId !== null && !isAfterId(event.row.voucherId, lastId)) idsAscending = false;
          lastId = event.row.voucherId;
        }
        if (event.kind === 'reject') {
          if (seen.firstRejects.length < FAILED_WINDOW_REJECTS_KEPT) seen.firstRejects.push(event.reject);
        }
        const line = stagingLine(event);
        if (line === null) continue;
        text += line;
        rowsInBatch += 1;
        const endsBatch = rowsInBatch >= context.batchRows;
        if (endsBatch || text.length >= COPY_CHUNK_CHARS) {
          yield { text: Buffer.from(text), endsBatch };
          text = '';
          if (endsBatch) rowsInBatch = 0;
        }
      }
    }
    if (text) yield { text: Buffer.from(text), endsBatch: true };
  };
  return {
    path: 'reference',
    seen,
    chunks: copyText(context.logger),
    settings: {},
    setupSql: () => {
      if (tableMade) return [];
      tableMade = true;
      return [createStagingSql()];
    },
    copySql,
    copyFailed: (error) => error,
    afterCopy: null,
    staged: () => REFERENCE_STAGED_ROWS,
    idsAscending: () => idsAscending,
    rejectIdsSql: REFERENCE_REJECT_IDS,
    rejectsSql: REFERENCE_STAGED_REJECTS,
    table: STAGING_TABLE,
    finish: null,
    // The reference is the path others fall back to: none of its failures is a reason to leave it.
    cannotBeExact: () => null,
    unaccounted: () => recordsUnaccounted(seen.stats),
  };
}

/** Whether voucher id `a` is greater than `b`; both canonical integers as parseInteger writes them. */
export function isAfterId(a: string, b: string): boolean {
  const aNegative = a.startsWith('-');
  if (aNegative !== b.startsWith('-')) return !aNegative;
  const greaterMagnitude = a.length !== b.length ? a.length > b.length : a > b;
  return a !== b && greaterMagnitude !== aNegative;
}
