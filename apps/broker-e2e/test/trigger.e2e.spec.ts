import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOutboundMessage, makeId } from '@broker/salesforce';
import { loadConfig } from '@broker/config';
import { createDispatchCase, startHarness, type Harness } from '../../../scripts/lib/broker-harness';
import { generateSalesforceMetadata } from '@broker/preflight';

// A well-formed Outbound Message proves nothing about the record: anyone who learns the endpoint
// (and the org id, which is no secret) can send one for any record id. These tests send such
// messages by hand, as an attacker would, and check that only Salesforce's answer decides.
let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    caseObject:
      'Case: { mapping: MAPPING, trigger: "Send_to_Field_Nation__c = true", afterCreate: { publish: true }, ' +
      'writeBack: { workOrderIdField: Field_Nation_Work_Order_Id__c, syncStatusField: Field_Nation_Sync_Status__c, resetCheckbox: Send_to_Field_Nation__c } }',
    salesforceSim: { outboundRetryBaseMs: 1_000, timeFactor: 1 },
  });
  // The org runs what `broker salesforce metadata` generates for this connection (resetCheckbox
  // included): the Outbound Messages and Flows replace the default org's.
  for (const om of h.sf.outboundMessages()) h.sf.removeOutboundMessage(om.name);
  const connection = loadConfig(h.configFile, h.env).connections[0]!;
  const { files } = generateSalesforceMetadata({ connection, endpoint: h.ingressUrl, integrationUserId: h.sf.ref('integration') });
  expect(h.sf.deployMetadata(files).flows).toEqual(['Broker_demo_Case_to_Field_Nation', 'Broker_demo_CaseComment_to_Field_Nation']);
  expect(h.sf.outboundMessages().map((o) => o.endpointUrl)).toEqual([h.outboundUrl, h.outboundUrl]);
});
afterAll(async () => {
  await h?.stop();
});

const dispatcher = { as: 'dispatcher@example.com' };
let seq = 0;

/** POST a well-formed Outbound Message for `recordId` to the endpoint Salesforce is configured with. */
async function forge(sObjectType: string, recordId: string): Promise<string> {
  const om = h.sf.outboundMessages().find((o) => o.object === sObjectType)!;
  const notificationId = makeId('04l', 900_000 + ++seq);
  const body = buildOutboundMessage({
    organizationId: '00D000000000001EAA',
    actionId: om.id,
    sessionId: null,
    enterpriseUrl: '',
    partnerUrl: '',
    notifications: [{ id: notificationId, sObjectType, fields: { Id: recordId } }],
  });
  const res = await fetch(om.endpointUrl, { method: 'POST', body, headers: { 'content-type': 'text/xml' } });
  expect(res.status).toBe(200);
  return notificationId;
}

const newCase = (subject: string, checked: boolean) => createDispatchCase(h.sf, subject, { Send_to_Field_Nation__c: checked });

const workOrdersFor = (caseId: string) => h.fn.listWorkOrders().filter((w) => w.incident_id === caseId);
const timeline = (id: string) => h.store.timeline(id);

