import { DelayedError, Queue, Worker, UnrecoverableError, type Job, type WorkerOptions, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ConnectionConfig } from '@broker/config';
import {
  parsePayload,
  PayloadError,
  type JobDataOf,
  type JobNameOf,
  type QueueContract,
  type QueueOf,
  type Stage,
} from '@broker/contracts';
import { createJobContext, jobConfigOf, pinJobConfig, recordOf, type JobConfig, type JobContext, type TimelineWriter } from './job-context';
import { observeWorker, type PipelineMetrics } from './pipeline-metrics';
import { isClusterConnection } from './redis';
import { classifyInfrastructureError, DEPENDENCY_NAMES } from './dependency-error';
import {
  DEPENDENCY_WAIT_DEFAULTS,
  dependencyDelay,
  dependencyWaits,
  type DependencyWait,
  type DependencyWaitOptions,
  type StoredWait,
} from './dependency-wait';

export { UnrecoverableError };

/**
 * A permanent failure (no retry), carrying the Salesforce API calls spent for the timeline and the
 * reason the failure metric counts it under (a Salesforce errorCode, `fieldnation-422`, `mapping`...).
 */
export function permanentError(
  message: string,
  sfApiCalls = 0,
  reason = 'permanent',
): UnrecoverableError & { sfApiCalls: number; reason: string } {
  return Object.assign(new UnrecoverableError(message), { sfApiCalls, reason });
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
  /**
   * Awaited before a job fails for good (unrecoverable, or its last attempt), so that what it queues
   * (a failed outcome for the record) cannot be lost to a crash: the job fails only once it resolves.
   * An outage while it runs delays the job as any outage does; the job then runs (and fails) again.
   */
  finalFailure?: (job: Job, err: Error) => Promise<void>;
  /**
   * A job that waited for a dependency (see `dependencyWait`) ran through, or failed for another
   * reason: the dependencies are back, so this is where the wait goes on the timeline.
   */
  onDependencyWaitOver?: (job: Job, wait: DependencyWait) => Promise<void> | void;
  /**
   * Outages of Redis, PostgreSQL, Salesforce or Field Nation (classifyInfrastructureError) delay
   * the job without spending an attempt, 1 s doubling to 60 s, for ever by default.
   */
  dependencyWait?: DependencyWaitOptions;
  /** The configured connections, for `ctx.connection()`. */
  connections?: ReadonlyMap<string, ConnectionConfig>;
  /** Where `ctx.stage()`, `failedStage` and the dependency waits write (the store). */
  timeline?: TimelineWriter;
  /** The stage a job that fails for good is recorded under (with the timeline). */
  failedStage?: Stage | ((job: Job) => Stage);
  /** Job durations and failures are observed into these (observeWorker). */
  metrics?: PipelineMetrics;
  /** The configuration version in force, read once as each job starts (runWorkerApp's live configuration). */
  config?: () => JobConfig;
  /**
   * Apply a newer stored configuration version now, if there is one; true when one was applied. A job
   * failing for its configuration (an error with reason `config`: unknown connection, object or
   * mapping) then runs again on it at once, spending no attempt: the ingress may accept a new object's
   * messages before this process has applied the version that added it.
   */
  refreshConfig?: () => Promise<boolean>;
  /** While a newer configuration version is being applied: its promise; a job waits for it before it starts. */
  configApplying?: () => Promise<void> | undefined;
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
  // One HGET of the data field (getJob reads and parses the whole hash).
  const jobData = async (jobId: string): Promise<unknown> => {
    const raw = await (await queue.client).hget(queue.toKey(jobId), 'data');
    return raw == null ? null : (JSON.parse(raw) as unknown);
  };
  return Object.assign(queue, { contract, jobData }) as QueueOf<Q>;
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
  const waitOptions = { ...DEPENDENCY_WAIT_DEFAULTS, ...options.dependencyWait };
  const redis = options.connection;
  const waitKey = (job: Job) => `${job.prefix}:${job.queueName}:${job.id}:depwait`;
  const trackKey = (job: Job) => `${job.queueName}:${job.id}`;

  /**
   * Delay the job without spending an attempt (moveToDelayed + DelayedError, as the API-budget
   * pause does). False when it has waited past `maxWaitMs`: then the error spends an attempt.
   */
  const waitForDependency = async (
    job: Job,
    token: string,
    outage: NonNullable<ReturnType<typeof classifyInfrastructureError>>,
    err: unknown,
    jobLog: Logger,
  ): Promise<boolean> => {
    const now = Date.now();
    const raw = await redis.get(waitKey(job));
    const prior = raw ? (JSON.parse(raw) as StoredWait) : undefined;
    const state: StoredWait = {
      dependency: outage.dependency,
      dependencies: prior ? [...new Set([...prior.dependencies, outage.dependency])] : [outage.dependency],
      since: prior?.since ?? now,
      delays: (prior?.delays ?? 0) + 1,
    };
    if (waitOptions.maxWaitMs > 0 && now - state.since > waitOptions.maxWaitMs) {
      jobLog.error(
        { dependency: outage.dependency, code: outage.code, waitedMs: now - state.since, err },
        'waited for a dependency past maxWaitMs; this error now spends an attempt',
      );
      return false;
    }
    const delayMs = dependencyDelay(state.delays - 1, waitOptions);
    // Kept a day past the longest wait it could record, then Redis drops it if the job vanished.
    await redis.set(waitKey(job), JSON.stringify(state), 'PX', Math.max(waitOptions.maxWaitMs, 30 * 86_400_000) + 86_400_000);
    dependencyWaits.waited(trackKey(job), outage.dependency, state.since, delayMs, now);
    jobLog.warn(
      {
        dependency: outage.dependency,
        kind: outage.kind,
        code: outage.code,
        delayMs,
        waitedMs: now - state.since,
        delays: state.delays,
        err,
      },
      `${DEPENDENCY_NAMES[outage.dependency]} unavailable; job waits ${delayMs} ms without spending an attempt`,
    );
    await job.moveToDelayed(now + delayMs, token);
    return true;
  };

  /** The job ran through (or failed for another reason) after waiting: report the wait once. */
  const endWait = async (job: Job, jobLog: Logger): Promise<void> => {
    // Only a job that ran before without failing (delayed or stalled) can have waited: no Redis read on the common path.
    if (job.attemptsStarted <= job.attemptsMade + 1) return;
    dependencyWaits.done(trackKey(job));
    let raw: string | null;
    try {
      raw = await redis.get(waitKey(job));
    } catch (err) {
      jobLog.warn({ err }, 'could not read the dependency wait state');
      return;
    }
    if (!raw) return;
    const state = JSON.parse(raw) as StoredWait;
    const waitedMs = Date.now() - state.since;
    const names = state.dependencies.map((d) => DEPENDENCY_NAMES[d]).join(', then ');
    const wait: DependencyWait = {
      ...state,
      since: new Date(state.since),
      waitedMs,
      message: `waited for ${names} for ${Math.round(waitedMs / 1000)} s (${state.delays} ${state.delays === 1 ? 'delay' : 'delays'}, no attempt spent)`,
    };
    jobLog.info({ dependencies: state.dependencies, waitedMs, delays: state.delays }, wait.message);
    try {
      await options.onDependencyWaitOver?.(job, wait);
      await redis.del(waitKey(job));
    } catch (err) {
      jobLog.warn({ err }, 'could not record the dependency wait');
    }
  };

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
      // A record sent after a save runs on the version saved, not on the one this process is replacing.
      const applying = options.configApplying?.();
      if (applying) await applying;
      const config = options.config?.();
      if (config) pinJobConfig(job, config);
      const handler = (handlers as unknown as Record<string, (job: Job, deps: Deps, ctx: JobContext) => Promise<unknown>>)[job.name]!;
      let result: unknown;
      const ctx = createJobContext(job, { log: jobLog, token, connections: options.connections, timeline: options.timeline, config });
      try {
        result = await handler(job, deps, ctx);
        // Rows the handler left waiting (ctx.stageLater) are stored before the job completes.
        await ctx.flushStages();
      } catch (err) {
        // Written on every way out, the error's own way unchanged: a row that cannot be stored now is
        // written again by the re-run, which looks for it (hasStage).
        await ctx.flushStages().catch((e: unknown) => jobLog.warn({ err: e }, 'could not write the timeline rows of a job that failed'));
        if (err instanceof DelayedError || (err as Error)?.name === 'DelayedError') throw err;
        const configError = (err as { reason?: unknown })?.reason === 'config';
        // A failed look (the database away) leaves the error as it was.
        if (configError && token && options.refreshConfig && (await options.refreshConfig().catch(() => false))) {
          jobLog.info(
            { err: { message: (err as Error).message }, configVersion: options.config?.().label },
            'a newer configuration version was applied: the job runs again on it (no attempt spent)',
          );
          await job.moveToDelayed(Date.now(), token);
          throw new DelayedError();
        }
        const outage = classifyInfrastructureError(err);
        if (outage && token) {
          if (await waitForDependency(job, token, outage, err, jobLog)) throw new DelayedError();
          throw err; // past maxWaitMs: spends an attempt, and the wait goes on counting
        }
        const final =
          err instanceof UnrecoverableError ||
          (err as Error)?.name === 'UnrecoverableError' ||
          job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        if (final && options.finalFailure) {
          try {
            await options.finalFailure(job, err as Error);
          } catch (hookErr) {
            const hookOutage = classifyInfrastructureError(hookErr);
            if (hookOutage && token && (await waitForDependency(job, token, hookOutage, hookErr, jobLog))) throw new DelayedError();
            jobLog.error({ err: hookErr }, 'could not record the final failure (finalFailure hook)');
          }
        }
        await endWait(job, jobLog);
        throw err;
      }
      await endWait(job, jobLog);
      return result;
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
    if (final && options.failedStage && options.timeline) {
      void recordFailure(
        options.timeline,
        typeof options.failedStage === 'function' ? options.failedStage(job) : options.failedStage,
        job,
        err,
      ).catch((e) => log.error({ err: e }, 'could not record the failure on the timeline'));
    }
  });
  if (options.metrics) observeWorker(worker, options.metrics);
  return worker;
}

