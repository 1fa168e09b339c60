// The load stage against a real PostgreSQL: one atomic transaction per window, idempotent,
// never older-over-newer, and untouched tables after any failure.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { WindowLoadError } from '../../../src/load/load-window.js';
import { readWatermark } from '../../../src/warehouse/sync-state.js';
import { warehouseTables } from '../../../src/warehouse/tables.js';
import type { Warehouse } from '../../../src/warehouse/warehouse.js';
import { loadCsv } from '../../support/load.js';
import { CHAIN, START_SECONDS, newDataset, renderCsv } from '../../support/voucher-csv.js';
import { fingerprint, openTestWarehouse, withSchema } from '../../support/warehouse.js';

let warehouse: Warehouse;
before(async () => {
  warehouse = await openTestWarehouse();
});
after(async () => {
  await warehouse?.close();
});

const T1 = new Date('2026-05-26T12:00:00Z');
const T2 = new Date('2026-05-27T12:00:00Z');

async function tableState(schema: string): Promise<string[]> {
  return Promise.all(['vouchers', 'campaigns', 'sync_state'].map((t) => fingerprint(warehouse, `"${schema}".${t}`)));
}

async function runRow(schema: string, id: number) {
  const { rows } = await warehouse.pool.query(`SELECT * FROM "${schema}".sync_runs WHERE id = $1`, [id]);
  return rows[0] as Record<string, unknown>;
}

