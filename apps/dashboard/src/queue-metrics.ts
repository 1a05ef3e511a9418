import type { Queue } from 'bullmq';
import client from 'prom-client';

export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;

/**
 * `broker_queue_jobs{queue,state}`: read from Redis at scrape time (one round trip per queue), so
 * the numbers are current however many workers run and whichever restarted last.
 */
export function registerQueueDepthGauge(registry: client.Registry, queues: readonly Queue[]): client.Gauge {
  return new client.Gauge({
    name: 'broker_queue_jobs',
    help: 'Jobs per queue and state (failed = dead-letter queue), read from Redis at scrape time',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      await Promise.all(
        queues.map(async (queue) => {
          const counts = await queue.getJobCounts(...QUEUE_STATES);
          for (const state of QUEUE_STATES) this.set({ queue: queue.name, state }, counts[state] ?? 0);
        }),
      );
    },
  });
}
