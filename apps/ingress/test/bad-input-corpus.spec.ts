import { createHmac, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOutboundMessage, makeId } from '@broker/salesforce';
import { DEMO_OUTBOUND, DEMO_TOKEN, ORG_ID, startIngress, type IngressUnderTest } from './ingress-test-kit';

// Hostile and malformed inputs for both endpoints: files in corpus/, plus generated large ones.
const corpus = path.join(import.meta.dirname, 'corpus');
let ingress: IngressUnderTest;
beforeAll(async () => {
  ingress = await startIngress();
});
afterAll(async () => {
  await ingress?.close();
});

const envelope = (n: number, org = ORG_ID) =>
  buildOutboundMessage({
    organizationId: org,
    actionId: makeId('04k', 1),
    sessionId: null,
    enterpriseUrl: '',
    partnerUrl: '',
    notifications: Array.from({ length: n }, (_, i) => ({
      id: makeId('04l', 50_000 + i),
      sObjectType: 'Case',
      fields: { Id: makeId('500', 50_000 + i) },
    })),
  });
/** An envelope whose first element carries `bytes` worth of attributes (what made the XML parser spend seconds). */
const attributeHeavy = (bytes: number) => {
  const head = `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"`;
  const attrs: string[] = [];
  let size = head.length;
  for (let i = 0; size < bytes - 200; i++) {
    const a = ` a${i}="${i}"`;
    attrs.push(a);
    size += a.length;
  }
  return Buffer.from(`${head}${attrs.join('')}><soapenv:Body/></soapenv:Envelope>`);
};
const sign = (raw: Buffer | string) => `sha256=${createHmac('sha256', '5d1f0a3c-7b2e-4c8d-9a6f-1e2b3c4d5e6f').update(raw).digest('hex')}`;

type Case = {
  name: string;
  endpoint: 'soap' | 'webhook';
  body: Buffer;
  headers?: Record<string, string>;
  status: number;
  path?: string;
  fault?: RegExp;
};

function cases(): Case[] {
  const list: Case[] = [];
  for (const f of readdirSync(path.join(corpus, 'soap')))
    list.push({ name: `soap/${f}`, endpoint: 'soap', body: readFileSync(path.join(corpus, 'soap', f)), status: 500 });
  for (const f of readdirSync(path.join(corpus, 'webhook'))) {
    const body = readFileSync(path.join(corpus, 'webhook', f));
    list.push({ name: `webhook/${f} (signed)`, endpoint: 'webhook', body, headers: { 'x-fn-signature': sign(body) }, status: 400 });
  }
  list.push(
    { name: 'soap: 10 MB body', endpoint: 'soap', body: Buffer.alloc(10 * 1024 * 1024, 'a'), status: 500 },
    { name: 'soap: 1,000 notifications in one message', endpoint: 'soap', body: Buffer.from(envelope(1_000)), status: 500 },
    { name: 'soap: a wrong organization id', endpoint: 'soap', body: Buffer.from(envelope(1, makeId('00D', 77))), status: 500 },
    {
      name: 'soap: non-UTF-8 bytes',
      endpoint: 'soap',
      body: Buffer.concat([Buffer.from(envelope(1).slice(0, 200)), Buffer.from([0xc3, 0x28, 0xff])]),
      status: 500,
    },
    { name: 'webhook: 10 MB body', endpoint: 'webhook', body: Buffer.alloc(10 * 1024 * 1024, 'a'), status: 413 },
    { name: 'webhook: no signature', endpoint: 'webhook', body: Buffer.from('{"event":{"name":"x"},"workorder":{"id":1}}'), status: 401 },
    {
      name: 'webhook: a signature for other bytes (replayed with one byte changed)',
      endpoint: 'webhook',
      body: Buffer.from('{"event":{"name":"y"},"workorder":{"id":1}}'),
      headers: { 'x-fn-signature': sign('{"event":{"name":"x"},"workorder":{"id":1}}') },
      status: 401,
    },
    {
      name: 'webhook: non-UTF-8 bytes (signed)',
      endpoint: 'webhook',
      body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
      headers: { 'x-fn-signature': sign(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])) },
      status: 400,
    },
  );
  const deep = Buffer.from(`${'['.repeat(50_000)}${']'.repeat(50_000)}`);
  list.push({
    name: 'webhook: 50,000 levels of nesting (signed)',
    endpoint: 'webhook',
    body: deep,
    headers: { 'x-fn-signature': sign(deep) },
    status: 400,
  });

  // Issue 13: what an attacker found.
  const forged = Buffer.from(envelope(1));
  list.push(
    {
      name: 'soap: a forged message for a Case, without the path token',
      endpoint: 'soap',
      path: '/salesforce/outbound/demo',
      body: forged,
      status: 500,
      fault: /unknown endpoint/,
    },
    {
      name: 'soap: a forged message with a guessed path token',
      endpoint: 'soap',
      path: `/salesforce/outbound/demo/${'A'.repeat(DEMO_TOKEN.length)}`,
      body: forged,
      status: 500,
      fault: /unknown endpoint/,
    },
    {
      name: 'soap: 2 MB of attributes from nobody (no token)',
      endpoint: 'soap',
      path: '/salesforce/outbound/demo',
      body: attributeHeavy(2 * 1024 * 1024),
      status: 500,
      fault: /unknown endpoint/,
    },
    {
      name: 'soap: 2 MB of attributes with the token (over the body limit)',
      endpoint: 'soap',
      body: attributeHeavy(2 * 1024 * 1024),
      status: 500,
      fault: /exceeds/,
    },
    {
      name: 'soap: 60 KB of attributes on one element',
      endpoint: 'soap',
      body: attributeHeavy(60 * 1024),
      status: 500,
      fault: /attributes on one element/,
    },
    {
      name: 'soap: 60 KB of elements',
      endpoint: 'soap',
      body: Buffer.from(envelope(1).replace('<soapenv:Body>', `<soapenv:Body>${'<x/>'.repeat(15_000)}`)),
      status: 500,
      fault: /elements/,
    },
    {
      name: 'soap: 5,000 levels of nesting',
      endpoint: 'soap',
      body: Buffer.from(`${'<a>'.repeat(5_000)}${'</a>'.repeat(5_000)}`),
      status: 500,
      fault: /nested deeper/,
    },
    {
      name: "soap: another org's message with the token",
      endpoint: 'soap',
      body: Buffer.from(envelope(1, makeId('00D', 78))),
      status: 500,
      fault: /organization id/,
    },
    { name: 'soap: 101 notifications', endpoint: 'soap', body: Buffer.from(envelope(101)), status: 500, fault: /more than 100/ },
    {
      name: 'soap: unbalanced tags',
      endpoint: 'soap',
      body: Buffer.from(envelope(1).replace('</Notification>', '</Notificatio>')),
      status: 500,
      fault: /malformed/,
    },
  );
  for (const [label, timestamp] of [
    ['older than the retry horizon', new Date(Date.now() - 10 * 86_400_000).toISOString()],
    ['absurd', '+275760-09-13T00:00:00.000Z'],
    ['a number beyond Date', 8.65e15],
  ] as const) {
    const raw = Buffer.from(
      JSON.stringify({ event: { name: 'workorder.status.assigned', params: { work_order_id: 5 } }, timestamp, workorder: { id: 5 } }),
    );
    list.push({
      name: `webhook: a signed timestamp ${label}`,
      endpoint: 'webhook',
      body: raw,
      headers: { 'x-fn-signature': sign(raw) },
      status: 400,
    });
  }
  const deep20k = Buffer.from(
    `{"event":{"name":"x"},"workorder":{"id":1},"timestamp":"${new Date().toISOString()}","x":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}`,
  );
  list.push({
    name: 'webhook: 20,000 levels of objects (signed)',
    endpoint: 'webhook',
    body: deep20k,
    headers: { 'x-fn-signature': sign(deep20k) },
    status: 400,
  });
  return list;
}