describe('loading a window', () => {
  it('loads every live voucher of an export with exact values', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const dataset = newDataset(500);
      const csv = renderCsv(dataset);
      const result = await loadCsv(warehouse, schema, csv);
      const records = parse(csv, { columns: true }) as Record<string, string>[];
      assert.equal(result.rowsRead, records.length);
      assert.equal(result.inserted, records.length);
      assert.equal(result.rejected, 0);

      const { rows } = await warehouse.pool.query(
        `SELECT voucher_id::text, voucher_key, user_id::text, campaign_id::text, campaign_type, campaign_title, voucher_type, status, locked,
                title, currency_id, currency_symbol, amount_original::text, amount_redeemed::text, amount::text,
                to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created,
                to_char(redeemed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS redeemed,
                to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS expires,
                is_redeemed, has_real_expiry, first_seen_run_id, source_exported_at
         FROM "${schema}".vouchers WHERE chain_id = $1 ORDER BY voucher_id`,
        [CHAIN],
      );
      assert.equal(rows.length, records.length);
      rows.forEach((row, i) => {
        const r = records[i]!;
        assert.equal(row.voucher_id, r.id);
        assert.equal(row.voucher_key, r.voucher_key);
        assert.equal(row.user_id, r.user_id || null);
        assert.equal(row.campaign_title, r.campaign_title!.trim());
        assert.equal(row.title, r.title, 'titles with quotes, commas, newlines and non-ASCII survive');
        assert.equal(row.status, r.status);
        assert.equal(row.locked, r.locked === 'true');
        assert.equal(row.amount_original, r.amount_original);
        assert.equal(row.amount, r.amount);
        assert.equal(row.created, r.date_time_creation);
        assert.equal(row.redeemed, r.date_time_redeemed || null);
        assert.equal(row.expires, r.date_time_expiry || null);
        assert.equal(row.is_redeemed, r.status === 'redeemed');
        assert.equal(row.has_real_expiry, r.date_time_expiry ? !r.date_time_expiry.startsWith('2050') : null);
        assert.equal(Number(row.first_seen_run_id), result.syncRunId);
        assert.equal((row.source_exported_at as Date).toISOString(), T1.toISOString());
      });
      const campaigns = await warehouse.pool.query(`SELECT count(*)::int AS n FROM "${schema}".campaigns`);
      assert.equal(campaigns.rows[0].n, new Set(records.map((r) => r.campaign_id)).size);
      const run = await runRow(schema, result.syncRunId);
      assert.equal(run.state, 'committed');
      assert.equal(Number(run.rows_inserted), records.length);
    });
  });

  it('writes nothing when the same export is loaded twice', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const csv = renderCsv(newDataset(300));
      await loadCsv(warehouse, schema, csv);
      const versions = async () => (await warehouse.pool.query(`SELECT string_agg(xmin::text, ',' ORDER BY voucher_id) AS v FROM "${schema}".vouchers`)).rows[0].v;
      const campaignVersions = async () => (await warehouse.pool.query(`SELECT string_agg(xmin::text, ',' ORDER BY campaign_id) AS v FROM "${schema}".campaigns`)).rows[0].v;
      const [before1, before2] = [await versions(), await campaignVersions()];
      const again = await loadCsv(warehouse, schema, csv);
      assert.equal(again.inserted, 0);
      assert.equal(again.updated, 0);
      assert.equal(again.unchanged, again.rowsRead);
      assert.equal(again.campaignsWritten, 0);
      assert.equal(await versions(), before1, 'no voucher row version changed');
      assert.equal(await campaignVersions(), before2, 'no campaign row version changed');
    });
  });

  it('applies a newer export and never lets an older one overwrite it', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const dataset = newDataset(200);
      const older = renderCsv(dataset);
      const target = [...dataset.vouchers(dataset.snapshot(CHAIN, START_SECONDS))].find((v) => v.status === 'claimed' && !v.deleted)!;
      dataset.redeem(target.id, START_SECONDS + 86_400);
      dataset.lock(target.id - 0, true);
      const newer = renderCsv(dataset, START_SECONDS + 86_400);

      const first = await loadCsv(warehouse, schema, newer, { exportedAt: T2 });
      assert.ok(first.inserted > 0);
      const stale = await loadCsv(warehouse, schema, older, { exportedAt: T1 });
      assert.equal(stale.inserted, 0);
      assert.equal(stale.updated, 0, 'the older export wrote nothing');
      const { rows } = await warehouse.pool.query(`SELECT status, locked, source_exported_at FROM "${schema}".vouchers WHERE voucher_id = $1`, [target.id]);
      assert.deepEqual({ status: rows[0].status, locked: rows[0].locked }, { status: 'redeemed', locked: true });
      assert.equal((rows[0].source_exported_at as Date).toISOString(), T2.toISOString());

      // The regenerated voucher of a partial redemption, or any new one, arrives with a later export.
      const updated = await loadCsv(warehouse, schema, newer, { exportedAt: new Date('2026-05-28T00:00:00Z') });
      assert.equal(updated.updated, 0, 'same content, newer export: still nothing to write');
    });
  });

  it('revives a soft-deleted voucher that comes back and keeps columns the file lacks', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const dataset = newDataset(50);
      await loadCsv(warehouse, schema, renderCsv(dataset));
      const id = [...dataset.vouchers(dataset.snapshot(CHAIN, START_SECONDS))].find((v) => !v.deleted)!.id;
      await warehouse.pool.query(`UPDATE "${schema}".vouchers SET deleted_at = now() WHERE voucher_id = $1`, [id]);
      const withoutTitle = renderCsv(dataset, START_SECONDS, { dropColumns: ['title'] });
      const result = await loadCsv(warehouse, schema, withoutTitle, { exportedAt: T2 });
      assert.equal(result.updated, 1, 'only the soft-deleted voucher changed');
      const { rows } = await warehouse.pool.query(`SELECT deleted_at, title FROM "${schema}".vouchers WHERE voucher_id = $1`, [id]);
      assert.equal(rows[0].deleted_at, null);
      assert.equal(rows[0].title, dataset.get(id).title, 'the title the file lacks is kept');
    });
  });

  it('keeps unknown columns in extra and counts duplicates (the last line wins)', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const csv = 'id,status,amount,loyalty_tier\n7,claimed,1.00,gold\n8,claimed,2.00,\n7,redeemed,3.00,silver\n';
      const result = await loadCsv(warehouse, schema, csv);
      assert.equal(result.duplicates, 1);
      assert.deepEqual(result.unknownColumns, ['loyalty_tier']);
      const { rows } = await warehouse.pool.query(`SELECT voucher_id::int AS id, status, amount::text, extra FROM "${schema}".vouchers ORDER BY voucher_id`);
      assert.deepEqual(rows, [
        { id: 7, status: 'redeemed', amount: '3.00', extra: { loyalty_tier: 'silver' } },
        { id: 8, status: 'claimed', amount: '2.00', extra: { loyalty_tier: null } },
      ]);
      const run = await runRow(schema, result.syncRunId);
      assert.deepEqual(run.unknown_columns, ['loyalty_tier']);
      assert.equal(Number(run.rows_duplicate), 1);
    });
  });
});

