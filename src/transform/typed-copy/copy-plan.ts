/**
 * The typed COPY path's half of the transform, generated from the declared voucher table: for an
 * export whose header maps cleanly, the staging table its bytes are copied into as they are
 * (`COPY … (FORMAT csv)`, PostgreSQL typing each field), the check each field must pass in Node
 * for PostgreSQL's typing to equal the reference's (exactness-scanner.ts), and the SQL that turns a
 * staged record into the warehouse row: trim and lower-case rules, campaign 0, the derived
 * columns, unknown columns into `extra`. What normalize-record.ts does in JavaScript, this does in
 * SQL; the differential test holds the two equal.
 */
import { TRIMMED_CHARACTERS } from '../clean-text.js';
import type { HeaderMap } from '../../voucher/staged-export.js';
import { DERIVED_COLUMNS, VOUCHER_COLUMNS, type ColumnType, type TextClean, type VoucherColumn } from '../../voucher/voucher-table.js';

export const COPY_TABLE = 'voucher_copy';
export const EXPORT_CAMPAIGNS_TABLE = 'voucher_export_campaigns';

/**
 * What a field's bytes must be for PostgreSQL to read them exactly as the reference would:
 * `integer`, `decimal`, `boolean`, `timestamp`: the reference's own forms, minus those where the
 * two could differ; `ascii`: text of ASCII characters only (it is lower-cased); `chain`: empty or
 * the chain being loaded; `any`: text, stored or ignored as it is.
 */
export type FieldCheck = 'integer' | 'decimal' | 'boolean' | 'timestamp' | 'ascii' | 'chain' | 'any';

export interface CopyField {
  readonly check: FieldCheck;
  /** The declared clean-up of the field's column: the scanner notes whether any value needs it. */
  readonly clean: TextClean | null;
  /** An empty field is a reject on the reference path (the voucher id, the status). */
  readonly required: boolean;
  /** The field is the voucher id (its order decides whether ids repeat across batches). */
  readonly isId: boolean;
}

export interface CopyPlan {
  /** One per CSV field, in the header's order. */
  readonly fields: readonly CopyField[];
  readonly createTableSql: string;
  readonly createCampaignsTableSql: string;
  readonly copySql: string;
  /**
   * The staged records as warehouse rows (`voucher_id`, every declared column, `extra`, `line`),
   * given the fields whose values may need their clean-up.
   */
  rows(cleaned: ReadonlySet<number>): string;
  /** Gathers a batch's campaigns into EXPORT_CAMPAIGNS_TABLE and counts its inconsistent rows (column `inconsistent`). */
  gather(cleaned: ReadonlySet<number>): string;
}

export interface CopyPlanContext {
  /** Expiries at or after this instant mean "no real expiry". */
  readonly noExpiryFrom: Date;
  /** Quotes a text as an SQL literal (pg's escapeLiteral). */
  readonly literal: (text: string) => string;
}

const CHECK_BY_TYPE: Readonly<Record<Exclude<ColumnType, 'text'>, FieldCheck>> = {
  bigint: 'integer',
  integer: 'integer',
  numeric: 'decimal',
  boolean: 'boolean',
  timestamptz: 'timestamp',
};

const field = (index: number) => `f${index}`;

export function planTypedCopy(map: HeaderMap, context: CopyPlanContext): CopyPlan {
  const byIndex = new Map<number, VoucherColumn>(map.columns.map((c) => [c.index, c.column]));
  const fields: CopyField[] = map.headers.map((_, index) => {
    const column = byIndex.get(index);
    if (index === map.chainIndex) return { check: 'chain', clean: null, required: false, isId: false };
    if (!column) return { check: 'any', clean: null, required: false, isId: false };
    const check = column.type === 'text' ? (column.clean === 'trim-lower' ? 'ascii' : 'any') : CHECK_BY_TYPE[column.type];
    return { check, clean: column.clean ?? null, required: column.required ?? false, isId: column.name === 'voucher_id' };
  });
  const columnTypes = map.headers.map((_, index) => `${field(index)} ${byIndex.get(index)?.type ?? 'text'}`);
  const names = map.headers.map((_, index) => field(index));

  return {
    fields,
    createTableSql: `CREATE TEMP TABLE ${COPY_TABLE} (${[...columnTypes, 'line bigint GENERATED ALWAYS AS IDENTITY'].join(', ')}) ON COMMIT DROP`,
    createCampaignsTableSql: `CREATE TEMP TABLE ${EXPORT_CAMPAIGNS_TABLE} (campaign_id bigint PRIMARY KEY, campaign_type text, title text, line bigint NOT NULL) ON COMMIT DROP`,
    // Quoted empty fields are NULL too, as the reference reads every empty cell.
    copySql: `COPY ${COPY_TABLE} (${names.join(', ')}) FROM STDIN WITH (FORMAT csv, FORCE_NULL (${names.join(', ')}))`,
    rows: (cleaned) => rowsSql(map, context, cleaned),
    gather: (cleaned) => gatherSql(map, rowsSql(map, context, cleaned)),
  };
}

