import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TransformError } from '../../../src/errors.js';
import { mapHeader } from '../../../src/transform/header-map.js';
import type { HeaderMap } from '../../../src/voucher/staged-export.js';
import { VOUCHER_COLUMNS } from '../../../src/voucher/voucher-table.js';

/** The simulator's default header (issue "Foundation"). */
const DEFAULT_HEADER = [
  'id', 'voucher_key', 'chain_id', 'user_id', 'campaign_id', 'campaign_type', 'campaign_title', 'type', 'status', 'locked',
  'title', 'currency_id', 'currency_symbol', 'amount_original', 'amount_redeemed', 'amount', 'date_time_creation',
  'date_time_redeemed', 'date_time_expiry',
];
/** The same columns under the classic `voucher_*` API names. */
const CLASSIC_HEADER = [
  'voucher_id', 'voucher_key', 'chain_id', 'user_id', 'campaign_id', 'campaign_type', 'campaign_title', 'voucher_type',
  'voucher_status', 'voucher_locked', 'voucher_title', 'voucher_currency_id', 'voucher_currency_symbol',
  'voucher_amount_original', 'voucher_amount_redeemed', 'voucher_amount', 'voucher_created_datetime',
  'voucher_redeemed_datetime', 'voucher_expiry_datetime_utc',
];
const ALL_COLUMNS = VOUCHER_COLUMNS.map((c) => c.name);

/** Column name → position in the CSV. */
const positions = (map: HeaderMap): Record<string, number> => Object.fromEntries(map.columns.map((c) => [c.column.name, c.index]));

function assertTransformError(fn: () => unknown, code: string, ...messages: RegExp[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof TransformError, `expected TransformError, got ${String(error)}`);
    assert.equal(error.code, code);
    for (const message of messages) assert.match(error.message, message);
    return true;
  });
}

