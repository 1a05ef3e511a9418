// Produces the committed capture fixtures the way a customer's sandbox run would: the whole broker
// against both simulators with CAPTURE_DIR set; the simulators' deliveries stand in for the
// customer's. Usage: tsx apps/ingress/scripts/capture-from-simulators.ts [out-dir]
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDispatchCase, dropDatabase, prepareDatabase, PUBLISHED_CASE, startHarness } from '../../../scripts/lib/broker-harness';
import type { CapturedDelivery } from '../src/payload-capture';

const out = path.resolve(process.argv[2] ?? 'apps/ingress/test/fixtures/captured');
const captureDir = mkdtempSync(path.join(os.tmpdir(), 'capture-'));
const databaseUrl = `postgresql://postgres@127.0.0.1:5432/capture_${Date.now().toString(36)}`;
await prepareDatabase(databaseUrl);
const h = await startHarness({
  databaseUrl,
  caseObject: PUBLISHED_CASE,
  salesforceSim: { outboundRetryBaseMs: 500 },
  env: { CAPTURE_DIR: captureDir },
});
try {
  const caseId = createDispatchCase(h.sf, 'Printer on 3rd floor jams', {
    Description: 'Call Wile E. Coyote on +1 555 0100 before arriving',
  });
  const c = await h.waitForSynced(caseId, 60_000);
  h.fn.buyer.assign(c.workOrderId!, 557);
  await h.waitFor('assigned', () => h.sf.getRecord(caseId)!.Status === 'Technician Assigned', 60_000);
  const files = () =>
    readdirSync(captureDir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => ({ f, c: JSON.parse(readFileSync(path.join(captureDir, f), 'utf8')) as CapturedDelivery }));
  const om = await h.waitFor('outbound capture', () =>
    files().find((x) => x.c.kind === 'outbound-message' && x.c.response.status === 200 && String(x.c.body).includes(caseId)),
  );
  const hook = await h.waitFor('webhook capture', () =>
    files().find(
      (x) =>
        x.c.kind === 'fieldnation-webhook' &&
        x.c.response.status === 200 &&
        (x.c.body as { event: { name: string } }).event.name === 'workorder.status.assigned',
    ),
  );
  mkdirSync(out, { recursive: true });
  copyFileSync(path.join(captureDir, om.f), path.join(out, 'simulator-case-outbound-message.json'));
  copyFileSync(path.join(captureDir, hook.f), path.join(out, 'simulator-assigned-webhook.json'));
  console.log(`captured ${files().length} deliveries in ${captureDir}; copied two to ${out}`);
} finally {
  await h.stop();
  await dropDatabase(databaseUrl);
}
