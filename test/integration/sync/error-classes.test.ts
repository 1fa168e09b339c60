/**
 * Failures during a load are told apart by the one failure table: a data error fails the window
 * at once (the export is not fetched again), a serialization failure is tried again, and a lost
 * warehouse connection stops the chain (its lock is gone) for the next run to finish.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compareWithGroundTruth } from '../../../src/simulator/compare-warehouse.js';
import type { Warehouse } from '../../../src/warehouse/warehouse.js';
import { startHarness, type Harness } from '../../support/sync-harness.js';
import { fingerprint, openTestWarehouse, withSchema } from '../../support/warehouse.js';

let warehouse: Warehouse;
before(async () => {
  warehouse = await openTestWarehouse();
});
after(async () => {
  await warehouse?.close();
});

const CHAIN = 1764;

/** A trigger on the vouchers table that runs `body` (PL/pgSQL) for each row written. */
async function installTrigger(schema: string, body: string): Promise<void> {
  await warehouse.pool.query(`
    CREATE SEQUENCE ${schema}.trigger_calls;
    CREATE FUNCTION ${schema}.misbehave() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${body} RETURN NEW; END $$;
    CREATE TRIGGER misbehave BEFORE INSERT OR UPDATE ON ${schema}.vouchers FOR EACH ROW EXECUTE FUNCTION ${schema}.misbehave();`);
}

async function removeTrigger(schema: string): Promise<void> {
  await warehouse.pool.query(`DROP TRIGGER misbehave ON ${schema}.vouchers`);
}

async function runRows(schema: string) {
  const { rows } = await warehouse.pool.query<{ id: string; state: string; error_code: string | null }>(`SELECT id, state, error_code FROM ${schema}.sync_runs ORDER BY id`);
  return rows;
}

async function scenario(t: { fullName: string; name: string }, body: (h: Harness, schema: string) => Promise<void>) {
  await withSchema(warehouse, t as never, async (schema) => {
    const h = await startHarness(warehouse, schema, { chains: 1, vouchersPerChain: 400 }, { SPAAZA_BACKFILL_START_DATE: '', SPAAZA_DOWNLOAD_ATTEMPTS: '3' });
    try {
      await body(h, schema);
    } finally {
      await h.close();
    }
  });
}

describe('failures during a load, classified by one table', () => {
  it('a data error (SQLSTATE class 22) fails the window at once: one download, warehouse unchanged', async (t) => {
    await scenario(t, async (h, schema) => {
      await installTrigger(schema, "RAISE EXCEPTION 'a value the warehouse refuses' USING ERRCODE = '22023';");
      const before = await fingerprint(warehouse, `${schema}.vouchers`);
      const report = await h.sync({ mode: 'incremental' });
      assert.equal(report.exitCode, 1);
      assert.equal(h.sim.calls().storage, 1, 'the export was fetched once, not once per attempt');
      assert.equal(report.outcomes[0]!.error?.code, 'sqlstate_22023');
      assert.deepEqual((await runRows(schema)).map((r) => [r.state, r.error_code]), [['failed', 'sqlstate_22023']]);
      assert.equal(await fingerprint(warehouse, `${schema}.vouchers`), before);
    });
  });

  it('a constraint violation (class 23) is not tried again either', async (t) => {
    await scenario(t, async (h, schema) => {
      await installTrigger(schema, "RAISE EXCEPTION 'duplicate' USING ERRCODE = '23505';");
      const report = await h.sync({ mode: 'incremental' });
      assert.equal(report.exitCode, 1);
      assert.equal(h.sim.calls().storage, 1);
    });
  });

  it('a serialization failure is tried again with a fresh URL, and the window commits', async (t) => {
    await scenario(t, async (h, schema) => {
      await installTrigger(schema, `IF nextval('${schema}.trigger_calls') = 1 THEN RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001'; END IF;`);
      const report = await h.sync({ mode: 'incremental' });
      assert.equal(report.exitCode, 0, JSON.stringify(report.outcomes));
      assert.equal(h.sim.calls().storage, 2);
      assert.ok((await compareWithGroundTruth(warehouse.pool, schema, h.sim, CHAIN)).equal);
    });
  });

  it('a lost warehouse connection stops the chain without fetching again, and the next run finishes the window', async (t) => {
    await scenario(t, async (h, schema) => {
      // The backend ends its own session in the middle of the upsert.
      await installTrigger(schema, `IF nextval('${schema}.trigger_calls') = 1 THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;`);
      const report = await h.sync({ mode: 'incremental' });
      assert.equal(report.exitCode, 1);
      assert.equal(report.outcomes[0]!.error?.code, 'warehouse_connection_lost', JSON.stringify(report.outcomes));
      assert.equal(h.sim.calls().storage, 1, 'no attempt on a connection that lost the chain lock');
      const left = await warehouse.pool.query<{ state: string; task_id: string }>(`SELECT state, task_id FROM ${schema}.sync_runs`);
      assert.deepEqual(left.rows.map((r) => r.state), ['loading'], 'the row waits for the next run, with its task');
      await removeTrigger(schema);
      const next = await h.sync({ mode: 'incremental' });
      assert.equal(next.exitCode, 0, JSON.stringify(next.outcomes));
      assert.equal(next.outcomes[0]!.windows[0]!.resumed, true, 'the next run finished the stored window');
      assert.equal(next.outcomes[0]!.windows[0]!.taskId, Number(left.rows[0]!.task_id), 'with its stored task, not a new one');
      assert.ok((await compareWithGroundTruth(warehouse.pool, schema, h.sim, CHAIN)).equal);
      assert.ok((await runRows(schema)).every((r) => r.state === 'committed'), JSON.stringify(await runRows(schema)));
    });
  });
});
