import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../../scripts/lib/broker-harness';
import { loadCapturedFixtures, replayRequest } from '../../ingress/test/captured-replay';

// Every capture in apps/ingress/test/fixtures/captured/ (docs/operations.md "Capturing real
// payloads") through the whole broker: acknowledged, and each delivery ends with an outcome on its
// record's timeline. A customer's records do not exist in the simulators, so that outcome may be
// "not found" or "work order not known": what must not happen is a delivery that leaves no trace.
const fixtures = loadCapturedFixtures();

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

describe('captured deliveries through the whole broker', () => {
  it.each(fixtures.map((f) => [f.file, f] as const))('%s is acknowledged and ends on a timeline', async (_file, { capture }) => {
    const target = {
      ingressUrl: h.ingressUrl,
      connectionId: 'demo',
      organizationId: '00D000000000001EAA',
      pathToken: h.outboundUrl.split('/').pop()!,
      webhookSecret: '5d1f0a3c-7b2e-4c8d-9a6f-1e2b3c4d5e6f',
    };
    const req = replayRequest(capture, target);
    const res = await fetch(req.url, { method: 'POST', headers: req.headers, body: req.body });
    expect(res.status, await res.text()).toBe(200);
    if (req.expect.kind === 'outbound-message') {
      for (const n of req.expect.notifications) {
        const rows = await h.waitFor(
          `timeline of ${n.sfId}`,
          async () => {
            const t = await h.store.timeline(n.sfId);
            return t.some((r) => r.jobId === `om-demo-${n.id}` && r.stage !== 'received' && r.stage !== 'waited') && t;
          },
          60_000,
        );
        // Past `received`: fetched and mapped, not triggered, or a recorded failure (dead letter).
        expect(rows.filter((r) => r.jobId === `om-demo-${n.id}`).map((r) => r.stage)).toContain('received');
      }
    } else {
      const { jobId, eventName, workOrderId } = req.expect;
      const rows = await h.waitFor(
        `timeline of work order ${workOrderId}`,
        async () => {
          const t = await h.store.timeline(String(workOrderId));
          return t.some((r) => r.jobId === jobId) && t;
        },
        60_000,
      );
      expect(rows.find((r) => r.jobId === jobId)?.message).toContain(eventName);
    }
  });
});
