import type { Job } from 'bullmq';
import {
  enqueue,
  fnWriteJobId,
  toCarriedStages,
  type fnWriteQueue,
  type JobDataOf,
  type mapQueue,
  type QueueLike,
  type sfWriteQueue,
  type StoredJobs,
} from '@broker/contracts';
import type { ConnectionConfig } from '@broker/config';
import { MappingError, payloadHash, type CompiledMapping } from '@broker/mapping';
import { permanentError, startedBefore, withFeedback, type JobContext, type RecordLocks, type StageRow } from '@broker/runtime';
import { requestCancel } from './cancel-request';
import { sameSalesforceId } from '@broker/salesforce';
import type { Correlation, Store } from '@broker/store';
import { mapFeedMessage, queueMessagePost } from './feed-message';

export interface MapDeps {
  /** Compiled mapping per `${connectionId}/${sObject}`. */
  mappings: ReadonlyMap<string, CompiledMapping>;
  store: Pick<Store, 'getCorrelation' | 'advanceSyncedModstamp' | 'findMessageLinkByComment' | 'hasStage'>;
  /** Reads back the write job it adds (whose `mapped` row it carries: see mapRecord). */
  fnWriteQueue: QueueLike<typeof fnWriteQueue> & StoredJobs;
  /** Sync outcomes (a cancel asked of a record with no work order). */
  sfWriteQueue: QueueLike<typeof sfWriteQueue>;
  /** The fieldnation-writer's record locks (Redis in the app). */
  locks: RecordLocks;
}

type MapJob = Job<JobDataOf<typeof mapQueue, 'map-record'>, unknown, 'map-record'>;

/** What the mapper reads of a correlation: the row, or the fetcher's snapshot of it. */
export type CorrelationView = Pick<Correlation, 'id' | 'workOrderId' | 'state' | 'version' | 'lastSfModstamp' | 'lastPayloadHash'>;

function snapshotView(snapshot: NonNullable<MapJob['data']['correlation']>): CorrelationView {
  return { ...snapshot, lastSfModstamp: snapshot.lastSfModstamp === null ? null : new Date(snapshot.lastSfModstamp) };
}

/**
 * Turn a fetched record into the work order it should be, and hand it to the writer unless nothing
 * changed since the last sync (SystemModstamp not newer, or the same payload hash).
 *
 * A create or an update costs no PostgreSQL statement: the correlation comes with the job (the
 * fetcher's snapshot) and the `mapped` row rides in the write job, written by the writer with its
 * claim. A snapshot may be older than the row: every decision taken from it is safe that way. The
 * modstamp only moves forward and 'cancelled' is final, so a skip on the snapshot's word is a skip on
 * the row's; what an older snapshot lets through, the writer stops under the record lock (a stale
 * state, a cancelled work order; it decides create or update from the row it claims, and sends no
 * call for a payload it already sent); the same-payload skip applies only if its statement finds the
 * row as the snapshot said. A cancel for a record with no work order in the snapshot reads the row.
 */
