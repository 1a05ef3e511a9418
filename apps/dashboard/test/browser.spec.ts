import { existsSync } from 'node:fs';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueue, sfWriteQueue, type QueueOf } from '@broker/contracts';
import { createWorkerConnection } from '@broker/runtime';
import { makeId } from '@broker/salesforce';
import { redisUrl } from '@broker/testing';
import { PASSWORD, startDashboard, USER, type DashboardUnderTest } from './dashboard-test-kit';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`browser test skipped: ${CHROMIUM} not found (apt-get install -y chromium)`);

describe.skipIf(!hasChromium)(`dashboard in headless Chromium${hasChromium ? '' : ` (skipped: ${CHROMIUM} not installed)`}`, () => {
  let dash: DashboardUnderTest;
  let browser: Browser;
  let worker: Worker;
  let workerConnection: Redis;
  let attempts = 0;
  const caseId = makeId('500', 777);
  const writeJobId = `wb-demo-${caseId}-1`;

  beforeAll(async () => {
    dash = await startDashboard();
    // A salesforce-writer stand-in: the first attempt fails (a validation rule), later ones succeed.
    workerConnection = createWorkerConnection(redisUrl());
    worker = new Worker(
      sfWriteQueue.name,
      async (job) => {
        attempts++;
        if (attempts === 1) throw new Error('FIELD_CUSTOM_VALIDATION_EXCEPTION: Status cannot change while On Hold');
        await dash.store.recordStage({
          connectionId: 'demo',
          sfId: caseId,
          stage: 'written-back',
          outcome: 'ok',
          queue: sfWriteQueue.name,
          jobId: job.id!,
          sfApiCalls: 1,
          message: 'Status = Technician Assigned',
        });
      },
      { connection: workerConnection, prefix: dash.prefix },
    );
    worker.on('failed', async (job, err) => {
      if (!job) return;
      await dash.store.recordStage({
        connectionId: 'demo', sfId: caseId, stage: 'written-back', outcome: 'failed', queue: sfWriteQueue.name, jobId: job.id!, sfApiCalls: 1, message: err.message,
      });
    });

    const { correlation } = await dash.store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId: caseId });
    await dash.store.updateCorrelation(correlation.id, correlation.version, { workOrderId: 4711, state: 'synced' });
    const t0 = Date.now() - 60_000;
    const stages: [string, number][] = [['received', 0], ['fetched', 1], ['mapped', 0], ['written', 0]];
    for (const [i, [stage, calls]] of stages.entries()) {
      await dash.store.recordStage({
        connectionId: 'demo', sfId: caseId, workOrderId: stage === 'written' ? 4711 : null, stage, outcome: 'ok', sfApiCalls: calls, at: new Date(t0 + i * 1000),
        message: stage === 'written' ? 'work order 4711 created' : undefined,
      });
    }
    const writeQueue = dash.queue(sfWriteQueue.name) as QueueOf<typeof sfWriteQueue>;
    await enqueue(
      writeQueue,
      'write-record',
      {
        connectionId: 'demo', sfObject: 'Case', sfId: caseId, fields: { Status: 'Technician Assigned' },
        cause: { kind: 'fn-event', id: 'delivery-1', workOrderId: 4711, eventName: 'workorder.status.assigned' },
      },
      { jobId: writeJobId, attempts: 1 },
    );
    for (let i = 0; (await writeQueue.getJobState(writeJobId)) !== 'failed'; i++) {
      if (i > 200) throw new Error('seeded job did not fail');
      await new Promise((r) => setTimeout(r, 25));
    }

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await worker?.close();
    await workerConnection?.quit().catch(() => undefined);
    await dash?.close();
  });

  it('refuses a visitor without credentials or with wrong ones', async () => {
    for (const httpCredentials of [undefined, { username: USER, password: 'wrong-password' }]) {
      const context = await browser.newContext(httpCredentials ? { httpCredentials } : {});
      const page = await context.newPage();
      // Headless Chromium turns an unanswerable basic challenge into a navigation error instead of showing the 401.
      const outcome = await page.goto(`${dash.url}/`).then((r) => `status ${r?.status()}`, (e: Error) => e.message);
      expect(outcome).toMatch(/status 401|ERR_INVALID_AUTH_CREDENTIALS/);
      await context.close();
    }
  });

  it('logs in, finds a synced Case, replays its failed job and sees it succeed', async () => {
    const context = await browser.newContext({ httpCredentials: { username: USER, password: PASSWORD } });
    const page = await context.newPage();
    await page.goto(`${dash.url}/`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Broker dashboard');

    await page.fill('#id', caseId);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/timeline\?id=/);
    const stages = page.locator('#stages tbody tr');
    expect(await stages.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-stage')))).toEqual([
      'received', 'fetched', 'mapped', 'written', 'written-back',
    ]);
    const failedRow = page.locator('#stages tr[data-stage="written-back"][data-outcome="failed"]');
    await expect.poll(() => failedRow.locator('td.job-state').textContent()).toBe('failed');
    expect(await failedRow.textContent()).toContain('FIELD_CUSTOM_VALIDATION_EXCEPTION');
    expect(await page.locator('#correlations').textContent()).toContain('4711');

    await failedRow.locator('button[data-action="replay"]').click();
    await page.waitForURL(/done=replayed/);
    expect(await page.locator('.notice').textContent()).toContain(`Job ${writeJobId} sent back to its queue`);

    await expect
      .poll(
        async () => {
          await page.reload();
          return page.locator('#stages tr[data-stage="written-back"][data-outcome="ok"]').count();
        },
        { timeout: 15_000, interval: 250 },
      )
      .toBe(1);
    expect(await page.locator('#stages tr[data-stage="written-back"][data-outcome="failed"] td.job-state').textContent()).toBe('completed');
    expect(await page.locator('#stages tr[data-stage="replay-requested"]').count()).toBe(1);
    expect(attempts).toBe(2);
    await context.close();
  });

  it('shows Bull Board over every queue', async () => {
    const context = await browser.newContext({ httpCredentials: { username: USER, password: PASSWORD } });
    const page = await context.newPage();
    await page.goto(`${dash.url}/queues`);
    await page.getByText('sf.write').first().waitFor({ timeout: 15_000 });
    for (const name of ['sf.fetch', 'map', 'fn.event', 'fn.write']) {
      expect(await page.getByText(name, { exact: true }).count(), name).toBeGreaterThan(0);
    }
    await context.close();
  });
});
