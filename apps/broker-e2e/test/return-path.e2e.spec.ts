import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatchCase, PUBLISHED_CASE, startHarness, type Harness } from '../../../scripts/lib/broker-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    caseObject: PUBLISHED_CASE,
    salesforceSim: { outboundRetryBaseMs: 500 },
  });
});
afterAll(async () => {
  await h?.stop();
});

const dispatcher = { as: 'dispatcher@example.com' };
const PROVIDER = 557;

async function syncedCase(subject: string): Promise<{ caseId: string; workOrderId: number }> {
  const caseId = createDispatchCase(h.sf, subject);
  const c = await h.waitForSynced(caseId);
  return { caseId, workOrderId: c.workOrderId! };
}

const caseOf = (id: string) => h.sf.getRecord(id)!;

/** The harness's webhook secret (FN_WEBHOOK_SECRET default). */
const WEBHOOK_SECRET = '5d1f0a3c-7b2e-4c8d-9a6f-1e2b3c4d5e6f';
const sign = (secret: string, raw: string) => `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
/** A webhook delivery as Field Nation posts one, with the signature given. */
const postWebhook = (body: string, signature: string) =>
  fetch(`${h.ingressUrl}/fieldnation/webhooks/demo`, {
    method: 'POST',
    body,
    headers: { 'x-fn-signature': signature, 'x-fn-delivery-id': `${randomUUID()}:1` },
  });
const commentsOf = (caseId: string) =>
  h.sf.query(`SELECT Id, CommentBody, CreatedById FROM CaseComment WHERE ParentId = '${caseId}'`).records as {
    Id: string;
    CommentBody: string;
    CreatedById: string;
  }[];
const idle = () =>
  h.waitFor('deliveries settled', async () => {
    await h.fn.waitForDeliveries(20_000);
    return true;
  });

async function quiet(sfId: string): Promise<void> {
  // Settled when the timeline stops growing for a moment.
  let last = -1;
  await h.waitFor(
    'timeline settles',
    async () => {
      const n = (await h.store.timeline(sfId)).length;
      const same = n === last;
      last = n;
      return same;
    },
    30_000,
  );
}

describe('Field Nation → Salesforce', () => {
  it('applies the whole lifecycle to the Case, one Salesforce call per event', async () => {
    const { caseId, workOrderId } = await syncedCase('Lifecycle');
    await quiet(caseId);
    h.sf.resetCounters();
    h.fn.buyer.assign(workOrderId, PROVIDER);
    await h.waitFor('assigned', () => caseOf(caseId).Status === 'Technician Assigned');
    expect(caseOf(caseId).Technician_Name__c).toMatch(/\w+ \w+/);
    h.fn.technician.checkIn(workOrderId, { providerId: PROVIDER });
    await h.waitFor('checked in', () => caseOf(caseId).Status === 'Technician On Site');
    expect(caseOf(caseId).Technician_Arrived__c).toBeTruthy();
    h.fn.technician.checkOut(workOrderId, { providerId: PROVIDER });
    h.fn.technician.complete(workOrderId, { providerId: PROVIDER, closeoutNotes: 'Replaced the PSU.' });
    await h.waitFor('work done', () => caseOf(caseId).Status === 'Work Completed');
    await h.waitFor('completion comment', () => commentsOf(caseId).some((c) => c.CommentBody.includes('Replaced the PSU.')));
    h.fn.buyer.approve(workOrderId);
    await h.waitFor('approved', () => caseOf(caseId).Status === 'Resolved');
    await idle();
    await quiet(caseId);
    const written = (await h.store.timeline(caseId)).filter((t) => t.stage === 'sf-written' && t.outcome === 'ok');
    const calls = h.sf.counters().apiCalls.total;
    // Every event that changed the Case cost exactly one call (composite: fields + comment together).
    expect(calls).toBe(written.length);
    expect(written.every((t) => t.sfApiCalls === 1)).toBe(true);
    // ... and one write per event: assigned, checked in, work done (fields and comment together), approved.
    const applied = (await h.store.timeline(caseId)).filter((t) => t.stage === 'event' && t.outcome === 'ok');
    expect(written.length).toBe(applied.length);
    expect(written.length).toBeGreaterThanOrEqual(4);
    expect(written.some((t) => /Status/.test(t.message ?? '') && /comment/.test(t.message ?? ''))).toBe(true);
  });

  it('ignores forged and tampered webhooks, and a redelivered one changes nothing the second time', async () => {
    const { caseId, workOrderId } = await syncedCase('Forgery');
    await quiet(caseId);
    const raw = JSON.stringify({
      event: { name: 'workorder.status.approved', params: { work_order_id: workOrderId } },
      timestamp: new Date().toISOString(),
      triggered_by_user: { id: 1069 },
      workorder: { id: workOrderId, status: { id: 5, name: 'Approved' } },
    });
    const forged = await postWebhook(raw, sign('guessed-secret', raw));
    expect(forged.status).toBe(401);
    const tampered = await postWebhook(raw.replace('approved', 'work_done'), sign(WEBHOOK_SECRET, raw));
    expect(tampered.status).toBe(401);
    await new Promise((r) => setTimeout(r, 500));
    expect(caseOf(caseId).Status).not.toBe('Resolved');

    h.fn.buyer.assign(workOrderId, PROVIDER);
    await h.waitFor('assigned', () => caseOf(caseId).Status === 'Technician Assigned');
    await idle();
    await quiet(caseId);
    const delivery = h.fn.deliveries({}).find((d) => d.eventName === 'workorder.status.assigned' && d.workOrderId === workOrderId)!;
    h.sf.resetCounters();
    expect(h.fn.retryDelivery(delivery.deliveryId)).toBe(true);
    await idle();
    await new Promise((r) => setTimeout(r, 1_000));
    expect(h.sf.counters().apiCalls.total).toBe(0);
  });

  it('ends in the work-done state when work_done arrives before checked_in', async () => {
    const { caseId, workOrderId } = await syncedCase('Out of order');
    await quiet(caseId);
    const t0 = Date.now();
    const send = async (name: string, at: number) => {
      const raw = JSON.stringify({
        event: { name, params: { work_order_id: workOrderId } },
        timestamp: new Date(at).toISOString(),
        triggered_by_user: { id: PROVIDER },
        workorder: {
          id: workOrderId,
          status: { id: name.endsWith('work_done') ? 4 : 3, name },
          assignee: { user: { id: PROVIDER, first_name: 'Tess', last_name: 'Tech' } },
          closing_notes: 'ok',
        },
      });
      const res = await postWebhook(raw, sign(WEBHOOK_SECRET, raw));
      expect(res.status).toBe(200);
    };
    await send('workorder.status.work_done', t0 + 60_000);
    await h.waitFor('work done', () => caseOf(caseId).Status === 'Work Completed');
    await send('workorder.status.checked_in', t0);
    await quiet(caseId);
    expect(caseOf(caseId).Status).toBe('Work Completed');
    expect(caseOf(caseId).Field_Nation_Status__c).toBe('Work Done');
    // The older event still delivers what is not a status: the arrival time.
    await h.waitFor('arrival time', () => Boolean(caseOf(caseId).Technician_Arrived__c));
  });

  it('carries a 20-message conversation both ways without an echo', async () => {
    const { caseId, workOrderId } = await syncedCase('Conversation');
    h.fn.buyer.assign(workOrderId, PROVIDER);
    await quiet(caseId);
    const commentsBefore = commentsOf(caseId).length;
    const countMessages = () =>
      (h.fn.getWorkOrder(workOrderId) as unknown as { messages: { metadata: { total: number } } }).messages.metadata.total;
    const base = countMessages();
    for (let i = 0; i < 10; i++) {
      h.fn.technician.postMessage(workOrderId, `tech says ${i}`, { providerId: PROVIDER });
      await h.waitFor(`comment ${i}`, () => commentsOf(caseId).some((c) => c.CommentBody.includes(`tech says ${i}`)));
      h.sf.createRecord('CaseComment', { ParentId: caseId, CommentBody: `dispatcher says ${i}`, IsPublished: true }, dispatcher);
      await h.waitFor(`message ${i}`, () => countMessages() >= base + 2 * (i + 1));
    }
    await idle();
    await quiet(caseId);
    expect(countMessages() - base).toBe(20);
    expect(commentsOf(caseId).length - commentsBefore).toBe(20);
    const texts = commentsOf(caseId).map((c) => c.CommentBody);
    expect(texts.filter((t) => t.includes('dispatcher says')).length).toBe(10);
    expect(texts.filter((t) => t.includes('tech says')).length).toBe(10);
  });

  it('puts a validation-rule failure on the timeline with its message', async () => {
    const { caseId, workOrderId } = await syncedCase('Validation');
    await quiet(caseId);
    h.sf.injectFault({
      kind: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
      method: 'PATCH',
      path: '/sobjects/Case/',
      message: 'A Case cannot be assigned without a site contact',
      count: 1,
    });
    h.fn.buyer.assign(workOrderId, PROVIDER);
    const row = await h.waitFor('failure on the timeline', async () =>
      (await h.store.timeline(caseId)).find((t) => t.stage === 'sf-written' && t.outcome === 'failed'),
    );
    expect(row.message).toContain('FIELD_CUSTOM_VALIDATION_EXCEPTION');
    expect(row.message).toContain('A Case cannot be assigned without a site contact');
    // The salesforce-writer counts it under the rule's errorCode, as a final failure.
    const metrics = await (await fetch(`http://127.0.0.1:${h.apps.get('salesforce-writer')!.port}/metrics`)).text();
    const line = (name: string, labels: Record<string, string>) =>
      metrics.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
    expect(line('broker_job_failures_total', { queue: 'sf.write', reason: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', final: 'true' })).toMatch(
      / 1$/,
    );
    expect(line('broker_job_duration_seconds_count', { queue: 'sf.write', job: 'write-record', outcome: 'failed' })).toMatch(/ [1-9]\d*$/);
    expect(line('broker_salesforce_api_usage', { connection: 'demo' })).toMatch(/ \d+$/);
    expect(line('broker_salesforce_api_limit', { connection: 'demo' })).toMatch(/ [1-9]\d*$/);
  });
});