describe('rejects', () => {
  it('stores each bad row with its line and reason, and loads the rest', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const csv = renderCsv(newDataset(300), START_SECONDS, {
        malformedRows: [
          { row: 2, kind: 'bad_timestamp' },
          { row: 5, kind: 'too_few_fields' },
          { row: 9, kind: 'bad_id' },
        ],
      });
      const result = await loadCsv(warehouse, schema, csv);
      assert.equal(result.rejected, 3);
      assert.equal(result.rejectsWithoutId, 1, 'the id "not-a-number" names no voucher');
      const { rows } = await warehouse.pool.query(`SELECT line::int, voucher_id, reason, raw_record FROM "${schema}".voucher_rejects WHERE sync_run_id = $1 ORDER BY line`, [result.syncRunId]);
      assert.equal(rows.length, 3);
      // The line where data row N starts: count the line breaks (quoted ones too) before it.
      const records = parse(csv, { relax_column_count: true, raw: true }) as unknown as { raw: string }[];
      const startLine = (dataRow: number) => 1 + records.slice(0, dataRow).reduce((n, r) => n + (r.raw.match(/\r\n|\r|\n/g)?.length ?? 0), 0);
      assert.deepEqual(rows.map((r) => r.line), [startLine(2), startLine(5), startLine(9)]);
      assert.match(rows[0].reason, /created_at \(date_time_creation\): "31\/02\/2026 25:61" is not a timestamp/);
      assert.match(rows[1].reason, /expected 19 fields as in the header, found 16/);
      assert.match(rows[2].reason, /voucher_id \(id\): "not-a-number" is not a whole number/);
      assert.equal(rows[2].voucher_id, 'not-a-number');
      assert.ok(rows.every((r) => r.raw_record.length > 10));
      assert.equal(result.inserted, result.rowsRead - 3);
    });
  });

  it('fails the window above the reject ratio, keeping its first rejects and nothing else', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const dataset = newDataset(10_000);
      await loadCsv(warehouse, schema, renderCsv(dataset));
      const state = await tableState(schema);
      const malformedRows = Array.from({ length: 150 }, (_, i) => ({ row: i * 60 + 1, kind: 'bad_amount' as const }));
      const csv = renderCsv(dataset, START_SECONDS, { malformedRows });
      const error = await loadCsv(warehouse, schema, csv, { exportedAt: T2 }).then(
        () => assert.fail('expected the window to fail'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof WindowLoadError);
      assert.equal(error.code, 'too_many_rejects');
      assert.match(error.message, /150 of \d+ rows were rejected/);
      assert.deepEqual(await tableState(schema), state, 'vouchers, campaigns and sync_state unchanged');
      const { rows } = await warehouse.pool.query(`SELECT r.state, r.error_code, count(j.*)::int AS rejects FROM "${schema}".sync_runs r LEFT JOIN "${schema}".voucher_rejects j ON j.sync_run_id = r.id WHERE r.state = 'failed' GROUP BY r.id`);
      assert.deepEqual(rows, [{ state: 'failed', error_code: 'too_many_rejects', rejects: 150 }]);

      const tolerant = await loadCsv(warehouse, schema, csv, { exportedAt: T2, maxRejectRatio: 0.02 });
      assert.equal(tolerant.rejected, 150, 'a higher ratio for one run lets it through');
    });
  });

  it('tolerates up to 100 rejects whatever the ratio', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const malformedRows = Array.from({ length: 100 }, (_, i) => ({ row: i + 1, kind: 'bad_boolean' as const }));
      const result = await loadCsv(warehouse, schema, renderCsv(newDataset(200), START_SECONDS, { malformedRows }));
      assert.equal(result.rejected, 100);
    });
  });
});

