import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@broker/config';
import { root } from '../../../scripts/lib/app-processes';
import { startHarness, type Harness } from '../../../scripts/lib/broker-harness';
import { generateSalesforceMetadata } from '@broker/preflight';

// Issue 15, parts 3 and 4, end to end over both simulators, on the custom object Service_Ticket__c:
// the outcome of every sync on the record (synced, failed with a reason, synced again after a fix or
// a replay), the trigger checkbox reset each time, cancellation by a condition on the record (allowed
// and refused), and the reverse (a work order cancelled on Field Nation cancels the ticket).
const TICKET = `Service_Ticket__c:
        mapping: ${path.join(root, 'config/mappings/ticket-to-work-order.yaml')}
        eventRules: ${path.join(root, 'config/mappings/ticket-events.yaml')}
        trigger: Send_to_Field_Nation__c = true
        afterCreate: { publish: true }
        writeBack:
          workOrderIdField: Field_Nation_Work_Order_Id__c
          syncStatusField: Field_Nation_Sync_Status__c
          syncMessageField: Field_Nation_Sync_Message__c
          syncedAtField: Field_Nation_Last_Sync__c
          resetCheckbox: Send_to_Field_Nation__c
        cancel:
          condition: Cancel_Work_Order__c = true
          reason: 58
          reasonField: Status__c
          reasons: { Closed: 59 }`;

let h: Harness;
let redis: Redis;
beforeAll(async () => {
  h = await startHarness({
    caseObject: `Case: { mapping: MAPPING, trigger: "Send_to_Field_Nation__c = true" }\n      ${TICKET}`,
    salesforceSim: { outboundRetryBaseMs: 1_000, timeFactor: 1 },
  });
  // The org runs what `broker salesforce metadata` generates for this connection: its Flows skip
  // the integration user's saves, which is what keeps the broker's own write-backs from looping.
  for (const om of h.sf.outboundMessages()) h.sf.removeOutboundMessage(om.name);
  const connection = loadConfig(h.configFile, h.env).connections[0]!;
  const { files } = generateSalesforceMetadata({ connection, endpoint: h.ingressUrl, integrationUserId: h.sf.ref('integration') });
  expect(h.sf.deployMetadata(files).flows).toContain('Broker_demo_Service_Ticket_to_Field_Nation');
  redis = new Redis(h.redisUrl);
});
afterAll(async () => {
  redis?.disconnect();
  await h?.stop();
});

const dispatcher = { as: 'dispatcher@example.com' };
let seq = 0;
function newTicket(fields: Record<string, unknown> = {}): string {
  return h.sf.createRecord(
    'Service_Ticket__c',
    {
      Name: `ST-E2E-${++seq}`,
      Subject__c: 'Replace the badge reader',
      Account__c: h.sf.ref('acme'),
      Contact__c: h.sf.ref('wile'),
      Preferred_Date__c: new Date(Date.now() + 86_400_000).toISOString(),
      Send_to_Field_Nation__c: true,
      ...fields,
    },
    dispatcher,
  );
}
const ticket = (id: string) => h.sf.getRecord(id)! as Record<string, unknown>;
const apiCalls = async (id: string) => (await h.store.timeline(id)).reduce((n, t) => n + t.sfApiCalls, 0);
const notificationsFor = (id: string) => h.sf.outbound({}).filter((n) => n.recordId === id).length;

/** Settled when the record's timeline stops growing for a moment and nothing is queued for it. */
async function quiet(sfId: string): Promise<void> {
  let last = -1;
  await h.waitFor(
    'timeline settles',
    async () => {
      await h.sf.flushOutbound();
      const n = (await h.store.timeline(sfId)).length;
      const same = n === last;
      last = n;
      if (!same) await new Promise((r) => setTimeout(r, 400));
      return same;
    },
    30_000,
  );
}

async function syncedTicket(fields: Record<string, unknown> = {}): Promise<{ id: string; workOrderId: number }> {
  const id = newTicket(fields);
  await h.waitFor('synced outcome on the ticket', () => ticket(id).Field_Nation_Sync_Status__c === 'Synced', 60_000);
  await quiet(id);
  return { id, workOrderId: Number(ticket(id).Field_Nation_Work_Order_Id__c) };
}

