import { createLogger } from '@broker/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOutboundMessage, makeId } from '@broker/salesforce';
import { ORG_ID, startIngress, type IngressUnderTest } from './ingress-test-kit';

let ingress: IngressUnderTest;
beforeAll(async () => {
  ingress = await startIngress({ maxBodyBytes: 256 * 1024 });
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
  fetch(`${ingress.url}${path}`, { method: 'POST', body, headers: { 'content-type': 'text/xml; charset=UTF-8', SOAPAction: '""', ...headers } });

async function jobCount(): Promise<number> {
  const counts = await ingress.fetchQueue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

describe('Outbound Message endpoint', () => {
  it('stores one job per notification, then acknowledges', async () => {
    const before = await jobCount();
    const res = await post('/salesforce/outbound/demo', envelope([
      { id: makeId('04l', 101), sfId: makeId('500', 1) },
      { id: makeId('04l', 102), sfId: makeId('500', 2).slice(0, 15) },
    ]));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/xml/);
    expect(await res.text()).toContain('<Ack>true</Ack>');
    expect(await jobCount()).toBe(before + 2);
    const job = await ingress.fetchQueue.getJob(`om-demo-${makeId('04l', 102)}`);
    expect(job?.data).toMatchObject({ connectionId: 'demo', sfObject: 'Case', sfId: makeId('500', 2), source: 'outbound-message', snapshot: { Status: 'New' } });
    // The session id Salesforce may send never reaches Redis.
    expect(JSON.stringify(job?.data)).not.toContain('SECRET-SESSION-ID');
  });

  it('collapses a redelivery with the same notification ids', async () => {
    const body = envelope([{ id: makeId('04l', 201), sfId: makeId('500', 3) }]);
    expect((await post('/salesforce/outbound/demo', body)).status).toBe(200);
    const after1 = await jobCount();
    expect((await post('/salesforce/outbound/demo', body)).status).toBe(200);
    expect(await jobCount()).toBe(after1);
  });

  it('accepts 100 notifications in one message', async () => {
    const before = await jobCount();
    const many = Array.from({ length: 100 }, (_, i) => ({ id: makeId('04l', 1000 + i), sfId: makeId('500', 1000 + i) }));
    const res = await post('/salesforce/outbound/demo', envelope(many));
    expect(res.status).toBe(200);
    expect(await jobCount()).toBe(before + 100);
  });

  const bad: [string, () => Promise<Response>, RegExp][] = [
    ['a wrong organization id', () => post('/salesforce/outbound/demo', envelope([{ id: makeId('04l', 301), sfId: makeId('500', 4) }], makeId('00D', 999))), /organization id/],
    ['malformed SOAP', () => post('/salesforce/outbound/demo', '<soapenv:Envelope><broken'), /malformed|not a SOAP/],
    ['an entity expansion attack', () => post('/salesforce/outbound/demo', `<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><l>&b;</l>`), /DTD/],
    ['an oversized body', () => post('/salesforce/outbound/demo', 'x'.repeat(300 * 1024)), /exceeds/],
    ['an unconfigured object', () => post('/salesforce/outbound/demo', envelope([{ id: makeId('04l', 302), sfId: makeId('001', 4), type: 'Account' }])), /not configured/],
    ['an unknown connection', () => post('/salesforce/outbound/nope', envelope([{ id: makeId('04l', 303), sfId: makeId('500', 4) }])), /unknown endpoint/],
    ['a missing path token', () => post('/salesforce/outbound/locked', envelope([{ id: makeId('04l', 304), sfId: makeId('500', 4) }])), /unknown endpoint/],
    ['a wrong path token', () => post('/salesforce/outbound/locked/a-secret-path-token-0124', envelope([{ id: makeId('04l', 305), sfId: makeId('500', 4) }])), /unknown endpoint/],
    ['non-UTF-8 bytes', () => post('/salesforce/outbound/demo', Buffer.from([0x3c, 0xff, 0xfe, 0x3e])), /UTF-8/],
    ['an empty body', () => post('/salesforce/outbound/demo', ''), /empty/],
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
    const logged = await startIngress({ maxBodyBytes: 1024, logger: createLogger({ service: 'ingress-test', level: 'info', destination: { write: (l: string) => void lines.push(l) } }) });
    try {
      const res = await fetch(`${logged.url}/salesforce/outbound/locked/a-secret-path-token-0123`, { method: 'POST', body: 'x'.repeat(4096), headers: { 'content-type': 'text/xml' } });
      expect(res.status).toBe(500);
      expect(lines.join('')).toContain('/salesforce/outbound/locked/[redacted]');
      expect(lines.join('')).not.toContain('a-secret-path-token-0123');
    } finally {
      await logged.close();
    }
  });

  it('accepts the right path token', async () => {
    const res = await post('/salesforce/outbound/locked/a-secret-path-token-0123', envelope([{ id: makeId('04l', 401), sfId: makeId('500', 5) }]));
    expect(res.status).toBe(200);
  });

  it('serves the WSDL at ?wsdl', async () => {
    const res = await fetch(`${ingress.url}/salesforce/outbound/demo?wsdl`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('targetNamespace="http://soap.sforce.com/2005/09/outbound"');
    expect(text).toContain('location="http://broker.test/salesforce/outbound/demo"');
  });
});

describe('Outbound Message endpoint without Redis', () => {
  it('answers a SOAP fault and acknowledges nothing while Redis is unreachable', async () => {
    const down = await startIngress({ redisUrl: 'redis://127.0.0.1:1' });
    try {
      const res = await fetch(`${down.url}/salesforce/outbound/demo`, { method: 'POST', body: envelope([{ id: makeId('04l', 501), sfId: makeId('500', 6) }]) });
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
