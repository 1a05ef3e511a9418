import { createLogger } from '@broker/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOutboundMessage, makeId } from '@broker/salesforce';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { defineQueue, FetchRecordJob, sfFetchQueue } from '@broker/contracts';
import { DEMO_OUTBOUND, DEMO_TOKEN, ORG_ID, startIngress, type IngressUnderTest } from './ingress-test-kit';

let ingress: IngressUnderTest;
beforeAll(async () => {
  ingress = await startIngress();
});
afterAll(async () => {
  await ingress?.close();
});

const envelope = (notifications: { id: string; sfId: string; type?: string }[], org = ORG_ID) =>
  buildOutboundMessage({
    organizationId: org,
    actionId: makeId('04k', 1),
    sessionId: 'SECRET-SESSION-ID',
    enterpriseUrl: 'https://x/services/Soap/c/62.0/00D000000000001',
    partnerUrl: 'https://x/services/Soap/u/62.0/00D000000000001',
    notifications: notifications.map((n) => ({ id: n.id, sObjectType: n.type ?? 'Case', fields: { Id: n.sfId, Status: 'New' } })),
  });

const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  fetch(`${ingress.url}${path}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'text/xml; charset=UTF-8', SOAPAction: '""', ...headers },
  });

async function jobCount(): Promise<number> {
  const counts = await ingress.fetchQueue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

describe('Outbound Message endpoint', () => {
  it('stores one job per notification, then acknowledges', async () => {
    const before = await jobCount();
    const res = await post(
      DEMO_OUTBOUND,
      envelope([
        { id: makeId('04l', 101), sfId: makeId('500', 1) },
        { id: makeId('04l', 102), sfId: makeId('500', 2).slice(0, 15) },
      ]),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/xml/);
    expect(await res.text()).toContain('<Ack>true</Ack>');
    expect(await jobCount()).toBe(before + 2);
    const job = await ingress.fetchQueue.getJob(`om-demo-${makeId('04l', 102)}`);
    expect(job?.data).toMatchObject({
      connectionId: 'demo',
      sfObject: 'Case',
      sfId: makeId('500', 2),
      source: 'outbound-message',
      snapshot: { Status: 'New' },
    });
    // The session id Salesforce may send never reaches Redis.
    expect(JSON.stringify(job?.data)).not.toContain('SECRET-SESSION-ID');
  });

  it('collapses a redelivery with the same notification ids', async () => {
    const body = envelope([{ id: makeId('04l', 201), sfId: makeId('500', 3) }]);
    expect((await post(DEMO_OUTBOUND, body)).status).toBe(200);
    const after1 = await jobCount();
    expect((await post(DEMO_OUTBOUND, body)).status).toBe(200);
    expect(await jobCount()).toBe(after1);
  });

  it('accepts 100 notifications in one message', async () => {
    const before = await jobCount();
    const many = Array.from({ length: 100 }, (_, i) => ({ id: makeId('04l', 1000 + i), sfId: makeId('500', 1000 + i) }));
    const res = await post(DEMO_OUTBOUND, envelope(many));
    expect(res.status).toBe(200);
    expect(await jobCount()).toBe(before + 100);
  });

  /** A well-formed notification (the `n`th) posted to a path no connection answers on. */
  const unknownEndpoint = (label: string, path: string, n: number): [string, () => Promise<Response>, RegExp] => [
    label,
    () => post(path, envelope([{ id: makeId('04l', n), sfId: makeId('500', 4) }])),
    /unknown endpoint/,
  ];
  const bad: [string, () => Promise<Response>, RegExp][] = [
    [
      'a wrong organization id',
      () => post(DEMO_OUTBOUND, envelope([{ id: makeId('04l', 301), sfId: makeId('500', 4) }], makeId('00D', 999))),
      /organization id/,
    ],
    ['malformed SOAP', () => post(DEMO_OUTBOUND, '<soapenv:Envelope><broken'), /malformed|not a SOAP/],
    [
      'an entity expansion attack',
      () =>
        post(DEMO_OUTBOUND, `<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><l>&b;</l>`),
      /DTD/,
    ],
    ['an oversized body', () => post(DEMO_OUTBOUND, 'x'.repeat(100 * 1024)), /exceeds/],
    [
      'an unconfigured object',
      () => post(DEMO_OUTBOUND, envelope([{ id: makeId('04l', 302), sfId: makeId('001', 4), type: 'Account' }])),
      /not configured/,
    ],
    unknownEndpoint('an unknown connection', '/salesforce/outbound/nope', 303),
    unknownEndpoint('a missing path token (demo)', '/salesforce/outbound/demo', 306),
    unknownEndpoint('a wrong path token of the same length (demo)', `/salesforce/outbound/demo/${DEMO_TOKEN.slice(0, -1)}X`, 307),
    unknownEndpoint('a missing path token', '/salesforce/outbound/locked', 304),
    unknownEndpoint('a wrong path token', '/salesforce/outbound/locked/a-secret-path-token-0124', 305),
    ['non-UTF-8 bytes', () => post(DEMO_OUTBOUND, Buffer.from([0x3c, 0xff, 0xfe, 0x3e])), /UTF-8/],
    ['an empty body', () => post(DEMO_OUTBOUND, ''), /empty/],
  ];

  it.each(bad)('answers %s with a SOAP fault, stores nothing and stays healthy', async (_name, send, pattern) => {
    const before = await jobCount();
    const res = await send();
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).toContain('<soapenv:Fault>');
    expect(text).toMatch(pattern);
    expect(await jobCount()).toBe(before);
    expect((await fetch(`${ingress.url}/healthz`)).status).toBe(200);
  });

  it('keeps the path token out of the logs when it rejects a request', async () => {
    const lines: string[] = [];
    const logged = await startIngress({
      outboundMaxBodyBytes: 1024,
      logger: createLogger({ service: 'ingress-test', level: 'info', destination: { write: (l: string) => void lines.push(l) } }),
    });
    try {
      const res = await fetch(`${logged.url}/salesforce/outbound/locked/a-secret-path-token-0123`, {
        method: 'POST',
        body: 'x'.repeat(4096),
        headers: { 'content-type': 'text/xml' },
      });
      expect(res.status).toBe(500);
      expect(lines.join('')).toContain('/salesforce/outbound/locked/[redacted]');
      expect(lines.join('')).not.toContain('a-secret-path-token-0123');
    } finally {
      await logged.close();
    }
  });

  it('accepts the right path token', async () => {
    const res = await post(
      '/salesforce/outbound/locked/a-secret-path-token-0123',
      envelope([{ id: makeId('04l', 401), sfId: makeId('500', 5) }]),
    );
    expect(res.status).toBe(200);
  });

  it('refuses a request without the path token before reading its body, and closes the connection', async () => {
    const before = await jobCount();
    // 5 MB announced, not a byte sent: the answer can only come from the headers.
    const answer = await new Promise<{ status: number; connection?: string; body: string }>((resolve, reject) => {
      const req = http.request(
        `${ingress.url}/salesforce/outbound/demo`,
        { method: 'POST', headers: { 'content-type': 'text/xml', 'content-length': String(5 * 1024 * 1024) } },
        (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, body }));
        },
      );
      req.on('error', reject);
      req.flushHeaders();
      setTimeout(() => reject(new Error('no answer without the body: the gate waited for it')), 5_000).unref();
    });
    expect(answer.status).toBe(500);
    expect(answer.body).toContain('unknown endpoint');
    expect(answer.connection).toBe('close');
    expect(await jobCount()).toBe(before);
  });

  it('accepts a message without a token only where the connection opts out (unsafeAllowNoPathToken)', async () => {
    expect((await post('/salesforce/outbound/open', envelope([{ id: makeId('04l', 402), sfId: makeId('500', 6) }]))).status).toBe(200);
    expect(
      (await post(`/salesforce/outbound/open/${DEMO_TOKEN}`, envelope([{ id: makeId('04l', 403), sfId: makeId('500', 6) }]))).status,
    ).toBe(500);
  });

  it('accepts a real capture whose ActionId fails the 18-character checksum (the broker has no use for it)', async () => {
    const before = await jobCount();
    const res = await post(DEMO_OUTBOUND, readFileSync(path.join(import.meta.dirname, 'fixtures/action-id-checksum-mismatch.xml')));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<Ack>true</Ack>');
    expect(await jobCount()).toBe(before + 1);
    expect((await ingress.fetchQueue.getJob('om-demo-04l5g000000L62UAAS'))?.data.sfId).toBe('5005g000000039UAAQ');
  });

  it('caps the record snapshot kept in each job', async () => {
    const fields: Record<string, string> = { Id: makeId('500', 7) };
    for (let i = 0; i < 40; i++) fields[`Field_${i}__c`] = 'v'.repeat(900);
    const body = buildOutboundMessage({
      organizationId: ORG_ID,
      actionId: makeId('04k', 1),
      sessionId: null,
      enterpriseUrl: '',
      partnerUrl: '',
      notifications: [{ id: makeId('04l', 404), sObjectType: 'Case', fields }],
    });
    expect((await post(DEMO_OUTBOUND, body)).status).toBe(200);
    const job = await ingress.fetchQueue.getJob(`om-demo-${makeId('04l', 404)}`);
    expect(job?.data.snapshot.Id).toBe(makeId('500', 7));
    expect(Object.keys(job!.data.snapshot).length).toBeGreaterThan(1);
    expect(Buffer.byteLength(JSON.stringify(job!.data.snapshot))).toBeLessThanOrEqual(4_096);
  });

  it('does not serve /metrics on the public port', async () => {
    const res = await fetch(`${ingress.url}/metrics`);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('broker_');
  });

  it('serves the WSDL at ?wsdl', async () => {
    const res = await fetch(`${ingress.url}${DEMO_OUTBOUND}?wsdl`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('targetNamespace="http://soap.sforce.com/2005/09/outbound"');
    expect(text).toContain(`location="http://broker.test${DEMO_OUTBOUND}"`);
    // Without the token the WSDL (which names the endpoint) is not served either.
    expect((await fetch(`${ingress.url}/salesforce/outbound/demo?wsdl`)).status).toBe(404);
  });
});

describe('Outbound Message endpoint without Redis', () => {
  it('answers a SOAP fault and acknowledges nothing while Redis is unreachable', async () => {
    const down = await startIngress({ redisUrl: 'redis://127.0.0.1:1' });
    try {
      const res = await fetch(`${down.url}${DEMO_OUTBOUND}`, {
        method: 'POST',
        body: envelope([{ id: makeId('04l', 501), sfId: makeId('500', 6) }]),
      });
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(text).toContain('soapenv:Server');
      expect(text).not.toContain('<Ack>');
      expect((await fetch(`${down.url}/readyz`)).status).toBe(503);
    } finally {
      await down.close();
    }
  });
});

describe('Outbound Message endpoint, a notification the job contract refuses', () => {
  // The parser and the config already refuse what the sf.fetch contract refuses, so a stricter
  // contract stands in for a notification only the contract catches. The contract is checked once
  // per message for what the notifications share and per notification for the rest: a refused
  // notification anywhere in the message must refuse the whole message before anything is stored.
  const refusedSfId = makeId('500', 7_057);
  const strict = defineQueue(
    sfFetchQueue.name,
    {
      'fetch-record': FetchRecordJob.extend({
        sfId: FetchRecordJob.shape.sfId.refine((id) => id !== refusedSfId, 'refused by the test contract'),
      }),
    },
    sfFetchQueue.defaultJobOptions,
  );
  let strictIngress: IngressUnderTest;
  beforeAll(async () => {
    strictIngress = await startIngress({ fetchContract: strict });
  });
  afterAll(async () => {
    await strictIngress?.close();
  });

  it.each([0, 56, 99])('refuses a message of 100 whose notification %i is refused, with the store fault, storing none', async (bad) => {
    const notifications = Array.from({ length: 100 }, (_, i) => ({
      id: makeId('04l', 7_000 + bad * 100 + i),
      sfId: i === bad ? refusedSfId : makeId('500', 7_100 + i),
    }));
    const res = await fetch(`${strictIngress.url}${DEMO_OUTBOUND}`, { method: 'POST', body: envelope(notifications) });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).toContain('soapenv:Server');
    expect(text).toContain('temporarily unable to store the notifications');
    expect(text).not.toContain('<Ack>');
    expect(await strictIngress.fetchQueue.getJobCountByTypes('waiting', 'paused', 'active', 'delayed', 'completed', 'failed')).toBe(0);

    // The same message without the refused notification is stored whole.
    const ok = notifications.filter((_, i) => i !== bad);
    expect((await fetch(`${strictIngress.url}${DEMO_OUTBOUND}`, { method: 'POST', body: envelope(ok) })).status).toBe(200);
    expect(await strictIngress.fetchQueue.getJobCountByTypes('waiting')).toBe(99);
    await strictIngress.fetchQueue.obliterate({ force: true });
  });
});
