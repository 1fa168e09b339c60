/**
 * The border between the transform and the load: what the transform hands over for one read of
 * an export, and what the load needs to know of it. The transform makes a StagedBatches (the
 * reference path's in reference-batches.ts, the typed COPY path's in typed-copy/typed-copy-batches.ts);
 * the load runs its SQL, COPYs its chunks and merges each batch (load/merge-in-batches.ts), and
 * never parses. Nothing here imports a stage.
 */
import type { Logger } from '../log.js';
import type { VoucherColumn } from './voucher-table.js';

/**
 * `typed-copy`: the export's records are copied as they are and typed by PostgreSQL, with SQL
 * generated from the declared voucher table; `reference`: csv-parse and normalize-record.ts. The
 * typed path is taken only when it can be exact, else the reference.
 */
export type LoadPath = 'typed-copy' | 'reference';

/** A CSV header matched to the declared voucher table (transform/header-map.ts). */
export interface HeaderMap {
  /** The headers as written (trimmed). */
  readonly headers: readonly string[];
  /** Known columns and the position of their CSV field. */
  readonly columns: readonly { readonly index: number; readonly column: VoucherColumn }[];
  /** Position of the voucher id. */
  readonly idIndex: number;
  /** Position of the CSV's chain id, checked against the chain being loaded. */
  readonly chainIndex: number | null;
  /** Columns the table does not know: kept in `extra`, under a name unique in the file. */
  readonly unknown: readonly { readonly index: number; readonly header: string }[];
  /** What the mapping changed and the run should say (a repeated column name renamed). */
  readonly warnings: readonly string[];
  /** Clock-derived columns, ignored. */
  readonly volatile: readonly string[];
  /** Warehouse columns the file provides (derived ones included when their source is there). */
  readonly present: ReadonlySet<string>;
}

export type CellValue = string | boolean | null;

/** One record as a typed warehouse row. */
export interface VoucherRow {
  /** 1-based line where the record starts (the header is line 1). */
  readonly line: number;
  readonly voucherId: string;
  /** Content columns by warehouse name (only those the file provides, plus derived ones). */
  readonly cells: Readonly<Record<string, CellValue>>;
  /** Unknown columns by header, empty cells as null; null when the file has none. */
  readonly extra: Readonly<Record<string, string | null>> | null;
  /** Status, redemption time and amounts disagree (loaded as sent, counted). */
  readonly inconsistent: boolean;
}

/** A record that is not loaded, and why: kept in voucher_rejects with its line. */
export interface Reject {
  readonly line: number;
  readonly raw: string;
  readonly reason: string;
  /** The voucher id as written, when the record has one (kept in voucher_rejects). */
  readonly writtenId: string | null;
  /** That id in canonical form (`0123` and `+123` are voucher 123); null when it is not a whole number. */
  readonly voucherId: string | null;
  /**
   * The record may hold, or have swallowed, other records: its field count is not the header's, a
   * quoted field in it spans what reads as further records, or it was cut at the size bound. An
   * export with such a record cannot show which vouchers it lacks.
   */
  readonly mayHideRecords: boolean;
}

/** What the transform saw of an export; final once its chunks are exhausted. */
export interface TransformStats {
  header: HeaderMap | null;
  /** Data records read (blank lines excluded). */
  records: number;
  rows: number;
  rejected: number;
  inconsistent: number;
  /** Bytes of input parsed. */
  bytes: number;
  /** Rejects whose voucher id cannot be read: the export does not say which voucher they are. */
  unidentified: number;
  /** Records that may hide others (see Reject.mayHideRecords). */
  hiding: number;
  /** The first lines of such records, for the run's warning. */
  suspectLines: number[];
}

export function emptyTransformStats(): TransformStats {
  return { header: null, records: 0, rows: 0, rejected: 0, inconsistent: 0, bytes: 0, unidentified: 0, hiding: 0, suspectLines: [] };
}

/** The campaigns of one export; as many entries as campaigns, whatever the number of rows. */
export class CampaignsSeen {
  private readonly latest = new Map<string, { type: string | null; title: string | null }>();

