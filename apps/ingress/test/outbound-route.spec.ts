// The Outbound Message POST is served on the plain Node request, before Express
// (apps/ingress/src/ingress-app.ts): what Express's route and body parser did for it, it must still
// do — match the path the same way, read gzip/deflate/br bodies, refuse other encodings and bodies
// over the limit with a SOAP fault, and store nothing it did not acknowledge.
import http from 'node:http';
import { gzipSync, deflateSync, brotliCompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOutboundMessage, makeId } from '@broker/salesforce';
import { DEMO_OUTBOUND, DEMO_TOKEN, ORG_ID, startIngress, type IngressUnderTest } from './ingress-test-kit';

let ingress: IngressUnderTest;
const LIMIT = 8 * 1024;
beforeAll(async () => {
  ingress = await startIngress({ outboundMaxBodyBytes: LIMIT });
});
afterAll(async () => {
  await ingress?.close();
});

let next = 700_000;
const envelope = (count = 1) =>
  buildOutboundMessage({
    organizationId: ORG_ID,
    actionId: makeId('04k', 1),
    sessionId: null,
    enterpriseUrl: '',
    partnerUrl: '',
    notifications: Array.from({ length: count }, () => {
      const n = next++;
      return { id: makeId('04l', n), sObjectType: 'Case', fields: { Id: makeId('500', n) } };
    }),
  });
const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  fetch(`${ingress.url}${path}`, { method: 'POST', body, headers: { 'content-type': 'text/xml; charset=UTF-8', ...headers } });
const jobCount = async () =>
  Object.values(await ingress.fetchQueue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed')).reduce((a, b) => a + b, 0);

describe('Outbound Message route without Express', () => {
  it.each([
    ['a trailing slash', `${DEMO_OUTBOUND}/`],
    ['a query string', `${DEMO_OUTBOUND}?from=sf`],
    ['another letter case in the fixed part', DEMO_OUTBOUND.replace('/salesforce/outbound/', '/Salesforce/OUTBOUND/')],
    ['a percent-encoded token', `/salesforce/outbound/demo/${encodeURIComponent(DEMO_TOKEN).replace('-', '%2D')}`],
  ])('matches the path as Express did: %s', async (_name, path) => {
    const before = await jobCount();
    const res = await post(path, envelope());
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<Ack>true</Ack>');
    expect(await jobCount()).toBe(before + 1);
  });

  it('answers the Ack in one piece: XML content type and its exact length', async () => {
    const res = await post(DEMO_OUTBOUND, envelope());
    const text = await res.text();
    expect(res.headers.get('content-type')).toBe('text/xml; charset=utf-8');
    expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(text));
  });

  it('leaves other paths and methods to Express', async () => {
    expect((await post('/salesforce/outbound/demo/x/extra', envelope())).status).toBe(404);
    expect((await fetch(`${ingress.url}${DEMO_OUTBOUND}`, { method: 'PUT', body: 'x' })).status).toBe(404);
    expect((await fetch(`${ingress.url}${DEMO_OUTBOUND}?wsdl`)).status).toBe(200);
  });

  it('refuses a token that is not valid percent-encoding as an unknown endpoint', async () => {
    const res = await post('/salesforce/outbound/demo/%E0%A4%A', envelope());
    expect(res.status).toBe(500);
    expect(await res.text()).toMatch(/unknown endpoint/);
  });

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ] as const)('reads a %s body', async (encoding, compress) => {
    const before = await jobCount();
    const res = await post(DEMO_OUTBOUND, compress(Buffer.from(envelope(3))), { 'content-encoding': encoding });
    expect(res.status).toBe(200);
    expect(await jobCount()).toBe(before + 3);
  });

  it('applies the limit to the inflated body: a small gzip bomb is refused, nothing stored', async () => {
    const before = await jobCount();
    const bomb = gzipSync(Buffer.alloc(LIMIT * 100, ' '));
    expect(bomb.length).toBeLessThan(LIMIT);
    const res = await post(DEMO_OUTBOUND, bomb, { 'content-encoding': 'gzip' });
    expect(res.status).toBe(500);
    expect(await res.text()).toMatch(/<faultcode>soapenv:Client<\/faultcode><faultstring>request body exceeds 8192 bytes/);
    expect(await jobCount()).toBe(before);
  });

  it.each([
    ['an unknown content encoding', { 'content-encoding': 'compress' }, envelope(), /could not be read/],
    ['a corrupt gzip body', { 'content-encoding': 'gzip' }, Buffer.from('not gzip at all'), /could not be read/],
    ['a body over the limit', {}, Buffer.alloc(LIMIT + 1, 'a'), /exceeds 8192 bytes/],
  ])('refuses %s with a Client fault, storing nothing', async (_name, headers, body, pattern) => {
    const before = await jobCount();
    const res = await post(DEMO_OUTBOUND, body, headers);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).toContain('<faultcode>soapenv:Client</faultcode>');
    expect(text).toMatch(pattern);
    expect(await jobCount()).toBe(before);
  });

  it('reads a chunked body (no Content-Length) under the limit, and refuses one over it', async () => {
    const send = (chunks: string[]) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const url = new URL(`${ingress.url}${DEMO_OUTBOUND}`);
        const req = http.request(
          { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'text/xml' } },
          (res) => {
            let text = '';
            res.on('data', (c) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode!, text }));
          },
        );
        req.on('error', reject);
        for (const c of chunks) req.write(c);
        req.end();
      });
    const xml = envelope(2);
    const ok = await send([xml.slice(0, 100), xml.slice(100, 101), xml.slice(101)]);
    expect(ok.status).toBe(200);
    const big = await send(Array.from({ length: 10 }, () => 'a'.repeat(1_000)));
    expect(big.status).toBe(500);
    expect(big.text).toMatch(/exceeds/);
  });

  it('keeps the connection usable after a refused body (the rest of it was read, not left in the socket)', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const send = (body: Buffer) =>
      new Promise<number>((resolve, reject) => {
        const url = new URL(`${ingress.url}${DEMO_OUTBOUND}`);
        const req = http.request(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: 'POST',
            agent,
            headers: { 'content-type': 'text/xml', 'content-length': body.length },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode!));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    expect(await send(Buffer.alloc(LIMIT + 10, 'a'))).toBe(500);
    expect(await send(Buffer.from(envelope()))).toBe(200);
    agent.destroy();
  });
});
