/**
 * The daemon's optional HTTP listener (`spaaza-sync schedule --metrics-port`):
 *
 *   GET /healthz  200 {"status":"ok","checks":{…}} when health() says ok, else 503 with
 *                 {"status":"unhealthy","checks":{…}}; a health() that throws or takes longer
 *                 than `healthTimeoutMs` (2 s) is 503 {"status":"unhealthy","checks":{},"reason":"…"}
 *   GET /metrics  the registry's Prometheus exposition, with the registry's content type
 *
 * HEAD is answered like GET without a body; any other method is 405 (with Allow), any other path 404.
 * It listens on 127.0.0.1 unless told otherwise: the endpoints carry no secrets but are not meant for
 * the internet, so binding every interface (`host: '0.0.0.0'`, e.g. in a container whose port is
 * published to a Prometheus) is the operator's explicit choice. Port 0 picks a free port; `port`
 * tells which.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SyncMetrics } from './metrics.js';

export interface HealthCheck {
  readonly ok: boolean;
  readonly detail?: string;
}

export interface HealthResult {
  readonly ok: boolean;
  readonly checks: Record<string, HealthCheck>;
}

export interface HealthServerOptions {
  readonly port: number;
  /** Interface to bind (default '127.0.0.1'; '0.0.0.0' for every IPv4 interface). */
  readonly host?: string;
  readonly metrics: SyncMetrics;
  readonly health: () => Promise<HealthResult>;
  /** How long /healthz waits for `health()` before answering 503 (default 2000 ms). */
  readonly healthTimeoutMs?: number;
}

export interface HealthServer {
  /** The port actually bound (the free one picked when asked for port 0). */
  readonly port: number;
  /** Stops listening and drops open connections; safe to call more than once. */
  close(): Promise<void>;
}

export const DEFAULT_HEALTH_HOST = '127.0.0.1';
export const DEFAULT_HEALTH_TIMEOUT_MS = 2_000;

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const host = options.host ?? DEFAULT_HEALTH_HOST;
  const healthTimeoutMs = options.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `internal error: ${message(error)}\n`);
      else res.destroy();
    });
  });
  // A scraper that holds a connection open must not keep the daemon from stopping.
  server.keepAliveTimeout = 5_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== '/healthz' && path !== '/metrics') {
      send(res, 404, 'text/plain; charset=utf-8', 'not found: try /healthz or /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed: use GET\n');
      return;
    }
    if (path === '/metrics') {
      const registry = options.metrics.registry;
      send(res, 200, registry.contentType, await registry.metrics());
      return;
    }
    const { status, body } = await healthz(options.health, healthTimeoutMs);
    send(res, status, 'application/json; charset=utf-8', JSON.stringify(body) + '\n');
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(options.port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });

  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

async function healthz(
  health: () => Promise<HealthResult>,
  timeoutMs: number,
): Promise<{ status: 200 | 503; body: { status: 'ok' | 'unhealthy'; checks: Record<string, HealthCheck>; reason?: string } }> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = Symbol('timed out');
  const pending = Promise.resolve().then(() => health());
  pending.catch(() => {}); // a failure after the timeout must not become an unhandled rejection
  try {
    const result = await Promise.race([
      pending,
      new Promise<typeof timedOut>((resolve) => {
        timer = setTimeout(() => resolve(timedOut), timeoutMs);
      }),
    ]);
    if (result === timedOut) {
      return { status: 503, body: { status: 'unhealthy', checks: {}, reason: `health check took longer than ${timeoutMs} ms` } };
    }
    return { status: result.ok ? 200 : 503, body: { status: result.ok ? 'ok' : 'unhealthy', checks: result.checks } };
  } catch (error) {
    return { status: 503, body: { status: 'unhealthy', checks: {}, reason: `health check failed: ${message(error)}` } };
  } finally {
    clearTimeout(timer);
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