describe('mapHeader', () => {
  it('maps the default header onto every column, in file order', () => {
    const map = mapHeader(DEFAULT_HEADER);
    assert.deepEqual(map.headers, DEFAULT_HEADER);
    assert.deepEqual(positions(map), {
      voucher_id: 0, voucher_key: 1, user_id: 3, campaign_id: 4, campaign_type: 5, campaign_title: 6, voucher_type: 7,
      status: 8, locked: 9, title: 10, currency_id: 11, currency_symbol: 12, amount_original: 13, amount_redeemed: 14,
      amount: 15, created_at: 16, redeemed_at: 17, expires_at: 18,
    });
    assert.equal(map.chainIndex, 2);
    assert.deepEqual(map.unknown, []);
    assert.deepEqual(map.volatile, []);
    assert.deepEqual([...map.present].sort(), [...ALL_COLUMNS, 'is_redeemed', 'has_real_expiry'].sort());
  });

  it('maps the classic voucher_* header to the same columns', () => {
    const classic = mapHeader(CLASSIC_HEADER);
    assert.deepEqual(positions(classic), positions(mapHeader(DEFAULT_HEADER)));
    assert.equal(classic.chainIndex, 2);
    assert.deepEqual(classic.unknown, []);
    assert.deepEqual([...classic.present].sort(), [...mapHeader(DEFAULT_HEADER).present].sort());
  });

  it('accepts the other documented names of a column', () => {
    const map = mapHeader(['voucher_id', 'key', 'voucher_user_id', 'voucher_campaign_id', 'created_date', 'voucher_chain_id', 'voucher_expiry_datetime']);
    assert.deepEqual(positions(map), { voucher_id: 0, voucher_key: 1, user_id: 2, campaign_id: 3, created_at: 4, expires_at: 6 });
    assert.equal(map.chainIndex, 5);
  });

  it('matches headers ignoring case and surrounding whitespace, keeping them as written (trimmed)', () => {
    const map = mapHeader(['  ID ', 'Status', '\tDATE_TIME_EXPIRY', 'Voucher_Amount  ', ' Chain_Id']);
    assert.deepEqual(map.headers, ['ID', 'Status', 'DATE_TIME_EXPIRY', 'Voucher_Amount', 'Chain_Id']);
    assert.deepEqual(positions(map), { voucher_id: 0, status: 1, expires_at: 2, amount: 3 });
    assert.equal(map.chainIndex, 4);
    assert.deepEqual(map.unknown, []);
  });

  it('reports unknown columns with their position and header as written', () => {
    const map = mapHeader(['id', 'Loyalty_Tier', 'status', ' store name ']);
    assert.deepEqual(map.unknown, [
      { index: 1, header: 'Loyalty_Tier' },
      { index: 3, header: 'store name' },
    ]);
    assert.deepEqual(positions(map), { voucher_id: 0, status: 2 });
  });

  it('ignores clock-derived *seconds_remaining columns: neither a column nor unknown', () => {
    const map = mapHeader(['id', 'voucher_expiry_seconds_remaining', 'status', 'Seconds_Remaining']);
    assert.deepEqual(map.volatile, ['voucher_expiry_seconds_remaining', 'Seconds_Remaining']);
    assert.deepEqual(map.unknown, []);
    assert.deepEqual(positions(map), { voucher_id: 0, status: 2 });
    assert.equal(map.present.has('voucher_expiry_seconds_remaining'), false);
  });

  it('detects the chain id column without making it a stored column', () => {
    assert.equal(mapHeader(['id', 'chain_id']).chainIndex, 1);
    assert.equal(mapHeader(['voucher_chain_id', 'id']).chainIndex, 0);
    assert.equal(mapHeader(['id']).chainIndex, null);
    assert.equal(mapHeader(['id', 'chain_id']).present.has('chain_id'), false);
  });

  it('lists derived columns as present only when their source column is', () => {
    assert.deepEqual([...mapHeader(['id']).present], ['voucher_id']);
    assert.deepEqual([...mapHeader(['id', 'status']).present].sort(), ['is_redeemed', 'status', 'voucher_id']);
    assert.deepEqual([...mapHeader(['id', 'date_time_expiry']).present].sort(), ['expires_at', 'has_real_expiry', 'voucher_id']);
    const withoutExpiry = mapHeader(DEFAULT_HEADER.filter((h) => h !== 'date_time_expiry'));
    assert.equal(withoutExpiry.present.has('expires_at'), false);
    assert.equal(withoutExpiry.present.has('has_real_expiry'), false);
    assert.equal(withoutExpiry.present.has('is_redeemed'), true);
    const withoutStatus = mapHeader(DEFAULT_HEADER.filter((h) => h !== 'status'));
    assert.equal(withoutStatus.present.has('is_redeemed'), false);
    assert.equal(withoutStatus.present.has('has_real_expiry'), true);
  });

  it('fails without a voucher id column, naming the column and the headers seen', () => {
    assertTransformError(
      () => mapHeader(['voucher_key', 'Status', 'amount']),
      'csv_header_missing_id',
      /no voucher id column \(expected one of: id, voucher_id\)/,
      /the headers seen were: "voucher_key", "Status", "amount"\./,
    );
    assertTransformError(() => mapHeader([]), 'csv_header_missing_id', /the headers seen were: \(none\)\./);
    assertTransformError(() => mapHeader(['']), 'csv_header_missing_id', /the headers seen were: ""\./);
    // An id-looking column that is not the id is not enough.
    assertTransformError(() => mapHeader(['user_id', 'campaign_id', 'chain_id']), 'csv_header_missing_id', /"user_id", "campaign_id", "chain_id"/);
  });

  it('fails when two headers map to one column, naming both', () => {
    assertTransformError(() => mapHeader(['id', 'status', 'voucher_id']), 'csv_header_ambiguous', /"id" and "voucher_id" both map to the column voucher_id/);
    assertTransformError(() => mapHeader(['id', 'Amount', ' voucher_amount ']), 'csv_header_ambiguous', /"Amount" and "voucher_amount" both map to the column amount/);
    assertTransformError(() => mapHeader(['id', 'status', 'STATUS']), 'csv_header_ambiguous', /"status" and "STATUS"/);
    assertTransformError(() => mapHeader(['id', 'date_time_creation', 'created_date']), 'csv_header_ambiguous', /column created_at/);
  });

  it('fails when two headers name the chain', () => {
    assertTransformError(() => mapHeader(['id', 'chain_id', 'voucher_chain_id']), 'csv_header_ambiguous', /"chain_id" and "voucher_chain_id" both name the chain/);
  });

  it('gives a repeated unknown column a name of its own, never one already taken, and says so', () => {
    const map = mapHeader(['id', 'note', 'note', 'note_2', 'note', 'Note']);
    assert.deepEqual(map.unknown.map((u) => [u.index, u.header]), [[1, 'note'], [2, 'note_3'], [3, 'note_2'], [4, 'note_4'], [5, 'Note']]);
    assert.equal(new Set(map.unknown.map((u) => u.header)).size, map.unknown.length);
    assert.deepEqual(map.warnings, [
      'the CSV has the column "note" more than once; the repeat is kept in vouchers.extra as "note_3"',
      'the CSV has the column "note" more than once; the repeat is kept in vouchers.extra as "note_4"',
    ]);
    assert.deepEqual(mapHeader(['id', 'note']).warnings, []);
  });

  it('marks the error as the transform stage and not retryable', () => {
    try {
      mapHeader(['status']);
      assert.fail('expected an error');
    } catch (error) {
      assert.ok(error instanceof TransformError);
      assert.equal(error.stage, 'transform');
      assert.equal(error.retryable, false);
    }
  });
});
