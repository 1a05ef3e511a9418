import { jobId } from './define-queue';
import { fnEventQueue, fnFileQueue, fnWriteQueue, mapQueue, sfFetchQueue, sfFileQueue, sfReconcileQueue, sfWriteQueue } from './queues';
import { schedulers } from './schedulers';

// ─────────────────────────────────────────────────────────────────────────────────────────────
// Job ids: every producer builds them here. An id is how a redelivery collapses (BullMQ ignores an
// add whose id exists), so a recipe is part of the contract: changing one lets a redelivery of a
// job queued before the change run twice. docs/architecture.md's table is rendered from JOB_IDS
// and checked by job-ids.spec.ts.
// ─────────────────────────────────────────────────────────────────────────────────────────────

/** A notification id is at most 64 characters (FetchRecordJob): a resync id shortens long connection ids. */
const MAX_NOTIFICATION_ID = 64;

/** `sf.fetch` / `fetch-record`. */
export const fetchJobId = {
  /** ingress: one Outbound Message notification; Salesforce's redeliveries reuse its id. */
  outboundMessage: (connectionId: string, notificationId: string) => jobId('om', connectionId, notificationId),
  /** salesforce-fetcher reconciliation: one per record state found by a sweep. */
  reconcile: (connectionId: string, sfId: string, systemModstampMs: number) => jobId('rc', connectionId, sfId, systemModstampMs),
  /**
   * dashboard and CLI: each request is a new job (an id per record would collapse into the last
   * completed one) while a double click within one millisecond still collapses. Also the job's
   * notification id, so a long connection id is shortened (the payload keeps the full one).
   */
  resync: (connectionId: string, sfId: string, now: Date) => {
    const id = jobId('resync', connectionId, sfId, now.getTime());
    return id.length <= MAX_NOTIFICATION_ID ? id : jobId('resync', connectionId.slice(0, MAX_NOTIFICATION_ID - 40), sfId, now.getTime());
  },
} as const;

/** `sf.reconcile` / `sweep` (the scheduled ones: `schedulers.reconcile`). */
export const reconcileJobId = {
  /** `broker reconcile`: a sweep now, besides the scheduled ones. */
  now: (connectionId: string, sfObject: string, nowMs: number) => jobId('reconcile-now', connectionId, sfObject, nowMs),
} as const;

/** `map` / `map-record`: one per notification (a redelivered fetch job adds nothing). */
export const mapJobId = (connectionId: string, notificationId: string) => jobId('map', connectionId, notificationId);

/** The notification id of a Chatter post or reply the sweep found: one per Salesforce id, however often it is read. */
export const chatterNotificationId = (sfId: string) => jobId('chatter', sfId);

/** `fn.event` / `fn-event`: one per signed webhook body (its SHA-256), whatever the delivery attempt. */
export const fieldNationEventJobId = (connectionId: string, bodyHash: string) => jobId('fn', connectionId, bodyHash);

/** `fn.write`. */
export const fnWriteJobId = {
  /** One per record state: a newer SystemModstamp is a new job, a redelivered map job is not. */
  workOrder: (connectionId: string, sfId: string, systemModstampMs: number) => jobId('wo', connectionId, sfId, systemModstampMs),
  /** One per CaseComment. */
  message: (connectionId: string, caseCommentId: string) => jobId('msg', connectionId, caseCommentId),
  /**
   * One per work order and record state: a redelivered map job adds nothing; a later save asks again
   * (a refused cancel may be allowed by then). Never cancelling twice is the writer's status check.
   */
  cancel: (connectionId: string, sfId: string, workOrderId: number, systemModstampMs: number) =>
    jobId('cancel', connectionId, sfId, workOrderId, systemModstampMs),
} as const;

/** `sf.write` / `write-record`. */
export const sfWriteJobId = {
  /** One per Field Nation delivery (the fn.event job's delivery id). */
  event: (connectionId: string, deliveryId: string) => jobId('sfw', connectionId, deliveryId),
  /** The write-back after a create: one per record and work order (before every outcome had its own). */
  writeBack: (connectionId: string, sfId: string, workOrderId: number) => jobId('wb', connectionId, sfId, workOrderId),
  /**
   * A sync outcome on the record: `ok{modstampMs}` for a synced record state (a retry of the write
   * adds nothing), `cx{workOrderId}` for a cancellation, `f{decidedAtMs}` for a failure (a failure is
   * decided once per failing job; the writer drops a repeated one).
   */
  feedback: (connectionId: string, sfId: string, key: string) => jobId('fb', connectionId, sfId, key),
} as const;

/** Files (`sf.file`, `fn.file`). */
export const fileJobId = {
  /** mapper: one per Field Nation delivery that may bring attachments (provider upload, work done). */
  toSalesforce: (connectionId: string, deliveryId: string) => jobId('fnf', connectionId, deliveryId),
  /** salesforce-fetcher's file poll: one per ContentVersion, however often a poll sees it. */
  toFieldNation: (connectionId: string, contentVersionId: string) => jobId('sff', connectionId, contentVersionId),
} as const;

/** One row of the job-id table: which queue and job, who adds it, and the recipe with placeholders. */
export interface JobIdRecipe {
  queue: string;
  job: string;
  producer: string;
  /** The id built from placeholder parts, e.g. `om-{connection}-{notificationId}`. */
  example: string;
}