describe('sync feedback on a custom object', () => {
  it('create: the work order id, Synced, no message, the time, the checkbox reset; 2 API calls; no loop', async () => {
    const before = Date.now();
    const { id, workOrderId } = await syncedTicket();
    const t = ticket(id);
    expect(h.fn.getWorkOrder(workOrderId)!.title).toMatch(/^ST-E2E-\d+: Replace the badge reader$/);
    expect(t).toMatchObject({ Field_Nation_Sync_Status__c: 'Synced', Field_Nation_Sync_Message__c: null, Send_to_Field_Nation__c: false });
    expect(Date.parse(String(t.Field_Nation_Last_Sync__c))).toBeGreaterThanOrEqual(before - 1000);
    // One call to read the ticket (its cancel condition in the same composite call), one to write the outcome.
    expect(await apiCalls(id)).toBe(2);
    // The write-back was saved by the integration user: the generated Flow sent nothing for it.
    expect(notificationsFor(id)).toBe(1);
    expect((await h.store.timeline(id)).filter((r) => r.stage === 'received')).toHaveLength(1);
  });

  it('update: every sync writes its outcome again (a re-ticked checkbox is reset again); 2 calls per sync', async () => {
    const { id, workOrderId } = await syncedTicket();
    const first = String(ticket(id).Field_Nation_Last_Sync__c);
    const calls = await apiCalls(id);
    await new Promise((r) => setTimeout(r, 20));
    h.sf.updateRecord(
      'Service_Ticket__c',
      id,
      { Subject__c: 'Replace the badge reader and its cable', Send_to_Field_Nation__c: true },
      dispatcher,
    );
    await h.waitFor('work order updated', () => String(h.fn.getWorkOrder(workOrderId)!.title).endsWith('and its cable'), 60_000);
    await h.waitFor(
      'outcome rewritten',
      () => String(ticket(id).Field_Nation_Last_Sync__c) > first && ticket(id).Send_to_Field_Nation__c === false,
    );
    await quiet(id);
    expect(ticket(id).Field_Nation_Sync_Status__c).toBe('Synced');
    expect((await apiCalls(id)) - calls).toBe(2);
    expect(notificationsFor(id)).toBe(2);
  });

  it('a mapping error shows on the record as failed with its reason; fixing the record syncs it and clears the message', async () => {
    const id = newTicket({ Preferred_Date__c: null });
    await h.waitFor('failed outcome', () => ticket(id).Field_Nation_Sync_Status__c === 'Failed', 60_000);
    expect(ticket(id).Field_Nation_Sync_Message__c).toBe(
      'Mapping: schedule.service_window.start.utc: required value is missing: Preferred_Date__c is null',
    );
    // A failure leaves the checkbox: the record still asks to be sent, and the next save retries.
    expect(ticket(id).Send_to_Field_Nation__c).toBe(true);
    expect(h.fn.listWorkOrders().filter((w) => w.incident_id === id)).toEqual([]);
    await quiet(id);
    expect(notificationsFor(id)).toBe(1); // the failure write-back did not send the record back

    h.sf.updateRecord('Service_Ticket__c', id, { Preferred_Date__c: new Date(Date.now() + 2 * 86_400_000).toISOString() }, dispatcher);
    await h.waitFor('synced after the fix', () => ticket(id).Field_Nation_Sync_Status__c === 'Synced', 60_000);
    expect(ticket(id)).toMatchObject({ Field_Nation_Sync_Message__c: null, Send_to_Field_Nation__c: false });
  });

  it('a Field Nation 422 shows its validation message; a replay of the failed job ends in Synced, the message cleared', async () => {
    const { id, workOrderId } = await syncedTicket();
    h.fn.injectFault({
      method: 'PUT',
      path: `^/api/rest/v2/workorders/${workOrderId}$`,
      status: 422,
      count: 1,
      body: { status: 422, message: 'Validation failed', errors: [{ field: 'schedule', message: 'must be in the future' }] },
    });
    h.sf.updateRecord('Service_Ticket__c', id, { Subject__c: 'Rejected once' }, dispatcher);
    await h.waitFor('failed outcome', () => ticket(id).Field_Nation_Sync_Status__c === 'Failed', 60_000);
    expect(ticket(id).Field_Nation_Sync_Message__c).toBe('Field Nation refused it (422): schedule: must be in the future');
    expect(ticket(id).Field_Nation_Work_Order_Id__c).toBe(String(workOrderId));

    const fnWrite = new Queue('fn.write', { connection: redis, prefix: h.queuePrefix });
    try {
      const failed = (await fnWrite.getFailed()).filter((j) => (j.data as { sfId?: string }).sfId === id);
      expect(failed).toHaveLength(1);
      await failed[0]!.retry();
    } finally {
      await fnWrite.close();
    }
    await h.waitFor('synced after the replay', () => ticket(id).Field_Nation_Sync_Status__c === 'Synced', 60_000);
    expect(ticket(id).Field_Nation_Sync_Message__c).toBeNull();
    expect(String(h.fn.getWorkOrder(workOrderId)!.title)).toMatch(/Rejected once$/);
  });
});