/**
 * The normalized rows. `cleaned` holds the fields whose values may need their column's clean-up
 * (the scanner saw white space at an edge, or a capital letter): the others are already clean, and
 * trimming them would only cost time (btrim over a multi-byte set is most of the SQL's work).
 */
function rowsSql(map: HeaderMap, context: CopyPlanContext, cleaned: ReadonlySet<number>): string {
  const expression = new Map<string, string>();
  for (const { index, column } of map.columns) expression.set(column.name, cleaned.has(index) ? cleanedSql(column, field(index)) : field(index));
  const campaign = expression.get('campaign_id');
  // Campaign 0 is Spaaza's "no campaign".
  if (campaign !== undefined) expression.set('campaign_id', `nullif(${campaign}, 0)`);
  const status = expression.get('status');
  const expiry = expression.get('expires_at');
  if (map.present.has('is_redeemed')) expression.set('is_redeemed', `(${status} = 'redeemed')`);
  if (map.present.has('has_real_expiry')) expression.set('has_real_expiry', `(${expiry} < ${context.literal(context.noExpiryFrom.toISOString())}::timestamptz)`);
  const extra = map.unknown.length === 0
    ? 'NULL::jsonb'
    : `jsonb_object(ARRAY[${map.unknown.map((u) => context.literal(u.header)).join(', ')}]::text[], ARRAY[${map.unknown.map((u) => field(u.index)).join(', ')}]::text[])`;
  const dataColumns = [...VOUCHER_COLUMNS, ...DERIVED_COLUMNS];
  return `SELECT ${[
    ...dataColumns.map((c) => `${expression.get(c.name) ?? `NULL::${c.type}`} AS ${c.name}`),
    `${extra} AS extra`,
    'line',
  ].join(', ')} FROM ${COPY_TABLE}`;
}

/**
 * One pass over a staged batch for what the reference path counts in Node: its inconsistent
 * rows, and each campaign's type and title from its last line, merged over earlier batches (later
 * lines win, as CampaignsSeen keeps them). Grouped by campaign, type and title first: a
 * campaign's rows nearly all agree, so only a few groups are sorted, not every row.
 */
function gatherSql(map: HeaderMap, rows: string): string {
  const inconsistentRows = `count(*) FILTER (WHERE ${inconsistent(map.present)})`;
  if (!map.present.has('campaign_id')) return `SELECT ${inconsistentRows} AS inconsistent FROM (${rows}) r`;
  const type = map.present.has('campaign_type') ? 'r.campaign_type' : 'NULL::text';
  const title = map.present.has('campaign_title') ? 'r.campaign_title' : 'NULL::text';
  return `WITH groups AS (
      SELECT r.campaign_id, ${type} AS campaign_type, ${title} AS title, max(r.line) AS line, ${inconsistentRows} AS inconsistent
      FROM (${rows}) r GROUP BY 1, 2, 3
    ), gathered AS (
      INSERT INTO ${EXPORT_CAMPAIGNS_TABLE} AS c (campaign_id, campaign_type, title, line)
      SELECT DISTINCT ON (campaign_id) campaign_id, campaign_type, title, line FROM groups WHERE campaign_id IS NOT NULL ORDER BY campaign_id, line DESC
      ON CONFLICT (campaign_id) DO UPDATE SET campaign_type = EXCLUDED.campaign_type, title = EXCLUDED.title, line = EXCLUDED.line
      WHERE c.line < EXCLUDED.line
    )
    SELECT coalesce(sum(inconsistent), 0) AS inconsistent FROM groups`;
}

/** The column's value from its staged field, with the declared clean-up rule. */
function cleanedSql(column: VoucherColumn, staged: string): string {
  if (column.clean === undefined) return staged;
  const trimmed = `btrim(${staged}, ${TRIM_SET})`;
  // The scanner let only ASCII through a lower-cased field, where "C" lower-cases as JavaScript does.
  return `nullif(${column.clean === 'trim-lower' ? `lower(${trimmed} COLLATE "C")` : trimmed}, '')`;
}

/**
 * The characters String.prototype.trim removes, as an SQL text expression: chr() calls, which fold
 * to a constant and, unlike U& literals, do not depend on standard_conforming_strings.
 */
const TRIM_SET = `(${TRIMMED_CHARACTERS.map((c) => `chr(${c})`).join(' || ')})`;

/** normalize-record.ts's isInconsistent, in SQL over a normalized row `r`. */
function inconsistent(present: ReadonlySet<string>): string {
  if (!present.has('status')) return 'false';
  const checks: string[] = [];
  if (present.has('redeemed_at')) checks.push(`((r.status = 'redeemed') <> (r.redeemed_at IS NOT NULL))`);
  if (present.has('amount_redeemed')) checks.push(`(r.status <> 'redeemed' AND coalesce(r.amount_redeemed > 0, false))`);
  if (checks.length === 0) return 'false';
  return `r.status IS NOT NULL AND (${checks.join(' OR ')})`;
}
