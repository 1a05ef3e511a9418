import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { FieldNationClient, FieldNationError } from '@broker/fieldnation';

// Broken connections and error answers on the client's own HTTP exchange (undici's dispatcher): how
// each fails, what is resent, and what a create that may have been made reports.
const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((c) => c()));

const credentials = { clientId: 'c', clientSecret: 's', username: 'u', password: 'p' };

/** Answers the token request; every API request goes to `api` with its number (from 1). */
async function fieldNation(api: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void) {
  let n = 0;
  const server = http.createServer((req, res) => {
    if (req.url!.startsWith('/authentication')) {
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify({ access_token: 't', expires_in: 3600 }));
    }
    api(req, res, ++n);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls: () => n };
}

function client(environment: string) {
  const delays: number[] = [];
  const fn = new FieldNationClient({
    environment,
    credentials,
    rateLimit: false,
    retry: { maxAttempts: 3, baseDelayMs: 10 },
    sleep: async (ms) => {
      delays.push(ms);
    },
  });
  return { fn, delays };
}

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => {
      expect(e).toBeInstanceOf(FieldNationError);
      return e as FieldNationError;
    },
  );

describe('Field Nation client on broken connections', () => {
  it('a create whose answer is cut in its body is a network error, ambiguous (it may have been made), not resent', async () => {
    const server = await fieldNation((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '5000' });
      res.write('{"id":100001,', () => req.socket.destroy());
    });
    const { fn } = client(server.origin);
    const err = await rejection(fn.createWorkOrder({ title: 'x' } as never));
    expect(err).toMatchObject({ kind: 'network', status: 0, retryable: true, ambiguous: true, attempts: 1 });
    expect((err.cause as { code?: string }).code).toBe('ECONNRESET');
    expect(server.calls()).toBe(1);
  });

  it('a read whose connection drops before the answer is resent', async () => {
    const server = await fieldNation((req, res, n) => {
      if (n === 1) return req.socket.destroy();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ id: 7, title: 'seven' }));
    });
    const { fn, delays } = client(server.origin);
    expect(await fn.getWorkOrder(7)).toMatchObject({ id: 7, title: 'seven' });
    expect(server.calls()).toBe(2);
    expect(delays).toHaveLength(1);
  });

  it('a refused connection never reached Field Nation: even a create is resent, and fails as a network error', async () => {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
    const { fn, delays } = client(`http://127.0.0.1:${port}`);
    const err = await rejection(fn.createWorkOrder({ title: 'x' } as never));
    // The token request is the first call, and it is refused: retryable, never ambiguous.
    expect(err).toMatchObject({ kind: 'network', status: 0, retryable: true, ambiguous: false });
    expect((err.cause as { code?: string }).code).toBe('ECONNREFUSED');
    expect(delays.length).toBeGreaterThanOrEqual(1);
  });

  it("answers keep their meaning: Retry-After on a 503 create (ambiguous, not resent), a 422's field messages, a 429 waited out", async () => {
    const server = await fieldNation((req, res, n) => {
      if (n === 1) {
        res.writeHead(503, { 'content-type': 'application/json', 'Retry-After': '7' });
        return res.end(JSON.stringify({ message: 'maintenance' }));
      }
      if (n === 2) {
        res.writeHead(422, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ errors: [{ field: 'schedule/service_window', message: 'is required' }] }));
      }
      if (n === 3) {
        res.writeHead(429, { 'Retry-After': '2' });
        return res.end();
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ id: 9 }));
    });
    const { fn, delays } = client(server.origin);
    const unavailable = await rejection(fn.createWorkOrder({ title: 'x' } as never));
    expect(unavailable).toMatchObject({ kind: 'server', status: 503, retryAfterMs: 7_000, ambiguous: true, retryable: true, attempts: 1 });
    expect(unavailable.message).toMatch(/maintenance/);
    const invalid = await rejection(fn.createWorkOrder({ title: 'x' } as never));
    expect(invalid).toMatchObject({ kind: 'validation', status: 422, retryable: false });
    expect(invalid.validationMessages).toEqual(['schedule.service_window: is required']);
    expect(await fn.getWorkOrder(9)).toEqual({ id: 9 });
    expect(delays).toEqual([2_000]);
  });
});