describe('cancellation by a condition on the record', () => {
  it('cancels the work order once, with the mapped reason, in one call to read and one to write; later edits are not sent', async () => {
    const { id, workOrderId } = await syncedTicket();
    const calls = await apiCalls(id);
    h.sf.updateRecord('Service_Ticket__c', id, { Cancel_Work_Order__c: true, Status__c: 'Closed' }, dispatcher);
    await h.waitFor('cancelled outcome', () => ticket(id).Field_Nation_Sync_Status__c === 'Cancelled', 60_000);
    const wo = h.fn.getWorkOrder(workOrderId)! as { status: { id: number }; [k: string]: unknown };
    expect(wo.status.id).toBe(7);
    // Reason 59, mapped from Status__c = Closed; the status event carries it, caused by the broker's user.
    const cancelled = h.fn.deliveries({ workOrderId, eventName: 'workorder.status.cancelled' });
    expect(cancelled).toHaveLength(1);
    expect(JSON.parse(cancelled[0]!.body)).toMatchObject({
      event: { params: { cancel_reason: 'Duplicate work order' } },
      triggered_by_user: { id: 1068 },
    });
    expect((await h.store.getCorrelation({ connectionId: 'demo', sfId: id }))!.state).toBe('cancelled');
    await quiet(id);
    expect((await apiCalls(id)) - calls).toBe(2);

    // Saved again (the condition still holds) and edited: no second cancel, no update.
    h.sf.updateRecord('Service_Ticket__c', id, { Subject__c: 'Edited after the cancel' }, dispatcher);
    await h.waitFor('skipped', async () =>
      (await h.store.timeline(id)).some((r) => r.stage === 'mapped' && r.outcome === 'skipped' && /was cancelled/.test(r.message ?? '')),
    );
    expect(String(h.fn.getWorkOrder(workOrderId)!.title)).not.toContain('Edited after the cancel');
    expect(ticket(id).Field_Nation_Sync_Status__c).toBe('Cancelled');
  });

  it('refuses in a status Field Nation does not cancel in: the record gets a failed outcome saying why', async () => {
    const { id, workOrderId } = await syncedTicket();
    h.fn.buyer.assign(workOrderId, 557);
    h.fn.technician.complete(workOrderId);
    h.fn.buyer.approve(workOrderId);
    h.fn.pay(workOrderId);
    await quiet(id);
    h.sf.updateRecord('Service_Ticket__c', id, { Cancel_Work_Order__c: true }, dispatcher);
    await h.waitFor('failed outcome', () => ticket(id).Field_Nation_Sync_Status__c === 'Failed', 60_000);
    expect(ticket(id).Field_Nation_Sync_Message__c).toBe(
      `Not cancelled: work order ${workOrderId} is Paid, and Field Nation cancels only before payment`,
    );
    expect((h.fn.getWorkOrder(workOrderId)! as { status: { id: number } }).status.id).toBe(6);
    expect((await h.store.getCorrelation({ connectionId: 'demo', sfId: id }))!.state).toBe('synced');
  });

  it('the reverse: a work order cancelled on Field Nation sets the ticket Cancelled through the event rule', async () => {
    const { id, workOrderId } = await syncedTicket();
    h.fn.buyer.cancel(workOrderId, { reason: 60 });
    await h.waitFor('ticket cancelled by the event rule', () => ticket(id).Status__c === 'Cancelled', 60_000);
    expect(ticket(id).Field_Nation_Status__c).toBe('Cancelled');
  });
});
