import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { ConnectionConfig } from '@broker/config';
import type { Stage, StageOutcome, StageRecord } from '@broker/contracts';

/** The timeline row a stage writes (the store's `recordStage` takes it; structural so that fakes fit). */
export type StageRow = StageRecord;

/** The part of the store the runtime writes to: the record's timeline. */
export interface TimelineWriter {
  recordStage(entry: StageRow): Promise<void>;
  /** Several rows in order, in one statement (the store's; a writer without it gets them one by one). */
  recordStages?(entries: readonly StageRow[]): Promise<void>;
}

/** What a stage row may say besides what the job already tells (connection, record, queue, job id). */
export interface StageFields {
  message?: string;
  /** Default: the job's `sfId`. */
  sfId?: string | null;
  /** Default: the job's `workOrderId`, else its `cause.workOrderId`. */
  workOrderId?: number | null;
  sfApiCalls?: number;
  detail?: Record<string, unknown>;
  at?: Date;
}

/**
 * The configuration version a job runs with: read once when the job starts, so a job in flight
 * finishes on the version it started with while the next one uses a newer version.
 */
export interface JobConfig {
  /** What the job's timeline rows record: a stored version ("7") or "file:<hash>". */
  label: string;
  connections: ReadonlyMap<string, ConnectionConfig>;
}

/** The version each running job was pinned to (for the rows written after its handler: failures, waits). */
const pinned = new WeakMap<object, JobConfig>();
export const pinJobConfig = (job: object, config: JobConfig): void => void pinned.set(job, config);
export const jobConfigOf = (job: object): JobConfig | undefined => pinned.get(job);

/** The job's connection id is not in the configuration (a job queued before a connection was removed). */
export class UnknownConnectionError extends UnrecoverableError {
  readonly reason = 'config';
  readonly sfApiCalls = 0;
  constructor(readonly connectionId: string) {
    super(`unknown connection ${connectionId}`);
    this.name = 'UnrecoverableError';
  }
}

/** What every handler receives besides its job and its deps. */
export interface JobContext {
  /** A logger bound to the job (queue, job id, attempt, connection). */
  log: Logger;
  /**
   * Run the job again in `ms` without spending an attempt (a busy record lock, a rate limit, an API
   * budget pause). Always throws: `return ctx.delay(ms)` ends the handler.
   */
  delay(ms: number): Promise<never>;
  /** Append a row to the record's timeline; connection, record, queue and job id come from the job. */
  stage(stage: Stage, outcome: StageOutcome, fields?: StageFields): Promise<void>;
  /**
   * A row written with the job's next one (same statement), or when the handler ends, whichever
   * comes first: the worker writes what is left before the job completes, fails or is delayed. A
   * crash before then loses it with the job's progress, so only a row the job writes again on a
   * re-run (as it checks `hasStage`) may wait.
   */
  stageLater(stage: Stage, outcome: StageOutcome, fields?: StageFields): void;
  /**
   * Rows another job stamped and handed to this one in its payload (the mapper's `mapped` row in a
   * write job): they wait as stageLater's do, keeping their own queue, job id and time.
   */
  carryStages(rows: readonly StageRow[]): void;
  /**
   * The rows waiting (stageLater, carryStages), then this one if given, handed over to go in a store statement that
   * writes them with its own change (`markInboundProcessed`, `updateCorrelation`); they no longer wait here.
   */
  takeStages(stage?: Stage, outcome?: StageOutcome, fields?: StageFields): StageRow[];
  /**
   * The job's connection: its configuration, or its entry in a per-connection map (clients,
   * mappings). An id that is not configured fails the job for good (UnknownConnectionError).
   */
  connection(): ConnectionConfig;
  connection<T>(perConnection: ReadonlyMap<string, T>): T;
  /** The configuration version the job runs with (none outside runWorkerApp). */
  readonly config?: JobConfig;
}

/** Record fields job payloads carry (every contract payload with a record names them alike). */
export interface RecordRef {
  connectionId?: string;
  sfId?: string;
  workOrderId?: number;
  cause?: { workOrderId?: number };
}

/**
 * Whether an earlier start of the job ran (a retry, or a stalled job run again): it may have written
 * its timeline rows already, so a row it writes once is looked for first (`hasStage`).
 */
