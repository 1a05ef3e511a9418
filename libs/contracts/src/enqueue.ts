import type { Job, JobsOptions, Queue } from 'bullmq';
import { parsePayload, type JobDataOf, type JobNameOf, type QueueContract } from './define-queue';

/** A BullMQ queue opened for one contract (the contract travels with it for typed adds). */
export type QueueOf<Q extends QueueContract> = Queue & { readonly contract: Q } & StoredJobs;

/**
 * A queue that reads back the payload stored under a job id: BullMQ ignores an add under an id it
 * holds, and returns the same answer, so this is how a producer learns whose job was kept.
 */
export interface StoredJobs {
  /** The job's payload as stored, or null when there is no job with this id. */
  jobData(jobId: string): Promise<unknown>;
}

/**
 * What a producer needs of a queue: its contract and the two adds. A BullMQ queue opened with
 * `openQueue` is one; a unit test passes an in-memory list.
 */
export interface QueueLike<Q extends QueueContract, J = unknown> {
  readonly contract: Q;
  add(name: string, data: unknown, opts?: JobsOptions): Promise<J>;
  addBulk(jobs: { name: string; data: unknown; opts?: JobsOptions }[]): Promise<J[]>;
}

/**
 * Validate and add one job. Use a deterministic `jobId` (see `jobId()`): BullMQ ignores an add
 * whose id already exists, which is how redeliveries collapse.
 */
export async function enqueue<Q extends QueueContract, N extends JobNameOf<Q>, J = Job>(
  queue: QueueLike<Q, J>,
  name: N,
  data: JobDataOf<Q, N>,
  opts: JobsOptions & { jobId: string },
): Promise<J> {
  const payload = parsePayload(queue.contract, name, data);
  return queue.add(name, payload, opts);
}

/** Validate and add many jobs in one round trip (MULTI): all are stored or the call throws. */
export async function enqueueBulk<Q extends QueueContract, N extends JobNameOf<Q>, J = Job>(
  queue: QueueLike<Q, J>,
  jobs: { name: N; data: JobDataOf<Q, N>; opts: JobsOptions & { jobId: string } }[],
): Promise<J[]> {
  const checked = jobs.map((j) => ({ name: j.name, data: parsePayload(queue.contract, j.name, j.data), opts: j.opts }));
  // One job: a plain add (one atomic script) skips building an ioredis pipeline, which copies every
  // script command BullMQ defines; that was ~5% of the ingress's CPU with one notification per message.
  if (checked.length === 1) return [await queue.add(checked[0]!.name, checked[0]!.data, checked[0]!.opts)];
  return queue.addBulk(checked);
}
