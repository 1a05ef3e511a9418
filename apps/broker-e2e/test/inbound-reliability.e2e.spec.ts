import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOutboundMessage } from '@broker/salesforce';
import { createDispatchCase, PUBLISHED_CASE, startHarness, type Harness } from '../../../scripts/lib/broker-harness';

// One broker for the file; write-back off so that each synced record costs exactly its fetch.
let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    caseObject: PUBLISHED_CASE,
    salesforceSim: { outboundRetryBaseMs: 500, timeFactor: 1 },
  });
});
afterAll(async () => {
  await h?.stop();
});

const dispatcher = { as: 'dispatcher@example.com' };
const newCase = (subject: string, extra: Record<string, unknown> = {}) => createDispatchCase(h.sf, subject, extra);

const workOrdersFor = (caseId: string) => h.fn.listWorkOrders().filter((w) => w.incident_id === caseId);

describe('inbound reliability', () => {
  it('collapses redelivered and duplicated Outbound Messages, and 50 updates in a second, into one work order in the last state', async () => {
    const caseId = newCase('Burst case');
    const first = await h.waitFor('first sync', () => h.synced(caseId));
    for (let i = 1; i <= 50; i++) h.sf.updateRecord('Case', caseId, { Subject: `Burst case v${i}` }, dispatcher);
    // The same notification sent again, by hand, twice (Salesforce redelivers with the same id).
    const notification = h.sf.outbound({}).find((n) => n.recordId === caseId)!;
    const replay = buildOutboundMessage({
      organizationId: '00D000000000001EAA',
      actionId: notification.actionId,
      sessionId: null,
      enterpriseUrl: '',
      partnerUrl: '',
      notifications: [{ id: notification.id, sObjectType: 'Case', fields: { Id: caseId } }],
    });
    for (let i = 0; i < 2; i++) {
      const res = await fetch(h.outboundUrl, { method: 'POST', body: replay, headers: { 'content-type': 'text/xml' } });
      expect(res.status).toBe(200);
    }
    await h.waitFor('last state written', () => String(h.fn.getWorkOrder(first.workOrderId!)!.title).endsWith('Burst case v50'), 60_000);
    await new Promise((r) => setTimeout(r, 1_500)); // let any stragglers run: nothing may change after
    expect(workOrdersFor(caseId)).toHaveLength(1);
    expect(h.fn.getWorkOrder(first.workOrderId!)!.title).toMatch(/Burst case v50$/);
    // Coalesced: the 50 notifications cost a handful of fetches and Field Nation writes, not 50.
    const after = (await h.store.timeline(caseId)).filter((t) => t.at > first.updatedAt);
    const fetches = after.filter((t) => t.stage === 'fetched' && t.outcome === 'ok').length;
    const updates = after.filter((t) => t.stage === 'written' && t.outcome === 'ok' && / updated$/.test(t.message ?? '')).length;
    expect(updates).toBeGreaterThanOrEqual(1);
    expect(updates).toBeLessThanOrEqual(2);
    expect(fetches).toBeLessThanOrEqual(5);
  });

  it('rides out a Field Nation 500 storm and 429s without losing or duplicating a record', async () => {
    h.fn.injectFault({ method: 'POST', path: '^/api/rest/v2/workorders$', status: 500, count: 6 });
    h.fn.injectFault({ method: 'POST', path: '/publish$', status: 429, retryAfterSeconds: 1, count: 4 });
    const ids = Array.from({ length: 5 }, (_, i) => newCase(`Storm ${i}`));
    for (const id of ids) await h.waitFor(`sync of ${id}`, () => h.synced(id), 90_000);
    for (const id of ids) expect(workOrdersFor(id)).toHaveLength(1);
    h.fn.clearFaults();
  });

  it('survives a session expired mid-run with one login and no failure', async () => {
    const loginsBefore = h.sf.loginCount();
    h.sf.expireSessions({});
    const id = newCase('After expiry');
    await h.waitFor('sync after expiry', () => h.synced(id));
    expect(h.sf.loginCount() - loginsBefore).toBe(1);
    const failed = (await h.store.timeline(id)).filter((t) => t.outcome === 'failed');
    expect(failed).toEqual([]);
  });

  it('loses nothing when the fetcher is SIGKILLed mid-job', async () => {
    h.sf.injectFault({ kind: 'LATENCY', method: 'GET', path: '/query', latencyMs: 1500, count: 3 });
    // In flight: a query has reached Salesforce (the job's received row is written with its fetched row, at the end).
    const queries = () => Object.entries(h.sf.counters().apiCalls.byEndpoint).reduce((n, [k, v]) => (/query/i.test(k) ? n + v : n), 0);
    const before = queries();
    const ids = Array.from({ length: 3 }, (_, i) => newCase(`Kill ${i}`));
    await h.waitFor('fetch started', () => queries() > before, 20_000);
    await h.restart('salesforce-fetcher', 'SIGKILL');
    for (const id of ids) await h.waitFor(`sync of ${id} after the kill`, () => h.synced(id), 90_000);
    for (const id of ids) expect(workOrdersFor(id)).toHaveLength(1);
  });

  it('spends at most one Salesforce API call per synced record over 200 Cases (logins excluded)', async () => {
    await h.waitFor('quiet pipeline', async () => h.sf.outbound({ status: 'pending' }).length === 0, 30_000);
    h.sf.resetCounters();
    const loginsBefore = h.sf.loginCount();
    const ids = Array.from({ length: 200 }, (_, i) => newCase(`Volume ${i}`));
    for (const id of ids) await h.waitFor(`sync of ${id}`, () => h.synced(id), 120_000);
    const calls = h.sf.counters().apiCalls.total;
    expect(calls / ids.length).toBeLessThanOrEqual(1.0);
    expect(h.sf.loginCount() - loginsBefore).toBe(0); // the session is reused across jobs
    expect(h.fn.listWorkOrders().filter((w) => ids.includes(String(w.incident_id)))).toHaveLength(200);
  }, 240_000);
});
