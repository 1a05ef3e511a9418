import { DelayedError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { enqueue, jobId, type fnWriteQueue, type JobDataOf, type QueueOf, type sfWriteQueue } from '@broker/contracts';
import type { ConnectionConfig, ObjectConfig } from '@broker/config';
import { minimalUpdate } from '@broker/mapping';
import { permanentError, recordLockKey, tryLock, type JobContext } from '@broker/runtime';
import type { Correlation, Store } from '@broker/store';
import { FieldNationError, type FieldNationClient } from '@broker/fieldnation';

export interface WriterDeps {
  connections: Map<string, ConnectionConfig>;
  clients: Map<string, FieldNationClient>;
  store: Store;
  sfWriteQueue: QueueOf<typeof sfWriteQueue>;
  redis: Redis;
  prefix: string;
}

type WriteJob = Job<JobDataOf<typeof fnWriteQueue, 'write-work-order'>, unknown, 'write-work-order'>;

/** Wait for the record's lock (or a rate limit) without spending an attempt. */
export async function delayJob(job: Job, ctx: JobContext, ms: number): Promise<never> {
  await job.moveToDelayed(Date.now() + ms, ctx.token);
  throw new DelayedError();
}

/** Map a Field Nation failure to BullMQ semantics: 429 waits, 5xx/network retries, 4xx fails for good. */
export async function rethrowFieldNation(err: unknown, job: Job, ctx: JobContext): Promise<never> {
  const f = err instanceof FieldNationError ? err : undefined;
  if (f?.status === 429) return await delayJob(job, ctx, Math.max(f.retryAfterMs ?? 1_000, 250));
  if (f && !f.retryable) throw permanentError(`Field Nation rejected the request (${f.status ?? '?'}): ${f.message}`, 0, `fieldnation-${f.status ?? 'error'}`);
  throw err;
}

function correlationField(objectConfig: ObjectConfig, sfId: string): { payload: Record<string, unknown>; query: Parameters<FieldNationClient['findWorkOrders']>[0] } {
  const c = objectConfig.correlation;
  if ('customFieldId' in c) {
    return { payload: { custom_fields: [{ id: c.customFieldId, value: sfId }] }, query: { customField: { id: c.customFieldId, value: sfId } } };
  }
  return { payload: { incident_id: sfId }, query: { incidentId: sfId } };
}

/** Merge the correlation custom field into the mapped payload's custom fields (two-level or flat). */
function withCorrelation(payload: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  if (!extra.custom_fields) return { ...payload, ...extra };
  const mine = extra.custom_fields as { id: number; value: string }[];
  const existing = payload.custom_fields as { results?: unknown[] } | unknown[] | undefined;
  if (Array.isArray(existing)) return { ...payload, custom_fields: [...existing, ...mine] };
  if (existing && Array.isArray(existing.results)) {
    return { ...payload, custom_fields: { ...existing, results: [...existing.results, { results: mine }] } };
  }
  // Field Nation takes custom fields only in its two-level shape (a flat list is a 422).
  return { ...payload, custom_fields: { results: [{ results: mine }] } };
}

/**
 * Make the work order match the record's mapped state, exactly once. The correlation row is claimed
 * before anything is created; the Salesforce id travels on the work order so that a crash between
 * Field Nation's answer and our write is recovered by searching, never by creating a second one.
 */
export async function writeWorkOrder(job: WriteJob, deps: WriterDeps, ctx: JobContext): Promise<string> {
  const d = job.data;
  const connection = deps.connections.get(d.connectionId);
  const client = deps.clients.get(d.connectionId);
  if (!connection || !client) throw permanentError(`unknown connection ${d.connectionId}`, 0, 'config');
  const objectConfig = connection.objects[d.sfObject];
  if (!objectConfig) throw permanentError(`object ${d.sfObject} is not configured`, 0, 'config');

  const release = await tryLock(deps.redis, recordLockKey(deps.prefix, 'fnw', d.connectionId, d.sfId));
  if (!release) return await delayJob(job, ctx, 100 + Math.floor(Math.random() * 200));
  try {
    const { correlation: claimed, created } = await deps.store.claimCorrelation({ connectionId: d.connectionId, sfObject: d.sfObject, sfId: d.sfId });
    let correlation: Correlation = claimed;
    const modstamp = new Date(d.sfModstamp);
    if (correlation.lastSfModstamp && modstamp <= correlation.lastSfModstamp) {
      await deps.store.recordStage({ connectionId: d.connectionId, sfId: d.sfId, workOrderId: correlation.workOrderId, stage: 'written', outcome: 'skipped', queue: job.queueName, jobId: job.id, message: 'a newer state of the record was already written' });
      return 'stale';
    }

    const save = async (changes: Parameters<Store['updateCorrelation']>[2]): Promise<Correlation> => {
      // We hold the record lock, so a version conflict can only come from a lock that expired: re-read once.
      const updated = await deps.store.updateCorrelation(correlation.id, correlation.version, changes);
      if (updated) return updated;
      const fresh = await deps.store.getCorrelation({ connectionId: d.connectionId, sfId: d.sfId });
      if (!fresh) throw new Error('correlation vanished');
      const again = await deps.store.updateCorrelation(fresh.id, fresh.version, changes);
      if (!again) throw new Error('correlation changed concurrently; retrying');
      return again;
    };

    const extra = correlationField(objectConfig, d.sfId);
    let action: 'created' | 'recovered' | 'updated' | 'unchanged';
    let fnCalls = 0;
    try {
      if (correlation.workOrderId == null) {
        let workOrderId: number | undefined;
        // A claim we did not just make, or a retry: an earlier attempt may have created it already.
        if (!created || job.attemptsMade > 0) {
          fnCalls++;
          const found = (await client.findWorkOrders(extra.query))[0];
          workOrderId = found ? Number(found.id) : undefined;
        }
        action = workOrderId ? 'recovered' : 'created';
        if (!workOrderId) {
          fnCalls++;
          workOrderId = Number((await client.createWorkOrder(withCorrelation(d.payload, extra.payload) as never)).id);
        }
        correlation = await save({ workOrderId, state: 'created' });
      } else {
        const diff = minimalUpdate((correlation.lastPayload ?? undefined) as Record<string, unknown> | undefined, d.payload, d.createOnly);
        action = diff ? 'updated' : 'unchanged';
        if (diff) {
          fnCalls++;
          await client.updateWorkOrder(correlation.workOrderId, diff as never);
        }
      }
      // After-create steps run until the row says 'synced', so a crash between them is resumed.
      if (correlation.state === 'created' || correlation.state === 'claimed') {
        // Resuming after a crash or a lost answer: the step may have happened already, and Field
        // Nation refuses to publish or route twice. Look before acting (only on this rare path).
        let alreadyDone = false;
        if (action !== 'created' && (objectConfig.afterCreate.route || objectConfig.afterCreate.publish)) {
          fnCalls++;
          const wo = await client.getWorkOrder(correlation.workOrderId!);
          alreadyDone = Number((wo.status as { id?: unknown } | undefined)?.id) !== 1; // 1 = Draft
        }
        if (alreadyDone) {
          // nothing to do
        } else if (objectConfig.afterCreate.route) {
          fnCalls++;
          await client.routeWorkOrder(correlation.workOrderId!, objectConfig.afterCreate.route);
        } else if (objectConfig.afterCreate.publish) {
          fnCalls++;
          await client.publishWorkOrder(correlation.workOrderId!);
        }
      }
    } catch (err) {
      await deps.store.recordStage({ connectionId: d.connectionId, sfId: d.sfId, workOrderId: correlation.workOrderId, stage: 'written', outcome: 'retry', queue: job.queueName, jobId: job.id, message: (err as Error).message });
      return await rethrowFieldNation(err, job, ctx);
    }

    // The write-back is queued before the row says 'synced': a crash in between queues it again on
    // the retry (same job id), where queuing it after could lose it for good.
    const wb = objectConfig.writeBack;
    if (correlation.state !== 'synced' && wb && (wb.workOrderIdField || wb.syncStatusField || wb.resetCheckbox)) {
      const fields: Record<string, string | boolean> = {};
      if (wb.workOrderIdField) fields[wb.workOrderIdField] = String(correlation.workOrderId);
      if (wb.syncStatusField) fields[wb.syncStatusField] = 'Synced';
      if (wb.resetCheckbox) fields[wb.resetCheckbox] = false;
      await enqueue(
        deps.sfWriteQueue,
        'write-record',
        { connectionId: d.connectionId, sfObject: d.sfObject, sfId: d.sfId, fields, cause: { kind: 'write-back', id: String(correlation.workOrderId), workOrderId: correlation.workOrderId! } },
        { jobId: jobId('wb', d.connectionId, d.sfId, correlation.workOrderId!) },
      );
    }
    correlation = await save({ state: 'synced', lastSfModstamp: modstamp, lastPayload: d.payload as object, lastPayloadHash: d.payloadHash, lastError: null });
    await deps.store.recordStage({
      connectionId: d.connectionId,
      sfId: d.sfId,
      workOrderId: correlation.workOrderId,
      stage: 'written',
      outcome: action === 'unchanged' ? 'skipped' : 'ok',
      queue: job.queueName,
      jobId: job.id,
      message: `work order ${correlation.workOrderId} ${action}`,
      detail: { fieldNationCalls: fnCalls },
    });
    return action;
  } finally {
    await release();
  }
}
