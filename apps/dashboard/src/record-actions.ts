import type { Job, Queue } from 'bullmq';
import { enqueue, fetchJobId, type QueueOf, sfFetchQueue } from '@broker/contracts';

/** A refused action, with the HTTP status that says why. */
export class ActionError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ActionError';
  }
}

/**
 * Retry one failed job (the dead-letter queue is the failed set). Only failed jobs qualify: retrying
 * a completed one would re-run a finished sync, which re-sync does on purpose and replay must not.
 */
export async function replayJob(queues: ReadonlyMap<string, Queue>, queueName: string, id: string): Promise<Job> {
  const queue = queues.get(queueName);
  if (!queue) throw new ActionError(404, `unknown queue "${queueName}"`);
  const job = await queue.getJob(id);
  if (!job) throw new ActionError(404, `job "${id}" is no longer in ${queueName} (removed by retention?)`);
  const state = await job.getState();
  if (state !== 'failed') throw new ActionError(409, `job "${id}" is ${state}, not failed`);
  await job.retry('failed');
  return job;
}

export interface ResyncTarget {
  connectionId: string;
  sfObject: string;
  sfId: string;
}

/**
 * Ask the fetcher to read a record again and push it through the pipeline. The job id carries the
 * time, so each request is a new job (a deterministic id per record would collapse into the last
 * completed one) while a double-click within one millisecond still collapses.
 */
export async function resyncRecord(
  fetchQueue: QueueOf<typeof sfFetchQueue>,
  target: ResyncTarget,
  now: Date = new Date(),
): Promise<string> {
  const id = fetchJobId.resync(target.connectionId, target.sfId, now);
  await enqueue(
    fetchQueue,
    'fetch-record',
    {
      connectionId: target.connectionId,
      sfObject: target.sfObject,
      sfId: target.sfId,
      notificationId: id,
      source: 'resync',
      receivedAt: now.toISOString(),
      snapshot: {},
    },
    { jobId: id },
  );
  return id;
}