  add(row: VoucherRow): void {
    const id = row.cells.campaign_id;
    if (typeof id !== 'string') return;
    this.latest.set(id, { type: (row.cells.campaign_type as string | null | undefined) ?? null, title: (row.cells.campaign_title as string | null | undefined) ?? null });
  }

  /** A campaign's type and title as the typed COPY path gathered them (its last line). */
  set(id: string, type: string | null, title: string | null): void {
    this.latest.set(id, { type, title });
  }

  get size(): number {
    return this.latest.size;
  }

  entries(): IterableIterator<[string, { type: string | null; title: string | null }]> {
    return this.latest.entries();
  }
}

/**
 * A batch's rows as a relation: `voucher_id`, the declared columns, `extra` and `line` (the later
 * line of an id wins). The reference path stages them typed; the typed COPY path derives them
 * from its staged records in SQL.
 */
export interface StagedRows {
  readonly rows: string;
}

/** Rejects of a failed window kept for diagnosis (in memory while the export streams past). */
export const FAILED_WINDOW_REJECTS_KEPT = 1000;

/** One piece of a batch's COPY input. */
export interface CopyChunk {
  /** COPY input: text-format lines (reference) or CSV records (typed COPY), encoded, off the heap. */
  readonly text: Buffer;
  /** The last chunk of a batch. */
  readonly endsBatch: boolean;
}

/** What one read of an export showed as it streamed past: filled by the transform, read by the load. */
export interface ExportSeen {
  readonly stats: TransformStats;
  /** The first rejects, kept in memory for a window that fails (its staging table is rolled back). */
  readonly firstRejects: Reject[];
  readonly campaigns: CampaignsSeen;
}

/** A query the load runs for the transform, and what the transform takes from its rows. */
export interface StagingQuery {
  sql(): string;
  take(rows: readonly Record<string, unknown>[]): void;
}

/**
 * One read of an export, staged in batches. The load drives it: for each batch, `setupSql`, then
 * COPY of the batch's chunks with `copySql`, `afterCopy`, the merge of `staged()` rows, and
 * TRUNCATE of `table`; after the last batch, `finish`.
 */
export interface StagedBatches {
  readonly path: LoadPath;
  readonly seen: ExportSeen;
  readonly chunks: AsyncIterable<CopyChunk>;
  /** Settings the whole staging needs (SET LOCAL), restored after it. */
  readonly settings: Readonly<Record<string, string>>;
  /** Before each batch's COPY, once the header is known: the statements that ready the staging tables. */
  setupSql(): readonly string[];
  copySql(): string;
  /** What a failed COPY of a batch means on this path (the error itself, or one that says more). */
  copyFailed(error: unknown): unknown;
  /** After each batch's COPY, before its merge; null when the path needs nothing. */
  readonly afterCopy: StagingQuery | null;
  /** The batch's rows, as the upsert reads them. */
  staged(): StagedRows;
  /** The ids seen so far strictly increase, so none can repeat across batches. */
  idsAscending(): boolean;
  /** SQL selecting the canonical ids (`voucher_id`) of the batch's rejects that have one; null when the path has no rejects. */
  readonly rejectIdsSql: string | null;
  /** SQL selecting the batch's rejects (`line, written_id, raw_record, reason`), in line order; null when the path has none. */
  readonly rejectsSql: string | null;
  /** The staging table, emptied after each batch. */
  readonly table: string;
  /** After the last batch; null when the path needs nothing. */
  readonly finish: StagingQuery | null;
  /** Why `error` means only that this path cannot load the export exactly (so another should), or null. */
  cannotBeExact(error: unknown): string | null;
  /** Why the export cannot show which vouchers it lacks (a full refresh then deletes nothing), or null; final once the chunks are exhausted. */
  unaccounted(): string | null;
}

export interface StageContext {
  readonly chainId: number;
  /** Expiries at or after this instant mean "no real expiry". */
  readonly noExpiryFrom: Date;
  readonly maxRecordBytes: number;
  /** Rows per batch; Infinity stages the whole export as one. */
  readonly batchRows: number;
  readonly logger: Logger;
}

/** Makes the staging of one read of an export on a path (transform/stage-export.ts). */
export type StageExport = (path: LoadPath, source: AsyncIterable<Buffer | string>, context: StageContext) => StagedBatches;