/**
 * Numeric parts rendered as `{name}`: each placeholder is a number no real part has, replaced in
 * the built id, so the table comes from the builders themselves.
 */
const numbers = new Map<string, string>();
const n = (name: string): number => {
  const value = 9_000_000_000_000 + numbers.size;
  numbers.set(String(value), `{${name}}`);
  return value;
};
const render = (id: string) => id.replace(/9\d{12}/g, (m) => numbers.get(m) ?? m);

/** Every recipe, rendered with placeholders: the source of docs/architecture.md's job-id table. */
export const JOB_IDS: JobIdRecipe[] = [
  {
    queue: sfFetchQueue.name,
    job: 'fetch-record',
    producer: 'ingress (Outbound Message)',
    example: fetchJobId.outboundMessage('{connection}', '{notificationId}'),
  },
  {
    queue: sfFetchQueue.name,
    job: 'fetch-record',
    producer: 'salesforce-fetcher (reconciliation sweep)',
    example: fetchJobId.reconcile('{connection}', '{sfId}', n('modstampMs')),
  },
  {
    queue: sfFetchQueue.name,
    job: 'fetch-record',
    producer: 'dashboard, CLI (re-sync; a connection id is shortened to keep it ≤ 64)',
    example: fetchJobId.resync('{connection}', '{sfId}', new Date(n('nowMs'))),
  },
  {
    queue: sfReconcileQueue.name,
    job: 'sweep',
    producer: 'CLI `broker reconcile`',
    example: reconcileJobId.now('{connection}', '{object}', n('nowMs')),
  },
  { queue: mapQueue.name, job: 'map-record', producer: 'salesforce-fetcher', example: mapJobId('{connection}', '{notificationId}') },
  {
    queue: mapQueue.name,
    job: 'map-record',
    producer: 'salesforce-fetcher (Chatter sweep: a FeedItem or FeedComment)',
    example: mapJobId('{connection}', chatterNotificationId('{feedId}')),
  },
  {
    queue: fnEventQueue.name,
    job: 'fn-event',
    producer: 'ingress (Field Nation webhook)',
    example: fieldNationEventJobId('{connection}', '{bodyHash}'),
  },
  {
    queue: fnWriteQueue.name,
    job: 'write-work-order',
    producer: 'mapper',
    example: fnWriteJobId.workOrder('{connection}', '{sfId}', n('modstampMs')),
  },
  { queue: fnWriteQueue.name, job: 'post-message', producer: 'mapper', example: fnWriteJobId.message('{connection}', '{caseCommentId}') },
  {
    queue: sfWriteQueue.name,
    job: 'write-record',
    producer: 'mapper (Field Nation event)',
    example: sfWriteJobId.event('{connection}', '{deliveryId}'),
  },
  {
    queue: fnWriteQueue.name,
    job: 'cancel-work-order',
    producer: 'mapper (cancel condition)',
    example: fnWriteJobId.cancel('{connection}', '{sfId}', n('workOrderId'), n('modstampMs')),
  },
  {
    queue: sfWriteQueue.name,
    job: 'write-record',
    producer: 'fieldnation-writer (write-back, before sync outcomes)',
    example: sfWriteJobId.writeBack('{connection}', '{sfId}', n('workOrderId')),
  },
  {
    queue: sfFileQueue.name,
    job: 'copy-attachments',
    producer: 'mapper (provider upload or work done event)',
    example: fileJobId.toSalesforce('{connection}', '{deliveryId}'),
  },
  {
    queue: fnFileQueue.name,
    job: 'copy-file',
    producer: 'salesforce-fetcher (file poll)',
    example: fileJobId.toFieldNation('{connection}', '{contentVersionId}'),
  },
  {
    queue: sfWriteQueue.name,
    job: 'write-record',
    producer: 'any worker (sync outcome: synced, failed, cancelled)',
    example: sfWriteJobId.feedback('{connection}', '{sfId}', '{outcomeKey}'),
  },
].map((r) => ({ ...r, example: render(r.example) }));

/** The schedulers' rows: their ids are persistent too. */
const SCHEDULER_ROWS = [
  { s: schedulers.reconcile('{connection}', '{object}', ''), producer: 'salesforce-fetcher (per connection and triggered object)' },
  { s: schedulers.retention(''), producer: 'mapper (one for the broker)' },
  { s: schedulers.filePoll('{connection}', ''), producer: 'salesforce-fetcher (per connection copying files to Field Nation)' },
  { s: schedulers.chatter('{connection}', ''), producer: 'salesforce-fetcher (per connection with a Chatter object)' },
];

/** The markdown table docs/architecture.md carries between its job-id markers. */
export function renderJobIdTable(): string {
  const rows = [
    ...JOB_IDS.map((r) => `| \`${r.queue}\` | \`${r.job}\` | ${r.producer} | \`${r.example}\` |`),
    ...SCHEDULER_ROWS.map(({ s, producer }) => `| \`${s.queue}\` | \`${s.job.name}\` | ${producer} | scheduler \`${s.id}\` |`),
  ];
  return ['| queue | job | added by | job id |', '|---|---|---|---|', ...rows].join('\n');
}
