import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, describe, it } from 'node:test';
import { startHealthServer, type HealthResult, type HealthServer } from '../../../src/schedule/health-server.js';
import { createMetrics } from '../../../src/schedule/metrics.js';

const healthy = async (): Promise<HealthResult> => ({ ok: true, checks: { warehouse: { ok: true }, scheduler: { ok: true, detail: 'next run in 4 min' } } });

const servers: HealthServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function start(health: () => Promise<HealthResult> = healthy, healthTimeoutMs?: number) {
  const metrics = createMetrics({ freshness: async () => [{ chainId: 1743, lagSeconds: 12 }] });
  const server = await startHealthServer({ port: 0, metrics, health, ...(healthTimeoutMs !== undefined ? { healthTimeoutMs } : {}) });
  servers.push(server);
  return { server, metrics, url: (path: string) => `http://127.0.0.1:${server.port}${path}` };
}

describe('startHealthServer', () => {
  it('binds 127.0.0.1 on a free port when given port 0', async () => {
    const { server } = await start();
    assert.ok(server.port > 0);
  });

  it('answers /healthz 200 with the checks when healthy', async () => {
    const { url } = await start();
    const res = await fetch(url('/healthz'));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await res.json(), {
      status: 'ok',
      checks: { warehouse: { ok: true }, scheduler: { ok: true, detail: 'next run in 4 min' } },
    });
  });

  it('ignores a query string', async () => {
    const { url } = await start();
    assert.equal((await fetch(url('/healthz?verbose=1'))).status, 200);
  });

  it('answers /healthz 503 with the same shape when unhealthy', async () => {
    const { url } = await start(async () => ({ ok: false, checks: { warehouse: { ok: false, detail: 'connection refused' }, scheduler: { ok: true } } }));
    const res = await fetch(url('/healthz'));
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), {
      status: 'unhealthy',
      checks: { warehouse: { ok: false, detail: 'connection refused' }, scheduler: { ok: true } },
    });
  });

  it('answers /healthz 503 with the reason when health() throws', async () => {
    const { url } = await start(async () => {
      throw new Error('pool is closed');
    });
    const res = await fetch(url('/healthz'));
    assert.equal(res.status, 503);
    const body = (await res.json()) as { status: string; checks: object; reason: string };
    assert.equal(body.status, 'unhealthy');
    assert.deepEqual(body.checks, {});
    assert.match(body.reason, /pool is closed/);
  });

  it('answers /healthz 503 when health() takes longer than the timeout', async () => {
    const { url } = await start(() => new Promise(() => {}), 50); // never answers
    const started = Date.now();
    const res = await fetch(url('/healthz'));
    assert.ok(Date.now() - started < 1_000, 'answered at the timeout');
    assert.equal(res.status, 503);
    const body = (await res.json()) as { status: string; reason: string };
    assert.equal(body.status, 'unhealthy');
    assert.match(body.reason, /longer than 50 ms/);
  });

  it('serves /metrics in the registry content type, freshness asked at scrape time', async () => {
    const { url, metrics } = await start();
    metrics.runFinished({ chainId: 1743, mode: 'incremental', status: 'ok' });
    const res = await fetch(url('/metrics'));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), metrics.registry.contentType);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /^spaaza_sync_runs_total\{chain="1743",mode="incremental",outcome="ok"\} 1$/m);
    assert.match(text, /^spaaza_sync_freshness_lag_seconds\{chain="1743"\} 12$/m);
    assert.match(text, /^process_cpu_user_seconds_total /m);
  });

  it('answers 404 for other paths', async () => {
    const { url } = await start();
    for (const path of ['/', '/health', '/metrics/x', '/healthz/']) {
      const res = await fetch(url(path));
      assert.equal(res.status, 404, path);
      await res.text();
    }
  });

  it('answers 405 with Allow for other methods', async () => {
    const { url } = await start();
    for (const method of ['POST', 'PUT', 'DELETE']) {
      for (const path of ['/healthz', '/metrics']) {
        const res = await fetch(url(path), { method });
        assert.equal(res.status, 405, `${method} ${path}`);
        assert.equal(res.headers.get('allow'), 'GET, HEAD');
        await res.text();
      }
    }
  });

  it('answers HEAD like GET without a body', async () => {
    const { url } = await start();
    const res = await fetch(url('/healthz'), { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '');
  });

  it('closes with a keep-alive connection open, and close() can be called twice', async () => {
    const { server } = await start();
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path: '/healthz', agent: false, headers: { connection: 'keep-alive' } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
    await Promise.all([server.close(), server.close()]);
    await assert.rejects(fetch(`http://127.0.0.1:${server.port}/healthz`));
  });

  it('rejects when the port is taken', async () => {
    const { server } = await start();
    const metrics = createMetrics({ freshness: async () => [] });
    await assert.rejects(startHealthServer({ port: server.port, metrics, health: healthy }), { code: 'EADDRINUSE' });
  });
});
