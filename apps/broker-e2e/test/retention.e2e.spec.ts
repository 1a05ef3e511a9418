import { QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maintenanceQueue } from '@broker/contracts';
import { createProducerConnection, createWorkerConnection, openQueue } from '@broker/runtime';
import { poolOf } from '@broker/store';
import { startHarness, type Harness } from '../../../scripts/lib/broker-harness';

// The mapper process owns the retention schedule: started as in production, it must register the
// scheduler and run the sweep against the real database.
let h: Harness;
beforeAll(async () => {
  // A top-level block: the harness's own reconciliation line (indented, under the connection) must
  // not follow it, and only the mapper runs, so no sweep could fire anyway.
  h = await startHarness({
    apps: ['mapper'],
    scheduledReconciliation: true,
    connectionExtra: 'retention: { timelineDays: 30, inboundLedgerDays: 7, every: "5 4 * * *", batchSize: 1000 }\n',
  });
});
afterAll(async () => {
  await h?.stop();
});

describe('retention', () => {
  it('is scheduled by the mapper and deletes rows past their retention', async () => {
    const producer = createProducerConnection(h.redisUrl);
    const queue = openQueue(maintenanceQueue, producer, h.queuePrefix);
    const events = new QueueEvents(maintenanceQueue.name, { connection: createWorkerConnection(h.redisUrl), prefix: h.queuePrefix });
    try {
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers).toEqual([expect.objectContaining({ key: 'retention', pattern: '5 4 * * *', name: 'retention-sweep' })]);

      const pool = poolOf(h.prisma);
      const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000);
      await pool.query(
        `INSERT INTO timeline_entry (connection_id, stage, outcome, at) SELECT 'demo', 'old', 'ok', $1 FROM generate_series(1, 2500)`,
        [daysAgo(31)],
      );
      await pool.query(`INSERT INTO timeline_entry (connection_id, stage, outcome, at) VALUES ('demo', 'recent', 'ok', $1)`, [daysAgo(29)]);
      await pool.query(
        `INSERT INTO inbound_ledger (connection_id, source, notification_id, received_at) SELECT 'demo', 'fn', 'old-' || g, $1 FROM generate_series(1, 10) g`,
        [daysAgo(8)],
      );
      await pool.query(
        `INSERT INTO inbound_ledger (connection_id, source, notification_id, received_at) VALUES ('demo', 'fn', 'recent', $1)`,
        [daysAgo(6)],
      );

      await events.waitUntilReady();
      const job = await queue.add('retention-sweep', {});
      const result = await job.waitUntilFinished(events, 30_000);
      expect(result).toEqual([
        { table: 'timeline_entry', deleted: 2500, batches: 3 },
        { table: 'inbound_ledger', deleted: 10, batches: 1 },
      ]);
      const stages = (await pool.query(`SELECT stage FROM timeline_entry WHERE stage IN ('old', 'recent')`)).rows.map((r) => r.stage);
      expect(stages).toEqual(['recent']);
      const ids = (await pool.query(`SELECT notification_id FROM inbound_ledger WHERE source = 'fn'`)).rows.map((r) => r.notification_id);
      expect(ids).toEqual(['recent']);
    } finally {
      await events.close();
      await queue.close();
      producer.disconnect();
    }
  });
});
