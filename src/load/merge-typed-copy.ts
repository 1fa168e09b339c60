/**
 * The typed COPY path of a load: the export's own records go to PostgreSQL as they came, in
 * batches, into a staging table typed from the declared voucher table (`COPY … (FORMAT csv)`), and
 * SQL generated from the same declaration makes them warehouse rows. Node only gates the bytes
 * (exactness-scanner.ts): it parses nothing, so PostgreSQL's typing does the work csv-parse does
 * on the reference path. The merge of each batch is the reference path's (merge-in-batches.ts).
 *
 * Throws NotExact as soon as the export holds anything the two paths could read differently; a
 * COPY or cast error (SQLSTATE class 22) means the same. The caller then rolls back and loads the
 * export through the reference path from a fresh read, so that rejects keep their line and reason.
 */
import type { ClientBase } from 'pg';
import { escapeLiteral } from 'pg';
import { parse } from 'csv-parse/sync';
import { SpaazaSyncError } from '../errors.js';
import { sqlstateOf } from '../failure-table.js';
import { mapHeader, type HeaderMap } from '../transform/header-map.js';
import { furtherRecordIn } from '../transform/normalize-record.js';
import { COPY_TABLE, EXPORT_CAMPAIGNS_TABLE, planTypedCopy, type CopyPlan } from '../transform/typed-copy/copy-plan.js';
import { ExactnessScanner, NotExact } from '../transform/typed-copy/exactness-scanner.js';
import { logHeader, mergeStagedBatches, type CopyChunk, type ExportObservations, type MergeInBatchesInput, type StagedBatches } from './merge-in-batches.js';
import type { UpsertCounts } from './upsert-vouchers.js';

export { NotExact } from '../transform/typed-copy/exactness-scanner.js';

/** Whether a failure of the typed COPY path means only that it cannot be exact (so the reference path takes over). */
export function typedCopyCannotBeExact(error: unknown): boolean {
  return error instanceof NotExact;
}

/**
 * A value the COPY itself refused (SQLSTATE class 22: out of range, not UTF-8, bad CSV) is one the
 * reference path rejects with its line; the same class from the merge (a trigger, a constraint of
 * the warehouse's own) is a real failure, and stays one.
 */
function copyRefusal(error: unknown): unknown {
  if (error instanceof NotExact || error instanceof SpaazaSyncError) return error;
  return sqlstateOf(error)?.startsWith('22') ? new NotExact(`PostgreSQL refused a value in COPY (${(error as Error).message})`) : error;
}

export async function mergeByTypedCopy(input: MergeInBatchesInput, seen: ExportObservations): Promise<UpsertCounts> {
  const { client } = input;
  // Naive timestamps are UTC, as the reference reads them; restored after the export is staged.
  const { rows } = await client.query<{ zone: string }>(`SELECT current_setting('TimeZone') AS zone`);
  await client.query(`SET LOCAL TimeZone = 'UTC'`);
  try {
    const batches = typedCopyBatches(input, seen);
    const counts = await mergeStagedBatches(input, seen, batches);
    await batches.gatherCampaigns(client);
    return counts;
  } finally {
    await client.query(`SELECT set_config('TimeZone', $1, true)`, [rows[0]!.zone]).catch(() => {});
  }
}

function typedCopyBatches(input: MergeInBatchesInput, seen: ExportObservations): StagedBatches & { gatherCampaigns(client: ClientBase): Promise<void> } {
  const { stats } = seen;
  let plan: CopyPlan | null = null;
  let tablesMade = false;
  const scanner = new ExactnessScanner({
    chainId: input.chainId,
    maxRecordBytes: input.maxRecordBytes,
    onHeader: (text) => {
      const map = headerMap(text);
      stats.header = map;
      logHeader(input.logger, map);
      plan = planTypedCopy(map, { noExpiryFrom: input.noExpiryFrom, literal: escapeLiteral });
      return {
        fields: plan.fields,
        multilineProblem: (field) => (furtherRecordIn(field, map, input) ? 'a quoted field spans lines that read as further records' : null),
      };
    },
  });

  const chunks = async function* (): AsyncGenerator<CopyChunk> {
    let rowsInBatch = 0;
    // Whole records, cut where a batch ends.
    const scanned = function* (): Generator<CopyChunk> {
      for (;;) {
        const { data, records } = scanner.take(input.batchRows - rowsInBatch);
        if (records === 0) return;
        stats.records += records;
        stats.rows += records;
        rowsInBatch += records;
        const endsBatch = rowsInBatch >= input.batchRows;
        if (endsBatch) rowsInBatch = 0;
        yield { text: data, endsBatch };
      }
    };
    for await (const chunk of input.source) {
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
    chunks: chunks(),
    prepare: async (client) => {
      const p = current();
      if (!tablesMade) {
        await client.query(p.createTableSql);
        await client.query(p.createCampaignsTableSql);
        tablesMade = true;
      }
      return p.copySql;
    },
    copyFailed: copyRefusal,
    staged: () => ({ rows: current().rows(scanner.cleaned) }),
    idsAscending: () => scanner.idsAscending,
    afterCopy: async (client) => {
      const { rows } = await client.query<{ inconsistent: string }>(current().gather(scanner.cleaned));
      stats.inconsistent += Number(rows[0]!.inconsistent);
    },
    rejectIdsSql: null,
    table: COPY_TABLE,
    gatherCampaigns: async (client) => {
      if (!tablesMade) return;
      const { rows } = await client.query<{ campaign_id: string; campaign_type: string | null; title: string | null }>(
        `SELECT campaign_id::text, campaign_type, title FROM ${EXPORT_CAMPAIGNS_TABLE} ORDER BY line`,
      );
      for (const row of rows) seen.campaigns.set(row.campaign_id, row.campaign_type, row.title);
    },
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
