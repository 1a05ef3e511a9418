import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { headerValue, httpExchange, statusOfFailedAnswer, type ExchangeRequest } from './http-exchange';
import { getWithDeadlines, SalesforceTimeoutError } from './salesforce-transport';

// The whole-answer exchange on undici (the record query, the Field Nation calls) against real local
// servers: its deadlines, how a broken connection fails, and what getWithDeadlines resends.
const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((c) => c()));

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => {
    (server as http.Server).closeAllConnections?.();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

/** An HTTP server whose handler is given the request number (from 1) too; it counts connections. */
async function server(handler: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void) {
  let requests = 0;
  let connections = 0;
  const s = http.createServer((req, res) => handler(req, res, ++requests));
  s.on('connection', () => connections++);
  const port = await listen(s);
  return { origin: `http://127.0.0.1:${port}`, requests: () => requests, connections: () => connections };
}

/** Accepts TCP and never says a word: a TLS handshake there never completes. */
async function mute() {
  const held: net.Socket[] = [];
  let closed = 0;
  const s = net.createServer((socket) => {
    held.push(socket);
    socket.resume(); // reads (and drops) the ClientHello, and so sees the client close
    socket.on('close', () => closed++);
  });
  const port = await listen(s);
  cleanups.push(() => held.forEach((socket) => socket.destroy()));
  return { port, closed: () => closed };
}

const request = (over: Partial<ExchangeRequest> = {}): ExchangeRequest => ({
  method: 'GET',
  headers: { Accept: 'application/json' },
  connectMs: 2_000,
  connectEnds: 'tcp',
  connectError: () => Object.assign(new Error('connect deadline'), { code: 'TEST_CONNECT' }),
  totalMs: 5_000,
  totalError: () => Object.assign(new Error('total deadline'), { code: 'TEST_TOTAL' }),
  ...over,
});

async function failure(p: Promise<unknown>): Promise<{ err: Error & { code?: string }; ms: number }> {
  const t0 = Date.now();
  const err = await p.then(
    () => new Error('expected a failure'),
    (e: unknown) => e as Error,
  );
  return { err, ms: Date.now() - t0 };
}

describe('httpExchange', () => {
  it('reads status, headers (lower case, a repeated one as an array) and a body sent in pieces; sends the body with its length', async () => {
    let received = '';
    let length: string | undefined;
    const s = await server((req, res) => {
      length = req.headers['content-length'];
      req.setEncoding('utf8');
      req.on('data', (c: string) => (received += c));
      req.on('end', () => {
        res.writeHead(201, [
          ['Content-Type', 'application/json'],
          ['X-Multi', 'a'],
          ['X-Multi', 'b'],
        ]);
        res.write('{"a":"é');
        setTimeout(() => res.end('"}'), 20);
      });
    });
    const answer = await httpExchange(new URL(`${s.origin}/x?y=1`), request({ method: 'POST', body: '{"ü":1}' }));
    expect(answer.status).toBe(201);
    expect(JSON.parse(answer.body.toString('utf8'))).toEqual({ a: 'é' });
    expect(answer.headers['content-type']).toBe('application/json');
    expect(answer.headers['x-multi']).toEqual(['a', 'b']);
    expect(headerValue(answer.headers, 'X-Multi')).toBe('a, b');
    expect(headerValue(answer.headers, 'retry-after')).toBeNull();
    expect(received).toBe('{"ü":1}');
    expect(length).toBe(String(Buffer.byteLength('{"ü":1}')));
  });

  it('keeps its connections for the next calls (keep-alive)', async () => {
    const s = await server((_req, res) => res.end('{}'));
    for (let i = 0; i < 6; i++) expect((await httpExchange(new URL(s.origin), request())).status).toBe(200);
    expect(s.requests()).toBe(6);
    // undici lets a socket rest one event-loop turn after an answer before reusing it (a server that
    // closes it despite keep-alive is seen first), so calls made back to back alternate between two.
    expect(s.connections()).toBeLessThanOrEqual(2);
  });

  it('the total deadline ends a body that stops coming, and the socket is closed', async () => {
    let closed = false;
    const s = await server((req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"partial":');
      req.socket.on('close', () => (closed = true));
    });
    const { err, ms } = await failure(httpExchange(new URL(s.origin), request({ totalMs: 300 })));
    expect(err.code).toBe('TEST_TOTAL');
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(3_000);
    expect(statusOfFailedAnswer(err)).toBe(200);
    await expect.poll(() => closed).toBe(true);
  });

  it("connect deadline 'secure' ends when TLS is established; 'tcp' when TCP is (a TLS handshake then runs on the total deadline)", async () => {
    const { port, closed } = await mute();
    const url = new URL(`https://127.0.0.1:${port}/`);
    const secure = await failure(httpExchange(url, request({ connectEnds: 'secure', connectMs: 200, totalMs: 3_000 })));
    expect(secure.err.code).toBe('TEST_CONNECT');
    expect(secure.ms).toBeGreaterThanOrEqual(150);
    expect(secure.ms).toBeLessThan(2_000);
    expect(statusOfFailedAnswer(secure.err)).toBeUndefined();
    await expect.poll(() => closed()).toBe(1);
    const tcp = await failure(httpExchange(url, request({ connectEnds: 'tcp', connectMs: 200, handshakeMs: 1_000, totalMs: 700 })));
    expect(tcp.err.code).toBe('TEST_TOTAL');
    expect(tcp.ms).toBeGreaterThanOrEqual(650);
    // The failed call's socket, still in its handshake, is not kept: closed handshakeMs after TCP connected.
    expect(closed()).toBe(1);
    await expect.poll(() => closed(), { timeout: 3_000 }).toBe(2);
  });

  it('a connection closed before the answer fails as node:http did (ECONNRESET, socket hang up); in the body as aborted, with the status', async () => {
    const before = await server((req) => req.socket.destroy());
    const hangUp = await failure(httpExchange(new URL(before.origin), request()));
    expect(hangUp.err).toMatchObject({ code: 'ECONNRESET', message: 'socket hang up' });
    expect(statusOfFailedAnswer(hangUp.err)).toBeUndefined();

    const midBody = await server((req, res) => {
      res.writeHead(503, { 'content-length': '1000' });
      res.write('x'.repeat(100), () => req.socket.destroy());
    });
    const aborted = await failure(httpExchange(new URL(midBody.origin), request()));
    expect(aborted.err).toMatchObject({ code: 'ECONNRESET', message: 'aborted' });
    expect(statusOfFailedAnswer(aborted.err)).toBe(503);
  });

  it('a refused connection fails with ECONNREFUSED', async () => {
    const s = net.createServer();
    const port = await listen(s);
    await new Promise((r) => s.close(r));
    const { err } = await failure(httpExchange(new URL(`http://127.0.0.1:${port}/`), request()));
    expect(err.code).toBe('ECONNREFUSED');
  });
});

describe('getWithDeadlines (the record query)', () => {
  const timeouts = { connectMs: 2_000, requestMs: 10_000 };

  it('asks again when the connection drops before the answer, and after a 503 whose body was cut', async () => {
    const s = await server((req, res, n) => {
      if (n === 1) return req.socket.destroy();
      if (n === 2) {
        res.writeHead(503, { 'content-length': '1000' });
        return res.write('x', () => req.socket.destroy());
      }
      res.writeHead(200, { 'content-type': 'application/json', 'sforce-limit-info': 'api-usage=7/100' });
      res.end('{"totalSize":0,"done":true,"records":[]}');
    });
    const answer = await getWithDeadlines(`${s.origin}/services/data/v62.0/query?q=x`, { Authorization: 'Bearer t' }, timeouts);
    expect(answer).toMatchObject({ status: 200, body: '{"totalSize":0,"done":true,"records":[]}' });
    expect(answer.headers['sforce-limit-info']).toBe('api-usage=7/100');
    expect(s.requests()).toBe(3);
  });

  it('does not ask again when a 200 is cut in its body', async () => {
    const s = await server((req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('{"totalSize"', () => req.socket.destroy());
    });
    await expect(getWithDeadlines(`${s.origin}/q`, {}, timeouts)).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(s.requests()).toBe(1);
  });

  it('one deadline over the attempts and the waits between them: ETIMEDOUT', async () => {
    const s = await server((req) => req.socket.destroy());
    const { err, ms } = await failure(getWithDeadlines(`${s.origin}/q`, {}, { connectMs: 2_000, requestMs: 1_200 }));
    expect(err).toBeInstanceOf(SalesforceTimeoutError);
    expect(err.code).toBe('ETIMEDOUT');
    expect(ms).toBeGreaterThanOrEqual(1_150);
    expect(ms).toBeLessThan(5_000);
    expect(s.requests()).toBe(2); // at 0 and after the 500 ms wait; the deadline passes in the 1 s wait
  });

  it('the connect deadline ends when TCP connects: a TLS handshake that never completes fails at requestMs', async () => {
    const { port } = await mute();
    const { err, ms } = await failure(getWithDeadlines(`https://127.0.0.1:${port}/q`, {}, { connectMs: 200, requestMs: 700 }));
    expect(err).toBeInstanceOf(SalesforceTimeoutError);
    expect(err.code).toBe('ETIMEDOUT');
    expect(ms).toBeGreaterThanOrEqual(650);
  });

  it('a connection refused twice more after 500 ms and 1 s is ECONNREFUSED', async () => {
    const s = net.createServer();
    const port = await listen(s);
    await new Promise((r) => s.close(r));
    const { err, ms } = await failure(getWithDeadlines(`http://127.0.0.1:${port}/q`, {}, timeouts));
    expect(err.code).toBe('ECONNREFUSED');
    expect(ms).toBeGreaterThanOrEqual(1_450);
  });
});

describe('undici is loaded at the first exchange, not at import', () => {
  // The ingress and the simulators reach this module through the library's index; esbuild would
  // hoist a static import of the package to the top of their bundles (as salesforce-client-lazy.spec.ts checks for jsforce).
  it('in a bundle built like the apps', async () => {
    const root = path.resolve(import.meta.dirname, '../../..');
    const dir = path.join(root, 'dist', `lazy-undici-${process.pid}`);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'entry.ts'),
      `
import { createRequire } from 'node:module';
import { httpExchange } from '@broker/salesforce';
import { FieldNationClient } from '@broker/fieldnation';
const require = createRequire(import.meta.url);
const loaded = () => Object.keys(require.cache).some((k) => k.includes('/node_modules/undici/'));
const out = { atImport: loaded(), client: typeof FieldNationClient };
const error = () => new Error('deadline');
await httpExchange(new URL('http://127.0.0.1:9/'), { method: 'GET', headers: {}, connectMs: 1000, connectEnds: 'tcp', connectError: error, totalMs: 2000, totalError: error }).catch((e) => (out.code = e.code));
out.afterCall = loaded();
console.log(JSON.stringify(out));
`,
    );
    await build({
      entryPoints: [path.join(dir, 'entry.ts')],
      outfile: path.join(dir, 'main.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      tsconfig: path.join(root, 'tsconfig.base.json'),
      logLevel: 'error',
    });
    expect(readFileSync(path.join(dir, 'main.mjs'), 'utf8')).not.toMatch(/^import .* from "undici"/m);
    const out = JSON.parse(
      execFileSync(process.execPath, [path.join(dir, 'main.mjs')], { encoding: 'utf8', timeout: 30_000 })
        .trim()
        .split('\n')
        .pop()!,
    );
    expect(out).toEqual({ atImport: false, client: 'function', code: 'ECONNREFUSED', afterCall: true });
  }, 60_000);
});
