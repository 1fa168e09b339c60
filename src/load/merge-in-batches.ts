/**
 * Merges one staged export batch by batch (DESIGN §4's upsert, done piecewise): the transform
 * stages ahead (transform/stage-export.ts) while PostgreSQL copies and merges the batch before, so
 * parsing and merging overlap instead of taking turns, and memory holds at most about two
 * batches of COPY text. The load runs the staging's SQL and parses nothing.
 *
 * Merging in batches ends exactly as one merge would unless an id repeats in two batches: the
 * earlier line would be written first and the later one over it, so loading the same export
 * again would write both again. That is detected before the later batch is merged and reported
 * as RepeatedIdAcrossBatches; the caller then merges the whole export at once. The same check
 * is what lets the first load of a chain be a plain INSERT in every batch.
 */
import { pipeline } from 'node:stream/promises';
import type { ClientBase } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { CopyChunk, StagedBatches, StagingQuery } from '../voucher/staged-export.js';
import { EXPORT_IDS_TABLE } from './export-ids.js';
import { readAhead } from './read-ahead.js';
import type { WarehouseTables } from '../warehouse/tables.js';
import { upsertVouchers, type StatusChange, type UpsertCounts } from './upsert-vouchers.js';

/** COPY text staged ahead of the batch being merged (bytes): about one batch, so memory stays flat. */
const READ_AHEAD_BYTES = 16 * 1024 * 1024;

export class RepeatedIdAcrossBatches extends Error {
  constructor() {
    super('a voucher id repeats in two merge batches');
  }
}

export interface MergeBatchesInput {
  readonly client: ClientBase;
  readonly tables: WarehouseTables;
  readonly chainId: number;
  readonly syncRunId: number;
  readonly exportedAt: Date;
  /** Stored versions after this are wrong (see upsertVouchers). */
  readonly validUntil: Date;
  /** The whole export is one batch (its ids need no check across batches). */
  readonly oneBatch: boolean;
  readonly midCopy?: (rowsRead: number) => void | Promise<void>;
  /** Before the first merge. */
  readonly beforeMerge?: () => void | Promise<void>;
  /** Stores the rejects the query selects (line, written_id, raw_record, reason). */
  readonly storeRejects: (rejectsSql: string) => Promise<void>;
  /** Count the written rows by status before and after (for a dry run's report). */
  readonly detail?: boolean;
}

export interface MergedExport extends Omit<UpsertCounts, 'changes' | 'revived'> {
  /** With `detail`: the written rows by status before and after, summed over the batches. */
  readonly changes: ReadonlyMap<string, StatusChange>;
  readonly revived: number;
}

export async function mergeInBatches(input: MergeBatchesInput, batches: StagedBatches): Promise<MergedExport> {
  const { client } = input;
  const settings = Object.entries(batches.settings);
  const before = await currentSettings(client, settings.map(([name]) => name));
  for (const [name, value] of settings) await client.query(`SELECT set_config($1, $2, true)`, [name, value]);
  try {
    const merged = await mergeBatches(input, batches);
    if (batches.finish) await runStagingQuery(client, batches.finish);
    return merged;
  } finally {
    for (const [name, value] of before) await client.query(`SELECT set_config($1, $2, true)`, [name, value]).catch(() => {});
  }
}