describe('the trigger is checked at the source', () => {
  it('turns a forged message for a Case whose trigger is false into a not-triggered row and outcome, no work order; the real trigger then syncs it', async () => {
    const caseId = newCase('Not for Field Nation', false);
    await h.sf.flushOutbound();
    expect(h.sf.outbound({}).filter((n) => n.recordId === caseId)).toEqual([]); // the org sent nothing
    h.sf.resetCounters();

    await forge('Case', caseId);
    const row = await h.waitFor('not-triggered row', async () => (await timeline(caseId)).find((t) => t.stage === 'not-triggered'));
    expect(row.outcome).toBe('skipped');
    expect(row.message).toMatch(/^not triggered: .*Send_to_Field_Nation__c = true/);
    // The Case shows the failed outcome (writeBack.notTriggered, on by default): one SOQL call to
    // read it, one composite call to say so; `notTriggered: false` keeps it to the query.
    await h.waitFor('not-triggered outcome', () => h.sf.getRecord(caseId)!.Field_Nation_Sync_Status__c === 'Failed');
    await new Promise((r) => setTimeout(r, 1_500)); // nothing may follow (the Flow skips the broker's own save)
    const rows = await timeline(caseId);
    expect(rows.map((t) => `${t.stage} ${t.outcome}`)).toEqual(['received ok', 'not-triggered skipped', 'sf-written ok']);
    expect(rows.reduce((n, t) => n + t.sfApiCalls, 0)).toBe(2);
    expect(h.sf.counters().apiCalls.byEndpoint['GET /query'] ?? 0).toBe(1);
    expect(h.sf.getRecord(caseId)!.Field_Nation_Work_Order_Id__c ?? null).toBeNull();
    expect(workOrdersFor(caseId)).toEqual([]);
    expect(await h.store.getCorrelation({ connectionId: 'demo', sfId: caseId })).toBeNull();

    // The dispatcher ticks the box: Salesforce's own message now creates the work order.
    h.sf.updateRecord('Case', caseId, { Send_to_Field_Nation__c: true }, dispatcher);
    const c = await h.waitForSynced(caseId, 60_000);
    expect(workOrdersFor(caseId)).toHaveLength(1);
    expect(h.fn.getWorkOrder(c.workOrderId!)!.title).toContain('Not for Field Nation');
    await h.waitFor('synced outcome', () => h.sf.getRecord(caseId)!.Field_Nation_Sync_Status__c === 'Synced');
  });

  it('keeps updating a correlated Case after the write-back reset its checkbox', async () => {
    const caseId = newCase('Checkbox reset', true);
    const c = await h.waitForSynced(caseId, 60_000);
    await h.waitFor(
      'checkbox reset by the write-back',
      () =>
        h.sf.getRecord(caseId)!.Send_to_Field_Nation__c === false &&
        h.sf.getRecord(caseId)!.Field_Nation_Work_Order_Id__c === String(c.workOrderId),
    );

    h.sf.updateRecord('Case', caseId, { Subject: 'Checkbox reset, rescheduled' }, dispatcher);
    await h.waitFor(
      'work order updated',
      () => String(h.fn.getWorkOrder(c.workOrderId!)!.title).includes('Checkbox reset, rescheduled'),
      60_000,
    );
    expect(h.sf.getRecord(caseId)!.Send_to_Field_Nation__c).toBe(false);
    expect(workOrdersFor(caseId)).toHaveLength(1);
    expect((await timeline(caseId)).filter((t) => t.stage === 'not-triggered')).toEqual([]);
  });

  it('posts no message for forged comment notifications: unpublished, or written by the integration user', async () => {
    const caseId = newCase('Comments', true);
    const c = await h.waitForSynced(caseId, 60_000);
    const messages = () =>
      (h.fn.getWorkOrder(c.workOrderId!) as unknown as { messages: { metadata: { total: number } } }).messages.metadata.total;
    const before = messages();
    const internal = h.sf.createRecord(
      'CaseComment',
      { ParentId: caseId, CommentBody: 'internal note: margin is thin', IsPublished: false },
      dispatcher,
    );
    const own = h.sf.createRecord(
      'CaseComment',
      { ParentId: caseId, CommentBody: 'written by the broker', IsPublished: true },
      { as: 'integration@example.com' },
    );
    for (const id of [internal, own]) await forge('CaseComment', id);
    await h.waitFor('both refused', async () =>
      (await Promise.all([internal, own].map(timeline))).every((rows) => rows.some((t) => t.stage === 'not-triggered')),
    );

    // A published comment by the dispatcher still goes through, by the org's own message.
    h.sf.createRecord('CaseComment', { ParentId: caseId, CommentBody: 'please call ahead', IsPublished: true }, dispatcher);
    await h.waitFor('message posted', () => messages() === before + 1, 60_000);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(messages()).toBe(before + 1);
  });
});