export const startedBefore = (job: { attemptsMade: number; attemptsStarted: number }): boolean =>
  job.attemptsMade > 0 || job.attemptsStarted > 1;

/** The connection, record and work order a job is about, from its payload. */
export function recordOf(data: unknown): { connectionId?: string; sfId: string | null; workOrderId: number | null } {
  const d = (data ?? {}) as RecordRef;
  return { connectionId: d.connectionId, sfId: d.sfId ?? null, workOrderId: d.workOrderId ?? d.cause?.workOrderId ?? null };
}

export interface JobContextOptions {
  log: Logger;
  /** The job's lock token (BullMQ hands it to the processor); needed to move an active job to delayed. */
  token?: string;
  connections?: ReadonlyMap<string, ConnectionConfig>;
  timeline?: TimelineWriter;
  /** The version the job is pinned to: its connections win over `connections`, its label goes on every stage row. */
  config?: JobConfig;
}

type ContextJob = Pick<Job, 'id' | 'queueName' | 'data' | 'moveToDelayed'>;

/** What the worker does with a job's context after its handler: write the rows still waiting. */
export interface WorkerJobContext extends JobContext {
  flushStages(): Promise<void>;
}

/** The context startWorker gives each job; tests build one the same way, with fakes for the timeline. */
export function createJobContext(job: ContextJob, options: JobContextOptions): WorkerJobContext {
  const ref = recordOf(job.data);
  const connectionId = ref.connectionId ?? '';
  function connection(): ConnectionConfig;
  function connection<T>(perConnection: ReadonlyMap<string, T>): T;
  function connection<T>(perConnection?: ReadonlyMap<string, T>): T | ConnectionConfig {
    const found = (perConnection ?? options.config?.connections ?? options.connections)?.get(connectionId);
    if (found === undefined) throw new UnknownConnectionError(connectionId);
    return found;
  }
  const row = (stage: Stage, outcome: StageOutcome, fields: StageFields): StageRow => ({
    connectionId,
    sfId: fields.sfId !== undefined ? fields.sfId : ref.sfId,
    workOrderId: fields.workOrderId !== undefined ? fields.workOrderId : ref.workOrderId,
    stage,
    outcome,
    queue: job.queueName,
    jobId: job.id,
    message: fields.message,
    sfApiCalls: fields.sfApiCalls,
    detail: fields.detail,
    // Stamped when the stage happened, not when its row is written.
    at: fields.at ?? new Date(),
    configVersion: options.config?.label,
  });
  let waiting: StageRow[] = [];
  const timeline = (stage: Stage): TimelineWriter => {
    if (!options.timeline) throw new Error(`job ${job.queueName}/${job.id} has no timeline to record "${stage}" on`);
    return options.timeline;
  };
  const write = async (writer: TimelineWriter, rows: StageRow[]): Promise<void> => {
    if (rows.length === 1) await writer.recordStage(rows[0]!);
    else if (writer.recordStages) await writer.recordStages(rows);
    else for (const r of rows) await writer.recordStage(r);
  };
  const take = (stage: Stage | undefined, outcome: StageOutcome, fields: StageFields): StageRow[] => {
    const rows = stage === undefined ? waiting : [...waiting, row(stage, outcome, fields)];
    waiting = [];
    return rows;
  };
  return {
    log: options.log,
    connection,
    config: options.config,
    async delay(ms) {
      await job.moveToDelayed(Date.now() + Math.max(0, Math.round(ms)), options.token);
      throw new DelayedError();
    },
    async stage(stage, outcome, fields = {}) {
      const writer = timeline(stage);
      await write(writer, take(stage, outcome, fields));
    },
    stageLater(stage, outcome, fields = {}) {
      timeline(stage);
      waiting.push(row(stage, outcome, fields));
    },
    carryStages(rows) {
      if (rows.length === 0) return;
      timeline(rows[0]!.stage);
      waiting.push(...rows);
    },
    takeStages(stage, outcome = 'ok', fields = {}) {
      return take(stage, outcome, fields);
    },
    async flushStages() {
      if (waiting.length === 0 || !options.timeline) return;
      const rows = waiting;
      waiting = [];
      await write(options.timeline, rows);
    },
  };
}
