import http from 'node:http';
import net from 'node:net';
import jsforce from 'jsforce';
import type { CapturedRequest } from '@broker/testing';
import { describe, expect, it } from 'vitest';
import { parseOutboundMessage } from '@broker/salesforce';
import { retryGap, startSalesforceSim } from '../src/index';
import { ORG_ID, ORG_ID_15, soapConnection, VERSION, ACK, ackAll, simWithListener } from './helpers';

const HOUR = 3_600_000;

function notificationIds(req: CapturedRequest): string[] {
  return [...req.body.matchAll(/<Notification><Id>([^<]+)<\/Id>/g)].map((m) => m[1]!);
}

const fail500 = () => ({ status: 500, body: 'boom' });

/** A local port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('Outbound Messages', () => {
  const env = simWithListener({ outboundToListener: true });

  it('sends the envelope of reference §1.2 when a dispatcher ticks Send_to_Field_Nation__c', async () => {
    const caseId = env.sim.ref('case_install');
    env.sim.updateRecord('Case', caseId, { Send_to_Field_Nation__c: true }, { as: 'dispatcher@example.com' });
    const [req] = await env.listener.waitFor(1);
    expect(req!.method).toBe('POST');
    expect(req!.url).toBe('/salesforce/outbound/default');
    expect(req!.headers['content-type']).toBe('text/xml; charset=UTF-8');
    expect(req!.headers.soapaction).toBe('""');

    // Rendered by the soap package from the definition's WSDL: prefixes are soap's, so the contract is
    // checked by namespace, with the ingress's namespace-aware parser, not by Salesforce's exact bytes.
    const xml = req!.body;
    expect(xml).toMatch(
      /^<\?xml version="1\.0" encoding="utf-8"\?><soapenv:Envelope xmlns:soapenv="http:\/\/schemas\.xmlsoap\.org\/soap\/envelope\/" xmlns:xsi="http:\/\/www\.w3\.org\/2001\/XMLSchema-instance" [^>]*><soapenv:Body><notifications xmlns="http:\/\/soap\.sforce\.com\/2005\/09\/outbound">/,
    );
    const order = ['<OrganizationId>', '<ActionId>', '<SessionId xsi:nil="true">', '<EnterpriseUrl>', '<PartnerUrl>', '<Notification>'].map(
      (t) => xml.indexOf(t),
    );
    expect(order.every((pos, i) => pos > 0 && (i === 0 || pos > order[i - 1]!))).toBe(true);
    expect(xml).toContain('<sObject xsi:type="sf:Case" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">');

    const n = parseOutboundMessage(xml);
    const om = env.sim.outboundMessages().find((o) => o.name === 'Field_Nation_Case_Dispatch')!;
    expect(n.organizationId).toBe(ORG_ID);
    expect(n.actionId).toBe(om.id);
    expect(om.id).toMatch(/^04k/);
    expect(n.sessionId).toBeNull();
    expect(n.enterpriseUrl).toBe(`${env.sim.url}/services/Soap/c/62.0/${ORG_ID_15}`);
    expect(n.partnerUrl).toBe(`${env.sim.url}/services/Soap/u/62.0/${ORG_ID_15}`);
    expect(n.notifications).toHaveLength(1);
    const note = n.notifications[0]!;
    expect(note.id).toMatch(/^04l[A-Za-z0-9]{15}$/);
    expect(note.sObjectType).toBe('Case');
    expect(Object.keys(note.fields)[0]).toBe('Id');
    expect(note.sfId).toBe(caseId);
    expect(note.fields.Send_to_Field_Nation__c).toBe('true');
    expect(note.fields.Status).toBe('New');
    expect(note.fields.LastModifiedDate).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    // Field_Nation_Work_Order_Id__c is selected but null: omitted, not xsi:nil.
    expect(xml).not.toContain('Field_Nation_Work_Order_Id__c');

    await env.sim.outboundIdle();
    const [delivered] = env.sim.outbound({ status: 'delivered' });
    expect(delivered!.id).toBe(note.id);
    expect(delivered!.recordId).toBe(caseId);
  });

  it('ignores saves by the integration user and fires CaseComment flows for other users only', async () => {
    env.sim.updateRecord('Case', env.sim.ref('case_repair'), { Send_to_Field_Nation__c: true }, { as: 'integration@example.com' });
    env.sim.createRecord(
      'CaseComment',
      { ParentId: env.sim.ref('case_repair'), CommentBody: 'from the broker' },
      { as: 'integration@example.com' },
    );
    env.sim.createRecord(
      'CaseComment',
      { ParentId: env.sim.ref('case_repair'), CommentBody: 'from a human' },
      { as: 'dispatcher@example.com' },
    );
    const [req] = await env.listener.waitFor(1);
    await env.sim.outboundIdle();
    expect(env.listener.requests).toHaveLength(1);
    expect(req!.body).toContain('xsi:type="sf:CaseComment"');
    expect(parseOutboundMessage(req!.body).notifications[0]!.fields.CommentBody).toBe('from a human');
  });

  it('triggers on REST saves made through jsforce by a normal user', async () => {
    const conn = await soapConnection(env.sim, 'dispatcher@example.com', 'dispatcher-passwordDISPTOKEN');
    await conn.sobject('Case').update({ Id: env.sim.ref('case_maint'), Send_to_Field_Nation__c: true });
    const [req] = await env.listener.waitFor(1);
    expect(parseOutboundMessage(req!.body).notifications[0]!.sfId).toBe(env.sim.ref('case_maint'));
  });

  it('batches up to 100 notifications per POST', async () => {
    const conn = await soapConnection(env.sim, 'dispatcher@example.com', 'dispatcher-passwordDISPTOKEN');
    const records = Array.from({ length: 150 }, (_, i) => ({ Subject: `Bulk ${i}`, Send_to_Field_Nation__c: true }));
    const results = await conn.sobject('Case').create(records);
    expect(results.every((r) => r.success)).toBe(true);
    const reqs = await env.listener.waitFor(2);
    await env.sim.outboundIdle();
    expect(env.listener.requests).toHaveLength(2);
    expect(reqs.map((r) => notificationIds(r).length)).toEqual([100, 50]);
    const ids = reqs.flatMap(notificationIds);
    expect(new Set(ids).size).toBe(150);
  });

  it('retries with growing gaps on the virtual clock and redelivers with the same ids until an Ack', async () => {
    env.listener.respond = fail500;
    env.sim.updateRecord('Case', env.sim.ref('case_install'), { Send_to_Field_Nation__c: true });
    await env.listener.waitFor(1);
    await env.sim.outboundIdle();
    for (const gap of [1000, 2000, 4000]) {
      await env.sim.advanceClock(gap - 1);
      expect(env.listener.requests.length).toBeLessThan(5);
      await env.sim.advanceClock(1);
    }
    expect(env.listener.requests).toHaveLength(4);
    await env.sim.advanceClock(4000);
    expect(env.listener.requests).toHaveLength(4);

    env.listener.respond = () => ({ status: 200, body: '' });
    await env.sim.advanceClock(4000);
    expect(env.listener.requests).toHaveLength(5);
    env.listener.respond = ackAll;
    await env.sim.advanceClock(16_000);
    expect(env.listener.requests).toHaveLength(6);

    const ids = env.listener.requests.map((r) => notificationIds(r));
    expect(new Set(ids.flat()).size).toBe(1);
    const [n] = env.sim.outbound();
    expect(n!.status).toBe('delivered');
    const gaps = n!.attempts.slice(1).map((a, i) => a.at - n!.attempts[i]!.at);
    expect(gaps.map((g) => Math.round(g / 1000))).toEqual([1, 2, 4, 8, 16]);
    expect(n!.attempts.map((a) => a.ok)).toEqual([false, false, false, false, false, true]);
  });

  it('caps the gap at 2 hours and drops a message after 24 hours', async () => {
    expect([1, 2, 3].map((n) => retryGap(n, 1000, 2 * HOUR))).toEqual([1000, 2000, 4000]);
    expect(retryGap(30, 1000, 2 * HOUR)).toBe(2 * HOUR);
    env.listener.respond = fail500;
    env.sim.updateRecord('Case', env.sim.ref('case_install'), { Send_to_Field_Nation__c: true });
    await env.listener.waitFor(1);
    await env.sim.outboundIdle();
    const step = 10 * 60_000;
    for (let t = 0; t < 26 * HOUR; t += step) await env.sim.advanceClock(step);
    const [n] = env.sim.outbound();
    expect(n!.status).toBe('dropped');
    expect(n!.dropReason).toBe('expired');
    expect(n!.droppedAt! - n!.createdAt).toBeGreaterThanOrEqual(24 * HOUR);
    const gaps = n!.attempts.slice(1).map((a, i) => a.at - n!.attempts[i]!.at);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(2 * HOUR + step);
    // 1 s, 2 s, … 4096 s, then every 2 h until the 24 h mark.
    expect(gaps.filter((g) => g >= 2 * HOUR - step).length).toBeGreaterThanOrEqual(9);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]!).toBeGreaterThanOrEqual(Math.min(gaps[i - 1]!, 2 * HOUR) - step);
    const count = env.listener.requests.length;
    await env.sim.advanceClock(4 * HOUR);
    expect(env.listener.requests.length).toBe(count);
  });

  it('reads the record at send time and drops the notification of a deleted record', async () => {
    env.listener.respond = fail500;
    const a = env.sim.ref('case_install');
    const b = env.sim.ref('case_repair');
    env.sim.updateRecord('Case', a, { Send_to_Field_Nation__c: true });
    env.sim.updateRecord('Case', b, { Send_to_Field_Nation__c: true });
    const [first] = await env.listener.waitFor(1);
    expect(notificationIds(first!)).toHaveLength(2);
    await env.sim.outboundIdle();
    env.sim.updateRecord('Case', a, { Subject: 'Changed after the first attempt' });
    env.sim.deleteRecord('Case', b);
    env.listener.respond = ackAll;
    await env.sim.advanceClock(1000);
    const retry = env.listener.requests[env.listener.requests.length - 1]!;
    expect(parseOutboundMessage(retry.body).notifications.map((x) => x.fields.Subject)).toContain('Changed after the first attempt');
    expect(retry.body).not.toContain(b);
    // The update of `a` queued a second notification; both carry the latest data.
    const dropped = env.sim.outbound({ status: 'dropped' });
    expect(dropped.map((n) => n.dropReason)).toEqual(['record deleted']);
  });

  it('treats anything but a namespaced Ack=true as a failure and accepts the prefixed form', async () => {
    const responses = [
      { status: 200, body: '{"Ack":true}' },
      { status: 200, body: ACK.replace('http://soap.sforce.com/2005/09/outbound', 'urn:wrong') },
      { status: 200, body: ACK.replace('<Ack>true</Ack>', '<Ack>false</Ack>') },
      { status: 202, body: ACK },
      {
        status: 200,
        body: '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:out="http://soap.sforce.com/2005/09/outbound"><soapenv:Body><out:notificationsResponse><out:Ack>true</out:Ack></out:notificationsResponse></soapenv:Body></soapenv:Envelope>',
      },
    ];
    let i = 0;
    env.listener.respond = () => responses[Math.min(i++, responses.length - 1)]!;
    env.sim.updateRecord('Case', env.sim.ref('case_install'), { Send_to_Field_Nation__c: true });
    await env.listener.waitFor(1);
    await env.sim.outboundIdle();
    for (const gap of [1000, 2000, 4000, 8000]) await env.sim.advanceClock(gap);
    const [n] = env.sim.outbound();
    expect(n!.attempts.map((a) => a.ok)).toEqual([false, false, false, false, true]);
    expect(n!.status).toBe('delivered');
  });

  it('fault mode duplicateAfterAck: the acknowledged batch comes again with the same ids', async () => {
    env.sim.defineOutboundMessage({
      name: 'Dup',
      object: 'Case',
      fields: ['Subject'],
      endpointUrl: env.listener.url,
      faults: { duplicateAfterAck: true },
    });
    env.sim.defineFlow({
      name: 'Dup_Flow',
      object: 'Case',
      trigger: 'update',
      condition: { field: 'Status', changedTo: 'Escalated' },
      outboundMessage: 'Dup',
    });
    env.sim.updateRecord('Case', env.sim.ref('case_repair'), { Status: 'Escalated' });
    const [one, two] = await env.listener.waitFor(2);
    expect(notificationIds(one!)).toEqual(notificationIds(two!));
    await env.sim.outboundIdle();
    expect(env.sim.deliveries().map((d) => d.duplicate)).toEqual([false, true]);
    env.sim.updateRecord('Case', env.sim.ref('case_repair'), { Subject: 'still escalated' });
    await env.sim.outboundIdle();
    expect(env.listener.requests).toHaveLength(2);
  });

  it('fault mode shuffle: a POST carries its notifications out of queue order (a plain definition keeps it)', async () => {
    for (const [name, faults] of [
      ['Plain', {}],
      ['Shuffled', { shuffle: true }],
    ] as const) {
      env.sim.defineOutboundMessage({ name, object: 'Case', fields: ['Subject'], endpointUrl: `${env.listener.url}/${name}`, faults });
      env.sim.defineFlow({ name: `${name}_Flow`, object: 'Case', trigger: 'create', outboundMessage: name });
    }
    const conn = await soapConnection(env.sim);
    await conn.sobject('Case').create(Array.from({ length: 30 }, (_, k) => ({ Subject: `S${k}` })));
    await env.listener.waitFor(2);
    await env.sim.outboundIdle();
    expect(env.listener.requests).toHaveLength(2);
    const sent = (name: string) => notificationIds(env.listener.requests.find((r) => r.url === `/${name}`)!);
    const queued = (name: string) => env.sim.outbound({ outboundMessage: name }).map((n) => n.id);
    expect(sent('Plain')).toHaveLength(30);
    expect(sent('Plain')).toEqual(queued('Plain'));
    // One of 30! orders is the queue order: a working shuffle never gives it back.
    expect(sent('Shuffled')).not.toEqual(queued('Shuffled'));
    expect([...sent('Shuffled')].sort()).toEqual([...queued('Shuffled')].sort());
  });

  it('fault mode refuse: every attempt fails as a refused connection and nothing is sent', async () => {
    const def = { name: 'Refused', object: 'Case', fields: ['Subject'], endpointUrl: env.listener.url };
    env.sim.defineOutboundMessage({ ...def, faults: { refuse: true } });
    env.sim.defineFlow({ name: 'Refused_Flow', object: 'Case', trigger: 'create', outboundMessage: 'Refused' });
    env.sim.createRecord('Case', { Subject: 'nobody answers' });
    await env.sim.outboundIdle();
    await env.sim.advanceClock(1000);
    await env.sim.advanceClock(2000);
    const [n] = env.sim.outbound({ outboundMessage: 'Refused' });
    expect(n!.status).toBe('pending');
    expect(n!.attempts.map((a) => [a.ok, a.error])).toEqual(Array(3).fill([false, 'ECONNREFUSED (simulated)']));
    expect(env.listener.requests).toHaveLength(0);

    // Lift the fault: the next retry reaches the endpoint with the same notification id.
    env.sim.defineOutboundMessage(def);
    await env.sim.advanceClock(4000);
    expect(env.listener.requests.map(notificationIds)).toEqual([[n!.id]]);
    expect(env.sim.outbound({ outboundMessage: 'Refused' })[0]!.status).toBe('delivered');
  });

  it('a closed port is a refused connection, retried like any failure', async () => {
    env.sim.defineOutboundMessage({
      name: 'Closed',
      object: 'Case',
      fields: [],
      endpointUrl: `http://127.0.0.1:${await closedPort()}/closed`,
    });
    env.sim.defineFlow({ name: 'Closed_Flow', object: 'Case', trigger: 'create', outboundMessage: 'Closed' });
    env.sim.createRecord('Case', { Subject: 'nobody listens' });
    await env.sim.outboundIdle();
    const [refused] = env.sim.outbound({ outboundMessage: 'Closed' });
    expect(refused!.status).toBe('pending');
    expect(refused!.attempts[0]!.error).toMatch(/ECONNREFUSED/);
    expect(refused!.nextAttemptAt - refused!.attempts[0]!.at).toBe(1000);
  });

  it('fault mode delayMs: each POST leaves that much wall time late (a slow queue)', async () => {
    env.sim.defineOutboundMessage({
      name: 'Slow_Queue',
      object: 'Case',
      fields: ['Subject'],
      endpointUrl: env.listener.url,
      faults: { delayMs: 400 },
    });
    env.sim.defineFlow({ name: 'Slow_Queue_Flow', object: 'Case', trigger: 'create', outboundMessage: 'Slow_Queue' });
    const saved = Date.now();
    env.sim.createRecord('Case', { Subject: 'queued a while' });
    await new Promise((r) => setTimeout(r, 200));
    expect(env.listener.requests).toHaveLength(0);
    await env.sim.outboundIdle();
    expect(env.listener.requests).toHaveLength(1);
    expect(env.listener.requests[0]!.at - saved).toBeGreaterThanOrEqual(390);
    expect(env.sim.outbound({ outboundMessage: 'Slow_Queue' })[0]!.status).toBe('delivered');
  });

  it('cuts off a slow endpoint after outboundAttemptTimeoutMs and retries the same notification', async () => {
    let answerAfterMs = 3000;
    const bodies: string[] = [];
    const slow = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        bodies.push(body);
        setTimeout(() => res.writeHead(200, { 'Content-Type': 'text/xml' }).end(ACK), answerAfterMs).unref();
      });
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const timed = await startSalesforceSim({ port: 0, outboundAttemptTimeoutMs: 300, outboundRetryBaseMs: 1000 });
    try {
      timed.defineOutboundMessage({
        name: 'Slow_Endpoint',
        object: 'Case',
        fields: ['Subject'],
        endpointUrl: `http://127.0.0.1:${(slow.address() as net.AddressInfo).port}/`,
      });
      timed.defineFlow({ name: 'Slow_Endpoint_Flow', object: 'Case', trigger: 'create', outboundMessage: 'Slow_Endpoint' });
      const saved = Date.now();
      timed.createRecord('Case', { Subject: 'endpoint takes its time' });
      await timed.outboundIdle();
      expect(Date.now() - saved).toBeLessThan(2000);
      const [n] = timed.outbound();
      expect(n!.status).toBe('pending');
      expect(n!.attempts.map((a) => a.error)).toEqual(['timed out after 300 ms']);

      answerAfterMs = 0;
      await timed.advanceClock(1000);
      expect(bodies).toHaveLength(2);
      expect(notificationIds({ body: bodies[1]! } as CapturedRequest)).toEqual([n!.id]);
      expect(timed.outbound()[0]!.status).toBe('delivered');
    } finally {
      await timed.close();
      slow.closeAllConnections();
      await new Promise<void>((r) => slow.close(() => r()));
    }
  });

  it('flow condition changed: true fires on an update that changes the field, never on create', async () => {
    env.sim.defineOutboundMessage({ name: 'Priority_Changes', object: 'Case', fields: ['Priority'], endpointUrl: env.listener.url });
    env.sim.defineFlow({
      name: 'Priority_Flow',
      object: 'Case',
      trigger: 'createOrUpdate',
      condition: { field: 'Priority', changed: true },
      outboundMessage: 'Priority_Changes',
    });
    const id = env.sim.createRecord('Case', { Subject: 'priority watch', Priority: 'Low' });
    env.sim.updateRecord('Case', id, { Subject: 'another field' });
    env.sim.updateRecord('Case', id, { Priority: 'Low' });
    await env.sim.outboundIdle();
    expect(env.sim.outbound({ outboundMessage: 'Priority_Changes' })).toHaveLength(0);

    env.sim.updateRecord('Case', id, { Priority: 'High' });
    env.sim.updateRecord('Case', id, { Priority: null });
    await env.sim.outboundIdle();
    expect(env.sim.outbound({ outboundMessage: 'Priority_Changes' }).map((n) => n.recordId)).toEqual([id, id]);
    expect(env.listener.requests).toHaveLength(1);
  });

  it('sends the session id of the user to send as when asked, usable against the REST API', async () => {
    env.sim.defineOutboundMessage({
      name: 'With_Session',
      object: 'Account',
      fields: ['Name'],
      endpointUrl: env.listener.url,
      includeSessionId: true,
      integrationUser: 'integration@example.com',
    });
    env.sim.defineFlow({ name: 'Account_Flow', object: 'Account', trigger: 'createOrUpdate', outboundMessage: 'With_Session' });
    env.sim.updateRecord('Account', env.sim.ref('acme'), { Phone: '+1 312 555 0000' });
    const [req] = await env.listener.waitFor(1);
    const session = /<SessionId>([^<]+)<\/SessionId>/.exec(req!.body)![1]!;
    const conn = new jsforce.Connection({ instanceUrl: env.sim.url, accessToken: session, version: VERSION });
    const acme = (await conn.sobject('Account').retrieve(env.sim.ref('acme'), { fields: ['Phone'] })) as { Phone?: string };
    expect(acme.Phone).toBe('+1 312 555 0000');
  });
});