async function send(c: Case): Promise<Response> {
  const url = `${ingress.url}${c.path ?? (c.endpoint === 'soap' ? DEMO_OUTBOUND : '/fieldnation/webhooks/demo')}`;
  return fetch(url, {
    method: 'POST',
    body: c.body,
    headers: {
      'content-type': c.endpoint === 'soap' ? 'text/xml' : 'application/json',
      'x-fn-delivery-id': `${randomUUID()}:1`,
      ...c.headers,
    },
  });
}
const stored = async () => {
  const a = await ingress.fetchQueue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
  const b = await ingress.eventQueue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
  return [...Object.values(a), ...Object.values(b)].reduce((x, y) => x + y, 0);
};

describe('bad-input corpus', () => {
  it.each(cases().map((c) => [c.name, c] as const))('%s: the right status, nothing stored, still healthy', async (_name, c) => {
    const before = await stored();
    const res = await send(c);
    expect(res.status).toBe(c.status);
    const text = await res.text();
    if (c.endpoint === 'soap') expect(text).toContain('<soapenv:Fault>');
    if (c.fault) expect(text).toMatch(c.fault);
    expect(await stored()).toBe(before);
    expect((await fetch(`${ingress.url}/healthz`)).status).toBe(200);
  });

  it('does not leak memory over 20 passes of the corpus', async () => {
    const small = cases().filter((c) => c.body.length < 1024 * 1024);
    const gc = (globalThis as { gc?: () => void }).gc;
    const heap = () => {
      gc?.();
      return process.memoryUsage().heapUsed;
    };
    for (const c of small) await (await send(c)).text();
    const start = heap();
    for (let i = 0; i < 20; i++) for (const c of small) await (await send(c)).text();
    const growth = heap() - start;
    // Without --expose-gc garbage is still counted; the bound is loose but a per-request leak of the
    // bodies (20 × the corpus, several MB) would exceed it.
    expect(growth).toBeLessThan(gc ? 8 * 1024 * 1024 : 40 * 1024 * 1024);
  });
});
