/**
 * The simulated data (deterministic from the seed, with the properties the issue asks for) and
 * its changes over time, in-process and over `/_control`, down to an incremental export.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CAMPAIGN_TYPES } from '../../../src/simulator/dataset.js';
import { startSimulator, type Simulator } from '../../../src/simulator/simulator.js';
import { EXPORT_FIELDS, NO_EXPIRY_SENTINEL, type Voucher } from '../../../src/simulator/voucher.js';
import {
  api, control, idsOf, isoZ, parseCsv, runExport, segment,
  type ApiError,
} from '../../support/simulator-client.js';

const VOUCHERS = 600;
const HEADER = EXPORT_FIELDS.map((f) => f.name).join(',');
/** A fixed start: the clock follows the host by default, and same seed means same bytes only from the same start. */
const START_MS = Date.UTC(2026, 4, 26, 12);
const options = (seed: number) => ({ port: 0, seed, vouchersPerChain: VOUCHERS, taskDurationMs: 0, clockRate: 0, startMs: START_MS });

/** Base voucher ids of the chain at `index`: ids are global, one block of 10^8 per chain. */
const baseIds = (index: number): number[] => Array.from({ length: VOUCHERS }, (_, n) => (index + 1) * 100_000_000 + n + 1);

describe('data', () => {
  let sim: Simulator;
  let twin: Simulator;
  let other: Simulator;
  let text: string;
  let rows: Record<string, string>[];
  before(async () => {
    [sim, twin, other] = await Promise.all([startSimulator(options(7)), startSimulator(options(7)), startSimulator(options(8))]);
    ({ text, records: rows } = await runExport(sim));
  });
  after(() => Promise.all([sim.close(), twin.close(), other.close()]));

  describe('determinism', () => {
    it('the same seed gives a byte-identical export, tokens and admin token', async () => {
      const again = await runExport(twin);
      assert.equal(again.text, text);
      assert.deepEqual(twin.tokens, sim.tokens);
      assert.equal(twin.adminToken, sim.adminToken);
      // The second chain too, and the ground truth.
      const chain = sim.chainIds[1]!;
      assert.equal((await runExport(twin, { chain })).text, (await runExport(sim, { chain })).text);
      assert.equal([...twin.groundTruthCsv(chain)].join(''), [...sim.groundTruthCsv(chain)].join(''));
    });

    it('another seed gives different data (same ids, other keys and values)', async () => {
      const differs = await runExport(other);
      assert.notEqual(differs.text, text);
      assert.ok(differs.text.startsWith(`${HEADER}\n`));
      const keys = new Set(rows.map((r) => r.voucher_key));
      assert.ok(differs.records.every((r) => !keys.has(r.voucher_key)));
      assert.notDeepEqual(other.tokens, sim.tokens);
    });
  });

  describe('properties', () => {
    it('has the default header, one row per live voucher, unique ids ascending', () => {
      assert.ok(text.startsWith(`${HEADER}\n`));
      const ids = idsOf(rows);
      assert.equal(new Set(ids).size, ids.length);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
      assert.ok(ids.every((id) => baseIds(0).includes(id)));
      assert.ok(rows.every((r) => Number(r.chain_id) === sim.chainIds[0]));
    });

    it('voucher keys are 64 hex characters, unique', () => {
      assert.ok(rows.every((r) => /^[0-9a-f]{64}$/.test(r.voucher_key!)));
      assert.equal(new Set(rows.map((r) => r.voucher_key)).size, rows.length);
    });

    it('statuses are generated, claimed and redeemed only, all three present', () => {
      assert.deepEqual([...new Set(rows.map((r) => r.status))].sort(), ['claimed', 'generated', 'redeemed']);
      for (const r of rows) {
        assert.equal(r.date_time_redeemed === '', r.status !== 'redeemed', `voucher ${r.id}: only redeemed vouchers have a redemption time`);
        if (r.status !== 'redeemed') assert.equal(r.amount_redeemed, '0.00');
      }
    });

    it('amounts are decimals with two places, with a currency', () => {
      for (const r of rows) {
        for (const column of ['amount_original', 'amount_redeemed', 'amount'] as const) assert.match(r[column]!, /^\d+\.\d{2}$/, `${column} of ${r.id}`);
        assert.ok(Number(r.amount_redeemed) <= Number(r.amount_original));
        assert.match(r.currency_id!, /^\d+$/);
        assert.ok(['€', '£', '$'].includes(r.currency_symbol!));
      }
      assert.ok(rows.some((r) => r.status === 'redeemed' && r.amount_redeemed !== r.amount_original), 'some partial redemptions');
    });

    it('types, booleans, campaigns and users look like Spaaza\'s', () => {
      assert.deepEqual([...new Set(rows.map((r) => r.type))].sort(), ['basket', 'basket_fixed_unit', 'basket_pct', 'honour']);
      assert.deepEqual([...new Set(rows.map((r) => r.locked))].sort(), ['false', 'true']);
      assert.ok(rows.every((r) => (CAMPAIGN_TYPES as readonly string[]).includes(r.campaign_type!)));
      assert.ok(rows.some((r) => r.user_id === ''), 'some vouchers have no user');
      assert.ok(rows.every((r) => r.user_id === '' || /^\d+$/.test(r.user_id!)));
    });

    it('timestamps are YYYY-MM-DDTHH:MM:SSZ, some expiries at the 2050-01-01 sentinel, some empty', () => {
      const ts = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
      for (const r of rows) {
        assert.match(r.date_time_creation!, ts);
        assert.ok(r.date_time_redeemed === '' || ts.test(r.date_time_redeemed!));
        assert.ok(r.date_time_expiry === '' || ts.test(r.date_time_expiry!));
        assert.ok(Date.parse(r.date_time_creation!) < sim.now().getTime(), 'base data lies before the start');
        if (r.date_time_redeemed) assert.ok(r.date_time_redeemed > r.date_time_creation!);
      }
      assert.equal(isoZ(NO_EXPIRY_SENTINEL), '2050-01-01T00:00:00Z');
      assert.ok(rows.filter((r) => r.date_time_expiry === '2050-01-01T00:00:00Z').length >= 10);
      assert.ok(rows.some((r) => r.date_time_expiry === ''));
    });

    it('titles with commas, quotes, newlines and non-ASCII survive a CSV round trip', () => {
      const truth = new Map([...sim.groundTruth(sim.chainIds[0]!)].map((v) => [v.id, v]));
      for (const r of rows) {
        const v = truth.get(Number(r.id))!;
        assert.equal(r.title, v.title);
        assert.equal(r.campaign_title, v.campaignTitle);
      }
      const titles = rows.flatMap((r) => [r.title!, r.campaign_title!]);
      assert.ok(titles.some((t) => t.includes(',')), 'a comma');
      assert.ok(titles.some((t) => t.includes('"')), 'a quote');
      assert.ok(titles.some((t) => t.includes('\n')), 'a newline');
      assert.ok(titles.some((t) => t.includes('\r\n')), 'a CRLF');
      assert.ok(titles.some((t) => [...t].some((c) => c.charCodeAt(0) > 0x7f)), 'non-ASCII');
      assert.ok(titles.some((t) => t !== t.trim()), 'padding');
      assert.ok(text.includes('"Free ""extra"" coffee"'), 'quotes are doubled inside a quoted field');
    });

    it('deleted vouchers exist in the data set but never appear in an export', async () => {
      const deleted = baseIds(0).filter((id) => sim.vouchers.get(id).deleted);
      assert.ok(deleted.length > 0, 'some base vouchers are deleted');
      const exported = new Set(idsOf(rows));
      for (const id of deleted) assert.ok(!exported.has(id), `deleted ${id} is not exported`);
      assert.deepEqual(idsOf(rows), baseIds(0).filter((id) => !deleted.includes(id)));
      const overHttp = await control<{ id: number; deleted: boolean }>(sim, 'GET', `/vouchers/${deleted[0]}`);
      assert.equal(overHttp.status, 200);
      assert.deepEqual([overHttp.body.id, overHttp.body.deleted], [deleted[0], true]);
    });
  });
});