export async function mapRecord(job: MapJob, deps: MapDeps, ctx: JobContext): Promise<string> {
  const d = job.data;
  const connection = ctx.connection();
  const stage = (outcome: 'ok' | 'skipped', message: string, workOrderId?: number | null) =>
    ctx.stage('mapped', outcome, { message, workOrderId });

  if (d.sfObject === 'CaseComment') return mapCaseComment(job, deps, connection, ctx);
  if (d.sfObject === 'FeedItem' || d.sfObject === 'FeedComment') return mapFeedMessage(job, deps, connection, ctx);

  const mapping = deps.mappings.get(`${d.connectionId}/${d.sfObject}`);
  if (!mapping) throw permanentError(`no mapping for ${d.connectionId}/${d.sfObject}`, 0, 'config');
  const modstamp = typeof d.record.SystemModstamp === 'string' ? d.record.SystemModstamp : d.fetchedAt;

  const read = () => deps.store.getCorrelation({ connectionId: d.connectionId, sfId: d.sfId });
  const correlation: CorrelationView | null = d.correlation === undefined ? await read() : d.correlation && snapshotView(d.correlation);
  if (correlation?.lastSfModstamp && Date.parse(modstamp) <= correlation.lastSfModstamp.getTime()) {
    await stage('skipped', `record unchanged since the last sync (SystemModstamp ${modstamp})`, correlation.workOrderId);
    return 'unchanged';
  }

  if (correlation?.state === 'cancelled') {
    await stage(
      'skipped',
      `work order ${correlation.workOrderId} was cancelled: the record's changes are not sent`,
      correlation.workOrderId,
    );
    return 'cancelled';
  }
  // The record matches its cancel condition: cancel instead of updating. "No work order" is not
  // checked again later (no writer job follows it): a work order created since the snapshot is read.
  if (d.cancelRequested) {
    const current = d.correlation !== undefined && !correlation?.workOrderId ? await read() : correlation;
    return requestCancel(job, deps, connection, current, modstamp, ctx);
  }

  let payload: Record<string, unknown>;
  try {
    payload = (mapping.mapSync ? mapping.mapSync(d.record) : await mapping.map(d.record)) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof MappingError) {
      throw withFeedback(
        permanentError(`mapping failed: ${err.message}`, 0, 'mapping'),
        `Mapping: ${err.issues.map((i) => `${i.target}: ${i.message}`).join('; ')}`,
      );
    }
    throw err;
  }
  const hash = payloadHash(payload);
  if (correlation?.workOrderId && correlation.state === 'synced' && correlation.lastPayloadHash === hash) {
    // Same payload as the one written. Skipping is only safe if no write of an in-between state
    // (A → B → A) can land after it: under the writer's record lock, the modstamp moves forward,
    // which turns any queued older write stale. A busy lock means a write is running: queue ours.
    const release = await deps.locks.tryLock('fnw', d.connectionId, d.sfId);
    if (release) {
      try {
        if (await deps.store.advanceSyncedModstamp(correlation.id, new Date(modstamp), hash)) {
          await stage('skipped', 'mapped work order is identical to the last one sent', correlation.workOrderId);
          return 'same-payload';
        }
      } finally {
        await release();
      }
    }
  }

  // The row rides in the write job and the writer writes it with its claim. It carries the time of the
  // mapping, so the timeline keeps the order things happened in.
  const message = correlation?.workOrderId ? `update of work order ${correlation.workOrderId}` : 'new work order';
  // One job per record state: a redelivered map job adds nothing; a newer state is a new job.
  const writeJobId = fnWriteJobId.workOrder(d.connectionId, d.sfId, Date.parse(modstamp));
  // Run again, this job's row may be written already (by the writer of the job it queued before).
  const written =
    startedBefore(job) &&
    (await deps.store.hasStage({ connectionId: d.connectionId, sfId: d.sfId, stage: 'mapped', jobId: job.id!, outcome: 'ok', message }));
  const rows = written ? [] : ctx.takeStages('mapped', 'ok', { message, workOrderId: correlation?.workOrderId });
  await enqueue(
    deps.fnWriteQueue,
    'write-work-order',
    {
      connectionId: d.connectionId,
      sfObject: d.sfObject,
      sfId: d.sfId,
      notificationId: d.notificationId,
      sfModstamp: new Date(modstamp).toISOString(),
      payload,
      payloadHash: hash,
      createOnly: mapping.createOnly,
      stages: rows.length ? toCarriedStages(rows) : undefined,
    },
    { jobId: writeJobId },
  );
  if (rows.length) await keepRowsOfDroppedAdd(deps, ctx, job, writeJobId, rows);
  return correlation?.workOrderId ? 'update' : 'create';
}

/**
 * BullMQ ignores an add under an id it holds and answers as if it had added it: the job of another
 * notification of the same record state (or one this job queued on an earlier start) may be the one
 * kept. Its stored payload says whose rows it carries; rows it does not carry are this job's to write
 * (before the job completes, as stageLater's). A job gone already (it ran and was removed within the
 * moment since the add: retention keeps a completed job an hour) counts as not carrying them.
 */
async function keepRowsOfDroppedAdd(
  deps: Pick<MapDeps, 'fnWriteQueue'>,
  ctx: JobContext,
  job: MapJob,
  writeJobId: string,
  rows: StageRow[],
): Promise<void> {
  const kept = (await deps.fnWriteQueue.jobData(writeJobId)) as { stages?: { jobId?: string }[] } | null;
  if (kept?.stages?.some((r) => r.jobId === job.id)) return;
  ctx.carryStages(rows);
}

/** A CaseComment written by a Salesforce user becomes a work-order message; the broker's own never do. */
async function mapCaseComment(job: MapJob, deps: MapDeps, connection: ConnectionConfig, ctx: JobContext): Promise<string> {
  const d = job.data;
  const r = d.record as { ParentId?: string; CommentBody?: string | null; CreatedById?: string; CreatedBy?: { Name?: string } | null };
  const skip = async (message: string, workOrderId?: number | null) => {
    await ctx.stage('message', 'skipped', { sfId: r.ParentId ?? d.sfId, workOrderId, message });
    return 'skipped';
  };
  if (!connection.objects.CaseComment?.messages) return skip('messages are not enabled for this connection');
  const integrationUser = connection.salesforce.integrationUserId ?? d.integrationUserId;
  if (sameSalesforceId(r.CreatedById, integrationUser)) return skip(`comment ${d.sfId} was written by the broker (no echo)`);
  if (await deps.store.findMessageLinkByComment(d.connectionId, d.sfId))
    return skip(`comment ${d.sfId} is already linked to a work-order message`);
  if (!r.ParentId || !r.CommentBody?.trim()) return skip('comment has no parent or no text');
  const correlation = await deps.store.getCorrelation({ connectionId: d.connectionId, sfId: r.ParentId });
  if (!correlation?.workOrderId) return skip(`case ${r.ParentId} has no work order`);

  return queueMessagePost(deps, ctx, {
    connectionId: d.connectionId,
    what: 'comment',
    messageId: d.sfId,
    parentId: r.ParentId,
    workOrderId: correlation.workOrderId,
    body: r.CommentBody,
    authorName: r.CreatedBy?.Name ?? undefined,
  });
}
