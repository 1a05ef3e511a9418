import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatchCase, PUBLISHED_CASE, startHarness, type Harness } from '../../../scripts/lib/broker-harness';

// Field Nation finishes a create after the broker stopped waiting for it. The simulator's f_search
// covers only the documented fields (not incident ids), so only documented lookups can find it.
let h: Harness;
const SETTLE_SECONDS = 4;
beforeAll(async () => {
  h = await startHarness({
    caseObject: PUBLISHED_CASE,
    env: { FN_CREATE_SETTLE_SECONDS: String(SETTLE_SECONDS) },
  });
});
afterAll(async () => {
  await h?.stop();
});

const newCase = (subject: string) => createDispatchCase(h.sf, subject);
const workOrdersFor = (caseId: string) => h.fn.listWorkOrders().filter((w) => w.incident_id === caseId);
const creates = () => h.fn.counters().routes['POST /api/rest/v2/workorders']?.calls ?? 0;
const lookups = () => h.fn.counters().routes['GET /api/rest/v2/workorders']?.calls ?? 0;

describe('a create whose answer is lost', () => {
  it('committed by Field Nation after the broker gave up: early lookups do not create, the late work order is adopted, exactly one exists', async () => {
    // The create hangs 300 ms, the connection is cut, and the work order appears 2.5 s after that:
    // after the writer's first lookups, before the settle time.
    await fetch(`${h.fn.url}/__sim/faults`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ method: 'POST', path: '^/api/rest/v2/workorders$', commitAfterMs: 2_500, hangMs: 300, count: 1 }),
    });
    const createsBefore = creates();
    const lookupsBefore = lookups();
    const caseId = newCase('Late commit');
    await h.waitFor(
      'the ambiguous create recorded',
      async () => (await h.store.getCorrelation({ connectionId: 'demo', sfId: caseId }))?.ambiguousCreateAt,
      30_000,
    );
    const correlation = await h.waitFor('sync', () => h.synced(caseId), 60_000);
    await new Promise((r) => setTimeout(r, 1_500)); // any straggler would create now
    expect(workOrdersFor(caseId)).toHaveLength(1);
    expect(correlation).toMatchObject({ workOrderId: workOrdersFor(caseId)[0]!.id, ambiguousCreateAt: null });
    expect(creates() - createsBefore).toBe(1);
    expect(lookups() - lookupsBefore).toBeGreaterThanOrEqual(2); // at least one look came back empty, then the one that found it
    const written = (await h.store.timeline(caseId)).filter((t) => t.stage === 'written');
    expect(written.some((t) => t.outcome === 'retry' && /create without a definite answer/.test(t.message ?? ''))).toBe(true);
    expect(written.some((t) => t.outcome === 'ok' && / recovered$/.test(t.message ?? ''))).toBe(true);
    expect(written.filter((t) => t.outcome === 'failed')).toEqual([]);
  });

  it('never made (a 502 before Field Nation ran it): one create only after a lookup past the settle time', async () => {
    h.fn.injectFault({ method: 'POST', path: '^/api/rest/v2/workorders$', status: 502, count: 1 });
    const createsBefore = creates();
    const caseId = newCase('Lost create');
    const marked = await h.waitFor(
      'the ambiguous create recorded',
      async () => (await h.store.getCorrelation({ connectionId: 'demo', sfId: caseId }))?.ambiguousCreateAt,
      30_000,
    );
    // Before the settle time: looked up, not created again.
    await new Promise((r) => setTimeout(r, Math.max(0, marked.getTime() + (SETTLE_SECONDS - 1.5) * 1000 - Date.now())));
    expect(creates() - createsBefore).toBe(1);
    expect(workOrdersFor(caseId)).toHaveLength(0);
    const correlation = await h.waitFor('sync', () => h.synced(caseId), 60_000);
    expect(creates() - createsBefore).toBe(2);
    expect(workOrdersFor(caseId)).toHaveLength(1);
    expect(correlation.workOrderId).toBe(workOrdersFor(caseId)[0]!.id);
    const createdAt = (await h.store.timeline(caseId)).find((t) => t.stage === 'written' && / created$/.test(t.message ?? ''))!.at;
    expect(createdAt.getTime()).toBeGreaterThanOrEqual(marked.getTime() + SETTLE_SECONDS * 1000);
  });
});
