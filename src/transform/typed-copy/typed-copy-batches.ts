/**
 * The typed COPY path's staging of an export: the export's own records go to PostgreSQL as they
 * came, in batches, into a staging table typed from the declared voucher table (`COPY … (FORMAT
 * csv)`), and SQL generated from the same declaration makes them warehouse rows (copy-plan.ts).
 * Node only gates the bytes (exactness-scanner.ts): it parses nothing, so PostgreSQL's typing does
 * the work csv-parse does on the reference path.
 *
 * NotExact is thrown as soon as the export holds anything the two paths could read differently; a
 * COPY or cast error (SQLSTATE class 22) means the same. The load then rolls back and stages the
 * export through the reference path from a fresh read, so that rejects keep their line and reason.
 */
import { escapeLiteral } from 'pg';
import { parse } from 'csv-parse/sync';
import { SpaazaSyncError } from '../../errors.js';
import { sqlstateOf } from '../../failure-table.js';
import { CampaignsSeen, emptyTransformStats, type CopyChunk, type ExportSeen, type HeaderMap, type StageContext, type StagedBatches } from '../../voucher/staged-export.js';
import { mapHeader } from '../header-map.js';
import { logHeader } from '../log-header.js';
import { furtherRecordIn } from '../normalize-record.js';
import { recordsUnaccounted } from '../read-voucher-csv.js';
import { COPY_TABLE, EXPORT_CAMPAIGNS_TABLE, planTypedCopy, type CopyPlan } from './copy-plan.js';
import { ExactnessScanner, NotExact } from './exactness-scanner.js';

/**
 * A value the COPY itself refused (SQLSTATE class 22: out of range, not UTF-8, bad CSV) is one the
 * reference path rejects with its line; the same class from the merge (a trigger, a constraint of
 * the warehouse's own) is a real failure, and stays one.
 */
function copyRefusal(error: unknown): unknown {
  if (error instanceof NotExact || error instanceof SpaazaSyncError) return error;
  return sqlstateOf(error)?.startsWith('22') ? new NotExact(`PostgreSQL refused a value in COPY (${(error as Error).message})`) : error;
}

export function typedCopyBatches(source: AsyncIterable<Buffer | string>, context: StageContext): StagedBatches {
  const seen: ExportSeen = { stats: emptyTransformStats(), firstRejects: [], campaigns: new CampaignsSeen() };
  const { stats } = seen;
  let plan: CopyPlan | null = null;
  let tablesMade = false;
  const scanner = new ExactnessScanner({
    chainId: context.chainId,
    maxRecordBytes: context.maxRecordBytes,
    onHeader: (text) => {
      const map = headerMap(text);
      stats.header = map;
      logHeader(context.logger, map);
      plan = planTypedCopy(map, { noExpiryFrom: context.noExpiryFrom, literal: escapeLiteral });
      return {
        fields: plan.fields,
        multilineProblem: (field) => (furtherRecordIn(field, map, context) ? 'a quoted field spans lines that read as further records' : null),
      };
    },
  });

  const chunks = async function* (): AsyncGenerator<CopyChunk> {
    let rowsInBatch = 0;
    // Whole records, cut where a batch ends.
    const scanned = function* (): Generator<CopyChunk> {
      for (;;) {
        const { data, records } = scanner.take(context.batchRows - rowsInBatch);
        if (records === 0) return;
        stats.records += records;
        stats.rows += records;
        rowsInBatch += records;
        const endsBatch = rowsInBatch >= context.batchRows;
        if (endsBatch) rowsInBatch = 0;
        yield { text: data, endsBatch };
      }
    };
    for await (const chunk of source) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      stats.bytes += bytes.length;
      scanner.push(bytes);
      yield* scanned();
    }
    scanner.end();
    yield* scanned();
  };

  const current = () => {
    if (plan === null) throw new Error('the typed COPY path staged records before reading a header');
    return plan as CopyPlan;
  };
  return {
    path: 'typed-copy',
    seen,
    chunks: chunks(),
    // Naive timestamps are UTC, as the reference reads them.
    settings: { TimeZone: 'UTC' },
    setupSql: () => {
      if (tablesMade) return [];
      tablesMade = true;
      return [current().createTableSql, current().createCampaignsTableSql];
    },
    copySql: () => current().copySql,
    copyFailed: copyRefusal,
    afterCopy: {
      sql: () => current().gather(scanner.cleaned),
      take: (rows) => {
        stats.inconsistent += Number(rows[0]!.inconsistent);
      },
    },
    staged: () => ({ rows: current().rows(scanner.cleaned) }),
    idsAscending: () => scanner.idsAscending,
    rejectIdsSql: null,
    rejectsSql: null,
    table: COPY_TABLE,
    finish: {
      // Nothing staged, nothing gathered: the table does not exist.
      sql: () => (tablesMade ? `SELECT campaign_id::text, campaign_type, title FROM ${EXPORT_CAMPAIGNS_TABLE} ORDER BY line` : ''),
      take: (rows) => {
        for (const row of rows) seen.campaigns.set(row.campaign_id as string, row.campaign_type as string | null, row.title as string | null);
      },
    },
    cannotBeExact: (error) => (error instanceof NotExact ? error.reason : null),
    unaccounted: () => recordsUnaccounted(stats),
  };
}

/** The header as the reference reads it (csv-parse, the same options); NotExact when it does not map cleanly. */
function headerMap(text: string): HeaderMap {
  if (text === '') throw new NotExact('the header is blank');
  const records = parse(text, { relax_quotes: true, relax_column_count: true }) as string[][];
  if (records.length !== 1) throw new NotExact('the header does not read as one record');
  try {
    return mapHeader(records[0]!);
  } catch (error) {
    // The reference path fails the same way, with its own message.
    throw new NotExact(`the header does not map: ${(error as Error).message}`);
  }
}