/** The failed row of a job that failed for good, with the Salesforce calls its error says it spent. */
async function recordFailure(timeline: TimelineWriter, stage: Stage, job: Job, err: Error): Promise<void> {
  const ref = recordOf(job.data);
  if (!ref.connectionId) return;
  await timeline.recordStage({
    ...ref,
    connectionId: ref.connectionId,
    stage,
    outcome: 'failed',
    queue: job.queueName,
    jobId: job.id,
    message: err.message,
    sfApiCalls: (err as { sfApiCalls?: number }).sfApiCalls ?? 0,
    configVersion: jobConfigOf(job)?.label,
  });
}

/**
 * `onDependencyWaitOver` that puts the wait on the record's timeline ("waited for PostgreSQL for
 * 83 s"), dated when the wait began so it sits where the work stopped. Jobs without a connection
 * (none today) are skipped.
 */
export function recordDependencyWait(store: TimelineWriter): NonNullable<StartWorkerOptions['onDependencyWaitOver']> {
  return async (job, wait) => {
    const ref = recordOf(job.data);
    if (!ref.connectionId) return;
    await store.recordStage({
      ...ref,
      connectionId: ref.connectionId,
      stage: 'waited',
      outcome: 'ok',
      queue: job.queueName,
      jobId: job.id,
      message: wait.message,
      detail: { dependencies: wait.dependencies, waitedMs: wait.waitedMs, delays: wait.delays },
      at: wait.since,
      configVersion: jobConfigOf(job)?.label,
    });
  };
}
