import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPTURED_FIXTURES_DIR, loadCapturedFixtures, replayRequest } from './captured-replay';
import { DEMO_TOKEN, ORG_ID, startIngress, type IngressUnderTest } from './ingress-test-kit';

// Every capture in fixtures/captured/ (docs/operations.md "Capturing real payloads") goes through
// the real ingress: accepted, and stored as the jobs the workers will take.
const fixtures = loadCapturedFixtures();

let ingress: IngressUnderTest;
beforeAll(async () => {
  ingress = await startIngress();
});
afterAll(async () => {
  await ingress?.close();
});

describe('captured deliveries replayed through the ingress', () => {
  it('has at least one Outbound Message and one webhook to replay', () => {
    expect(fixtures.filter((f) => f.capture.kind === 'outbound-message').length).toBeGreaterThan(0);
    expect(fixtures.filter((f) => f.capture.kind === 'fieldnation-webhook').length).toBeGreaterThan(0);
  });

  it.each(fixtures.map((f) => [f.file, f] as const))('%s is acknowledged and enqueues its jobs', async (_file, { capture }) => {
    const req = replayRequest(capture, {
      ingressUrl: ingress.url,
      connectionId: 'demo',
      organizationId: ORG_ID,
      pathToken: DEMO_TOKEN,
      webhookSecret: '5d1f0a3c-7b2e-4c8d-9a6f-1e2b3c4d5e6f',
    });
    const res = await fetch(req.url, { method: 'POST', headers: req.headers, body: req.body });
    const answer = await res.text();
    expect(res.status, answer).toBe(200);
    if (req.expect.kind === 'outbound-message') {
      expect(answer).toContain('<Ack>true</Ack>');
      expect(req.expect.notifications.length).toBe(String(capture.body).match(/<(?:[\w.-]+:)?Notification[\s>]/g)!.length);
      for (const n of req.expect.notifications) {
        const job = await ingress.fetchQueue.getJob(`om-demo-${n.id}`);
        expect(job?.data).toMatchObject({
          connectionId: 'demo',
          sfObject: n.sObjectType,
          sfId: n.sfId,
          notificationId: n.id,
          source: 'outbound-message',
        });
      }
    } else {
      const job = await ingress.eventQueue.getJob(req.expect.jobId);
      expect(job?.data).toMatchObject({ connectionId: 'demo', eventName: req.expect.eventName, workOrderId: req.expect.workOrderId });
    }
  });

  it('refuses a fixture directory holding an unredacted capture, naming the file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'captured-'));
    const hook = fixtures.find((f) => f.capture.kind === 'fieldnation-webhook')!;
    const leaked = JSON.parse(readFileSync(path.join(CAPTURED_FIXTURES_DIR, hook.file), 'utf8')) as {
      body: { workorder: { manager: Record<string, unknown> } };
    };
    leaked.body.workorder.manager = { id: 1, first_name: 'Real', email: 'real.person@customer.test' };
    writeFileSync(path.join(dir, 'leaked.json'), JSON.stringify(leaked));
    expect(() => loadCapturedFixtures(dir)).toThrow(/leaked\.json: not redacted/);

    const om = fixtures.find((f) => f.capture.kind === 'outbound-message')!;
    const session = {
      ...om.capture,
      body: String(om.capture.body).replace(
        /<SessionId[^>]*>[^<]*<\/SessionId>|<SessionId[^>]*\/>/,
        '<SessionId>00D!real-session</SessionId>',
      ),
    };
    writeFileSync(path.join(dir, 'leaked.json'), JSON.stringify(session));
    expect(() => loadCapturedFixtures(dir)).toThrow(/leaked\.json: not redacted/);
  });
});
