import type { Job } from 'bullmq';
import {
  enqueue,
  fnWriteJobId,
  type fnWriteQueue,
  type JobDataOf,
  type mapQueue,
  type QueueLike,
  type sfWriteQueue,
} from '@broker/contracts';
import type { ConnectionConfig } from '@broker/config';
import { MappingError, payloadHash, type CompiledMapping } from '@broker/mapping';
import { permanentError, withFeedback, type JobContext, type RecordLocks } from '@broker/runtime';
import { requestCancel } from './cancel-request';
import { sameSalesforceId } from '@broker/salesforce';
import type { Store } from '@broker/store';
import { mapFeedMessage, queueMessagePost } from './feed-message';

export interface MapDeps {
  /** Compiled mapping per `${connectionId}/${sObject}`. */
  mappings: ReadonlyMap<string, CompiledMapping>;
  store: Pick<Store, 'getCorrelation' | 'advanceSyncedModstamp' | 'findMessageLinkByComment'>;
  fnWriteQueue: QueueLike<typeof fnWriteQueue>;
  /** Sync outcomes (a cancel asked of a record with no work order). */
  sfWriteQueue: QueueLike<typeof sfWriteQueue>;
  /** The fieldnation-writer's record locks (Redis in the app). */
  locks: RecordLocks;
}

type MapJob = Job<JobDataOf<typeof mapQueue, 'map-record'>, unknown, 'map-record'>;

/**
 * Turn a fetched record into the work order it should be, and hand it to the writer unless nothing
 * changed since the last sync (SystemModstamp not newer, or the same payload hash).
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

  const correlation = await deps.store.getCorrelation({ connectionId: d.connectionId, sfId: d.sfId });
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
  // The record matches its cancel condition: cancel instead of updating.
  if (d.cancelRequested) return requestCancel(job, deps, connection, correlation, modstamp, ctx);

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

  // Written after the job is queued, by when the writer may have written its row: it carries the time
  // of the mapping, so the timeline keeps the order things happened in.
  const mappedAt = new Date();
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
    },
    // One job per record state: a redelivered map job adds nothing; a newer state is a new job.
    { jobId: fnWriteJobId.workOrder(d.connectionId, d.sfId, Date.parse(modstamp)) },
  );
  await ctx.stage('mapped', 'ok', {
    message: correlation?.workOrderId ? `update of work order ${correlation.workOrderId}` : 'new work order',
    workOrderId: correlation?.workOrderId,
    at: mappedAt,
  });
  return correlation?.workOrderId ? 'update' : 'create';
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
