/**
 * A small HTTP proxy in front of the simulator that can lose an answer AFTER the simulator has
 * done the work: the request is forwarded and answered upstream, then the client's connection is
 * reset or left hanging until the client gives up. This is the "did my POST /tasks create the
 * task?" case, which a fault inside the simulator cannot produce: a simulator request whose
 * client has gone never reads its body, so it creates nothing.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';

export type LossMode = 'reset' | 'hang';

export interface LossyProxy {
  readonly url: string;
  /** The next request with this method and path (query ignored) is forwarded, then its answer lost. */
  loseNext(method: string, path: string, mode: LossMode): void;
  /** Requests whose answers were lost so far. */
  lost(): number;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

export async function startLossyProxy(target: string): Promise<LossyProxy> {
  const rules: { method: string; path: string; mode: LossMode }[] = [];
  let lostCount = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => name !== 'host' && !HOP_BY_HOP.has(name))) as Record<string, string>;
    const method = req.method ?? 'GET';
    const upstream = await request(`${target}${req.url ?? '/'}`, {
      method: method as 'GET',
      headers,
      body: chunks.length > 0 ? Buffer.concat(chunks) : null,
    });
    const body = Buffer.from(await upstream.body.arrayBuffer());

    const pathname = new URL(req.url ?? '/', 'http://proxy').pathname;
    const rule = rules.findIndex((r) => r.method === method && r.path === pathname);
    if (rule >= 0) {
      const { mode } = rules.splice(rule, 1)[0]!;
      lostCount++;
      if (mode === 'reset') req.socket.resetAndDestroy();
      // 'hang': answer nothing; the client times out and closes the connection.
      return;
    }
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(upstream.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
    }
    res.writeHead(upstream.statusCode, out);
    res.end(body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    loseNext: (method, path, mode) => void rules.push({ method, path, mode }),
    lost: () => lostCount,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