interface VoucherJson {
  id: number;
  voucher_key: string;
  chain_id: number;
  user_id: number | null;
  campaign_id: number;
  type: string;
  status: string;
  locked: boolean;
  title: string;
  amount_original: string;
  amount_redeemed: string;
  amount: string;
  date_time_creation: string;
  date_time_redeemed: string | null;
  date_time_expiry: string | null;
  deleted: boolean;
}

describe('mutations', () => {
  let sim: Simulator;
  let chain: number;
  const nowIso = () => isoZ(sim.now());
  /** Live vouchers that can still be claimed or redeemed, handed out one at a time. */
  let pool: Voucher[];
  const take = (keep: (v: Voucher) => boolean): Voucher => {
    const index = pool.findIndex(keep);
    assert.ok(index >= 0, 'a suitable voucher');
    return pool.splice(index, 1)[0]!;
  };
  const row = (id: number) => parseCsv([...sim.groundTruthCsv(chain)].join('')).find((r) => Number(r.id) === id);

  before(async () => {
    sim = await startSimulator(options(3));
    chain = sim.chainIds[0]!;
    pool = [...sim.groundTruth(chain)].filter((v) => v.status !== 'redeemed' && Number(v.amount) >= 5);
  });
  after(() => sim.close());

  it('/_control needs the admin token: 401 without it or with a chain token', async () => {
    for (const auth of [null, sim.bearer(chain), sim.bearer(), `Bearer ${sim.adminToken}x`, sim.adminToken]) {
      for (const [method, path] of [['GET', '/state'], ['POST', '/clock'], ['POST', `/chains/${chain}/vouchers`], ['GET', `/chains/${chain}/ground-truth`], ['PUT', '/faults']] as const) {
        const reply = await control<ApiError>(sim, method, path, method === 'GET' ? undefined : {}, auth);
        assert.equal(reply.status, 401, `${method} ${path} with ${String(auth)}`);
        assert.equal(reply.body.error.code, 'unauthorized');
      }
    }
    const state = await control<{ now: string; chains: { id: number; base_vouchers: number }[] }>(sim, 'GET', '/state');
    assert.equal(state.status, 200);
    assert.equal(state.body.now, sim.now().toISOString());
    assert.deepEqual(state.body.chains.map((c) => [c.id, c.base_vouchers]), sim.chainIds.map((id) => [id, VOUCHERS]));
  });

  describe('the clock', () => {
    it('advances in-process and over /_control, and the Date header follows', async () => {
      const start = sim.now().getTime();
      sim.advance(60);
      assert.equal(sim.now().getTime(), start + 60_000);
      const reply = await control<{ now: string }>(sim, 'POST', '/clock', { advance_seconds: 3600 });
      assert.equal(reply.status, 200);
      assert.equal(reply.body.now, new Date(start + 3_660_000).toISOString());
      // The clock response's own Date header is taken before the move; the next one follows.
      assert.equal((await api(sim, 'GET', '/tasks')).headers.date, new Date(start + 3_660_000).toUTCString());
      const to = new Date(start + 86_400_000);
      const set = await control<{ now: string }>(sim, 'POST', '/clock', { to: to.toISOString() });
      assert.equal(set.body.now, to.toISOString());
      assert.equal(sim.now().getTime(), to.getTime());
    });

    it('never goes back, and refuses bad bodies', async () => {
      for (const [body, field] of [
        [{ to: '2020-01-01T00:00:00Z' }, 'to'],
        [{ advance_seconds: -5 }, 'advance_seconds'],
        [{ to: 'yesterday' }, 'to'],
        [{ advance_seconds: 5, to: '2030-01-01T00:00:00Z' }, 'body'],
      ] as const) {
        const reply = await control<ApiError>(sim, 'POST', '/clock', body);
        assert.equal(reply.status, 400, JSON.stringify(body));
        if (field !== 'body') assert.equal(reply.body.error.field, field);
      }
      assert.throws(() => sim.advance(-1), RangeError);
    });
  });

  describe('vouchers over /_control', () => {
    it('create: 201 with the new voucher at the current time; the ground truth has it', async () => {
      const reply = await control<VoucherJson>(sim, 'POST', `/chains/${chain}/vouchers`, {
        title: 'Made over HTTP, "quoted"', amount: '12.50', status: 'claimed', type: 'basket', user_id: 10_000_042, expiry: '2026-12-31T23:59:59Z',
      });
      assert.equal(reply.status, 201, reply.text);
      const v = reply.body;
      assert.equal(v.id, 100_000_000 + VOUCHERS + 1, 'ids follow the base ones');
      assert.match(v.voucher_key, /^[0-9a-f]{64}$/);
      assert.deepEqual(
        [v.chain_id, v.status, v.type, v.title, v.amount_original, v.amount_redeemed, v.amount, v.user_id, v.locked, v.deleted],
        [chain, 'claimed', 'basket', 'Made over HTTP, "quoted"', '12.50', '0.00', '12.50', 10_000_042, false, false],
      );
      assert.deepEqual([v.date_time_creation, v.date_time_redeemed, v.date_time_expiry], [nowIso(), null, '2026-12-31T23:59:59Z']);
      const r = row(v.id)!;
      assert.deepEqual([r.title, r.amount, r.status, r.date_time_creation, r.date_time_expiry], [v.title, '12.50', 'claimed', nowIso(), '2026-12-31T23:59:59Z']);

      const bare = await control<VoucherJson>(sim, 'POST', `/chains/${chain}/vouchers`);
      assert.equal(bare.status, 201);
      assert.equal(bare.body.status, 'generated');
      assert.equal(bare.body.id, v.id + 1);
      assert.equal(bare.body.date_time_expiry, isoZ(sim.now().getTime() / 1000 + 90 * 86_400), 'a default expiry 90 days ahead');
    });

    it('create: 400 for a bad body, 404 for an unknown chain or campaign', async () => {
      for (const [body, field] of [
        [{ amount: '12.5.0' }, 'amount'],
        [{ amount: 12.5 }, 'amount'],
        [{ status: 'redeemed' }, 'status'],
        [{ type: 'coupon' }, 'type'],
        [{ colour: 'red' }, 'body'],
        [{ expiry: 'soon' }, 'expiry'],
      ] as const) {
        const reply = await control<ApiError>(sim, 'POST', `/chains/${chain}/vouchers`, body);
        assert.equal(reply.status, 400, JSON.stringify(body));
        if (field !== 'body') assert.equal(reply.body.error.field, field);
      }
      assert.equal((await control(sim, 'POST', '/chains/9999/vouchers', {})).status, 404);
      assert.equal((await control(sim, 'POST', `/chains/${chain}/vouchers`, { campaign_id: 1 })).status, 404);
    });

    it('claim: generated → claimed; 409 when not generated', async () => {
      const v = take((x) => x.status === 'generated');
      const reply = await control<VoucherJson>(sim, 'POST', `/vouchers/${v.id}/claim`);
      assert.equal(reply.status, 200);
      assert.equal(reply.body.status, 'claimed');
      assert.equal(row(v.id)!.status, 'claimed');
      const again = await control<ApiError>(sim, 'POST', `/vouchers/${v.id}/claim`);
      assert.equal(again.status, 409);
      assert.equal(again.body.error.code, 'conflict');
    });

    it('redeem in full: redeemed now, nothing regenerated; 409 the second time', async () => {
      const v = take(() => true);
      const reply = await control<{ voucher: VoucherJson; regenerated: VoucherJson | null }>(sim, 'POST', `/vouchers/${v.id}/redeem`);
      assert.equal(reply.status, 200);
      assert.equal(reply.body.regenerated, null);
      const r = reply.body.voucher;
      assert.deepEqual([r.status, r.amount_original, r.amount_redeemed, r.amount, r.date_time_redeemed], ['redeemed', v.amountOriginal, v.amount, v.amount, nowIso()]);
      assert.equal(row(v.id)!.date_time_redeemed, nowIso());
      assert.equal((await control(sim, 'POST', `/vouchers/${v.id}/redeem`)).status, 409);
    });

    it('redeem in part: a regenerated voucher carries the remainder', async () => {
      const v = take((x) => x.type === 'basket' && Number(x.amount) >= 10);
      const reply = await control<{ voucher: VoucherJson; regenerated: VoucherJson }>(sim, 'POST', `/vouchers/${v.id}/redeem`, { amount: '3.00' });
      assert.equal(reply.status, 200, reply.text);
      const { voucher, regenerated } = reply.body;
      assert.deepEqual([voucher.status, voucher.amount_redeemed, voucher.amount, voucher.amount_original], ['redeemed', '3.00', '3.00', v.amountOriginal]);
      const remainder = ((Number(v.amount) * 100 - 300) / 100).toFixed(2);
      assert.ok(regenerated.id > v.id);
      assert.deepEqual(
        [regenerated.status, regenerated.amount_original, regenerated.amount_redeemed, regenerated.amount, regenerated.campaign_id, regenerated.user_id, regenerated.type, regenerated.title],
        ['claimed', remainder, '0.00', remainder, v.campaignId, v.userId, v.type, v.title],
      );
      assert.equal(regenerated.date_time_creation, nowIso());
      assert.equal(row(regenerated.id)!.amount, remainder);
      for (const amount of ['0.00', '999999.00', '1.234']) {
        const bad = await control(sim, 'POST', `/vouchers/${regenerated.id}/redeem`, { amount });
        assert.ok(bad.status === 409 || bad.status === 400, `${amount}: ${bad.status}`);
      }
    });

    it('lock and unlock', async () => {
      const v = take((x) => !x.locked);
      assert.equal((await control<VoucherJson>(sim, 'POST', `/vouchers/${v.id}/lock`, { locked: true })).body.locked, true);
      assert.equal(row(v.id)!.locked, 'true');
      assert.equal((await control<VoucherJson>(sim, 'POST', `/vouchers/${v.id}/lock`, { locked: false })).body.locked, false);
      assert.equal(row(v.id)!.locked, 'false');
      assert.equal((await control<ApiError>(sim, 'POST', `/vouchers/${v.id}/lock`, { locked: 'yes' })).status, 400);
    });

    it('re-date the expiry, or clear it', async () => {
      const v = take(() => true);
      const reply = await control<VoucherJson>(sim, 'POST', `/vouchers/${v.id}/expiry`, { expiry: '2027-02-03T04:05:06+01:00' });
      assert.equal(reply.body.date_time_expiry, '2027-02-03T03:05:06Z');
      assert.equal(row(v.id)!.date_time_expiry, '2027-02-03T03:05:06Z');
      assert.equal((await control<VoucherJson>(sim, 'POST', `/vouchers/${v.id}/expiry`, { expiry: null })).body.date_time_expiry, null);
      assert.equal(row(v.id)!.date_time_expiry, '');
    });

    it('delete: gone from the ground truth, still readable as deleted; further changes 404', async () => {
      const v = take(() => true);
      const reply = await control<VoucherJson>(sim, 'POST', `/vouchers/${v.id}/delete`);
      assert.equal(reply.status, 200);
      assert.equal(reply.body.deleted, true);
      assert.equal(row(v.id), undefined);
      assert.equal((await control<VoucherJson>(sim, 'GET', `/vouchers/${v.id}`)).body.deleted, true);
      for (const action of ['claim', 'redeem', 'delete']) assert.equal((await control(sim, 'POST', `/vouchers/${v.id}/${action}`)).status, 404, action);
      assert.equal((await control(sim, 'GET', '/vouchers/123')).status, 404);
      assert.equal((await control(sim, 'POST', '/vouchers/123/frobnicate')).status, 404);
    });
  });

  describe('vouchers in-process', () => {
    it('create, claim, redeem (full and partial), lock, re-date, delete', () => {
      const created = sim.vouchers.create(chain, { amount: '20.00', type: 'basket' });
      assert.equal(created.createdAt, sim.now().getTime() / 1000);
      assert.equal(created.status, 'generated');
      assert.equal(sim.vouchers.claim(created.id).status, 'claimed');
      const { voucher, regenerated } = sim.vouchers.redeem(created.id, '5.50');
      assert.deepEqual([voucher.status, voucher.amountRedeemed, voucher.amount], ['redeemed', '5.50', '5.50']);
      assert.deepEqual([regenerated!.status, regenerated!.amount, regenerated!.amountOriginal], ['claimed', '14.50', '14.50']);
      const full = sim.vouchers.redeem(regenerated!.id);
      assert.deepEqual([full.voucher.amountRedeemed, full.regenerated], ['14.50', null]);
      assert.throws(() => sim.vouchers.redeem(created.id), /already redeemed/);

      const v = take(() => true);
      assert.equal(sim.vouchers.lock(v.id, true).locked, true);
      const expiry = new Date(Date.UTC(2030, 0, 1));
      assert.equal(sim.vouchers.setExpiry(v.id, expiry).expiresAt, expiry.getTime() / 1000);
      assert.equal(sim.vouchers.setExpiry(v.id, null).expiresAt, null);
      assert.equal(sim.vouchers.delete(v.id).deleted, true);
      assert.throws(() => sim.vouchers.claim(v.id), /deleted/);
      assert.equal(sim.vouchers.get(v.id).deleted, true);
      assert.ok(![...sim.groundTruth(chain)].some((x) => x.id === v.id));
    });
  });

  describe('incremental export', () => {
    it('an export over a window after the changes holds exactly the new and newly redeemed vouchers', async () => {
      const since = Math.floor(sim.now().getTime() / 1000);
      sim.advance(3600);
      const created = [sim.vouchers.create(chain).id];
      const overHttp = await control<VoucherJson>(sim, 'POST', `/chains/${chain}/vouchers`, { amount: '8.00' });
      created.push(overHttp.body.id);
      const redeemedFull = take(() => true).id;
      sim.vouchers.redeem(redeemedFull);
      const partial = take((x) => x.type === 'basket' && Number(x.amount) >= 10);
      const regenerated = (await control<{ regenerated: VoucherJson }>(sim, 'POST', `/vouchers/${partial.id}/redeem`, { amount: '1.00' })).body.regenerated.id;
      // Changes a window on creation or redemption time cannot see.
      const claimed = take((x) => x.status === 'generated').id;
      sim.vouchers.claim(claimed);
      const locked = take(() => true).id;
      sim.vouchers.lock(locked, true);
      const deletedNew = sim.vouchers.create(chain).id;
      sim.vouchers.delete(deletedNew);
      sim.advance(60);

      const window = segment(chain, [
        { field_name: 'date_time_creation', field_type: 'date', operator: 'is_after_date', start_date: isoZ(since) },
        { field_name: 'date_time_redeemed', field_type: 'date', operator: 'is_after_date', start_date: isoZ(since) },
      ], 'any');
      const { records } = await runExport(sim, { chain, segment: window });
      const want = [...created, redeemedFull, partial.id, regenerated].sort((a, b) => a - b);
      assert.deepEqual(idsOf(records), want);
      const byId = new Map(records.map((r) => [Number(r.id), r]));
      assert.equal(byId.get(redeemedFull)!.status, 'redeemed');
      assert.equal(byId.get(partial.id)!.amount_redeemed, '1.00');
      assert.equal(byId.get(regenerated)!.status, 'claimed');
      assert.equal(byId.get(created[1]!)!.amount, '8.00');

      // The full export agrees with the ground truth after all of it.
      const full = await runExport(sim, { chain });
      assert.equal(full.text, [...sim.groundTruthCsv(chain)].join(''));
      assert.ok(!idsOf(full.records).includes(deletedNew));
      assert.equal(full.records.find((r) => Number(r.id) === claimed)!.status, 'claimed');
      assert.equal(full.records.find((r) => Number(r.id) === locked)!.locked, 'true');
    });

    it('a chain token cannot reach /_control, and the Tasks API cannot change data', async () => {
      assert.equal((await api(sim, 'POST', `/tasks/${1}/redeem`)).status, 404);
      assert.equal((await control(sim, 'POST', `/vouchers/${100_000_001}/claim`, undefined, sim.bearer(chain))).status, 401);
    });
  });
});
