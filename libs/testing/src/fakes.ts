// In-memory stand-ins for the small interfaces processors take (QueueLike, RecordLocks,
// KeyValueStore, the timeline), for unit specs whose logic is not about Redis or PostgreSQL.
// Integration specs keep using the real services.
import type { JobsOptions } from 'bullmq';
import type { QueueContract, QueueLike, StageOutcome, Stage, StoredJobs } from '@broker/contracts';
import type { KeyValueStore, RecordLocks, StageRow, TimelineWriter } from '@broker/runtime';

export interface QueuedJob {
  name: string;
  data: unknown;
  opts?: JobsOptions;
}

/** A queue that keeps what is added; like BullMQ, an add under an id already queued is ignored. */
export function memoryQueue<Q extends QueueContract>(contract: Q): QueueLike<Q, QueuedJob> & StoredJobs & { jobs: QueuedJob[] } {
  const jobs: QueuedJob[] = [];
  const add = async (name: string, data: unknown, opts?: JobsOptions): Promise<QueuedJob> => {
    const existing = opts?.jobId ? jobs.find((j) => j.opts?.jobId === opts.jobId) : undefined;
    if (existing) return existing;
    const job = { name, data, opts };
    jobs.push(job);
    return job;
  };
  return {
    contract,
    jobs,
    // A copy, as BullMQ's stored JSON is.
    jobData: async (jobId) => {
      const job = jobs.find((j) => j.opts?.jobId === jobId);
      return job ? (JSON.parse(JSON.stringify(job.data)) as unknown) : null;
    },
    add,
    addBulk: async (list) => {
      const out: QueuedJob[] = [];
      for (const j of list) out.push(await add(j.name, j.data, j.opts));
      return out;
    },
  };
}

/** Record locks in a Set; `held` shows which are taken; `values` holds what they read and set on release. */
export function memoryLocks(values = new Map<string, string>()): RecordLocks & { held: Set<string>; values: Map<string, string> } {
  const held = new Set<string>();
  const take = (key: string) => {
    held.add(key);
    const release = async () => void held.delete(key);
    return Object.assign(release, {
      async releaseSettingMax(setKey: string, value: string) {
        const current = values.get(setKey);
        if (current === undefined || current < value) values.set(setKey, value);
        await release();
      },
    });
  };
  return {
    held,
    values,
    async tryLock(writer, connectionId, sfId) {
      const key = `${writer}:${connectionId}:${sfId}`;
      return held.has(key) ? null : take(key);
    },
    async tryLockReading(writer, connectionId, sfId, reading) {
      const key = `${writer}:${connectionId}:${sfId}`;
      const read = values.get(reading.key) ?? null;
      const covered = reading.unlessAtLeast !== undefined && read !== null && read >= reading.unlessAtLeast;
      return { lock: covered || held.has(key) ? null : take(key), read };
    },
  };
}

/** Keys and values in a Map (expiries are kept, not enforced). */
export function memoryKeyValue(): KeyValueStore & { values: Map<string, string>; ttls: Map<string, number> } {
  const values = new Map<string, string>();
  const ttls = new Map<string, number>();
  return {
    values,
    ttls,
    get: async (key) => values.get(key) ?? null,
    set: async (key, value, _mode, seconds) => {
      values.set(key, value);
      ttls.set(key, seconds);
      return 'OK';
    },
    exists: async (key) => (values.has(key) ? 1 : 0),
  };
}

/** A timeline that keeps its rows. */
export function memoryTimeline(): TimelineWriter & { rows: StageRow[]; of(stage: Stage, outcome?: StageOutcome): StageRow[] } {
  const rows: StageRow[] = [];
  return {
    rows,
    recordStage: async (row) => void rows.push(row),
    of: (stage, outcome) => rows.filter((r) => r.stage === stage && (outcome === undefined || r.outcome === outcome)),
  };
}

/** A job as a processor sees it; `delayedUntil` records a `ctx.delay`. */
export function fakeJob<D>(
  data: D,
  options: { id?: string; queueName?: string; attemptsMade?: number; attemptsStarted?: number; timestamp?: number } = {},
) {
  const job = {
    id: options.id ?? `job-${Math.random().toString(36).slice(2)}`,
    queueName: options.queueName ?? 'test',
    attemptsMade: options.attemptsMade ?? 0,
    // BullMQ counts a start before the handler runs: a first run sees 1.
    attemptsStarted: options.attemptsStarted ?? (options.attemptsMade ?? 0) + 1,
    timestamp: options.timestamp ?? Date.now(),
    data,
    delayedUntil: undefined as number | undefined,
    moveToDelayed: async (at: number) => void (job.delayedUntil = at),
  };
  return job;
}