describe('failures leave the warehouse exactly as it was', () => {
  async function prepared(schema: string) {
    const dataset = newDataset(3000);
    const base = await loadCsv(warehouse, schema, renderCsv(dataset), {
      mode: 'incremental',
      watermark: { stream: 'vouchers', windowStart: null, windowEnd: T1 },
    });
    assert.equal(base.watermarkMoved, true);
    for (const v of [...dataset.vouchers(dataset.snapshot(CHAIN, START_SECONDS))].filter((x) => x.status === 'generated' && !x.deleted).slice(0, 50)) {
      dataset.claim(v.id);
    }
    dataset.create(CHAIN, START_SECONDS + 60);
    return { next: renderCsv(dataset, START_SECONDS + 3600), state: await tableState(schema) };
  }

  async function assertFailedCleanly(schema: string, state: string[], attempt: Promise<unknown>, code?: string | RegExp) {
    const error = await attempt.then(
      () => assert.fail('expected the load to fail'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof WindowLoadError, String(error));
    if (code) assert.match(error.code, code instanceof RegExp ? code : new RegExp(`^${code}$`));
    assert.deepEqual(await tableState(schema), state);
    const client = await warehouse.pool.connect();
    try {
      assert.equal((await readWatermark(client, warehouseTables(schema), CHAIN, 'vouchers'))?.toISOString(), T1.toISOString());
    } finally {
      client.release();
    }
    return error;
  }

  const advance = { stream: 'vouchers', windowStart: T1, windowEnd: T2 };

  it('in the middle of COPY', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const { next, state } = await prepared(schema);
      const attempt = loadCsv(warehouse, schema, next, {
        exportedAt: T2,
        watermark: advance,
        hooks: {
          midCopy: (rows) => {
            if (rows > 0) throw new Error('injected failure mid-COPY');
          },
        },
      });
      const error = await assertFailedCleanly(schema, state, attempt);
      assert.equal(error.recorded, true);
      const failed = await warehouse.pool.query(`SELECT state, error_message FROM "${schema}".sync_runs WHERE state = 'failed'`);
      assert.deepEqual(failed.rows, [{ state: 'failed', error_message: 'injected failure mid-COPY' }]);
    });
  });

  it('in the upsert', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const { next, state } = await prepared(schema);
      // A real error raised by PostgreSQL while the upsert writes a row.
      await warehouse.pool.query(`
        CREATE FUNCTION "${schema}".refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.status = 'claimed' AND OLD.status = 'generated' THEN RAISE EXCEPTION 'refused by test trigger'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER refuse BEFORE UPDATE ON "${schema}".vouchers FOR EACH ROW EXECUTE FUNCTION "${schema}".refuse();`);
      await assertFailedCleanly(schema, state, loadCsv(warehouse, schema, next, { exportedAt: T2, watermark: advance }), 'sqlstate_P0001');
    });
  });

  it('just before COMMIT', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const { next, state } = await prepared(schema);
      const hooks = { beforeCommit: () => Promise.reject(new Error('injected failure before commit')) };
      await assertFailedCleanly(schema, state, loadCsv(warehouse, schema, next, { exportedAt: T2, watermark: advance, hooks }));
    });
  });

  it('when its connection is killed with pg_terminate_backend mid-load', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const { next, state } = await prepared(schema);
      let pid = 0;
      const attempt = loadCsv(warehouse, schema, next, {
        exportedAt: T2,
        watermark: advance,
        onPid: (p) => (pid = p),
        hooks: {
          midCopy: async (rows) => {
            if (rows > 0) await warehouse.pool.query('SELECT pg_terminate_backend($1)', [pid]);
          },
        },
      });
      const error = await assertFailedCleanly(schema, state, attempt);
      assert.equal(error.recorded, false, 'the dead connection could not record the failure');
    });
  });

  it('and a clean retry then commits and moves the watermark', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const { next } = await prepared(schema);
      const result = await loadCsv(warehouse, schema, next, { exportedAt: T2, watermark: advance });
      assert.equal(result.updated, 50);
      assert.equal(result.inserted, 1);
      assert.equal(result.watermarkMoved, true);
    });
  });
});

