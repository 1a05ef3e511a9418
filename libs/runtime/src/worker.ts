import { Queue, Worker, UnrecoverableError, type Job, type WorkerOptions, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  parsePayload,
  PayloadError,
  type JobDataOf,
  type JobNameOf,
  type QueueContract,
  type QueueOf,
} from '@broker/contracts';
import { isClusterConnection } from './redis';

export { UnrecoverableError };

/**
 * A permanent failure (no retry), carrying the Salesforce API calls spent for the timeline and the
 * reason the failure metric counts it under (a Salesforce errorCode, `fieldnation-422`, `mapping`...).
 */
export function permanentError(message: string, sfApiCalls = 0, reason = 'permanent'): UnrecoverableError & { sfApiCalls: number; reason: string } {
  return Object.assign(new UnrecoverableError(message), { sfApiCalls, reason });
}

/** What every handler receives besides its job: a logger bound to the job. */
export interface JobContext {
  log: Logger;
  /** The job's lock token, for `job.moveToDelayed(ts, token)` + `DelayedError` (wait without using an attempt). */
  token: string | undefined;
}

/** One handler per job name; a missing one is a compile error (mapped over the contract). */
export type Handlers<Q extends QueueContract, Deps> = {
  [N in JobNameOf<Q>]: (job: Job<JobDataOf<Q, N>, unknown, N>, deps: Deps, ctx: JobContext) => Promise<unknown>;
};

export interface StartWorkerOptions {
  connection: Redis;
  prefix: string;
  logger: Logger;
  concurrency?: number;
  /** Extra BullMQ worker options (limiter, lockDuration, ...). */
  worker?: Partial<WorkerOptions>;
  /** Called when a job ends failed for good (attempts exhausted or unrecoverable). */
  onFinalFailure?: (job: Job, err: Error) => Promise<void> | void;
}

/** BullMQ's scripts touch several keys of a queue at once: on Redis Cluster they must share a slot. */
function assertClusterPrefix(connection: unknown, prefix: string): void {
  if (isClusterConnection(connection) && !/\{[^{}]+\}/.test(prefix)) {
    throw new Error(`queue prefix "${prefix}" has no hash tag: on Redis Cluster use one such as {${prefix}} (QUEUE_PREFIX)`);
  }
}

/**
 * Open the producer side of a queue. The contract's job defaults (attempts, backoff, retention)
 * apply to every add.
 */
export function openQueue<Q extends QueueContract>(contract: Q, connection: Redis | ConnectionOptions, prefix: string): QueueOf<Q> {
  assertClusterPrefix(connection, prefix);
  const queue = new Queue(contract.name, { connection, prefix, defaultJobOptions: contract.defaultJobOptions });
  return Object.assign(queue, { contract }) as QueueOf<Q>;
}

/** Start a worker for a contract. Payloads are validated first; a bad one fails at once, unretried. */
export function startWorker<Q extends QueueContract, Deps>(
  contract: Q,
  handlers: Handlers<Q, Deps>,
  deps: Deps,
  options: StartWorkerOptions,
): Worker {
  const names = Object.keys(contract.jobs);
  const missing = names.filter((n) => typeof (handlers as Record<string, unknown>)[n] !== 'function');
  if (missing.length) throw new Error(`worker for ${contract.name} has no handler for: ${missing.join(', ')}`);

  assertClusterPrefix(options.connection, options.prefix ?? '');
  const log = options.logger.child({ queue: contract.name });
  const worker = new Worker(
    contract.name,
    async (job: Job, token?: string) => {
      const jobLog = log.child({
        jobId: job.id,
        job: job.name,
        attempt: job.attemptsMade + 1,
        connectionId: (job.data as { connectionId?: string })?.connectionId,
      });
      let data: unknown;
      try {
        data = parsePayload(contract, job.name as JobNameOf<Q>, job.data);
      } catch (err) {
        if (err instanceof PayloadError) throw new UnrecoverableError(err.message);
        throw err;
      }
      job.data = data;
      const handler = (handlers as unknown as Record<string, (job: Job, deps: Deps, ctx: JobContext) => Promise<unknown>>)[job.name]!;
      return handler(job, deps, { log: jobLog, token });
    },
    {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency ?? 8,
      // A crashed worker's in-flight job is re-queued by stalled-job detection within ~15-30 s.
      lockDuration: 15_000,
      stalledInterval: 15_000,
      maxStalledCount: 5,
      ...options.worker,
    },
  );

  worker.on('error', (err) => log.error({ err }, 'worker error'));
  worker.on('failed', (job, err) => {
    if (!job) return;
    const final = err instanceof UnrecoverableError || err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    log[final ? 'error' : 'warn'](
      { jobId: job.id, job: job.name, attempt: job.attemptsMade, final, err: { message: err.message, name: err.name } },
      final ? 'job failed permanently' : 'job failed, will retry',
    );
    if (final && options.onFinalFailure) {
      void Promise.resolve(options.onFinalFailure(job, err)).catch((e) => log.error({ err: e }, 'onFinalFailure failed'));
    }
  });
  return worker;
}
