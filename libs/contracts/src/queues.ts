import { z } from 'zod';
import { defineQueue } from './define-queue';
import { FieldNationWebhookBodySchema } from './fieldnation-domain';
import { STAGE_NAMES, STAGE_OUTCOMES, type StageRecord } from './stages';

// ─────────────────────────────────────────────────────────────────────────────────────────────
// Queue names are persistent identifiers in Redis. DO NOT RENAME a queue or a job name: jobs
// stored under the old name would be stranded (no worker consumes them). Add new ones instead.
// ─────────────────────────────────────────────────────────────────────────────────────────────

const connectionId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/i, 'connection id: letters, digits, _ and -');
/** 15- or 18-character Salesforce id (normalised to 18 by the producer). */
const sfId = z.string().regex(/^[a-zA-Z0-9]{18}$/, '18-character Salesforce id');
const sfObject = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'Salesforce object API name');
const isoTime = z.string().datetime({ offset: true });
const workOrderId = z.number().int().positive();
/** A Salesforce record as the REST API returns it (relationship fields nested, nulls kept). */
const sfRecord = z.record(z.string(), z.unknown());

const retryDefaults = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1_000, jitter: 0.5 },
  removeOnComplete: { age: 3_600, count: 1_000 },
  // The failed set is the dead-letter queue: keep it long enough to find and replay.
  removeOnFail: { age: 14 * 24 * 3_600, count: 100_000 },
} as const;

/** Ingress → salesforce-fetcher: one Outbound Message notification (or a reconciliation/resync request). */
export const FetchRecordJob = z.object({
  connectionId,
  sfObject,
  sfId,
  /** Outbound Message notification id, or a synthetic id for reconcile/resync. */
  notificationId: z.string().min(1).max(64),
  source: z.enum(['outbound-message', 'reconcile', 'resync']),
  receivedAt: isoTime,
  /** Fields Salesforce sent in the notification (no secrets: SessionId is never copied here). */
  snapshot: z.record(z.string(), z.string().nullable()).default({}),
});

export const sfFetchQueue = defineQueue('sf.fetch', { 'fetch-record': FetchRecordJob }, retryDefaults);

/** Scheduler → salesforce-fetcher: find records a dropped Outbound Message never announced. */
export const ReconcileJob = z.object({
  connectionId,
  sfObject,
  /** Override of the connection's window (hours), e.g. from the CLI. */
  windowHours: z.number().positive().optional(),
});

export const sfReconcileQueue = defineQueue(
  'sf.reconcile',
  { sweep: ReconcileJob },
  {
    attempts: 3,
    backoff: { type: 'exponential', delay: 30_000 },
    removeOnComplete: { count: 200 },
    removeOnFail: { age: 14 * 24 * 3_600, count: 1_000 },
  },
);

/** The record one Outbound Message notification named, as the jobs that carry that notification on name it. */
const notifiedRecord = { connectionId, sfObject, sfId, notificationId: z.string().min(1) };

/** salesforce-fetcher → mapper: the record as read, with every mapped path. */
export const MapRecordJob = z.object({
  ...notifiedRecord,
  record: sfRecord,
  fetchedAt: isoTime,
  sfApiCalls: z.number().int().nonnegative(),
  /** Id of the user the broker is logged in as: its own writes are never synced back. */
  integrationUserId: z.string().optional(),
  /** The record matched its object's cancel condition (evaluated by Salesforce in the fetch's one call). */
  cancelRequested: z.boolean().optional(),
  /**
   * The record's correlation as the fetcher read it (in the statement that checked the inbound ledger,
   * before the record was queried), so that the mapper need not read it again. A snapshot at fetch
   * time: it may be stale by the time the mapper runs, and the fieldnation-writer re-checks the
   * correlation under its record lock before it writes. Undefined: the fetcher did not read it (a
   * CaseComment, FeedItem or FeedComment, a job queued before this field existed) and the mapper reads it itself;
   * null: the fetcher read it and the record had no correlation row.
   */
  correlation: z
    .object({
      /** The row's uuid. */
      id: z.string().min(1),
      workOrderId: z.number().int().nullable(),
      state: z.string().min(1),
      /** Optimistic-lock version of the row when read. */
      version: z.number().int().nonnegative(),
      lastSfModstamp: isoTime.nullable(),
      lastPayloadHash: z.string().nullable(),
    })
    .nullable()
    .optional(),
});

export const mapQueue = defineQueue('map', { 'map-record': MapRecordJob }, retryDefaults);

/** ingress → mapper: one Field Nation webhook delivery (uuid without the attempt suffix). */
export const FieldNationEventJob = z.object({
  connectionId,
  deliveryId: z.string().min(1).max(128),
  eventName: z.string().min(1),
  workOrderId,
  /** Event time from the payload (or the request timestamp): orders events for one work order. */
  occurredAt: isoTime,
  receivedAt: isoTime,
  /** The webhook body as signed (reference §8.4). */
  body: FieldNationWebhookBodySchema,
});