describe('the watermark', () => {
  it('moves only forward, and only for a window contiguous with it', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const csv = 'id,status\n1,claimed\n';
      const at = (iso: string) => new Date(iso);
      const load = (windowStart: Date | null, windowEnd: Date) => loadCsv(warehouse, schema, csv, { watermark: { stream: 'vouchers', windowStart, windowEnd } });
      assert.equal((await load(at('2026-01-01T00:00:00Z'), at('2026-01-31T00:00:00Z'))).watermarkMoved, true, 'the first window sets it');
      assert.equal((await load(at('2026-01-30T00:00:00Z'), at('2026-02-28T00:00:00Z'))).watermarkMoved, true, 'an overlapping window moves it');
      assert.equal((await load(at('2026-03-05T00:00:00Z'), at('2026-03-31T00:00:00Z'))).watermarkMoved, false, 'a detached window leaves it');
      assert.equal((await load(at('2026-01-01T00:00:00Z'), at('2026-02-01T00:00:00Z'))).watermarkMoved, false, 'an earlier end never moves it back');
      assert.equal((await load(null, at('2026-02-27T00:00:00Z'))).watermarkMoved, false);
      assert.equal((await load(null, at('2026-03-10T00:00:00Z'))).watermarkMoved, true, 'an unfiltered export covers everything before its end');
      const client = await warehouse.pool.connect();
      try {
        assert.equal((await readWatermark(client, warehouseTables(schema), CHAIN, 'vouchers'))?.toISOString(), '2026-03-10T00:00:00.000Z');
      } finally {
        client.release();
      }
    });
  });
});

describe('edge cases', () => {
  it('loads an empty file and a header-only file as zero rows', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      for (const csv of ['', 'id,status,amount\n']) {
        const result = await loadCsv(warehouse, schema, csv);
        assert.equal(result.rowsRead, 0);
        assert.equal(result.inserted, 0);
      }
    });
  });

  it('fails a window whose header has no voucher id, naming the headers it saw', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const error = await loadCsv(warehouse, schema, 'code,status\n1,claimed\n').then(
        () => assert.fail('expected a failure'),
        (e: unknown) => e as WindowLoadError,
      );
      assert.equal(error.code, 'csv_header_missing_id');
      assert.match(error.message, /"code", "status"/);
    });
  });

  it('fails a truncated file instead of loading half of it', async (t) => {
    await withSchema(warehouse, t, async (schema) => {
      const error = await loadCsv(warehouse, schema, 'id,title\n1,"ok"\n2,"cut off here').then(
        () => assert.fail('expected a failure'),
        (e: unknown) => e as WindowLoadError,
      );
      assert.equal(error.code, 'csv_truncated');
      assert.equal((await warehouse.pool.query(`SELECT count(*)::int AS n FROM "${schema}".vouchers`)).rows[0].n, 0);
    });
  });
});
