import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { classifyInfrastructureError, DependencyTimeoutError } from '@broker/runtime';
import { FieldNationClient, FieldNationError } from '@broker/fieldnation';

const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((c) => c()));

const credentials = { clientId: 'c', clientSecret: 's', username: 'u', password: 'p' };

/** An HTTP server that reads requests and never answers those `hang` selects. */
async function silentServer(hang: (req: http.IncomingMessage) => boolean) {
  const server = http.createServer((req, res) => {
    if (hang(req)) return; // accepted, read, never answered
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.url?.startsWith('/authentication') ? { access_token: 't', expires_in: 3600 } : { id: 1 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function failure(p: Promise<unknown>): Promise<{ err: FieldNationError; ms: number }> {
  const t0 = Date.now();
  const err = await p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FieldNationError);
  return { err: err as FieldNationError, ms: Date.now() - t0 };
}

describe('Field Nation transport timeouts (real servers that accept and never answer)', () => {
  it('the OAuth token request has the total timeout', async () => {
    const origin = await silentServer((req) => req.url!.startsWith('/authentication'));
    const client = new FieldNationClient({ environment: origin, credentials, retry: false, rateLimit: false, timeoutMs: 400 });
    const { err, ms } = await failure(client.getWorkOrder(1));
    expect(err.kind).toBe('timeout');
    expect(err.route).toBe('POST /authentication/api/oauth/token');
    expect(err.cause).toBeInstanceOf(DependencyTimeoutError);
    expect((err.cause as DependencyTimeoutError).phase).toBe('total');
    expect(ms).toBeGreaterThanOrEqual(350);
    expect(ms).toBeLessThan(5_000);
    expect(classifyInfrastructureError(err)).toEqual({ dependency: 'fieldnation', kind: 'timeout', code: 'timeout' });
  });

  it('an API request has the total timeout, and a create that timed out is ambiguous (it may have been made)', async () => {
    const origin = await silentServer((req) => req.url!.startsWith('/api/'));
    const client = new FieldNationClient({ environment: origin, credentials, retry: false, rateLimit: false, timeoutMs: 400 });
    const get = await failure(client.getWorkOrder(1));
    expect(get.err.kind).toBe('timeout');
    expect(get.err.message).toMatch(/timed out after 400 ms/);
    const create = await failure(client.createWorkOrder({ title: 'x' } as never));
    expect(create.err.ambiguous).toBe(true);
  });

  it('connect timeout: a TLS handshake that never completes fails at connectTimeoutMs, long before the total, and is not ambiguous', async () => {
    // Accepts TCP, never speaks TLS: the connection is never established.
    const held: net.Socket[] = [];
    const tcp = net.createServer((s) => held.push(s));
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    cleanups.push(() => {
      held.forEach((s) => s.destroy());
      tcp.close();
    });
    const client = new FieldNationClient({
      environment: `https://127.0.0.1:${(tcp.address() as AddressInfo).port}`,
      credentials,
      retry: false,
      rateLimit: false,
      connectTimeoutMs: 300,
      timeoutMs: 10_000,
    });
    const { err, ms } = await failure(client.createWorkOrder({ title: 'x' } as never));
    expect(err.kind).toBe('timeout');
    expect(err.message).toMatch(/could not connect within 300 ms/);
    expect((err.cause as DependencyTimeoutError).phase).toBe('connect');
    expect(err.ambiguous).toBe(false);
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(5_000);
    expect(classifyInfrastructureError(err)).toMatchObject({ dependency: 'fieldnation', kind: 'timeout' });
  });

  it('defaults: 10 s to connect, 30 s in total', async () => {
    const origin = await silentServer(() => false);
    const client = new FieldNationClient({ environment: origin, credentials, retry: false, rateLimit: false });
    const transport = (client as unknown as { http: { connectTimeoutMs: number; timeoutMs: number } }).http;
    expect([transport.connectTimeoutMs, transport.timeoutMs]).toEqual([10_000, 30_000]);
    expect(await client.getWorkOrder(1)).toEqual({ id: 1 });
  });
});