export const fnEventQueue = defineQueue('fn.event', { 'fn-event': FieldNationEventJob }, retryDefaults);

/**
 * A timeline row one job stamped and another writes (a StageRecord with its time as text): it keeps
 * its own queue, job id and time.
 */
const CarriedStage = z.object({
  connectionId,
  sfId: z.string().nullable().optional(),
  workOrderId: z.number().int().nullable().optional(),
  stage: z.enum(STAGE_NAMES),
  outcome: z.enum(STAGE_OUTCOMES),
  queue: z.string().optional(),
  jobId: z.string().optional(),
  message: z.string().optional(),
  sfApiCalls: z.number().int().nonnegative().optional(),
  detail: z.record(z.string(), z.unknown()).optional(),
  at: isoTime,
  configVersion: z.string().nullable().optional(),
});
export type CarriedStage = z.infer<typeof CarriedStage>;

/** Timeline rows as a job payload carries them. */
export const toCarriedStages = (rows: readonly StageRecord[]): CarriedStage[] =>
  rows.map((r) => ({ ...r, at: (r.at ?? new Date()).toISOString() }));

/** Carried rows as the store writes them. */
export const fromCarriedStages = (rows: readonly CarriedStage[] | undefined): StageRecord[] =>
  (rows ?? []).map((r) => ({ ...r, at: new Date(r.at) }));

/**
 * mapper → fieldnation-writer: make the work order for a record match this mapped state. The writer
 * serialises per record and ignores a state older than the last one written (sfModstamp).
 */
export const WriteWorkOrderJob = z.object({
  ...notifiedRecord,
  /** SystemModstamp of the record as fetched: orders states of one record. */
  sfModstamp: isoTime,
  /** The full mapped work order (no secrets: built from record fields only). */
  payload: z.record(z.string(), z.unknown()),
  payloadHash: z.string().min(1),
  /** Target paths the mapping marks create-only (never sent on update). */
  createOnly: z.array(z.string()).default([]),
  /**
   * The mapper's `mapped` row for this state: the writer writes it with its first statement (the
   * claim), so the mapper makes no PostgreSQL commit on the way to Field Nation. A job that started
   * before looks for it first (hasStage): written once.
   */
  stages: z.array(CarriedStage).max(20).optional(),
});

/**
 * mapper → fieldnation-writer: a CaseComment, Chatter post (FeedItem) or Chatter reply (FeedComment)
 * written by a Salesforce user, to post as a message. `caseCommentId` is the Salesforce id of whichever
 * it is (the name predates Chatter; the message link keys on it).
 */
export const PostMessageJob = z.object({
  connectionId,
  sfId,
  caseCommentId: sfId,
  workOrderId,
  body: z.string().min(1).max(20_000),
  authorName: z.string().optional(),
  /** Field Nation message to reply to (a Chatter reply whose post is linked to that message). */
  replyToMessageId: z.string().min(1).max(64).optional(),
});

/** mapper → fieldnation-writer: the record asks for its work order to be cancelled (its cancel condition). */
export const CancelWorkOrderJob = z.object({
  ...notifiedRecord,
  workOrderId,
  /** Field Nation's `cancel_reason` (an id or text), as the object's cancel settings map it. */
  reason: z.union([z.number().int().positive(), z.string().min(1).max(255)]),
});

export const fnWriteQueue = defineQueue(
  'fn.write',
  { 'write-work-order': WriteWorkOrderJob, 'post-message': PostMessageJob, 'cancel-work-order': CancelWorkOrderJob },
  retryDefaults,
);

/** Anything the broker writes to Salesforce for one cause, applied in one composite request. */
export const SalesforceWriteJob = z.object({
  connectionId,
  sfObject,
  sfId,
  /** Field updates on the record itself. */
  fields: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).default({}),
  /** CaseComment to create on the record (Case only). */
  comment: z
    .object({
      body: z.string().min(1).max(4_000),
      isPublished: z.boolean().default(false),
      /** Field Nation message id, stored as a message link so the comment never echoes back. */
      fnMessageId: z.string().min(1).max(64).optional(),
      /**
       * Where the text goes (absent: CaseComment, Case only): a Chatter post on the record (FeedItem),
       * or a Chatter reply (FeedComment) on `feedItemId`, the post linked to the message replied to.
       */
      channel: z.enum(['CaseComment', 'FeedItem', 'FeedComment']).optional(),
      feedItemId: sfId.optional(),
      /** The message object's field that takes the text (the connection's chatter.bodyField / commentBodyField). */
      bodyField: z
        .string()
        .regex(/^[A-Za-z][A-Za-z0-9_]*$/)
        .optional(),
    })
    .optional(),
  /**
   * For status changes: when the event happened and its lifecycle rank. The writer never lets an
   * older status overwrite a newer one on the record (events can arrive and run out of order).
   */
  statusOrder: z.object({ at: isoTime, rank: z.number(), fields: z.array(z.string()) }).optional(),
  /**
   * A sync outcome reported on the record (the write-back's fields): the writer never lets an older
   * outcome overwrite a newer one, and does not write again what the record already shows.
   */
  outcome: z
    .object({
      status: z.enum(['synced', 'failed', 'cancelled']),
      /** When the outcome was decided: orders the outcomes of one record. */
      at: isoTime,
      /** Status, work order and reason: an outcome the record already shows is not written again. */
      signature: z.string().min(1).max(2_000),
      /** Write it even when the record shows the same outcome (it stamps the sync time or resets the checkbox). */
      rewrite: z.boolean().default(false),
    })
    .optional(),
  cause: z.object({
    kind: z.enum(['write-back', 'fn-event', 'fn-message', 'sync-feedback']),
    id: z.string().min(1),
    workOrderId: workOrderId.optional(),
    eventName: z.string().optional(),
  }),
});

