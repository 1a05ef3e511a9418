import type { JobsOptions } from 'bullmq';
import { z } from 'zod';

/** A queue: its persistent name, its job names with their payload schemas, and job defaults. */
export interface QueueContract<Jobs extends Record<string, z.ZodType> = Record<string, z.ZodType>> {
  /** Persistent identifier in Redis. DO NOT RENAME: jobs already stored under the old name are stranded. */
  readonly name: string;
  readonly jobs: Jobs;
  readonly defaultJobOptions: JobsOptions;
}

export function defineQueue<const Jobs extends Record<string, z.ZodType>>(
  name: string,
  jobs: Jobs,
  defaultJobOptions: JobsOptions = {},
): QueueContract<Jobs> {
  if (name.includes(':')) throw new Error(`queue name "${name}" must not contain ":"`);
  return { name, jobs, defaultJobOptions };
}

export type JobNameOf<Q extends QueueContract> = keyof Q['jobs'] & string;

export type JobDataOf<Q extends QueueContract, N extends JobNameOf<Q>> = z.infer<Q['jobs'][N]>;

/** The discriminated union of one queue's jobs: `switch (job.name)` narrows `job.data`. */
export type JobOf<Q extends QueueContract> = {
  [N in JobNameOf<Q>]: { name: N; data: JobDataOf<Q, N> };
}[JobNameOf<Q>];

export class PayloadError extends Error {
  constructor(
    readonly queue: string,
    readonly jobName: string,
    readonly issues: string[],
  ) {
    super(`invalid ${queue}/${jobName} payload: ${issues.join('; ')}`);
    this.name = 'PayloadError';
  }
}

/** Validate a payload against the contract; throws PayloadError naming each bad path. */
export function parsePayload<Q extends QueueContract, N extends JobNameOf<Q>>(contract: Q, name: N, data: unknown): JobDataOf<Q, N> {
  const schema = contract.jobs[name];
  if (!schema) throw new PayloadError(contract.name, name, [`unknown job name "${name}"`]);
  const result = schema.safeParse(data);
  if (!result.success) {
    throw new PayloadError(
      contract.name,
      name,
      result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    );
  }
  return result.data as JobDataOf<Q, N>;
}

/**
 * Deterministic job id from parts. BullMQ uses ":" as its key separator, so it is replaced;
 * custom ids must also not be plain integers.
 */
export function jobId(...parts: (string | number)[]): string {
  return parts.map((p) => String(p).replace(/[:\s]/g, '_')).join('-');
}
