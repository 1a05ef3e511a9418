import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeId } from '@broker/salesforce';
import type { CapturedDelivery } from '../src/payload-capture';
import { loadCapturedFixtures, replayRequest } from './captured-replay';
import { DEMO_TOKEN, ORG_ID, startIngress, type IngressUnderTest } from './ingress-test-kit';

const SECRET = '5d1f0a3c-7b2e-4c8d-9a6f-1e2b3c4d5e6f';
// Canaries: none of these may appear in a capture file, whatever the field they travel in.
const SESSION = '00D000000000001!AQ4AQCanarySessionIdValue_abcdefghijklmnopqrstuvwxyz0123456789';
const CANARY = {
  first: 'Zebulon',
  last: 'Quackenbush',
  email: 'zebulon.q@canary-mail.test',
  phone: '+1 555 0199 771',
  street: '77 Canary Lane',
  subject: 'Canary subject text',
  description: 'Ring Zebulon at home',
};
const canaries = [SESSION, DEMO_TOKEN, SECRET, 'acme-canary.my.salesforce.com', ...Object.values(CANARY)];

/** An Outbound Message as Salesforce sends it (reference/salesforce.md §1.2: indented, `sf:` fields). */
const envelope = (caseNo: number, extra = '') => `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>${ORG_ID}</OrganizationId>
   <ActionId>${makeId('04k', 1)}</ActionId>
   <SessionId>${SESSION}</SessionId>
   <EnterpriseUrl>https://acme-canary.my.salesforce.com/services/Soap/c/62.0/00D000000000001</EnterpriseUrl>
   <PartnerUrl>https://acme-canary.my.salesforce.com/services/Soap/u/62.0/00D000000000001</PartnerUrl>
   <Notification>
    <Id>${makeId('04l', caseNo)}</Id>
    <sObject xsi:type="sf:Case" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>${makeId('500', caseNo)}</sf:Id>
     <sf:Subject>${CANARY.subject}</sf:Subject>
     <sf:Description>${CANARY.description} &amp; ${CANARY.phone}</sf:Description>
     <sf:SuppliedEmail>${CANARY.email}</sf:SuppliedEmail>
     <sf:SuppliedName>${CANARY.first} ${CANARY.last}</sf:SuppliedName>
     <sf:Contact_Street__c>${CANARY.street}</sf:Contact_Street__c>
     <sf:Portal_Link__c>https://broker.example.com/salesforce/outbound/demo/${DEMO_TOKEN}</sf:Portal_Link__c>
     <sf:Status>New</sf:Status>
     <sf:LastModifiedDate>2026-09-08T23:40:33.000Z</sf:LastModifiedDate>${extra}
    </sObject>
   </Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>
`;

const recent = () => new Date(Date.now() - 7 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, '-06:00');
const webhookBody = (id = 100001) =>
  JSON.stringify({
    event: { name: 'workorder.status.assigned', params: { work_order_id: id, status_id: 3 } },
    timestamp: recent(),
    triggered_by_user: { id: 557, first_name: CANARY.first, last_name: CANARY.last },
    workorder: {
      id,
      title: CANARY.subject,
      status: { id: 3, name: 'Assigned' },
      description: { html: CANARY.description },
      location: { address1: CANARY.street, city: 'Springfield', state: 'IL', coordinates: { latitude: 39.78, longitude: -89.65 } },
      contacts: {
        results: [{ name: `${CANARY.first} ${CANARY.last}`, role: 'Location Contact', phone: CANARY.phone, email: CANARY.email }],
      },
      custom_fields: {
        results: [
          { id: 611, name: 'Site contact phone', value: CANARY.phone },
          { id: 606, name: 'Salesforce Case Id', value: makeId('500', 1) },
        ],
      },
      // A secret pasted into a free-text field still never reaches the file.
      internal: { ref: `secret=${SECRET}` },
    },
  });
const sign = (raw: string, secret = SECRET) => `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;

let ingress: IngressUnderTest | undefined;
afterEach(async () => {
  await ingress?.close();
  ingress = undefined;
});

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'capture-spec-'));
const om = (body: string, token = DEMO_TOKEN) =>
  fetch(`${ingress!.url}/salesforce/outbound/demo/${token}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'text/xml; charset=UTF-8', SOAPAction: '""' },
  });
const hook = (raw: string, headers: Record<string, string> = { 'x-fn-signature': sign(raw) }, connection = 'demo') =>
  fetch(`${ingress!.url}/fieldnation/webhooks/${connection}`, {
    method: 'POST',
    body: raw,
    headers: {
      'content-type': 'application/json',
      'x-fn-delivery-id': `${randomUUID()}:1`,
      'x-custom-auth': 'Bearer custom-header-canary',
      ...headers,
    },
  });