export const sfWriteQueue = defineQueue('sf.write', { 'write-record': SalesforceWriteJob }, retryDefaults);

/**
 * Scheduler → salesforce-fetcher: read the Chatter posts and replies written since the last sweep on
 * the records of the connection's Chatter objects that have a work order (bounded API calls).
 */
export const ChatterSweepJob = z.object({ connectionId });

export const sfChatterQueue = defineQueue(
  'sf.chatter',
  { 'chatter-sweep': ChatterSweepJob },
  {
    attempts: 3,
    backoff: { type: 'exponential', delay: 10_000 },
    removeOnComplete: { count: 200 },
    removeOnFail: { age: 14 * 24 * 3_600, count: 1_000 },
  },
);

/**
 * Scheduler → mapper: delete timeline and inbound-ledger rows older than the config's `retention`
 * (the settings are read from the config when the job runs, so a change needs no new scheduler).
 */
export const RetentionSweepJob = z.object({});

export const maintenanceQueue = defineQueue(
  'maintenance',
  { 'retention-sweep': RetentionSweepJob },
  {
    attempts: 3,
    backoff: { type: 'exponential', delay: 60_000 },
    removeOnComplete: { count: 100 },
    removeOnFail: { age: 14 * 24 * 3_600, count: 1_000 },
  },
);

// ── Files (issue 15, part 5) ─────────────────────────────────────────────────────────────────
// Jobs carry ids and file metadata only: never a file body (Redis holds ids) and never a download
// link (Field Nation's links may be pre-signed, i.e. credentials): the writers read them afresh.

/** What caused a copy of a work order's attachments to Salesforce. */
const fileCause = z.object({ eventName: z.string().min(1), deliveryId: z.string().min(1).max(128) });

/**
 * mapper → salesforce-writer: copy the work order's attachments that Salesforce does not have yet to
 * Salesforce Files on the record (after `workorder.provider_upload`, and after completion for
 * deliverables uploaded before). The writer lists the attachments: the event's params are not documented.
 */
export const CopyAttachmentsToSalesforceJob = z.object({
  connectionId,
  sfObject,
  sfId,
  workOrderId,
  cause: fileCause,
});

export const sfFileQueue = defineQueue('sf.file', { 'copy-attachments': CopyAttachmentsToSalesforceJob }, retryDefaults);

/** Scheduler → salesforce-fetcher: look for files added to synced records in Salesforce (one query). */
export const PollSalesforceFilesJob = z.object({ connectionId });

export const sfFilePollQueue = defineQueue(
  'sf.file-poll',
  { 'poll-files': PollSalesforceFilesJob },
  {
    attempts: 3,
    backoff: { type: 'exponential', delay: 10_000 },
    removeOnComplete: { count: 200 },
    removeOnFail: { age: 14 * 24 * 3_600, count: 1_000 },
  },
);

/** salesforce-fetcher → fieldnation-writer: one Salesforce file (ContentVersion) to upload to the work order. */
export const CopyFileToFieldNationJob = z.object({
  connectionId,
  sfObject,
  sfId,
  workOrderId,
  contentVersionId: sfId,
  contentDocumentId: sfId,
  title: z.string().max(255),
  /** PathOnClient's name part: the file name Field Nation shows. */
  fileName: z.string().min(1).max(255),
  fileExtension: z.string().max(40).nullable(),
  /** Bytes, as ContentVersion.ContentSize says: checked against the connection's cap before the download. */
  contentSize: z.number().int().nonnegative(),
});

export const fnFileQueue = defineQueue('fn.file', { 'copy-file': CopyFileToFieldNationJob }, retryDefaults);

/** Every queue, for the dashboard, replay and metrics. */
export const allQueues = [
  sfFetchQueue,
  mapQueue,
  fnEventQueue,
  fnWriteQueue,
  sfWriteQueue,
  sfReconcileQueue,
  maintenanceQueue,
  sfFileQueue,
  sfFilePollQueue,
  fnFileQueue,
  sfChatterQueue,
] as const;