async function mergeBatches(input: MergeBatchesInput, batches: StagedBatches): Promise<MergedExport> {
  const { client } = input;
  const { stats } = batches.seen;
  const chunks = readAhead(batches.chunks, { weigh: (chunk) => chunk.text.length, maxWeight: READ_AHEAD_BYTES });

  const summed = { inserted: 0, updated: 0, distinct: 0 };
  const changes = new Map<string, StatusChange>();
  let revived = 0;
  let batchesMerged = 0;
  let uniqueIndex = false;
  // Under the chain's lock nothing else writes its rows, so a chain without any stays a first load.
  const { rows: emptiness } = await client.query<{ empty: boolean }>(`SELECT NOT EXISTS (SELECT 1 FROM ${input.tables.vouchers} WHERE chain_id = $1) AS empty`, [input.chainId]);
  const chainEmpty = emptiness[0]!.empty;
  try {
    let next = await chunks.next();
    while (!next.done) {
      // One batch: its chunks into COPY, then its checks and one merge.
      const batch = async function* () {
        for (;;) {
          const { text, endsBatch } = next.value as CopyChunk;
          yield text;
          await input.midCopy?.(stats.rows);
          next = await chunks.next();
          if (endsBatch || next.done) return;
        }
      };
      for (const sql of batches.setupSql()) await client.query(sql);
      await pipeline(batch(), client.query(copyFrom(batches.copySql()))).catch((error: unknown) => {
        throw batches.copyFailed(error);
      });
      batchesMerged += 1;
      if (batches.afterCopy) await runStagingQuery(client, batches.afterCopy);
      if (batchesMerged === 1) await input.beforeMerge?.();

      const staged = batches.staged();
      const idsAscending = batches.idsAscending();
      if (idsAscending || input.oneBatch) {
        await client.query(`INSERT INTO ${EXPORT_IDS_TABLE} (voucher_id) SELECT voucher_id FROM (${staged.rows}) s`);
      } else {
        if (!uniqueIndex) {
          // The ids so far were ascending, so unique.
          await client.query(`CREATE UNIQUE INDEX ON ${EXPORT_IDS_TABLE} (voucher_id)`);
          uniqueIndex = true;
        }
        const added = await client.query<{ repeated: string }>(
          `WITH batch AS (SELECT DISTINCT voucher_id FROM (${staged.rows}) s),
                added AS (INSERT INTO ${EXPORT_IDS_TABLE} (voucher_id) SELECT voucher_id FROM batch ON CONFLICT DO NOTHING RETURNING 1)
           SELECT (SELECT count(*) FROM batch) - (SELECT count(*) FROM added) AS repeated`,
        );
        if (Number(added.rows[0]!.repeated) > 0) throw new RepeatedIdAcrossBatches();
      }
      if (batches.rejectIdsSql) await client.query(`INSERT INTO ${EXPORT_IDS_TABLE} (reject_id) ${batches.rejectIdsSql}`);

      if (stats.header) {
        const merged = await upsertVouchers(client, input.tables, {
          chainId: input.chainId,
          syncRunId: input.syncRunId,
          exportedAt: input.exportedAt,
          validUntil: input.validUntil,
          present: stats.header.present,
        }, { idsDistinct: idsAscending, chainEmpty }, input.detail ?? false, staged);
        for (const change of merged.changes ?? []) {
          const key = `${change.from}\u0000${change.to}`;
          changes.set(key, { ...change, count: (changes.get(key)?.count ?? 0) + change.count });
        }
        revived += merged.revived ?? 0;
        summed.inserted += merged.inserted;
        summed.updated += merged.updated;
        summed.distinct += merged.distinct;
      }
      if (stats.rejected > 0 && batches.rejectsSql) await input.storeRejects(batches.rejectsSql);
      await client.query(`TRUNCATE ${batches.table}`);
    }
  } finally {
    // Not awaited: after a failure a pull may still wait on a stalled download the caller destroys.
    chunks.return(undefined).catch(() => {});
  }
  if (batchesMerged === 0) await input.beforeMerge?.();
  return { ...summed, changes, revived };
}

async function runStagingQuery(client: ClientBase, query: StagingQuery): Promise<void> {
  const sql = query.sql();
  if (sql === '') return;
  const { rows } = await client.query<Record<string, unknown>>(sql);
  query.take(rows);
}

async function currentSettings(client: ClientBase, names: readonly string[]): Promise<[string, string][]> {
  const settings: [string, string][] = [];
  for (const name of names) {
    const { rows } = await client.query<{ value: string }>(`SELECT current_setting($1) AS value`, [name]);
    settings.push([name, rows[0]!.value]);
  }
  return settings;
}