const files = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.json'));
const read = (dir: string) => files(dir).map((f) => ({ f, text: readFileSync(path.join(dir, f), 'utf8') }));
const metric = async (name: string, label: string) => {
  const line = (await ingress!.registry.metrics()).split('\n').find((l) => l.startsWith(name) && l.includes(label));
  return line ? Number(line.split(' ').pop()) : 0;
};

describe('payload capture', () => {
  it('is off unless configured: deliveries are stored and nothing is written', async () => {
    ingress = await startIngress();
    expect(ingress.capture).toBeUndefined();
    expect((await om(envelope(1))).status).toBe(200);
    expect(await metric('broker_ingress_captured_total', 'kind')).toBe(0);
  });

  it('writes one redacted file per authenticated delivery: no session id, token, secret, name, e-mail, phone or address survives', async () => {
    const dir = tmp();
    ingress = await startIngress({ capture: { dir, maxBytes: 64 * 1024, limit: 10 } });
    expect((await om(envelope(2))).status).toBe(200);
    const raw = webhookBody();
    expect((await hook(raw)).status).toBe(200);
    await ingress.capture!.drain();

    const written = read(dir);
    expect(written).toHaveLength(2);
    for (const { f, text } of written) {
      for (const canary of canaries) expect(text, `${canary} in ${f}`).not.toContain(canary);
      expect(text).not.toContain('custom-header-canary');
      expect(statSync(path.join(dir, f)).mode & 0o077).toBe(0);
    }
    const [omFile, hookFile] = ['outbound-message', 'fieldnation-webhook'].map((k) =>
      written.map((w) => JSON.parse(w.text) as CapturedDelivery).find((c) => c.kind === k)!,
    );

    // Shape kept: ids, types, status and timestamps stay; text keeps its length only.
    expect(omFile).toMatchObject({
      connectionId: 'demo',
      response: { status: 200 },
      request: { method: 'POST', path: '/salesforce/outbound/demo/[path-token]' },
    });
    const xml = String(omFile!.body);
    expect(xml).toContain(`<sf:Id>${makeId('500', 2)}</sf:Id>`);
    expect(xml).toContain('<sf:Status>New</sf:Status>');
    expect(xml).toContain('<sf:LastModifiedDate>2026-09-08T23:40:33.000Z</sf:LastModifiedDate>');
    expect(xml).toContain(`<SessionId>redacted-${SESSION.length}-chars</SessionId>`);
    expect(xml).toContain(`<sf:Subject>redacted-${CANARY.subject.length}-chars</sf:Subject>`);
    expect(xml).toMatch(/<sf:SuppliedEmail>redacted-\d+-chars@example\.invalid<\/sf:SuppliedEmail>/);
    expect(xml).toContain('<EnterpriseUrl>https://redacted.my.salesforce.com/services/Soap/c/62.0/00D000000000001</EnterpriseUrl>');
    expect(xml).toContain('/salesforce/outbound/demo/[redacted-secret]</sf:Portal_Link__c>');
    expect(omFile!.redacted).toBe(5);

    expect(hookFile!.request.headers).toMatchObject({ 'x-fn-signature': '[present]', 'content-type': 'application/json' });
    expect(hookFile!.request.otherHeaders).toContain('x-custom-auth');
    const body = hookFile!.body as ReturnType<typeof JSON.parse>;
    expect(body.event).toEqual({ name: 'workorder.status.assigned', params: { work_order_id: 100001, status_id: 3 } });
    expect(body.workorder.status).toEqual({ id: 3, name: 'Assigned' });
    expect(body.workorder.location).toEqual({
      address1: `redacted-${CANARY.street.length}-chars`,
      city: 'redacted-11-chars',
      state: 'IL',
      coordinates: { latitude: 0, longitude: 0 },
    });
    expect(body.workorder.contacts.results[0]).toEqual({
      name: 'redacted-19-chars',
      role: 'Location Contact',
      phone: `redacted-${CANARY.phone.length}-chars`,
      email: `redacted-${CANARY.email.length}-chars@example.invalid`,
    });
    expect(body.workorder.custom_fields.results[1].value).toBe(makeId('500', 1));
    expect(body.timestamp).toBe((JSON.parse(raw) as { timestamp: string }).timestamp);
    expect(await metric('broker_ingress_captured_total', 'kind="outbound-message"')).toBe(1);
  });

  it('never captures what failed authentication: wrong path token, bad or missing signature, unknown connection', async () => {
    const dir = tmp();
    ingress = await startIngress({ capture: { dir, maxBytes: 64 * 1024, limit: 10 } });
    expect((await om(envelope(3), 'wrong-token-0123456789abcdef')).status).toBe(500);
    const raw = webhookBody();
    expect((await hook(raw, { 'x-fn-signature': sign(raw, 'not-the-secret') })).status).toBe(401);
    expect((await hook(raw, {})).status).toBe(401);
    expect((await hook(raw, { 'x-fn-signature': sign(raw) }, 'nope')).status).toBe(404);
    // Authenticated but refused (a stale timestamp): captured with the answer it got.
    const stale = webhookBody().replace(/"timestamp":"[^"]+"/, `"timestamp":"${new Date(Date.now() - 9 * 86_400_000).toISOString()}"`);
    expect((await hook(stale)).status).toBe(400);
    await ingress.capture!.drain();
    const written = read(dir).map((w) => JSON.parse(w.text) as CapturedDelivery);
    expect(written.map((c) => [c.kind, c.response.status])).toEqual([['fieldnation-webhook', 400]]);
  });

  it('skips bodies over CAPTURE_MAX_BYTES and stops at CAPTURE_LIMIT files, still acknowledging every delivery', async () => {
    const dir = tmp();
    ingress = await startIngress({ capture: { dir, maxBytes: 3_000, limit: 2 } });
    const big = envelope(4, `\n     <sf:Long_Text__c>${'x'.repeat(4_000)}</sf:Long_Text__c>`);
    expect((await om(big)).status).toBe(200);
    await ingress.capture!.drain();
    expect(files(dir)).toHaveLength(0);
    expect(await metric('broker_ingress_capture_dropped_total', 'reason="too-large"')).toBe(1);
    for (const n of [5, 6, 7, 8]) expect((await om(envelope(n))).status).toBe(200);
    await ingress.capture!.drain();
    expect(files(dir)).toHaveLength(2);
    expect(await metric('broker_ingress_capture_dropped_total', 'reason="limit"')).toBe(2);
    expect(await ingress.fetchQueue.getJob(`om-demo-${makeId('04l', 8)}`)).toBeTruthy();
  });

  it('drops, never stores half-redacted, what it cannot prove redacted (CDATA in a field)', async () => {
    const dir = tmp();
    ingress = await startIngress({ capture: { dir, maxBytes: 64 * 1024, limit: 10 } });
    const cdata = envelope(9).replace(
      `<sf:Subject>${CANARY.subject}</sf:Subject>`,
      `<sf:Subject><![CDATA[${CANARY.subject}]]></sf:Subject>`,
    );
    expect((await om(cdata)).status).toBe(200);
    await ingress.capture!.drain();
    expect(files(dir)).toHaveLength(0);
    expect(await metric('broker_ingress_capture_dropped_total', 'reason="unredactable"')).toBe(1);
  });

  it('does not delay the acknowledgement when the disk is stuck: the bounded queue drops instead', async () => {
    const dir = tmp();
    let writes = 0;
    // A write that never completes (a hung network mount).
    ingress = await startIngress({
      capture: {
        dir,
        maxBytes: 64 * 1024,
        limit: 1_000,
        queueSize: 3,
        write: () => {
          writes++;
          return new Promise<void>(() => undefined);
        },
      },
    });
    const started = Date.now();
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const raw = webhookBody(200_000 + i);
      statuses.push((await hook(raw)).status);
    }
    const elapsed = Date.now() - started;
    expect(statuses).toEqual(Array(20).fill(200));
    // 20 sequential deliveries on a loaded machine: seconds would mean the ack waited on the disk.
    expect(elapsed).toBeLessThan(10_000);
    expect(writes).toBe(1);
    // One write hung, three queued: the other sixteen dropped and counted.
    expect(await metric('broker_ingress_capture_dropped_total', 'reason="queue-full"')).toBe(16);
    expect(await ingress.eventQueue.getJobCounts('waiting').then((c) => c.waiting)).toBe(20);
  });

  it('round trip: what it captured replays into a fresh ingress and is stored again', async () => {
    const dir = tmp();
    ingress = await startIngress({ capture: { dir, maxBytes: 64 * 1024, limit: 10 } });
    expect((await om(envelope(10))).status).toBe(200);
    expect((await hook(webhookBody(100777))).status).toBe(200);
    await ingress.capture!.drain();
    await ingress.close();
    ingress = await startIngress();
    const fixtures = loadCapturedFixtures(dir);
    expect(fixtures).toHaveLength(2);
    for (const { capture } of fixtures) {
      const req = replayRequest(capture, {
        ingressUrl: ingress.url,
        connectionId: 'demo',
        organizationId: ORG_ID,
        pathToken: DEMO_TOKEN,
        webhookSecret: SECRET,
      });
      expect((await fetch(req.url, { method: 'POST', headers: req.headers, body: req.body })).status).toBe(200);
      if (req.expect.kind === 'outbound-message') {
        expect(req.expect.notifications).toEqual([{ id: makeId('04l', 10), sObjectType: 'Case', sfId: makeId('500', 10) }]);
        expect((await ingress.fetchQueue.getJob(`om-demo-${makeId('04l', 10)}`))?.data).toMatchObject({
          sfObject: 'Case',
          sfId: makeId('500', 10),
        });
      } else {
        expect((await ingress.eventQueue.getJob(req.expect.jobId))?.data).toMatchObject({
          eventName: 'workorder.status.assigned',
          workOrderId: 100777,
        });
      }
    }
  });
});
