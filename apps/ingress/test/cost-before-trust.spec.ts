import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeId } from '@broker/salesforce';
import { DEMO_OUTBOUND, startIngress, type IngressUnderTest } from './ingress-test-kit';

// Issue 13: a 2 MB message from nobody cost 4 s of CPU (the XML was parsed before the org id was
// looked at) and /healthz waited 3.7 s behind it. The body limit now refuses 2 MB outright; this
// spec raises it to 4 MB (an operator who sends many fields) so that the pre-scan itself is measured.
let ingress: IngressUnderTest;
beforeAll(async () => {
  ingress = await startIngress({ outboundMaxBodyBytes: 4 * 1024 * 1024 });
});
afterAll(async () => {
  await ingress?.close();
});

const MB2 = 2 * 1024 * 1024;
const SOAP = 'http://schemas.xmlsoap.org/soap/envelope/';
const OUT = 'http://soap.sforce.com/2005/09/outbound';

/** 2 MB of attributes on one element: refused at the 17th. */
function attributesOnOneElement(): string {
  const attrs: string[] = [];
  for (let i = 0, size = 0; size < MB2; i++) {
    const a = ` a${i}="${'v'.repeat(20)}"`;
    attrs.push(a);
    size += a.length;
  }
  return `<soapenv:Envelope xmlns:soapenv="${SOAP}"${attrs.join('')}><soapenv:Body/></soapenv:Envelope>`;
}

/**
 * The scan's worst case: 2 MB of attributes spread within every limit (15 per element, 12,000 in
 * all), in a well-formed envelope of another org. The whole body is scanned, then refused.
 */
function attributesWithinLimits(): string {
  const value = 'x'.repeat(175);
  const element = `<pad ${Array.from({ length: 15 }, (_, i) => `a${i}="${value}"`).join(' ')}/>`;
  const count = Math.min(780, Math.ceil(MB2 / element.length));
  return (
    `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="${SOAP}"><soapenv:Body><notifications xmlns="${OUT}">` +
    `<OrganizationId>${makeId('00D', 4242)}</OrganizationId><ActionId>${makeId('04k', 1)}</ActionId>${element.repeat(count)}` +
    `<Notification><Id>${makeId('04l', 1)}</Id><sObject xsi:type="sf:Case" xmlns:sf="urn:sobject.enterprise.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><sf:Id>${makeId('500', 1)}</sf:Id></sObject></Notification>` +
    '</notifications></soapenv:Body></soapenv:Envelope>'
  );
}

const agent = new http.Agent({ keepAlive: true });

/** One request with node:http (lighter than fetch: the client shares this process's CPU with the server). */
function request(method: string, path: string, body?: Buffer): Promise<{ ms: number; status: number; text: string }> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${ingress.url}${path}`,
      { method, agent, headers: body ? { 'content-type': 'text/xml', 'content-length': body.length } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ ms: performance.now() - start, status: res.statusCode!, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Send `body` while /healthz is polled back to back; the slowest health answer seen meanwhile. */
async function underLoad(path: string, body: Buffer) {
  let done = false;
  const health: number[] = [];
  const poll = (async () => {
    while (!done) health.push((await request('GET', '/healthz')).ms);
  })();
  const post = await request('POST', path, body);
  done = true;
  await poll;
  return { post, healthMax: Math.max(...health), healthSamples: health.length };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('cost before trust', () => {
  const cases = [
    ['attributes on one element, with the token', DEMO_OUTBOUND, attributesOnOneElement, /attributes on one element/],
    ['attributes within every limit, another org, with the token', DEMO_OUTBOUND, attributesWithinLimits, /organization id/],
    ['any 2 MB body without the token', '/salesforce/outbound/demo', attributesOnOneElement, /unknown endpoint/],
  ] as const;

  it.each(cases)('answers 2 MB (%s) in under 100 ms while /healthz stays under 50 ms', async (_name, path, make, fault) => {
    const body = Buffer.from(make());
    expect(body.length).toBeGreaterThanOrEqual(MB2 * 0.95);
    const before = Object.values(await ingress.fetchQueue.getJobCounts()).reduce((a, b) => a + b, 0);
    await request('POST', path, body); // warm-up (JIT, connection)
    const rounds = [];
    for (let i = 0; i < 9; i++) rounds.push(await underLoad(path, body));
    for (const r of rounds) {
      expect(r.post.status).toBe(500);
      expect(r.post.text).toMatch(fault);
    }
    const post = median(rounds.map((r) => r.post.ms));
    const health = median(rounds.map((r) => r.healthMax));
    console.log(
      `${_name}: POST median ${post.toFixed(1)} ms (all: ${rounds.map((r) => r.post.ms.toFixed(1)).join(', ')}); slowest /healthz median ${health.toFixed(1)} ms over ${rounds.map((r) => r.healthSamples).join('/')} polls`,
    );
    // Medians over 9 rounds: a GC pause or a scheduling hiccup on a loaded 2-core machine does not decide it.
    expect(post).toBeLessThan(100);
    expect(health).toBeLessThan(50);
    expect(Object.values(await ingress.fetchQueue.getJobCounts()).reduce((a, b) => a + b, 0)).toBe(before);
  });
});
