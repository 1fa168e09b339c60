/**
 * The task lifecycle on the simulator's clock, the pre-signed storage (reference §4.5, §11.4),
 * snapshots, and the ground truth an unfiltered export must equal.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startSimulator, type Simulator } from '../../../src/simulator/simulator.js';
import {
  api, control, createExport, download, downloadUrl, getTask, idsOf, isoZ, parseCsv, waitFor,
} from '../../support/simulator-client.js';

const DURATION_S = 30;

describe('lifecycle and storage', () => {
  let sim: Simulator;
  let chain: number;
  before(async () => {
    sim = await startSimulator({ port: 0, vouchersPerChain: 300, taskDurationMs: DURATION_S * 1000, clockRate: 0 });
    chain = sim.chainIds[0]!;
  });
  after(() => sim.close());

  /** Creates a task due now, lets it start, moves the clock past its duration; answers its id. */
  async function doneExport(): Promise<number> {
    const task = await createExport(sim);
    await waitFor(sim, task.id, (t) => t.state.code === 'INPROGRESS');
    sim.advance(DURATION_S);
    await waitFor(sim, task.id, (t) => t.state.code === 'DONE');
    return task.id;
  }

  describe('the clock', () => {
    it('starts at this host\'s time (whole seconds) by default, as real Spaaza\'s does; the seeded data lies before it', async () => {
      const before = Math.floor(Date.now() / 1000) * 1000;
      const own = await startSimulator({ port: 0, chains: 1, vouchersPerChain: 50, clockRate: 0 });
      try {
        const after = Date.now();
        const start = own.now().getTime();
        assert.ok(before <= start && start <= after, `${own.now().toISOString()} is between the host's times before and after the start`);
        assert.equal(start % 1000, 0);
        const reply = await api(own, 'GET', '/tasks');
        assert.equal(Date.parse(String(reply.headers.date)), start, 'the Date header carries it');
        assert.ok([...own.groundTruth(own.chainIds[0]!)].every((v) => v.createdAt * 1000 <= start));
      } finally {
        await own.close();
      }
    });

    it('starts at startMs when given one', async () => {
      const startMs = Date.UTC(2031, 1, 3, 4, 5, 6);
      const own = await startSimulator({ port: 0, chains: 1, vouchersPerChain: 10, clockRate: 0, startMs });
      try {
        assert.equal(own.now().getTime(), startMs);
        assert.equal((await api(own, 'GET', '/tasks')).headers.date, 'Mon, 03 Feb 2031 04:05:06 GMT');
      } finally {
        await own.close();
      }
    });
  });

  describe('READY → INPROGRESS → DONE on the clock', () => {
    it('a task scheduled in the future stays READY until the clock passes trigger.once', async () => {
      const start = sim.now().getTime() / 1000;
      const once = start + 600;
      const task = await createExport(sim, { once: new Date(once * 1000) });
      assert.equal(task.state.code, 'READY');

      await new Promise((resolve) => setTimeout(resolve, 60)); // several ticks of the real timer
      assert.equal((await getTask(sim, task.id)).state.code, 'READY', 'the frozen clock does not move');
      sim.advance(599);
      const waiting = await getTask(sim, task.id);
      assert.equal(waiting.state.code, 'READY');
      assert.equal(waiting.state.last_run_date, null);

      sim.advance(1);
      const running = await getTask(sim, task.id);
      assert.equal(running.state.code, 'INPROGRESS');
      assert.equal(running.state.last_run_date, isoZ(once));
      assert.equal(running.state.last_modified, isoZ(once));
      assert.equal(running.result, null);

      // Rendering finishes at once, but the task stays INPROGRESS for its duration.
      const rendered = await waitFor(sim, task.id, (t) => t.logs.some((l) => l.message.startsWith('Exported')));
      assert.equal(rendered.state.code, 'INPROGRESS');
      sim.advance(DURATION_S - 1);
      assert.equal((await getTask(sim, task.id)).state.code, 'INPROGRESS');
      assert.equal((await api(sim, 'GET', `/tasks/${task.id}/download_url`)).status, 409);

      sim.advance(1);
      const done = await getTask(sim, task.id);
      assert.equal(done.state.code, 'DONE');
      assert.equal(done.state.created_date, isoZ(start));
      assert.equal(done.state.last_run_date, isoZ(once));
      assert.equal(done.state.last_modified, isoZ(once + DURATION_S));
      assert.deepEqual(
        done.logs.map((l) => [l.date, l.level, l.message.replace(/\d+ vouchers \(\d+ bytes\)/, 'N vouchers (B bytes)')]),
        [
          [isoZ(start), 'info', `Task created; scheduled for ${isoZ(once)}`],
          [isoZ(once), 'info', 'Task started'],
          [isoZ(once), 'info', 'Exported N vouchers (B bytes)'],
          [isoZ(once + DURATION_S), 'info', 'Task finished'],
        ],
      );
      assert.equal(done.logs[2]!.message, `Exported ${done.result!.rows} vouchers (${done.result!.bytes} bytes)`);
      assert.deepEqual(done.result, { file: `Voucher_Export-${task.id}.csv`, rows: done.result!.rows, bytes: done.result!.bytes });
    });

    it('a task whose trigger.once lies in the past starts at the next tick', async () => {
      const task = await createExport(sim, { once: new Date(Date.UTC(2020, 0, 1)) });
      assert.equal(task.state.code, 'READY');
      const running = await waitFor(sim, task.id, (t) => t.state.code === 'INPROGRESS');
      assert.equal(running.state.last_run_date, isoZ(sim.now()));
      sim.advance(DURATION_S);
      const done = await waitFor(sim, task.id, (t) => t.state.code !== 'INPROGRESS'); // once rendered
      assert.equal(done.state.code, 'DONE');
    });

    it('a JSON export is one array of flat objects named Voucher_Export-{id}.json', async () => {
      const task = await createExport(sim, { format: 'json' });
      await waitFor(sim, task.id, (t) => t.state.code === 'INPROGRESS');
      sim.advance(DURATION_S);
      const done = await waitFor(sim, task.id, (t) => t.state.code === 'DONE');
      const url = await downloadUrl(sim, task.id);
      assert.ok(new URL(url).pathname.endsWith(`/Voucher_Export-${task.id}.json`));
      const file = await download(url);
      assert.equal(file.status, 200);
      assert.match(String(file.headers['content-type']), /^application\/json/);
      const rows = JSON.parse(file.text) as Record<string, unknown>[];
      assert.equal(rows.length, done.result!.rows);
      const truth = [...sim.groundTruth(chain)];
      assert.deepEqual(rows.map((r) => r.id), truth.map((v) => v.id));
      assert.equal(rows[0]!.voucher_key, truth[0]!.voucherKey);
      assert.equal(rows[0]!.amount, truth[0]!.amount);
    });
  });

  describe('download through the pre-signed URL', () => {
    let id: number;
    let url: string;
    before(async () => {
      id = await doneExport();
      url = await downloadUrl(sim, id);
    });

    it('serves Voucher_Export-{id}.csv with a Content-Length equal to the body', async () => {
      const parsed = new URL(url);
      assert.equal(parsed.origin, sim.url);
      assert.equal(parsed.pathname, `/storage/Voucher_Export-${id}.csv`);
      assert.equal(Number(parsed.searchParams.get('X-Expires')), Math.floor(sim.now().getTime() / 1000) + 3600);
      const file = await download(url);
      assert.equal(file.status, 200);
      assert.equal(file.headers['content-type'], 'text/csv; charset=utf-8');
      assert.equal(Number(file.headers['content-length']), file.bytes.length);
      const task = await getTask(sim, id);
      assert.equal(file.bytes.length, task.result!.bytes);
      assert.equal(parseCsv(file.text).length, task.result!.rows);
    });

    it('two downloads are byte-identical, and so is a fresh URL', async () => {
      const first = await download(url);
      const second = await download(url);
      assert.ok(first.bytes.equals(second.bytes));
      const fresh = await downloadUrl(sim, id);
      assert.ok((await download(fresh)).bytes.equals(first.bytes));
    });

    it('HEAD gives the headers without the body', async () => {
      const res = await request(url, { method: 'HEAD' });
      await res.body.dump();
      assert.equal(res.statusCode, 200);
      assert.equal(Number(res.headers['content-length']), (await getTask(sim, id)).result!.bytes);
    });

    it('400 with an XML body when an Authorization header is sent to storage', async () => {
      const file = await download(url, { authorization: sim.bearer(chain) });
      assert.equal(file.status, 400);
      assert.equal(file.headers['content-type'], 'application/xml');
      assert.match(file.text, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<Error><Code>InvalidArgument<\/Code><Message>[^<]+<\/Message><\/Error>/);
    });

    it('403 with an XML body when the signature, the expiry or the file is tampered with', async () => {
      const parsed = new URL(url);
      const signature = parsed.searchParams.get('X-Signature')!;
      const expires = Number(parsed.searchParams.get('X-Expires'));
      const otherId = await doneExport();
      const tampered = [
        url.replace(signature, (signature[0] === 'a' ? 'b' : 'a') + signature.slice(1)),
        url.replace(`X-Expires=${expires}`, `X-Expires=${expires + 86_400}`),
        url.replace(`Voucher_Export-${id}`, `Voucher_Export-${otherId}`),
        url.replace(/&X-Signature=[0-9a-f]+/, ''),
        url.replace(`X-Expires=${expires}`, 'X-Expires=soon'),
        url.replace(`Voucher_Export-${id}.csv`, `Voucher_Export-${id}%E0%A4.csv`), // a broken %-escape
        url.replace(`Voucher_Export-${id}`, `..%2FVoucher_Export-${id}`),
      ];
      for (const bad of tampered) {
        const file = await download(bad);
        assert.equal(file.status, 403, bad);
        assert.equal(file.headers['content-type'], 'application/xml');
        assert.match(file.text, /<Error><Code>SignatureDoesNotMatch<\/Code>/);
      }
      assert.equal((await download(url)).status, 200, 'the real URL still works');
    });

    it('403 AccessDenied once the URL has expired (after 3600 s); a fresh URL works again', async () => {
      const issued = await downloadUrl(sim, id);
      sim.advance(3599);
      assert.equal((await download(issued)).status, 200);
      sim.advance(2);
      const expired = await download(issued);
      assert.equal(expired.status, 403);
      assert.equal(expired.headers['content-type'], 'application/xml');
      assert.match(expired.text, /<Error><Code>AccessDenied<\/Code><Message>Request has expired<\/Message><\/Error>/);
      const fresh = await download(await downloadUrl(sim, id));
      assert.equal(fresh.status, 200);
    });

    it('405 XML for other methods on storage', async () => {
      const res = await request(url, { method: 'PUT', body: 'x' });
      assert.equal(res.statusCode, 405);
      assert.match(await res.body.text(), /<Code>MethodNotAllowed<\/Code>/);
    });
  });

  describe('snapshots', () => {
    it('a change made after a task started is not in its export, but is in the ground truth', async () => {
      const truthBefore = [...sim.groundTruth(chain)];
      const victim = truthBefore.find((v) => v.status !== 'redeemed' && v.amount !== '0.00')!;
      const doomed = truthBefore.find((v) => v.id !== victim.id)!;

      const task = await createExport(sim);
      await waitFor(sim, task.id, (t) => t.state.code === 'INPROGRESS');
      sim.advance(5);
      const created = sim.vouchers.create(chain, { title: 'Made mid-export' });
      const { voucher: redeemed } = sim.vouchers.redeem(victim.id);
      sim.vouchers.delete(doomed.id);
      sim.advance(DURATION_S);
      await waitFor(sim, task.id, (t) => t.state.code === 'DONE');

      const rows = parseCsv((await download(await downloadUrl(sim, task.id))).text);
      assert.deepEqual(idsOf(rows), truthBefore.map((v) => v.id), 'the export equals the data at its start');
      const victimRow = rows.find((r) => Number(r.id) === victim.id)!;
      assert.equal(victimRow.status, victim.status);
      assert.equal(victimRow.date_time_redeemed, '');

      const truthAfter = [...sim.groundTruth(chain)];
      const truthIds = truthAfter.map((v) => v.id);
      assert.ok(truthIds.includes(created.id));
      assert.ok(!truthIds.includes(doomed.id));
      assert.equal(truthAfter.find((v) => v.id === victim.id)!.status, 'redeemed');
      assert.equal(redeemed.redeemedAt, Math.floor(sim.now().getTime() / 1000) - DURATION_S);
      assert.equal(truthAfter.length, truthBefore.length);

      // A task started after the change sees it.
      const later = await doneExport();
      const laterRows = parseCsv((await download(await downloadUrl(sim, later))).text);
      assert.deepEqual(idsOf(laterRows), truthIds);
      assert.equal(laterRows.find((r) => Number(r.id) === victim.id)!.status, 'redeemed');
    });
  });

  describe('ground truth', () => {
    it('equals an unfiltered export byte for byte, in-process and over /_control', async () => {
      // Make some changes first, deletions included.
      const live = [...sim.groundTruth(chain)];
      const deleted = [live[3]!.id, live[17]!.id, live[live.length - 1]!.id];
      for (const id of deleted) sim.vouchers.delete(id);
      sim.vouchers.create(chain, { amount: '7.25' });

      const id = await doneExport();
      const exported = (await download(await downloadUrl(sim, id))).text;
      const inProcess = [...sim.groundTruthCsv(chain)].join('');
      assert.equal(inProcess, exported);

      const overHttp = await control(sim, 'GET', `/chains/${chain}/ground-truth`);
      assert.equal(overHttp.status, 200);
      assert.equal(overHttp.headers['content-type'], 'text/csv; charset=utf-8');
      assert.equal(overHttp.text, exported);

      const rows = parseCsv(exported);
      assert.deepEqual(idsOf(rows), [...sim.groundTruth(chain)].map((v) => v.id));
      for (const gone of deleted) {
        assert.ok(!idsOf(rows).includes(gone), `deleted voucher ${gone} is absent`);
        assert.equal(sim.vouchers.get(gone).deleted, true);
      }
    });

    it('is per chain, 404 for a chain not simulated, 401 without the admin token', async () => {
      const other = sim.chainIds[1]!;
      const reply = await control(sim, 'GET', `/chains/${other}/ground-truth`);
      assert.equal(reply.status, 200);
      assert.ok(parseCsv(reply.text).every((r) => Number(r.chain_id) === other));
      assert.equal(reply.text, [...sim.groundTruthCsv(other)].join(''));
      assert.equal((await control(sim, 'GET', '/chains/9999/ground-truth')).status, 404);
      assert.equal((await control(sim, 'GET', `/chains/${chain}/ground-truth`, undefined, sim.bearer())).status, 401);
    });
  });
});
