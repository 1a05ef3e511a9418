import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface OpsServerOptions {
  port: number;
  host?: string;
  registry: Registry;
  /** Readiness: dependencies reachable and the app accepting work. */
  ready: () => boolean | Promise<boolean>;
  /**
   * Liveness: false once the app cannot recover by itself (its workers stopped), so that Kubernetes
   * restarts it. Default: the process answering is alive. Never tied to Redis or PostgreSQL: an
   * outage is waited out, and restarting every pod would not end it.
   */
  live?: () => boolean;
}

export interface OpsServer {
  server: http.Server;
  port: number;
  close(): Promise<void>;
}

/** `/healthz`, `/readyz` and Prometheus `/metrics` for a worker app (no express needed). */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server = http.createServer(async (req, res) => {
    try {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/healthz') {
        const ok = options.live?.() ?? true;
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ok' : 'stopped' }));
      } else if (path === '/readyz') {
        const ok = await options.ready();
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ready' : 'not ready' }));
      } else if (path === '/metrics') {
        const body = await options.registry.metrics();
        res.writeHead(200, { 'content-type': options.registry.contentType }).end(body);
      } else {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      }
    } catch (err) {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (err as Error).message }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
