import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sfReconcileQueue } from '@broker/contracts';
import { createProducerConnection, openQueue } from '@broker/runtime';
import { root } from '../../../scripts/lib/app-processes';
import { createDispatchCase, PUBLISHED_CASE, startHarness, type Harness } from '../../../scripts/lib/broker-harness';

let h: Harness;
beforeAll(async () => {
  // A scheduler left from a connection that is no longer configured: the fetcher removes it at start.
  const prefix = `e2erc${Date.now().toString(36)}`;
  const connection = createProducerConnection(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const queue = openQueue(sfReconcileQueue, connection, prefix);
  await queue.upsertJobScheduler(
    'reconcile-gone-Case',
    { pattern: '*/5 * * * *' },
    { name: 'sweep', data: { connectionId: 'gone', sfObject: 'Case' } },
  );
  await queue.close();
  connection.disconnect();
  h = await startHarness({
    queuePrefix: prefix,
    scheduledReconciliation: true,
    caseObject: PUBLISHED_CASE,
  });
});
afterAll(async () => {
  await h?.stop();
});

describe('reconciliation', () => {
  it('schedules one sweep per connection and triggered object, and removes schedulers no longer configured', async () => {
    const connection = createProducerConnection(h.redisUrl);
    const queue = openQueue(sfReconcileQueue, connection, h.queuePrefix);
    try {
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers.map((s) => [s.key, s.pattern])).toEqual([['reconcile-demo-Case', '*/15 * * * *']]);
      // From here on only the sweep the next test queues may spend calls.
      await queue.removeJobScheduler('reconcile-demo-Case');
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });

  it('creates the work order of a dropped Outbound Message, at a bounded API cost', async () => {
    // Salesforce cannot reach the broker, then gives up on the message (24 h later, in reality).
    h.sf.setOutboundEndpoint('Field_Nation_Case_Dispatch', 'http://127.0.0.1:1/unreachable');
    const caseId = createDispatchCase(h.sf, 'Dropped', { Priority: 'Low' });
    await h.waitFor('a failed delivery', () => h.sf.outbound({}).some((n) => n.recordId === caseId && n.attempts.length > 0));
    expect(h.sf.dropOutbound()).toBeGreaterThan(0);
    h.sf.setOutboundEndpoint('Field_Nation_Case_Dispatch', h.outboundUrl);
    expect(await h.store.getCorrelation({ connectionId: 'demo', sfId: caseId })).toBeNull();

    h.sf.resetCounters();
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'apps/cli/src/main.ts'), 'reconcile', '--connection', 'demo'],
      { cwd: root, env: { ...process.env, ...h.env } },
    );
    expect(stdout).toMatch(/queued a reconciliation sweep of demo\/Case/);

    const synced = await h.waitFor('reconciled work order', () => h.synced(caseId));
    expect(h.fn.listWorkOrders().filter((w) => w.incident_id === caseId)).toHaveLength(1);
    expect(synced.workOrderId).toBeGreaterThan(0);
    // One query for the sweep, one fetch per record it fed: the seeded Cases that match the trigger
    // count too, all bounded by reconciliation.maxApiCalls (20).
    const calls = h.sf.counters().apiCalls.total;
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(calls).toBeLessThanOrEqual(20);
    expect((await h.store.timeline(caseId)).map((t) => t.stage)).toContain('reconciled');
  });
});
